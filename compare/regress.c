/* compare/regress.c: version regression between two measured results of one workload (the
 * benchmark dashboards' "regression analysis between versions"): per figure, B's change
 * against the baseline A, and whether it exceeds the runs' noise.
 *
 * Noise: when both results carry per-request figures, requests are resampled with replacement
 * (a seeded bootstrap, sim_rng stream SIM_STREAM_COMPARE_BOOTSTRAP) and the statistic
 * recomputed — paired (the same indices on both sides) when both runs sent the same requests,
 * else each run on its own; the 2.5 and 97.5 percentiles of the resampled relative change form
 * the 95 % interval. A change is beyond the noise when the interval excludes 0. Pooled ITL
 * gaps are resampled as if independent, which understates their noise. Without per-request
 * figures (or for throughputs, one number per run) the noise is unknown, and said so.
 * Lower latency and higher throughput are improvements. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "base/match.h"
#include "base/rng.h"
#include "base/stats.h"
#include "compare/internal.h"

static const char *const lat_titles[CMP_NLAT] = {"TTFT", "TPOT", "ITL", "E2E"};
static const char *const tput_titles[CMP_NTPUT] = {"requests/s", "output tok/s", "total tok/s"};

typedef struct rrow {
    int metric;                      /* cmp_lat or CMP_NLAT + cmp_tput */
    int stat;                        /* cmp_stat or -1 */
    double a, b, change_pct, lo, hi; /* lo/hi NAN: noise unknown */
} rrow;

struct cmp_regression {
    const cmp_result *a, *b;
    GArray *rows;
    GPtrArray *warnings;
    int boot;
    bool paired; /* same requests in both runs: paired bootstrap */
};

static const double stat_p[CMP_NSTAT] = {-1, 50, 90, 95, 99};

/* The finite values of metric L of R's successful requests (ITL: the pooled gaps). */
static GArray *
values(const cmp_reqs *r, int l)
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
    if (l == CMP_ITL) {
        if (r->itl_ms != NULL)
            g_array_append_vals(v, r->itl_ms->data, r->itl_ms->len);
        return v;
    }
    const double *x = l == CMP_TTFT ? r->ttft_ms : l == CMP_TPOT ? r->tpot_ms : r->e2e_ms;
    for (size_t i = 0; i < r->n; i++)
        if (r->ok[i] && isfinite(x[i]) && (l != CMP_TPOT || r->output[i] > 1))
            g_array_append_val(v, x[i]);
    return v;
}

/* Every statistic of X (n > 0), sorting it in place once. */
static void
stats_of(double *x, size_t n, double out[CMP_NSTAT])
{
    double t = 0;
    for (size_t i = 0; i < n; i++)
        t += x[i];
    base_sort_doubles(x, n);
    for (int s = 0; s < CMP_NSTAT; s++)
        out[s] = stat_p[s] < 0 ? t / (double)n : base_percentile_sorted(x, n, stat_p[s]);
}

/* Bootstrap 95 % intervals of the relative change of every statistic from A to B. PAIRED
 * (the same requests in both runs, NA == NB, value i of both is request i): the request
 * indices are resampled once for both sides, so the interval measures the change on this
 * workload, not the spread between requests; else each run is resampled on its own. */
static void
bootstrap(const double *xa,
          size_t na,
          const double *xb,
          size_t nb,
          bool paired,
          int boot,
          sim_rng *rng,
          double lo[CMP_NSTAT],
          double hi[CMP_NSTAT])
{
    for (int s = 0; s < CMP_NSTAT; s++)
        lo[s] = hi[s] = NAN;
    if (na < 2 || nb < 2 || boot < 10 || (paired && na != nb))
        return;
    g_autofree double *ra = g_new(double, na), *rb = g_new(double, nb);
    g_autofree double *ch = g_new(double, (size_t)boot *CMP_NSTAT);
    int k[CMP_NSTAT] = {0};
    for (int it = 0; it < boot; it++) {
        for (size_t i = 0; i < na; i++) {
            size_t j = sim_rng_below(rng, na);
            ra[i] = xa[j];
            if (paired)
                rb[i] = xb[j];
        }
        for (size_t i = 0; !paired && i < nb; i++)
            rb[i] = xb[sim_rng_below(rng, nb)];
        double sa[CMP_NSTAT], sb[CMP_NSTAT];
        stats_of(ra, na, sa);
        stats_of(rb, nb, sb);
        for (int s = 0; s < CMP_NSTAT; s++)
            if (sa[s] != 0 && isfinite(sa[s]) && isfinite(sb[s]))
                ch[(size_t)s * (size_t)boot + (size_t)k[s]++] = (sb[s] - sa[s]) / sa[s] * 100;
    }
    for (int s = 0; s < CMP_NSTAT; s++) {
        if (k[s] < 10)
            continue;
        double *c = ch + (size_t)s * (size_t)boot;
        base_sort_doubles(c, (size_t)k[s]);
        lo[s] = base_percentile_sorted(c, (size_t)k[s], 2.5);
        hi[s] = base_percentile_sorted(c, (size_t)k[s], 97.5);
    }
}

