/* tests/cli/test_flags.c: what vLLM users paste works on the binary: `--goodput ttft:500
 * tpot:50` (vLLM bench's space-separated form) and the comma form give identical results, with
 * vLLM's keys and validation; --num-prompts; -tp/-pp/-dp; --dtype/--kv-cache-dtype/
 * --quantization (priced or refused in one line); Hugging Face model ids and hardware aliases;
 * the presets listing with each GPU's figures. Expected figures are hand-derived (weight bytes)
 * or copied from datasheets (H100 SXM5), never read from servesim's own output. */
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
    dir = g_dir_make_tmp("servesim-flags-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(flags, .init = setup, .fini = teardown, .timeout = 300);

static void
expect_one_line_error(const clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d: %s", r->code, r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    cr_expect_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1, "one line: %s", r->err);
    cr_expect_str_eq(r->out, "");
}

static char *
slurp(const char *d, const char *name)
{
    g_autofree char *p = g_build_filename(d, name, NULL);
    char *s = NULL;
    g_file_get_contents(p, &s, NULL, NULL);
    return s;
}

Test(flags, goodput_space_and_comma_forms_agree)
{
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *b = g_build_filename(dir, "b", NULL);
    clirun r =
        clirun_exec("run", "--workload", "synthetic", "--num-requests", "200", "--rate", "20",
                    "--goodput", "ttft:500", "tpot:50", "--output-dir", a, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    r = clirun_exec("run", "--workload", "synthetic", "--num-requests", "200", "--rate", "20",
                    "--goodput", "ttft:500,tpot:50", "--output-dir", b, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *va = slurp(a, "vllm_bench_result.json");
    g_autofree char *vb = slurp(b, "vllm_bench_result.json");
    cr_assert_not_null(va);
    cr_expect_str_eq(va, vb);
    json_t *j = json_loads(va, 0, NULL);
    cr_assert_not_null(j);
    double good = json_number_value(json_object_get(j, "request_goodput"));
    double thr = json_number_value(json_object_get(j, "request_throughput"));
    cr_expect(good > 0 && good <= thr + 1e-9, "goodput %g of throughput %g", good, thr);
    json_decref(j);
    /* both SLOs land in the resolved configuration, as two entries */
    g_autofree char *sa = slurp(a, "summary.json");
    j = json_loads(sa, 0, NULL);
    cr_assert_not_null(j);
    json_t *g =
        json_object_get(json_object_get(json_object_get(j, "config"), "metrics"), "goodput");
    cr_assert_eq(json_array_size(g), 2);
    cr_expect_str_eq(json_string_value(json_array_get(g, 0)), "ttft:500");
    cr_expect_str_eq(json_string_value(json_array_get(g, 1)), "tpot:50");
    json_decref(j);
}

Test(flags, goodput_keys_and_values_are_validated_like_vllm)
{
    const char *bad[][2] = {
        {"foo:3", "unknown metric 'foo' (expected ttft, tpot or e2el)"},
        {"ttft", "expected METRIC:MS"},
        {"ttft:-1", "the bound must be a number of milliseconds >= 0"},
        {"ttft:abc", "the bound must be a number of milliseconds >= 0"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        clirun r = clirun_exec("run", "--goodput", "tpot:50", bad[i][0], "--output-dir", dir, NULL);
        expect_one_line_error(&r, bad[i][1]);
        clirun_clear(&r);
    }
}

Test(flags, num_prompts_sets_the_request_count)
{
    clirun r = clirun_exec("run", "--workload", "synthetic", "--num-prompts", "37", "--rate", "5",
                           "--output-dir", dir, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    char *csv = slurp(dir, "requests.csv");
    cr_assert_not_null(csv);
    int lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, 1 + 37, "header + 37 requests");
    /* on a trace (the embedded Azure sample, 2,867 requests) it takes the first N */
    g_free(csv);
    r = clirun_exec("run", "--num-prompts", "12", "--output-dir", dir, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    csv = slurp(dir, "requests.csv");
    lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, 1 + 12, "header + 12 requests");
    g_free(csv);
}

Test(flags, short_parallel_flags_and_help)
{
    clirun r = clirun_exec("run", "--print-config", "--model", "llama-3.1-70b", "-tp", "2", "-pp",
                           "2", "-dp", "1", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_t *j = json_loads(r.out, 0, NULL);
    cr_assert_not_null(j, "%s", r.out);
    json_t *p = json_object_get(j, "parallelism");
    cr_expect_eq(json_integer_value(json_object_get(p, "tensor_parallel_size")), 2);
    cr_expect_eq(json_integer_value(json_object_get(p, "pipeline_parallel_size")), 2);
    json_decref(j);
    clirun_clear(&r);
    r = clirun_exec("run", "--help", NULL);
    cr_assert_eq(r.code, 0);
    const char *want[] = {"--tensor-parallel-size, -tp N", "--pipeline-parallel-size, -pp N",
                          "--data-parallel-size, -dp N",   "--num-requests, --num-prompts N",
                          "--goodput KEY:MS [KEY:MS ...]", "--quantization, -q METHOD"};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
        cr_expect(strstr(r.out, want[i]) != NULL, "help lacks '%s'", want[i]);
    clirun_clear(&r);
    r = clirun_exec("run", "-tpp", "2", NULL);
    expect_one_line_error(&r, "unknown option -tpp");
    clirun_clear(&r);
}

Test(flags, hugging_face_ids_and_hardware_aliases)
{
    clirun r = clirun_exec("estimate", "--json", "--model", "meta-llama/Llama-3.1-8B-Instruct",
                           "--hardware", "h100", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_t *j = json_loads(r.out, 0, NULL);
    cr_assert_not_null(j, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "model"), "name")),
                     "llama-3.1-8b-instruct");
    json_t *hw = json_object_get(j, "hardware");
    cr_expect_str_eq(json_string_value(json_object_get(hw, "name")), "h100-sxm");
    cr_expect_eq(json_number_value(json_object_get(hw, "memory_bandwidth_gbps")), 3350.0,
                 "H100 SXM5 datasheet: 3.35 TB/s");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(j, "timemodel"), "calibration")),
        "h100-sxm");
    json_decref(j);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "meta-llama/Llama-3.1-405B", NULL);
    expect_one_line_error(&r, "unknown model 'meta-llama/Llama-3.1-405B' (did you mean ");
    cr_expect(strstr(r.err, "meta-llama/Llama-3.1-70B") != NULL, "%s", r.err);
    clirun_clear(&r);
}

