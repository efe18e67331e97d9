/* compare/report.c: measured against simulated: every figure the input records next to its
 * simulated counterpart with the signed difference and relative error, the per-request error
 * distributions when requests are matched one to one, and one verdict per metric.
 *
 * Verdict: PASS when |relative error| ≤ the metric's threshold, judged on the mean (else the
 * median) — TTFT 15 % (the TTFT error BLIS and its calibration tool accept, docs/domain.md
 * §4.2), TPOT, ITL, E2E and throughput 10 % (§4.2's per-step target; TPOT and ITL are step
 * times). Tails (p90–p99) are shown, not judged: under overload they follow the queue, whose
 * error compounds. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "base/match.h"
#include "compare/internal.h"

static const char *const lat_titles[CMP_NLAT] = {"TTFT", "TPOT", "ITL", "E2E"};
static const char *const tput_titles[CMP_NTPUT] = {"requests/s", "output tok/s", "total tok/s"};

double
cmp_threshold_pct(int metric)
{
    return metric == CMP_TTFT ? 15.0 : 10.0;
}

typedef struct fig {
    int metric; /* cmp_lat, or CMP_NLAT + cmp_tput */
    int stat;   /* cmp_stat for latencies, -1 for throughputs */
    double meas, sim, diff, err_pct;
} fig;

typedef struct perreq {
    size_t n;
    double mean_err, mape, p50_err, p90_abs, corr, mean_abs_ms;
} perreq;

typedef struct verdict {
    int metric;
    int stat;       /* judged statistic (-1 throughput, -2 nothing to judge) */
    int tput;       /* throughput judged */
    double err_pct; /* NAN = not judged */
    double threshold;
    int pass; /* 1 pass, 0 fail, -1 not judged */
} verdict;

struct cmp_comparison {
    const cmp_result *m, *s;
    const cmp_run *run;
    uint32_t num_gpu_blocks;
    GArray *figs;
    bool have_req;
    perreq pr[CMP_NLAT];
    verdict v[CMP_NLAT + 1];
};

static double
rel_pct(double sim, double meas)
{
    return meas != 0 && isfinite(meas) && isfinite(sim) ? (sim - meas) / meas * 100 : (double)NAN;
}

/* Per-request relative errors of one metric over the requests both sides completed. */
static void
per_request(const cmp_reqs *a, const cmp_reqs *b, int metric, perreq *out)
{
    const double *x = metric == CMP_TTFT ? a->ttft_ms : metric == CMP_TPOT ? a->tpot_ms : a->e2e_ms;
    const double *y = metric == CMP_TTFT ? b->ttft_ms : metric == CMP_TPOT ? b->tpot_ms : b->e2e_ms;
    g_autofree double *e = g_new(double, a->n + 1), *ae = g_new(double, a->n + 1);
    size_t n = 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, sabs = 0;
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        if (!a->ok[i] || !b->ok[i] || !isfinite(x[i]) || !isfinite(y[i]) || x[i] <= 0)
            continue;
        e[n] = (y[i] - x[i]) / x[i] * 100;
        ae[n] = fabs(e[n]);
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        syy += y[i] * y[i];
        sxy += x[i] * y[i];
        sabs += fabs(y[i] - x[i]);
        n++;
    }
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->mean_err = out->mape = out->p50_err = out->p90_abs = out->corr = out->mean_abs_ms =
            NAN;
        return;
    }
    out->mean_err = cmp__mean(e, n);
    out->mape = cmp__mean(ae, n);
    out->p50_err = cmp__percentile(e, n, 50);
    out->p90_abs = cmp__percentile(ae, n, 90);
    out->mean_abs_ms = sabs / (double)n;
    double dn = (double)n, vx = sxx - sx * sx / dn, vy = syy - sy * sy / dn;
    out->corr = vx > 0 && vy > 0 ? (sxy - sx * sy / dn) / sqrt(vx * vy) : (double)NAN;
}

