/* report/view_sweep.c: views of `servesim sweep` and `servesim search` outputs (docs/sweep.md,
 * format servesim-sweep/1: a meta line with the definition, then one object per point).
 *   sweep (plain)     TTFT / TPOT / ITL / E2E percentiles against the load axis (rate or
 *                     concurrency, else the first numeric axis) with the SLO bounds as lines and,
 *                     when the report also has a find-max sweep over the same load, its limits
 *                     with their error bands; throughput, utilisation and KV peak against load;
 *   sweep --find-max  the SLA limit of every point with its band (step times × 1 ± e) and seed
 *                     range, and each SLO's value at the limit against its bound;
 *   search            Pareto fronts (tokens/s per GPU vs TTFT p99 and vs TPOT p99, USD per
 *                     million output tokens vs E2E p99) with every configuration's details on
 *                     hover, the ranked table and why the others were rejected.
 * Rows are copied as written (keys and numbers); a label and the load are added per row. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "report/internal.h"

#define SWEEP_FORMAT "servesim-sweep/1"
#define MAX_POINTS   2000

/* ---- detection --------------------------------------------------------------------------- */

static const json_t *
meta_of(const rp_input *in)
{
    return in->first != NULL ? in->first : in->json;
}

static int
detect_kind(const rp_input *in, const char *kind, GError **error)
{
    const json_t *m = meta_of(in);
    const char *f = rp__str(m, "format");
    if (f == NULL || !g_str_has_prefix(f, "servesim-sweep/"))
        return 0;
    const char *k = rp__str(m, "kind");
    if (k == NULL || strcmp(k, kind) != 0)
        return 0;
    if (strcmp(f, SWEEP_FORMAT) != 0) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: format %s; this servesim reads " SWEEP_FORMAT, in->path, f);
        return -1;
    }
    if (json_is_string(rp__get(m, "shard"))) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                    "%s: shard %s of a %s: join the shards with `servesim merge` first", in->path,
                    rp__str(m, "shard"), kind);
        return -1;
    }
    if (!rp__need_object(m, "definition", in->path, error))
        return -1;
    return 1;
}

int
rp__detect_sweep(const rp_input *in, GError **error)
{
    return detect_kind(in, "sweep", error);
}

int
rp__detect_search(const rp_input *in, GError **error)
{
    return detect_kind(in, "search", error);
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct sweep {
    json_t *meta;
    json_t *rows; /* array of point objects */
    const json_t *axes;
    const char *load; /* load axis name, or NULL */
    const char *find_max;
    size_t total;
    bool log_load; /* the load axis spans > 20× (1, 2, 4, ..., 256): drawn on a log scale */
} sweep;

static void
sweep_clear(sweep *s)
{
    json_decref(s->meta);
    json_decref(s->rows);
}

static gboolean
sweep_read(const char *path, sweep *s, GError **error)
{
    g_autoptr(base_lines) r = base_lines_open(path, error);
    if (r == NULL)
        return FALSE;
    s->rows = json_array();
    char *line;
    size_t len;
    while (base_lines_next(r, &line, &len, error)) {
        if (len == 0)
            continue;
        json_error_t je;
        json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
        if (j == NULL || !json_is_object(j)) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s:%" G_GUINT64_FORMAT ": %s", path,
                        base_lines_lineno(r), j == NULL ? je.text : "expected a JSON object");
            json_decref(j);
            return FALSE;
        }
        if (s->meta == NULL) {
            s->meta = j;
            continue;
        }
        if (!json_is_integer(json_object_get(j, "point"))) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                        "%s:%" G_GUINT64_FORMAT ": a point without \"point\"", path,
                        base_lines_lineno(r));
            json_decref(j);
            return FALSE;
        }
        s->total++;
        if (json_array_size(s->rows) < MAX_POINTS)
            json_array_append_new(s->rows, j);
        else
            json_decref(j);
    }
    if (error != NULL && *error != NULL)
        return FALSE;
    s->axes = rp__get(s->meta, "definition.axes");
    s->find_max = rp__str(s->meta, "definition.sla.find_max");
    return TRUE;
}

/* Short axis names for labels. */
static const char *
short_axis(const char *axis)
{
    static const struct {
        const char *path, *name;
    } names[] = {
        {"parallelism.tensor_parallel_size", "tp"},  {"parallelism.pipeline_parallel_size", "pp"},
        {"parallelism.data_parallel_size", "dp"},    {"parallelism.enable_expert_parallel", "ep"},
        {"workload.max_concurrency", "concurrency"}, {"workload.rate", "rate"}};

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (strcmp(axis, names[i].path) == 0)
            return names[i].name;
    const char *dot = strrchr(axis, '.');
    return dot != NULL ? dot + 1 : axis;
}

