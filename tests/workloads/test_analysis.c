/* tests/workloads/test_analysis.c: the streaming analysis behind `servesim analyze workload`.
 * Expected values computed with Python while writing the tests: for the embedded Azure
 * sample, inter-arrival CV = statistics.pstdev(gaps) / mean(gaps) = 1.10300; NumPy-style
 * percentiles (sorted, r = p/100·(n-1), linear interpolation) of prompt 1041 / 2221 /
 * 4106.34 and output 217 / 432 / 620.02; Σ ⌊prompt/16⌋ = 204,119 blocks; 60 s bucket counts
 * 191 265 329 353 307 273 268 261 322 298. Mooncake conversation: 3,326,245 prompt blocks of
 * which 1,102,938 (17,647,008 tokens) lie in a leading run of blocks seen before, 3,999
 * requests with a hit (keys = (hash_ids prefix, 16-token offset)). Dev-run JSONL: 1,220
 * shared of 15,942 blocks, 32 requests with a hit (keys = token-id prefixes). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "wlt.h"
#include "workloads/analyze.h"
#include "workloads/workload.h"

TestSuite(analysis, .timeout = 60);

static void
analyze(const char *const *argv,
        size_t max_blocks,
        double bucket_s,
        wl_analysis **out,
        wl_analysis_result *res)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 0, argv, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wl_analysis_params p = {bucket_s, 16, max_blocks};
    wl_analysis *a = wl_analysis_new(&p);
    wl_request r;
    int rc;
    while ((rc = wl_source_next(s, &r, &err)) == 1)
        wl_analysis_add(a, &r);
    cr_assert_eq(rc, 0);
    wl_analysis_result_get(a, res);
    *out = a;
}

Test(analysis, azure_sample_figures)
{
    const char *a[] = {"--workload", "azure-conv-10min", NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 1 << 20, 60, &an, &r);
    cr_expect_eq(r.requests, 2867);
    cr_expect(fabs(r.span_s - 599.971336) < 1e-9);
    cr_expect(fabs(r.mean_rate - 2866 / 599.971336) < 1e-9);
    cr_expect(fabs(r.ia_cv - 1.1029992359) < 1e-6, "%.10f", r.ia_cv);
    cr_expect_eq(r.prompt.p50, 1041);
    cr_expect_eq(r.prompt.p90, 2221);
    cr_expect(fabs(r.prompt.p99 - 4106.34) < 1e-6, "%.6f", r.prompt.p99);
    cr_expect_eq(r.output.p50, 217);
    cr_expect_eq(r.output.p90, 432);
    cr_expect(fabs(r.output.p99 - 620.02) < 1e-6);
    cr_expect_eq(r.prompt.total, 3287402);
    cr_expect(fabs(r.prompt.mean - 3287402.0 / 2867) < 1e-9);
    cr_expect_eq(r.prompt_blocks, 204119);
    cr_expect_eq(r.shared_blocks, 0, "no content: no sharing");
    const uint64_t want[] = {191, 265, 329, 353, 307, 273, 268, 261, 322, 298};
    cr_assert_eq(r.nbuckets, 10);
    for (size_t i = 0; i < 10; i++)
        cr_expect_eq(r.buckets[i], want[i], "bucket %zu", i);
}

/* Expected figures from an independent Python pass over the file (not servesim code): each
 * prompt is cut into input_length // 16 blocks; block j (tokens [16j, 16j + 16)) is keyed by
 * (hash_ids[0..s], 16(j + 1) − 512·s) with s = (16(j + 1) − 1) // 512 the 512-token id holding
 * its last token; a block is shared if an earlier request had the same key. On the former
 * 4,000-row slice this gave the figures the test asserted before (3,326,245 blocks, 1,102,938
 * shared, 3,999 requests with a hit); on the 1,000 rows in data/: */
Test(analysis, mooncake_prefix_sharing)
{
    const char *a[] = {"--workload",
                       SERVESIM_DATA_DIR "/mooncake-fast25/conversation_trace.first1000.jsonl",
                       NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 1 << 24, 60, &an, &r);
    cr_expect_eq(r.prompt_blocks, 857850);
    cr_expect_eq(r.shared_blocks, 185168);
    cr_expect_eq(r.requests_with_hit, 999);
    cr_expect(fabs(r.shared_token_frac - 185168.0 * 16 / 13732944) < 1e-12);
    cr_expect_eq(r.blocks_forgotten, 0);
}

Test(analysis, token_id_prefix_sharing)
{
    const char *a[] = {"--workload",
                       SERVESIM_DATA_DIR
                       "/llmservingsim-rtx4090-dev-run/sharegpt-llama-3.1-8b-300-sps10.jsonl",
                       NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 1 << 20, 60, &an, &r);
    cr_expect_eq(r.prompt_blocks, 15942);
    cr_expect_eq(r.shared_blocks, 1220);
    cr_expect_eq(r.requests_with_hit, 32);
}

Test(analysis, multi_turn_prompts_hit_previous_prompt_and_output)
{
    /* Turn k's prompt = previous prompt + previous answer + new question, all multiples of 16
     * here, so every block but the new question's is shared: 2 turns per session, prompt 32 +
     * 16 + 32 at turn 1 -> 48 of 80 tokens shared. */
    const char *a[] = {
        "--workload", "synthetic",    "--turns", "fixed:2",        "--rate", "1", "--input-len",
        "32",         "--output-len", "16",      "--num-requests", "200",    NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 1 << 20, 60, &an, &r);
    cr_expect_eq(r.sessions, 100);
    cr_expect_eq(r.max_turn, 1);
    cr_expect_eq(r.prompt_blocks, 100 * (2 + 5));
    cr_expect_eq(r.shared_blocks, 100 * 3);
    cr_expect_eq(r.requests_with_hit, 100);
}

Test(analysis, memory_bound_forgets_old_blocks)
{
    const char *a[] = {"--workload",
                       SERVESIM_DATA_DIR "/mooncake-fast25/conversation_trace.first1000.jsonl",
                       NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 20000, 60, &an, &r);
    cr_expect_gt(r.blocks_forgotten, 0);
    cr_expect_lt(r.shared_blocks, 185168);
    cr_expect_gt(r.shared_blocks, 0);
}

Test(analysis, rate_buckets_merge_past_the_cap)
{
    const char *a[] = {"--workload", "azure-conv-10min", NULL};
    g_autoptr(wl_analysis) an = NULL;
    wl_analysis_result r;
    analyze(a, 1 << 16, 0.001, &an, &r);
    cr_expect_leq(r.nbuckets, 100000);
    cr_expect_gt(r.bucket_s, 0.001);
    uint64_t sum = 0;
    for (size_t i = 0; i < r.nbuckets; i++)
        sum += r.buckets[i];
    cr_expect_eq(sum, 2867);
}
