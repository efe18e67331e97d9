/* report/view_compare.c: the view of `servesim compare` outputs (docs/compare.md §3): measured
 * against simulated per figure (TTFT / TPOT / ITL / E2E mean and percentiles, throughputs) with
 * the signed relative error and the pass thresholds, the verdicts, and, when the requests were
 * matched one to one, every request's measured and simulated TTFT, TPOT and E2E as scatter
 * plots around the line simulated = measured.
 *
 * It reads compare.json (the --json document, "format": "servesim-compare/1"; `compare
 * --output-dir` writes it) and the per-request CSV compare.json names (requests_file, next to
 * it). Figures and cells are copied as written; the only derived numbers are the ends of the
 * identity line and the thinning stride of very large per-request files. One section per
 * comparison (a dashboard CSV gives one per row), after an overview when there are several.
 *
 * A `compare A B` document (docs/compare.md §4: "regressions" instead of "comparisons") gets one
 * section per pair of points: B's change against A for every figure, with the 95 % bootstrap
 * interval as an error bar and the verdict as the colour. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "report/internal.h"

#define COMPARE_FORMAT "servesim-compare/1"
/* Sections drawn per compare.json (dashboard CSVs can hold hundreds of rows; the overview
 * table lists every one). */
#define MAX_SECTIONS 32
/* Requests per comparison in the scatter plots; more are thinned to every k-th request. */
#define MAX_REQUESTS 5000

static const char *const lat_metrics[] = {"ttft", "tpot", "itl", "e2e"};
static const char *const lat_titles[] = {"TTFT", "TPOT", "ITL", "E2E latency"};
static const char *const req_metrics[] = {"ttft", "tpot", "e2e"};
/* compare_requests.csv (cmp_report_requests_csv), in its order */
static const char *const req_cols[] = {"input",
                                       "request",
                                       "input_tokens",
                                       "output_tokens",
                                       "measured_ttft_ms",
                                       "simulated_ttft_ms",
                                       "measured_tpot_ms",
                                       "simulated_tpot_ms",
                                       "measured_e2e_ms",
                                       "simulated_e2e_ms",
                                       NULL};

static bool
header_starts(char *const *h, const char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (h[i] == NULL || strcmp(h[i], cols[i]) != 0)
            return false;
    return true;
}

int
rp__detect_compare(const rp_input *in, GError **error)
{
    if (in->header != NULL) {
        static const char *const figs[] = {"input", "kind", "metric", "stat", "unit", "measured"};
        if (header_starts(in->header, req_cols, 4) || header_starts(in->header, figs, 6)) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                        "%s: a CSV of `servesim compare`; the report reads compare.json (or the "
                        "directory of `compare --output-dir`), which names it",
                        in->path);
            return -1;
        }
        return 0;
    }
    if (!json_is_object(in->json))
        return 0;
    const char *f = rp__str(in->json, "format");
    bool cmp_keys = json_is_array(rp__get(in->json, "comparisons")) ||
                    json_is_array(rp__get(in->json, "regressions"));
    if (f == NULL && !cmp_keys)
        return 0;
    if (f == NULL) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: compare --json of an older servesim (no \"format\" key); run compare "
                    "--json again",
                    in->path);
        return -1;
    }
    if (!g_str_has_prefix(f, "servesim-compare/"))
        return 0;
    if (strcmp(f, COMPARE_FORMAT) != 0) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: format %s; this servesim reads " COMPARE_FORMAT, in->path, f);
        return -1;
    }
    if (json_is_array(rp__get(in->json, "regressions")))
        return 1;
    if (!json_is_array(rp__get(in->json, "comparisons"))) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: comparisons: expected an array",
                    in->path);
        return -1;
    }
    return 1;
}

/* ---- checking compare.json ----------------------------------------------------------------- */

static gboolean
bad(GError **error, const char *file, size_t ci, const char *what)
{
    g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: comparisons[%zu]: %s", file, ci, what);
    return FALSE;
}

static bool
num_or_null(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return v != NULL && (json_is_number(v) || json_is_null(v));
}

/* Every key the view reads has the type compare writes (docs/compare.md §3). */
static gboolean
check_comparison(const json_t *c, size_t ci, const char *file, GError **error)
{
    if (!json_is_object(c))
        return bad(error, file, ci, "expected an object");
    if (!json_is_string(json_object_get(c, "input")) || !json_is_string(json_object_get(c, "kind")))
        return bad(error, file, ci, "input, kind: expected strings");
    const json_t *figs = json_object_get(c, "figures"), *vs = json_object_get(c, "verdicts");
    if (!json_is_array(figs) || !json_is_array(vs))
        return bad(error, file, ci, "figures, verdicts: expected arrays");
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f) {
        const json_t *st = json_object_get(f, "stat");
        if (!json_is_string(json_object_get(f, "metric")) ||
            !json_is_string(json_object_get(f, "unit")) ||
            !(json_is_string(st) || json_is_null(st)) || !num_or_null(f, "measured") ||
            !num_or_null(f, "simulated") || !num_or_null(f, "diff") ||
            !num_or_null(f, "error_pct")) {
            g_autofree char *w = g_strdup_printf(
                "figures[%zu]: expected {metric, stat, unit, measured, simulated, diff, "
                "error_pct}",
                i);
            return bad(error, file, ci, w);
        }
    }
    json_array_foreach(vs, i, f) {
        const json_t *on = json_object_get(f, "judged_on");
        if (!json_is_string(json_object_get(f, "metric")) ||
            !json_is_string(json_object_get(f, "verdict")) ||
            !(json_is_string(on) || json_is_null(on)) || !num_or_null(f, "error_pct") ||
            !num_or_null(f, "threshold_pct")) {
            g_autofree char *w = g_strdup_printf(
                "verdicts[%zu]: expected {metric, judged_on, error_pct, threshold_pct, verdict}",
                i);
            return bad(error, file, ci, w);
        }
    }
    const json_t *pr = json_object_get(c, "per_request");
    if (pr != NULL && !json_is_null(pr) && !json_is_object(pr))
        return bad(error, file, ci, "per_request: expected an object or null");
    return TRUE;
}

