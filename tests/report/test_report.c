/* tests/report/test_report.c: the report module's parts. Quantiles against NumPy's definition
 * worked by hand, histogram bins and time buckets against hand counts, Vega-Lite field escaping,
 * the embedded chart library against the SHA-256 sums of the files npm publishes
 * (report/vendor/SOURCE.md), '<' and '&' kept out of the page's markup, and input detection:
 * every kind of bad input is a one-line error naming the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "base/asset.h"
#include "report/internal.h"

/* ---- quantiles and CDF points -------------------------------------------------------------- */

Test(dist, quantiles_follow_numpy_linear_interpolation)
{
    /* numpy.percentile([10, 20, 30, 40], p): r = p/100 · 3 */
    const int64_t v[] = {10, 20, 30, 40};
    cr_expect_float_eq(rp__quantile_i64(v, 4, 0), 10.0, 1e-12);
    cr_expect_float_eq(rp__quantile_i64(v, 4, 50), 25.0, 1e-12); /* r = 1.5 */
    cr_expect_float_eq(rp__quantile_i64(v, 4, 90), 37.0, 1e-12); /* r = 2.7 */
    cr_expect_float_eq(rp__quantile_i64(v, 4, 100), 40.0, 1e-12);
    const int64_t one[] = {7};
    cr_expect_float_eq(rp__quantile_i64(one, 1, 99.9), 7.0, 1e-12);
}

Test(dist, radix_sort_orders_like_qsort)
{
    /* negative, equal and wide values; sizes below and above the qsort cut-off */
    const size_t sizes[] = {0, 1, 100, 5000};
    uint64_t x = 88172645463325252u; /* xorshift64: the test's own deterministic values */
    for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++) {
        size_t n = sizes[k];
        int64_t *a = g_new(int64_t, n + 1), *b = g_new(int64_t, n + 1);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int64_t v = (int64_t)(x >> (x % 3 == 0 ? 1 : 40)) - (i % 5 == 0 ? INT64_C(1) << 20 : 0);
            a[i] = b[i] = i % 7 == 0 ? 42 : v;
        }
        rp__sort_i64(a, n);
        qsort(b, n, sizeof *b, rp__cmp_i64);
        cr_expect(n == 0 || memcmp(a, b, n * sizeof *a) == 0, "n = %zu", n);
        g_free(a);
        g_free(b);
    }
}

Test(dist, cdf_points_ascend_and_hold_every_summary_percentile)
{
    size_t n = rp__cdf_npcts();
    cr_assert_eq(n, 208u);
    cr_expect_eq(rp__cdf_pct(0), 0.0);
    cr_expect_eq(rp__cdf_pct(n - 1), 100.0);
    for (size_t i = 1; i < n; i++)
        cr_expect(rp__cdf_pct(i) > rp__cdf_pct(i - 1), "point %zu", i);
    /* summary.json / the lifecycle report carry these (docs/outputs.md) */
    const double want[] = {0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9};
    for (size_t k = 0; k < G_N_ELEMENTS(want); k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= rp__cdf_pct(i) == want[k];
        cr_expect(found, "p%g missing", want[k]);
    }
}

/* ---- histograms ---------------------------------------------------------------------------- */

Test(dist, small_integer_ranges_get_one_bin_per_value)
{
    int64_t v[10];
    for (int i = 0; i < 10; i++)
        v[i] = i + 1;
    rp_bin b[RP_HIST_MAX_BINS];
    bool logb = true;
    size_t nb = rp__histogram(v, 10, 1.0, true, b, &logb);
    cr_assert_eq(nb, 10u);
    cr_expect(!logb);
    for (size_t i = 0; i < nb; i++) {
        cr_expect_eq(b[i].lo, (double)(i + 1));
        cr_expect_eq(b[i].hi, (double)(i + 2));
        cr_expect_eq(b[i].count, 1u);
    }
}

Test(dist, wide_integer_ranges_get_a_1_2_5_width)
{
    /* 1..1000: 1000 values / 40 bins → 25 → 50 wide: [0,50) holds 1..49, then 50 each,
     * and [1000, 1050) holds 1000 */
    int64_t *v = g_new(int64_t, 1000);
    for (int i = 0; i < 1000; i++)
        v[i] = i + 1;
    rp_bin b[RP_HIST_MAX_BINS];
    bool logb;
    size_t nb = rp__histogram(v, 1000, 1.0, true, b, &logb);
    cr_assert_eq(nb, 21u);
    cr_expect_eq(b[0].lo, 0.0);
    cr_expect_eq(b[0].count, 49u);
    for (size_t i = 1; i < 20; i++)
        cr_expect_eq(b[i].count, 50u, "bin %zu", i);
    cr_expect_eq(b[20].lo, 1000.0);
    cr_expect_eq(b[20].count, 1u);
    g_free(v);
}

