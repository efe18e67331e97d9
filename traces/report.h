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

/* What was simulated, named as the user would check it (the table's first block and
 * summary.json's "simulated"). Strings borrowed. */
typedef struct tr_simulated {
    const char *model;    /* resolved preset name or config path */
    const char *hardware; /* resolved preset name or file */
    const char *gpu;      /* the hardware's display name */
    int64_t tp, pp, dp, replicas;
    int64_t ep;               /* expert-parallel size (1 = experts tensor-split) */
    const char *engine;       /* engine profile name (--engine), NULL = not said */
    const char *weight_dtype; /* tm_dtype_name */
    const char *kv_dtype;
    const char *calibration;       /* tm_setup_calibration_desc; NULL = uncalibrated */
    const char *workload;          /* source name (file, embedded sample, "synthetic") */
    const char *workload_format;   /* detected or forced format */
    uint64_t requests;             /* requests the workload produced */
    const char *scheduler;         /* policy name */
    const char *scheduler_follows; /* e.g. "vLLM v0.11" (NULL = none) */
    const char *router;
    int64_t max_num_seqs, max_num_batched_tokens;
} tr_simulated;

/* What the caller knows about the benchmark set-up (for vLLM's result header and table). */
typedef struct tr_report_info {
    const char *model_id;          /* NULL = unknown (written as null) */
    double request_rate;           /* configured req/s; NAN or inf = "inf" (all at once / trace) */
    double burstiness;             /* gamma shape; NAN = unknown */
    int64_t max_concurrency;       /* ≤ 0 = none */
    const tr_simulated *simulated; /* borrowed; NULL = the table has no "Simulated" block */
    const json_t *config;          /* borrowed: the run's settings, written to the vLLM result as
                                      "servesim_config" so `servesim compare` can rebuild the run
                                      (like vLLM's --metadata keys); NULL = not written */
} tr_report_info;

void tr_report_info_init(tr_report_info *info);

/* summary.json's "metrics" object (latencies in ms, integers for counts and ns). */
json_t *tr_metrics_json(const sim_metrics_result *r);
/* summary.json's "simulated" object: SIM's fields, then "overloaded" from R's load check. */
json_t *tr_simulated_json(const tr_simulated *sim, const sim_metrics_result *r);
/* The whole summary.json: {"servesim": {"version", "git"}, "simulated": ... (when SIM is not
 * NULL), "config": CONFIG, "metrics": ...}. CONFIG (borrowed, may be NULL → null) is the
 * resolved configuration. */
json_t *tr_summary_json(const sim_metrics_result *r, const tr_simulated *sim, json_t *config);
/* The one line a run whose arrivals outpaced its completions prints (sim_load_check), without
 * a newline; NULL when it was not overloaded. transfer full */
char *tr_overload_line(const sim_load_check *load);
/* summary.json's "speculative_decoding" metrics (vLLM's definitions, docs/speculative.md).
 * transfer full */
json_t *tr_spec_json(const sim_spec_result *spec);
/* inference-perf lifecycle report of SCOPE; STAGE adds send_duration, requested_rate and
 * achieved_rate to load_summary. Latencies in seconds. */
json_t *tr_lifecycle_json(const sim_scope_result *scope, bool stage);
/* vLLM benchmark_serving's result dictionary (without the per-request arrays). */
json_t *tr_vllm_result_json(const sim_metrics_result *r, const tr_report_info *info);
/* The table vLLM bench prints, plus servesim's extras. */
GString *tr_summary_table(const sim_metrics_result *r, const tr_report_info *info);