cmp_comparison *
cmp_compare(const cmp_result *m, const cmp_result *s, const cmp_run *run, uint32_t num_gpu_blocks)
{
    cmp_comparison *c = g_new0(cmp_comparison, 1);
    c->m = m;
    c->s = s;
    c->run = run;
    c->num_gpu_blocks = num_gpu_blocks;
    c->figs = g_array_new(FALSE, FALSE, sizeof(fig));
    for (int l = 0; l < CMP_NLAT; l++)
        for (int st = 0; st < CMP_NSTAT; st++) {
            double a = m->m.lat_ms[l][st];
            if (isnan(a))
                continue;
            double b = s->m.lat_ms[l][st];
            fig f = {l, st, a, b, b - a, rel_pct(b, a)};
            g_array_append_val(c->figs, f);
        }
    for (int t = 0; t < CMP_NTPUT; t++) {
        double a = m->m.tput[t];
        if (isnan(a))
            continue;
        double b = s->m.tput[t];
        fig f = {CMP_NLAT + t, -1, a, b, b - a, rel_pct(b, a)};
        g_array_append_val(c->figs, f);
    }
    c->have_req = run != NULL && run->req_index != NULL && m->reqs != NULL && s->reqs != NULL &&
                  m->reqs->n == s->reqs->n;
    for (int l = 0; c->have_req && l < CMP_NLAT; l++)
        if (l != CMP_ITL)
            per_request(m->reqs, s->reqs, l, &c->pr[l]);
    for (int l = 0; l < CMP_NLAT; l++) {
        verdict *v = &c->v[l];
        v->metric = l;
        v->threshold = cmp_threshold_pct(l);
        int st = !isnan(m->m.lat_ms[l][CMP_MEAN])  ? CMP_MEAN
                 : !isnan(m->m.lat_ms[l][CMP_P50]) ? CMP_P50
                                                   : -2;
        v->stat = st;
        v->err_pct = st >= 0 ? rel_pct(s->m.lat_ms[l][st], m->m.lat_ms[l][st]) : (double)NAN;
        v->pass = isnan(v->err_pct) ? -1 : fabs(v->err_pct) <= v->threshold;
    }
    verdict *v = &c->v[CMP_NLAT];
    v->metric = CMP_NLAT;
    v->threshold = 10.0;
    v->stat = -1;
    v->tput = !isnan(m->m.tput[CMP_OUT_TOKS])     ? CMP_OUT_TOKS
              : !isnan(m->m.tput[CMP_TOTAL_TOKS]) ? CMP_TOTAL_TOKS
                                                  : CMP_REQ_RATE;
    v->err_pct = rel_pct(s->m.tput[v->tput], m->m.tput[v->tput]);
    v->pass = isnan(v->err_pct) ? -1 : fabs(v->err_pct) <= v->threshold;
    return c;
}

bool
cmp_comparison_has_requests(const cmp_comparison *c)
{
    return c->have_req;
}

void
cmp_comparison_free(cmp_comparison *c)
{
    if (c == NULL)
        return;
    g_array_free(c->figs, TRUE);
    g_free(c);
}

int
cmp_comparison_failures(const cmp_comparison *c)
{
    int n = 0;
    for (int i = 0; i <= CMP_NLAT; i++)
        n += c->v[i].pass == 0;
    return n;
}

static const char *
metric_name(int metric)
{
    return metric < CMP_NLAT ? cmp_lat_names[metric] : cmp_tput_names[metric - CMP_NLAT];
}

static const char *
unit_of(int metric)
{
    return metric < CMP_NLAT ? "ms" : metric == CMP_NLAT + CMP_REQ_RATE ? "req/s" : "tok/s";
}

/* The value NAME takes in the simulated configuration (after "auto" was resolved). */
static char *
setting_value(const cmp_comparison *c, const char *path)
{
    if (strcmp(path, "kv.num_gpu_blocks_override") == 0)
        return g_strdup_printf("%u (servesim's memory plan)", c->num_gpu_blocks);
    json_auto_t *j = sim_config_to_json(&c->run->cfg);
    const json_t *v = cmp__path(j, path);
    if (v == NULL || json_is_null(v))
        return g_strdup("auto");
    if (json_is_string(v))
        return g_strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

static const char *
short_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL ? dot + 1 : path;
}

static void
list(GString *out, const char *title, const GPtrArray *a)
{
    if (a == NULL || a->len == 0)
        return;
    g_string_append_printf(out, "%s\n", title);
    for (guint i = 0; i < a->len; i++)
        g_string_append_printf(out, "  - %s\n", (const char *)g_ptr_array_index(a, i));
}

