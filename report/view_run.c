/* report/view_run.c: the view of one `servesim run` output directory (docs/outputs.md):
 *   summary.json                      key figures and the latency / length tables, as written;
 *   requests.csv                      CDFs (exact quantiles) and histograms of TTFT, TPOT, E2E
 *                                     latency, queueing delay and token lengths, over the same
 *                                     requests as summary.json (successful, inside the warm-up /
 *                                     cool-down window), and the load over time;
 *   summary_lifecycle_metrics.json    the pooled ITL percentiles (p0.1 .. p99.9);
 *   steps.jsonl[.gz] (--steps)        running / waiting requests, KV usage, token throughput
 *                                     and busy fraction per replica over time;
 *   summary.json "dsa"                the DSA section (report/view_dsa.c).
 * Memory is 8 bytes per request per distribution (sorted for exact quantiles); what goes into
 * the page is bounded (report/dist.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "report/run_data.h"
#include "servesim_version.h"

#define MAX_REPLICA_BARS 64 /* more replicas: a histogram of utilisation instead of bars */
#define MAX_STAGE_ROWS   256

/* ---- detection --------------------------------------------------------------------------- */

static bool
is_requests_header(char **h)
{
    return h != NULL && g_strv_length(h) >= 3 && strcmp(h[0], "id") == 0 &&
           g_strv_contains((const char *const *)h, "ttft_ms") &&
           g_strv_contains((const char *const *)h, "send_ms");
}

/* "MAJOR.MINOR" of a version string, or NULL. */
static char *
major_minor(const char *v)
{
    if (v == NULL)
        return NULL;
    const char *d1 = strchr(v, '.');
    if (d1 == NULL)
        return NULL;
    const char *d2 = strchr(d1 + 1, '.');
    return g_strndup(v, d2 != NULL ? (size_t)(d2 - v) : strlen(v));
}

static int
check_summary(const json_t *j, const char *file, GError **error)
{
    const char *v = rp__str(j, "servesim.version");
    g_autofree char *mine = major_minor(SERVESIM_VERSION);
    g_autofree char *theirs = major_minor(v);
    if (theirs == NULL || strcmp(mine, theirs) != 0) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: written by servesim %s; this servesim (%s) reads run outputs of "
                    "version %s.x",
                    file, v != NULL ? v : "(no version)", SERVESIM_VERSION, mine);
        return -1;
    }
    static const char *const objects[] = {"config",
                                          "metrics.exclusion",
                                          "metrics.window",
                                          "metrics.requests",
                                          "metrics.throughput",
                                          "metrics.latency_ms.ttft",
                                          "metrics.latency_ms.tpot",
                                          "metrics.latency_ms.itl",
                                          "metrics.latency_ms.e2el",
                                          "metrics.latency_ms.queueing",
                                          "metrics.lengths.prompt",
                                          "metrics.lengths.output",
                                          "metrics.replica_window",
                                          NULL};
    for (size_t i = 0; objects[i] != NULL; i++)
        if (!rp__need_object(j, objects[i], file, error))
            return -1;
    static const char *const numbers[] = {
        "metrics.replica_window.start_ns", "metrics.replica_window.end_ns",
        "metrics.exclusion.warmup_end_ns", "metrics.requests.sent",
        "metrics.latency_ms.ttft.count",   NULL};
    for (size_t i = 0; numbers[i] != NULL; i++)
        if (!rp__need_number(j, numbers[i], file, error))
            return -1;
    if (!json_is_array(rp__get(j, "metrics.replicas"))) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: metrics.replicas: expected an array",
                    file);
        return -1;
    }
    return 1;
}

static bool
is_summary(const json_t *j)
{
    return json_is_object(rp__get(j, "servesim")) && json_is_object(rp__get(j, "metrics"));
}

