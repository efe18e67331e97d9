/* tests/cli/test_report.c: `servesim report` and `run --report` end to end. The report's
 * embedded document is parsed back out of the HTML and its numbers compared with the sources:
 * tables against summary.json (equal values), CDF points against summary.json's percentiles
 * (the same NumPy definition), histogram counts against a recount of requests.csv, time series
 * against totals summed independently from requests.csv and summary.json, estimate / sweep /
 * search / DSA data against the files' own values. Also: byte-identical determinism, the size
 * bound for a large run, and one-line exit-2 errors with no HTML left for bad input. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"

#define FIXTURES SERVESIM_SOURCE_DIR "/tests/report/data"
/* docs/report.md: the page of any run stays under this (library ≈ 0.86 MB + bounded data) */
#define REPORT_MAX_BYTES 1200000

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-report-cli-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 600);

static char *
path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static json_t *
load_json(const char *p)
{
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    cr_assert_not_null(j, "%s: %s", p, e.text);
    return j;
}

/* The report document embedded in the page at P. */
static json_t *
report_doc(const char *p)
{
    g_autofree char *html = NULL;
    cr_assert(g_file_get_contents(p, &html, NULL, NULL), "%s missing", p);
    const char *open = "<script type=\"application/json\" id=\"servesim-report\">";
    const char *a = strstr(html, open);
    cr_assert_not_null(a, "no report document in %s", p);
    a += strlen(open);
    const char *z = strstr(a, "</script>");
    cr_assert_not_null(z);
    json_error_t e;
    json_t *j = json_loadb(a, (size_t)(z - a), 0, &e);
    cr_assert_not_null(j, "report document: %s", e.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "format")), "servesim-report/1");
    return j;
}

static const json_t *
section(const json_t *doc, size_t i, const char *kind)
{
    const json_t *s = json_array_get(json_object_get(doc, "sections"), i);
    cr_assert_not_null(s, "no section %zu", i);
    cr_assert_str_eq(json_string_value(json_object_get(s, "kind")), kind);
    return s;
}

/* Dataset NAME of section S: its rows; *FIELD_INDEX(name) through col(). */
static const json_t *
data_rows(const json_t *s, const char *name)
{
    const json_t *d = json_object_get(json_object_get(s, "data"), name);
    cr_assert_not_null(d, "no dataset %s", name);
    return json_object_get(d, "rows");
}

static int
col(const json_t *s, const char *data, const char *field)
{
    const json_t *f = json_object_get(json_object_get(json_object_get(s, "data"), data), "fields");
    for (size_t i = 0; i < json_array_size(f); i++)
        if (strcmp(json_string_value(json_array_get(f, i)), field) == 0)
            return (int)i;
    cr_assert_fail("dataset %s has no field %s", data, field);
    return -1;
}

static const json_t *
table(const json_t *s, const char *title)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "tables"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "title")), title) == 0)
            return json_object_get(t, "rows");
    }
    cr_assert_fail("no table %s", title);
    return NULL;
}

static double
num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* ---- requests.csv read by the test (independently of report/) ----------------------------- */

typedef struct req {
    double send, sched, fin, ttft, tpot, e2el, queue;
    double prompt, output;
    int failed;
} req;

static double
cell(char **f, GHashTable *idx, const char *name)
{
    gpointer p;
    if (!g_hash_table_lookup_extended(idx, name, NULL, &p))
        cr_assert_fail("requests.csv: no column %s", name);
    const char *s = f[GPOINTER_TO_INT(p)];
    return *s ? g_ascii_strtod(s, NULL) : (double)NAN;
}

static GArray *
read_requests(const char *p)
{
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(p, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) head = g_strsplit(lines[0], ",", -1);
    GHashTable *idx = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; head[i] != NULL; i++)
        g_hash_table_insert(idx, head[i], GINT_TO_POINTER(i));
    GArray *a = g_array_new(FALSE, FALSE, sizeof(req));
    for (size_t i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
        req r = {cell(f, idx, "send_ms"),       cell(f, idx, "first_scheduled_ms"),
                 cell(f, idx, "finish_ms"),     cell(f, idx, "ttft_ms"),
                 cell(f, idx, "tpot_ms"),       cell(f, idx, "e2el_ms"),
                 cell(f, idx, "queue_ms"),      cell(f, idx, "prompt_tokens"),
                 cell(f, idx, "output_tokens"), (int)cell(f, idx, "failed")};
        g_array_append_val(a, r);
    }
    g_hash_table_destroy(idx);
    return a;
}

