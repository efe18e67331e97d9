/* timemodel/calib_import.h: readers that turn measurement files into calibration samples
 * (timemodel/calib_fit.h), each priced by the roofline's own code at peak (η = 1, no
 * overheads): tm_roofline_eval's per-operator figures for operators, layers and steps,
 * tm_gemm_work for bare GEMMs, tm_collective_bytes for collectives.
 *
 * Formats (recognised from the header; --input-format forces one):
 *   measurements   tp, dp, batch_per_gpu, seq_len, decode_tokens, grad_accum,
 *                  measured_prefill_ms, measured_decode_ms (missing columns take defaults)
 *   steps          one row per engine step (docs/calibration.md): prefill_tokens,
 *                  prefill_seqs, prefill_context, decode_seqs, decode_context, measured_step_ms
 *   vidur-mlp      Vidur mlp.csv (linear operators vs tokens and TP)
 *   vidur-attention  Vidur attention.csv (prefill / decode attention)
 *   vidur-network  Vidur all_reduce.csv / send_recv.csv
 *   aic-gemm, aic-attention (context and generation), aic-allreduce, aic-nccl, aic-moe,
 *   aic-module (whole MLA / DSA attention modules)
 *                  aiconfigurator's H100 / H200 tables
 *   lss-dense, lss-attention, lss-per-sequence, lss-v0-layers
 *                  LLMServingSim profiles (model, hardware and TP from meta.yaml and the tpN
 *                  directory when --model / --hardware are not given)
 * Replicated measurements of one shape in the vendor tables are merged (median); in the two
 * user formats a duplicate row is an error unless allowed. Errors read
 * "FILE:LINE: column NAME: why" (bad cells, times ≤ 0, duplicates) or "FILE: ..." (format).
 * Ownership: the info strings are owned by the info (tm_calib_import_info_clear). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/calib_fit.h"
#include "timemodel/options.h"

#define TM_CALIB_DEFAULT_MODEL    "llama-3.1-8b"
#define TM_CALIB_DEFAULT_HARDWARE "h100-sxm"

typedef enum {
    TM_CALIB_FMT_AUTO,
    TM_CALIB_FMT_MEASUREMENTS,
    TM_CALIB_FMT_STEPS,
    TM_CALIB_FMT_VIDUR_MLP,
    TM_CALIB_FMT_VIDUR_ATTENTION,
    TM_CALIB_FMT_VIDUR_NETWORK,
    TM_CALIB_FMT_AIC_GEMM,
    TM_CALIB_FMT_AIC_ATTENTION,
    TM_CALIB_FMT_AIC_ALLREDUCE,
    TM_CALIB_FMT_AIC_NCCL,
    TM_CALIB_FMT_LSS_DENSE,
    TM_CALIB_FMT_LSS_ATTENTION,
    TM_CALIB_FMT_LSS_PER_SEQUENCE,
    TM_CALIB_FMT_LSS_V0_LAYERS,
    TM_CALIB_FMT_LSS_PROFILE, /* a profile directory, composed into steps */
    TM_CALIB_FMT_COMPOSED,    /* Vidur mlp + aiconfigurator attention (+ all-reduce) steps */
    TM_CALIB_FMT_AIC_MOE,     /* aiconfigurator MoE layers */
    TM_CALIB_FMT_AIC_MODULE,  /* aiconfigurator MLA / DSA attention modules */
    TM_CALIB_FMT_COUNT,
} tm_calib_format;

const char *tm_calib_format_name(tm_calib_format f);
/* Accepts the names above ("auto" too). */
gboolean tm_calib_format_parse(const char *s, tm_calib_format *out, GError **error);

typedef struct tm_calib_import_opts {
    /* Model, hardware, dtypes, parallelism, link (borrowed). model / hardware NULL: from the
     * file's metadata (LLMServingSim meta.yaml, v0 file names), else the defaults above. */
    const tm_options *tm;
    int64_t batch;         /* measurements: batch_per_gpu when the column is missing */
    int64_t input_len;     /* seq_len */
    int64_t decode_tokens; /* decode_tokens */
    tm_calib_format format;
    bool strict;           /* unknown columns are errors */
    bool allow_duplicates; /* keep duplicate rows of the user formats */
} tm_calib_import_opts;

