/* sweep/slo.c: point metrics (one fixed list of keys, shared by outputs and SLO checks) and the
 * SLO grammar and presets (see slo.h). */
#include "sweep/slo.h"

#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "base/match.h"
#include "sweep/axes.h"

static const char *const lat_names[SW_LAT_COUNT] = {"ttft", "tpot", "itl", "e2el"};
static const char *const stat_names[SW_STAT_COUNT] = {"mean", "p50", "p90", "p95", "p99"};
static const int stat_pct[SW_STAT_COUNT] = {-1, SIM_PCT_50, SIM_PCT_90, SIM_PCT_95, SIM_PCT_99};

/* SLO metrics: the latency statistics (index lat·SW_STAT_COUNT + stat), then these. */
enum { M_LAT_END = SW_LAT_COUNT * SW_STAT_COUNT, M_GOODPUT = M_LAT_END, M_FAILED, M_COUNT };

/* MLPerf Inference server scenario, 99th-percentile bounds: mlcommons/inference,
 * loadgen/mlperf.conf (keys <model>.Server.ttft_latency / tpot_latency, in ms). */
const sw_mlperf_bound sw_slo_presets[] = {
    {"llama2-70b", 2000, 200},
    {"llama2-70b-interactive", 450, 40},
    {"mixtral-8x7b", 2000, 200},
    {"llama3_1-405b", 6000, 175},
    {"llama3_1-405b-interactive", 4500, 80},
    {"llama3_1-8b", 2000, 100},
    {"llama3_1-8b-interactive", 500, 30},
    {"deepseek-r1", 2000, 80},
    {"deepseek-r1-interactive", 1500, 15},
};
const size_t sw_slo_npresets = G_N_ELEMENTS(sw_slo_presets);

static double
ms(double ns)
{
    return ns / 1e6;
}

void
sw_metrics_from_result(sw_metrics *m,
                       const sim_metrics_result *r,
                       double utilization,
                       double kv_peak)
{
    const sim_scope_result *o = &r->overall;
    memset(m, 0, sizeof *m);
    m->sent = o->sent;
    m->completed = o->completed;
    m->failed = o->failed;
    m->good = o->good;
    m->preemptions = o->preemptions;
    m->duration_s = o->duration_s;
    m->request_throughput = o->request_throughput;
    m->output_throughput = o->output_throughput;
    m->total_token_throughput = o->total_token_throughput;
    m->goodput = r->slo.any ? o->goodput : (double)NAN;
    m->good_fraction = r->slo.any && o->sent > 0 ? (double)o->good / (double)o->sent : (double)NAN;
    m->fail_fraction = o->sent > 0 ? (double)o->failed / (double)o->sent : (double)NAN;
    m->utilization = utilization;
    m->kv_peak = kv_peak;
    const sim_dist *d[SW_LAT_COUNT] = {&o->ttft_ns, &o->tpot_ns, &o->itl_ns, &o->e2el_ns};
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++)
            m->lat_ms[l][s] = d[l]->n == 0      ? (double)NAN
                              : stat_pct[s] < 0 ? ms(d[l]->mean)
                                                : ms(d[l]->pct[stat_pct[s]]);
}

static void
put(json_t *obj, const char *prefix, const char *key, json_t *v)
{
    g_autofree char *k = g_strconcat(prefix, key, NULL);
    json_object_set_new(obj, k, v);
}

void
sw_metrics_to_json(const sw_metrics *m, json_t *obj, const char *prefix)
{
    put(obj, prefix, "requests", json_integer((json_int_t)m->sent));
    put(obj, prefix, "completed", json_integer((json_int_t)m->completed));
    put(obj, prefix, "failed", json_integer((json_int_t)m->failed));
    put(obj, prefix, "duration_s", base_json_real(m->duration_s));
    put(obj, prefix, "request_throughput", base_json_real(m->request_throughput));
    put(obj, prefix, "output_throughput", base_json_real(m->output_throughput));
    put(obj, prefix, "total_token_throughput", base_json_real(m->total_token_throughput));
    put(obj, prefix, "goodput", base_json_real(m->goodput));
    put(obj, prefix, "good_fraction", base_json_real(m->good_fraction));
    put(obj, prefix, "preemptions", json_integer((json_int_t)m->preemptions));
    put(obj, prefix, "utilization", base_json_real(m->utilization));
    put(obj, prefix, "kv_peak", base_json_real(m->kv_peak));
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++) {
            g_autofree char *k = g_strdup_printf("%s_%s_ms", lat_names[l], stat_names[s]);
            put(obj, prefix, k, base_json_real(m->lat_ms[l][s]));
        }
}

