/* tests/sweep/test_slo.c: the SLO grammar (terms, presets with the MLPerf figures typed from
 * mlcommons/inference loadgen/mlperf.conf, errors), checks and binding terms on hand-made
 * metrics, and the metric columns (ns → ms, the JSON round trip). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sweep/slo.h"

static char *
parse_err(const char *spec)
{
    const char *specs[] = {spec, NULL};
    sw_slo s;
    GError *err = NULL;
    if (sw_slo_parse(specs, &s, &err))
        return NULL;
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

static char *
canon(const char *a, const char *b)
{
    const char *specs[] = {a, b, NULL};
    sw_slo s;
    cr_assert(sw_slo_parse(specs, &s, NULL), "%s %s", a, b ? b : "");
    return sw_slo_to_string(&s);
}

Test(slo, terms_and_presets)
{
    char *c = canon("ttft_p99:500, tpot_p99:50", "e2el_mean:1e4");
    cr_expect_str_eq(c, "ttft_p99:500,tpot_p99:50,e2el_mean:10000");
    g_free(c);
    c = canon("mlperf:llama2-70b", NULL);
    cr_expect_str_eq(c, "ttft_p99:2000,tpot_p99:200");
    g_free(c);
    c = canon("mlperf:llama3_1-8b-interactive", "failed:0");
    cr_expect_str_eq(c, "ttft_p99:500,tpot_p99:30,failed:0");
    g_free(c);
    c = canon("mlperf:deepseek-r1-interactive", NULL);
    cr_expect_str_eq(c, "ttft_p99:1500,tpot_p99:15");
    g_free(c);
    c = canon("distserve", NULL);
    cr_expect_str_eq(c, "goodput:0.9");
    g_free(c);
    c = canon(NULL, NULL);
    cr_expect_str_eq(c, "");
    g_free(c);
}

Test(slo, bad_terms_are_one_line_errors)
{
    char *e = parse_err("ttfb_p99:500");
    cr_assert_not_null(e);
    cr_expect(strstr(e, "unknown metric 'ttfb_p99'") != NULL, "%s", e);
    cr_expect(strstr(e, "did you mean ttft_p99") != NULL, "%s", e);
    g_free(e);
    e = parse_err("ttft_p99:500,ttft_p99:400");
    cr_expect_str_eq(e, "--slo ttft_p99:400: ttft_p99 is bounded twice");
    g_free(e);
    e = parse_err("goodput:1.5");
    cr_expect_str_eq(e, "--slo goodput:1.5: the bound must be a fraction in (0, 1]");
    g_free(e);
    e = parse_err("ttft_p99:-1");
    cr_expect_str_eq(e, "--slo ttft_p99:-1: the bound must be a number of milliseconds ≥ 0");
    g_free(e);
    e = parse_err("ttft_p99");
    cr_expect(strstr(e, "expected METRIC:BOUND") != NULL, "%s", e);
    g_free(e);
    e = parse_err("mlperf:llama2-7b");
    cr_expect(strstr(e, "unknown MLPerf benchmark") != NULL, "%s", e);
    g_free(e);
    e = parse_err("ttft_p99:500,");
    cr_expect(strstr(e, "empty term") != NULL, "%s", e);
    g_free(e);
}

static sw_metrics
metrics(double ttft_p99, double tpot_p99, double good_fraction)
{
    sw_metrics m;
    memset(&m, 0, sizeof m);
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++)
            m.lat_ms[l][s] = 1.0;
    m.lat_ms[SW_LAT_TTFT][SW_STAT_P99] = ttft_p99;
    m.lat_ms[SW_LAT_TPOT][SW_STAT_P99] = tpot_p99;
    m.good_fraction = good_fraction;
    m.fail_fraction = 0;
    return m;
}

Test(slo, checks_and_the_binding_term)
{
    const char *specs[] = {"ttft_p99:500,tpot_p99:50,goodput:0.9", NULL};
    sw_slo s;
    cr_assert(sw_slo_parse(specs, &s, NULL));
    int b = -2;
    sw_metrics m = metrics(400, 45, 0.95); /* ratios 0.8, 0.9, 0.947 */
    cr_expect(sw_slo_check(&s, &m, &b));
    cr_expect_eq(b, 2);
    m = metrics(600, 40, 0.99); /* ttft broken: 1.2 */
    cr_expect_not(sw_slo_check(&s, &m, &b));
    cr_expect_eq(b, 0);
    cr_expect_str_eq(sw_slo_metric_name(s.t[b].metric), "ttft_p99");
    m = metrics(600, 70, 0.99); /* both broken, tpot further: 1.4 > 1.2 */
    cr_expect_not(sw_slo_check(&s, &m, &b));
    cr_expect_eq(b, 1);
    m = metrics(100, 10, 0.5); /* goodput broken: 0.9 / 0.5 */
    cr_expect_not(sw_slo_check(&s, &m, &b));
    cr_expect_eq(b, 2);
    m = metrics(NAN, 10, 0.99); /* no successful request: the statistic does not exist */
    cr_expect_not(sw_slo_check(&s, &m, &b));
    cr_expect_eq(b, 0);
    m = metrics(500, 50, 0.9); /* bounds are inclusive */
    cr_expect(sw_slo_check(&s, &m, NULL));
}

Test(slo, metrics_come_from_the_overall_scope_in_ms_and_round_trip)
{
    sim_metrics_result r;
    memset(&r, 0, sizeof r);
    r.overall.sent = 10;
    r.overall.completed = 8;
    r.overall.failed = 2;
    r.overall.good = 6;
    r.overall.duration_s = 4;
    r.overall.request_throughput = 2;
    r.slo.any = true;
    r.overall.goodput = 1.5;
    r.overall.ttft_ns.n = 8;
    r.overall.ttft_ns.mean = 2.5e8;
    r.overall.ttft_ns.pct[SIM_PCT_99] = 5.25e8;
    r.overall.ttft_ns.pct[SIM_PCT_50] = 2e8;
    sw_metrics m;
    sw_metrics_from_result(&m, &r, 0.75, 0.5);
    cr_expect_eq(m.lat_ms[SW_LAT_TTFT][SW_STAT_P99], 525.0);
    cr_expect_eq(m.lat_ms[SW_LAT_TTFT][SW_STAT_MEAN], 250.0);
    cr_expect_eq(m.lat_ms[SW_LAT_TTFT][SW_STAT_P50], 200.0);
    cr_expect(isnan(m.lat_ms[SW_LAT_TPOT][SW_STAT_P99]), "no TPOT samples: NAN");
    cr_expect_eq(m.good_fraction, 0.6);
    cr_expect_eq(m.fail_fraction, 0.2);
    json_t *o = json_object();
    sw_metrics_to_json(&m, o, "x_");
    cr_expect_eq(json_real_value(json_object_get(o, "x_ttft_p99_ms")), 525.0);
    cr_expect(json_is_null(json_object_get(o, "x_tpot_p99_ms")));
    sw_metrics back;
    sw_metrics_from_json(&back, o, "x_");
    cr_expect_eq(back.sent, 10);
    cr_expect_eq(back.failed, 2);
    cr_expect_eq(back.good, 6);
    cr_expect_eq(back.utilization, 0.75);
    cr_expect_eq(back.lat_ms[SW_LAT_TTFT][SW_STAT_P99], 525.0);
    json_decref(o);
}