/* ---- the per-request CSV -------------------------------------------------------------------- */

/* A CSV cell as the value it writes: integer, number or (empty) null; anything else is bad. */
static gboolean
cell(const base_csv *c, int col, json_t **out, GError **error)
{
    const char *s = base_csv_field(c, (size_t)col);
    int64_t i;
    double d;
    if (*s == '\0') {
        *out = json_null();
    } else if (base_parse_int64(s, &i)) {
        *out = json_integer((json_int_t)i);
    } else if (base_parse_double(s, &d) && isfinite(d)) {
        *out = json_real(d);
    } else {
        base_csv_set_error(c, col, error, "expected a number or nothing, got '%s'", s);
        return FALSE;
    }
    return TRUE;
}

/* Reads PATH into ROWS[i] (json arrays of request rows, fields req_cols[1..]) for the
 * comparison whose input is INPUTS[i]. */
static gboolean
read_requests(const char *path, GPtrArray *inputs, json_t **rows, GError **error)
{
    g_autoptr(base_csv) c = base_csv_open(path, ',', BASE_CSV_HEADER, error);
    if (c == NULL)
        return FALSE;
    int col[G_N_ELEMENTS(req_cols)];
    for (size_t i = 0; req_cols[i] != NULL; i++)
        if ((col[i] = base_csv_require_col(c, req_cols[i], error)) < 0)
            return FALSE;
    g_autoptr(GHashTable) idx = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < inputs->len; i++)
        g_hash_table_insert(idx, g_ptr_array_index(inputs, i), GUINT_TO_POINTER(i + 1));
    int more;
    while ((more = base_csv_next(c, error)) > 0) {
        const char *in = base_csv_field(c, (size_t)col[0]);
        guint k = GPOINTER_TO_UINT(g_hash_table_lookup(idx, in));
        if (k == 0) {
            base_csv_set_error(c, col[0], error, "'%s' is none of compare.json's comparisons", in);
            return FALSE;
        }
        json_t *r = json_array();
        for (size_t i = 1; req_cols[i] != NULL; i++) {
            json_t *v;
            if (!cell(c, col[i], &v, error)) {
                json_decref(r);
                return FALSE;
            }
            if (i <= 3 && !json_is_integer(v)) {
                json_decref(v);
                json_decref(r);
                base_csv_set_error(c, col[i], error, "expected a count, got '%s'",
                                   base_csv_field(c, (size_t)col[i]));
                return FALSE;
            }
            json_array_append_new(r, v);
        }
        json_array_append_new(rows[k - 1], r);
    }
    return more == 0;
}

/* ---- charts --------------------------------------------------------------------------------- */

static const char *
metric_title(const char *m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lat_metrics); i++)
        if (strcmp(m, lat_metrics[i]) == 0)
            return lat_titles[i];
    if (strcmp(m, "requests_per_s") == 0)
        return "requests/s";
    if (strcmp(m, "output_tokens_per_s") == 0)
        return "output tok/s";
    if (strcmp(m, "total_tokens_per_s") == 0)
        return "total tok/s";
    return m;
}

static const json_t *
verdict_of(const json_t *c, const char *metric)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c, "verdicts"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "metric")), metric) == 0)
            return v;
    }
    return NULL;
}

static bool
is_latency(const char *m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lat_metrics); i++)
        if (strcmp(m, lat_metrics[i]) == 0)
            return true;
    return false;
}

