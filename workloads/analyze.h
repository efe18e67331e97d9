/* workloads/analyze.h: a first look at a request stream, computed in one streaming pass
 * (`servesim analyze workload`): counts, rate over time, length distributions, burstiness
 * and prefix sharing.
 *
 * Prefix sharing: each request's prompt is cut into full blocks of BLOCK_TOKENS tokens whose
 * hash chains (parent hash, content ids and offsets of the segment pieces in the block), the
 * way docs/design.md §4 defines block identity. A prompt block is "shared" if it belongs to the
 * longest run of leading blocks already seen (in an earlier prompt, or in an earlier
 * request's prompt + generated output): the prefix-cache hit an infinite cache would give
 * (vLLM's last-token recompute aside). Memory is bounded: the seen-set keeps two generations
 * of at most MAX_BLOCKS / 2 hashes each, so at least the most recent MAX_BLOCKS / 2 distinct
 * blocks are remembered (result.blocks_forgotten counts older ones dropped).
 * Length percentiles are exact (NumPy linear interpolation) from a histogram of distinct
 * lengths; the rate histogram doubles its bucket width when it would exceed 100,000 buckets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "workloads/workload.h"

typedef struct wl_analysis wl_analysis;

typedef struct wl_analysis_params {
    double bucket_s;       /* rate-over-time bucket width (s) */
    uint32_t block_tokens; /* prefix-sharing block size (tokens), e.g. 16 */
    size_t max_blocks;     /* bound on remembered block hashes */
} wl_analysis_params;

typedef struct wl_length_stats {
    uint64_t n;
    uint64_t total; /* Σ tokens */
    double mean, min, p50, p90, p99, max;
} wl_length_stats;

typedef struct wl_analysis_result {
    uint64_t requests;
    int64_t first_ns, last_ns;
    double span_s;    /* last - first arrival */
    double mean_rate; /* (requests - 1) / span_s; NAN if span is 0 */
    double ia_mean_s; /* mean inter-arrival time */
    double ia_cv;     /* std / mean of inter-arrival times (1 = Poisson); NAN if mean is 0 */
    wl_length_stats prompt, output;
    uint64_t sessions; /* requests with session_id != 0 and turn 0 */
    uint32_t max_turn;
    uint32_t block_tokens;
    uint64_t prompt_blocks;     /* full prompt blocks */
    uint64_t shared_blocks;     /* of which in a shared leading run */
    double shared_token_frac;   /* shared_blocks·block_tokens / Σ prompt tokens */
    uint64_t requests_with_hit; /* requests with at least one shared block */
    uint64_t blocks_forgotten;  /* hashes dropped by the memory bound */
    double bucket_s;            /* final rate bucket width */
    size_t nbuckets;
    const uint64_t *buckets; /* requests per bucket from t = 0; borrowed from the analysis */
} wl_analysis_result;

wl_analysis *wl_analysis_new(const wl_analysis_params *p);
void wl_analysis_add(wl_analysis *a, const wl_request *r);
/* Fills *OUT (valid until the analysis is freed or added to). */
void wl_analysis_result_get(wl_analysis *a, wl_analysis_result *out);
void wl_analysis_free(wl_analysis *a); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wl_analysis, wl_analysis_free)
