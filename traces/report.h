/* traces/report.h: the end-of-run reports built from a sim_metrics_result: summary.json's
 * metrics section, the inference-perf lifecycle reports (docs/formats/
 * inference-perf-report.md), vLLM bench's result JSON and its printed table. All builders are
 * pure: same result ⇒ same JSON (keys in a fixed insertion order; write with base_json_dumps).
 * Key lists and units: docs/outputs.md.
 *
 * Ownership: returned json_t and GString are transfer full; inputs are borrowed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "sim/metrics.h"

/* What the caller knows about the benchmark set-up (for vLLM's result header and table). */
typedef struct tr_report_info {
    const char *model_id;    /* NULL = unknown (written as null) */
    double request_rate;     /* configured req/s; NAN or inf = "inf" (all at once / trace) */
    double burstiness;       /* gamma shape; NAN = unknown */
    int64_t max_concurrency; /* ≤ 0 = none */
    const json_t *config;    /* borrowed: the run's settings, written to the vLLM result as
                                "servesim_config" so `servesim compare` can rebuild the run
                                (like vLLM's --metadata keys); NULL = not written */
} tr_report_info;

void tr_report_info_init(tr_report_info *info);

/* summary.json's "metrics" object (latencies in ms, integers for counts and ns). */
json_t *tr_metrics_json(const sim_metrics_result *r);
/* The whole summary.json: {"servesim": {"version", "git"}, "config": CONFIG, "metrics": ...}.
 * CONFIG (borrowed, may be NULL → null) is the resolved configuration. */
json_t *tr_summary_json(const sim_metrics_result *r, json_t *config);
/* inference-perf lifecycle report of SCOPE; STAGE adds send_duration, requested_rate and
 * achieved_rate to load_summary. Latencies in seconds. */
json_t *tr_lifecycle_json(const sim_scope_result *scope, bool stage);
/* vLLM benchmark_serving's result dictionary (without the per-request arrays). */
json_t *tr_vllm_result_json(const sim_metrics_result *r, const tr_report_info *info);
/* The table vLLM bench prints, plus servesim's extras. */
GString *tr_summary_table(const sim_metrics_result *r, const tr_report_info *info);
