/* tests/cli/test_spec_estimate.c: speculative decoding outside `run` (docs/speculative.md
 * "estimate" and "sweep and search"): `estimate --speculative-config` prices a decode step as a
 * verify of 1 + k tokens plus the drafter's passes and divides it by the expected acceptance
 * length (hand figures: Llama-3.1-8B on one H100 at peak, weights read once per step); its
 * memory check counts the drafter's weights, KV and lookahead slots (the EAGLE-3 head's
 * 799,039,488 B and 4 KiB per token, worked out in tests/timemodel/test_spec.c); a sweep or
 * search point that fits without the drafter but not with it is refused before it runs, as
 * `run` refuses it; ngram's prompt_lookup_min/max draw a one-line warning. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-spec-est-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(spec_estimate, .init = setup, .fini = teardown, .timeout = 300);

#define PEAK                                                                                       \
    "--compute-efficiency", "1", "--memory-efficiency", "1", "--step-overhead-us", "0",            \
        "--per-seq-overhead-us", "0"
#define EAGLE3_ALL  "{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":1.0}"
#define EAGLE3_NONE "{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":0}"
#define NGRAM_ALL   "{\"method\":\"ngram\",\"num_speculative_tokens\":3,\"acceptance_rate\":1.0}"
#define EAGLE3_60   "{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":0.6}"

/* `estimate --json` of one prompt token and 9 output tokens at peak, with SPEC (NULL: none). */
static json_t *
estimate(const char *spec, const char *batch, const char *in, const char *out)
{
    clirun r = spec != NULL
                   ? clirun_exec("estimate", "--json", PEAK, "--batch", batch, "--input-len", in,
                                 "--output-len", out, "--speculative-config", spec, NULL)
                   : clirun_exec("estimate", "--json", PEAK, "--batch", batch, "--input-len", in,
                                 "--output-len", out, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    clirun_clear(&r);
    return j;
}

static double
get(json_t *j, const char *section, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, section), key);
    cr_assert(json_is_number(v), "%s.%s", section, key);
    return json_number_value(v);
}

Test(spec_estimate, acceptance_one_gives_k_plus_one_tokens_per_weight_read)
{
    /* One sequence at peak: a Llama-3.1-8B step reads the linear weights and the lm-head once,
     * 15,009,316,864 B / 3.35 TB/s = 4.4804 ms, whether it decodes 1 token or verifies 1 + 3
     * (tests/cli/test_estimate.c works out the 1-token case; the 4-token one adds < 1 % of
     * activations and attention). ngram with every draft accepted: L = 1 + 1 + 1 + 1 = 4 tokens
     * per step, 8 output tokens after the prefill's in 8 / 4 = 2 steps, TPOT = 4.4804 / 4 =
     * 1.1201 ms. */
    json_auto_t *ng = estimate(NGRAM_ALL, "1", "1", "9");
    cr_expect_eq(get(ng, "speculative", "expected_acceptance_length"), 4.0);
    cr_expect_eq(get(ng, "speculative", "expected_verify_steps"), 2.0);
    cr_expect_eq(get(ng, "decode", "steps"), 2.0);
    cr_expect_eq(get(ng, "speculative", "decode_step_drafter_ms"), 0.0, "ngram: no GPU drafter");
    double tpot = get(ng, "summary", "tpot_ms");
    cr_expect(fabs(tpot - 1.1201) < 0.012, "TPOT %.4f ms, hand 1.1201", tpot);
    /* the relation the table prints: TPOT = mean verify step / L, and 8 tokens in 2 steps */
    double step = get(ng, "speculative", "mean_verify_step_ms");
    cr_expect_float_eq(tpot, step / 4.0, 1e-9);
    cr_expect_float_eq(get(ng, "decode", "total_ms"), 2.0 * step, 1e-9);
    cr_expect_float_eq(get(ng, "summary", "decode_tokens_per_s_per_replica"), 4.0 / (step * 1e-3),
                       1e-6);

    /* EAGLE-3: the head's 799,039,488 B are read by each of its k = 3 passes (one over the step,
     * two proposing): 3 × 799,039,488 / 3.35e12 = 0.7156 ms per step, TPOT (4.4804 + 0.7156) / 4
     * = 1.2990 ms; the prefill step runs the same passes */
    json_auto_t *e3 = estimate(EAGLE3_ALL, "1", "1", "9");
    double d = get(e3, "speculative", "decode_step_drafter_ms");
    cr_expect(fabs(d - 0.7156) < 0.007, "drafter %.4f ms, hand 0.7156", d);
    cr_expect(fabs(get(e3, "speculative", "prefill_drafter_ms") - 0.7156) < 0.007);
    tpot = get(e3, "summary", "tpot_ms");
    cr_expect(fabs(tpot - 1.2990) < 0.013, "TPOT %.4f ms, hand 1.2990", tpot);
    cr_expect_float_eq(tpot, get(e3, "speculative", "mean_verify_step_ms") / 4.0, 1e-9);

    /* acceptance 0: one token per step, 8 steps, TPOT = the whole verify + drafter step */
    json_auto_t *e0 = estimate(EAGLE3_NONE, "1", "1", "9");
    cr_expect_eq(get(e0, "speculative", "expected_acceptance_length"), 1.0);
    cr_expect_eq(get(e0, "decode", "steps"), 8.0);
    tpot = get(e0, "summary", "tpot_ms");
    cr_expect(fabs(tpot - 5.1960) < 0.052, "TPOT %.4f ms, hand 4.4804 + 0.7156", tpot);
    /* ... slower than no speculation at all (4.4860 ms, tests/cli/test_estimate.c) */
    json_auto_t *plain = estimate(NULL, "1", "1", "9");
    cr_expect_gt(tpot, get(plain, "summary", "tpot_ms"));
}