/* Metric L of the requests both runs completed, as two aligned arrays (paired). */
static void
paired_values(const cmp_reqs *a, const cmp_reqs *b, int l, GArray *va, GArray *vb)
{
    const double *xa = l == CMP_TTFT ? a->ttft_ms : l == CMP_TPOT ? a->tpot_ms : a->e2e_ms;
    const double *xb = l == CMP_TTFT ? b->ttft_ms : l == CMP_TPOT ? b->tpot_ms : b->e2e_ms;
    for (size_t i = 0; i < a->n; i++)
        if (a->ok[i] && b->ok[i] && isfinite(xa[i]) && isfinite(xb[i])) {
            g_array_append_val(va, xa[i]);
            g_array_append_val(vb, xb[i]);
        }
}

/* The two runs sent the same requests (same count and lengths, in the same order). */
static bool
same_requests(const cmp_reqs *a, const cmp_reqs *b)
{
    if (a == NULL || b == NULL || a->n != b->n || a->n == 0)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->input[i] != b->input[i] || a->output[i] != b->output[i])
            return false;
    return true;
}

static void
warn_differs(cmp_regression *r, const char *what, double a, double b, double tol)
{
    if (!isfinite(a) || !isfinite(b))
        return;
    double d = a != 0 ? fabs(b - a) / fabs(a) : fabs(b);
    if (d > tol)
        g_ptr_array_add(
            r->warnings,
            g_strdup_printf("%s differ: %.10g vs %.10g (not the same workload?)", what, a, b));
}

static double
mean_len(const cmp_reqs *q, bool input)
{
    if (q == NULL || q->n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < q->n; i++)
        s += input ? q->input[i] : q->output[i];
    return s / (double)q->n;
}

static void
check_workload(cmp_regression *r)
{
    const cmp_result *a = r->a, *b = r->b;
    warn_differs(r, "request counts", a->m.completed + (isnan(a->m.failed) ? 0 : a->m.failed),
                 b->m.completed + (isnan(b->m.failed) ? 0 : b->m.failed), 0);
    warn_differs(r, "mean prompt lengths", mean_len(a->reqs, true), mean_len(b->reqs, true), 0.01);
    warn_differs(r, "mean output lengths", mean_len(a->reqs, false), mean_len(b->reqs, false),
                 0.01);
    static const char *const paths[] = {"workload.rate",
                                        "workload.max_concurrency",
                                        "workload.input_len",
                                        "workload.output_len",
                                        "parallelism.tensor_parallel_size",
                                        "cluster.replicas",
                                        NULL};
    for (size_t i = 0; paths[i] != NULL; i++) {
        const json_t *x = cmp__path(a->rec.settings, paths[i]);
        const json_t *y = cmp__path(b->rec.settings, paths[i]);
        if (x != NULL && y != NULL && !json_equal(x, y)) {
            g_autofree char *sx = json_dumps(x, JSON_ENCODE_ANY),
                            *sy = json_dumps(y, JSON_ENCODE_ANY);
            g_ptr_array_add(r->warnings, g_strdup_printf("%s differs: %s vs %s", paths[i], sx, sy));
        }
    }
    if (g_strcmp0(a->rec.model, b->rec.model) != 0 && a->rec.model != NULL && b->rec.model != NULL)
        g_ptr_array_add(r->warnings,
                        g_strdup_printf("models differ: %s vs %s", a->rec.model, b->rec.model));
    if (g_strcmp0(a->rec.hardware, b->rec.hardware) != 0 && a->rec.hardware != NULL &&
        b->rec.hardware != NULL)
        g_ptr_array_add(r->warnings, g_strdup_printf("hardware differs: %s vs %s", a->rec.hardware,
                                                     b->rec.hardware));
}