Test(flags, dtype_and_quantization)
{
    /* Llama-3.1-8B weights by hand (tests/timemodel/test_setup.c): 6,979,321,856 linear
     * parameters at the weight dtype + 1,050,939,392 embedding, lm-head and norm parameters
     * at 2 bytes. In GiB: bf16 14.9575, fp8 8.4575. */
    const struct {
        const char *flag, *value, *dtype, *kv;
        double gib;
    } cases[] = {
        {"--dtype", "auto", "bf16", "bf16", 16060522496.0 / 1073741824},
        {"--quantization", "fp8", "fp8", "bf16", 9081200640.0 / 1073741824},
        {"-q", "fp8", "fp8", "bf16", 9081200640.0 / 1073741824},
        {"--dtype", "float16", "fp16", "fp16", 16060522496.0 / 1073741824},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        clirun r = clirun_exec("memory", "--json", cases[i].flag, cases[i].value, NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        json_t *j = json_loads(r.out, 0, NULL);
        cr_assert_not_null(j, "%s", r.out);
        cr_expect_str_eq(json_string_value(json_object_get(j, "dtype")), cases[i].dtype);
        cr_expect_str_eq(json_string_value(json_object_get(j, "kv_cache_dtype")), cases[i].kv);
        double gib = json_number_value(json_object_get(j, "weights_gib"));
        cr_expect(fabs(gib - cases[i].gib) < 1e-6, "%s %s: %.6f GiB, want %.6f", cases[i].flag,
                  cases[i].value, gib, cases[i].gib);
        json_decref(j);
        clirun_clear(&r);
    }
    clirun r = clirun_exec("memory", "--kv-cache-dtype", "fp8_e4m3", "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"kv_bytes_per_token_per_gpu\": 65536") != NULL,
              "fp8 KV: 2·32 layers·8 heads·128·1 B: %s", r.out);
    clirun_clear(&r);
    r = clirun_exec("run", "-q", "gguf", "--output-dir", dir, NULL);
    expect_one_line_error(&r, "--quantization 'gguf': servesim cannot price");
    clirun_clear(&r);
    r = clirun_exec("run", "--dtype", "float", "--output-dir", dir, NULL);
    expect_one_line_error(&r, "--dtype float: fp32 serving is not modelled");
    clirun_clear(&r);
    r = clirun_exec("run", "--kv-cache-dtype", "fp8_inc", "--output-dir", dir, NULL);
    expect_one_line_error(&r, "--kv-cache-dtype: unknown value 'fp8_inc'");
    clirun_clear(&r);
}

Test(flags, presets_describe_each_gpu)
{
    clirun r = clirun_exec("presets", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    /* NVIDIA H100 SXM5 datasheet: 80 GB, 989 dense BF16 TFLOPS, 3.35 TB/s, NVLink 900 GB/s
     * bidirectional = 450 per direction */
    cr_expect(strstr(r.out, "  h100-sxm        NVIDIA H100 SXM5 80GB, 80 GB, 989 TFLOP/s BF16, "
                            "3350 GB/s, NVLink 450 GB/s; aliases: h100,") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "meta-llama/Llama-3.1-8B-Instruct") != NULL);
    cr_expect(strstr(r.out, "\ncalibrations:\n  h100-sxm\n") != NULL, "%s", r.out);
    clirun_clear(&r);
}