Test(dist, latencies_spread_over_decades_get_ten_log_bins_per_decade)
{
    const int64_t ns[] = {1000000, 10000000, 100000000, 1000000000}; /* 1, 10, 100, 1000 ms */
    rp_bin b[RP_HIST_MAX_BINS];
    bool logb = false;
    size_t nb = rp__histogram(ns, 4, 1e6, false, b, &logb);
    cr_assert(logb);
    cr_assert_eq(nb, 30u);
    cr_expect_eq(b[0].lo, 1.0);
    cr_expect_eq(b[10].lo, 10.0);
    cr_expect_eq(b[20].lo, 100.0);
    cr_expect_eq(b[29].hi, 1000.0);
    cr_expect_eq(b[1].lo, 1.26); /* 10^0.1 to 3 digits */
    cr_expect_eq(b[0].count + b[10].count + b[20].count + b[29].count, 4u);
    cr_expect_eq(b[29].count, 1u, "the maximum lands in the closed last bin");
    for (size_t i = 0; i < nb; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.10g", b[i].lo);
        cr_expect_eq(strtod(buf, NULL), b[i].lo, "edge %zu prints exactly", i);
    }
}

Test(dist, linear_bins_have_printable_edges_and_close_the_last_bin)
{
    const int64_t ns[] = {0, 500000, 1000000}; /* 0, 0.5, 1 ms: width 1/40 → 0.05 */
    rp_bin b[RP_HIST_MAX_BINS];
    bool logb;
    size_t nb = rp__histogram(ns, 3, 1e6, false, b, &logb);
    cr_expect(!logb);
    cr_assert_eq(nb, 21u);
    cr_expect_eq(b[0].lo, 0.0);
    cr_expect_eq(b[0].count, 1u);
    cr_expect_eq(b[10].lo, 0.5);
    cr_expect_eq(b[10].count, 1u);
    cr_expect_eq(b[20].lo, 1.0);
    cr_expect_eq(b[20].count, 1u);
    uint64_t total = 0;
    for (size_t i = 0; i < nb; i++)
        total += b[i].count;
    cr_expect_eq(total, 3u);
}

Test(dist, one_value_gets_one_bin_holding_it)
{
    const int64_t ns[] = {7000000, 7000000};
    rp_bin b[RP_HIST_MAX_BINS];
    bool logb;
    size_t nb = rp__histogram(ns, 2, 1e6, false, b, &logb);
    cr_assert_eq(nb, 1u);
    cr_expect(b[0].lo <= 7.0 && 7.0 < b[0].hi);
    cr_expect_eq(b[0].count, 2u);
}

/* ---- time buckets -------------------------------------------------------------------------- */

Test(dist, time_weighted_sums_split_intervals_at_bucket_edges)
{
    rp_buckets b;
    rp__buckets_init(&b, 0, 1000); /* width ⌈1000/240⌉ = 5 ns, 200 buckets */
    cr_assert_eq(b.width, 5);
    cr_assert_eq(b.n, 200u);
    double *sum = g_new0(double, b.n), *diff = g_new0(double, b.n + 1);
    rp__buckets_spread(&b, 2, 13, 1.0, sum, diff);   /* 3 + 5 + 3 ns */
    rp__buckets_spread(&b, 0, 1000, 2.0, sum, diff); /* weight 2 over everything */
    rp__buckets_finish(&b, sum, diff);
    cr_expect_float_eq(sum[0], 3.0 + 10.0, 1e-12);
    cr_expect_float_eq(sum[1], 5.0 + 10.0, 1e-12);
    cr_expect_float_eq(sum[2], 3.0 + 10.0, 1e-12);
    double total = 0;
    for (size_t i = 0; i < b.n; i++)
        total += sum[i];
    cr_expect_float_eq(total, 11.0 + 2000.0, 1e-9);
    g_free(sum);
    g_free(diff);
}

Test(dist, the_last_bucket_may_be_short)
{
    rp_buckets b;
    rp__buckets_init(&b, 100, 1101); /* span 1001: width 5, 201 buckets, the last 1 ns */
    cr_assert_eq(b.n, 201u);
    cr_expect_eq(rp__bucket_width(&b, 200), 1);
    double *sum = g_new0(double, b.n), *diff = g_new0(double, b.n + 1);
    rp__buckets_spread(&b, 0, 5000, 1.0, sum, diff); /* clipped to the window */
    rp__buckets_finish(&b, sum, diff);
    cr_expect_float_eq(sum[200], 1.0, 1e-12);
    cr_expect_float_eq(sum[0], 5.0, 1e-12);
    cr_expect_eq(rp__bucket_of(&b, 99), 0u);
    cr_expect_eq(rp__bucket_of(&b, 5000), 200u);
    g_free(sum);
    g_free(diff);
}