cmp_regression *
cmp_regress(const cmp_result *a, const cmp_result *b, uint64_t seed, int boot)
{
    cmp_regression *r = g_new0(cmp_regression, 1);
    r->a = a;
    r->b = b;
    r->boot = boot;
    r->rows = g_array_new(FALSE, FALSE, sizeof(rrow));
    r->warnings = g_ptr_array_new_with_free_func(g_free);
    check_workload(r);
    sim_rng rng;
    sim_rng_init(&rng, seed, SIM_STREAM_COMPARE_BOOTSTRAP);
    bool noise = a->reqs != NULL && b->reqs != NULL;
    r->paired = same_requests(a->reqs, b->reqs);
    for (int l = 0; l < CMP_NLAT; l++) {
        double lo[CMP_NSTAT], hi[CMP_NSTAT];
        for (int s = 0; s < CMP_NSTAT; s++)
            lo[s] = hi[s] = NAN;
        if (noise) {
            bool paired = r->paired && l != CMP_ITL;
            g_autoptr(GArray) va =
                paired ? g_array_new(FALSE, FALSE, sizeof(double)) : values(a->reqs, l);
            g_autoptr(GArray) vb =
                paired ? g_array_new(FALSE, FALSE, sizeof(double)) : values(b->reqs, l);
            if (paired)
                paired_values(a->reqs, b->reqs, l, va, vb);
            bootstrap((const double *)(void *)va->data, va->len, (const double *)(void *)vb->data,
                      vb->len, paired, boot, &rng, lo, hi);
        }
        for (int s = 0; s < CMP_NSTAT; s++) {
            double x = a->m.lat_ms[l][s], y = b->m.lat_ms[l][s];
            if (isnan(x) || isnan(y))
                continue;
            rrow w = {l, s, x, y, x != 0 ? (y - x) / x * 100 : (double)NAN, lo[s], hi[s]};
            g_array_append_val(r->rows, w);
        }
    }
    for (int t = 0; t < CMP_NTPUT; t++) {
        double x = a->m.tput[t], y = b->m.tput[t];
        if (isnan(x) || isnan(y))
            continue;
        rrow w = {CMP_NLAT + t, -1, x, y, x != 0 ? (y - x) / x * 100 : (double)NAN, NAN, NAN};
        g_array_append_val(r->rows, w);
    }
    return r;
}

void
cmp_regression_free(cmp_regression *r)
{
    if (r == NULL)
        return;
    g_array_free(r->rows, TRUE);
    g_ptr_array_unref(r->warnings);
    g_free(r);
}

/* "regressed", "improved" (beyond the noise), "within noise", "changed (noise unknown)". */
static const char *
verdict(const rrow *w)
{
    if (!isfinite(w->change_pct))
        return "n/a";
    if (isnan(w->lo))
        return w->change_pct == 0 ? "unchanged" : "changed (noise unknown)";
    bool worse_if_up = w->metric < CMP_NLAT;
    if (w->lo > 0)
        return worse_if_up ? "regressed" : "improved";
    if (w->hi < 0)
        return worse_if_up ? "improved" : "regressed";
    return "within noise";
}

static char *
row_label(const rrow *w)
{
    return w->metric < CMP_NLAT
               ? g_strdup_printf("%s %s (ms)", lat_titles[w->metric], cmp_stat_names[w->stat])
               : g_strdup(tput_titles[w->metric - CMP_NLAT]);
}

void
cmp_regress_text(GString *out, const cmp_regression *r)
{
    char b1[BASE_FIXED_LEN], b2[BASE_FIXED_LEN];
    g_string_append_printf(out, "== A: %s (%s%s%s)\n   B: %s (%s%s%s)\n", r->a->where,
                           cmp_kind_name(r->a->kind), r->a->rec.engine ? ", " : "",
                           r->a->rec.engine ? r->a->rec.engine : "", r->b->where,
                           cmp_kind_name(r->b->kind), r->b->rec.engine ? ", " : "",
                           r->b->rec.engine ? r->b->rec.engine : "");
    for (guint i = 0; i < r->warnings->len; i++)
        g_string_append_printf(out, "warning: %s\n",
                               (const char *)g_ptr_array_index(r->warnings, i));
    bool noise = r->a->reqs != NULL && r->b->reqs != NULL;
    if (noise && r->paired)
        g_string_append_printf(out,
                               "noise: 95 %% paired bootstrap interval of the change (both runs "
                               "sent the same requests; %d resamples of the requests)\n",
                               r->boot);
    else if (noise)
        g_string_append_printf(out,
                               "noise: 95 %% bootstrap interval of the change (%d resamples of "
                               "each run's requests)\n",
                               r->boot);
    else
        g_string_append(out, "noise: unknown (a result without per-request figures)\n");
    g_string_append_printf(out, "\n%-22s %14s %14s %10s %22s  %s\n", "metric", "A", "B", "change",
                           "95 % interval", "verdict");
    for (guint i = 0; i < r->rows->len; i++) {
        const rrow *w = &g_array_index(r->rows, rrow, i);
        g_autofree char *label = row_label(w);
        char ch[32], iv[64];
        if (isfinite(w->change_pct))
            g_snprintf(ch, sizeof ch, "%+.2f %%", w->change_pct);
        else
            g_snprintf(ch, sizeof ch, "n/a");
        if (isfinite(w->lo))
            g_snprintf(iv, sizeof iv, "[%+.1f, %+.1f] %%", w->lo, w->hi);
        else
            g_snprintf(iv, sizeof iv, "-");
        g_string_append_printf(out, "%-22s %14s %14s %10s %22s  %s\n", label,
                               base_fixed(b1, w->a, 2), base_fixed(b2, w->b, 2), ch, iv,
                               verdict(w));
    }
}