static void
append_value(GString *g, const json_t *v)
{
    if (json_is_string(v))
        g_string_append(g, json_string_value(v));
    else if (json_is_integer(v))
        g_string_append_printf(g, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        g_string_append_printf(g, "%.10g", json_real_value(v));
    else if (json_is_boolean(v))
        g_string_append(g, json_is_true(v) ? "on" : "off");
    else
        g_string_append(g, "auto");
}

/* "tp=4 replicas=2" from every axis but SKIP (may be NULL) with more than one value; names
 * (hardware, model) stand alone. */
static char *
label_of(const sweep *s, const json_t *row, const char *skip)
{
    GString *g = g_string_new(NULL);
    size_t i;
    json_t *ax;
    json_array_foreach(s->axes, i, ax) {
        const char *name = rp__str(ax, "axis");
        if (name == NULL || (skip != NULL && strcmp(name, skip) == 0))
            continue;
        if (json_array_size(json_object_get(ax, "values")) < 2)
            continue;
        if (g->len > 0)
            g_string_append_c(g, ' ');
        const char *sh = short_axis(name);
        if (strcmp(sh, "name") != 0)
            g_string_append_printf(g, "%s=", sh);
        append_value(g, json_object_get(row, name));
    }
    if (g->len == 0)
        g_string_append(g, skip != NULL ? "all points" : "point");
    return g_string_free(g, FALSE);
}

/* The load axis: rate or concurrency if swept, else the first axis with numeric values. */
static const char *
load_axis(const sweep *s)
{
    const char *first_num = NULL;
    size_t i;
    json_t *ax;
    json_array_foreach(s->axes, i, ax) {
        const char *name = rp__str(ax, "axis");
        if (name == NULL)
            continue;
        if (strcmp(name, "workload.rate") == 0 || strcmp(name, "workload.max_concurrency") == 0)
            return name;
        const json_t *r0 = json_array_get(s->rows, 0);
        if (first_num == NULL && json_is_number(json_object_get(r0, name)) &&
            json_array_size(json_object_get(ax, "values")) > 1)
            first_num = name;
    }
    return first_num;
}

/* The point rows as dataset NAME: every key of the first row, then "series" and "load". */
static void
points_data(json_t *sec, const char *name, const sweep *s, const char *load)
{
    const json_t *r0 = json_array_get(s->rows, 0);
    size_t nk = json_object_size(r0), k = 0;
    g_autofree const char **f = g_new(const char *, nk + 3);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)r0, key, v)
        f[k++] = key;
    f[k++] = "series";
    f[k++] = "load";
    f[k] = NULL;
    json_t *rows = rp__section_data(sec, name, f);
    size_t i;
    json_t *row;
    json_array_foreach(s->rows, i, row) {
        json_t *out = json_array();
        for (size_t c = 0; c < nk; c++) {
            json_t *x = json_object_get(row, f[c]);
            json_array_append_new(out, x != NULL ? json_deep_copy(x) : json_null());
        }
        g_autofree char *lab = label_of(s, row, load);
        json_array_append_new(out, json_string(lab));
        json_t *lv = load != NULL ? json_object_get(row, load) : NULL;
        json_array_append_new(out, lv != NULL ? json_deep_copy(lv) : json_null());
        json_array_append_new(rows, out);
    }
}

/* SLO terms "METRIC_STAT:MS" of the definition as dataset "slo" [metric, stat, bound_ms,
 * term]; other terms (goodput, failed, mlperf:, distserve) go to the notes. */
static size_t
slo_data(json_t *sec, const sweep *s)
{
    json_t *rows = rp__section_data(
        sec, "slo", (const char *const[]){"metric", "stat", "bound_ms", "term", NULL});
    const char *spec = rp__str(s->meta, "definition.sla.slo");
    if (spec == NULL)
        return 0;
    g_auto(GStrv) terms = g_strsplit(spec, ",", -1);
    size_t n = 0;
    for (size_t i = 0; terms[i] != NULL; i++) {
        char *t = g_strstrip(terms[i]);
        const char *colon = strchr(t, ':');
        const char *us = strchr(t, '_');
        double bound;
        static const char *const metrics[] = {"ttft", "tpot", "itl", "e2el", NULL};
        g_autofree char *metric = us != NULL ? g_strndup(t, (size_t)(us - t)) : NULL;
        if (colon != NULL && us != NULL && us < colon && metric != NULL &&
            g_strv_contains(metrics, metric) && base_parse_double(colon + 1, &bound)) {
            g_autofree char *stat = g_strndup(us + 1, (size_t)(colon - us - 1));
            json_array_append_new(rows, json_pack("[s, s, f, s]", metric, stat, bound, t));
            n++;
        } else if (*t != '\0') {
            rp__section_note(sec, "SLO term '%s' is not drawn as a line (see docs/sweep.md).", t);
        }
    }
    return n;
}

static json_t *
load_x(const char *title, bool logx)
{
    json_t *x = rp__vl_field("load", title);
    if (logx)
        rp__vl_log(x);
    return x;
}

/* Number of SLO terms on METRIC in dataset "slo" of SEC. */
static size_t
slo_terms(const json_t *sec, const char *metric)
{
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(rp__get(json_object_get(sec, "data"), "slo.rows"), i, t)
        n += strcmp(json_string_value(json_array_get(t, 0)), metric) == 0;
    return n;
}

