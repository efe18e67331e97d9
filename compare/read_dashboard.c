/* compare/read_dashboard.c: benchmark-dashboard CSVs (llm-d / RHAIIS performance dashboards,
 * docs/formats/benchmark-results.md): one benchmark point per row, one simulation per row.
 *
 * Run: accelerator, model, version, TP, replicas, prefill_pod_count / decode_pod_count
 * (disaggregated points are refused: P/D is not simulated), prompt toks and output toks (fixed
 * lengths; the benchmark forced them), intended concurrency (a closed loop: every request
 * ready at once, at most that many in flight, as vllm bench --max-concurrency), runtime_args
 * (vLLM engine arguments), successful_requests + errored_requests (the request count).
 * Figures: output_tok/sec, total_tok/sec, and any latency column named <metric>_<stat>[_unit]
 * (ttft_median, ttft_p95, tpot_median, itl_median, request_latency_median, ...), in ms unless
 * the name says otherwise. A row that cannot be read is "FILE:LINE: column NAME: why", or with
 * keep_going skipped and counted. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "compare/internal.h"

static bool
has_col(char *const *h, const char *name)
{
    for (size_t i = 0; h != NULL && h[i] != NULL; i++)
        if (strcmp(h[i], name) == 0)
            return true;
    return false;
}

static bool
dash_detect(const cmp__probe *p)
{
    return p->header != NULL && has_col(p->header, "accelerator") && has_col(p->header, "model") &&
           (has_col(p->header, "TP") || has_col(p->header, "intended concurrency"));
}

typedef struct cols {
    int accel, model, version, tp, replicas, ppods, dpods, isl, osl, conc, out_tps, total_tps, ok,
        err, args, uuid;
    GArray *lat; /* lat_col */
} cols;

typedef struct lat_col {
    int col;
    cmp_lat lat;
    int stat;
    double to_ms;
} lat_col;

/* Cell COL as a number; empty or absent = NAN. */
static gboolean
cell(const base_csv *c, int col, double *v, GError **error)
{
    *v = NAN;
    if (col < 0)
        return TRUE;
    const char *s = base_csv_field(c, (size_t)col);
    while (*s == ' ')
        s++;
    if (*s == '\0' || g_ascii_strcasecmp(s, "nan") == 0 || g_ascii_strcasecmp(s, "n/a") == 0)
        return TRUE;
    return base_csv_get_double(c, col, v, error);
}

static const char *
text(const base_csv *c, int col)
{
    return col >= 0 ? base_csv_field(c, (size_t)col) : "";
}

/* A whole number >= MIN in cell COL, or NAN when empty; else a row error. */
static gboolean
count_cell(const base_csv *c, int col, double min, double *v, GError **error)
{
    if (!cell(c, col, v, error))
        return FALSE;
    if (!isnan(*v) && (*v < min || *v > 1e9 || *v != floor(*v))) {
        base_csv_set_error(c, col, error, "expected a whole number >= %g, got %g", min, *v);
        return FALSE;
    }
    return TRUE;
}

