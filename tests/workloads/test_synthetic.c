/* tests/workloads/test_synthetic.c: generator statistics for fixed seeds (rates, CV, length
 * means within tolerances derived from the distributions' own standard errors), load stages,
 * closed-loop clients, multi-turn sessions, shared prefixes, determinism, bad settings. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/stats.h"
#include "wlt.h"
#include "workloads/dist.h"
#include "workloads/workload.h"

TestSuite(synthetic, .timeout = 60);

static wl_source *
must_open(GError **err, wl_source *s)
{
    cr_assert_not_null(s, "%s", *err ? (*err)->message : "");
    return s;
}

/* Inter-arrival moments of the whole stream. */
static void
gaps(wl_source *s, base_moments *m, uint64_t *n)
{
    wl_request r;
    GError *err = NULL;
    int64_t prev = 0;
    *n = 0;
    memset(m, 0, sizeof *m);
    while (wl_source_next(s, &r, &err) == 1) {
        if (*n > 0)
            base_moments_add(m, (double)(r.arrival_ns - prev) * 1e-9);
        prev = r.arrival_ns;
        (*n)++;
    }
    cr_assert_null(err);
}

Test(synthetic, poisson_rate_and_cv)
{
    GError *err = NULL;
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(7, 0, &err, "--workload", "synthetic", "--rate", "10",
                                 "--num-requests", "40000", NULL));
    base_moments m;
    uint64_t n;
    gaps(s, &m, &n);
    cr_expect_eq(n, 40000);
    /* Mean of 39,999 Exp(10) gaps: 0.1 ± 0.0005 (1σ); CV 1 ± ~0.007. */
    cr_expect(fabs(m.mean - 0.1) < 0.0025, "mean %g", m.mean);
    cr_expect(fabs(base_moments_cv(&m) - 1.0) < 0.04, "cv %g", base_moments_cv(&m));
}

Test(synthetic, gamma_burstiness_sets_cv_keeping_the_rate)
{
    /* vLLM: shape = burstiness, scale = 1/(rate·burstiness): mean 1/rate, CV 1/sqrt(b). */
    const double b[] = {0.25, 4.0};
    for (size_t i = 0; i < G_N_ELEMENTS(b); i++) {
        GError *err = NULL;
        g_autofree char *bs = g_strdup_printf("%g", b[i]);
        g_autoptr(wl_source) s = must_open(
            &err, wlt_open(11, 0, &err, "--workload", "synthetic", "--arrival", "gamma", "--rate",
                           "4", "--burstiness", bs, "--num-requests", "60000", NULL));
        base_moments m;
        uint64_t n;
        gaps(s, &m, &n);
        double cv = 1 / sqrt(b[i]);
        cr_expect(fabs(m.mean - 0.25) < 0.25 * cv * 5 / sqrt(60000.0), "b %g mean %g", b[i],
                  m.mean);
        cr_expect(fabs(base_moments_cv(&m) - cv) < 0.06 * cv, "b %g cv %g", b[i],
                  base_moments_cv(&m));
    }
}

Test(synthetic, constant_spacing_is_exact_and_first_request_is_at_zero)
{
    GError *err = NULL;
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(0, 0, &err, "--workload", "synthetic", "--arrival", "constant",
                                 "--rate", "3", "--num-requests", "7", NULL));
    wl_request r;
    for (int j = 0; j < 7; j++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        cr_expect_eq(r.arrival_ns, llround(j / 3.0 * 1e9));
        cr_expect_eq(r.prompt_tokens, 1024, "default input length");
        cr_expect_eq(r.output_tokens, 128, "default output length");
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
}

Test(synthetic, no_rate_sends_everything_at_zero_and_defaults_to_1000)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = must_open(&err, wlt_open(0, 0, &err, "--workload", "synthetic", NULL));
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 1000);
    cr_expect_eq(st.last_ns, 0);
    cr_expect(st.consistent);
}

static void
length_moments(const char *spec, uint64_t n, base_moments *m, uint32_t *lo, uint32_t *hi)
{
    GError *err = NULL;
    g_autofree char *ns = g_strdup_printf("%lu", (unsigned long)n);
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(13, 0, &err, "--workload", "synthetic", "--input-len", spec,
                                 "--num-requests", ns, NULL));
    memset(m, 0, sizeof *m);
    *lo = UINT32_MAX;
    *hi = 0;
    wl_request r;
    while (wl_source_next(s, &r, &err) == 1) {
        base_moments_add(m, r.prompt_tokens);
        *lo = MIN(*lo, r.prompt_tokens);
        *hi = MAX(*hi, r.prompt_tokens);
    }
    cr_assert_null(err);
}