Test(spec_estimate, a_fractional_last_step_and_the_text_table)
{
    /* acceptance_rate 0.5, k 2: L = 1 + 0.5 + 0.25 = 1.75; 8 tokens take 8 / 1.75 = 4.571...
     * steps: 5 priced, the last weighted 0.571... */
    clirun r = clirun_exec(
        "estimate", PEAK, "--input-len", "1", "--output-len", "9", "--speculative-config",
        "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_rate\":0.5}", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "speculative decoding: eagle, k 2, acceptance per position 0.5 0.25 "
                            "(acceptance_rate)") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "expected tokens per verify step L         1.7500") != NULL, "%s",
              r.out);
    cr_expect(strstr(r.out, "verify steps, mean step                     4.57 steps of") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "verify step at mean context 5 (1 sequences × 3 tokens)") != NULL, "%s",
              r.out);
    /* TPOT printed = mean step printed / 1.75 (3 decimals each) */
    const char *t = strstr(r.out, "time per output token (TPOT)");
    cr_assert_not_null(t);
    double tpot = 0, step = 0, L = 0;
    cr_assert_eq(sscanf(t, "time per output token (TPOT) %lf ms", &tpot), 1, "%s", t);
    const char *m = strstr(t, "(mean step ");
    cr_assert_not_null(m);
    cr_assert_eq(sscanf(m, "(mean step %lf ms / %lf tokens per step)", &step, &L), 2, "%s", m);
    cr_expect_eq(L, 1.75);
    cr_expect(fabs(tpot - step / 1.75) < 0.001, "%.3f vs %.3f / 1.75", tpot, step);
    clirun_clear(&r);
}