static gboolean
read_row(const base_csv *c, const cols *k, cmp_result *r, GError **error)
{
    const char *model = text(c, k->model), *accel = text(c, k->accel);
    r->rec.model = *model != '\0' ? g_strdup(model) : NULL;
    r->rec.hardware = *accel != '\0' ? g_strdup(accel) : NULL;
    const char *ver = text(c, k->version);
    r->rec.engine = *ver != '\0' ? g_strdup(ver) : NULL;
    json_t *st = r->rec.settings;
    double tp, reps, pp, dp, isl, osl, conc, nok, nerr;
    if (!count_cell(c, k->tp, 1, &tp, error) || !count_cell(c, k->replicas, 1, &reps, error) ||
        !count_cell(c, k->ppods, 0, &pp, error) || !count_cell(c, k->dpods, 0, &dp, error) ||
        !count_cell(c, k->isl, 1, &isl, error) || !count_cell(c, k->osl, 1, &osl, error) ||
        !count_cell(c, k->conc, 1, &conc, error) || !count_cell(c, k->ok, 0, &nok, error) ||
        !count_cell(c, k->err, 0, &nerr, error))
        return FALSE;
    if (isl > WL_MAX_TOKENS || osl > WL_MAX_TOKENS) {
        base_csv_set_error(c, isl > WL_MAX_TOKENS ? k->isl : k->osl, error, "more than %d tokens",
                           WL_MAX_TOKENS);
        return FALSE;
    }
    if (!isnan(tp))
        cmp__set(st, "parallelism.tensor_parallel_size", json_integer((json_int_t)tp));
    if (!isnan(reps))
        cmp__set(st, "cluster.replicas", json_integer((json_int_t)reps));
    if ((pp > 0) || (dp > 0)) {
        r->rec.unmodeled = g_strdup_printf(
            "prefill/decode disaggregation (prefill_pod_count %g, decode_pod_count %g) is not "
            "simulated yet",
            isnan(pp) ? 0 : pp, isnan(dp) ? 0 : dp);
    }
    cmp__set(st, "workload.source", json_string("synthetic"));
    if (!isnan(isl)) {
        g_autofree char *v = g_strdup_printf("fixed:%.0f", isl);
        cmp__set(st, "workload.input_len", json_string(v));
    }
    if (!isnan(osl)) {
        g_autofree char *v = g_strdup_printf("fixed:%.0f", osl);
        cmp__set(st, "workload.output_len", json_string(v));
        cmp_result_assume(r, "output lengths fixed at 'output toks' (the benchmark forced them, "
                             "ignore_eos)");
    }
    if (!isnan(conc)) {
        cmp__set(st, "workload.max_concurrency", json_integer((json_int_t)conc));
        cmp__set(st, "workload.rate", json_null()); /* every request ready at once */
    } else {
        r->rec.load_unknown = true;
    }
    double n = (isnan(nok) ? 0 : nok) + (isnan(nerr) ? 0 : nerr);
    if (n >= 1) {
        cmp__set(st, "workload.num_requests", json_integer((json_int_t)n));
    } else {
        double guess = MAX(100, isnan(conc) ? 0 : 10 * conc);
        cmp__set(st, "workload.num_requests", json_integer((json_int_t)guess));
        cmp_result_assume(r,
                          "request count not recorded: %.0f requests (10 per concurrent slot, "
                          "at least 100)",
                          guess);
    }
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
    GError *e = NULL;
    if (!cmp__engine_args(st, text(c, k->args), ignored, &e)) {
        base_csv_set_error(c, k->args, error, "%s", e->message);
        g_error_free(e);
        return FALSE;
    }
    if (ignored->len > 0) {
        g_ptr_array_add(ignored, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)ignored->pdata);
        cmp_result_assume(r, "runtime_args not modelled: %s", list);
    }
    /* figures */
    for (guint i = 0; i < k->lat->len; i++) {
        const lat_col *lc = &g_array_index(k->lat, lat_col, i);
        double v;
        if (!cell(c, lc->col, &v, error))
            return FALSE;
        if (!isnan(v) && (!(v >= 0) || !isfinite(v))) {
            base_csv_set_error(c, lc->col, error, "not a latency (finite, >= 0): %g", v);
            return FALSE;
        }
        if (!isnan(v))
            r->m.lat_ms[lc->lat][lc->stat] = v * lc->to_ms;
    }
    double otps, ttps;
    if (!cell(c, k->out_tps, &otps, error) || !cell(c, k->total_tps, &ttps, error))
        return FALSE;
    if (otps >= 0 && isfinite(otps))
        r->m.tput[CMP_OUT_TOKS] = otps;
    if (ttps >= 0 && isfinite(ttps))
        r->m.tput[CMP_TOTAL_TOKS] = ttps;
    r->m.completed = nok;
    r->m.failed = nerr;
    if (!cmp_metrics_any(&r->m)) {
        cmp__error(error, CMP_ERROR_INVALID,
                   "%s: no usable metric (every latency and throughput cell is empty)", r->where);
        return FALSE;
    }
    g_free(r->label);
    r->label = g_strdup_printf("%s %s TP%s c=%s %s/%s", *model ? model : "?", *accel ? accel : "?",
                               *text(c, k->tp) ? text(c, k->tp) : "?",
                               *text(c, k->conc) ? text(c, k->conc) : "?", text(c, k->isl),
                               text(c, k->osl));
    return TRUE;
}