/* measured and simulated bars of METRIC's statistics (latencies) or of every throughput */
static json_t *
sides_chart(const char *metric, const char *ytitle)
{
    g_autofree char *flt = metric != NULL ? g_strdup_printf("datum.metric === '%s'", metric)
                                          : g_strdup("datum.stat === null");
    json_t *s = rp__vl_new("sides", metric != NULL ? 300 : 120, 200);
    json_object_set_new(s, "transform", json_pack("[{s:s}]", "filter", flt));
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_t *x = rp__vl_field(metric != NULL ? "stat:N" : "side:N", NULL);
    json_object_set_new(x, "sort", json_null());
    json_object_set_new(x, "title", metric != NULL ? json_string("statistic") : json_null());
    json_t *color = rp__vl_field("side:N", NULL);
    json_object_set_new(color, "scale",
                        json_pack("{s:[s, s], s:[s, s]}", "domain", "measured", "simulated",
                                  "range", "#5b6475", "#f58518"));
    json_t *enc =
        json_pack("{s:o, s:o, s:o, s:o}", "x", x, "y", rp__vl_field("value", ytitle), "color",
                  color, "tooltip",
                  rp__vl_tooltip((const char *const[]){"label:N", "figure", "side:N", "", "value",
                                                       "value", "unit:N", "unit", NULL}));
    if (metric != NULL)
        json_object_set_new(enc, "xOffset", rp__vl_field("side:N", NULL));
    json_object_set_new(s, "encoding", enc);
    if (metric != NULL)
        return s;
    /* throughputs: one small panel per figure, each with its own scale (req/s vs tok/s) */
    json_t *f = json_object();
    json_object_set_new(f, "$schema", json_deep_copy(json_object_get(s, "$schema")));
    json_object_set_new(f, "data", json_pack("{s:s}", "name", "sides"));
    json_object_set_new(f, "transform", json_deep_copy(json_object_get(s, "transform")));
    json_t *col = rp__vl_field("label:N", NULL);
    json_object_set_new(col, "sort", json_null());
    json_object_set_new(col, "title", json_null());
    json_object_set_new(f, "facet", json_pack("{s:o}", "column", col));
    json_object_del(s, "$schema");
    json_object_del(s, "data");
    json_object_del(s, "transform");
    json_object_set_new(f, "spec", s);
    json_object_set_new(f, "resolve", json_pack("{s:{s:s}}", "scale", "y", "independent"));
    return f;
}

/* One colour per metric, the same in every chart; the legend lists the metrics of PRESENT
 * (group titles, NULL-terminated; NULL = all). */
static json_t *
group_color(const char *field, const char *const *present)
{
    static const char *const groups[] = {"TTFT", "TPOT", "ITL", "E2E latency", "throughput"};
    static const char *const colours[] = {"#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d"};
    json_t *domain = json_array(), *range = json_array();
    for (size_t g = 0; g < G_N_ELEMENTS(groups); g++) {
        bool in = present == NULL;
        for (size_t k = 0; present != NULL && present[k] != NULL && !in; k++)
            in = strcmp(present[k], groups[g]) == 0;
        if (!in)
            continue;
        json_array_append_new(domain, json_string(groups[g]));
        json_array_append_new(range, json_string(colours[g]));
    }
    json_t *c = rp__vl_field(field, "metric");
    json_object_set_new(c, "scale", json_pack("{s:o, s:o}", "domain", domain, "range", range));
    return c;
}

/* signed relative error of every figure, with the metric's pass threshold as ticks at ± */
static json_t *
error_chart(size_t nfigs, const char *const *present)
{
    json_t *y = rp__vl_field("label:N", NULL);
    json_object_set_new(y, "sort", json_null());
    json_object_set_new(y, "title", json_null());
    json_t *tip = rp__vl_tooltip(
        (const char *const[]){"label:N", "figure", "measured", "measured", "simulated", "simulated",
                              "diff", "simulated − measured", "unit:N", "unit", "error_pct",
                              "error %", "threshold_pct", "threshold %", NULL});
    json_t *bar = json_pack("{s:{s:s, s:b}, s:{s:o, s:o, s:o, s:o}}", "mark", "type", "bar",
                            "tooltip", 1, "encoding", "y", y, "x",
                            rp__vl_field("error_pct", "simulated vs measured (% of measured)"),
                            "color", group_color("group:N", present), "tooltip", tip);
    json_t *zero = json_pack("{s:{s:[{s:i}]}, s:{s:s, s:s}, s:{s:{s:s, s:s}}}", "data", "values",
                             "x", 0, "mark", "type", "rule", "color", "#333", "encoding", "x",
                             "field", "x", "type", "quantitative");
    json_t *hi = json_pack("{s:{s:s, s:s, s:i}, s:{s:o, s:o}}", "mark", "type", "tick", "color",
                           "#d62728", "thickness", 2, "encoding", "y", json_deep_copy(y), "x",
                           rp__vl_field("threshold_pct", NULL));
    json_t *lo = json_deep_copy(hi);
    json_object_set_new(hi, "transform",
                        json_pack("[{s:s}]", "filter", "isValid(datum.threshold_pct)"));
    json_object_set_new(lo, "transform",
                        json_pack("[{s:s}, {s:s, s:s}]", "filter", "isValid(datum.threshold_pct)",
                                  "calculate", "-datum.threshold_pct", "as", "neg_threshold"));
    json_object_set_new(json_object_get(lo, "encoding"), "x", rp__vl_field("neg_threshold", NULL));
    int h = (int)(nfigs * 16 + 20);
    json_t *s = rp__vl_layers(420, h, json_pack("[o, o, o, o]", bar, hi, lo, zero));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "figures"));
    return s;
}