static double
real_at(const json_t *obj, const char *prefix, const char *key)
{
    g_autofree char *k = g_strconcat(prefix, key, NULL);
    const json_t *v = json_object_get(obj, k);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static uint64_t
int_at(const json_t *obj, const char *prefix, const char *key)
{
    g_autofree char *k = g_strconcat(prefix, key, NULL);
    const json_t *v = json_object_get(obj, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

void
sw_metrics_from_json(sw_metrics *m, const json_t *obj, const char *prefix)
{
    memset(m, 0, sizeof *m);
    m->sent = int_at(obj, prefix, "requests");
    m->completed = int_at(obj, prefix, "completed");
    m->failed = int_at(obj, prefix, "failed");
    m->preemptions = int_at(obj, prefix, "preemptions");
    m->duration_s = real_at(obj, prefix, "duration_s");
    m->request_throughput = real_at(obj, prefix, "request_throughput");
    m->output_throughput = real_at(obj, prefix, "output_throughput");
    m->total_token_throughput = real_at(obj, prefix, "total_token_throughput");
    m->goodput = real_at(obj, prefix, "goodput");
    m->good_fraction = real_at(obj, prefix, "good_fraction");
    m->good = isnan(m->good_fraction) ? 0 : (uint64_t)llround(m->good_fraction * (double)m->sent);
    m->fail_fraction = m->sent > 0 ? (double)m->failed / (double)m->sent : (double)NAN;
    m->utilization = real_at(obj, prefix, "utilization");
    m->kv_peak = real_at(obj, prefix, "kv_peak");
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++) {
            g_autofree char *k = g_strdup_printf("%s_%s_ms", lat_names[l], stat_names[s]);
            m->lat_ms[l][s] = real_at(obj, prefix, k);
        }
}

/* ---- SLOs ---------------------------------------------------------------------------- */

const char *
sw_slo_metric_name(int metric)
{
    static const char *const names[M_COUNT] = {
        "ttft_mean", "ttft_p50", "ttft_p90", "ttft_p95",  "ttft_p99", "tpot_mean",
        "tpot_p50",  "tpot_p90", "tpot_p95", "tpot_p99",  "itl_mean", "itl_p50",
        "itl_p90",   "itl_p95",  "itl_p99",  "e2el_mean", "e2el_p50", "e2el_p90",
        "e2el_p95",  "e2el_p99", "goodput",  "failed"};
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == M_COUNT);
    g_return_val_if_fail(metric >= 0 && metric < M_COUNT, "?");
    return names[metric];
}

double
sw_slo_value(int metric, const sw_metrics *m)
{
    if (metric < M_LAT_END)
        return m->lat_ms[metric / SW_STAT_COUNT][metric % SW_STAT_COUNT];
    return metric == M_GOODPUT ? m->good_fraction : m->fail_fraction;
}

static int
find_metric(const char *name)
{
    for (int i = 0; i < M_COUNT; i++)
        if (strcmp(sw_slo_metric_name(i), name) == 0)
            return i;
    return -1;
}

static gboolean
add_term(sw_slo *s, int metric, double bound, const char *term, GError **error)
{
    for (guint i = 0; i < s->n; i++)
        if (s->t[i].metric == metric) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--slo %s: %s is bounded twice", term,
                        sw_slo_metric_name(metric));
            return FALSE;
        }
    if (s->n >= SW_SLO_MAX) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--slo: more than %d terms", SW_SLO_MAX);
        return FALSE;
    }
    s->t[s->n++] = (sw_slo_term){metric, bound};
    return TRUE;
}