Test(synthetic, length_distributions)
{
    base_moments m;
    uint32_t lo, hi;
    length_moments("fixed:512", 100, &m, &lo, &hi);
    cr_expect(lo == 512 && hi == 512);
    length_moments("uniform:100:200", 20000, &m, &lo, &hi);
    cr_expect(lo == 100 && hi == 200, "integer uniform, both ends included: %u..%u", lo, hi);
    /* mean 150, sd 29.2: standard error 0.2 */
    cr_expect(fabs(m.mean - 150) < 1.0, "%g", m.mean);
    length_moments("normal:1000:100:900:1100", 20000, &m, &lo, &hi);
    cr_expect(lo >= 900 && hi <= 1100, "clipped to [900, 1100]");
    cr_expect(fabs(m.mean - 1000) < 3.5, "%g", m.mean);
    length_moments("lognormal:800:400", 40000, &m, &lo, &hi);
    /* moment-matched: mean 800, sd 400 (standard error of the mean 2) */
    cr_expect(fabs(m.mean - 800) < 10, "%g", m.mean);
    cr_expect(fabs(base_moments_std(&m) - 400) < 25, "%g", base_moments_std(&m));
    length_moments("normal:5:10", 5000, &m, &lo, &hi);
    cr_expect_geq(lo, 1, "token counts are at least 1");
}

Test(synthetic, zipf_lengths_follow_the_power_law)
{
    /* zipf:1.2:50: P(1) = 1/H where H = Σ_{k=1}^{50} k^-1.2 (computed here from the
     * definition), P(2) = 2^-1.2/H. */
    double H = 0;
    for (int k = 1; k <= 50; k++)
        H += pow(k, -1.2);
    GError *err = NULL;
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(17, 0, &err, "--workload", "synthetic", "--input-len",
                                 "zipf:1.2:50", "--num-requests", "50000", NULL));
    wl_request r;
    uint64_t c1 = 0, c2 = 0, n = 0, over = 0;
    while (wl_source_next(s, &r, &err) == 1) {
        n++;
        c1 += r.prompt_tokens == 1;
        c2 += r.prompt_tokens == 2;
        over += r.prompt_tokens > 50;
    }
    double p1 = 1 / H, p2 = pow(2, -1.2) / H;
    cr_expect(fabs((double)c1 / (double)n - p1) < 5 * sqrt(p1 * (1 - p1) / (double)n));
    cr_expect(fabs((double)c2 / (double)n - p2) < 5 * sqrt(p2 * (1 - p2) / (double)n));
    cr_expect_eq(over, 0);
}

Test(synthetic, empirical_lengths_from_any_reader)
{
    /* The embedded Azure sample: mean prompt 3,287,402 / 2,867 = 1146.63 (sd ~ 1,000). */
    GError *err = NULL;
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(19, 0, &err, "--workload", "synthetic", "--input-len",
                                 "empirical:azure-conv-10min", "--num-requests", "20000", NULL));
    base_moments m = {0};
    wl_request r;
    while (wl_source_next(s, &r, &err) == 1)
        base_moments_add(&m, r.prompt_tokens);
    cr_expect(fabs(m.mean - 1146.63) < 5 * 1000 / sqrt(20000.0), "%g", m.mean);
    cr_expect_eq(r.output_tokens, 128);
}

Test(synthetic, empirical_same_file_draws_pairs_jointly)
{
    /* Every (prompt, output) pair drawn must be a row of the BurstGPT sample (failed rows are
     * skipped by the reader, so output 0 never appears). */
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(WLT_SAMPLES "/burstgpt-sample.csv", &text, NULL, NULL));
    g_autoptr(GHashTable) pairs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (size_t i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
        g_hash_table_add(pairs, g_strdup_printf("%s/%s", f[2], f[3]));
    }
    GError *err = NULL;
    const char *e = "empirical:" WLT_SAMPLES "/burstgpt-sample.csv";
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(23, 0, &err, "--workload", "synthetic", "--input-len", e,
                                 "--output-len", e, "--num-requests", "2000", NULL));
    wl_request r;
    while (wl_source_next(s, &r, &err) == 1) {
        g_autofree char *k = g_strdup_printf("%u/%u", r.prompt_tokens, r.output_tokens);
        cr_assert(g_hash_table_contains(pairs, k), "pair %s is not in the file", k);
    }
}