/* per request: simulated against measured METRIC, with the line simulated = measured */
static json_t *
scatter_chart(const char *metric, const char *title, double lo, double hi, bool logs)
{
    g_autofree char *mx = g_strdup_printf("measured_%s_ms", metric);
    g_autofree char *sy = g_strdup_printf("simulated_%s_ms", metric);
    g_autofree char *xt = g_strdup_printf("measured %s (ms)", title);
    g_autofree char *yt = g_strdup_printf("simulated %s (ms)", title);
    g_autofree char *valid = g_strdup_printf(
        "isValid(datum.%s) && isValid(datum.%s) && datum.%s > 0 && datum.%s > 0", mx, sy, mx, sy);
    g_autofree char *err = g_strdup_printf("(datum.%s - datum.%s) / datum.%s * 100", sy, mx, mx);
    /* both axes over [lo, hi]: the plot is square and the dashed line its diagonal */
    json_t *x = rp__vl_field(mx, xt), *y = rp__vl_field(sy, yt);
    json_t *axes[] = {x, y};
    for (size_t k = 0; k < 2; k++) {
        if (logs)
            rp__vl_log(axes[k]);
        else
            json_object_set_new(axes[k], "scale", json_object());
        json_object_set_new(json_object_get(axes[k], "scale"), "domain",
                            json_pack("[o, o]", rp__real(lo), rp__real(hi)));
    }
    json_t *tip = rp__vl_tooltip((const char *const[]){
        "request", "request", "input_tokens", "input tokens", "output_tokens", "output tokens", mx,
        "measured (ms)", sy, "simulated (ms)", "error_pct", "error %", NULL});
    json_t *pts = json_pack(
        "{s:[{s:s}, {s:s, s:s}], s:{s:s, s:b, s:f, s:i, s:b}, s:{s:o, s:o, s:o}}", "transform",
        "filter", valid, "calculate", err, "as", "error_pct", "mark", "type", "point", "filled", 1,
        "opacity", 0.55, "size", 18, "tooltip", 1, "encoding", "x", x, "y", y, "tooltip", tip);
    g_autofree char *flt = g_strdup_printf("datum.metric === '%s'", metric);
    json_t *ix = rp__vl_field("v", NULL), *iy = rp__vl_field("v", NULL);
    if (logs) {
        rp__vl_log(ix);
        rp__vl_log(iy);
    }
    json_t *line = json_pack("{s:{s:s}, s:[{s:s}], s:{s:s, s:s, s:[i, i]}, s:{s:o, s:o}}", "data",
                             "name", "identity", "transform", "filter", flt, "mark", "type", "line",
                             "color", "#d62728", "strokeDash", 4, 3, "encoding", "x", ix, "y", iy);
    json_t *s = rp__vl_layers(300, 280, json_pack("[o, o]", pts, line));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "requests"));
    return s;
}

/* ---- sections ------------------------------------------------------------------------------- */

static void
note_list(json_t *sec, const char *title, const json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v))
            rp__section_note(sec, "%s: %s", title, json_string_value(v));
    }
}