static const char *
fmt(char buf[BASE_FIXED_LEN], double v)
{
    return base_fixed(buf, v, 2);
}

static const char *
fmt_signed(char buf[BASE_FIXED_LEN], double v, const char *suffix)
{
    if (!isfinite(v))
        return "n/a";
    g_snprintf(buf, BASE_FIXED_LEN, "%+.2f%s", v, suffix);
    return buf;
}

void
cmp_report_text(GString *out, const cmp_comparison *c)
{
    const cmp_result *m = c->m;
    char b1[BASE_FIXED_LEN], b2[BASE_FIXED_LEN], b3[BASE_FIXED_LEN], b4[BASE_FIXED_LEN];
    g_string_append_printf(out, "== %s (%s)\n", m->where, cmp_kind_name(m->kind));
    if (m->rec.engine != NULL)
        g_string_append_printf(out, "measured engine: %s\n", m->rec.engine);
    g_string_append_printf(out, "measured: %s completed, %s failed\n",
                           base_fixed(b1, m->m.completed, 0), base_fixed(b2, m->m.failed, 0));
    const sim_config *cfg = &c->run->cfg;
    g_string_append_printf(out,
                           "simulated: %s on %s, TP %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           " replica(s), %u KV blocks per replica; %s completed, %s failed\n",
                           c->run->model, c->run->hardware, cfg->tm.tp, cfg->sim.replicas,
                           c->num_gpu_blocks, base_fixed(b3, c->s->m.completed, 0),
                           base_fixed(b4, c->s->m.failed, 0));
    list(out, "rebuilt with these assumptions:", c->run->assumptions);
    if (c->run->unrecorded != NULL && c->run->unrecorded->len > 0) {
        g_string_append(out, "not recorded, servesim's value used:");
        for (guint i = 0; i < c->run->unrecorded->len; i++) {
            const char *p = g_ptr_array_index(c->run->unrecorded, i);
            g_autofree char *v = setting_value(c, p);
            g_string_append_printf(out, "%s %s %s", i ? "," : "", short_path(p), v);
        }
        g_string_append_c(out, '\n');
    }
    list(out, "flags replacing recorded settings:", c->run->overrides);
    list(out, "how the figures were read:", m->notes);
    g_string_append_printf(out, "\n%-22s %14s %14s %14s %10s\n", "metric", "measured", "simulated",
                           "sim - meas", "error");
    for (guint i = 0; i < c->figs->len; i++) {
        const fig *f = &g_array_index(c->figs, fig, i);
        g_autofree char *label =
            f->metric < CMP_NLAT
                ? g_strdup_printf("%s %s (ms)", lat_titles[f->metric], cmp_stat_names[f->stat])
                : g_strdup_printf("%s", tput_titles[f->metric - CMP_NLAT]);
        g_string_append_printf(out, "%-22s %14s %14s %14s %10s\n", label, fmt(b1, f->meas),
                               fmt(b2, f->sim), fmt_signed(b3, f->diff, ""),
                               fmt_signed(b4, f->err_pct, " %"));
    }
    if (c->have_req) {
        g_string_append_printf(out,
                               "\nper-request error, simulated vs measured (%% of measured):\n");
        g_string_append_printf(out, "%-8s %9s %10s %10s %10s %11s %14s\n", "metric", "requests",
                               "mean", "MAPE", "median", "p90 |err|", "corr");
        for (int l = 0; l < CMP_NLAT; l++) {
            if (l == CMP_ITL || c->pr[l].n == 0)
                continue;
            const perreq *p = &c->pr[l];
            char b5[BASE_FIXED_LEN], b6[BASE_FIXED_LEN];
            g_string_append_printf(out, "%-8s %9zu %10s %10s %10s %11s %14s\n", lat_titles[l], p->n,
                                   fmt_signed(b1, p->mean_err, " %"), fmt(b2, p->mape),
                                   fmt_signed(b3, p->p50_err, " %"), fmt(b4, p->p90_abs),
                                   base_fixed(b5, p->corr, 3));
            (void)b6;
        }
    }
    g_string_append(out, "\nverdict (pass: |error| <= threshold, on the mean, else the median):\n");
    for (int i = 0; i <= CMP_NLAT; i++) {
        const verdict *v = &c->v[i];
        const char *title = i < CMP_NLAT ? lat_titles[i] : "throughput";
        if (v->pass < 0) {
            g_string_append_printf(out, "  %-10s  --    not recorded in the measured result\n",
                                   title);
            continue;
        }
        const char *what = i < CMP_NLAT ? cmp_stat_names[v->stat] : tput_titles[v->tput];
        g_string_append_printf(out, "  %-10s  %s  %s on the %s (threshold %.0f %%)\n", title,
                               v->pass ? "PASS" : "FAIL", fmt_signed(b1, v->err_pct, " %"), what,
                               v->threshold);
    }
}

