/* tests/cli/test_analyses.c: `servesim analyze attention|mma|host-bandwidth|experts` and
 * `estimate --model A,B,C` / `--overlap` end to end: the worked examples of docs/analysis.md
 * read back from --json (figures computed by hand in the comments, not copied from the
 * output), CSV headers and row counts, text landmarks, determinism, and one-line errors with
 * exit 2 for every kind of bad setting. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(analyses, .timeout = 120);

static void
expect_one_line_error(clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
    cr_expect_str_eq(r->out, "", "nothing on stdout");
}

static json_t *
json_of(clirun *r)
{
    cr_assert_eq(r->code, 0, "exit %d: %s", r->code, r->err);
    json_error_t e;
    json_t *j = json_loads(r->out, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

static double
num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

static const json_t *
find(const json_t *arr, const char *key, const char *value)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        const json_t *v = json_object_get(e, key);
        if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
            return e;
    }
    cr_assert_fail("no %s = %s", key, value);
    return NULL;
}

Test(analyses, analyze_lists_its_analyses)
{
    clirun r = clirun_exec("analyze", "--help", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    const char *names[] = {"workload", "attention", "mma", "host-bandwidth", "experts"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *needle = g_strdup_printf("  %s ", names[i]);
        cr_expect(strstr(r.out, needle) != NULL, "missing %s", names[i]);
        clirun h = clirun_exec("analyze", names[i], "--help", NULL);
        cr_expect_eq(h.code, 0, "%s --help: %s", names[i], h.err);
        cr_expect(strstr(h.out, "usage: servesim analyze"), "%s", h.out);
        clirun_clear(&h);
    }
    clirun_clear(&r);
    r = clirun_exec("analyze", "tiles", NULL);
    expect_one_line_error(&r, "analyze: unknown analysis 'tiles' (expected workload, attention");
    clirun_clear(&r);
}

/* FA3 (arXiv:2407.08608 §3.1): on H100, exp takes ~50 % of the matmul time at head_dim 128.
 * Non-causal, 4,096 tokens, 32 heads: qk = 2·128·4096²·32 FLOP / 989.43 TFLOP/s = 138.907 us;
 * exp / (qk + pv) = 0.50390625 (the 128 per-row correction exps per 128×128 tile included). */
Test(analyses, attention_json_fa3_worked_example)
{
    clirun r = clirun_exec("analyze", "attention", "--no-causal", "--heads", "32", "--kv-heads",
                           "32", "--tile", "128x128", "--json", NULL);
    json_t *j = json_of(&r);
    const json_t *pts = json_object_get(j, "points");
    cr_assert_eq(json_array_size(pts), 1);
    const json_t *p = json_array_get(pts, 0);
    cr_expect_eq(num(p, "head_dim"), 128);
    cr_expect_eq(num(p, "tiles"), 32 * 1024);
    const json_t *c = json_object_get(p, "components");
    cr_assert_eq(json_array_size(c), 9);
    double qk = num(find(c, "component", "qk"), "time_us");
    double pv = num(find(c, "component", "pv"), "time_us");
    double ex = num(find(c, "component", "exp"), "time_us");
    cr_expect(fabs(qk - 138.907) < 0.001, "qk %.4f us", qk);
    cr_expect(fabs(ex / (qk + pv) - 0.50390625) < 1e-8, "ratio %.10f", ex / (qk + pv));
    cr_expect_str_eq(json_string_value(json_object_get(p, "bound")), "tensor");
    cr_expect(fabs(num(p, "overlapped_us") - (qk + pv)) < 1e-6);
    json_decref(j);
    clirun_clear(&r);
}

Test(analyses, attention_sweep_text_and_csv)
{
    clirun r =
        clirun_exec("analyze", "attention", "--head-dim", "64,128,256", "--heads", "32,64", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "attention sweep: llama-3.1-8b on h100-sxm, prefill, causal"), "%s",
              r.out);
    cr_expect(strstr(r.out, "128x80"), "head_dim 256 gets FA3's 128x80 tile: %s", r.out);
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    cr_expect_eq(g_strv_length(lines), 2 + 1 + 1 + 6 + 1, "%s", r.out); /* header, table, "" */
    clirun_clear(&r);
    r = clirun_exec("analyze", "attention", "--head-dim", "64,128", "--csv", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_auto(GStrv) rows = g_strsplit(r.out, "\n", -1);
    cr_expect_str_eq(rows[0], "head_dim,heads,kv_heads,br,bc,component,unit,gops,tile_mb,hbm_mb,"
                              "time_us,share,hot");
    cr_expect_eq(g_strv_length(rows), 1 + 2 * 9 + 1);
    clirun_clear(&r);
    /* the single-point table names the hot component */
    r = clirun_exec("analyze", "attention", "--phase", "decode", "--batch", "64", "--seq-len",
                    "8192", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "hot component: load_"), "%s", r.out);
    cr_expect(strstr(r.out, "(GQA packed)"), "%s", r.out);
    clirun_clear(&r);
}