static gboolean
dash_read(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error)
{
    GError *e = NULL;
    g_autoptr(base_csv) c = base_csv_open(p->file, 0, BASE_CSV_HEADER, &e);
    if (c == NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    cols k = {
        .accel = base_csv_col(c, "accelerator"),
        .model = base_csv_col(c, "model"),
        .version = base_csv_col(c, "version"),
        .tp = base_csv_col(c, "TP"),
        .replicas = base_csv_col(c, "replicas"),
        .ppods = base_csv_col(c, "prefill_pod_count"),
        .dpods = base_csv_col(c, "decode_pod_count"),
        .isl = base_csv_col(c, "prompt toks"),
        .osl = base_csv_col(c, "output toks"),
        .conc = base_csv_col(c, "intended concurrency"),
        .out_tps = base_csv_col(c, "output_tok/sec"),
        .total_tps = base_csv_col(c, "total_tok/sec"),
        .ok = base_csv_col(c, "successful_requests"),
        .err = base_csv_col(c, "errored_requests"),
        .args = base_csv_col(c, "runtime_args"),
        .uuid = base_csv_col(c, "uuid"),
    };
    k.lat = g_array_new(FALSE, FALSE, sizeof(lat_col));
    for (size_t i = 0; i < base_csv_ncols(c); i++) {
        lat_col lc = {.col = (int)i};
        if (cmp__latency_col(base_csv_colname(c, i), true, &lc.lat, &lc.stat, &lc.to_ms))
            g_array_append_val(k.lat, lc);
    }
    gboolean ok = TRUE;
    int more;
    while ((more = base_csv_next(c, &e)) > 0) {
        g_autofree char *where =
            g_strdup_printf("%s:%" G_GUINT64_FORMAT, p->file, base_csv_lineno(c));
        g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_dashboard, where);
        GError *re = NULL;
        if (read_row(c, &k, r, &re)) {
            if (k.uuid >= 0 && *text(c, k.uuid) != '\0')
                cmp_result_note(r, "uuid %s", text(c, k.uuid));
            g_ptr_array_add(out, g_steal_pointer(&r));
            continue;
        }
        if (!o->keep_going) {
            cmp__propagate(error, re);
            ok = FALSE;
            break;
        }
        if (o->skipped != NULL)
            (*o->skipped)++;
        if (o->warnings != NULL)
            g_ptr_array_add(o->warnings, g_strdup(re->message));
        g_error_free(re);
    }
    if (ok && more < 0) {
        cmp__propagate(error, e);
        ok = FALSE;
    }
    g_array_free(k.lat, TRUE);
    return ok;
}

static gboolean
dash_mirror(
    const cmp_result *m, const cmp_run *run, const cmp_sim *sim, cmp_result *out, GError **error)
{
    (void)m;
    (void)error;
    g_autoptr(cmp_reqs) q = cmp__sim_reqs(sim, run, 0);
    cmp_metrics_fill_from_reqs(&out->m, q);
    return TRUE;
}

const cmp_kind cmp__kind_dashboard = {
    .name = "dashboard-csv",
    .what = "benchmark-dashboard CSV, one point per row (accelerator, model, TP, prompt toks, "
            "output toks, intended concurrency, ttft_median, ...)",
    .detect = dash_detect,
    .read = dash_read,
    .mirror = dash_mirror,
};