static json_t *
latency_chart(const char *metric,
              const char *title,
              const char *load_title,
              bool multi,
              bool limits,
              bool slos,
              bool logy,
              bool logx)
{
    json_t *layers = json_array();
    json_t *lines = json_object();
    json_object_set_new(lines, "data", json_pack("{s:s}", "name", "points"));
    g_autofree char *p50 = g_strdup_printf("%s_p50_ms", metric);
    g_autofree char *p90 = g_strdup_printf("%s_p90_ms", metric);
    g_autofree char *p99 = g_strdup_printf("%s_p99_ms", metric);
    json_object_set_new(lines, "transform",
                        json_pack("[{s:s}, {s:[s, s, s], s:[s, s]}, {s:s, s:s}]", "filter",
                                  "isValid(datum.load)", "fold", p50, p90, p99, "as", "column",
                                  "ms", "calculate", "split(datum.column, '_')[1]", "as", "stat"));
    json_object_set_new(lines, "mark", rp__vl_mark("line", true));
    json_t *y = rp__vl_field("ms", title);
    if (logy) /* past saturation latencies grow 100-fold: the SLO line stays visible */
        rp__vl_log(y);
    json_t *enc = json_pack("{s:o, s:o, s:o}", "x", load_x(load_title, logx), "y", y, "tooltip",
                            rp__vl_tooltip((const char *const[]){
                                "series:N", "point", "load", load_title, "stat:N", "statistic",
                                "ms", "ms", "slo_met:N", "SLOs met", NULL}));
    if (multi) {
        json_object_set_new(enc, "color", rp__vl_field("series:N", "series"));
        json_object_set_new(enc, "strokeDash", rp__vl_field("stat:N", "statistic"));
    } else {
        json_object_set_new(enc, "color", rp__vl_field("stat:N", "statistic"));
    }
    json_object_set_new(lines, "encoding", enc);
    json_array_append_new(layers, lines);
    if (limits) {
        json_t *band = json_object();
        json_object_set_new(band, "data", json_pack("{s:s}", "name", "limits"));
        json_object_set_new(band, "mark",
                            json_pack("{s:s, s:f, s:s, s:b}", "type", "rect", "opacity", 0.15,
                                      "color", "#e45756", "tooltip", 1));
        json_object_set_new(band, "encoding",
                            json_pack("{s:o, s:{s:s}, s:o}", "x", rp__vl_field("lo", NULL), "x2",
                                      "field", "hi", "tooltip",
                                      rp__vl_tooltip((const char *const[]){
                                          "source:N", "find-max", "series:N", "point", "limit",
                                          "limit", "lo", "band low", "hi", "band high", NULL})));
        json_array_append_new(layers, band);
        json_t *rule = json_object();
        json_object_set_new(rule, "data", json_pack("{s:s}", "name", "limits"));
        json_object_set_new(
            rule, "mark",
            json_pack("{s:s, s:s, s:i}", "type", "rule", "color", "#e45756", "strokeWidth", 2));
        json_object_set_new(rule, "encoding", json_pack("{s:o}", "x", rp__vl_field("limit", NULL)));
        json_array_append_new(layers, rule);
    }
    if (!slos) /* a layer without rows has no extent */
        return rp__vl_layers(0, 0, layers);
    json_t *slo = json_object();
    json_object_set_new(slo, "data", json_pack("{s:s}", "name", "slo"));
    g_autofree char *flt = g_strdup_printf("datum.metric === '%s'", metric);
    json_object_set_new(slo, "transform", json_pack("[{s:s}]", "filter", flt));
    json_object_set_new(slo, "mark",
                        json_pack("{s:s, s:s, s:[i, i], s:b}", "type", "rule", "color", "#222222",
                                  "strokeDash", 6, 4, "tooltip", 1));
    json_object_set_new(slo, "encoding",
                        json_pack("{s:o, s:o}", "y", rp__vl_field("bound_ms", NULL), "tooltip",
                                  rp__vl_tooltip((const char *const[]){"term:N", "SLO", "bound_ms",
                                                                       "bound (ms)", NULL})));
    json_array_append_new(layers, slo);
    return rp__vl_layers(0, 0, layers);
}

/* Deletes the setting at dotted PATH from the configuration object J (when there). */
static void
del_setting(json_t *j, const char *path)
{
    const char *dot = strrchr(path, '.');
    g_autofree char *parent = dot != NULL ? g_strndup(path, (size_t)(dot - path)) : NULL;
    json_t *p = parent != NULL ? rp__get(j, parent) : j;
    if (json_is_object(p))
        json_object_del(p, dot != NULL ? dot + 1 : path);
}

static bool
is_axis(const sweep *s, const char *path)
{
    size_t i;
    json_t *ax;
    json_array_foreach(s->axes, i, ax) {
        const char *n = rp__str(ax, "axis");
        if (n != NULL && strcmp(n, path) == 0)
            return true;
    }
    return false;
}

static bool
same_value(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return a != NULL && b != NULL && json_equal(a, b);
}

/* The base configurations of P and F agree on every setting neither sweeps (nor the load). */
static bool
same_base(const sweep *p, const sweep *f, const char *load)
{
    json_auto_t *a = json_deep_copy(rp__get(p->meta, "definition.base"));
    json_auto_t *b = json_deep_copy(rp__get(f->meta, "definition.base"));
    const sweep *both[2] = {p, f};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *ax;
        json_array_foreach(both[k]->axes, i, ax) {
            del_setting(a, rp__str(ax, "axis"));
            del_setting(b, rp__str(ax, "axis"));
        }
    }
    del_setting(a, load);
    del_setting(b, load);
    return a != NULL && b != NULL && json_equal(a, b);
}