/* The run's other files: inference-perf lifecycle reports, vLLM bench's result, the steps. */
static bool
is_run_companion(const rp_input *in)
{
    if (in->json != NULL)
        return json_is_object(rp__get(in->json, "load_summary")) ||
               g_strcmp0(rp__str(in->json, "backend"), "servesim") == 0;
    return in->first != NULL && json_object_get(in->first, "step") != NULL &&
           json_is_object(json_object_get(in->first, "kv_blocks"));
}

int
rp__detect_run(const rp_input *in, GError **error)
{
    if (in->json != NULL && is_summary(in->json))
        return check_summary(in->json, in->path, error);
    if (!is_requests_header(in->header) && !is_run_companion(in))
        return 0;
    /* a file of a run's output directory: the report is the directory's */
    g_autofree char *sp = g_build_filename(in->dir, "summary.json", NULL);
    if (!g_file_test(sp, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                    "%s: a file of a run's outputs, but the run's summary.json is not next to it "
                    "(%s not found)",
                    in->path, sp);
        return -1;
    }
    return 1;
}

/* Names of the distributions in the page's datasets, by RP_M_*. */
static const char *const metric_names[RP_M_N] = {"ttft",     "tpot",   "e2el",
                                                 "queueing", "prompt", "output"};

/* ---- section ----------------------------------------------------------------------------- */

static json_t *
row_kv(const char *label, json_t *value, const char *unit)
{
    return json_pack("[s, o, s]", label, value, unit);
}

static void
key_figures(json_t *sec, const json_t *sum)
{
    json_t *rows = json_array();

    static const struct {
        const char *label, *path, *unit;
    } figs[] = {
        {"model", "config.model.name", ""},
        {"hardware", "config.hardware.name", ""},
        {"tensor parallel size", "config.parallelism.tensor_parallel_size", "GPUs"},
        {"replicas", "config.cluster.replicas", ""},
        {"router", "config.cluster.router", ""},
        {"scheduler", "config.scheduler.policy", ""},
        {"workload", "config.resolved.workload.name", ""},
        {"requests sent", "metrics.requests.sent", ""},
        {"completed", "metrics.requests.completed", ""},
        {"failed", "metrics.requests.failed", ""},
        {"excluded (warm-up / cool-down)", "metrics.exclusion.excluded_requests", ""},
        {"duration", "metrics.window.duration_s", "s"},
        {"request throughput", "metrics.throughput.requests_per_s", "req/s"},
        {"output token throughput", "metrics.throughput.output_tokens_per_s", "tok/s"},
        {"total token throughput", "metrics.throughput.total_tokens_per_s", "tok/s"},
        {"goodput", "metrics.goodput.requests_per_s", "req/s"},
        {"preemptions", "metrics.preemptions", ""},
        {"prefix cache hit rate", "metrics.prefix_cache.hit_rate", ""},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(figs); i++) {
        json_t *v = rp__get(sum, figs[i].path);
        if (v == NULL || json_is_null(v))
            continue;
        json_array_append_new(rows, row_kv(figs[i].label, json_deep_copy(v), figs[i].unit));
    }
    rp__section_table(sec, "Run", json_pack("[s, s, s]", "figure", "value", "unit"), rows);
}

static void
latency_table(json_t *sec, const json_t *sum)
{
    static const char *const keys[] = {"count", "mean", "std", "min", "p50",
                                       "p90",   "p95",  "p99", "max", NULL};
    json_t *cols = json_array();
    json_array_append_new(cols, json_string("metric"));
    for (size_t i = 0; keys[i] != NULL; i++)
        json_array_append_new(cols, json_string(keys[i]));
    json_t *rows = json_array();

    static const struct {
        const char *label, *path;
    } ms[] = {{"TTFT (ms)", "metrics.latency_ms.ttft"},
              {"TPOT (ms)", "metrics.latency_ms.tpot"},
              {"ITL (ms)", "metrics.latency_ms.itl"},
              {"E2E latency (ms)", "metrics.latency_ms.e2el"},
              {"queueing delay (ms)", "metrics.latency_ms.queueing"},
              {"prompt length (tokens)", "metrics.lengths.prompt"},
              {"output length (tokens)", "metrics.lengths.output"}};

    for (size_t i = 0; i < G_N_ELEMENTS(ms); i++) {
        json_t *d = rp__get(sum, ms[i].path);
        json_t *row = json_array();
        json_array_append_new(row, json_string(ms[i].label));
        for (size_t k = 0; keys[k] != NULL; k++) {
            json_t *v = json_object_get(d, keys[k]);
            json_array_append_new(row, v != NULL ? json_deep_copy(v) : json_null());
        }
        json_array_append_new(rows, row);
    }
    rp__section_table(sec, "Latency and lengths (summary.json)", cols, rows);
}