Test(synthetic, stages_run_back_to_back_at_their_rates)
{
    /* Poisson stages 5 req/s × 200 s then 20 req/s × 100 s: counts 1,000 ± 32 and 2,000 ± 45
     * (1σ). Stage starts at 0 and 200 s. */
    GError *err = NULL;
    g_autoptr(wl_source) s = must_open(
        &err, wlt_open(29, 0, &err, "--workload", "synthetic", "--stages", "5:200,20:100", NULL));
    const wl_source_info *info = wl_source_get_info(s);
    cr_assert_eq(info->nstages, 2);
    cr_expect_eq(info->stages[1].start_ns, 200000000000);
    cr_expect_eq(info->stages[1].rate, 20);
    uint64_t count[2] = {0, 0};
    wl_request r;
    while (wl_source_next(s, &r, &err) == 1) {
        cr_assert_lt(r.stage, 2);
        count[r.stage]++;
        if (r.stage == 0)
            cr_assert_lt(r.arrival_ns, 200000000000);
        else
            cr_assert(r.arrival_ns >= 200000000000 && r.arrival_ns < 300000000000);
    }
    cr_expect(fabs((double)count[0] - 1000) < 160, "%lu", (unsigned long)count[0]);
    cr_expect(fabs((double)count[1] - 2000) < 225, "%lu", (unsigned long)count[1]);
}

Test(synthetic, constant_stages_send_rate_times_duration)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = must_open(
        &err, wlt_open(0, 0, &err, "--workload", "synthetic", "--arrival", "constant", "--stages",
                       "[{\"rate\": 2, \"duration\": 10}, {\"rate\": 4, "
                       "\"duration\": 5}]",
                       NULL));
    uint64_t count[2] = {0, 0};
    wl_request r;
    int64_t last = -1;
    while (wl_source_next(s, &r, &err) == 1) {
        count[r.stage]++;
        last = r.arrival_ns;
    }
    cr_expect_eq(count[0], 20);
    cr_expect_eq(count[1], 20);
    cr_expect_eq(last, 10000000000 + 19 * INT64_C(250000000));
}

Test(synthetic, closed_loop_clients)
{
    GError *err = NULL;
    g_autoptr(wl_source) s =
        must_open(&err, wlt_open(0, 0, &err, "--workload", "synthetic", "--clients", "4",
                                 "--num-requests", "10", "--think-time", "fixed:0.5", NULL));
    cr_expect(wl_source_get_info(s)->sessions);
    wl_request r;
    for (uint64_t k = 0; k < 10; k++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        cr_expect_eq(r.session_id, k % 4 + 1);
        cr_expect_eq(r.turn, k / 4);
        cr_expect_eq(r.arrival_ns, 0);
        cr_expect_eq(r.think_ns, k < 4 ? 0 : 500000000);
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
}

Test(synthetic, multi_turn_sessions_carry_the_conversation)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = must_open(
        &err, wlt_open(31, 0, &err, "--workload", "synthetic", "--turns", "fixed:3", "--rate", "1",
                       "--num-requests", "9", "--input-len", "uniform:10:20", "--output-len",
                       "uniform:5:9", "--prefix-len", "32", NULL));
    wl_request r;
    for (int sess = 1; sess <= 3; sess++) {
        wl_segment hist[16];
        uint32_t nhist = 0;
        int64_t t0 = -1;
        for (uint32_t turn = 0; turn < 3; turn++) {
            cr_assert_eq(wl_source_next(s, &r, &err), 1);
            cr_expect_eq(r.session_id, (uint64_t)sess);
            cr_expect_eq(r.turn, turn);
            if (turn == 0)
                t0 = r.arrival_ns;
            cr_expect_eq(r.arrival_ns, t0, "later turns carry the session's nominal time");
            cr_assert_eq(r.nsegments, 2 + 2 * turn, "prefix + (Q A)^turn + Q");
            cr_expect_eq(r.segments[0].tokens, 32);
            for (uint32_t i = 0; i < nhist; i++) {
                cr_expect_eq(r.segments[i].content_id, hist[i].content_id);
                cr_expect_eq(r.segments[i].tokens, hist[i].tokens);
            }
            memcpy(hist, r.segments, r.nsegments * sizeof *hist);
            nhist = r.nsegments;
            hist[nhist++] = (wl_segment){r.output_content_id, r.output_tokens};
        }
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
}

Test(synthetic, shared_prefixes_are_few_distinct_segments)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = must_open(
        &err, wlt_open(37, 0, &err, "--workload", "synthetic", "--prefix-len", "100",
                       "--num-prefixes", "3", "--input-len", "50", "--num-requests", "300", NULL));
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GHashTable) tails = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    wl_request r;
    while (wl_source_next(s, &r, &err) == 1) {
        cr_assert_eq(r.nsegments, 2);
        cr_expect_eq(r.prompt_tokens, 150);
        g_hash_table_add(ids, g_memdup2(&r.segments[0].content_id, 8));
        g_hash_table_add(tails, g_memdup2(&r.segments[1].content_id, 8));
    }
    cr_expect_eq(g_hash_table_size(ids), 3);
    cr_expect_eq(g_hash_table_size(tails), 300);
}

