/* tests/cli/test_report_compare.c: the compare view of `servesim report` end to end, from the
 * files `servesim compare --output-dir` writes (docs/compare.md §3). The page's embedded
 * document is parsed back and its numbers set against the sources: every figure and verdict
 * against compare.json, every figure against compare.csv and every request against
 * compare_requests.csv (both read here with string splitting, independently of report/), the
 * identity line against the range of the requests; `compare --report` and `report DIR` give
 * the same bytes; `compare A B --output-dir` and its page (every change against compare.json
 * and compare.csv, verdicts against the documented rule). Bad input (another format version, no
 * format, an empty or malformed regression, the CSVs alone,
 * a missing or malformed per-request file) is one line, exit 2, and no page. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"

#define RUN08     SERVESIM_DATA_DIR "/llmservingsim-rtx4090-dev-run/run-2026-08-20_max_num_seqs256"
#define RUN17     SERVESIM_DATA_DIR "/llmservingsim-rtx4090-dev-run/run-2026-08-17_max_num_seqs128"
#define DASHBOARD SERVESIM_SOURCE_DIR "/tests/compare/data/dashboard.csv"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-report-compare-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(report_compare, .init = setup, .fini = teardown, .timeout = 600);

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
    return j;
}

static const json_t *
section(const json_t *doc, size_t i)
{
    const json_t *s = json_array_get(json_object_get(doc, "sections"), i);
    cr_assert_not_null(s, "no section %zu", i);
    cr_assert_str_eq(json_string_value(json_object_get(s, "kind")), "compare");
    return s;
}

static const json_t *
data_rows(const json_t *s, const char *name)
{
    const json_t *d = json_object_get(json_object_get(s, "data"), name);
    cr_assert_not_null(d, "no dataset %s", name);
    return json_object_get(d, "rows");
}

static size_t
col(const json_t *s, const char *data, const char *field)
{
    const json_t *f = json_object_get(json_object_get(json_object_get(s, "data"), data), "fields");
    for (size_t i = 0; i < json_array_size(f); i++)
        if (strcmp(json_string_value(json_array_get(f, i)), field) == 0)
            return i;
    cr_assert_fail("dataset %s has no field %s", data, field);
    return 0;
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

static const json_t *
at(const json_t *rows, size_t r, size_t c)
{
    return json_array_get(json_array_get(rows, r), c);
}

/* null, or a number: NAN for null */
static double
num(const json_t *v)
{
    cr_assert(json_is_number(v) || json_is_null(v), "not a number or null");
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static bool
same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* A CSV without quoted fields (compare's are: paths without commas) as rows of cells. */
static GPtrArray *
read_csv(const char *p, char ***header)
{
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(p, &text, NULL, NULL), "%s missing", p);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    *header = g_strsplit(lines[0], ",", -1);
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    for (size_t i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
        g_ptr_array_add(rows, g_strsplit(lines[i], ",", -1));
    return rows;
}

static size_t
csv_col(char **header, const char *name)
{
    for (size_t i = 0; header[i] != NULL; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    cr_assert_fail("no column %s", name);
    return 0;
}

static double
csv_num(const char *s)
{
    return *s ? g_ascii_strtod(s, NULL) : (double)NAN;
}

/* `servesim report DIR -o NAME` (under the test directory) writes the same bytes as PAGE, the
 * page `compare --report` left in DIR. */
static void
expect_report_dir_same_page(const char *dir_in, const char *name, const char *page)
{
    g_autofree char *again = path(name);
    clirun r = clirun_exec("report", dir_in, "-o", again, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *p1 = NULL, *p2 = NULL;
    gsize n1, n2;
    cr_assert(g_file_get_contents(page, &p1, &n1, NULL));
    cr_assert(g_file_get_contents(again, &p2, &n2, NULL));
    cr_expect(n1 == n2 && memcmp(p1, p2, n1) == 0, "compare --report and report DIR differ");
}

/* compare RUN08 --output-dir DIR/NAME --report; returns the directory. */
static char *
compare_outputs(const char *name)
{
    char *out = path(name);
    clirun r = clirun_exec("compare", RUN08, "--output-dir", out, "--report", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "verdict (pass") != NULL, "the text report on stdout: %s", r.out);
    clirun_clear(&r);
    return out;
}

Test(report_compare, the_page_holds_every_figure_verdict_and_request_of_the_comparison)
{
    g_autofree char *out = compare_outputs("cmp");
    g_autofree char *cj_path = g_build_filename(out, "compare.json", NULL);
    g_autofree char *csv_path = g_build_filename(out, "compare.csv", NULL);
    g_autofree char *rq_path = g_build_filename(out, "compare_requests.csv", NULL);
    g_autofree char *page = g_build_filename(out, "report.html", NULL);

    /* compare --report and report DIR write the same page */
    expect_report_dir_same_page(out, "again.html", page);

    json_auto_t *cj = load_json(cj_path);
    cr_expect_str_eq(json_object_iter_key(json_object_iter(cj)), "format", "format comes first");
    cr_expect_str_eq(json_string_value(json_object_get(cj, "format")), "servesim-compare/1");
    cr_expect_str_eq(json_string_value(json_object_get(cj, "requests_file")),
                     "compare_requests.csv");
    const json_t *c = json_array_get(json_object_get(cj, "comparisons"), 0);
    const json_t *figs = json_object_get(c, "figures");
    const json_t *verdicts = json_object_get(c, "verdicts");

    json_auto_t *doc = report_doc(page);
    cr_expect_eq(json_array_size(json_object_get(doc, "sections")), 1u);
    const json_t *s = section(doc, 0);

    /* figures: compare.json's values, one row each, in order; the verdict on the judged one */
    const json_t *fr = data_rows(s, "figures");
    /* TTFT, TPOT, E2E x mean, p50, p90, p95, p99 and 3 throughputs (the run has no ITL) */
    cr_assert_eq(json_array_size(figs), 18u);
    cr_assert_eq(json_array_size(fr), json_array_size(figs));
    static const char *const keys[] = {"metric",    "stat", "unit",     "measured",
                                       "simulated", "diff", "error_pct"};
    size_t judged = 0;
    for (size_t i = 0; i < json_array_size(figs); i++) {
        const json_t *f = json_array_get(figs, i);
        for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
            cr_expect(
                json_equal(at(fr, i, col(s, "figures", keys[k])), json_object_get(f, keys[k])),
                "figure %zu %s", i, keys[k]);
        judged += !json_is_null(at(fr, i, col(s, "figures", "verdict")));
    }
    size_t recorded = 0;
    for (size_t i = 0; i < json_array_size(verdicts); i++)
        recorded +=
            strcmp(json_string_value(json_object_get(json_array_get(verdicts, i), "verdict")),
                   "not recorded") != 0;
    cr_expect_eq(recorded, 4u, "TTFT, TPOT, E2E and throughput are judged, ITL is not recorded");
    cr_expect_eq(judged, recorded, "one verdict per judged figure");

    /* ... and compare.csv's, read independently */
    char **h = NULL;
    g_autoptr(GPtrArray) csv = read_csv(csv_path, &h);
    cr_assert_eq(csv->len, json_array_size(fr));
    for (guint i = 0; i < csv->len; i++) {
        char **row = g_ptr_array_index(csv, i);
        cr_expect_str_eq(row[csv_col(h, "metric")],
                         json_string_value(at(fr, i, col(s, "figures", "metric"))));
        static const char *const v[] = {"measured", "simulated", "diff", "error_pct"};
        for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
            cr_expect(same(csv_num(row[csv_col(h, v[k])]), num(at(fr, i, col(s, "figures", v[k])))),
                      "compare.csv row %u %s: %s", i + 1, v[k], row[csv_col(h, v[k])]);
        const char *verdict = row[csv_col(h, "verdict")];
        const json_t *pv = at(fr, i, col(s, "figures", "verdict"));
        if (*verdict)
            cr_expect_str_eq(json_string_value(pv), verdict, "row %u", i + 1);
        else
            cr_expect(json_is_null(pv), "row %u: no verdict in compare.csv", i + 1);
    }
    g_strfreev(h);

    /* the measured and simulated bars: two per figure, the same values */
    const json_t *sr = data_rows(s, "sides");
    cr_assert_eq(json_array_size(sr), 2 * json_array_size(figs));
    for (size_t i = 0; i < json_array_size(figs); i++) {
        const json_t *f = json_array_get(figs, i);
        cr_expect(
            json_equal(at(sr, 2 * i, col(s, "sides", "value")), json_object_get(f, "measured")));
        cr_expect(json_equal(at(sr, 2 * i + 1, col(s, "sides", "value")),
                             json_object_get(f, "simulated")));
    }

    /* verdict and per-request tables */
    const json_t *vt = table(s, "Verdicts");
    cr_assert_eq(json_array_size(vt), json_array_size(verdicts));
    for (size_t i = 0; i < json_array_size(vt); i++) {
        const json_t *v = json_array_get(verdicts, i);
        cr_expect(json_equal(at(vt, i, 2), json_object_get(v, "error_pct")), "verdict %zu", i);
        cr_expect(json_equal(at(vt, i, 3), json_object_get(v, "threshold_pct")));
        cr_expect(json_equal(at(vt, i, 4), json_object_get(v, "verdict")));
    }
    const json_t *pt = table(s, "Per-request error (% of measured)");
    const json_t *pr = json_object_get(c, "per_request");
    cr_assert_eq(json_array_size(pt), json_object_size(pr));
    static const char *const prk[] = {"requests",   "mean_error_pct",    "median_error_pct",
                                      "mape_pct",   "p90_abs_error_pct", "mean_abs_error_ms",
                                      "correlation"};
    static const char *const prm[] = {"ttft", "tpot", "e2e"};
    for (size_t i = 0; i < G_N_ELEMENTS(prm); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(prk); k++)
            cr_expect(
                json_equal(at(pt, i, k + 1), json_object_get(json_object_get(pr, prm[i]), prk[k])),
                "per-request %s %s", prm[i], prk[k]);

    /* every request of compare_requests.csv, cell for cell: the run's 300 requests */
    g_autoptr(GPtrArray) rq = read_csv(rq_path, &h);
    const json_t *rr = data_rows(s, "requests");
    cr_assert_eq(rq->len, 300u, "the 300 measured requests");
    cr_assert_eq(json_array_size(rr), rq->len);
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (guint i = 0; i < rq->len; i++) {
        char **row = g_ptr_array_index(rq, i);
        for (size_t k = 1; h[k] != NULL; k++)
            cr_expect(same(csv_num(row[k]), num(at(rr, i, col(s, "requests", h[k])))),
                      "request %u %s: %s", i, h[k], row[k]);
        for (size_t m = 0; m < 3; m++) {
            g_autofree char *mc = g_strdup_printf("measured_%s_ms", prm[m]);
            g_autofree char *sc = g_strdup_printf("simulated_%s_ms", prm[m]);
            double x = csv_num(row[csv_col(h, mc)]), y = csv_num(row[csv_col(h, sc)]);
            if (!(x > 0 && y > 0))
                continue;
            lo[m] = fmin(lo[m], fmin(x, y));
            hi[m] = fmax(hi[m], fmax(x, y));
        }
    }
    g_strfreev(h);
    /* the dashed line simulated = measured spans exactly the points */
    const json_t *ir = data_rows(s, "identity");
    cr_assert_eq(json_array_size(ir), 6u);
    for (size_t m = 0; m < 3; m++) {
        cr_expect_str_eq(json_string_value(at(ir, 2 * m, 0)), prm[m]);
        cr_expect_eq(num(at(ir, 2 * m, 1)), lo[m], "%s low end", prm[m]);
        cr_expect_eq(num(at(ir, 2 * m + 1, 1)), hi[m], "%s high end", prm[m]);
    }

    /* charts: the error bars, TTFT/TPOT/E2E bars, throughputs, three scatters */
    cr_expect_eq(json_array_size(json_object_get(s, "charts")), 1u + 3u + 1u + 3u);
}

Test(report_compare, several_benchmark_points_get_an_overview_and_a_section_each)
{
    g_autofree char *out = path("dash");
    clirun r = clirun_exec("compare", DASHBOARD, "--keep-going", "--output-dir", out, "--csv",
                           "--report", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *cj_path = g_build_filename(out, "compare.json", NULL);
    g_autofree char *rq_path = g_build_filename(out, "compare_requests.csv", NULL);
    g_autofree char *page = g_build_filename(out, "report.html", NULL);
    cr_expect(!g_file_test(rq_path, G_FILE_TEST_EXISTS), "a dashboard has no per-request values");
    json_auto_t *cj = load_json(cj_path);
    cr_expect(json_object_get(cj, "requests_file") == NULL);
    const json_t *cs = json_object_get(cj, "comparisons");
    /* tests/compare/data/dashboard.csv: rows 2 and 3 simulate; an unknown model and a P/D row
     * are skipped */
    cr_assert_eq(json_array_size(cs), 2u);
    cr_expect_eq(json_integer_value(json_object_get(cj, "skipped_count")), 2);

    json_auto_t *doc = report_doc(page);
    cr_assert_eq(json_array_size(json_object_get(doc, "sections")), 3u, "overview + 2 points");
    const json_t *ov = section(doc, 0);
    size_t skipped_notes = 0;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(ov, "notes"), i, n) {
        skipped_notes += g_str_has_prefix(json_string_value(n), "skipped: ");
    }
    cr_expect_eq(skipped_notes, 2u);
    const json_t *vr = data_rows(ov, "verdicts");
    cr_assert_eq(json_array_size(vr), 2u * 5u, "5 verdicts per point");
    for (size_t p = 0; p < 2; p++) {
        const json_t *c = json_array_get(cs, p);
        const json_t *vs = json_object_get(c, "verdicts");
        for (size_t k = 0; k < 5; k++) {
            const json_t *row = json_array_get(vr, p * 5 + k);
            cr_expect(json_equal(json_array_get(row, col(ov, "verdicts", "input")),
                                 json_object_get(c, "input")));
            cr_expect(json_equal(json_array_get(row, col(ov, "verdicts", "error_pct")),
                                 json_object_get(json_array_get(vs, k), "error_pct")),
                      "point %zu verdict %zu", p, k);
        }
        const json_t *s = section(doc, p + 1);
        cr_expect_eq(json_array_size(data_rows(s, "figures")),
                     json_array_size(json_object_get(c, "figures")));
        cr_expect(json_object_get(json_object_get(s, "data"), "requests") == NULL);
    }
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
    if (out != NULL)
        cr_expect(!g_file_test(out, G_FILE_TEST_EXISTS), "%s was written", out);
    GDir *gd = g_dir_open(dir, 0, NULL);
    const char *name;
    while (gd != NULL && (name = g_dir_read_name(gd)) != NULL)
        cr_expect(strstr(name, ".tmp.") == NULL, "leftover %s", name);
    if (gd != NULL)
        g_dir_close(gd);
    clirun_clear(r);
}

/* A fresh copy of the compare outputs in SRC as DIR/NAME. */
static char *
copy_of(const char *src, const char *name)
{
    char *d = path(name);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s' && cp -r '%s' '%s'", d, src, d);
    cr_assert_eq(system(cmd), 0);
    return d;
}

static void
replace_in(const char *file, const char *from, const char *to)
{
    g_autofree char *s = NULL;
    cr_assert(g_file_get_contents(file, &s, NULL, NULL));
    char *a = strstr(s, from);
    cr_assert_not_null(a, "%s lacks %s", file, from);
    g_autofree char *t = g_strdup_printf("%.*s%s%s", (int)(a - s), s, to, a + strlen(from));
    cr_assert(g_file_set_contents(file, t, -1, NULL));
}

static char *
file_in(const char *d, const char *name)
{
    return g_build_filename(d, name, NULL);
}

Test(report_compare, bad_compare_outputs_are_one_line_exit_2_and_leave_no_html)
{
    g_autofree char *good = compare_outputs("good");
    g_autofree char *html = path("out.html");

    /* another version of the format, or none (an older compare --json) */
    g_autofree char *v2 = copy_of(good, "v2");
    g_autofree char *v2j = file_in(v2, "compare.json");
    replace_in(v2j, "servesim-compare/1", "servesim-compare/2");
    clirun r = clirun_exec("report", v2, "-o", html, NULL);
    expect_refused(&r, html,
                   "compare.json: format servesim-compare/2; this servesim reads "
                   "servesim-compare/1");
    g_autofree char *old = copy_of(good, "old");
    g_autofree char *oldj = file_in(old, "compare.json");
    replace_in(oldj, "\"format\": \"servesim-compare/1\",", "");
    r = clirun_exec("report", oldj, "-o", html, NULL);
    expect_refused(&r, html, "compare --json of an older servesim");

    /* compare A B: no view */
    g_autofree char *reg = path("regression.json");
    g_file_set_contents(reg, "{\"format\": \"servesim-compare/1\", \"regressions\": []}\n", -1,
                        NULL);
    r = clirun_exec("report", reg, "-o", html, NULL);
    expect_refused(&r, html, "regression.json: regressions: empty (no point in common)");
    g_file_set_contents(
        reg,
        "{\"format\": \"servesim-compare/1\", \"regressions\": [{\"a\": \"x\", "
        "\"b\": \"y\", \"noise_known\": true, \"paired\": true, "
        "\"bootstrap_resamples\": 10, \"figures\": [{\"metric\": \"ttft\", "
        "\"stat\": \"mean\", \"a\": 1, \"b\": \"2\", \"change_pct\": 100, "
        "\"ci95_low_pct\": null, \"ci95_high_pct\": null, \"verdict\": \"x\"}]}]}\n",
        -1, NULL);
    r = clirun_exec("report", reg, "-o", html, NULL);
    expect_refused(&r, html, "regression.json: regressions[0]: figures[0]: expected");

    /* the CSVs alone */
    g_autofree char *rq = file_in(good, "compare_requests.csv");
    r = clirun_exec("report", rq, "-o", html, NULL);
    expect_refused(&r, html, "compare_requests.csv: a CSV of `servesim compare`");
    g_autofree char *fc = file_in(good, "compare.csv");
    r = clirun_exec("report", fc, "-o", html, NULL);
    expect_refused(&r, html, "compare.csv: a CSV of `servesim compare`");

    /* the per-request file missing, malformed, or of other comparisons */
    g_autofree char *miss = copy_of(good, "miss");
    g_autofree char *missr = file_in(miss, "compare_requests.csv");
    g_unlink(missr);
    r = clirun_exec("report", miss, "-o", html, NULL);
    expect_refused(&r, html, "requests_file compare_requests.csv: no such file next to it");
    g_autofree char *cell = copy_of(good, "cell");
    g_autofree char *cellr = file_in(cell, "compare_requests.csv");
    replace_in(cellr, ",689.434586,", ",6x9,");
    r = clirun_exec("report", cell, "-o", html, NULL);
    expect_refused(&r, html, "compare_requests.csv:2: column measured_ttft_ms: expected a number");
    g_autofree char *other = copy_of(good, "other");
    g_autofree char *otherr = file_in(other, "compare_requests.csv");
    replace_in(otherr, "\n" RUN08, "\nelsewhere/run");
    r = clirun_exec("report", other, "-o", html, NULL);
    expect_refused(&r, html, "compare_requests.csv:2: column input: 'elsewhere/");

    /* a figure of the wrong shape */
    g_autofree char *shape = copy_of(good, "shape");
    g_autofree char *shapej = file_in(shape, "compare.json");
    replace_in(shapej, "\"unit\": \"ms\"", "\"unit\": 5");
    r = clirun_exec("report", shape, "-o", html, NULL);
    expect_refused(&r, html, "compare.json: comparisons[0]: figures[0]: expected");

    /* compare's own flags: --report needs the directory */
    r = clirun_exec("compare", RUN08, "--report", NULL);
    cr_expect_eq(r.code, 2, "%s", r.err);
    cr_expect(g_str_has_prefix(r.err, "servesim: --report writes DIR/report.html"), "%s", r.err);
    clirun_clear(&r);
}

/* compare A B --output-dir DIR --report: compare.json and compare.csv hold the regression, a
 * per-request file left by an earlier compare RESULT is removed, and the page shows every
 * figure of compare.json (and of compare.csv, read here by splitting) with a verdict that
 * follows the documented rule from its interval: latency up or throughput down beyond the
 * interval = regressed, the opposite = improved, an interval across 0 = within noise. */
Test(report_compare, compare_a_b_writes_its_files_and_the_page_draws_every_change)
{
    g_autofree char *ab = path("ab");
    g_mkdir_with_parents(ab, 0755);
    g_autofree char *stale = g_build_filename(ab, "compare_requests.csv", NULL);
    g_file_set_contents(stale, "input,request\n", -1, NULL);
    clirun r = clirun_exec("compare", RUN17, RUN08, "--output-dir", ab, "--report", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "TTFT mean (ms)") != NULL, "the text on stdout: %s", r.out);
    clirun_clear(&r);
    cr_expect(!g_file_test(stale, G_FILE_TEST_EXISTS), "stale compare_requests.csv kept");
    g_autofree char *cj_path = g_build_filename(ab, "compare.json", NULL);
    g_autofree char *csv_path = g_build_filename(ab, "compare.csv", NULL);
    g_autofree char *page = g_build_filename(ab, "report.html", NULL);

    /* compare.json is the --json document, byte for byte */
    r = clirun_exec("compare", RUN17, RUN08, "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *cj_text = NULL;
    cr_assert(g_file_get_contents(cj_path, &cj_text, NULL, NULL));
    cr_expect_str_eq(cj_text, r.out);
    clirun_clear(&r);

    json_auto_t *cj = load_json(cj_path);
    const json_t *reg = json_array_get(json_object_get(cj, "regressions"), 0);
    cr_assert_not_null(reg);
    const json_t *figs = json_object_get(reg, "figures");
    size_t nf = json_array_size(figs);
    cr_assert_geq(nf, 10, "every latency statistic and throughput");

    char **hdr = NULL;
    g_autoptr(GPtrArray) rows = read_csv(csv_path, &hdr);
    cr_assert_eq(rows->len, nf, "compare.csv: one row per figure");

    json_auto_t *doc = report_doc(page);
    const json_t *s = section(doc, 0);
    cr_expect(strstr(json_string_value(json_object_get(s, "title")), "compare A B") != NULL);
    const json_t *d = data_rows(s, "changes");
    cr_assert_eq(json_array_size(d), nf);
    size_t ca = col(s, "changes", "a"), cb = col(s, "changes", "b"),
           cc = col(s, "changes", "change_pct"), cl = col(s, "changes", "ci95_low_pct"),
           ch = col(s, "changes", "ci95_high_pct"), cv = col(s, "changes", "verdict"),
           cm = col(s, "changes", "metric");
    size_t judged = 0;
    for (size_t i = 0; i < nf; i++) {
        const json_t *f = json_array_get(figs, i);
        char **row = g_ptr_array_index(rows, i);
        cr_expect(same(num(at(d, i, ca)), num(json_object_get(f, "a"))), "a of figure %zu", i);
        cr_expect(same(num(at(d, i, cb)), csv_num(row[csv_col(hdr, "b_value")])), "b %zu", i);
        double chg = num(at(d, i, cc)), lo = num(at(d, i, cl)), hi = num(at(d, i, ch));
        cr_expect(same(chg, csv_num(row[csv_col(hdr, "change_pct")])), "change %zu", i);
        cr_expect(same(lo, csv_num(row[csv_col(hdr, "ci95_low_pct")])), "low %zu", i);
        cr_expect(same(hi, csv_num(row[csv_col(hdr, "ci95_high_pct")])), "high %zu", i);
        /* the change itself, from A and B */
        double a = num(at(d, i, ca)), b = num(at(d, i, cb));
        cr_expect(fabs(chg - (b - a) / a * 100) < 1e-6 * fabs(chg) + 1e-9, "change %zu", i);
        const char *m = json_string_value(at(d, i, cm));
        const char *v = json_string_value(at(d, i, cv));
        cr_expect_str_eq(v, row[csv_col(hdr, "verdict")]);
        if (isnan(lo))
            continue;
        judged++;
        bool latency = strcmp(m, "ttft") == 0 || strcmp(m, "tpot") == 0 || strcmp(m, "itl") == 0 ||
                       strcmp(m, "e2e") == 0;
        const char *want = lo > 0   ? (latency ? "regressed" : "improved")
                           : hi < 0 ? (latency ? "improved" : "regressed")
                                    : "within noise";
        cr_expect_str_eq(v, want, "figure %zu (%s): [%g, %g]", i, m, lo, hi);
    }
    cr_expect_geq(judged, 10, "the latencies have a bootstrap interval");
    g_strfreev(hdr);
    cr_expect_eq(json_array_size(json_object_get(s, "charts")), 1);

    /* report DIR draws the same page */
    expect_report_dir_same_page(ab, "ab-again.html", page);
}
