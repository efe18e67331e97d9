/* sweep/slo.h: a sweep point's summary metrics and the service-level objectives an SLA-limit
 * search tests them against (docs/domain.md §6).
 *
 * SLO terms (--slo, comma-separated, repeatable):
 *   {ttft,tpot,itl,e2el}_{mean,p50,p90,p95,p99}:MS   the latency statistic must be ≤ MS
 *   goodput:F      at least the fraction F of the requests sent are good: successful and within
 *                  every per-request bound of --goodput ttft:MS,tpot:MS,e2el:MS (vLLM bench's
 *                  goodput definition; DistServe's goodput is the largest rate with F = 0.9)
 *   failed:F       at most the fraction F of the requests sent failed
 * Presets: mlperf:BENCHMARK (the MLPerf Inference server scenario's p99 TTFT and TPOT bounds,
 * mlcommons/inference loadgen/mlperf.conf, see sw_slo_presets) and distserve (goodput:0.9).
 * Percentiles are vLLM bench's (linear interpolation), computed over the requests the metrics
 * keep (warm-up / cool-down excluded). A statistic that does not exist (no successful request)
 * breaks its bound. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "sim/metrics.h"

enum { SW_LAT_TTFT, SW_LAT_TPOT, SW_LAT_ITL, SW_LAT_E2EL, SW_LAT_COUNT };

enum { SW_STAT_MEAN, SW_STAT_P50, SW_STAT_P90, SW_STAT_P95, SW_STAT_P99, SW_STAT_COUNT };

typedef struct sw_metrics {
    uint64_t sent, completed, failed, good, preemptions;
    double duration_s;             /* first send → last finish */
    double request_throughput;     /* completed / duration (req/s) */
    double output_throughput;      /* output tokens / duration (tok/s) */
    double total_token_throughput; /* (input + output) tokens / duration */
    double goodput;                /* good / duration (req/s); NAN without --goodput */
    double good_fraction;          /* good / sent; NAN without --goodput */
    double fail_fraction;          /* failed / sent */
    double utilization;            /* mean busy fraction of the replicas */
    double kv_peak;                /* peak KV block usage, max over replicas (fraction) */
    double lat_ms[SW_LAT_COUNT][SW_STAT_COUNT];
} sw_metrics;

/* Fills M from a run's results (overall scope) and the replica aggregates. */
void sw_metrics_from_result(sw_metrics *m,
                            const sim_metrics_result *r,
                            double utilization,
                            double kv_peak);
/* Appends M's values to OBJ under fixed keys, each prefixed by PREFIX ("" for none), in the
 * order of sw_metrics_keys. */
void sw_metrics_to_json(const sw_metrics *m, json_t *obj, const char *prefix);
/* Reads back what sw_metrics_to_json wrote (null values become NAN). */
void sw_metrics_from_json(sw_metrics *m, const json_t *obj, const char *prefix);

#define SW_SLO_MAX 24

typedef struct sw_slo_term {
    int metric;   /* index into the SLO metric table (sw_slo_metric_name) */
    double bound; /* ms for latencies, a fraction for goodput / failed */
} sw_slo_term;

typedef struct sw_slo {
    guint n;
    sw_slo_term t[SW_SLO_MAX];
} sw_slo;

/* Parses SPECS (NULL-terminated; NULL or empty = no SLO). Unknown metrics, bad numbers,
 * unknown presets and a metric given twice are errors naming the term. */
gboolean sw_slo_parse(const char *const *specs, sw_slo *out, GError **error);
/* "ttft_p99:500,tpot_p99:50" (the canonical form used in outputs and the sweep id).
 * transfer full. */
char *sw_slo_to_string(const sw_slo *s);
/* True if some term needs per-request goodput bounds (goodput:F). */
bool sw_slo_needs_goodput(const sw_slo *s);
const char *sw_slo_metric_name(int metric);
/* The metric's value in M (ms or fraction). */
double sw_slo_value(int metric, const sw_metrics *m);
/* TRUE if M meets every term. *BINDING (may be NULL) receives the index of the term closest to
 * (or furthest past) its bound: the largest value/bound (bound/value for goodput). */
bool sw_slo_check(const sw_slo *s, const sw_metrics *m, int *binding);

/* The MLPerf Inference server-scenario bounds (p99 TTFT and TPOT in ms). */
typedef struct sw_mlperf_bound {
    const char *benchmark;
    double ttft_p99_ms, tpot_p99_ms;
} sw_mlperf_bound;

extern const sw_mlperf_bound sw_slo_presets[];
extern const size_t sw_slo_npresets;
