/* tests/workloads/test_transforms.c: --time-scale, --rate (rescale keeping the burst shape),
 * --start/--duration windows, --limit, the max_model_len policy, the streaming shuffle.
 * Expected figures for the embedded Azure sample were computed with Python (csv module):
 * 191 arrivals before 60 s, 594 in [60, 180) s (first 60.1722 s, last 179.895252 s); 325
 * rows with prompt + output > 2048; after clipping (output kept up to 2047, prompt cut to
 * 2048 - output) Σ prompt = 2,782,129 and Σ output = 746,194. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "wlt.h"
#include "workloads/workload.h"

TestSuite(transforms, .timeout = 60);

static wlt_stats
run(uint64_t seed, int64_t max_len, const char *const *argv, wl_counters *c)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(seed, max_len, argv, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0, "%s", err ? err->message : "");
    if (c != NULL)
        *c = wl_source_get_counters(s);
    cr_expect(st.sorted && st.consistent);
    return st;
}

Test(transforms, time_scale_multiplies_times)
{
    const char *a[] = {"--workload", "burstgpt-sample", "--time-scale", "2", NULL};
    wlt_stats st = run(0, 0, a, NULL);
    cr_expect_eq(st.n, 374);
    cr_expect_eq(st.first_ns, 4000000000);
    cr_expect_eq(st.last_ns, 5814000000000);
}

Test(transforms, rate_rescales_to_the_target_mean_rate)
{
    /* The sample's mean rate is 2,866 gaps / 599.971336 s = 4.7769 req/s. */
    const char *a[] = {"--workload", "azure-conv-10min", "--rate", "12", NULL};
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 0, a, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    const wl_source_info *info = wl_source_get_info(s);
    cr_expect(fabs(info->source_rate - 2866 / 599.971336) < 1e-9, "%.9g", info->source_rate);
    cr_expect(fabs(info->time_factor - info->source_rate / 12) < 1e-12);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 2867);
    double rate = (double)(st.n - 1) / ((double)(st.last_ns - st.first_ns) * 1e-9);
    cr_expect(fabs(rate - 12) < 1e-6, "%.9g", rate);
    /* Burst shape kept: the same relative gaps (CV unchanged) -- compare with the original. */
    const char *b[] = {"--workload", "azure-conv-10min", NULL};
    wlt_stats orig = run(0, 0, b, NULL);
    cr_expect_eq(orig.prompt, st.prompt);
}

Test(transforms, start_and_duration_window_shifts_to_zero)
{
    const char *a[] = {"--workload", "azure-conv-10min", "--start", "60", "--duration", "120",
                       NULL};
    wl_counters c;
    wlt_stats st = run(0, 0, a, &c);
    cr_expect_eq(st.n, 594);
    cr_expect_eq(st.first_ns, 172200000);
    cr_expect_eq(st.last_ns, 119895252000);
    cr_expect_eq(c.filtered, 191, "arrivals before --start are counted as filtered");
}

Test(transforms, limit_keeps_the_first_n)
{
    const char *a[] = {"--workload", "azure-conv-10min", "--limit", "100", NULL};
    wlt_stats st = run(0, 0, a, NULL);
    cr_expect_eq(st.n, 100);
    /* --limit 0 leaves nothing to simulate: an error saying so, not an empty stream. */
    const char *z[] = {"--workload", "azure-conv-10min", "--limit", "0", NULL};
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 0, z, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats none;
    cr_expect_eq(wlt_drain(s, &none, &err), -1);
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "azure-conv-10min: no requests (--limit 0)");
    g_clear_error(&err);
}

Test(transforms, max_model_len_pass_reject_clip)
{
    const char *pass[] = {"--workload", "azure-conv-10min", NULL};
    wl_counters c;
    wlt_stats st = run(0, 2048, pass, &c);
    cr_expect_eq(st.n, 2867, "default: pass through (the engine rejects like vLLM)");
    cr_expect_eq(c.rejected + c.clipped, 0);
    const char *rej[] = {"--workload", "azure-conv-10min", "--over-length", "reject", NULL};
    st = run(0, 2048, rej, &c);
    cr_expect_eq(st.n, 2867 - 325);
    cr_expect_eq(c.rejected, 325);
    cr_expect_eq(st.prompt, 2146001);
    const char *clip[] = {"--workload", "azure-conv-10min", "--over-length", "clip", NULL};
    st = run(0, 2048, clip, &c);
    cr_expect_eq(st.n, 2867);
    cr_expect_eq(c.clipped, 325);
    cr_expect_eq(st.prompt, 2782129);
    cr_expect_eq(st.output, 746194);
    /* Unknown max_model_len (0): the policy has nothing to check. */
    st = run(0, 0, rej, &c);
    cr_expect_eq(st.n, 2867);
}