Test(analyses, attention_bad_settings_exit_2)
{
    static const char *const cases[][8] = {
        {"--tile", "100x128", NULL},
        {"--tile", "128x120", NULL},
        {"--tile", "128", NULL},
        {"--head-dim", "72", NULL},
        {"--head-dim", "64,x", NULL},
        {"--heads", "30", NULL},
        {"--ops", "qk=-1", NULL},
        {"--ops", "gemm=2", NULL},
        {"--hardware", "rtx4090", NULL},
        {"--model", "deepseek-v3", NULL},
        {"--tile", "256x256", "--head-dim", "256", NULL},
        {"--json", "--csv", NULL},
    };
    static const char *const want[] = {
        "--tile 100x128: Br = 100 is not a multiple of 64",
        "--tile 128x120: Bc = 120 is not a multiple of 16",
        "--tile 128: expected AxB",
        "--head-dim 72: not a multiple of 16",
        "--head-dim 64,x: 'x' is not an integer",
        "--heads 30: not a multiple of llama-3.1-8b's group size 4",
        "--ops qk=-1: qk needs a number in [0, 1e+09]",
        "unknown component 'gemm' (expected qk, softmax, exp, rescale, pv)",
        "rtx4090 has no sm (per-SM figures) figure",
        "deepseek-v3: MLA attention is not the FlashAttention kernel",
        "need 640 KiB of shared memory; h100-sxm has 227 KiB",
        "--json and --csv are exclusive",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *args[12] = {"analyze", "attention"};
        for (size_t k = 0; cases[i][k] != NULL; k++)
            args[2 + k] = cases[i][k];
        clirun r = clirun_execv(args);
        if (i == G_N_ELEMENTS(cases) - 1) { /* usage errors add the usage line */
            cr_expect_eq(r.code, 2);
            cr_expect(strstr(r.err, want[i]) != NULL, "%s", r.err);
        } else {
            expect_one_line_error(&r, want[i]);
        }
        clirun_clear(&r);
    }
}

/* H100, tile 128×256×64 bf16 (docs/analysis.md §2): L2/HBM need 48 B/clk/SM, HBM supplies
 * 3.35e12/(132·1.83e9) = 13.868 → HBM bound at 28.89 % of the peak (285.9 TFLOP/s); break-even
 * L2 hit rate 1 − 13.868/48 = 71.11 %. */
