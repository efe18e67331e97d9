/* tools/pd.h: prefill/decode disaggregation for `run` (docs/design.md §5c): reads --pd P:D or
 * cluster.pools, builds the decode pool (its own hardware, parallelism, scheduler, KV size and
 * time model) and the link next to the prefill pool the runner builds from the top-level
 * settings, and reports per pool and per link (summary.json "pd", the printed table).
 *
 * The top-level settings are the prefill pool's; the decode pool starts from them (as given,
 * before "auto" is resolved) and applies its cluster.pools entry's sections. Ownership: a
 * tool_pd owns the decode pool's configuration copy, setup and time models, which must outlive
 * the cluster. */
#pragma once

#include <stdbool.h>

#include <glib.h>
#include <jansson.h>

#include "sim/cluster.h"
#include "sim/config.h"
#include "sim/metrics.h"
#include "timemodel/setup.h"

typedef struct tool_pd tool_pd;

/* *OUT = NULL when CFG asks for no disaggregation. Otherwise checks the pool settings (one-line
 * errors naming the flag or JSON path), keeps a copy of CFG for the decode pool and sets CFG's
 * replica count to the prefill pool's. */
gboolean tool_pd_prepare(sim_config *cfg, tool_pd **out, GError **error);

/* The decode pool's settings (the top-level settings as given plus its cluster.pools entry, or
 * the same settings as the prefill pool's with --pd P:D), before "auto" is resolved, and its
 * replica count in sim.replicas. Owned by PD. */
const sim_config *tool_pd_decode_config(const tool_pd *pd);

/* Completes CP (built by the runner from CFG and PREFILL, the prefill pool's setup): the prefill
 * pool's role, router and KV figures, the decode pool (built here; SCALE multiplies its step
 * times as --band does the prefill pool's, 0 = 1) and the link. */
gboolean tool_pd_complete(tool_pd *pd,
                          const sim_config *cfg,
                          const tm_setup *prefill,
                          double scale,
                          sim_cluster_params *cp,
                          GError **error);

/* "decode pool: h200, TP 2 x PP 1 x DP 1" (after tool_pd_complete), for the Simulated block
 * whose other rows describe the prefill pool; NULL before. transfer full */
char *tool_pd_decode_desc(const tool_pd *pd);

/* Subscribes the per-link accumulators to E (transfer times, bytes). */
void tool_pd_subscribe(tool_pd *pd, sim_engine *e);

/* summary.json's "pd" section: pools (settings, replicas, utilisation, KV, queueing) and the link
 * (transfers, bytes, time percentiles, utilisation). transfer full */
json_t *tool_pd_json(const tool_pd *pd, const sim_cluster *cl, const sim_metrics_result *res);
/* The lines the printed table gains. transfer full */
GString *tool_pd_table(const tool_pd *pd, const sim_cluster *cl, const sim_metrics_result *res);

/* resolved.pd of summary.json's config: the decode pool's resolved settings. transfer full */
json_t *tool_pd_resolved_json(const tool_pd *pd);

/* --print-config: J is the printed configuration (the prefill pool's settings at the top
 * level). With cluster.pools, the decode entry of J's cluster.pools is rewritten with every
 * section of the decode pool, resolved, so that J loads back to the same two pools. */
gboolean tool_pd_print_config(const tool_pd *pd, json_t *j, GError **error);

/* vLLM's NIXL connector frees the blocks of a finished prefill the decode side has not read
 * within VLLM_NIXL_ABORT_REQUEST_TIMEOUT (480 s by default); servesim does not model it (the
 * prefill core holds them until the pull ends, docs/design.md §5c). The transfers that ended
 * later than that after their prefill: the runner warns when there are any. */
#define TOOL_PD_ABORT_TIMEOUT_NS INT64_C(480000000000)
uint64_t tool_pd_held_past_abort_timeout(const tool_pd *pd);

void tool_pd_free(tool_pd *pd); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tool_pd, tool_pd_free)
