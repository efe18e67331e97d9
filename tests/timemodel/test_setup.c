/* tests/timemodel/test_setup.c: tm_options → setup: presets and aliases, validation errors
 * (one line), calibration files, precedence of explicit options, hardware presets. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "tests/testutil.h"
#include "timemodel/setup.h"

static const base_opt_set set = {&tm_options_table, 1};

static tm_options
opts(const char *model, const char *hw)
{
    tm_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    cr_assert(base_opts_set_string(&set, &o, "model.name", model, NULL));
    cr_assert(base_opts_set_string(&set, &o, "hardware.name", hw, NULL));
    return o;
}

Test(setup, defaults_build_a_working_model)
{
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    /* the built-in defaults, without the shipped H100 calibration */
    cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", "none", NULL));
    GError *err = NULL;
    g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    tm_batch b;
    tm_batch_init(&b, tm_setup_dsa_topk(s));
    tm_batch_add(&b, 1, 100, true);
    cr_expect_gt(tm_step_s(tm, &b, NULL), 1e-3);
    const tm_roofline_params *p = tm_setup_params_const(s);
    cr_expect_eq(p->compute_eff, TM_DEFAULT_COMPUTE_EFF);
    cr_expect_eq(p->overlap, 0.0);
    cr_expect_null(tm_setup_calibration(s));
    tm_vllm_defaults d;
    tm_setup_vllm_defaults(s, &d);
    cr_expect_eq(d.max_num_batched_tokens, 8192);
    json_auto_t *j = tm_setup_to_json(s);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "model"), "layers")), 32);
    base_opts_clear(&set, &o);
}

Test(setup, every_hardware_preset_loads)
{
    g_auto(GStrv) names = tm_hardware_preset_names();
    const char *need[] = {"a100-40gb", "a100-80gb", "h100-sxm", "h200",         "b200",   "l40s",
                          "mi300x",    "rtx3090",   "rtx4090",  "rtx-pro-6000", "tpu-v6e"};
    for (size_t i = 0; i < G_N_ELEMENTS(need); i++)
        cr_expect(g_strv_contains((const char *const *)names, need[i]), "%s", need[i]);
    for (char **n = names; *n; n++) {
        tm_hardware hw;
        GError *err = NULL;
        cr_expect(tm_hardware_load(&hw, *n, &err), "%s: %s", *n, err ? err->message : "");
        g_clear_error(&err);
        cr_expect_gt(hw.peak_flops[TM_DTYPE_BF16], 1e13, "%s", *n);
        tm_hardware_clear(&hw);
    }
}

/* The table: FLOPs, memory, memory bandwidth, interconnect, accepted by name. */
Test(setup, table_names_carry_the_table_figures)
{
    const struct {
        const char *name;
        double tf, gb, bw, icn;
    } rows[] = {{"A100_40GB_GPU", 312, 40, 1600, 150}, {"A100_80GB_GPU", 312, 80, 2039, 150},
                {"H100_GPU", 989, 80, 3400, 450},      {"RTX3090_GPU", 142, 24, 936, 16},
                {"RTX4090_GPU", 330, 24, 1008, 32},    {"MI300X", 1307.4, 192, 5300, 448},
                {"TPUv6", 926, 32, 1640, 100}};

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        tm_hardware hw;
        GError *err = NULL;
        cr_assert(tm_hardware_load(&hw, rows[i].name, &err), "%s: %s", rows[i].name,
                  err ? err->message : "");
        cr_expect_eq(hw.peak_flops[TM_DTYPE_BF16], rows[i].tf * 1e12, "%s", rows[i].name);
        cr_expect_eq(hw.memory_gb, rows[i].gb, "%s", rows[i].name);
        cr_expect_eq(hw.mem_bw, rows[i].bw * 1e9, "%s", rows[i].name);
        cr_expect_eq(tm_hardware_link(&hw, hw.default_backend)->bw, rows[i].icn * 1e9, "%s",
                     rows[i].name);
        tm_hardware_clear(&hw);
    }
}

Test(setup, custom_hardware_file_with_base)
{
    g_autofree char *path =
        tu_tmp_file(".json", "{\"base\": \"h100-sxm\", \"display_name\": \"H100 at 3 TB/s\", "
                             "\"memory_bandwidth_gbps\": 3000}");
    tm_hardware hw;
    GError *err = NULL;
    cr_assert(tm_hardware_load(&hw, path, &err), "%s", err ? err->message : "");
    cr_expect_eq(hw.mem_bw, 3000e9);
    cr_expect_eq(hw.peak_flops[TM_DTYPE_FP8], 1978.9e12);
    tm_hardware_clear(&hw);
    g_unlink(path);
    g_autofree char *bad = tu_tmp_file(".json", "{\"memory_gb\": 80}");
    cr_expect_not(tm_hardware_load(&hw, bad, &err));
    cr_expect(strstr(err->message, "missing peak_tflops"), "%s", err->message);
    g_clear_error(&err);
    g_unlink(bad);
}

static void
expect_setup_error(tm_options *o, const char *needle)
{
    GError *err = NULL;
    tm_setup *s = tm_setup_new(o, &err);
    cr_expect_null(s);
    tm_setup_free(s);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, needle) != NULL, "'%s' lacks '%s'", err->message, needle);
    cr_expect_null(strchr(err->message, '\n'));
    g_error_free(err);
    base_opts_clear(&set, o);
}

