/* sweep/outputs.h: what `sweep` and `search` write, shard files, and `merge`.
 *
 * A result set is a meta object plus one flat JSON object per point (same keys in the same
 * order for every point; "point" is the index in the grid). Outputs in DIR:
 *   KIND.jsonl   line 1: {"format": "servesim-sweep/1", "kind": KIND, "sweep_id": ID,
 *                "points": N, "definition": {...}}; then one line per point
 *   KIND.csv     a header (the points' keys) and one row per point
 * KIND is "sweep" or "search". The final rows come from the raw point objects through the
 * kind's finalisation (search: rank and Pareto marks over the whole table), always after a
 * dump/parse round trip, so an unsharded run and a merge of shards compute from identical
 * values and write identical bytes.
 * With --shard K/N a process runs the points with i mod N = K − 1 and writes only
 * KIND.shard-K-of-N.jsonl (the meta line gains "shard": "K/N"; points are raw). `servesim
 * merge` checks that the shards share a sweep id (a hash of the resolved definition: base
 * configuration, axes, search and SLA-limit settings; not the output directory, the job count
 * or the shard), that every shard 1..N is present once with exactly its points, then writes
 * the final files: byte for byte what the unsharded run writes.
 * Every file is written to a temporary name and renamed, so nothing partial looks complete. */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#define SW_FORMAT "servesim-sweep/1"

/* 16 hex digits of SHA-256 over DEFINITION's compact JSON. transfer full. */
char *sw_sweep_id(const json_t *definition);
/* The meta object of a result set (computes the sweep id). transfer full. */
json_t *sw_meta_new(const char *kind, const json_t *definition, uint64_t npoints);

/* Writes the result set. SHARD_N == 0: the final KIND.jsonl and KIND.csv; else the shard file
 * of shard K/N (POINTS must be exactly that shard's points, in point order). POINTS holds
 * json_t * (borrowed). */
gboolean sw_outputs_write(const char *dir,
                          const json_t *meta,
                          const GPtrArray *points,
                          uint32_t shard_k,
                          uint32_t shard_n,
                          GError **error);
/* The final rows of a complete result set, in output order (after the round trip and the
 * kind's finalisation). POINTS must be in point order. Elements are json_t * owned by the
 * returned array. transfer full. */
GPtrArray *sw_outputs_finalize(const json_t *meta, const GPtrArray *points, GError **error);

/* Merges shard files into DIR (see above). Nothing is written unless every check passes. */
gboolean sw_outputs_merge(const char *const *files, guint nfiles, const char *dir, GError **error);

/* CSV cell of V (null → empty; reals with 10 significant digits; strings quoted when they
 * hold a comma, quote or newline). transfer full. */
char *sw_csv_cell(const json_t *v);