Test(transforms, clipping_keeps_the_leading_segments)
{
    /* Mooncake row 1: 6,758 prompt tokens in 14 blocks, 500 output. max_model_len 1,300 keeps
     * the output and 800 prompt tokens: blocks 0 (512) and 1 (288 of 512). */
    const char *a[] = {"--workload",
                       SERVESIM_SHARED_DATA "/mooncake-fast25/conversation_trace.first4000.jsonl",
                       "--over-length",
                       "clip",
                       "--limit",
                       "1",
                       NULL};
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 1300, a, &err);
    wl_request r;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.prompt_tokens, 800);
    cr_expect_eq(r.output_tokens, 500);
    cr_assert_eq(r.nsegments, 2);
    cr_expect_eq(r.segments[0].tokens, 512);
    cr_expect_eq(r.segments[1].tokens, 288);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

Test(transforms, shuffle_keeps_times_and_the_multiset_of_bodies)
{
    const char *plain[] = {"--workload", "azure-conv-10min", NULL};
    const char *shuf[] = {"--workload", "azure-conv-10min", "--shuffle", "--shuffle-window", "500",
                          NULL};
    GError *err = NULL;
    g_autoptr(wl_source) a = wlt_openv(9, 0, plain, &err);
    g_autoptr(wl_source) b = wlt_openv(9, 0, shuf, &err);
    cr_assert_not_null(b, "%s", err ? err->message : "");
    uint64_t *ka = g_new(uint64_t, 2867), *kb = g_new(uint64_t, 2867);
    wl_request ra, rb;
    size_t n = 0, moved = 0;
    while (wl_source_next(a, &ra, &err) == 1) {
        cr_assert_eq(wl_source_next(b, &rb, &err), 1);
        cr_expect_eq(ra.arrival_ns, rb.arrival_ns, "arrival times stay");
        cr_expect_eq(rb.id, n);
        cr_assert_eq(rb.nsegments, 1);
        cr_expect_eq(rb.segments[0].tokens, rb.prompt_tokens);
        ka[n] = (uint64_t)ra.prompt_tokens << 32 | ra.output_tokens;
        kb[n] = (uint64_t)rb.prompt_tokens << 32 | rb.output_tokens;
        moved += ka[n] != kb[n];
        n++;
    }
    cr_expect_eq(wl_source_next(b, &rb, &err), 0);
    cr_expect_eq(n, 2867);
    cr_expect_gt(moved, 2000, "bodies are reordered");
    qsort(ka, n, 8, cmp_u64);
    qsort(kb, n, 8, cmp_u64);
    cr_expect_eq(memcmp(ka, kb, n * 8), 0, "same multiset of (prompt, output)");
    g_free(ka);
    g_free(kb);
    wlt_stats s1 = run(9, 0, shuf, NULL), s2 = run(9, 0, shuf, NULL), s3 = run(10, 0, shuf, NULL);
    cr_expect_eq(s1.digest, s2.digest);
    cr_expect_neq(s1.digest, s3.digest);
}

Test(transforms, shuffle_refuses_sessions)
{
    GError *err = NULL;
    wl_source *s =
        wlt_open(0, 0, &err, "--workload", "synthetic", "--clients", "2", "--shuffle", NULL);
    cr_expect_null(s);
    cr_expect(err != NULL && strstr(err->message, "sessions") != NULL);
    g_clear_error(&err);
}

Test(transforms, time_scale_scales_think_times)
{
    const char *a[] = {
        "--workload", "synthetic",    "--clients", "1", "--num-requests", "2", "--think-time",
        "fixed:1",    "--time-scale", "0.5",       NULL};
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 0, a, &err);
    wl_request r;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.think_ns, 500000000);
}

Test(transforms, rate_needs_a_time_span)
{
    g_autofree char *p =
        wlt_tmp(".jsonl",
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 5}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 5}\n",
                false);
    GError *err = NULL;
    wl_source *s = wlt_open(0, 0, &err, "--workload", p, "--rate", "3", NULL);
    cr_expect_null(s);
    cr_expect(err != NULL && strstr(err->message, "span no time") != NULL, "%s",
              err ? err->message : "");
    g_clear_error(&err);
    unlink(p);
}