static json_t *
jr(double v)
{
    return base_json_real(v);
}

json_t *
cmp_report_json(const cmp_comparison *c)
{
    const cmp_result *m = c->m;
    json_t *o = json_object();
    json_object_set_new(o, "input", json_string(m->where));
    json_object_set_new(o, "kind", json_string(cmp_kind_name(m->kind)));
    json_object_set_new(o, "label", json_string(m->label));
    json_object_set_new(o, "engine", m->rec.engine ? json_string(m->rec.engine) : json_null());
    json_t *mc = json_object();
    json_object_set_new(mc, "completed", base_json_number(m->m.completed));
    json_object_set_new(mc, "failed", base_json_number(m->m.failed));
    json_object_set_new(o, "measured", mc);
    json_t *sr = json_object();
    json_object_set_new(sr, "model", json_string(c->run->model));
    json_object_set_new(sr, "hardware", json_string(c->run->hardware));
    json_object_set_new(sr, "num_gpu_blocks", json_integer(c->num_gpu_blocks));
    json_object_set_new(sr, "completed", base_json_number(c->s->m.completed));
    json_object_set_new(sr, "failed", base_json_number(c->s->m.failed));
    json_t *cfg = sim_config_to_json(&c->run->cfg);
    json_object_del(cfg, "outputs");
    json_object_set_new(sr, "config", cfg);
    json_object_set_new(o, "simulated", sr);
    json_t *a = json_array();
    for (guint i = 0; i < c->run->assumptions->len; i++)
        json_array_append_new(a, json_string(g_ptr_array_index(c->run->assumptions, i)));
    json_object_set_new(o, "assumptions", a);
    json_t *u = json_object();
    for (guint i = 0; c->run->unrecorded != NULL && i < c->run->unrecorded->len; i++) {
        const char *p = g_ptr_array_index(c->run->unrecorded, i);
        g_autofree char *v = setting_value(c, p);
        json_object_set_new(u, p, json_string(v));
    }
    json_object_set_new(o, "unrecorded", u);
    json_t *ov = json_array();
    for (guint i = 0; i < c->run->overrides->len; i++)
        json_array_append_new(ov, json_string(g_ptr_array_index(c->run->overrides, i)));
    json_object_set_new(o, "overrides", ov);
    json_t *notes = json_array();
    for (guint i = 0; i < m->notes->len; i++)
        json_array_append_new(notes, json_string(g_ptr_array_index(m->notes, i)));
    json_object_set_new(o, "notes", notes);
    json_t *figs = json_array();
    for (guint i = 0; i < c->figs->len; i++) {
        const fig *f = &g_array_index(c->figs, fig, i);
        json_t *x = json_object();
        json_object_set_new(x, "metric", json_string(metric_name(f->metric)));
        json_object_set_new(x, "stat",
                            f->stat >= 0 ? json_string(cmp_stat_names[f->stat]) : json_null());
        json_object_set_new(x, "unit", json_string(unit_of(f->metric)));
        json_object_set_new(x, "measured", jr(f->meas));
        json_object_set_new(x, "simulated", jr(f->sim));
        json_object_set_new(x, "diff", jr(f->diff));
        json_object_set_new(x, "error_pct", jr(f->err_pct));
        json_array_append_new(figs, x);
    }
    json_object_set_new(o, "figures", figs);
    json_t *pr = json_object();
    for (int l = 0; c->have_req && l < CMP_NLAT; l++) {
        if (l == CMP_ITL)
            continue;
        const perreq *p = &c->pr[l];
        json_t *x = json_object();
        json_object_set_new(x, "requests", json_integer((json_int_t)p->n));
        json_object_set_new(x, "mean_error_pct", jr(p->mean_err));
        json_object_set_new(x, "mape_pct", jr(p->mape));
        json_object_set_new(x, "median_error_pct", jr(p->p50_err));
        json_object_set_new(x, "p90_abs_error_pct", jr(p->p90_abs));
        json_object_set_new(x, "mean_abs_error_ms", jr(p->mean_abs_ms));
        json_object_set_new(x, "correlation", jr(p->corr));
        json_object_set_new(pr, cmp_lat_names[l], x);
    }
    json_object_set_new(o, "per_request", c->have_req ? pr : (json_decref(pr), json_null()));
    json_t *vs = json_array();
    for (int i = 0; i <= CMP_NLAT; i++) {
        const verdict *v = &c->v[i];
        json_t *x = json_object();
        json_object_set_new(x, "metric",
                            json_string(i < CMP_NLAT ? cmp_lat_names[i] : "throughput"));
        json_object_set_new(x, "judged_on",
                            v->pass < 0    ? json_null()
                            : i < CMP_NLAT ? json_string(cmp_stat_names[v->stat])
                                           : json_string(cmp_tput_names[v->tput]));
        json_object_set_new(x, "error_pct", jr(v->err_pct));
        json_object_set_new(x, "threshold_pct", jr(v->threshold));
        json_object_set_new(x, "verdict",
                            json_string(v->pass < 0 ? "not recorded"
                                        : v->pass   ? "pass"
                                                    : "fail"));
        json_array_append_new(vs, x);
    }
    json_object_set_new(o, "verdicts", vs);
    return o;
}