Test(analyses, mma_json_worked_example)
{
    clirun r = clirun_exec("analyze", "mma", "--json", NULL);
    json_t *j = json_of(&r);
    const json_t *t = json_array_get(json_object_get(j, "tiles"), 0);
    cr_assert_not_null(t);
    cr_expect_str_eq(json_string_value(json_object_get(t, "bound")), "hbm");
    const json_t *lv = json_object_get(t, "levels");
    cr_expect_eq(num(find(lv, "level", "hbm"), "need_bytes_per_clock"), 48.0);
    double hbm = 3.35e12 / (132.0 * 1.83e9);
    cr_expect(fabs(num(t, "achievable_fraction") - hbm / 48.0) < 1e-9);
    cr_expect(fabs(num(t, "l2_hit_rate_needed") - (1 - hbm / 48.0)) < 1e-9);
    cr_expect(
        json_is_null(json_object_get(find(lv, "level", "registers"), "intensity_flop_per_byte")),
        "no register bytes: infinite intensity is null");
    json_decref(j);
    clirun_clear(&r);
    /* NVIDIA's tile intensities M·N/(M+N) (fp16): 64, 85.3 */
    r = clirun_exec("analyze", "mma", "--hardware", "a100-80gb", "--dtype", "fp16", "--tile",
                    "128x128x32,256x128x32", "--csv", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_auto(GStrv) rows = g_strsplit(r.out, "\n", -1);
    cr_expect_str_eq(rows[0], "tile,level,need_bytes_per_clock,supply_bytes_per_clock,"
                              "intensity_flop_per_byte,utilization,bound");
    cr_expect_eq(g_strv_length(rows), 1 + 2 * 4 + 1);
    /* A100 L2 5,120 B/clk (whitepaper) shared by 108 SMs = 47.407 B/clk/SM */
    cr_expect(strstr(r.out, "128x128x32,l2,32,47.40740741,64,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, ",64,") != NULL && strstr(r.out, ",85.33333333,") != NULL, "%s", r.out);
    clirun_clear(&r);
}

Test(analyses, mma_bad_settings_exit_2)
{
    static const char *const cases[][6] = {
        {"--tile", "100x128x64", NULL},
        {"--tile", "128x128x24", NULL},
        {"--tile", "128x128", NULL},
        {"--l2-hit-rate", "1.5", NULL},
        {"--operands", "ss", "--hardware", "a100-80gb", NULL},
        {"--stages", "8", "--tile", "256x256x128", NULL},
        {"--cluster", "2x1", "--hardware", "a100-40gb", NULL},
    };
    static const char *const want[] = {
        "--tile 100x128x64: the tile is not a whole number of 64x128 warp tiles",
        "--tile 128x128x24: K = 24 is not a multiple of 16",
        "--tile 128x128: expected MxNxK",
        "--l2-hit-rate: 1.5 is out of range [0, 1]",
        "--operands ss: a100-80gb has no shared-memory-operand MMA",
        "KiB of shared memory; h100-sxm has 227 KiB",
        "--cluster 2x1: a100-40gb has no thread-block clusters",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *args[10] = {"analyze", "mma"};
        for (size_t k = 0; cases[i][k] != NULL; k++)
            args[2 + k] = cases[i][k];
        clirun r = clirun_execv(args);
        expect_one_line_error(&r, want[i]);
        clirun_clear(&r);
    }
}

/* Mixtral-8x7B on H100 (docs/analysis.md §3): cold refill of every expert, 90,194,313,216 B
 * over PCIe Gen5 (64 GB/s per direction) = 1,409.29 ms; through the 614.4 GB/s DDR5 shared by
 * 8 GPUs 1,174.40 ms: PCIe bounds. */
Test(analyses, host_bandwidth_json_worked_example)
{
    clirun r = clirun_exec("analyze", "host-bandwidth", "--json", "--windows", "1,8,64", NULL);
    json_t *j = json_of(&r);
    cr_expect_str_eq(json_string_value(json_object_get(j, "model")), "mixtral-8x7b");
    cr_expect_eq(num(j, "expert_bytes"), 352321536.0);
    const json_t *all = json_object_get(json_object_get(j, "cold_refill"), "all_experts");
    cr_expect(fabs(num(all, "h2d_bytes") - 90194313216.0) < 100, "10 significant digits");
    cr_expect(fabs(num(all, "time_ms") - 1409.2861) < 1e-3, "%.4f", num(all, "time_ms"));
    cr_expect(fabs(num(all, "ddr_ms") - 1174.4051) < 1e-3, "%.4f", num(all, "ddr_ms"));
    cr_expect_str_eq(json_string_value(json_object_get(all, "bottleneck")), "pcie");
    const json_t *w = json_object_get(j, "windows");
    cr_assert_eq(json_array_size(w), 3);
    /* throughput never falls as the window grows */
    double prev = 0;
    for (size_t i = 0; i < 3; i++) {
        double tps = num(json_array_get(w, i), "tokens_per_s");
        cr_expect(tps >= prev);
        prev = tps;
    }
    json_decref(j);
    clirun_clear(&r);
    /* Grace Hopper reaches host memory over NVLink-C2C: 90.19 GB / 450 GB/s = 200.43 ms */
    r = clirun_exec("analyze", "host-bandwidth", "--hardware", "gh200", "--json", NULL);
    j = json_of(&r);
    all = json_object_get(json_object_get(j, "cold_refill"), "all_experts");
    cr_expect(fabs(num(all, "time_ms") - 200.4318) < 1e-3, "%.4f", num(all, "time_ms"));
    cr_expect_str_eq(json_string_value(json_object_get(all, "bottleneck")), "c2c");
    json_decref(j);
    clirun_clear(&r);
}

Test(analyses, host_bandwidth_text_csv_and_determinism)
{
    const char *args[] = {
        "analyze", "host-bandwidth", "--expert-skew", "1.2", "--kv-writeback", "1", NULL};
    clirun a = clirun_execv(args), b = clirun_execv(args);
    cr_assert_eq(a.code, 0, "%s", a.err);
    cr_expect_str_eq(a.out, b.out);
    cr_expect(strstr(a.out, "cold refill (from nothing):"), "%s", a.out);
    cr_expect(strstr(a.out, "routing      Zipf, exponent 1.2"), "%s", a.out);
    clirun_clear(&a);
    clirun_clear(&b);
    clirun r = clirun_exec("analyze", "host-bandwidth", "--csv", "--windows", "1,2", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_auto(GStrv) rows = g_strsplit(r.out, "\n", -1);
    cr_expect_str_eq(rows[0], "window_steps,tokens,misses_per_layer,refill_gb,kv_write_gb,"
                              "kv_read_gb,link_ms,ddr_ms,compute_ms,window_ms,tokens_per_s,"
                              "serial_tokens_per_s,bottleneck,bound");
    cr_expect_eq(g_strv_length(rows), 4);
    clirun_clear(&r);
}

Test(analyses, host_bandwidth_bad_settings_exit_2)
{
    static const char *const cases[][4] = {
        {"--pcie-gbps", "-5", NULL},       {"--ddr-gbps", "0", NULL},
        {"--model", "llama-3.1-8b", NULL}, {"--resident-experts", "9", NULL},
        {"--expert-skew", "-1", NULL},     {"--hardware", "rtx4090", NULL},
        {"--host-link", "c2c", NULL},      {"--windows", "0", NULL},
        {"--kv-writeback", "2", NULL},
    };
    static const char *const want[] = {
        "--pcie-gbps: -5 is out of range",
        "--ddr-gbps: 0 is out of range",
        "llama-3.1-8b: a dense model has no experts to offload",
        "--resident-experts 9: the model has 8 experts per layer",
        "--expert-skew: -1 is out of range",
        "--ddr-gbps: rtx4090 has no positive host-memory bandwidth",
        "--c2c-gbps: h100-sxm has no positive NVLink-C2C bandwidth",
        "--windows 0: '0' is not an integer in [1,",
        "--kv-writeback: 2 is out of range",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *args[8] = {"analyze", "host-bandwidth"};
        for (size_t k = 0; cases[i][k] != NULL; k++)
            args[2 + k] = cases[i][k];
        clirun r = clirun_execv(args);
        expect_one_line_error(&r, want[i]);
        clirun_clear(&r);
    }
}

/* Inverse (docs/analysis.md §4): a 50 ms budget over PCIe at 64 GB/s loads
 * floor(0.05·64e9/352,321,536) = 9 expert-layers of Mixtral. */
Test(analyses, experts_json_worked_example)
{
    clirun r = clirun_exec("analyze", "experts", "--budget-ms", "50", "--windows", "1", "--json",
                           "--resident-experts", "4", "--step-ms", "20", NULL);
    json_t *j = json_of(&r);
    const json_t *w = json_array_get(json_object_get(j, "windows"), 0);
    cr_assert_not_null(w);
    cr_expect_eq(num(w, "loadable_experts"), 9);
    cr_expect_str_eq(json_string_value(json_object_get(w, "result")), "FAIL (load over budget)");
    cr_expect_eq(num(w, "min_resident"), 8);
    cr_expect(fabs(num(j, "one_expert_load_ms") - 352321536.0 / 64e9 * 1e3) < 1e-9);
    cr_expect_eq(num(j, "windows_passing"), 0);
    json_decref(j);
    clirun_clear(&r);
    /* the default SLA (200 ms, MLPerf mixtral-8x7b) passes from some window on */
    r = clirun_exec("analyze", "experts", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "SLA          TPOT ≤ 200 ms"), "%s", r.out);
    cr_expect(strstr(r.out, "PASS"), "%s", r.out);
    cr_expect(strstr(r.out, "FAIL (load over budget)"), "%s", r.out);
    clirun_clear(&r);
    r = clirun_exec("analyze", "experts", "--tpot-sla-ms", "-1", NULL);
    expect_one_line_error(&r, "--tpot-sla-ms: -1 is out of range");
    clirun_clear(&r);
    r = clirun_exec("analyze", "experts", "--budget-ms", "0", NULL);
    expect_one_line_error(&r, "--budget-ms: 0 is out of range");
    clirun_clear(&r);
}

/* At peak with no overheads, one Llama-3.1-8B decode at context 1 reads 15,009,316,864 B of
 * weights: 4.4804 ms at 3.35 TB/s, plus 0.0056 ms of per-(sequence × KV head) attention work =
 * 4.4860 ms (tests/cli/test_estimate.c); the comparison row must say the same, and
 * Mixtral-8x7B (93.4 GB of bf16 weights) gets a row saying it does not fit. */
Test(analyses, estimate_compares_models)
{
    clirun r = clirun_exec("estimate", "--model", "llama-3.1-8b,qwen3-32b,mixtral-8x7b", "--json",
                           "--compute-efficiency", "1", "--memory-efficiency", "1",
                           "--step-overhead-us", "0", "--per-seq-overhead-us", "0", "--input-len",
                           "1", "--output-len", "2", NULL);
    json_t *j = json_of(&r);
    const json_t *m = json_object_get(j, "models");
    cr_assert_eq(json_array_size(m), 3);
    const json_t *l = find(m, "model", "llama-3.1-8b");
    cr_expect(fabs(num(l, "tpot_ms") - 4.4860) < 0.005, "%.4f", num(l, "tpot_ms"));
    cr_expect_eq(num(l, "kv_bytes_per_token"), 131072);
    cr_expect(fabs(num(l, "params_b") - 8.03) < 0.005);
    cr_expect_str_eq(json_string_value(json_object_get(l, "fits")), "yes");
    const json_t *q = find(m, "model", "qwen3-32b");
    cr_expect_eq(num(q, "kv_bytes_per_token"), 262144);
    const json_t *x = find(m, "model", "mixtral-8x7b");
    cr_expect(json_is_null(json_object_get(x, "tpot_ms")));
    cr_expect(g_str_has_prefix(json_string_value(json_object_get(x, "fits")), "no: weights"));
    json_decref(j);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-8b,qwen3-32b", "--csv", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_auto(GStrv) rows = g_strsplit(r.out, "\n", -1);
    cr_expect(g_str_has_prefix(rows[0], "model,params_b,active_params_b,weights_gb_per_gpu,"));
    cr_expect_eq(g_strv_length(rows), 4);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-8b,no-such-model", NULL);
    expect_one_line_error(&r, "no-such-model");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-8b,", NULL);
    expect_one_line_error(&r, "empty name in the list");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--model", "llama-3.1-8b,qwen3-32b", "--overlap", "0.5", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "does not combine with --scenarios or --overlap"), "%s", r.err);
    clirun_clear(&r);
}

/* --overlap φ prices with ω = φ: the TPOT equals --comm-overlap φ's; the timeline's step is
 * overhead + kernels + (1 − φ)·comm. */
Test(analyses, estimate_overlap_timeline)
{
    clirun a = clirun_exec("estimate", "--model", "llama-3.1-70b", "--tensor-parallel-size", "4",
                           "--batch", "8", "--overlap", "0.5", "--json", NULL);
    clirun b = clirun_exec("estimate", "--model", "llama-3.1-70b", "--tensor-parallel-size", "4",
                           "--batch", "8", "--comm-overlap", "0.5", "--json", NULL);
    json_t *ja = json_of(&a), *jb = json_of(&b);
    double ta = num(json_object_get(ja, "summary"), "tpot_ms");
    cr_expect_eq(ta, num(json_object_get(jb, "summary"), "tpot_ms"));
    const json_t *ov = json_object_get(ja, "overlap");
    cr_assert_not_null(ov);
    cr_expect_eq(num(ov, "phi"), 0.5);
    const json_t *pf = json_object_get(ov, "prefill");
    double step = num(pf, "overhead_ms") + num(pf, "kernels_ms") + 0.5 * num(pf, "comm_ms");
    cr_expect(fabs(num(pf, "step_ms") - step) < 1e-6);
    cr_expect(fabs(num(pf, "step_ms") - num(json_object_get(ja, "prefill"), "latency_ms")) < 1e-6,
              "the timeline's prefill step is estimate's");
    cr_expect(num(pf, "comm_ms") > 0);
    cr_expect(json_object_get(jb, "overlap") == NULL);
    json_decref(ja);
    json_decref(jb);
    clirun_clear(&a);
    clirun_clear(&b);
    clirun r = clirun_exec("estimate", "--model", "llama-3.1-70b", "--tensor-parallel-size", "4",
                           "--overlap", "0.25", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "compute vs communication overlap"), "%s", r.out);
    cr_expect(strstr(r.out, "prefill step, φ = 0.25"), "%s", r.out);
    cr_expect(strstr(r.out, "  compute |"), "%s", r.out);
    cr_expect(strstr(r.out, "~") && strstr(r.out, "="), "hidden and exposed comm drawn: %s", r.out);
    clirun_clear(&r);
    r = clirun_exec("estimate", "--overlap", "1.5", NULL);
    expect_one_line_error(&r, "--overlap: 1.5 is out of range");
    clirun_clear(&r);
    r = clirun_exec("estimate", "--overlap", "0.5", "--comm-overlap", "0.2", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "--overlap 0.5 and --comm-overlap 0.2 set the same φ"), "%s", r.err);
    clirun_clear(&r);
}
