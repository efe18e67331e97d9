/* timemodel/mma.h: the MMA / GMMA tile modeler (docs/analysis.md §2). One SM runs one CTA
 * tile of a GEMM (M × N, K deep per pipeline stage) at its tensor-core peak; every level of
 * the memory hierarchy must then supply the operand bytes that rate consumes. Per level —
 * registers (operands the instruction reads from the register file), shared memory (operand
 * reads by the instructions or by ldmatrix, plus the tile fills), L2 (every global load of
 * the fills), HBM (the L2 misses) — it gives bytes per clock per SM needed and supplied, the
 * arithmetic intensity (FLOP per byte) and utilization; the level with the largest
 * utilization above 1 bounds the tile, else the tensor cores do. Pure; plain values. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/common.h"
#include "timemodel/hardware.h"

typedef enum {
    TM_MMA_SS,   /* A and B read by the instruction from shared memory (wgmma, tcgen05) */
    TM_MMA_RS,   /* A from registers, B from shared memory (wgmma RS) */
    TM_MMA_RR,   /* A and B from registers, loaded by ldmatrix (mma.sync) */
    TM_MMA_AUTO, /* the hardware's native form (sm.mma.operands) */
} tm_mma_operands;

const char *tm_mma_operands_name(tm_mma_operands o); /* "ss", "rs", "rr" */
gboolean tm_mma_operands_parse(const char *s, tm_mma_operands *out, GError **error);

typedef enum {
    TM_LEVEL_REGISTERS,
    TM_LEVEL_SHARED,
    TM_LEVEL_L2,
    TM_LEVEL_HBM,
    TM_LEVEL_COUNT,
} tm_mem_level;

const char *tm_mem_level_name(tm_mem_level l); /* "registers", "shared", "l2", "hbm" */

typedef struct tm_mma_params {
    int64_t m, n, k;        /* CTA tile; k = depth of one shared-memory stage */
    int64_t warp_m, warp_n; /* tile of one warp (rr) or warpgroup (rs); 0 = auto */
    int64_t instr_n;        /* instruction N; 0 = auto (the largest that divides N) */
    int64_t stages;         /* shared-memory pipeline stages (≥ 1) */
    tm_dtype dtype;         /* A and B elements (accumulators are fp32) */
    tm_mma_operands operands;
    double l2_hit;                /* fraction of the tile fills served by L2, [0, 1] */
    int64_t cluster_m, cluster_n; /* CTAs of a cluster sharing tiles by TMA multicast (≥ 1;
                                   * 0 = 1): B is loaded once for cluster_m CTAs, A once for
                                   * cluster_n (sm_90 and later) */
} tm_mma_params;

typedef struct tm_mma_level {
    double bytes_per_flop; /* operand bytes this level delivers per tensor FLOP */
    double need_bpc;       /* bytes per clock per SM at the tensor peak */
    double supply_bpc;     /* what the level supplies per clock per SM */
    double intensity;      /* FLOP per byte (INFINITY when the level moves nothing) */
    double utilization;    /* need / supply; > 1 means this level caps the tile */
} tm_mma_level;

typedef struct tm_mma_result {
    tm_mma_operands operands;          /* resolved */
    int64_t instr_m, instr_n, instr_k; /* instruction shape (k in elements) */
    int64_t warp_m, warp_n;            /* resolved warp(group) tile */
    double flops_per_clock;            /* tensor FLOP per clock per SM for the dtype */
    double cycles_per_stage;           /* 2·M·N·K / flops_per_clock */
    double smem_bytes;                 /* stages · (M + N) · K · b */
    double accum_bytes;                /* M · N · 4 (fp32 accumulators in registers) */
    tm_mma_level level[TM_LEVEL_COUNT];
    bool compute_bound;      /* every utilization ≤ 1 */
    tm_mem_level bound;      /* level with the largest utilization */
    double achievable;       /* fraction of the tensor peak: min(1, 1 / max utilization) */
    double achievable_flops; /* device FLOP/s at that fraction (all SMs) */
} tm_mma_result;

/* Models P on HW (which must have its sm figures). Tiles that do not divide (M by the warp
 * tile, the warp tile by the instruction, K by the instruction depth), an instruction N beyond
 * the hardware's, operands the hardware cannot source (ss/rs on a GPU without wgmma), tiles
 * that overflow shared memory or registers, a hit rate outside [0, 1] and dtypes without a
 * tensor rate are one-line TM_ERROR messages naming the setting. */
gboolean
tm_mma_analyze(const tm_hardware *hw, const tm_mma_params *p, tm_mma_result *r, GError **error);
