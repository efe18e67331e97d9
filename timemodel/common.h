/* timemodel/common.h: what every part of the time model shares: the TM_ERROR domain, numeric
 * dtypes (weights, KV cache, activations) and the parallel layout of one engine replica.
 * Bad input (config files, names, parallelism that does not divide the model) is reported
 * through GError in TM_ERROR with one-line messages naming the place. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#define TM_ERROR (tm_error_quark())

typedef enum {
    TM_ERROR_PARSE,    /* malformed or missing field in a model / hardware / calibration file */
    TM_ERROR_INVALID,  /* well-formed but absurd value (zero heads, negative sizes, ...) */
    TM_ERROR_UNKNOWN,  /* unknown preset name (message lists close matches) */
    TM_ERROR_PARALLEL, /* parallelism does not divide heads / experts / layers */
    TM_ERROR_NO_FIT,   /* the model (or one request) does not fit in GPU memory */
} tm_error_code;

GQuark tm_error_quark(void);

typedef enum {
    TM_DTYPE_BF16,
    TM_DTYPE_FP16,
    TM_DTYPE_FP8,
    TM_DTYPE_INT8,
    TM_DTYPE_INT4,
    TM_DTYPE_MXFP4, /* weights only: OCP MXFP4 (4-bit e2m1, one 8-bit scale per 32 values) */
    TM_DTYPE_COUNT,
} tm_dtype;

/* Bytes per element: 2, 2, 1, 1, 0.5 (quantisation scales are not counted), MXFP4 0.53125
 * (4.25 bits: its shared scale is part of the format). */
double tm_dtype_bytes(tm_dtype d);
const char *tm_dtype_name(tm_dtype d);
/* Accepts bf16 bfloat16 fp16 float16 half fp8 fp8_e4m3 fp8_e5m2 int8 int4. */
gboolean tm_dtype_parse(const char *s, tm_dtype *out, GError **error);

/* Parallel layout of one engine replica (docs/domain.md §3.6). Attention and dense layers are
 * split over tp GPUs; the model's layers over pp stages; dp engines share MoE layers: the MoE
 * group is tp·dp GPUs, either tensor-splitting every expert (ep == 1) or holding whole experts
 * (ep == tp·dp, vLLM --enable-expert-parallel). A step's batch is one DP rank's. */
typedef struct tm_parallel {
    int64_t tp, pp, dp;
    int64_t ep; /* 1, or tp·dp with expert parallelism */
} tm_parallel;

/* tp, pp, dp ≥ 1; ep = expert_parallel ? tp·dp : 1. */
tm_parallel tm_parallel_make(int64_t tp, int64_t pp, int64_t dp, bool expert_parallel);
/* GPUs of one engine replica (tp·pp·dp). */
int64_t tm_parallel_gpus(const tm_parallel *p);
/* Layers [*FIRST, *FIRST + return) of pipeline stage S of PP over L layers, as vLLM splits them
 * (vllm/distributed/utils.py get_pp_indices): L/pp each, the remainder one by one to the stages
 * before the last, from the second-to-last backwards. */
int64_t tm_pp_stage_layers(int64_t layers, int64_t pp, int64_t s, int64_t *first);