Test(synthetic, same_seed_same_stream_and_streams_are_independent)
{
    const char *base[] = {"--workload",
                          "synthetic",
                          "--arrival",
                          "gamma",
                          "--burstiness",
                          "0.5",
                          "--rate",
                          "8",
                          "--input-len",
                          "lognormal:500:300",
                          "--num-requests",
                          "3000",
                          NULL};
    GError *err = NULL;
    wlt_stats a, b, c;
    g_autoptr(wl_source) s1 = must_open(&err, wlt_openv(42, 0, base, &err));
    g_autoptr(wl_source) s2 = must_open(&err, wlt_openv(42, 0, base, &err));
    g_autoptr(wl_source) s3 = must_open(&err, wlt_openv(43, 0, base, &err));
    cr_assert_eq(wlt_drain(s1, &a, &err), 0);
    cr_assert_eq(wlt_drain(s2, &b, &err), 0);
    cr_assert_eq(wlt_drain(s3, &c, &err), 0);
    cr_expect_eq(a.digest, b.digest);
    cr_expect_neq(a.digest, c.digest);
    /* Another output length distribution leaves the arrival times unchanged. */
    const char *other[] = {
        "--workload", "synthetic", "--arrival",    "gamma",       "--burstiness",   "0.5",
        "--rate",     "8",         "--output-len", "uniform:1:9", "--num-requests", "3000",
        NULL};
    g_autoptr(wl_source) s4 = must_open(&err, wlt_openv(42, 0, other, &err));
    wlt_stats d;
    cr_assert_eq(wlt_drain(s4, &d, &err), 0);
    cr_expect_eq(d.last_ns, a.last_ns);
}

Test(synthetic, bad_settings_are_clear_errors)
{
    const struct {
        const char *flag, *value, *needle;
    } cases[] = {
        {"--input-len", "gaussian:5", "unknown distribution 'gaussian:5'"},
        {"--input-len", "uniform:9:3", "MIN is larger than MAX"},
        {"--input-len", "fixed:0", "token counts must be >= 1"},
        {"--output-len", "normal:x:1", "parameters must be numbers"},
        {"--input-len", "empirical:/no/such/file", "empirical:/no/such/file"},
        {"--stages", "5:0", "stage 0: duration 0 s is out of range (more than 0"},
        {"--stages", "fast", "expected RATE:SECONDS"},
        {"--turns", "zipf:0:3", "needs S > 0"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        wl_source *s =
            wlt_open(0, 0, &err, "--workload", "synthetic", cases[i].flag, cases[i].value, NULL);
        cr_expect_null(s, "%s %s", cases[i].flag, cases[i].value);
        cr_assert_not_null(err);
        cr_expect(strstr(err->message, cases[i].needle) != NULL, "%s", err->message);
        cr_expect(err->domain == WL_ERROR);
        g_clear_error(&err);
        wl_source_free(s);
    }
    GError *err = NULL;
    cr_expect_null(
        wlt_open(0, 0, &err, "--workload", "synthetic", "--clients", "3", "--rate", "1", NULL));
    cr_expect(err && strstr(err->message, "closed loop") != NULL);
    g_clear_error(&err);
    cr_expect_null(wlt_open(0, 0, &err, "--workload", "synthetic", "--think-time", "1", NULL));
    cr_expect(err && strstr(err->message, "--think-time") != NULL);
    g_clear_error(&err);
    cr_expect_null(wlt_open(0, 0, &err, "--input-len", "fixed:5", NULL));
    cr_expect(err && strstr(err->message, "applies to synthetic workloads") != NULL, "%s",
              err ? err->message : "");
    g_clear_error(&err);
}