static json_t *
comparison_section(const json_t *c, json_t *reqs, const char *path)
{
    const char *input = json_string_value(json_object_get(c, "input"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    g_autofree char *title = g_strdup_printf("compare: %s (%s)", input, kind);
    json_t *sec = rp__section_new("compare", title, path);
    const json_t *sim = json_object_get(c, "simulated"), *meas = json_object_get(c, "measured");
    rp__section_note(sec, "Measured against simulated: error = (simulated − measured) / measured. "
                          "A metric passes when |error| ≤ its threshold, judged on the mean "
                          "(else the median); tails are shown, not judged (docs/compare.md).");
    const char *engine = rp__str(c, "engine");
    if (engine != NULL)
        rp__section_note(sec, "measured engine: %s", engine);
    if (json_is_object(sim))
        rp__section_note(sec, "simulated: %s on %s, %.0f KV blocks per replica",
                         rp__str(sim, "model") ? rp__str(sim, "model") : "?",
                         rp__str(sim, "hardware") ? rp__str(sim, "hardware") : "?",
                         rp__num(sim, "num_gpu_blocks"));
    note_list(sec, "assumed", json_object_get(c, "assumptions"));
    const json_t *un = json_object_get(c, "unrecorded");
    if (json_is_object(un) && json_object_size(un) > 0) {
        GString *g = g_string_new(NULL);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)un, k, v) {
            const char *dot = strrchr(k, '.');
            g_string_append_printf(g, "%s%s %s", g->len ? ", " : "", dot ? dot + 1 : k,
                                   json_is_string(v) ? json_string_value(v) : "?");
        }
        rp__section_note(sec, "not recorded, servesim's value used: %s", g->str);
        g_string_free(g, TRUE);
    }
    note_list(sec, "flag replacing a recorded setting", json_object_get(c, "overrides"));
    note_list(sec, "how the figures were read", json_object_get(c, "notes"));

    /* runs */
    json_t *runs = json_array();
    json_array_append_new(runs, json_pack("[s, o, o]", "completed requests",
                                          rp__copy(meas, "completed"), rp__copy(sim, "completed")));
    json_array_append_new(runs, json_pack("[s, o, o]", "failed requests", rp__copy(meas, "failed"),
                                          rp__copy(sim, "failed")));
    rp__section_table(sec, "Requests", json_pack("[s, s, s]", "", "measured", "simulated"), runs);

    /* figures */
    const json_t *figs = json_object_get(c, "figures");
    json_t *fr = rp__section_data(
        sec, "figures",
        (const char *const[]){"label", "metric", "group", "stat", "unit", "measured", "simulated",
                              "diff", "error_pct", "threshold_pct", "verdict", NULL});
    json_t *sr = rp__section_data(
        sec, "sides",
        (const char *const[]){"label", "metric", "stat", "unit", "side", "value", NULL});
    json_t *tr = json_array();
    bool have[G_N_ELEMENTS(lat_metrics)] = {false};
    bool tput = false;
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f) {
        const char *m = json_string_value(json_object_get(f, "metric"));
        const char *st = rp__str(f, "stat");
        const char *unit = json_string_value(json_object_get(f, "unit"));
        g_autofree char *label =
            st != NULL ? g_strdup_printf("%s %s", metric_title(m), st) : g_strdup(metric_title(m));
        const json_t *v = verdict_of(c, is_latency(m) ? m : "throughput");
        const char *on = v != NULL ? rp__str(v, "judged_on") : NULL;
        bool judged = on != NULL && strcmp(on, st != NULL ? st : m) == 0;
        json_t *thr = v != NULL ? rp__copy(v, "threshold_pct") : json_null();
        json_t *verdict = judged ? rp__copy(v, "verdict") : json_null();
        json_array_append_new(fr, json_pack("[s, s, s, o, s, o, o, o, o, O, O]", label, m,
                                            is_latency(m) ? metric_title(m) : "throughput",
                                            rp__copy(f, "stat"), unit, rp__copy(f, "measured"),
                                            rp__copy(f, "simulated"), rp__copy(f, "diff"),
                                            rp__copy(f, "error_pct"), thr, verdict));
        json_array_append_new(tr, json_pack("[s, s, o, o, o, o, O, o]", label, unit,
                                            rp__copy(f, "measured"), rp__copy(f, "simulated"),
                                            rp__copy(f, "diff"), rp__copy(f, "error_pct"),
                                            judged ? thr : json_null(), verdict));
        json_decref(thr);
        const char *sides[] = {"measured", "simulated"};
        for (size_t k = 0; k < 2; k++)
            json_array_append_new(sr, json_pack("[s, s, o, s, s, o]", label, m, rp__copy(f, "stat"),
                                                unit, sides[k], rp__copy(f, sides[k])));
        for (size_t l = 0; l < G_N_ELEMENTS(lat_metrics); l++)
            have[l] = have[l] || strcmp(m, lat_metrics[l]) == 0;
        tput = tput || !is_latency(m);
    }
    rp__section_table(sec, "Measured and simulated",
                      json_pack("[s, s, s, s, s, s, s, s]", "figure", "unit", "measured",
                                "simulated", "sim − meas", "error %", "threshold %", "verdict"),
                      tr);

    json_t *vr = json_array();
    json_array_foreach(json_object_get(c, "verdicts"), i, f) {
        json_array_append_new(vr, json_pack("[s, o, o, o, o]", metric_title(rp__str(f, "metric")),
                                            rp__copy(f, "judged_on"), rp__copy(f, "error_pct"),
                                            rp__copy(f, "threshold_pct"), rp__copy(f, "verdict")));
    }
    rp__section_table(
        sec, "Verdicts",
        json_pack("[s, s, s, s, s]", "metric", "judged on", "error %", "threshold %", "verdict"),
        vr);

    const json_t *pr = json_object_get(c, "per_request");
    if (json_is_object(pr) && json_object_size(pr) > 0) {
        json_t *rows = json_array();
        const char *k;
        json_t *p;
        json_object_foreach((json_t *)(uintptr_t)pr, k, p) {
            json_array_append_new(
                rows,
                json_pack("[s, o, o, o, o, o, o, o]", metric_title(k), rp__copy(p, "requests"),
                          rp__copy(p, "mean_error_pct"), rp__copy(p, "median_error_pct"),
                          rp__copy(p, "mape_pct"), rp__copy(p, "p90_abs_error_pct"),
                          rp__copy(p, "mean_abs_error_ms"), rp__copy(p, "correlation")));
        }
        rp__section_table(sec, "Per-request error (% of measured)",
                          json_pack("[s, s, s, s, s, s, s, s]", "metric", "requests", "mean",
                                    "median", "MAPE", "p90 |error|", "mean |error| (ms)",
                                    "correlation"),
                          rows);
    }

    const char *present[G_N_ELEMENTS(lat_metrics) + 2];
    size_t np = 0;
    for (size_t l = 0; l < G_N_ELEMENTS(lat_metrics); l++)
        if (have[l])
            present[np++] = lat_titles[l];
    if (tput)
        present[np++] = "throughput";
    present[np] = NULL;
    if (json_array_size(figs) > 0)
        rp__section_chart(sec, "Error per figure",
                          "simulated − measured in % of measured; red ticks: the metric's pass "
                          "threshold (±), judged on the mean",
                          error_chart(json_array_size(figs), present));
    /* per request */
    size_t n = reqs != NULL ? json_array_size(reqs) : 0;
    if (n > 0) {
        size_t stride = (n + MAX_REQUESTS - 1) / MAX_REQUESTS;
        json_t *rr = rp__section_data(sec, "requests", req_cols + 1);
        for (size_t r = 0; r < n; r += stride)
            json_array_append(rr, json_array_get(reqs, r));
        if (stride > 1)
            rp__section_note(sec, "per-request plots: every %zu-th of the %zu matched requests",
                             stride, n);
        json_t *ir = rp__section_data(sec, "identity", (const char *const[]){"metric", "v", NULL});
        for (size_t m = 0; m < G_N_ELEMENTS(req_metrics); m++) {
            /* the line simulated = measured over the range both sides span (positive values:
             * the scatter drops the others) */
            double lo = INFINITY, hi = -INFINITY;
            for (size_t r = 0; r < json_array_size(rr); r++) {
                const json_t *row = json_array_get(rr, r);
                const json_t *a = json_array_get(row, 3 + 2 * m),
                             *b = json_array_get(row, 4 + 2 * m);
                if (!json_is_number(a) || !json_is_number(b))
                    continue;
                double x = json_number_value(a), y = json_number_value(b);
                if (x <= 0 || y <= 0)
                    continue;
                lo = fmin(lo, fmin(x, y));
                hi = fmax(hi, fmax(x, y));
            }
            if (!(lo <= hi))
                continue;
            json_array_append_new(ir, json_pack("[s, o]", req_metrics[m], rp__real(lo)));
            json_array_append_new(ir, json_pack("[s, o]", req_metrics[m], rp__real(hi)));
            bool logs = hi / lo > 100.0;
            const char *t = metric_title(req_metrics[m]);
            g_autofree char *ct = g_strdup_printf("%s per request", t);
            rp__section_chart(sec, ct,
                              logs ? "simulated against measured, one point per request; dashed: "
                                     "simulated = measured; log scales"
                                   : "simulated against measured, one point per request; dashed: "
                                     "simulated = measured",
                              scatter_chart(req_metrics[m], t, lo, hi, logs));
        }
    } else if (json_is_object(pr)) {
        rp__section_note(sec,
                         "per-request values are not in %s: `compare --output-dir DIR` "
                         "writes them (compare_requests.csv) for the scatter plots",
                         path);
    }
    for (size_t l = 0; l < G_N_ELEMENTS(lat_metrics); l++) {
        if (!have[l])
            continue;
        g_autofree char *t = g_strdup_printf("%s: measured and simulated", lat_titles[l]);
        g_autofree char *yt = g_strdup_printf("%s (ms)", lat_titles[l]);
        rp__section_chart(sec, t, NULL, sides_chart(lat_metrics[l], yt));
    }
    if (tput)
        rp__section_chart(sec, "Throughput: measured and simulated", "each figure on its own scale",
                          sides_chart(NULL, "per second"));

    return sec;
}