/* ---- specs --------------------------------------------------------------------------------- */

Test(spec, dotted_field_names_are_escaped_and_types_read_from_the_suffix)
{
    json_auto_t *f = rp__vl_field("workload.rate", "rate");
    cr_expect_str_eq(json_string_value(json_object_get(f, "field")), "workload\\.rate");
    cr_expect_str_eq(json_string_value(json_object_get(f, "type")), "quantitative");
    json_auto_t *g = rp__vl_field("series:N", NULL);
    cr_expect_str_eq(json_string_value(json_object_get(g, "field")), "series");
    cr_expect_str_eq(json_string_value(json_object_get(g, "type")), "nominal");
    cr_expect_null(json_object_get(g, "title"));
}

/* ---- the embedded library and the page ----------------------------------------------------- */

Test(page, embedded_chart_library_is_the_published_npm_build)
{
    /* SHA-256 of build/NAME.min.js in the npm tarballs (report/vendor/SOURCE.md) */
    const struct {
        const char *name, *sha256;
        size_t bytes;
    } libs[] = {
        {"report/vega.min.js.gz",
         "8f6a3587cf8d4f42c7e08120e3eb05d067e746d554e39d2dcf52acc0bd5ba28f", 521123},
        {"report/vega-lite.min.js.gz",
         "83e215e84e308ee8688fa6503ba0f1cf8a3c05c0d61df2841a0b92bf86809e00", 257954},
        {"report/vega-embed.min.js.gz",
         "b1455caba2fb1a72fb46025ba0ba1316e2dbc7f0dd40a3f6040172bf9c08ba91", 60298},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(libs); i++) {
        GError *e = NULL;
        GBytes *b = base_asset_bytes(libs[i].name, &e);
        cr_assert_not_null(b, "%s", e ? e->message : "");
        size_t n;
        const char *s = g_bytes_get_data(b, &n);
        cr_expect_eq(n, libs[i].bytes, "%s", libs[i].name);
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)s, n);
        cr_expect_str_eq(sum, libs[i].sha256, "%s", libs[i].name);
        g_autofree char *low = g_ascii_strdown(s, (gssize)n);
        cr_expect_null(strstr(low, "</script"), "%s would end its <script> early", libs[i].name);
        g_bytes_unref(b);
    }
    cr_expect_not_null(base_asset_find("report/page.js"));
    cr_expect_not_null(base_asset_find("report/page.css"));
}

Test(page, markup_characters_stay_out_of_the_markup)
{
    json_auto_t *doc = json_pack("{s:s, s:s, s:[s], s:[]}", "format", "servesim-report/1", "title",
                                 "<b>a & b</b></script>", "inputs", "x</script>y", "sections");
    GError *e = NULL;
    GString *g = rp__page_render(doc, &e);
    cr_assert_not_null(g, "%s", e ? e->message : "");
    cr_expect_not_null(
        strstr(g->str, "<title>&lt;b&gt;a &amp; b&lt;/b&gt;&lt;/script&gt;</title>"));
    const char *open = "<script type=\"application/json\" id=\"servesim-report\">";
    const char *a = strstr(g->str, open);
    cr_assert_not_null(a);
    a += strlen(open);
    const char *z = strstr(a, "</script>");
    cr_assert_not_null(z);
    g_autofree char *js = g_strndup(a, (size_t)(z - a));
    cr_expect_null(strchr(js, '<'), "no '<' inside the JSON element");
    json_error_t je;
    json_auto_t *back = json_loads(js, 0, &je);
    cr_assert_not_null(back, "%s", je.text);
    cr_expect(json_equal(back, doc), "the document reads back as written");
    /* a page starts with the doctype and ends its html element */
    cr_expect(g_str_has_prefix(g->str, "<!DOCTYPE html>"));
    cr_expect(g_str_has_suffix(g->str, "</html>\n"));
    g_string_free(g, TRUE);
}

/* ---- input detection ----------------------------------------------------------------------- */

static char *tmpdir;