void tm_calib_import_opts_defaults(tm_calib_import_opts *o, const tm_options *tm);

typedef struct tm_calib_import_info {
    tm_calib_format format;
    uint64_t rows;       /* data rows read */
    uint64_t samples;    /* samples added */
    uint64_t replicates; /* rows merged into an earlier sample of the same shape */
    uint64_t skipped;    /* rows that give no sample */
    char *skipped_why;   /* "reason: count; ..." or NULL */
    char *defaulted;     /* measurements: "dp=1, grad_accum=1" (missing columns) or NULL */
    char *ignored;       /* columns not read, or NULL */
    char *model;         /* what the rows were priced with ("various" when per row), or NULL */
    char *hardware;
} tm_calib_import_info;

void tm_calib_import_info_clear(tm_calib_import_info *i);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_calib_import_info, tm_calib_import_info_clear)

/* Reads PATH and appends its samples to D. INFO (may be NULL) receives what was read. */
gboolean tm_calib_import(tm_calib_data *d,
                         const char *path,
                         const tm_calib_import_opts *o,
                         tm_calib_import_info *info,
                         GError **error);

/* The format of PATH as tm_calib_import would detect it (a directory is an LLMServingSim
 * profile). */
gboolean tm_calib_detect_format(const char *path, tm_calib_format *out, GError **error);

/* Step samples composed from operator tables, the way LLMServingSim and Vidur predict a step
 * (docs/calibration.md): every measured step time is the sum of the measured operators of
 * that step, and its basis terms are the roofline's for the same step minus what the tables
 * do not cover.
 * tm_calib_compose_profile: an LLMServingSim profile directory (tpN/ with dense.csv,
 * attention.csv, per_sequence.csv; meta.yaml above it): one step per attention.csv row (one
 * prefill chunk + n decodes), L·(2 norms + qkv + rotary + o + gate_up + act + down at T tokens
 * + that attention) + embedding + final norm at T + lm_head + sampler at S sequences; T and S
 * interpolated linearly on the tables' grids, rows beyond them skipped. */
gboolean tm_calib_compose_profile(tm_calib_data *d,
                                  const char *dir,
                                  const tm_calib_import_opts *o,
                                  tm_calib_import_info *info,
                                  GError **error);
/* tm_calib_compose_tables: the linear layers of a Vidur mlp.csv (QKV, O, gate+up, down vs
 * tokens, per TP degree) with aiconfigurator context / generation attention tables
 * (ATTENTION[0..N)) and, for TP > 1, its custom all-reduce table (two per layer): one prefill
 * step per context row (batch × isl tokens) and one decode step per generation row (batch
 * sequences at a context) whose per-GPU head counts match the model at that TP, whose weights
 * and KV fit in memory and whose context fits the model. Elementwise operators (Vidur's are
 * unfused PyTorch kernels), embedding, lm-head and sampler are left out of both sides. The
 * model is the preset the Vidur file is named after (or --model). */
gboolean tm_calib_compose_tables(tm_calib_data *d,
                                 const char *mlp,
                                 const char *const *attention,
                                 size_t n_attention,
                                 const char *allreduce,
                                 const tm_calib_import_opts *o,
                                 tm_calib_import_info *info,
                                 GError **error);

/* Prediction of a scenarios (measurements) or steps CSV with the calibrated time model the
 * simulator uses (tm_setup with O->tm, whose calibration field names the calibration): every
 * row is written to OUT with predicted_prefill_ms / predicted_decode_ms (scenarios) or
 * predicted_step_ms (steps) appended, plus the absolute percentage error of each when the row
 * carries the measured value. MAPE_OUT[0..2] (may be NULL) receive the MAPE of prefill, decode
 * and step predictions (NAN when none); N_OUT their counts. */
gboolean tm_calib_predict_csv(const char *path,
                              const tm_calib_import_opts *o,
                              GString *out,
                              double *mape_out,
                              size_t *n_out,
                              GError **error);