/* Several comparisons (dashboard rows): the judged error of each metric per comparison. */
static json_t *
overview_section(const json_t *cs, const char *path)
{
    g_autofree char *title = g_strdup_printf("compare: %zu benchmark points", json_array_size(cs));
    json_t *sec = rp__section_new("compare", title, path);
    rp__section_note(sec, "Each point's judged error (on the mean, else the median; throughput "
                          "on output tok/s) against its threshold.");
    json_t *d =
        rp__section_data(sec, "verdicts",
                         (const char *const[]){"point", "input", "metric", "judged_on", "error_pct",
                                               "threshold_pct", "verdict", NULL});
    json_t *rows = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) {
        g_autofree char *point = g_strdup_printf("%zu", i + 1);
        json_t *row = json_pack("[s, O]", point, json_object_get(c, "input"));
        size_t j;
        json_t *v;
        json_array_foreach(json_object_get(c, "verdicts"), j, v) {
            json_array_append_new(
                d, json_pack("[s, O, s, o, o, o, o]", point, json_object_get(c, "input"),
                             metric_title(rp__str(v, "metric")), rp__copy(v, "judged_on"),
                             rp__copy(v, "error_pct"), rp__copy(v, "threshold_pct"),
                             rp__copy(v, "verdict")));
            json_array_append_new(row, rp__copy(v, "error_pct"));
        }
        json_array_append_new(rows, row);
    }
    rp__section_table(sec, "Judged error per point (%)",
                      json_pack("[s, s, s, s, s, s, s]", "point", "input", "TTFT", "TPOT", "ITL",
                                "E2E", "throughput"),
                      rows);
    json_t *s = rp__vl_new("verdicts", 460, 240);
    json_object_set_new(s, "transform", json_pack("[{s:s}]", "filter", "isValid(datum.error_pct)"));
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_t *x = rp__vl_field("point:N", "benchmark point");
    json_object_set_new(x, "sort", json_null());
    json_object_set_new(
        s, "encoding",
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "x", x, "xOffset", rp__vl_field("metric:N", NULL),
                  "y", rp__vl_field("error_pct", "error (% of measured)"), "color",
                  group_color("metric:N", NULL), "tooltip",
                  rp__vl_tooltip((const char *const[]){"input:N", "input", "metric:N", "metric",
                                                       "judged_on:N", "judged on", "error_pct",
                                                       "error %", "threshold_pct", "threshold %",
                                                       "verdict:N", "verdict", NULL})));
    rp__section_chart(sec, "Judged error per point", NULL, s);
    return sec;
}

/* ---- compare A B ----------------------------------------------------------------------------- */

static gboolean
bad_regression(GError **error, const char *file, size_t ri, const char *what)
{
    g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: regressions[%zu]: %s", file, ri, what);
    return FALSE;
}