static const char *const metric_titles[RP_M_N] = {"TTFT (ms)",
                                                  "TPOT (ms)",
                                                  "E2E latency (ms)",
                                                  "queueing delay (ms)",
                                                  "prompt length (tokens)",
                                                  "output length (tokens)"};

/* The ITL percentiles: the lifecycle report's (seconds, p0.1 .. p99.9) when present, else
 * summary.json's (ms). Appends rows [metric, pct, ms] to CDF. */
static void
itl_points(const char *dir, const json_t *sum, json_t *cdf, json_t *sec, GError **error)
{
    g_autofree char *lp = g_build_filename(dir, "summary_lifecycle_metrics.json", NULL);
    json_auto_t *lc = NULL;
    if (g_file_test(lp, G_FILE_TEST_IS_REGULAR)) {
        GError *e = NULL;
        lc = base_json_load_file(lp, &e);
        if (lc == NULL)
            g_propagate_error(error, e);
    }
    const json_t *itl = lc != NULL ? rp__get(lc, "successes.latency.inter_token_latency") : NULL;
    if (json_is_object(itl)) {
        static const struct {
            const char *key;
            double pct;
        } pts[] = {{"min", 0},  {"p0.1", 0.1},   {"p1", 1},   {"p5", 5},   {"p10", 10},
                   {"p25", 25}, {"median", 50},  {"p75", 75}, {"p90", 90}, {"p95", 95},
                   {"p99", 99}, {"p99.9", 99.9}, {"max", 100}};

        for (size_t i = 0; i < G_N_ELEMENTS(pts); i++) {
            json_t *v = json_object_get(itl, pts[i].key);
            if (json_is_number(v))
                json_array_append_new(cdf, json_pack("[s, o, o]", "itl", rp__real(pts[i].pct),
                                                     rp__real(json_number_value(v) * 1e3)));
        }
        rp__section_note(sec,
                         "ITL is pooled over every token gap and kept as a log histogram (relative "
                         "error ≤ 0.39 %%, docs/outputs.md); its CDF shows the percentiles of "
                         "summary_lifecycle_metrics.json (seconds × 1000).");
        return;
    }
    const json_t *s = rp__get(sum, "metrics.latency_ms.itl");

    static const struct {
        const char *key;
        double pct;
    } pts[] = {{"min", 0}, {"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"max", 100}};

    for (size_t i = 0; i < G_N_ELEMENTS(pts); i++) {
        json_t *v = json_object_get(s, pts[i].key);
        if (json_is_number(v))
            json_array_append_new(cdf, json_pack("[s, o, O]", "itl", rp__real(pts[i].pct), v));
    }
    rp__section_note(sec, "ITL is pooled over every token gap; its CDF shows summary.json's "
                          "percentiles (no lifecycle report found).");
}

static json_t *
cdf_chart(const char *metric, const char *title, bool logx)
{
    json_t *s = rp__vl_new("cdf", 0, 0);
    g_autofree char *f = g_strdup_printf("datum.metric === '%s'", metric);
    json_object_set_new(s, "transform",
                        json_pack("[{s:s}, {s:s, s:s}]", "filter", f, "calculate",
                                  "datum.pct / 100", "as", "fraction"));
    json_t *x = rp__vl_field("ms", title);
    if (logx)
        rp__vl_log(x);
    json_t *y = rp__vl_field("fraction", "fraction of requests");
    json_object_set_new(y, "axis", json_pack("{s:s}", "format", "%"));
    json_object_set_new(s, "mark", rp__vl_mark("line", false));
    json_object_set_new(
        s, "encoding",
        json_pack("{s:o, s:o, s:o}", "x", x, "y", y, "tooltip",
                  rp__vl_tooltip((const char *const[]){"pct", "percentile", "ms", title, NULL})));
    return s;
}

static json_t *
hist_chart(const char *metric, const char *title, bool logx, const char *ytitle)
{
    json_t *s = rp__vl_new("hist", 0, 0);
    g_autofree char *f = g_strdup_printf("datum.metric === '%s'", metric);
    json_object_set_new(s, "transform", json_pack("[{s:s}]", "filter", f));
    json_t *x = rp__vl_field("lo", title);
    json_object_set_new(x, "bin", json_pack("{s:b}", "binned", 1));
    if (logx)
        rp__vl_log(x);
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_object_set_new(s, "encoding",
                        json_pack("{s:o, s:o, s:o, s:o}", "x", x, "x2",
                                  json_pack("{s:s}", "field", "hi"), "y",
                                  rp__vl_field("count", ytitle), "tooltip",
                                  rp__vl_tooltip((const char *const[]){"lo", "from", "hi", "to",
                                                                       "count", ytitle, NULL})));
    return s;
}

/* x = bucket start in seconds, the axis ending where the run ends */
static json_t *
time_axis(void)
{
    json_t *x = rp__vl_field("t_s", "time (s)");
    json_object_set_new(x, "scale", json_pack("{s:b}", "nice", 0));
    return x;
}

/* A time-series chart of dataset DATA: FIELDS folded into one line each. */
static json_t *
series_chart(const char *data, const char *const *fields, const char *ytitle, const char *mark)
{
    json_t *s = rp__vl_new(data, 0, 0);
    json_t *fold = json_array();
    for (size_t i = 0; fields[i] != NULL; i++)
        json_array_append_new(fold, json_string(fields[i]));
    json_object_set_new(s, "transform",
                        json_pack("[{s:o, s:[s, s]}]", "fold", fold, "as", "series", "value"));
    json_t *m = rp__vl_mark(mark, false);
    if (strcmp(mark, "line") == 0)
        json_object_set_new(m, "interpolate", json_string("step-after"));
    json_object_set_new(s, "mark", m);
    json_t *y = rp__vl_field("value", ytitle);
    if (strcmp(mark, "area") == 0)
        json_object_set_new(y, "stack", json_string("zero"));
    json_object_set_new(
        s, "encoding",
        json_pack("{s:o, s:o, s:o, s:o}", "x", time_axis(), "y", y, "color",
                  rp__vl_field("series:N", NULL), "tooltip",
                  rp__vl_tooltip((const char *const[]){"t_s", "bucket start (s)", "series:N",
                                                       "series", "value", ytitle, NULL})));
    return s;
}

static bool
spread_wide(const rp_vec *a, double scale)
{
    if (a->n == 0)
        return false;
    double lo = (double)a->v[0] / scale, hi = (double)a->v[a->n - 1] / scale;
    return lo > 0 && hi / lo >= 20.0;
}

/* Fills datasets "cdf" and "hist"; LOGB[m] tells whether metric m got log bins. */
static void
distributions(json_t *sec,
              const rp_reqdata *d,
              const char *dir,
              const json_t *sum,
              bool *logb,
              GError **error)
{
    json_t *cdf = rp__section_data(sec, "cdf", (const char *const[]){"metric", "pct", "ms", NULL});
    json_t *hist =
        rp__section_data(sec, "hist", (const char *const[]){"metric", "lo", "hi", "count", NULL});
    size_t np = rp__cdf_npcts();
    for (int m = 0; m < RP_M_N; m++) {
        const rp_vec *a = &d->m[m];
        bool tokens = m >= RP_M_PROMPT;
        double scale = tokens ? 1.0 : 1e6;
        if (!tokens && a->n > 0)
            for (size_t i = 0; i < np; i++) {
                double p = rp__cdf_pct(i);
                json_array_append_new(cdf,
                                      json_pack("[s, o, o]", metric_names[m], rp__real(p),
                                                rp__real(rp__quantile_i64(a->v, a->n, p) / scale)));
            }
        rp_bin bins[RP_HIST_MAX_BINS];
        size_t nb = rp__histogram(a->v, a->n, scale, tokens, bins, &logb[m]);
        for (size_t i = 0; i < nb; i++)
            json_array_append_new(hist,
                                  json_pack("[s, o, o, I]", metric_names[m], rp__real(bins[i].lo),
                                            rp__real(bins[i].hi), (json_int_t)bins[i].count));
    }
    itl_points(dir, sum, cdf, sec, error);
}

static void
load_series(json_t *sec, const rp_reqdata *d)
{
    json_t *rows = rp__section_data(
        sec, "load",
        (const char *const[]){"t_s", "queued", "in service", "completed/s", "failed/s", NULL});
    for (size_t i = 0; i < d->b.n; i++) {
        double w = (double)rp__bucket_width(&d->b, i);
        json_array_append_new(
            rows, json_pack("[o, o, o, o, o]", rp__real((double)i * (double)d->b.width / 1e9),
                            rp__real(d->queued[i] / w), rp__real(d->serving[i] / w),
                            rp__real((double)d->done[i] / (w / 1e9)),
                            rp__real((double)d->failed[i] / (w / 1e9))));
    }
}

static void
engine_series(json_t *sec, const rp_stepdata *s, const rp_buckets *b)
{
    json_t *rows =
        rp__section_data(sec, "engine",
                         (const char *const[]){"t_s", "running", "waiting", "KV usage", "busy",
                                               "prefill tok/s", "decode tok/s", NULL});
    for (size_t i = 0; i < b->n; i++) {
        double w = (double)rp__bucket_width(b, i);
        double nr = (double)s->nrep;
        json_array_append_new(
            rows, json_pack("[o, o, o, o, o, o, o]", rp__real((double)i * (double)b->width / 1e9),
                            rp__real(s->running[i] / w), rp__real(s->waiting[i] / w),
                            rp__real(s->kv[i] / w / nr), rp__real(s->busy_all[i] / w / nr),
                            rp__real((double)s->prefill[i] / (w / 1e9)),
                            rp__real((double)s->decode[i] / (w / 1e9))));
    }
    if (s->nrep > RP_MAX_REPLICA_LINES)
        return;
    json_t *br =
        rp__section_data(sec, "busy", (const char *const[]){"t_s", "replica", "busy", NULL});
    for (size_t r = 0; r < s->nrep; r++)
        for (size_t i = 0; i < b->n; i++)
            json_array_append_new(
                br,
                json_pack("[o, I, o]", rp__real((double)i * (double)b->width / 1e9), (json_int_t)r,
                          rp__real(s->busy[r * b->n + i] / (double)rp__bucket_width(b, i))));
}

static void
replicas_view(json_t *sec, const json_t *reps)
{
    size_t n = json_array_size(reps);
    if (n == 0)
        return;
    if (n <= MAX_REPLICA_BARS) {
        json_t *rows = rp__section_data(
            sec, "replicas",
            (const char *const[]){"replica", "utilization", "KV usage (time-weighted mean)",
                                  "KV usage (max)", "mean batch size", "steps", "requests",
                                  "preemptions", NULL});
        for (size_t i = 0; i < n; i++) {
            const json_t *r = json_array_get(reps, i);
            json_array_append_new(
                rows,
                json_pack("[O?, o, o, o, o, o, o, o]", json_object_get(r, "replica"),
                          rp__copy(r, "utilization"), rp__copy(r, "kv_usage.time_weighted_mean"),
                          rp__copy(r, "kv_usage.max"), rp__copy(r, "batch_size.mean"),
                          rp__copy(r, "steps"), rp__copy(r, "requests"),
                          rp__copy(r, "preemptions")));
        }
        json_t *s = rp__vl_new("replicas", 0, 0);
        json_object_set_new(s, "transform",
                            json_pack("[{s:[s, s, s], s:[s, s]}]", "fold", "utilization",
                                      "KV usage (time-weighted mean)", "KV usage (max)", "as",
                                      "figure", "value"));
        json_object_set_new(s, "mark", rp__vl_mark("bar", false));
        json_t *y = rp__vl_field("value", "fraction");
        json_object_set_new(y, "axis", json_pack("{s:s}", "format", "%"));
        json_object_set_new(s, "encoding",
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "x",
                                      rp__vl_field("replica:O", "replica"), "xOffset",
                                      rp__vl_field("figure:N", NULL), "y", y, "color",
                                      rp__vl_field("figure:N", NULL), "tooltip",
                                      rp__vl_tooltip((const char *const[]){
                                          "replica:O", "replica", "figure:N", "figure", "value",
                                          "value", "mean batch size", "mean batch size", "steps",
                                          "steps", "requests", "requests", NULL})));
        rp__section_chart(sec, "Per replica: utilisation and KV cache usage",
                          "summary.json replicas[]: busy time / replica window; KV blocks in use "
                          "/ usable blocks",
                          s);
        return;
    }
    /* many replicas: a histogram of their utilisation */
    g_autofree int64_t *u = g_new(int64_t, n);
    for (size_t i = 0; i < n; i++)
        u[i] = (int64_t)llround(rp__num(json_array_get(reps, i), "utilization") * 1e9);
    rp__sort_i64(u, n);
    rp_bin bins[RP_HIST_MAX_BINS];
    bool logb;
    size_t nb = rp__histogram(u, n, 1e9, false, bins, &logb);
    json_t *rows = rp__section_data(sec, "replica_util",
                                    (const char *const[]){"metric", "lo", "hi", "count", NULL});
    for (size_t i = 0; i < nb; i++)
        json_array_append_new(rows, json_pack("[s, o, o, I]", "utilization", rp__real(bins[i].lo),
                                              rp__real(bins[i].hi), (json_int_t)bins[i].count));
    json_t *s = hist_chart("utilization", "utilisation (busy fraction)", false, "replicas");
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "replica_util"));
    rp__section_chart(sec, "Utilisation of the replicas", "a histogram: more than 64 replicas", s);
}

