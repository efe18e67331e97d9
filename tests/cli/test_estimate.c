/* tests/cli/test_estimate.c: `servesim estimate` and `servesim memory` end to end: tables,
 * JSON, CSV, the scenarios CSV round trip, and one-line errors with exit 2 for bad input
 * (parallelism that does not divide, unknown names, absurd configs, models that do not fit). */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(estimate, .timeout = 120);

static void
expect_one_line_error(clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
}

Test(estimate, default_scenario_prints_tables_and_summary)
{
    clirun r = clirun_exec("estimate", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "llama-3.1-8b on h100-sxm"), "%s", r.out);
    cr_expect(strstr(r.out, "prefill step"));
    cr_expect(strstr(r.out, "decode step"));
    cr_expect(strstr(r.out, "prefill latency (TTFT"));
    cr_expect(strstr(r.out, "time per output token (TPOT)"));
    cr_expect(strstr(r.out, "tok/s per replica"));
    cr_expect(strstr(r.out, "bottleneck mlp (memory)"), "%s", r.out);
    clirun_clear(&r);
}

/* At peak with no overheads, one Llama-3.1-8B decode at context 1 reads the linear weights
 * (13,958,643,712 B) and the lm-head (1,050,673,152 B): 15,009,316,864 B / 3.35 TB/s =
 * 4.4804 ms per output token (KV, activations and norms add < 0.1 %), plus the default decode
 * attention work per (sequence × KV head): 32 layers × 8 KV heads × 22 ns = 0.0056 ms. */
Test(estimate, json_tpot_matches_hand_figure)
{
    clirun r = clirun_exec("estimate", "--json", "--compute-efficiency", "1", "--memory-efficiency",
                           "1", "--step-overhead-us", "0", "--per-seq-overhead-us", "0",
                           "--input-len", "1", "--output-len", "2", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    json_t *su = json_object_get(j, "summary");
    double tpot = json_real_value(json_object_get(su, "tpot_ms"));
    cr_expect(fabs(tpot - 4.4860) < 0.005, "tpot %.4f ms", tpot);
    cr_expect_str_eq(json_string_value(json_object_get(su, "decode_bottleneck")), "mlp (memory)");
    cr_expect_eq(json_array_size(json_object_get(json_object_get(j, "prefill"), "components")), 10);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "model"), "layers")), 32);
    json_decref(j);
    clirun_clear(&r);
}

Test(estimate, csv_has_every_component_of_both_phases)
{
    clirun r = clirun_exec("estimate", "--csv", "--model", "deepseek-v3.2", "--hardware", "h200",
                           "--tensor-parallel-size", "8", "--dtype", "fp8", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    cr_expect_str_eq(lines[0], "phase,component,flops,bytes,compute_ms,memory_ms,comm_ms,time_ms,"
                               "bound");
    cr_expect_eq(g_strv_length(lines), 1 + 2 * 11 + 1); /* header, 2×(10 rows + total), "" */
    cr_expect(strstr(r.out, "decode,indexer,"), "%s", r.out);
    cr_expect(strstr(r.out, "prefill,moe,"));
    clirun_clear(&r);
}

Test(estimate, scenarios_csv_round_trip)
{
    g_autofree char *in =
        tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum,"
                            "note\n"
                            "1,1,8,1024,128,1,\"a, b\"\n"
                            "2,1,16,2048,256,2,x\n"
                            "4,2,,4096,64,1,\n");
    g_autofree char *out = g_strdup_printf("%s.out.csv", in);
    /* uncalibrated defaults (the shipped H100 calibration would move the bottlenecks) */
    clirun r = clirun_exec("estimate", "--scenarios", in, "--output", out, "--batch", "4",
                           "--calibration", "none", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(out, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    cr_assert_eq(g_strv_length(lines), 5, "%s", text);
    cr_expect_str_eq(lines[0],
                     "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum,note,"
                     "predicted_prefill_ms,predicted_decode_ms,predicted_tpot_ms,"
                     "predicted_tokens_per_s,predicted_tokens_per_s_per_gpu,prefill_bottleneck,"
                     "decode_bottleneck");
    cr_expect(g_str_has_prefix(lines[1], "1,1,8,1024,128,1,\"a, b\","), "%s", lines[1]);
    cr_expect(g_str_has_prefix(lines[3], "4,2,,4096,64,1,,"), "%s", lines[3]);
    /* every row has 14 fields and positive predictions */
    for (int i = 1; i <= 3; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
        guint n = g_strv_length(f);
        double prefill = g_ascii_strtod(f[n - 7], NULL), decode = g_ascii_strtod(f[n - 6], NULL);
        cr_expect_gt(prefill, 0, "%s", lines[i]);
        cr_expect_gt(decode, prefill * 0.1, "%s", lines[i]);
        cr_expect_str_eq(f[n - 1], "mlp (memory)");
    }
    /* the missing batch_per_gpu falls back to --batch 4: same as an explicit 4 */
    g_autofree char *in2 = tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens\n"
                                               "4,2,4,4096,64\n");
    clirun r2 = clirun_exec("estimate", "--scenarios", in2, "--calibration", "none", NULL);
    cr_assert_eq(r2.code, 0, "%s", r2.err);
    g_auto(GStrv) l2 = g_strsplit(r2.out, "\n", -1);
    const char *tail3 = lines[3] + strlen("4,2,,4096,64,1,,");
    const char *tail2 = l2[1] + strlen("4,2,4,4096,64,");
    cr_expect_str_eq(tail2, tail3);
    clirun_clear(&r2);
    clirun_clear(&r);
    g_unlink(in);
    g_unlink(in2);
    g_unlink(out);
}

Test(estimate, scenario_errors_name_file_and_line)
{
    g_autofree char *in = tu_tmp_file(".csv", "tp,seq_len\n1,100\n3,100\n");
    clirun r = clirun_exec("estimate", "--scenarios", in, NULL);
    g_autofree char *needle = g_strdup_printf(
        "%s:3: llama-3.1-8b: --tensor-parallel-size 3 does not divide num_attention_heads 32", in);
    expect_one_line_error(&r, needle);
    cr_expect_str_eq(r.out, "");
    clirun_clear(&r);
    g_autofree char *bad = tu_tmp_file(".csv", "tp,seq_len\n1,abc\n");
    clirun b = clirun_exec("estimate", "--scenarios", bad, NULL);
    expect_one_line_error(&b, ":2: column seq_len");
    clirun_clear(&b);
    /* beyond the model's context (131,072 for Llama-3.1-8B), refused before pricing 1e8 steps */
    g_autofree char *ctx = tu_tmp_file(".csv", "seq_len,decode_tokens\n1000,8\n131000,100000000\n");
    clirun c = clirun_exec("estimate", "--scenarios", ctx, NULL);
    g_autofree char *want = g_strdup_printf(
        "%s:3: column decode_tokens: seq_len + decode_tokens = 100131000 exceeds the context of "
        "llama-3.1-8b (131072 tokens)",
        ctx);
    expect_one_line_error(&c, want);
    clirun_clear(&c);
    g_unlink(in);
    g_unlink(bad);
    g_unlink(ctx);
}

Test(estimate, bad_input_is_one_line_exit_2)
{
    clirun r = clirun_exec("estimate", "--tensor-parallel-size", "3", NULL);
    expect_one_line_error(&r, "--tensor-parallel-size 3 does not divide num_attention_heads 32");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-7b", NULL);
    expect_one_line_error(&r, "unknown model 'llama-3.1-7b' (did you mean");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--hardware", "h10", NULL);
    expect_one_line_error(&r, "unknown hardware 'h10'");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-70b", NULL);
    expect_one_line_error(&r, "short by");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--batch", "-4", NULL);
    expect_one_line_error(&r, "out of range");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--batch", "4000", "--input-len", "100000", NULL);
    expect_one_line_error(&r, "KV cache");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "mixtral-8x7b", "--tensor-parallel-size", "4",
                    "--data-parallel-size", "4", "--enable-expert-parallel", NULL);
    expect_one_line_error(&r, "does not divide the routed experts 8");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--json", "--csv", NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
}

