/* traces/outputs.h: one entry point for every output of `servesim run` (docs/design.md §7,
 * docs/outputs.md). Before the simulation, tr_outputs_open checks the output directory is
 * writable, opens the streaming writers (requests.csv, steps.jsonl[.gz], Perfetto trace) under
 * temporary names and subscribes them to the engine's bus. After the simulation and
 * sim_metrics_finish, tr_outputs_finish writes the reports and renames every file to its final
 * name, summary.json last (its presence means the run's outputs are complete). Freeing without
 * a successful finish deletes every temporary file, so a partial output never looks complete.
 *
 * Typical use (the `run` command):
 *   sim_metrics *m = sim_metrics_new(&mp, &err);          sim_metrics_subscribe(m, engine);
 *   tr_outputs_params op; tr_outputs_params_init(&op);  op.dir = cfg.sim.output_dir; ...
 *   tr_outputs *o = tr_outputs_open(engine, &op, &err);  // fails before simulating
 *   ... run the engine ...
 *   sim_metrics_finish(m, sim_engine_now(engine), &err);
 *   tr_outputs_finish(o, sim_metrics_get_result(m), config_json, &err);
 *   GString *t = tr_summary_table(sim_metrics_get_result(m), &op.info);  // print to stdout
 *
 * Ownership: tr_outputs copies the strings of its params; the engine must not run after
 * tr_outputs_free. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "sim/engine.h"
#include "sim/metrics.h"
#include "traces/dsa_trace.h"
#include "traces/report.h"

typedef struct tr_outputs_params {
    const char *dir;             /* output directory, created with its parents if missing */
    bool requests_csv;           /* DIR/requests.csv (default true) */
    const char *steps_file;      /* step log, relative to DIR unless absolute (".gz" = gzip); NULL
                                    = none (default) */
    const char *perfetto;        /* Perfetto trace, relative to DIR unless absolute; NULL = none */
    uint64_t perfetto_max_steps; /* 0 = TR_PERFETTO_DEFAULT_MAX_STEPS; the trace records in its
                                    metadata how many steps it dropped past the cap */
    bool summary;                /* DIR/summary.json (default true) */
    bool lifecycle;              /* DIR/summary_lifecycle_metrics.json and, per load stage,
                                    DIR/stage_<i>_lifecycle_metrics.json (default true) */
    bool vllm_result;            /* DIR/vllm_bench_result.json (default true) */
    tr_report_info info;         /* for the vLLM result and the table */
    bool spec;                   /* speculative decoding: requests.csv gains its columns */
    tr_dsa *dsa; /* borrowed; non-NULL: its trace is committed with the other streams and
                    summary.json gains "dsa" and "serving" sections (docs/dsa.md) */
    bool pd;     /* prefill/decode run: requests.csv gains its four columns (docs/outputs.md) */
} tr_outputs_params;

/* Defaults: requests.csv, summary, lifecycle and vLLM result on; steps and Perfetto off. */
void tr_outputs_params_init(tr_outputs_params *p);

typedef struct tr_outputs tr_outputs;

/* Ensures P->dir exists and is writable (creating it), opens the streaming writers under
 * temporary names and subscribes them to E. Errors name the path. */
tr_outputs *tr_outputs_open(sim_engine *e, const tr_outputs_params *p, GError **error);
/* Writes summary.json (with CONFIG, borrowed, the resolved configuration; NULL → null), the
 * lifecycle reports and the vLLM result from RESULT, then commits every file. Call once. */
gboolean
tr_outputs_finish(tr_outputs *o, const sim_metrics_result *result, json_t *config, GError **error);
/* Names what was simulated in summary.json ("simulated"); SIM is borrowed until
 * tr_outputs_finish (params.info.simulated, if set, is used the same way). */
void tr_outputs_set_simulated(tr_outputs *o, const tr_simulated *sim);
/* Adds SECTION (transfer full) to summary.json under NAME (after "metrics"). */
void tr_outputs_set_section(tr_outputs *o, const char *name, json_t *section);
/* Steps left out of the Perfetto trace by its cap (0 without a trace). */
uint64_t tr_outputs_perfetto_dropped(const tr_outputs *o);
/* Final path of the file NAME inside the output directory (for messages). transfer full */
char *tr_outputs_path(const tr_outputs *o, const char *name);
void tr_outputs_free(tr_outputs *o); /* NULL is a no-op; deletes uncommitted files */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tr_outputs, tr_outputs_free)