Test(spec_estimate, the_drafter_takes_memory_from_the_kv_cache)
{
    /* EAGLE-3 head for Llama-3.1-8B: 799,039,488 B of weights, 4,096 B of KV per token on top
     * of the target's 131,072 (tests/timemodel/test_spec.c). The KV cache shrinks by the
     * weights; a 16-token block holds 16 × 135,168 = 2,162,688 B. */
    json_auto_t *plain = estimate(NULL, "1", "1", "9");
    json_auto_t *e3 = estimate(EAGLE3_60, "1", "1", "9");
    const double gib = 1073741824.0;
    cr_expect_float_eq(get(e3, "speculative", "drafter_weight_bytes_per_gpu"), 799039488.0, 0.5);
    cr_expect_float_eq(get(e3, "speculative", "drafter_kv_bytes_per_token_per_gpu"), 4096.0, 1e-9);
    double w0 = get(plain, "memory", "weights_gib") * gib,
           w1 = get(e3, "memory", "weights_gib") * gib;
    cr_expect(fabs(w1 - w0 - 799039488.0) < 1e3, "weights +%.0f B", w1 - w0);
    double kv0 = get(plain, "memory", "kv_cache_gib") * gib;
    double kv1 = get(e3, "memory", "kv_cache_gib") * gib;
    cr_expect(fabs(kv0 - kv1 - 799039488.0) < 1e3, "KV cache −%.0f B", kv0 - kv1);
    cr_expect_eq(get(e3, "summary", "num_gpu_blocks"), floor(kv1 / 2162688.0));
    cr_expect_eq(get(plain, "summary", "num_gpu_blocks"), floor(kv0 / 2097152.0));

    /* 2,048 + 2,048 tokens per sequence: 256 blocks without speculation, 257 with the 3
     * lookahead slots. 105 sequences: 26,880 of the 27,551 usable blocks without; 26,985 of
     * 26,346 with the drafter: refused, naming the shortfall */
    clirun r = clirun_exec("estimate", "--batch", "105", "--input-len", "2048", "--output-len",
                           "2048", NULL);
    cr_expect_eq(r.code, 0, "fits without the drafter: %s", r.err);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--batch", "105", "--input-len", "2048", "--output-len", "2048",
                    "--speculative-config", EAGLE3_60, NULL);
    cr_expect_eq(r.code, 2, "%s", r.out);
    cr_expect(strstr(r.err, "servesim: batch of 105 × 4099 tokens needs 54.35 GiB of KV cache") ==
                  r.err,
              "%s", r.err);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    clirun_clear(&r);
}

Test(spec_estimate, bad_combinations_and_bad_configs_are_one_line_errors)
{
    clirun r = clirun_exec("estimate", "--model", "llama-3.1-8b,qwen3-8b", "--speculative-config",
                           EAGLE3_60, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "--speculative-config prices one scenario of one model") != NULL, "%s",
              r.err);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--speculative-config",
                    "{\"method\":\"mtp\",\"num_speculative_tokens\":1}", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "servesim: speculative_config.method: mtp needs") == r.err, "%s",
              r.err);
    clirun_clear(&r);
    r = clirun_exec("estimate", "-pp", "2", "--speculative-config", EAGLE3_60, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "pipeline parallelism") != NULL, "%s", r.err);
    clirun_clear(&r);
}

#define WL                                                                                         \
    "--workload", "synthetic", "--num-requests", "3", "--input-len", "fixed:64", "--output-len",   \
        "fixed:8", "--quiet"