/* The row of plain sweep P with F's point R's settings (every axis of F), or NULL. */
static const json_t *
matching_row(const sweep *p, const sweep *f, const json_t *r)
{
    size_t i;
    json_t *row;
    json_array_foreach(p->rows, i, row) {
        bool ok = true;
        size_t k;
        json_t *ax;
        json_array_foreach(f->axes, k, ax) {
            const char *path = rp__str(ax, "axis");
            const json_t *mine = is_axis(p, path)
                                     ? json_object_get(row, path)
                                     : rp__get(rp__get(p->meta, "definition.base"), path);
            if (!same_value(mine, json_object_get(r, path))) {
                ok = false;
                break;
            }
        }
        if (ok)
            return row;
    }
    return NULL;
}

/* Limits of the find-max sweeps among the inputs whose load is P's LOAD axis and whose points
 * have the configuration of one of P's series, as dataset "limits". */
static size_t
limits_data(json_t *sec, rp_ctx *ctx, const sweep *p, const char *load, GError **error)
{
    const char *want = strcmp(load, "workload.rate") == 0              ? "rate"
                       : strcmp(load, "workload.max_concurrency") == 0 ? "concurrency"
                                                                       : NULL;
    if (want == NULL)
        return 0;
    json_t *rows = NULL;
    size_t n = 0;
    for (size_t i = 0; i < rp__ctx_ninputs(ctx); i++) {
        const rp_input *o = rp__ctx_input(ctx, i);
        if (o->kind == NULL || strcmp(o->kind->name, "sweep") != 0)
            continue;
        const char *fm = rp__str(meta_of(o), "definition.sla.find_max");
        if (fm == NULL || strcmp(fm, want) != 0)
            continue;
        sweep f = {0};
        if (!sweep_read(o->path, &f, error)) {
            sweep_clear(&f);
            return 0;
        }
        size_t matched = 0, k;
        json_t *r;
        json_array_foreach(f.rows, k, r) {
            const json_t *mine = same_base(p, &f, load) ? matching_row(p, &f, r) : NULL;
            if (!json_is_number(json_object_get(r, "limit")) || mine == NULL)
                continue;
            if (rows == NULL)
                rows = rp__section_data(sec, "limits",
                                        (const char *const[]){"source", "series", "limit", "lo",
                                                              "hi", "limit_status", NULL});
            g_autofree char *lab = label_of(p, mine, load);
            json_t *lo = json_object_get(r, "limit_slow_steps");
            json_t *hi = json_object_get(r, "limit_fast_steps");
            json_t *lim = json_object_get(r, "limit");
            json_array_append_new(rows, json_pack("[s, s, O, O, O, O?]", o->path, lab, lim,
                                                  json_is_number(lo) ? lo : lim,
                                                  json_is_number(hi) ? hi : lim,
                                                  json_object_get(r, "limit_status")));
            matched++;
        }
        if (matched == 0)
            rp__section_note(sec,
                             "%s: no find-max point has this sweep's configuration; its limits "
                             "are not drawn here.",
                             o->path);
        n += matched;
        sweep_clear(&f);
    }
    return n;
}

/* p50 .. p99 of METRIC spread over more than 50×: drawn on a log scale */
static bool
wide_range(const sweep *s, const char *metric)
{
    double lo = INFINITY, hi = 0;
    g_autofree char *p50 = g_strdup_printf("%s_p50_ms", metric);
    g_autofree char *p99 = g_strdup_printf("%s_p99_ms", metric);
    size_t i;
    json_t *r;
    json_array_foreach(s->rows, i, r) {
        double a = rp__num(r, p50), b = rp__num(r, p99);
        if (a < lo)
            lo = a;
        if (b > hi)
            hi = b;
    }
    return lo > 0 && isfinite(lo) && hi / lo > 50.0;
}

