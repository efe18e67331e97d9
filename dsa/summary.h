/* dsa/summary.h: the summary of a DSA trace (docs/formats/dsa-trace.md, `summary.json`): over
 * all records, the distributions (min, p50, p95, max, mean) of unique_blocks, tokens per touched
 * block (pooled over every touched block), offsets (pooled over every selected position) and
 * prefix_intersection_ratio; per-tier totals of group C; and prefix_hot_blocks: for each
 * request the 20 most-touched blocks that are also prefix-cached (block id, touches).
 * `servesim run --dsa-trace` and `servesim analyze dsa` build it with the same code, so a
 * simulated trace re-read by analyze gives the run's own figures.
 *
 * Percentiles are exact (NumPy's linear interpolation) from histograms: integer values are
 * counted exactly; ratios at the records' 1e-6 resolution. Memory grows with the largest
 * offset and block size seen and with the prefix-cached blocks touched per request, never with
 * the number of records. */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "dsa/record.h"

#define DSA_HOT_BLOCKS 20

typedef struct dsa_summary dsa_summary;

dsa_summary *dsa_summary_new(void);
void dsa_summary_free(dsa_summary *s); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dsa_summary, dsa_summary_free)

/* Adds one record (positions in any order; duplicates count once). */
void dsa_summary_add(dsa_summary *s, const dsa_record *r);
/* REQUEST_ID will not appear again: its hot blocks shrink to the top 20. Optional. */
void dsa_summary_request_done(dsa_summary *s, uint64_t request_id);
uint64_t dsa_summary_records(const dsa_summary *s);

/* {"records", "requests", "layers", "unique_blocks", "tokens_per_touched_block", "offsets",
 *  "prefix_intersection_ratio", "prefix_cache_hit_records", "kv_fetch", "prefix_hot_blocks"}.
 * transfer full. */
json_t *dsa_summary_json(const dsa_summary *s);