/* Every key the view reads has the type compare A B writes (compare/regress.c). */
static gboolean
check_regression(const json_t *r, size_t ri, const char *file, GError **error)
{
    if (!json_is_object(r))
        return bad_regression(error, file, ri, "expected an object");
    if (!json_is_string(json_object_get(r, "a")) || !json_is_string(json_object_get(r, "b")))
        return bad_regression(error, file, ri, "a, b: expected strings");
    if (!json_is_boolean(json_object_get(r, "noise_known")) ||
        !json_is_boolean(json_object_get(r, "paired")) ||
        !json_is_integer(json_object_get(r, "bootstrap_resamples")))
        return bad_regression(error, file, ri,
                              "noise_known, paired: expected booleans; bootstrap_resamples: "
                              "expected an integer");
    const json_t *w = json_object_get(r, "warnings");
    if (w != NULL && !json_is_array(w))
        return bad_regression(error, file, ri, "warnings: expected an array");
    const json_t *figs = json_object_get(r, "figures");
    if (!json_is_array(figs))
        return bad_regression(error, file, ri, "figures: expected an array");
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f) {
        const json_t *st = json_object_get(f, "stat");
        if (!json_is_string(json_object_get(f, "metric")) ||
            !(json_is_string(st) || json_is_null(st)) || !num_or_null(f, "a") ||
            !num_or_null(f, "b") || !num_or_null(f, "change_pct") ||
            !num_or_null(f, "ci95_low_pct") || !num_or_null(f, "ci95_high_pct") ||
            !json_is_string(json_object_get(f, "verdict"))) {
            g_autofree char *m = g_strdup_printf(
                "figures[%zu]: expected {metric, stat, a, b, change_pct, ci95_low_pct, "
                "ci95_high_pct, verdict}",
                i);
            return bad_regression(error, file, ri, m);
        }
    }
    return TRUE;
}

/* "TTFT p99 (ms)", "requests/s": the label compare A B prints for a figure */
static char *
figure_label(const json_t *f)
{
    const char *m = json_string_value(json_object_get(f, "metric"));
    const char *st = rp__str(f, "stat");
    if (st != NULL && is_latency(m))
        return g_strdup_printf("%s %s (ms)", metric_title(m), st);
    return st != NULL ? g_strdup_printf("%s %s", metric_title(m), st) : g_strdup(metric_title(m));
}

/* B's change against A per figure: a bar, the 95 % interval as a rule across it, coloured by
 * the verdict (lower latency and higher throughput are better, so the colour, not the sign,
 * says which way is good). */
static json_t *
change_chart(size_t nfigs)
{
    json_t *y = rp__vl_field("label:N", NULL);
    json_object_set_new(y, "sort", json_null());
    json_object_set_new(y, "title", json_null());
    json_t *color = rp__vl_field("verdict:N", NULL);
    json_object_set_new(color, "scale",
                        json_pack("{s:[s, s, s, s, s, s], s:[s, s, s, s, s, s]}", "domain",
                                  "regressed", "improved", "within noise",
                                  "changed (noise unknown)", "unchanged", "n/a", "range", "#d62728",
                                  "#2ca02c", "#9e9e9e", "#f58518", "#bdbdbd", "#eeeeee"));
    json_t *tip = rp__vl_tooltip(
        (const char *const[]){"label:N", "figure", "a", "A", "b", "B", "change_pct", "change %",
                              "ci95_low_pct", "95 % interval low %", "ci95_high_pct",
                              "95 % interval high %", "verdict:N", "verdict", NULL});
    json_t *bar = json_pack("{s:{s:s, s:b}, s:{s:o, s:o, s:o, s:o}}", "mark", "type", "bar",
                            "tooltip", 1, "encoding", "y", y, "x",
                            rp__vl_field("change_pct", "change of B against A (% of A)"), "color",
                            color, "tooltip", tip);
    json_t *ci = json_pack("{s:[{s:s}], s:{s:s, s:s, s:i}, s:{s:o, s:o, s:o}}", "transform",
                           "filter", "isValid(datum.ci95_low_pct)", "mark", "type", "rule", "color",
                           "#222", "strokeWidth", 2, "encoding", "y", json_deep_copy(y), "x",
                           rp__vl_field("ci95_low_pct", NULL), "x2",
                           json_pack("{s:s}", "field", "ci95_high_pct"));
    json_t *zero = json_pack("{s:{s:[{s:i}]}, s:{s:s, s:s}, s:{s:{s:s, s:s}}}", "data", "values",
                             "x", 0, "mark", "type", "rule", "color", "#333", "encoding", "x",
                             "field", "x", "type", "quantitative");
    json_t *s = rp__vl_layers(420, (int)(nfigs * 16 + 20), json_pack("[o, o, o]", bar, ci, zero));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "changes"));
    return s;
}