static void
plain_sweep(rp_ctx *ctx, json_t *sec, sweep *s, GError **error)
{
    const char *load = load_axis(s);
    points_data(sec, "points", s, load);
    double lo = INFINITY, hi = 0;
    size_t k0;
    json_t *r0;
    json_array_foreach(s->rows, k0, r0) {
        /* flat keys: "workload.max_concurrency" is one key of the row, not a path */
        json_t *lv = load != NULL ? json_object_get(r0, load) : NULL;
        double v = json_is_number(lv) ? json_number_value(lv) : (double)NAN;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    s->log_load = lo > 0 && isfinite(lo) && hi / lo > 20.0;
    slo_data(sec, s);
    if (load == NULL) {
        rp__section_note(sec, "No numeric axis to draw against: see the table.");
        return;
    }
    bool multi = false;
    size_t i;
    json_t *row;
    g_autofree char *first = NULL;
    json_array_foreach(s->rows, i, row) {
        g_autofree char *lab = label_of(s, row, load);
        if (first == NULL)
            first = g_strdup(lab);
        else if (strcmp(first, lab) != 0)
            multi = true;
    }
    size_t nlim = limits_data(sec, ctx, s, load, error);
    if (nlim > 0)
        rp__section_note(sec, "Shaded: the SLA limit found by find-max (the red line) and its band "
                              "(step times × 1 ± the calibration's error).");
    const char *lt = short_axis(load);

    static const struct {
        const char *metric, *title;
    } ms[] = {{"ttft", "TTFT (ms)"},
              {"tpot", "TPOT (ms)"},
              {"itl", "ITL (ms)"},
              {"e2el", "E2E latency (ms)"}};

    for (size_t k = 0; k < G_N_ELEMENTS(ms); k++) {
        g_autofree char *t = g_strdup_printf("%s vs %s", ms[k].title, lt);
        bool slos = slo_terms(sec, ms[k].metric) > 0;
        rp__section_chart(sec, t,
                          slos ? "p50, p90 and p99 of each point; dashed: the SLO bound"
                               : "p50, p90 and p99 of each point",
                          latency_chart(ms[k].metric, ms[k].title, lt, multi, nlim > 0, slos,
                                        wide_range(s, ms[k].metric), s->log_load));
    }
    json_t *c = rp__vl_new("points", 0, 0);
    json_object_set_new(c, "transform",
                        json_pack("[{s:[s, s], s:[s, s]}]", "fold", "output_throughput",
                                  "total_token_throughput", "as", "throughput", "tok_s"));
    json_object_set_new(c, "mark", rp__vl_mark("line", true));
    json_t *enc = json_pack(
        "{s:o, s:o, s:o, s:o}", "x", load_x(lt, s->log_load), "y",
        rp__vl_field("tok_s", "tokens / s"), "color", rp__vl_field("throughput:N", NULL), "tooltip",
        rp__vl_tooltip((const char *const[]){"series:N", "point", "load", lt, "throughput:N",
                                             "throughput", "tok_s", "tokens/s",
                                             "request_throughput", "requests/s", NULL}));
    if (multi)
        json_object_set_new(enc, "strokeDash", rp__vl_field("series:N", "series"));
    json_object_set_new(c, "encoding", enc);
    g_autofree char *tt = g_strdup_printf("Throughput vs %s", lt);
    rp__section_chart(sec, tt, "output and total (input + output) tokens per second", c);

    c = rp__vl_new("points", 0, 0);
    json_object_set_new(c, "transform",
                        json_pack("[{s:[s, s], s:[s, s]}]", "fold", "utilization", "kv_peak", "as",
                                  "figure", "value"));
    json_object_set_new(c, "mark", rp__vl_mark("line", true));
    json_t *y = rp__vl_field("value", "fraction");
    json_object_set_new(y, "axis", json_pack("{s:s}", "format", "%"));
    enc = json_pack("{s:o, s:o, s:o}", "x", load_x(lt, s->log_load), "y", y, "color",
                    rp__vl_field("figure:N", NULL));
    if (multi)
        json_object_set_new(enc, "strokeDash", rp__vl_field("series:N", "series"));
    json_object_set_new(c, "encoding", enc);
    g_autofree char *tu = g_strdup_printf("Utilisation and KV peak vs %s", lt);
    rp__section_chart(sec, tu, "mean busy fraction of the replicas; peak KV block usage", c);
}

static void
find_max_sweep(json_t *sec, const sweep *s)
{
    /* a single numeric axis is drawn as a line; otherwise one bar per point */
    const char *xaxis = load_axis(s);
    size_t naxes = 0;
    size_t i;
    json_t *ax;
    json_array_foreach(s->axes, i, ax)
        naxes += json_array_size(json_object_get(ax, "values")) > 1;
    bool numeric = xaxis != NULL && naxes == 1;
    points_data(sec, "points", s, numeric ? xaxis : NULL);
    size_t nslo = slo_data(sec, s);
    bool seeds_vary = false;
    json_t *r;
    json_array_foreach(s->rows, i, r)
        seeds_vary |= rp__num(r, "replicates") > 1;
    g_autofree char *unit =
        g_strdup_printf("SLA limit (%s)",
                        strcmp(s->find_max, "rate") == 0 ? "requests / s" : "concurrent requests");
    json_t *x = numeric ? rp__vl_field("load", short_axis(xaxis))
                        : json_pack("{s:s, s:s, s:s, s:n}", "field", "series", "type", "nominal",
                                    "title", "point", "sort");
    json_t *bars = json_object();
    json_object_set_new(bars, "mark",
                        json_pack("{s:s, s:b, s:b}", "type", numeric ? "line" : "bar", "point",
                                  numeric, "tooltip", 1));
    json_object_set_new(
        bars, "encoding",
        json_pack("{s:O, s:o, s:o}", "x", x, "y", rp__vl_field("limit", unit), "tooltip",
                  rp__vl_tooltip((const char *const[]){
                      "series:N", "point", "limit", "limit", "limit_status:N", "status",
                      "binding:N", "binding SLO", "limit_slow_steps", "band low",
                      "limit_fast_steps", "band high", "limit_seed_min", "seeds min",
                      "limit_seed_max", "seeds max", "probes", "probes", NULL})));
    json_t *err = json_object();
    json_object_set_new(
        err, "mark",
        json_pack("{s:s, s:s, s:i}", "type", "rule", "color", "#222", "strokeWidth", 2));
    json_object_set_new(err, "transform",
                        json_pack("[{s:s}]", "filter", "isValid(datum.limit_slow_steps)"));
    json_object_set_new(err, "encoding",
                        json_pack("{s:O, s:o, s:{s:s}}", "x", x, "y",
                                  rp__vl_field("limit_slow_steps", NULL), "y2", "field",
                                  "limit_fast_steps"));
    json_t *seeds = json_object();
    json_object_set_new(
        seeds, "mark",
        json_pack("{s:s, s:s, s:i}", "type", "tick", "color", "#f58518", "thickness", 2));
    json_object_set_new(seeds, "transform",
                        json_pack("[{s:s}, {s:[s, s], s:[s, s]}]", "filter", "datum.replicates > 1",
                                  "fold", "limit_seed_min", "limit_seed_max", "as", "seed",
                                  "value"));
    json_object_set_new(seeds, "encoding",
                        json_pack("{s:O, s:o}", "x", x, "y", rp__vl_field("value", NULL)));
    json_decref(x);
    json_t *spec = rp__vl_layers(0, 0, json_pack("[o, o]", bars, err));
    if (seeds_vary) /* an empty layer would have no extent */
        json_array_append_new(json_object_get(spec, "layer"), seeds);
    else
        json_decref(seeds);
    json_object_set_new(spec, "data", json_pack("{s:s}", "name", "points"));
    rp__section_chart(sec, "SLA limit per point",
                      "black: the band (limit with every step time × 1 + e and × 1 − e); orange "
                      "ticks: the range over seeds (--replicates)",
                      spec);
    if (nslo == 0)
        return;
    /* each SLO at the limit: value / bound (≤ 1 holds). Vega-Lite has no cross join of
     * points × SLO terms, so the rows are made here from the file's values */
    json_t *rows = rp__section_data(
        sec, "at_limit", (const char *const[]){"series", "term", "value_ms", "bound_ms", NULL});
    const json_t *slo = rp__get(json_object_get(sec, "data"), "slo.rows");
    json_array_foreach(s->rows, i, r) {
        g_autofree char *lab = label_of(s, r, NULL);
        size_t k;
        json_t *t;
        json_array_foreach(slo, k, t) {
            g_autofree char *col =
                g_strdup_printf("%s_%s_ms", json_string_value(json_array_get(t, 0)),
                                json_string_value(json_array_get(t, 1)));
            json_t *v = json_object_get(r, col);
            if (!json_is_number(v))
                continue;
            json_array_append_new(rows, json_pack("[s, O, O, O]", lab, json_array_get(t, 3), v,
                                                  json_array_get(t, 2)));
        }
    }
    json_t *c = rp__vl_new("at_limit", 0, 0);
    json_object_set_new(
        c, "transform",
        json_pack("[{s:s, s:s}]", "calculate", "datum.value_ms / datum.bound_ms", "as", "ratio"));
    json_t *bars2 = json_object();
    json_object_set_new(bars2, "mark", rp__vl_mark("bar", false));
    json_object_set_new(
        bars2, "encoding",
        json_pack("{s:{s:s, s:s, s:s, s:n}, s:o, s:o, s:o, s:o}", "x", "field", "series", "type",
                  "nominal", "title", "point", "sort", "xOffset", rp__vl_field("term:N", NULL), "y",
                  rp__vl_field("ratio", "value at the limit / bound"), "color",
                  rp__vl_field("term:N", "SLO"), "tooltip",
                  rp__vl_tooltip((const char *const[]){"series:N", "point", "term:N", "SLO",
                                                       "value_ms", "value (ms)", "bound_ms",
                                                       "bound (ms)", "ratio", "ratio", NULL})));
    json_t *one = json_pack("{s:{s:s, s:s, s:[i, i]}, s:{s:{s:f}}}", "mark", "type", "rule",
                            "color", "#222222", "strokeDash", 6, 4, "encoding", "y", "datum", 1.0);
    json_object_set_new(c, "layer", json_pack("[o, o]", bars2, one));
    rp__section_chart(sec, "Each SLO at the limit",
                      "the binding SLO is the one closest to 1 (the dashed line): the first to "
                      "break as load grows",
                      c);
}

static void
sweep_table(json_t *sec, const sweep *s, const char *const *cols, const char *title)
{
    json_t *tc = json_array();
    json_array_append_new(tc, json_string("point"));
    size_t i;
    json_t *ax;
    json_array_foreach(s->axes, i, ax) {
        if (json_array_size(json_object_get(ax, "values")) > 1)
            json_array_append_new(tc, json_string(short_axis(rp__str(ax, "axis"))));
    }
    for (size_t k = 0; cols[k] != NULL; k++)
        json_array_append_new(tc, json_string(cols[k]));
    json_t *rows = json_array();
    json_t *r;
    json_array_foreach(s->rows, i, r) {
        json_t *out = json_array();
        json_array_append_new(out, rp__copy(r, "point"));
        size_t a;
        json_array_foreach(s->axes, a, ax) {
            if (json_array_size(json_object_get(ax, "values")) > 1) {
                json_t *v = json_object_get(r, rp__str(ax, "axis"));
                json_array_append_new(out, v != NULL ? json_deep_copy(v) : json_null());
            }
        }
        for (size_t k = 0; cols[k] != NULL; k++) {
            json_t *v = json_object_get(r, cols[k]);
            json_array_append_new(out, v != NULL ? json_deep_copy(v) : json_null());
        }
        json_array_append_new(rows, out);
    }
    rp__section_table(sec, title, tc, rows);
}

gboolean
rp__build_sweep(rp_ctx *ctx, const rp_input *in, GError **error)
{
    sweep s = {0};
    if (!sweep_read(in->path, &s, error)) {
        sweep_clear(&s);
        return FALSE;
    }
    g_autofree char *title =
        g_strdup_printf("sweep%s: %s", s.find_max ? " (find-max)" : "", in->dir);
    json_t *sec = rp__section_new("sweep", title, in->path);
    if (s.total > json_array_size(s.rows))
        rp__section_note(sec, "%zu points; the first %d are shown.", s.total, MAX_POINTS);
    const char *slo = rp__str(s.meta, "definition.sla.slo");
    if (slo != NULL && *slo != '\0')
        rp__section_note(sec, "SLOs: %s", slo);
    GError *e = NULL;
    if (json_array_size(s.rows) == 0) {
        rp__section_note(sec, "No points.");
    } else if (s.find_max != NULL) {
        find_max_sweep(sec, &s);
        sweep_table(sec, &s,
                    (const char *const[]){"limit", "limit_status", "binding", "limit_slow_steps",
                                          "limit_fast_steps", "limit_seed_min", "limit_seed_max",
                                          "probes", "output_throughput", "ttft_p99_ms",
                                          "tpot_p99_ms", NULL},
                    "SLA limits");
    } else {
        plain_sweep(ctx, sec, &s, &e);
        sweep_table(sec, &s,
                    (const char *const[]){"slo_met", "binding", "request_throughput",
                                          "output_throughput", "ttft_p50_ms", "ttft_p99_ms",
                                          "tpot_p50_ms", "tpot_p99_ms", "e2el_p99_ms",
                                          "utilization", "kv_peak", NULL},
                    "Points");
    }
    sweep_clear(&s);
    if (e != NULL) {
        json_decref(sec);
        g_propagate_error(error, e);
        return FALSE;
    }
    rp__ctx_add_section(ctx, sec);
    return TRUE;
}

/* ---- search ------------------------------------------------------------------------------ */

static json_t *
pareto_chart(const char *xfield,
             const char *xtitle,
             const char *yfield,
             const char *ytitle,
             const char *front)
{
    json_t *tip = rp__vl_tooltip((const char *const[]){"config:N",
                                                       "configuration",
                                                       "rank",
                                                       "rank",
                                                       "gpus",
                                                       "GPUs",
                                                       "limit",
                                                       "SLA limit",
                                                       "output_throughput_per_gpu",
                                                       "output tok/s per GPU",
                                                       "usd_per_m_output_tokens",
                                                       "USD per M output tokens",
                                                       "ttft_p99_ms",
                                                       "TTFT p99 (ms)",
                                                       "tpot_p99_ms",
                                                       "TPOT p99 (ms)",
                                                       "e2el_p99_ms",
                                                       "E2E p99 (ms)",
                                                       "binding:N",
                                                       "binding SLO",
                                                       NULL});
    g_autofree char *valid = g_strdup_printf(
        "isValid(datum.rank) && isValid(datum['%s']) && isValid(datum['%s'])", xfield, yfield);
    json_t *pts = json_object();
    json_object_set_new(pts, "transform", json_pack("[{s:s}]", "filter", valid));
    json_object_set_new(
        pts, "mark",
        json_pack("{s:s, s:b, s:i, s:b}", "type", "point", "filled", 1, "size", 70, "tooltip", 1));
    json_object_set_new(pts, "encoding",
                        json_pack("{s:o, s:o, s:{s:s, s:s, s:s, s:{s:[b, b], s:[s, s]}}, s:o}", "x",
                                  rp__vl_field(xfield, xtitle), "y", rp__vl_field(yfield, ytitle),
                                  "color", "field", front, "type", "nominal", "title",
                                  "on the Pareto front", "scale", "domain", 1, 0, "range",
                                  "#e45756", "#9aa5b8", "tooltip", tip));
    json_t *line = json_object();
    g_autofree char *onf = g_strdup_printf("%s && datum['%s'] === true", valid, front);
    json_object_set_new(line, "transform", json_pack("[{s:s}]", "filter", onf));
    json_object_set_new(line, "mark",
                        json_pack("{s:s, s:s, s:s}", "type", "line", "color", "#e45756",
                                  "interpolate", "step-after"));
    json_object_set_new(line, "encoding",
                        json_pack("{s:o, s:o, s:o}", "x", rp__vl_field(xfield, NULL), "y",
                                  rp__vl_field(yfield, NULL), "order", rp__vl_field(xfield, NULL)));
    json_t *s = rp__vl_layers(0, 0, json_pack("[o, o]", line, pts));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "configs"));
    return s;
}