Test(spec_estimate, sweep_and_search_refuse_a_point_that_fits_only_without_the_drafter)
{
    /* gpu_memory_utilization 0.43 of 79.2 GiB = 34.06 GiB: minus 14.96 GiB of Llama-3.1-8B
     * weights, 1.76 GiB of activations and 0.75 GiB reserved, 16.59 GiB of KV cache, and one
     * request of the model's 131,072 tokens needs 131,072 × 128 KiB = 16 GiB: it fits. The
     * EAGLE-3 head takes 0.74 GiB more weights and 4 KiB more per token: 131,072 × 132 KiB =
     * 16.5 GiB needed, 15.84 GiB left. `run` refuses it; so must sweep and search, before
     * simulating. */
    g_autofree char *o1 = g_build_filename(dir, "run", NULL);
    g_autofree char *o2 = g_build_filename(dir, "sweep", NULL);
    g_autofree char *o3 = g_build_filename(dir, "sweep-plain", NULL);
    g_autofree char *o4 = g_build_filename(dir, "search", NULL);
    const char *needs = "one request of --max-model-len 131072 needs 16.50 GiB of KV cache per "
                        "GPU but only 15.84 GiB are left";
    clirun r = clirun_exec("run", WL, "--gpu-memory-utilization", "0.43", "--speculative-config",
                           EAGLE3_60, "--output-dir", o1, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, needs) != NULL, "%s", r.err);
    clirun_clear(&r);
    r = clirun_exec("sweep", WL, "--speculative-config", EAGLE3_60, "--sweep",
                    "gpu_memory_utilization=0.45,0.43", "--output-dir", o2, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "servesim: point 1 (gpu_memory_utilization=0.43): ") == r.err, "%s",
              r.err);
    cr_expect(strstr(r.err, needs) != NULL, "%s", r.err);
    g_autofree char *csv = g_build_filename(o2, "sweep.csv", NULL);
    cr_expect_not(g_file_test(csv, G_FILE_TEST_EXISTS), "nothing simulated");
    clirun_clear(&r);
    r = clirun_exec("sweep", WL, "--sweep", "gpu_memory_utilization=0.45,0.43", "--output-dir", o3,
                    NULL);
    cr_expect_eq(r.code, 0, "without the drafter both points fit: %s", r.err);
    clirun_clear(&r);
    r = clirun_exec("search", WL, "--speculative-config", EAGLE3_60, "--gpu-memory-utilization",
                    "0.43", "--gpus", "1", "--axis", "tp=1", "--axis", "replicas=1", "--find-max",
                    "rate", "--slo", "tpot_p99:200", "--output-dir", o4, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *sp = g_build_filename(o4, "search.csv", NULL);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(sp, &text, NULL, NULL));
    cr_expect(strstr(text, ",rejected,memory,one request of --max-model-len 131072 needs 16.50 "
                           "GiB") != NULL,
              "%s", text);
}