Test(setup, validation_errors_are_one_line)
{
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    o.tp = 3;
    expect_setup_error(&o, "--tensor-parallel-size 3 does not divide num_attention_heads 32");
    o = opts("llama-3.1-8b", "h100-sxm");
    o.pp = 5;
    expect_setup_error(&o, "--pipeline-parallel-size 5 does not divide num_hidden_layers 32");
    o = opts("mixtral-8x7b", "h100-sxm");
    o.tp = 2;
    o.dp = 8;
    o.expert_parallel = true;
    expect_setup_error(&o, "does not divide the routed experts 8");
    o = opts("llama-3.1-70b", "h100-sxm");
    expect_setup_error(&o, "short by");
    o = opts("llama-3.1-8b", "h100-sx");
    expect_setup_error(&o, "unknown hardware 'h100-sx' (did you mean h100-sxm");
    o = opts("mixtrel-8x7b", "h100-sxm");
    expect_setup_error(&o, "did you mean mixtral-8x7b");
    o = opts("llama-3.1-8b", "l40s");
    o.tp = 2;
    cr_assert(base_opts_set_string(&set, &o, "timemodel.comm_backend", "nv_like", NULL));
    expect_setup_error(&o, "no figure for the nvlink link");
}

Test(setup, calibration_file_then_explicit_options)
{
    g_autofree char *path = tu_tmp_file(
        ".json",
        "{\"format\": \"servesim-calibration/1\", \"model\": \"llama-3.1-8b\", \"form\": "
        "\"linear\", \"coefficients\": {\"beta0_s\": 0.0002, \"beta_compute\": 2.0, "
        "\"beta_memory\": 1.25, \"beta_comm\": 0, \"beta_seq_s\": 1e-5}, \"overlap\": 0.5, "
        "\"request_overhead_s\": 0.015, \"fit\": {\"mape\": 0.07}}");
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", path, NULL));
    GError *err = NULL;
    tm_setup *s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    const tm_roofline_params *p = tm_setup_params_const(s);
    cr_expect_eq(p->compute_eff, 0.5);
    cr_expect_eq(p->memory_eff, 0.8);
    cr_expect_eq(p->comm_eff, TM_DEFAULT_COMM_EFF, "β = 0: not identifiable, keep default");
    cr_expect_eq(p->step_overhead_s, 0.0002);
    cr_expect_eq(p->per_seq_overhead_s, 1e-5);
    cr_expect_eq(p->overlap, 0.5);
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    cr_expect_eq(tm->request_overhead_s, 0.015);
    cr_expect_str_eq(tm_setup_calibration(s), path);
    tm_setup_free(s);
    /* explicit options beat the calibration */
    cr_assert(base_opts_set_string(&set, &o, "timemodel.compute_efficiency", "0.9", NULL));
    cr_assert(base_opts_set_string(&set, &o, "timemodel.overlap", "0", NULL));
    s = tm_setup_new(&o, &err);
    cr_assert_not_null(s);
    cr_expect_eq(tm_setup_params_const(s)->compute_eff, 0.9);
    cr_expect_eq(tm_setup_params_const(s)->overlap, 0.0);
    tm_setup_free(s);
    base_opts_clear(&set, &o);
    g_unlink(path);
}

Test(setup, bad_calibration_files)
{
    const char *bad[][2] = {
        {"{\"coefficients\": {}}", "format: expected"},
        {"{\"format\": \"servesim-calibration/1\", \"coefficents\": {}}",
         "unknown key 'coefficents' (did you mean coefficients?)"},
        {"{\"format\": \"servesim-calibration/1\", \"coefficients\": {\"beta_compute\": -1}}",
         "beta_compute: expected a number"},
        {"{\"format\": \"servesim-calibration/1\", \"overlap\": 2}", "overlap: expected"},
        /* found by fuzz/fuzz_tm_calibration: a key holding a newline broke the one line */
        {"{\"format\": \"servesim-calibration/1\", \"coef\\nx\": {}}", "unknown key 'coef\\x0Ax'"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = tu_tmp_file(".json", bad[i][0]);
        tm_options o = opts("llama-3.1-8b", "h100-sxm");
        cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", path, NULL));
        expect_setup_error(&o, bad[i][1]);
        g_unlink(path);
    }
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", "h100-fit", NULL));
    expect_setup_error(&o, "unknown calibration 'h100-fit'");
}

Test(setup, dsa_topk_and_dtypes)
{
    tm_options o = opts("deepseek-v3.2", "h200");
    o.tp = 8;
    cr_assert(base_opts_set_string(&set, &o, "model.dtype", "fp8", NULL));
    GError *err = NULL;
    g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_dsa_topk(s), 2048);
    cr_expect_eq(tm_setup_params_const(s)->kv_dtype, TM_DTYPE_FP8, "auto = dtype");
    tm_memory_plan plan;
    cr_expect(tm_setup_memory_plan(s, NULL, &plan, &err), "%s", err ? err->message : "");
    cr_expect_eq(plan.kv_bytes_per_token, 48068.0);
    base_opts_clear(&set, &o);
}