gboolean
rp__build_search(rp_ctx *ctx, const rp_input *in, GError **error)
{
    sweep s = {0};
    if (!sweep_read(in->path, &s, error)) {
        sweep_clear(&s);
        return FALSE;
    }
    g_autofree char *title = g_strdup_printf("search: %s", in->dir);
    json_t *sec = rp__section_new("search", title, in->path);
    const char *slo = rp__str(s.meta, "definition.sla.slo");
    bool has_slo = slo != NULL && *slo != '\0';
    rp__section_note(sec, "%zu configurations within a budget of %.0f GPUs%s%s.", s.total,
                     rp__num(s.meta, "definition.gpus"), has_slo ? "; SLOs: " : "",
                     has_slo ? slo : "");
    if (s.total > json_array_size(s.rows))
        rp__section_note(sec, "The first %d rows are shown (ranked rows come first).", MAX_POINTS);
    if (json_array_size(s.rows) == 0) {
        rp__section_note(sec, "No configurations.");
        sweep_clear(&s);
        rp__ctx_add_section(ctx, sec);
        return TRUE;
    }
    points_data(sec, "configs", &s, NULL);
    /* the label is "series" in points_data; search calls it config */
    json_t *f = rp__get(json_object_get(sec, "data"), "configs.fields");
    json_array_set_new(f, json_array_size(f) - 2, json_string("config"));

    json_t *ranked = json_array(), *rejected = json_array();
    GHashTable *by_stage = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t i;
    json_t *r;
    json_array_foreach(s.rows, i, r) {
        g_autofree char *lab = label_of(&s, r, NULL);
        if (json_is_integer(json_object_get(r, "rank"))) {
            json_array_append_new(
                ranked,
                json_pack("[o, s, o, o, o, o, o, o, o, o, o, o]", rp__copy(r, "rank"), lab,
                          rp__copy(r, "gpus"), rp__copy(r, "limit"),
                          rp__copy(r, "output_throughput_per_gpu"),
                          rp__copy(r, "usd_per_m_output_tokens"), rp__copy(r, "ttft_p99_ms"),
                          rp__copy(r, "tpot_p99_ms"), rp__copy(r, "e2el_p99_ms"),
                          rp__copy(r, "pareto_tput_ttft"), rp__copy(r, "pareto_tput_tpot"),
                          rp__copy(r, "pareto_cost_e2el")));
            continue;
        }
        const char *stage = rp__str(r, "stage");
        const char *reason = rp__str(r, "reason");
        if (stage == NULL)
            stage = "?";
        gpointer n = g_hash_table_lookup(by_stage, stage);
        if (n == NULL)
            json_array_append_new(rejected, json_pack("[s, i, s, s?]", stage, 0, lab, reason));
        g_hash_table_insert(by_stage, g_strdup(stage), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(n) + 1));
    }
    /* counts per stage, in first-seen order */
    json_t *t;
    json_array_foreach(rejected, i, t) {
        const char *stage = json_string_value(json_array_get(t, 0));
        json_array_set_new(
            t, 1, json_integer((json_int_t)GPOINTER_TO_SIZE(g_hash_table_lookup(by_stage, stage))));
    }
    g_hash_table_destroy(by_stage);
    rp__section_table(sec, "Ranked configurations",
                      json_pack("[s, s, s, s, s, s, s, s, s, s, s, s]", "rank", "configuration",
                                "GPUs", "SLA limit", "output tok/s per GPU", "USD / M output tok",
                                "TTFT p99 (ms)", "TPOT p99 (ms)", "E2E p99 (ms)",
                                "Pareto tput-TTFT", "Pareto tput-TPOT", "Pareto cost-E2E"),
                      ranked);
    if (json_array_size(rejected) > 0)
        rp__section_table(sec, "Rejected configurations",
                          json_pack("[s, s, s, s]", "stage", "count", "first one", "its reason"),
                          rejected);
    else
        json_decref(rejected);
    rp__section_chart(sec, "Pareto front: throughput per GPU vs TTFT p99",
                      "up and to the left is better; red: no other configuration is at least as "
                      "good in both and better in one",
                      pareto_chart("ttft_p99_ms", "TTFT p99 (ms)", "output_throughput_per_gpu",
                                   "output tokens/s per GPU", "pareto_tput_ttft"));
    rp__section_chart(sec, "Pareto front: throughput per GPU vs TPOT p99", NULL,
                      pareto_chart("tpot_p99_ms", "TPOT p99 (ms)", "output_throughput_per_gpu",
                                   "output tokens/s per GPU", "pareto_tput_tpot"));
    rp__section_chart(sec, "Pareto front: cost vs E2E latency p99",
                      "down and to the left is better (USD per million output tokens at the "
                      "SLA limit)",
                      pareto_chart("e2el_p99_ms", "E2E p99 (ms)", "usd_per_m_output_tokens",
                                   "USD per million output tokens", "pareto_cost_e2el"));
    sweep_clear(&s);
    rp__ctx_add_section(ctx, sec);
    return TRUE;
}
