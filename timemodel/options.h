/* timemodel/options.h: settings of the time model (model, hardware, parallelism, dtypes,
 * efficiency knobs, calibration), described once as a base_opt table (base/opts.h) that the
 * JSON experiment file, the flags of run/estimate/memory/sweep/search and the serialised
 * configuration all use. Strings are owned (freed by base_opts_clear). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/opts.h"

typedef struct tm_options {
    char *model;          /* preset short name or path to a HF config.json */
    char *dtype;          /* vLLM's model dtype (auto = config's) or a quantised shorthand */
    char *quantization;   /* vLLM quantization method; NULL = the config's, if any */
    char *kv_cache_dtype; /* auto (= model dtype) or a dtype */
    char *hardware;       /* preset short name or path to a hardware JSON */
    int64_t tp, pp, dp;   /* tensor / pipeline / data parallel sizes */
    bool expert_parallel; /* EP = TP×DP over the MoE experts (vLLM --enable-expert-parallel) */
    char *kind;           /* time model: "roofline" */
    char *calibration;    /* JSON path, preset name, "auto" (hardware default) or "none" */
    double compute_eff;   /* η_c override (NAN = from calibration / default) */
    double memory_eff;    /* η_m override */
    double comm_eff;      /* η_x override */
    double
        overlap; /* ω: fraction of communication hidden under compute, [0,1]; NAN = calibration/0 */
    char *comm_backend;   /* nvlink | pcie (aliases nv_like, pcie_like); NULL = from hardware */
    double moe_imbalance; /* extra load on the most loaded expert, ≥ 0; NAN = calibration/0 */
} tm_options;

extern const base_opt_table tm_options_table; /* base_offset 0; compose with an offset */