json_t *
cmp_regress_json(const cmp_regression *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "a", json_string(r->a->where));
    json_object_set_new(o, "b", json_string(r->b->where));
    json_object_set_new(o, "noise_known", json_boolean(r->a->reqs != NULL && r->b->reqs != NULL));
    json_object_set_new(o, "bootstrap_resamples", json_integer(r->boot));
    json_object_set_new(o, "paired", json_boolean(r->paired));
    json_t *w = json_array();
    for (guint i = 0; i < r->warnings->len; i++)
        json_array_append_new(w, json_string(g_ptr_array_index(r->warnings, i)));
    json_object_set_new(o, "warnings", w);
    json_t *rows = json_array();
    for (guint i = 0; i < r->rows->len; i++) {
        const rrow *x = &g_array_index(r->rows, rrow, i);
        json_t *j = json_object();
        json_object_set_new(j, "metric",
                            json_string(x->metric < CMP_NLAT
                                            ? cmp_lat_names[x->metric]
                                            : cmp_tput_names[x->metric - CMP_NLAT]));
        json_object_set_new(j, "stat",
                            x->stat >= 0 ? json_string(cmp_stat_names[x->stat]) : json_null());
        json_object_set_new(j, "a", base_json_real(x->a));
        json_object_set_new(j, "b", base_json_real(x->b));
        json_object_set_new(j, "change_pct", base_json_real(x->change_pct));
        json_object_set_new(j, "ci95_low_pct", base_json_real(x->lo));
        json_object_set_new(j, "ci95_high_pct", base_json_real(x->hi));
        json_object_set_new(j, "verdict", json_string(verdict(x)));
        json_array_append_new(rows, j);
    }
    json_object_set_new(o, "figures", rows);
    return o;
}

void
cmp_regress_csv(GString *out, const cmp_regression *r, bool header)
{
    if (header)
        g_string_append(out, "a,b,metric,stat,a_value,b_value,change_pct,ci95_low_pct,"
                             "ci95_high_pct,verdict\n");
    for (guint i = 0; i < r->rows->len; i++) {
        const rrow *x = &g_array_index(r->rows, rrow, i);
        base_csv_put_field(out, r->a->where, true);
        base_csv_put_field(out, r->b->where, false);
        base_csv_put_field(out,
                           x->metric < CMP_NLAT ? cmp_lat_names[x->metric]
                                                : cmp_tput_names[x->metric - CMP_NLAT],
                           false);
        base_csv_put_field(out, x->stat >= 0 ? cmp_stat_names[x->stat] : "", false);
        base_csv_put_number(out, x->a, false);
        base_csv_put_number(out, x->b, false);
        base_csv_put_number(out, x->change_pct, false);
        base_csv_put_number(out, x->lo, false);
        base_csv_put_number(out, x->hi, false);
        base_csv_put_field(out, verdict(x), false);
        g_string_append_c(out, '\n');
    }
}

char *
cmp_result_point_key(const cmp_result *r)
{
    static const char *const paths[] = {"parallelism.tensor_parallel_size",
                                        "cluster.replicas",
                                        "workload.input_len",
                                        "workload.output_len",
                                        "workload.max_concurrency",
                                        "workload.rate",
                                        NULL};
    GString *g = g_string_new(NULL);
    g_string_append_printf(g, "%s|%s", r->rec.model ? r->rec.model : "",
                           r->rec.hardware ? r->rec.hardware : "");
    for (size_t i = 0; paths[i] != NULL; i++) {
        const json_t *v = cmp__path(r->rec.settings, paths[i]);
        g_autofree char *s = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        g_string_append_printf(g, "|%s", s != NULL ? s : "");
    }
    return g_string_free(g, FALSE);
}