static void
stages_table(json_t *sec, const json_t *stages)
{
    size_t n = json_array_size(stages);
    if (n == 0)
        return;
    json_t *rows = json_array();
    for (size_t i = 0; i < n && i < MAX_STAGE_ROWS; i++) {
        const json_t *s = json_array_get(stages, i);
        json_array_append_new(
            rows,
            json_pack("[o, o, o, o, o, o, o]", rp__copy(s, "stage"), rp__copy(s, "requested_rate"),
                      rp__copy(s, "achieved_rate"), rp__copy(s, "requests.completed"),
                      rp__copy(s, "latency_ms.ttft.p99"), rp__copy(s, "latency_ms.tpot.p99"),
                      rp__copy(s, "throughput.output_tokens_per_s")));
    }
    rp__section_table(sec, n > MAX_STAGE_ROWS ? "Load stages (first 256)" : "Load stages",
                      json_pack("[s, s, s, s, s, s, s]", "stage", "requested req/s",
                                "achieved req/s", "completed", "TTFT p99 (ms)", "TPOT p99 (ms)",
                                "output tok/s"),
                      rows);
}

gboolean
rp__build_run(rp_ctx *ctx, const rp_input *in, GError **error)
{
    json_auto_t *loaded = NULL;
    const json_t *sum = in->json != NULL && is_summary(in->json) ? in->json : NULL;
    g_autofree char *sum_path = g_build_filename(in->dir, "summary.json", NULL);
    if (sum == NULL) { /* the input was another file of the run */
        loaded = base_json_load_file(sum_path, error);
        if (loaded == NULL || check_summary(loaded, sum_path, error) < 0)
            return FALSE;
        sum = loaded;
    }
    int64_t t0 = (int64_t)rp__num(sum, "metrics.replica_window.start_ns");
    int64_t t1 = (int64_t)rp__num(sum, "metrics.replica_window.end_ns");
    int64_t warm = (int64_t)rp__num(sum, "metrics.exclusion.warmup_end_ns");
    double cs = rp__num(sum, "metrics.exclusion.cooldown_start_ns");
    int64_t cool = isfinite(cs) ? (int64_t)cs : INT64_MAX;

    g_autofree char *title = g_strdup_printf("run: %s", in->dir);
    json_t *sec = rp__section_new("run", title, in->dir);
    g_autoptr(GError) e = NULL;
    key_figures(sec, sum);
    latency_table(sec, sum);

    /* requests.csv: distributions over the summary's set, load over time */
    g_autofree char *rq = g_build_filename(in->dir, "requests.csv", NULL);
    rp_reqdata d;
    rp__reqdata_init(&d, t0, t1);
    gboolean ok = rp__read_requests(rq, warm, cool, &d, &e);
    if (ok) {
        rp__buckets_finish(&d.b, d.queued, d.qdiff);
        rp__buckets_finish(&d.b, d.serving, d.sdiff);
        double want = rp__num(sum, "metrics.latency_ms.e2el.count");
        if (isfinite(want) && (double)d.m[RP_M_E2EL].n != want) {
            g_set_error(&e, RP_ERROR, RP_ERROR_INPUT,
                        "%s: %zu successful requests inside the summary window, but %s counts "
                        "%.0f: the files come from different runs",
                        rq, d.m[RP_M_E2EL].n, sum_path, want);
            ok = FALSE;
        }
    }
    bool logb[RP_M_N] = {false};
    if (ok) {
        distributions(sec, &d, in->dir, sum, logb, &e);
        ok = e == NULL;
    }
    if (ok) {
        load_series(sec, &d);
        rp__section_note(
            sec,
            "CDFs and histograms cover the requests summary.json describes "
            "(successful, sent inside the warm-up / cool-down window): %" G_GUINT64_FORMAT
            " of the %" G_GUINT64_FORMAT " rows of requests.csv; quantiles are exact "
            "(NumPy's linear interpolation), histograms count [lo, hi) (the last bin "
            "includes hi).",
            d.included, d.rows);
        for (int m = 0; m < RP_M_QUEUE + 1; m++) {
            bool wide = spread_wide(&d.m[m], 1e6);
            if (d.m[m].n == 0)
                continue;
            g_autofree char *t = g_strdup_printf("%s: CDF", metric_titles[m]);
            rp__section_chart(sec, t, NULL, cdf_chart(metric_names[m], metric_titles[m], wide));
            if (m == RP_M_TPOT) {
                /* ITL sits between TPOT and E2E latency */
                rp__section_chart(sec, "ITL (ms): CDF", NULL, cdf_chart("itl", "ITL (ms)", false));
            }
            g_autofree char *th = g_strdup_printf("%s: histogram", metric_titles[m]);
            rp__section_chart(sec, th, NULL,
                              hist_chart(metric_names[m], metric_titles[m], logb[m], "requests"));
        }
        for (int m = RP_M_PROMPT; m < RP_M_N; m++) {
            if (d.m[m].n == 0)
                continue;
            g_autofree char *t = g_strdup_printf("Workload: %s", metric_titles[m]);
            rp__section_chart(sec, t, NULL,
                              hist_chart(metric_names[m], metric_titles[m], false, "requests"));
        }
        rp__section_chart(
            sec, "Requests queued and in service",
            "time-weighted mean per bucket: queued = sent, not yet scheduled; in service = "
            "scheduled, not finished (requests.csv)",
            series_chart("load", (const char *const[]){"queued", "in service", NULL}, "requests",
                         "line"));
        rp__section_chart(sec, "Completions per second", "by finish time (requests.csv)",
                          series_chart("load",
                                       (const char *const[]){"completed/s", "failed/s", NULL},
                                       "requests / s", "line"));
    }
    rp__reqdata_clear(&d);
    if (!ok) {
        json_decref(sec);
        g_propagate_error(error, g_steal_pointer(&e));
        return FALSE;
    }

    /* steps (--steps) */
    const json_t *reps = rp__get(sum, "metrics.replicas");
    bool steps_on = json_is_true(rp__get(sum, "config.outputs.steps"));
    const char *sf = rp__str(sum, "config.outputs.steps_file");
    if (steps_on && sf != NULL) {
        g_autofree char *sp =
            g_path_is_absolute(sf) ? g_strdup(sf) : g_build_filename(in->dir, sf, NULL);
        if (!g_file_test(sp, G_FILE_TEST_IS_REGULAR)) {
            rp__section_note(sec,
                             "The run wrote steps to %s, which is not there any more: no "
                             "engine time series.",
                             sp);
        } else {
            rp_buckets b;
            rp__buckets_init(&b, t0, t1);
            rp_stepdata s;
            rp__stepdata_init(&s, &b, json_array_size(reps));
            ok = rp__read_steps(sp, &b, &s, &e);
            if (ok) {
                engine_series(sec, &s, &b);
                rp__section_note(sec,
                                 "Engine time series from %s (%" G_GUINT64_FORMAT
                                 " steps) in %zu buckets of %.6g s: running / waiting are "
                                 "time-weighted means summed over the replicas, KV usage and busy "
                                 "fraction means over the replicas, tokens/s by step end.",
                                 sp, s.lines, b.n, (double)b.width / 1e9);
                rp__section_chart(sec, "Engine: running batch and waiting queue",
                                  "requests per step after planning, time-weighted (steps.jsonl)",
                                  series_chart("engine",
                                               (const char *const[]){"running", "waiting", NULL},
                                               "requests", "line"));
                json_t *kvc = series_chart(
                    "engine", (const char *const[]){"KV usage", "busy", NULL}, "fraction", "line");
                json_object_set_new(json_object_get(json_object_get(kvc, "encoding"), "y"), "axis",
                                    json_pack("{s:s}", "format", "%"));
                rp__section_chart(sec, "Engine: KV cache usage and busy fraction",
                                  "KV blocks in use / usable blocks; fraction of time stepping",
                                  kvc);
                rp__section_chart(
                    sec, "Engine: token throughput", "tokens processed per second, stacked",
                    series_chart("engine",
                                 (const char *const[]){"prefill tok/s", "decode tok/s", NULL},
                                 "tokens / s", "area"));
                if (s.nrep > 1 && s.nrep <= RP_MAX_REPLICA_LINES) {
                    json_t *bc = rp__vl_new("busy", 0, 0);
                    json_object_set_new(bc, "mark", rp__vl_mark("line", false));
                    json_t *y = rp__vl_field("busy", "busy fraction");
                    json_object_set_new(y, "axis", json_pack("{s:s}", "format", "%"));
                    json_object_set_new(bc, "encoding",
                                        json_pack("{s:o, s:o, s:o}", "x", time_axis(), "y", y,
                                                  "color", rp__vl_field("replica:N", "replica")));
                    rp__section_chart(sec, "Per replica: busy fraction over time", NULL, bc);
                }
            }
            rp__stepdata_clear(&s);
            if (!ok) {
                json_decref(sec);
                g_propagate_error(error, g_steal_pointer(&e));
                return FALSE;
            }
        }
    }
    replicas_view(sec, reps);
    stages_table(sec, rp__get(sum, "metrics.stages"));
    rp__ctx_add_section(ctx, sec);

    const json_t *dsa = rp__get(sum, "dsa");
    if (json_is_object(dsa)) {
        json_t *ds = rp__dsa_section(dsa, sum_path, error);
        if (ds == NULL)
            return FALSE;
        rp__ctx_add_section(ctx, ds);
    }
    return TRUE;
}