static void
setup(void)
{
    tmpdir = g_dir_make_tmp("servesim-report-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    (void)!system(cmd);
    g_free(tmpdir);
}

TestSuite(detect, .init = setup, .fini = teardown, .timeout = 60);

static char *
write_file(const char *name, const char *text)
{
    char *p = g_build_filename(tmpdir, name, NULL);
    g_autofree char *d = g_path_get_dirname(p);
    g_mkdir_with_parents(d, 0755);
    cr_assert(g_file_set_contents(p, text, -1, NULL));
    return p;
}

/* Renders IN and expects a failure whose one-line message names IN and contains WHAT. */
static void
expect_refused(const char *in, int code, const char *what)
{
    GError *e = NULL;
    const char *ins[] = {in};
    GString *g = rp_report_render(ins, 1, NULL, &e);
    cr_assert_null(g, "%s was accepted", in);
    cr_assert_not_null(e);
    if (code >= 0)
        cr_expect(e->domain == RP_ERROR && e->code == code, "%s: code %d: %s", in, e->code,
                  e->message);
    cr_expect_not_null(strstr(e->message, in), "message names the input: %s", e->message);
    cr_expect_not_null(strstr(e->message, what), "'%s' not in: %s", what, e->message);
    cr_expect_null(strchr(e->message, '\n'), "one line: %s", e->message);
    g_error_free(e);
}

Test(detect, files_that_are_no_servesim_output_are_named_and_refused)
{
    g_autofree char *txt = write_file("notes.txt", "hello\nworld\n");
    expect_refused(txt, RP_ERROR_INPUT, "not a servesim output");
    g_autofree char *csv = write_file("other.csv", "a,b,c\n1,2,3\n");
    expect_refused(csv, RP_ERROR_INPUT, "not a servesim output");
    g_autofree char *json = write_file("other.json", "{\"name\": \"x\"}\n");
    expect_refused(json, RP_ERROR_INPUT, "not a servesim output");
    g_autofree char *empty = write_file("empty.json", "");
    expect_refused(empty, -1, "empty");
    g_autofree char *bad = write_file("bad.json", "{\"servesim\": \n");
    expect_refused(bad, -1, "bad.json:");
    g_autofree char *missing = g_build_filename(tmpdir, "nope", NULL);
    expect_refused(missing, RP_ERROR_INPUT, "no such file");
    g_autofree char *dir = g_build_filename(tmpdir, "emptydir", NULL);
    g_mkdir_with_parents(dir, 0755);
    expect_refused(dir, RP_ERROR_INPUT, "no servesim outputs");
}

Test(detect, outputs_of_another_version_are_refused_with_the_version)
{
    g_autofree char *sum =
        write_file("run/summary.json", "{\"servesim\": {\"version\": \"9.9.0\", \"git\": \"x\"}, "
                                       "\"config\": {}, \"metrics\": {}}\n");
    expect_refused(sum, RP_ERROR_VERSION, "9.9.0");
    g_autofree char *dir = g_build_filename(tmpdir, "run", NULL);
    expect_refused(dir, RP_ERROR_VERSION, "9.9.0"); /* found through the directory too */
    g_autofree char *sw =
        write_file("sw/sweep.jsonl", "{\"format\": \"servesim-sweep/2\", \"kind\": \"sweep\"}\n"
                                     "{\"point\": 0}\n");
    expect_refused(sw, RP_ERROR_VERSION, "servesim-sweep/2");
    g_autofree char *est = write_file(
        "est.json", "{\"model\": {}, \"scenario\": {}, \"prefill\": {}, \"summary\": {}}\n");
    expect_refused(est, RP_ERROR_VERSION, "format");
    g_autofree char *sc =
        write_file("sc.csv", "tp,predicted_prefill_ms,predicted_decode_ms\n1,2.0,3.0\n");
    expect_refused(sc, RP_ERROR_VERSION, "predicted_tpot_ms");
}

Test(detect, partial_outputs_say_what_is_missing)
{
    g_autofree char *rq =
        write_file("lone/requests.csv", "id,replica,stage,ttft_ms,send_ms\n0,0,0,1.0,0.0\n");
    expect_refused(rq, RP_ERROR_INPUT, "summary.json is not next to it");
    g_autofree char *steps =
        write_file("lone/steps.jsonl", "{\"replica\": 0, \"step\": 1, \"kv_blocks\": {}}\n"
                                       "{\"replica\": 0, \"step\": 2, \"kv_blocks\": {}}\n");
    expect_refused(steps, RP_ERROR_INPUT, "summary.json is not next to it");
    g_autofree char *shard =
        write_file("sh/sweep.shard-1-of-2.jsonl",
                   "{\"format\": \"servesim-sweep/1\", \"kind\": \"sweep\", \"shard\": \"1/2\", "
                   "\"definition\": {}}\n{\"point\": 0}\n");
    expect_refused(shard, RP_ERROR_INPUT, "servesim merge");
    g_autofree char *est = write_file(
        "est2.json", "{\"format\": \"servesim-estimate/1\", \"scenario\": {}, \"prefill\": {}}\n");
    expect_refused(est, RP_ERROR_INPUT, "decode");
}