static gboolean
parse_preset(sw_slo *s, const char *term, GError **error)
{
    if (strcmp(term, "distserve") == 0)
        return add_term(s, M_GOODPUT, 0.9, term, error);
    const char *bench = term + strlen("mlperf:");
    for (size_t i = 0; i < sw_slo_npresets; i++)
        if (strcmp(sw_slo_presets[i].benchmark, bench) == 0)
            return add_term(s, find_metric("ttft_p99"), sw_slo_presets[i].ttft_p99_ms, term,
                            error) &&
                   add_term(s, find_metric("tpot_p99"), sw_slo_presets[i].tpot_p99_ms, term, error);
    const char *names[G_N_ELEMENTS(sw_slo_presets) + 1] = {NULL}; /* NULL-terminated */
    for (size_t i = 0; i < sw_slo_npresets; i++)
        names[i] = sw_slo_presets[i].benchmark;
    g_autofree char *close = base_suggest(bench, names);
    g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                "--slo %s: unknown MLPerf benchmark%s%s%s (known: llama2-70b, "
                "llama2-70b-interactive, mixtral-8x7b, llama3_1-405b[-interactive], "
                "llama3_1-8b[-interactive], deepseek-r1[-interactive])",
                term, close ? " (did you mean " : "", close ? close : "", close ? "?)" : "");
    return FALSE;
}

static gboolean
parse_term(sw_slo *s, const char *term, GError **error)
{
    if (strcmp(term, "distserve") == 0 || g_str_has_prefix(term, "mlperf:"))
        return parse_preset(s, term, error);
    const char *colon = strchr(term, ':');
    if (colon == NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--slo %s: expected METRIC:BOUND (e.g. ttft_p99:500), mlperf:BENCHMARK or "
                    "distserve",
                    term);
        return FALSE;
    }
    g_autofree char *name = g_strndup(term, (size_t)(colon - term));
    int metric = find_metric(name);
    if (metric < 0) {
        const char *names[M_COUNT + 1] = {NULL}; /* NULL-terminated */
        for (int i = 0; i < M_COUNT; i++)
            names[i] = sw_slo_metric_name(i);
        g_autofree char *close = base_suggest(name, names);
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--slo %s: unknown metric '%s'%s%s%s (known: {ttft,tpot,itl,e2el}_{mean,p50,"
                    "p90,p95,p99}, goodput, failed)",
                    term, name, close ? " (did you mean " : "", close ? close : "",
                    close ? "?)" : "");
        return FALSE;
    }
    double v;
    bool fraction = metric >= M_LAT_END;
    if (!base_parse_double(colon + 1, &v) || !isfinite(v) || v < 0 || (fraction && v > 1) ||
        (metric == M_GOODPUT && v <= 0)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--slo %s: the bound must be %s", term,
                    metric == M_GOODPUT ? "a fraction in (0, 1]"
                    : fraction          ? "a fraction in [0, 1]"
                                        : "a number of milliseconds ≥ 0");
        return FALSE;
    }
    return add_term(s, metric, v, term, error);
}

gboolean
sw_slo_parse(const char *const *specs, sw_slo *out, GError **error)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
        g_auto(GStrv) terms = g_strsplit(specs[i], ",", -1);
        for (size_t k = 0; terms[k] != NULL; k++) {
            g_strstrip(terms[k]);
            if (*terms[k] == '\0') {
                g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--slo '%s': empty term", specs[i]);
                return FALSE;
            }
            if (!parse_term(out, terms[k], error))
                return FALSE;
        }
    }
    return TRUE;
}

char *
sw_slo_to_string(const sw_slo *s)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < s->n; i++) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf(g, "%s%s:%s", i > 0 ? "," : "", sw_slo_metric_name(s->t[i].metric),
                               g_ascii_formatd(buf, sizeof buf, "%.10g", s->t[i].bound));
    }
    return g_string_free(g, FALSE);
}

bool
sw_slo_needs_goodput(const sw_slo *s)
{
    for (guint i = 0; i < s->n; i++)
        if (s->t[i].metric == M_GOODPUT)
            return true;
    return false;
}

bool
sw_slo_check(const sw_slo *s, const sw_metrics *m, int *binding)
{
    bool ok = true;
    double worst = -1.0;
    int wi = -1;
    for (guint i = 0; i < s->n; i++) {
        double v = sw_slo_value(s->t[i].metric, m), b = s->t[i].bound, ratio;
        bool pass;
        if (s->t[i].metric == M_GOODPUT) {
            pass = v >= b; /* (double)NAN fails */
            ratio = v > 0 ? b / v : (double)INFINITY;
        } else {
            pass = v <= b;
            ratio = isnan(v) ? (double)INFINITY : b > 0 ? v / b : (v > 0 ? (double)INFINITY : 0.0);
        }
        ok &= pass;
        if (ratio > worst) {
            worst = ratio;
            wi = (int)i;
        }
    }
    if (binding != NULL)
        *binding = wi;
    return ok;
}