Test(spec_estimate, ngram_prompt_lookup_settings_draw_a_warning)
{
    const char *spec = "{\"method\":\"ngram\",\"num_speculative_tokens\":2,"
                       "\"prompt_lookup_min\":2,\"prompt_lookup_max\":4,\"acceptance_rate\":0.5}";
    const char *warning = "servesim: warning: speculative_config.prompt_lookup_min/max are "
                          "recorded but not simulated: n-gram drafts act only through the "
                          "acceptance given (acceptance_rate)\n";
    g_autofree char *o = g_build_filename(dir, "ngram", NULL);
    clirun r = clirun_exec("run", WL, "--speculative-config", spec, "--output-dir", o, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect_str_eq(r.err, warning);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--speculative-config", spec, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect_str_eq(r.err, warning);
    clirun_clear(&r);
    /* without them, nothing */
    r = clirun_exec("run", WL, "--speculative-config",
                    "{\"method\":\"ngram\",\"num_speculative_tokens\":2,\"acceptance_rate\":0.5}",
                    "--output-dir", o, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect_str_eq(r.err, "");
    clirun_clear(&r);
}

Test(spec_estimate, search_prunes_a_tpot_bound_by_the_tokens_a_step_can_yield)
{
    /* One Llama-3.1-8B decode step on one H100 takes about 6 ms (15 GB of weights at 3.35 TB/s
     * × 0.89, plus the step overhead): a 3 ms TPOT bound is out of reach at every load without
     * speculation (stage "estimate"). With ngram and k = 3 a step can yield 4 tokens, so the
     * lower bound is about 6 / 4 = 1.5 ms: the configuration must be simulated, and with every
     * draft accepted it meets the bound. */
    g_autofree char *a = g_build_filename(dir, "plain", NULL);
    g_autofree char *b = g_build_filename(dir, "ngram", NULL);
    for (int i = 0; i < 2; i++) {
        clirun r = clirun_exec("search", "--workload", "synthetic", "--num-requests", "20",
                               "--input-len", "fixed:64", "--output-len", "fixed:33", "--quiet",
                               "--gpus", "1", "--axis", "tp=1", "--axis", "replicas=1",
                               "--find-max", "rate", "--slo", "tpot_p99:3", "--speculative-config",
                               i == 0 ? "null" : NGRAM_ALL, "--output-dir", i == 0 ? a : b, NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        clirun_clear(&r);
    }
    g_autofree char *pa = g_build_filename(a, "search.csv", NULL);
    g_autofree char *pb = g_build_filename(b, "search.csv", NULL);
    g_autofree char *ta = NULL, *tb = NULL;
    cr_assert(g_file_get_contents(pa, &ta, NULL, NULL));
    cr_assert(g_file_get_contents(pb, &tb, NULL, NULL));
    cr_expect(strstr(ta, ",rejected,estimate,breaks tpot_p99 at every load: one decode step alone "
                         "takes ") != NULL,
              "%s", ta);
    cr_expect(strstr(tb, ",rejected,") == NULL, "%s", tb);
    cr_expect(strstr(tb, ",ok,") != NULL, "simulated and within the bound: %s", tb);
}

/* `memory --speculative-config`: the EAGLE-3 head's 799,039,488 B come out of the KV cache,
 * each token's KV grows by its 4,096 B (131,072 → 135,168 per GPU), the blocks follow from what
 * is left, and a request of 1,024 tokens holds 64 + 1 blocks with its 3 lookahead slots. */
static json_t *
memory_json(const char *spec)
{
    clirun r = spec != NULL ? clirun_exec("memory", "--json", "--context-len", "1024",
                                          "--speculative-config", spec, NULL)
                            : clirun_exec("memory", "--json", "--context-len", "1024", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    clirun_clear(&r);
    return j;
}

Test(spec_estimate, memory_counts_the_drafter_and_the_lookahead_slots)
{
    const double gib = 1073741824.0;
    json_auto_t *plain = memory_json(NULL);
    json_auto_t *spec = memory_json(EAGLE3_60);
    double w0 = json_number_value(json_object_get(plain, "weights_gib")) * gib;
    double w1 = json_number_value(json_object_get(spec, "weights_gib")) * gib;
    cr_expect(fabs(w1 - w0 - 799039488.0) < 1e3, "drafter weights: %.0f B", w1 - w0);
    cr_expect_eq(json_integer_value(json_object_get(plain, "kv_bytes_per_token_per_gpu")), 131072);
    cr_expect_eq(json_integer_value(json_object_get(spec, "kv_bytes_per_token_per_gpu")), 135168);
    double kv0 = json_number_value(json_object_get(plain, "kv_cache_gib")) * gib;
    double kv1 = json_number_value(json_object_get(spec, "kv_cache_gib")) * gib;
    cr_expect(fabs(kv0 - kv1 - 799039488.0) < 1e3, "the KV cache pays for the drafter");
    json_int_t b0 = json_integer_value(json_object_get(plain, "num_gpu_blocks"));
    json_int_t b1 = json_integer_value(json_object_get(spec, "num_gpu_blocks"));
    cr_expect_eq(b0, (json_int_t)floor(kv0 / (131072.0 * 16)));
    cr_expect_eq(b1, (json_int_t)floor(kv1 / (135168.0 * 16)));
    /* the null block is not usable; 1,024 tokens = 64 blocks, + 3 lookahead slots = 65 */
    cr_expect_eq(json_integer_value(json_object_get(plain, "max_concurrent_requests")),
                 (b0 - 1) / 64);
    cr_expect_eq(json_integer_value(json_object_get(spec, "max_concurrent_requests")),
                 (b1 - 1) / 65);
    const json_t *sj = json_object_get(spec, "speculative");
    cr_assert_not_null(sj);
    cr_expect_eq(json_integer_value(json_object_get(sj, "lookahead_slots")), 3);
    cr_expect_null(json_object_get(plain, "speculative"));
    /* acceptance does not change memory: it may be left out here (run needs it) */
    json_auto_t *bare = memory_json("{\"method\":\"eagle3\",\"num_speculative_tokens\":3}");
    cr_expect_eq(json_integer_value(json_object_get(bare, "num_gpu_blocks")), b1);
}
