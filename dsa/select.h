/* dsa/select.h: block arithmetic of one DSA top-k selection (groups A and B of
 * docs/formats/dsa-trace.md): offsets, token → block mapping, tokens per touched block and
 * contiguous runs, for a selection given as distinct positions in ascending order.
 * Pure functions; callers own every buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-record figures of a sorted selection. Percentiles are NumPy's linear interpolation
 * (docs/domain.md §6), so p50 of an even count may end in .5. */
typedef struct dsa_sel_stats {
    uint32_t count;                    /* unique_token_pos_count */
    uint32_t offset_min;               /* t − (largest position) */
    double offset_p50;                 /* median of t − pos */
    uint32_t offset_max;               /* t − (smallest position) */
    uint32_t unique_blocks;            /* distinct pos / block_size */
    double tpb_mean, tpb_p50, tpb_p95; /* tokens per touched block */
    uint32_t runs;                     /* maximal runs of consecutive positions */
} dsa_sel_stats;

/* POS holds N ≥ 0 distinct positions in ascending order, all ≤ T (the query position; offsets
 * are T − pos). Writes the unique block ids (ascending) to BLOCK_IDS and the number of selected
 * tokens in each to BLOCK_TOKENS (both need room for N) and fills ST. HIST is scratch of
 * BLOCK_SIZE + 1 zeroed counters, left zeroed on return. */
void dsa_sel_summarize(const uint32_t *pos,
                       uint32_t n,
                       uint32_t t,
                       uint32_t block_size,
                       uint32_t *block_ids,
                       uint32_t *block_tokens,
                       uint32_t *hist,
                       dsa_sel_stats *st);

/* NumPy linear percentile P ∈ [0, 100] of N ≥ 1 sorted values X. */
double dsa_pct_sorted_u32(const uint32_t *x, uint32_t n, double p);
/* The same over a histogram: COUNTS[v] values equal v for v < NV, TOTAL ≥ 1 values in all. */
double dsa_pct_hist(const uint64_t *counts, size_t nv, uint64_t total, double p);

/* POS (N positions in any order) as distinct ascending positions: POS itself when it already
 * is, else a sorted, deduplicated copy in SCRATCH (room for N). *NOUT receives the count. */
const uint32_t *
dsa_sel_normalize(const uint32_t *pos, uint32_t n, uint32_t *scratch, uint32_t *nout);