void
cmp_report_csv(GString *out, const cmp_comparison *c, bool header)
{
    if (header)
        g_string_append(out, "input,kind,metric,stat,unit,measured,simulated,diff,error_pct,"
                             "threshold_pct,verdict\n");
    for (guint i = 0; i < c->figs->len; i++) {
        const fig *f = &g_array_index(c->figs, fig, i);
        base_csv_put_field(out, c->m->where, true);
        base_csv_put_field(out, cmp_kind_name(c->m->kind), false);
        base_csv_put_field(out, metric_name(f->metric), false);
        base_csv_put_field(out, f->stat >= 0 ? cmp_stat_names[f->stat] : "", false);
        base_csv_put_field(out, unit_of(f->metric), false);
        base_csv_put_number(out, f->meas, false);
        base_csv_put_number(out, f->sim, false);
        base_csv_put_number(out, f->diff, false);
        base_csv_put_number(out, f->err_pct, false);
        const verdict *v = &c->v[f->metric < CMP_NLAT ? f->metric : CMP_NLAT];
        bool judged = f->metric < CMP_NLAT ? v->stat == f->stat : v->tput == f->metric - CMP_NLAT;
        base_csv_put_number(out, judged ? v->threshold : (double)NAN, false);
        base_csv_put_field(out, !judged || v->pass < 0 ? "" : v->pass ? "pass" : "fail", false);
        g_string_append_c(out, '\n');
    }
}

void
cmp_report_requests_csv(GString *out, const cmp_comparison *c, bool header)
{
    if (header)
        g_string_append(out, "input,request,input_tokens,output_tokens,measured_ttft_ms,"
                             "simulated_ttft_ms,measured_tpot_ms,simulated_tpot_ms,"
                             "measured_e2e_ms,simulated_e2e_ms\n");
    if (!c->have_req)
        return;
    const cmp_reqs *a = c->m->reqs, *b = c->s->reqs;
    for (size_t i = 0; i < a->n; i++) {
        base_csv_put_field(out, c->m->where, true);
        g_string_append_printf(out, ",%zu,%u,%u", i, a->input[i], a->output[i]);
        base_csv_put_number(out, a->ok[i] ? a->ttft_ms[i] : (double)NAN, false);
        base_csv_put_number(out, b->ok[i] ? b->ttft_ms[i] : (double)NAN, false);
        base_csv_put_number(out, a->ok[i] ? a->tpot_ms[i] : (double)NAN, false);
        base_csv_put_number(out, b->ok[i] ? b->tpot_ms[i] : (double)NAN, false);
        base_csv_put_number(out, a->ok[i] ? a->e2e_ms[i] : (double)NAN, false);
        base_csv_put_number(out, b->ok[i] ? b->e2e_ms[i] : (double)NAN, false);
        g_string_append_c(out, '\n');
    }
}