/* Σ over the buckets of a time series of VALUE × bucket length (s); buckets start at t_s and
 * the last one ends at END_S. */
static double
series_integral(const json_t *s, const char *data, const char *field, double end_s)
{
    const json_t *rows = data_rows(s, data);
    int ct = col(s, data, "t_s"), cv = col(s, data, field);
    double total = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        double t = num(json_array_get(json_array_get(rows, i), (size_t)ct));
        double t2 = i + 1 < json_array_size(rows)
                        ? num(json_array_get(json_array_get(rows, i + 1), (size_t)ct))
                        : end_s;
        total += num(json_array_get(json_array_get(rows, i), (size_t)cv)) * (t2 - t);
    }
    return total;
}

static void
expect_close(double got, double want, double rel, const char *what)
{
    cr_expect(fabs(got - want) <= rel * fabs(want) + 1e-9, "%s: report %.12g, source %.12g", what,
              got, want);
}

/* ---- a run --------------------------------------------------------------------------------- */

Test(report, run_report_holds_the_numbers_of_its_outputs)
{
    g_autofree char *out = path("run");
    clirun r = clirun_exec("run", "--workload", "synthetic", "--num-requests", "600", "--rate", "6",
                           "--replicas", "2", "--warmup", "10", "--steps", "--report",
                           "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *html = g_build_filename(out, "report.html", NULL);
    g_autofree char *sp = g_build_filename(out, "summary.json", NULL);
    g_autofree char *rq = g_build_filename(out, "requests.csv", NULL);
    json_auto_t *doc = report_doc(html);
    json_auto_t *sum = load_json(sp);
    const json_t *s = section(doc, 0, "run");
    const json_t *m = json_object_get(sum, "metrics");
    const json_t *lat = json_object_get(m, "latency_ms");

    /* the latency table is summary.json's, value for value */
    const json_t *lt = table(s, "Latency and lengths (summary.json)");
    const char *const keys[] = {"count", "mean", "std", "min", "p50", "p90", "p95", "p99", "max"};
    const json_t *srcs[] = {json_object_get(lat, "ttft"), json_object_get(lat, "tpot"),
                            json_object_get(lat, "itl"), json_object_get(lat, "e2el"),
                            json_object_get(lat, "queueing")};
    for (size_t i = 0; i < G_N_ELEMENTS(srcs); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
            cr_expect(json_equal(json_array_get(json_array_get(lt, i), k + 1),
                                 json_object_get(srcs[i], keys[k])),
                      "row %zu %s", i, keys[k]);

    /* CDF points at the summary's percentiles equal the summary's values: both are NumPy's
     * linear interpolation over the same requests (successful, after the 10 s warm-up) */
    const json_t *cdf = data_rows(s, "cdf");
    int cm = col(s, "cdf", "metric"), cp = col(s, "cdf", "pct"), cv = col(s, "cdf", "ms");
    const char *const metrics[] = {"ttft", "tpot", "e2el", "queueing"};

    const struct {
        double pct;
        const char *key;
    } pts[] = {{0, "min"}, {50, "p50"}, {90, "p90"}, {95, "p95"}, {99, "p99"}, {100, "max"}};

    int matched = 0;
    for (size_t i = 0; i < json_array_size(cdf); i++) {
        const json_t *row = json_array_get(cdf, i);
        const char *metric = json_string_value(json_array_get(row, (size_t)cm));
        for (size_t k = 0; k < G_N_ELEMENTS(pts); k++) {
            if (num(json_array_get(row, (size_t)cp)) != pts[k].pct)
                continue;
            for (size_t q = 0; q < G_N_ELEMENTS(metrics); q++) {
                if (strcmp(metric, metrics[q]) != 0)
                    continue;
                double want = num(json_object_get(json_object_get(lat, metric), pts[k].key));
                double got = num(json_array_get(row, (size_t)cv));
                /* TPOT: requests.csv rounds each request's TPOT to the ns, summary.json not */
                double tol = strcmp(metric, "tpot") == 0 ? 1e-6 : 0;
                cr_expect(fabs(got - want) <= tol + 1e-9 * fabs(want), "%s %s: %.12g vs %.12g",
                          metric, pts[k].key, got, want);
                matched++;
            }
        }
    }
    cr_expect_eq(matched, 24, "every metric × percentile found once");

    /* histogram counts: recount requests.csv between the printed edges */
    GArray *reqs = read_requests(rq);
    double warm_ms = 10000.0;
    const json_t *hist = data_rows(s, "hist");
    int hm = col(s, "hist", "metric"), hl = col(s, "hist", "lo"), hh = col(s, "hist", "hi"),
        hc = col(s, "hist", "count");
    const char *const hm_names[] = {"ttft", "e2el", "prompt", "output"};
    for (size_t q = 0; q < G_N_ELEMENTS(hm_names); q++) {
        size_t first = SIZE_MAX, last = 0;
        for (size_t i = 0; i < json_array_size(hist); i++)
            if (strcmp(json_string_value(json_array_get(json_array_get(hist, i), (size_t)hm)),
                       hm_names[q]) == 0) {
                if (first == SIZE_MAX)
                    first = i;
                last = i;
            }
        cr_assert(first != SIZE_MAX, "no %s histogram", hm_names[q]);
        uint64_t total = 0;
        for (size_t i = first; i <= last; i++) {
            const json_t *b = json_array_get(hist, i);
            double lo = num(json_array_get(b, (size_t)hl)), hi = num(json_array_get(b, (size_t)hh));
            uint64_t n = 0;
            for (guint k = 0; k < reqs->len; k++) {
                const req *x = &g_array_index(reqs, req, k);
                if (x->failed || x->send < warm_ms)
                    continue;
                double v = q == 0 ? x->ttft : q == 1 ? x->e2el : q == 2 ? x->prompt : x->output;
                n += v >= lo && (v < hi || (i == last && v <= hi));
            }
            cr_expect_eq((uint64_t)json_integer_value(json_array_get(b, (size_t)hc)), n,
                         "%s bin [%g, %g)", hm_names[q], lo, hi);
            total += n;
        }
        cr_expect_eq(
            total,
            (uint64_t)json_integer_value(json_object_get(json_object_get(lat, "ttft"), "count")),
            "%s: every request of the summary binned", hm_names[q]);
    }

    /* time series: integrals equal totals summed from the sources */
    double end_s = num(json_object_get(json_object_get(m, "replica_window"), "end_ns")) / 1e9;
    double in_service = 0, done = 0;
    for (guint k = 0; k < reqs->len; k++) {
        const req *x = &g_array_index(reqs, req, k);
        if (!isnan(x->sched))
            in_service += (x->fin - x->sched) / 1e3;
        done += !x->failed;
    }
    expect_close(series_integral(s, "load", "in service", end_s), in_service, 1e-6,
                 "request-seconds in service");
    expect_close(series_integral(s, "load", "completed/s", end_s), done, 1e-6, "completions");
    double busy = 0;
    size_t nrep = json_array_size(json_object_get(m, "replicas"));
    cr_assert_eq(nrep, 2u);
    for (size_t i = 0; i < nrep; i++)
        busy += num(json_object_get(json_array_get(json_object_get(m, "replicas"), i), "busy_ns"));
    expect_close(series_integral(s, "engine", "busy", end_s) * (double)nrep, busy / 1e9, 1e-6,
                 "busy seconds (steps.jsonl vs summary.json)");
    g_array_free(reqs, TRUE);

    /* same inputs, same page: byte for byte, and what run --report wrote */
    g_autofree char *again = path("again.html");
    r = clirun_exec("report", out, "-o", again, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    g_file_get_contents(html, &a, &la, NULL);
    g_file_get_contents(again, &b, &lb, NULL);
    cr_expect(la == lb && memcmp(a, b, la) == 0, "report is not byte-identical");
    /* any file of the run stands for its directory */
    g_autofree char *steps = g_build_filename(out, "steps.jsonl.gz", NULL);
    g_autofree char *via = path("via-steps.html");
    r = clirun_exec("report", steps, "-o", via, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc2 = report_doc(via);
    cr_expect(json_equal(json_object_get(doc2, "sections"), json_object_get(doc, "sections")),
              "report of steps.jsonl.gz differs from the directory's");
    cr_expect(la < REPORT_MAX_BYTES, "%zu bytes", la);
}

/* ---- estimate ------------------------------------------------------------------------------- */

Test(report, estimate_report_copies_components_and_the_memory_plan)
{
    g_autofree char *ej = path("est.json");
    clirun r = clirun_exec("estimate", "--model", "llama-3.1-70b", "--tensor-parallel-size", "4",
                           "--batch", "16", "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert(g_file_set_contents(ej, r.out, -1, NULL));
    clirun_clear(&r);
    g_autofree char *html = path("est.html");
    r = clirun_exec("report", ej, "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc = report_doc(html);
    json_auto_t *est = load_json(ej);
    const json_t *s = section(doc, 0, "estimate");
    const json_t *rows = data_rows(s, "components");
    size_t k = 0;
    const char *const phases[] = {"prefill", "decode"};
    for (size_t p = 0; p < 2; p++) {
        const json_t *comps = json_object_get(json_object_get(est, phases[p]), "components");
        for (size_t i = 0; i < json_array_size(comps); i++) {
            const json_t *c = json_array_get(comps, i);
            if (!(num(json_object_get(c, "time_ms")) > 0) &&
                !(num(json_object_get(c, "flops")) > 0))
                continue;
            const json_t *row = json_array_get(rows, k++);
            cr_assert_not_null(row);
            const char *const f[] = {"flops",     "bytes",   "compute_ms",
                                     "memory_ms", "comm_ms", "time_ms"};
            for (size_t q = 0; q < G_N_ELEMENTS(f); q++)
                cr_expect(json_equal(json_array_get(row, (size_t)col(s, "components", f[q])),
                                     json_object_get(c, f[q])),
                          "%s %s", json_string_value(json_object_get(c, "component")), f[q]);
        }
    }
    cr_expect_eq(k, json_array_size(rows));
    /* the memory bar adds up to the GPU's usable memory */
    const json_t *mem = data_rows(s, "memory");
    double total = 0;
    for (size_t i = 0; i < json_array_size(mem); i++)
        total += num(json_array_get(json_array_get(mem, i), 1));
    expect_close(total, num(json_object_get(json_object_get(est, "memory"), "gpu_memory_gib")),
                 1e-8, "memory parts");
}

Test(report, scenarios_report_rows_are_the_csv_cells)
{
    g_autofree char *sc = path("sc.csv");
    clirun r =
        clirun_exec("estimate", "--scenarios", FIXTURES "/scenarios.csv", "--output", sc, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *html = path("sc.html");
    r = clirun_exec("report", sc, "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc = report_doc(html);
    const json_t *s = section(doc, 0, "scenarios");
    g_autofree char *text = NULL;
    g_file_get_contents(sc, &text, NULL, NULL);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) head = g_strsplit(lines[0], ",", -1);
    const json_t *rows = data_rows(s, "scenarios");
    cr_assert_eq(json_array_size(rows), 10u);
    for (size_t i = 0; i < 10; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i + 1], ",", -1);
        const json_t *row = json_array_get(rows, i);
        cr_expect_str_eq(json_string_value(json_array_get(row, 0)), f[0]);
        for (size_t c = 1; head[c] != NULL; c++) {
            if (!g_str_has_prefix(head[c], "predicted_"))
                continue;
            cr_expect_eq(num(json_array_get(row, (size_t)col(s, "scenarios", head[c]))),
                         g_ascii_strtod(f[c], NULL), "row %zu %s", i, head[c]);
        }
    }
}

/* ---- sweep, search, DSA (outputs kept in tests/report/data) --------------------------------- */

static const json_t *
point_row(const json_t *s, const char *data, const json_t *src)
{
    const json_t *rows = data_rows(s, data);
    int cp = col(s, data, "point");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        if (json_equal(json_array_get(row, (size_t)cp), json_object_get(src, "point")))
            return row;
    }
    return NULL;
}

/* Every key of every point of the JSON Lines file P equals its cell in dataset DATA. */
static size_t
expect_points(const json_t *s, const char *data, const char *p)
{
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(p, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    size_t n = 0;
    for (size_t i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        json_auto_t *src = json_loads(lines[i], 0, NULL);
        cr_assert_not_null(src);
        const json_t *row = point_row(s, data, src);
        cr_assert_not_null(row, "point of line %zu missing", i + 1);
        const char *key;
        json_t *v;
        json_object_foreach(src, key, v) {
            cr_expect(
                json_equal(json_array_get(row, (size_t)col(s, data, key)), v) ||
                    (json_is_number(v) &&
                     num(json_array_get(row, (size_t)col(s, data, key))) == json_number_value(v)),
                "%s line %zu %s", p, i + 1, key);
        }
        n++;
    }
    return n;
}

Test(report, sweep_and_search_reports_hold_every_point)
{
    g_autofree char *html = path("sw.html");
    clirun r = clirun_exec("report", FIXTURES "/sweep-rate", FIXTURES "/sweep-findmax",
                           FIXTURES "/search", "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc = report_doc(html);
    const json_t *plain = section(doc, 0, "sweep");
    cr_expect_eq(expect_points(plain, "points", FIXTURES "/sweep-rate/sweep.jsonl"), 8u);
    /* the find-max limit over the same configuration is drawn on the plain sweep */
    const json_t *fm = section(doc, 1, "sweep");
    cr_expect_eq(expect_points(fm, "points", FIXTURES "/sweep-findmax/sweep.jsonl"), 1u);
    const json_t *lim = json_array_get(data_rows(plain, "limits"), 0);
    const json_t *fmrow = json_array_get(data_rows(fm, "points"), 0);
    cr_expect_eq(json_array_size(data_rows(plain, "limits")), 1u);
    cr_expect_eq(num(json_array_get(lim, (size_t)col(plain, "limits", "limit"))),
                 num(json_array_get(fmrow, (size_t)col(fm, "points", "limit"))));
    cr_expect_eq(num(json_array_get(lim, (size_t)col(plain, "limits", "lo"))),
                 num(json_array_get(fmrow, (size_t)col(fm, "points", "limit_slow_steps"))));
    cr_expect_eq(num(json_array_get(lim, (size_t)col(plain, "limits", "hi"))),
                 num(json_array_get(fmrow, (size_t)col(fm, "points", "limit_fast_steps"))));
    /* SLO lines: ttft_p99:500, tpot_p99:50 */
    const json_t *slo = data_rows(plain, "slo");
    cr_assert_eq(json_array_size(slo), 2u);
    cr_expect_eq(num(json_array_get(json_array_get(slo, 0), 2)), 500.0);
    cr_expect_eq(num(json_array_get(json_array_get(slo, 1), 2)), 50.0);
    const json_t *se = section(doc, 2, "search");
    cr_expect_eq(expect_points(se, "configs", FIXTURES "/search/search.jsonl"), 15u);
    const json_t *ranked = table(se, "Ranked configurations");
    cr_expect_eq(json_array_size(ranked), 3u);
    for (size_t i = 0; i < 3; i++)
        cr_expect_eq(json_integer_value(json_array_get(json_array_get(ranked, i), 0)),
                     (json_int_t)i + 1);
    const json_t *rej = table(se, "Rejected configurations");
    cr_expect_eq(json_integer_value(json_array_get(json_array_get(rej, 0), 1)), 12);
}

Test(report, a_sweep_written_by_this_binary_is_read_back_point_for_point)
{
    /* the kept outputs above come from the branch that built sweep; this one from the binary
     * under test, so a format change shows up here */
    g_autofree char *sw = path("sw-live");
    clirun r =
        clirun_exec("sweep", "--workload", "synthetic", "--num-requests", "200", "--sweep",
                    "rate=2,4,8", "--slo", "ttft_p99:500", "--output-dir", sw, "-j", "1", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *html = path("sw-live.html");
    r = clirun_exec("report", sw, "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc = report_doc(html);
    g_autofree char *jl = g_build_filename(sw, "sweep.jsonl", NULL);
    cr_expect_eq(expect_points(section(doc, 0, "sweep"), "points", jl), 3u);
}

Test(report, dsa_summaries_are_drawn_from_a_run_and_from_analyze)
{
    g_autofree char *html = path("dsa.html");
    clirun r =
        clirun_exec("report", FIXTURES "/run-dsa", FIXTURES "/dsa-analyze.json", "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    json_auto_t *doc = report_doc(html);
    json_auto_t *sum = load_json(FIXTURES "/run-dsa/summary.json");
    json_auto_t *an = load_json(FIXTURES "/dsa-analyze.json");
    section(doc, 0, "run");
    const json_t *srcs[] = {json_object_get(sum, "dsa"), an};
    for (size_t k = 0; k < 2; k++) {
        const json_t *s = section(doc, k + 1, "dsa");
        const json_t *rows = data_rows(s, "ranges");
        cr_assert_eq(json_array_size(rows), 4u);
        for (size_t i = 0; i < 4; i++) {
            const json_t *row = json_array_get(rows, i);
            const json_t *d = json_object_get(srcs[k], json_string_value(json_array_get(row, 0)));
            const char *const st[] = {"min", "p50", "p95", "max", "mean"};
            for (size_t q = 0; q < 5; q++)
                cr_expect(json_equal(json_array_get(row, q + 1), json_object_get(d, st[q])),
                          "%s %s", json_string_value(json_array_get(row, 0)), st[q]);
        }
    }
}

/* ---- size bound ----------------------------------------------------------------------------- */

Test(report, a_large_run_gives_a_page_of_bounded_size)
{
    /* the Release binary runs 300,000 requests in a few seconds; sanitizer builds a smaller
     * run checks the same bound */
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
    const char *n = "300000";
#else
    const char *n = "20000";
#endif
    g_autofree char *out = path("big");
    clirun r = clirun_exec("run", "--workload", "synthetic", "--num-requests", n, "--rate", "60",
                           "--replicas", "4", "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *html = path("big.html");
    r = clirun_exec("report", out, "-o", html, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    GStatBuf st;
    cr_assert_eq(g_stat(html, &st), 0);
    cr_expect((size_t)st.st_size < REPORT_MAX_BYTES, "%s requests: %lld bytes", n,
              (long long)st.st_size);
    json_auto_t *doc = report_doc(html);
    g_autofree char *js = json_dumps(doc, JSON_COMPACT);
    cr_expect(strlen(js) < 250000, "%s requests: document %zu bytes", n, strlen(js));
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void
expect_refused(clirun *r, const char *out, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d: %s", r->code, r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(!g_file_test(out, G_FILE_TEST_EXISTS), "%s was written", out);
    GDir *gd = g_dir_open(dir, 0, NULL);
    const char *name;
    while (gd != NULL && (name = g_dir_read_name(gd)) != NULL)
        cr_expect(strstr(name, ".tmp.") == NULL, "leftover %s", name);
    if (gd != NULL)
        g_dir_close(gd);
    clirun_clear(r);
}

static char *
copy_run(const char *name)
{
    char *d = path(name);
    g_autofree char *cmd = g_strdup_printf("cp -r '%s/run-dsa' '%s'", FIXTURES, d);
    cr_assert_eq(system(cmd), 0);
    return d;
}

static void
replace_in(const char *file, const char *from, const char *to)
{
    g_autofree char *s = NULL;
    cr_assert(g_file_get_contents(file, &s, NULL, NULL));
    char *at = strstr(s, from);
    cr_assert_not_null(at, "%s lacks %s", file, from);
    g_autofree char *t = g_strdup_printf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    cr_assert(g_file_set_contents(file, t, -1, NULL));
}

/* Sets column NAME of data row ROW (1-based) of CSV file FILE to VALUE. */
static void
set_cell(const char *file, size_t row, const char *name, const char *value)
{
    g_autofree char *s = NULL;
    cr_assert(g_file_get_contents(file, &s, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(s, "\n", -1);
    g_auto(GStrv) head = g_strsplit(lines[0], ",", -1);
    g_auto(GStrv) f = g_strsplit(lines[row], ",", -1);
    for (size_t i = 0; head[i] != NULL; i++)
        if (strcmp(head[i], name) == 0) {
            g_free(f[i]);
            f[i] = g_strdup(value);
        }
    g_free(lines[row]);
    lines[row] = g_strjoinv(",", f);
    g_autofree char *t = g_strjoinv("\n", lines);
    cr_assert(g_file_set_contents(file, t, -1, NULL));
}

Test(report, bad_input_is_one_line_exit_2_and_leaves_no_html)
{
    g_autofree char *out = path("out.html");
    g_autofree char *txt = path("notes.txt");
    g_file_set_contents(txt, "hello\n", -1, NULL);
    clirun r = clirun_exec("report", txt, "-o", out, NULL);
    expect_refused(&r, out, "notes.txt: not a servesim output");

    g_autofree char *old = copy_run("old");
    g_autofree char *osum = g_build_filename(old, "summary.json", NULL);
    replace_in(osum, "\"version\": \"0.1.0\"", "\"version\": \"0.0.7\"");
    r = clirun_exec("report", old, "-o", out, NULL);
    expect_refused(&r, out, "written by servesim 0.0.7");

    g_autofree char *cut = copy_run("cut");
    g_autofree char *creq = g_build_filename(cut, "requests.csv", NULL);
    set_cell(creq, 1, "ttft_ms", "1e3");
    r = clirun_exec("report", cut, "-o", out, NULL);
    expect_refused(&r, out, "requests.csv:2: column ttft_ms");

    g_autofree char *sw = path("sw");
    g_mkdir_with_parents(sw, 0755);
    g_autofree char *swf = g_build_filename(sw, "sweep.jsonl", NULL);
    g_autofree char *swsrc = NULL;
    g_file_get_contents(FIXTURES "/sweep-rate/sweep.jsonl", &swsrc, NULL, NULL);
    g_file_set_contents(swf, swsrc, -1, NULL);
    replace_in(swf, "servesim-sweep/1", "servesim-sweep/2");
    r = clirun_exec("report", sw, "-o", out, NULL);
    expect_refused(&r, out, "format servesim-sweep/2");

    /* a point line cut short */
    g_file_set_contents(swf, swsrc, -1, NULL);
    replace_in(swf, "\"ttft_p99_ms\":", "\"ttft_p99_ms\"");
    r = clirun_exec("report", sw, "-o", out, NULL);
    expect_refused(&r, out, "sweep.jsonl:2:");

    /* a failed report leaves an existing page as it was */
    g_file_set_contents(out, "previous", -1, NULL);
    r = clirun_exec("report", txt, "-o", out, NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
    g_autofree char *prev = NULL;
    g_file_get_contents(out, &prev, NULL, NULL);
    cr_expect_str_eq(prev, "previous");
    g_unlink(out);

    r = clirun_exec("report", "-o", out, NULL);
    cr_expect_eq(r.code, 2, "no input: %s", r.err);
    clirun_clear(&r);
}

Test(report, an_unwritable_page_is_a_runtime_failure)
{
    g_autofree char *out = g_build_filename(dir, "no", "such", "dir", "r.html", NULL);
    clirun r = clirun_exec("report", FIXTURES "/dsa-analyze.json", "-o", out, NULL);
    cr_expect_eq(r.code, 1, "exit %d: %s", r.code, r.err);
    cr_expect(strstr(r.err, "r.html") != NULL, "%s", r.err);
    clirun_clear(&r);
}