static json_t *
regression_section(const json_t *r, const char *path)
{
    const char *a = json_string_value(json_object_get(r, "a"));
    const char *b = json_string_value(json_object_get(r, "b"));
    g_autofree char *title = g_strdup_printf("compare A B: %s → %s", a, b);
    json_t *sec = rp__section_new("compare", title, path);
    int boot = (int)json_integer_value(json_object_get(r, "bootstrap_resamples"));
    if (json_is_true(json_object_get(r, "noise_known")))
        rp__section_note(sec,
                         "Change = (B − A) / A. The interval is the 95 %% %s bootstrap interval "
                         "of the change (%d resamples of the requests); a change is regressed or "
                         "improved when it excludes 0, else within noise. Throughputs are one "
                         "number per run: their noise is unknown (docs/compare.md §4).",
                         json_is_true(json_object_get(r, "paired")) ? "paired" : "unpaired", boot);
    else
        rp__section_note(sec, "Change = (B − A) / A. A or B has no per-request figures, so the "
                              "noise is unknown and no change is judged (docs/compare.md §4).");
    note_list(sec, "warning", json_object_get(r, "warnings"));
    json_t *d =
        rp__section_data(sec, "changes",
                         (const char *const[]){"label", "metric", "stat", "a", "b", "change_pct",
                                               "ci95_low_pct", "ci95_high_pct", "verdict", NULL});
    json_t *rows = json_array();
    const json_t *figs = json_object_get(r, "figures");
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f) {
        g_autofree char *label = figure_label(f);
        json_array_append_new(
            d, json_pack("[s, O, o, o, o, o, o, o, O]", label, json_object_get(f, "metric"),
                         rp__copy(f, "stat"), rp__copy(f, "a"), rp__copy(f, "b"),
                         rp__copy(f, "change_pct"), rp__copy(f, "ci95_low_pct"),
                         rp__copy(f, "ci95_high_pct"), json_object_get(f, "verdict")));
        json_array_append_new(
            rows, json_pack("[s, o, o, o, o, o, O]", label, rp__copy(f, "a"), rp__copy(f, "b"),
                            rp__copy(f, "change_pct"), rp__copy(f, "ci95_low_pct"),
                            rp__copy(f, "ci95_high_pct"), json_object_get(f, "verdict")));
    }
    rp__section_table(sec, "B against A",
                      json_pack("[s, s, s, s, s, s, s]", "figure", "A", "B", "change %",
                                "95 % low %", "95 % high %", "verdict"),
                      rows);
    if (json_array_size(figs) > 0)
        rp__section_chart(sec, "Change of every figure, with its 95 % interval",
                          "red: worse beyond the noise; green: better beyond the noise; grey: "
                          "within the noise; orange: noise unknown",
                          change_chart(json_array_size(figs)));
    return sec;
}

static gboolean
build_regressions(rp_ctx *ctx, const rp_input *in, GError **error)
{
    const json_t *rs = json_object_get(in->json, "regressions");
    size_t n = json_array_size(rs);
    if (n == 0) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: regressions: empty (no point in common)",
                    in->path);
        return FALSE;
    }
    const json_t *um = json_object_get(in->json, "unmatched");
    if (um != NULL && !json_is_array(um)) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: unmatched: expected an array", in->path);
        return FALSE;
    }
    for (size_t i = 0; i < n; i++)
        if (!check_regression(json_array_get(rs, i), i, in->path, error))
            return FALSE;
    for (size_t i = 0; i < n && i < MAX_SECTIONS; i++) {
        json_t *sec = regression_section(json_array_get(rs, i), in->path);
        if (i == 0) {
            note_list(sec, "unmatched", um);
            if (n > MAX_SECTIONS)
                rp__section_note(sec, "a section for each of the first %d pairs (of %zu)",
                                 MAX_SECTIONS, n);
        }
        rp__ctx_add_section(ctx, sec);
    }
    return TRUE;
}

gboolean
rp__build_compare(rp_ctx *ctx, const rp_input *in, GError **error)
{
    if (json_is_array(json_object_get(in->json, "regressions")))
        return build_regressions(ctx, in, error);
    const json_t *cs = json_object_get(in->json, "comparisons");
    size_t n = json_array_size(cs);
    if (n == 0) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: comparisons: empty (nothing compared)",
                    in->path);
        return FALSE;
    }
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(cs, i);
        if (!check_comparison(c, i, in->path, error))
            return FALSE;
        g_ptr_array_add(inputs,
                        (gpointer)(uintptr_t)json_string_value(json_object_get(c, "input")));
    }
    g_autofree json_t **reqs = g_new0(json_t *, n);
    for (size_t i = 0; i < n; i++)
        reqs[i] = json_array();
    gboolean ok = TRUE;
    const json_t *rf = json_object_get(in->json, "requests_file");
    if (rf != NULL && !json_is_null(rf)) {
        const char *name = json_string_value(rf);
        if (name == NULL || *name == '\0' || strchr(name, '/') != NULL) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                        "%s: requests_file: expected a file name next to it", in->path);
            ok = FALSE;
        } else {
            g_autofree char *dir = g_path_get_dirname(in->path);
            g_autofree char *p = g_build_filename(dir, name, NULL);
            if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
                g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                            "%s: requests_file %s: no such file next to it", in->path, name);
                ok = FALSE;
            } else {
                ok = read_requests(p, inputs, reqs, error);
            }
        }
    }
    if (ok) {
        const json_t *sk = json_object_get(in->json, "skipped");
        if (n > 1 || json_array_size(sk) > 0) {
            json_t *ov = overview_section(cs, in->path);
            if (n > MAX_SECTIONS)
                rp__section_note(ov, "a section for each of the first %d points (of %zu)",
                                 MAX_SECTIONS, n);
            size_t i;
            json_t *w;
            json_array_foreach(sk, i, w) {
                if (json_is_string(w))
                    rp__section_note(ov, "skipped: %s", json_string_value(w));
            }
            rp__ctx_add_section(ctx, ov);
        }
        for (size_t i = 0; i < n && i < MAX_SECTIONS; i++)
            rp__ctx_add_section(ctx, comparison_section(json_array_get(cs, i), reqs[i], in->path));
    }
    for (size_t i = 0; i < n; i++)
        json_decref(reqs[i]);
    return ok;
}
