/* sweep/search.h: the parts of `servesim search` that do not run simulations: the search
 * dimensions and which of them the engine models faithfully, GPU prices, and the final
 * ranking and Pareto marks of a search table.
 *
 * Dimensions (sw_search_dims, one row each): hardware, tp, pp, dp, ep, replicas,
 * max_num_seqs, max_num_batched_tokens, chunked_prefill, pd. A row with a GAP names a known
 * modelling gap: a configuration whose value of that dimension differs from the row's NEUTRAL
 * value is rejected with that reason instead of being simulated, so a search never recommends
 * a configuration on the strength of something the engine does not simulate. Today: none (PP
 * and DP lost their gaps when the engine learned pipelined stages and data-parallel ranks,
 * docs/design.md §5b; PD when `search` learned to count and price both pools, §5c). pd is
 * virtual: `search` turns a P:D value into the run's --pd split itself.
 *
 * Prices: USD per GPU-hour by hardware preset name, from a JSON table ("format":
 * "servesim-prices/1", "date", "sources", "prices": {NAME: {"usd_per_gpu_hour": X, "basis":
 * "..."}}); the shipped one is sweep/prices.json (embedded as "prices/gpu-prices.json");
 * --price NAME=X[/h] overrides one entry. */
#pragma once

#include <stdbool.h>

#include <glib.h>
#include <jansson.h>

typedef struct sw_search_dim {
    const char *name;    /* axis name (--axis NAME=...) and output column */
    const char *path;    /* the run setting it varies; NULL = not a setting yet (virtual) */
    const char *neutral; /* the value that needs no modelling beyond what the engine does */
    const char *gap;     /* non-NULL: why other values are rejected (a known modelling gap) */
} sw_search_dim;

extern const sw_search_dim sw_search_dims[];
extern const size_t sw_search_ndims;

/* The dimension named NAME (or whose path is NAME), or NULL. */
const sw_search_dim *sw_search_dim_find(const char *name);

/* ---- prices ---------------------------------------------------------------------------- */

typedef struct sw_prices sw_prices;

/* Loads PATH, or the shipped table when PATH is NULL. */
sw_prices *sw_prices_load(const char *path, GError **error);
void sw_prices_free(sw_prices *p); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sw_prices, sw_prices_free)
/* "NAME=USD" or "NAME=USD/h": sets NAME's price (basis "--price"). */
gboolean sw_prices_set(sw_prices *p, const char *spec, GError **error);
/* USD per GPU-hour of HARDWARE, NAN when the table has none. */
double sw_prices_get(const sw_prices *p, const char *hardware);
/* {"date", "sources", "prices": {NAME: X, ...} sorted by name}. transfer full. */
json_t *sw_prices_to_json(const sw_prices *p);

/* ---- final table --------------------------------------------------------------------- */

/* Finalises search rows (json_t *, in point order): rows with "status" "ok" are ranked by
 * "output_throughput_per_gpu" (descending; ties by point) and get "rank" 1..; the Pareto
 * marks "pareto_tput_ttft" (throughput per GPU vs ttft_p99_ms), "pareto_tput_tpot" (vs
 * tpot_p99_ms) and "pareto_cost_e2el" (usd_per_m_output_tokens vs e2el_p99_ms) are set among
 * them (false when a value is missing; null on rejected rows). Ranked rows come first, in
 * rank order, then the rejected ones in point order. */
gboolean sw_search_finalize(const json_t *meta, GPtrArray *rows, GError **error);