Test(estimate, config_json_paths_and_absurd_configs)
{
    clirun r =
        clirun_exec("estimate", "--model",
                    SERVESIM_DATA_DIR "/model-configs/inference-sim__qwen3-14b.config.json", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *zero =
        tu_tmp_file(".json", "{\"hidden_size\": 4096, \"num_hidden_layers\": 32, "
                             "\"num_attention_heads\": 0, \"vocab_size\": 32000, "
                             "\"intermediate_size\": 11008, "
                             "\"max_position_embeddings\": 4096}");
    r = clirun_exec("estimate", "--model", zero, NULL);
    expect_one_line_error(&r, "num_attention_heads: 0 is out of range");
    clirun_clear(&r);
    g_autofree char *gqa =
        tu_tmp_file(".json", "{\"hidden_size\": 4096, \"num_hidden_layers\": 32, "
                             "\"num_attention_heads\": 32, "
                             "\"num_key_value_heads\": 6, \"vocab_size\": 32000, "
                             "\"intermediate_size\": 11008, "
                             "\"max_position_embeddings\": 4096}");
    r = clirun_exec("memory", "--model", gqa, NULL);
    expect_one_line_error(&r, "not divisible by num_key_value_heads 6");
    clirun_clear(&r);
    g_autofree char *neg = tu_tmp_file(".json", "{\"hidden_size\": -1, \"num_hidden_layers\": 32}");
    r = clirun_exec("memory", "--model", neg, NULL);
    expect_one_line_error(&r, "hidden_size: -1 is out of range");
    clirun_clear(&r);
    g_unlink(zero);
    g_unlink(gqa);
    g_unlink(neg);
}

Test(estimate, memory_table_and_json)
{
    clirun r = clirun_exec("memory", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "KV blocks per replica (num_gpu_blocks)"), "%s", r.out);
    cr_expect(strstr(r.out, "27552"), "%s", r.out);
    clirun_clear(&r);
    r = clirun_exec("memory", "--json", "--model", "deepseek-v3", "--hardware", "h200",
                    "--tensor-parallel-size", "8", "--dtype", "fp8", "--kv-cache-dtype", "bf16",
                    "--context-len", "8192", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_t *j = json_loads(r.out, 0, NULL);
    cr_assert_not_null(j, "%s", r.out);
    cr_expect_eq(json_integer_value(json_object_get(j, "block_size")), 64);
    cr_expect_eq(json_integer_value(json_object_get(j, "kv_bytes_per_token_per_gpu")), 70272);
    cr_expect_gt(json_integer_value(json_object_get(j, "max_concurrent_requests")), 10);
    json_decref(j);
    clirun_clear(&r);
    r = clirun_exec("memory", "--model", "llama-3.1-8b", "--hardware", "rtx4090", NULL);
    expect_one_line_error(&r, "--max-model-len 131072");
    clirun_clear(&r);
    r = clirun_exec("memory", "--model", "llama-3.1-8b", "--hardware", "rtx4090", "--max-model-len",
                    "8192", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
}

Test(estimate, bench_timemodel_runs)
{
    clirun r = clirun_exec("bench", "timemodel", "--evals", "1000", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "deepseek-v3.2"), "%s", r.out);
    cr_expect(strstr(r.out, "batch 512"));
    clirun_clear(&r);
}
