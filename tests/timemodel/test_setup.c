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

#define GIB_ 1073741824.0

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

/* A setup of MODEL on HW with tp TP and the dtype options (NULL = default). */
static tm_setup *
setup_dtypes(const char *model, const char *hw, int64_t tp, const char *dtype, const char *kv)
{
    tm_options o = opts(model, hw);
    o.tp = tp;
    if (dtype != NULL)
        cr_assert(base_opts_set_string(&set, &o, "model.dtype", dtype, NULL));
    if (kv != NULL)
        cr_assert(base_opts_set_string(&set, &o, "model.kv_cache_dtype", kv, NULL));
    GError *err = NULL;
    tm_setup *s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s: %s", model, err ? err->message : "");
    base_opts_clear(&set, &o);
    return s;
}

/* DeepSeek-V3.2 (DSA) KV per token, 61 layers: bf16 latent (512 + 64) × 2 = 1,152 B plus the
 * 132-byte fp8 indexer key = 78,324 B; with --kv-cache-dtype fp8 the 656-byte fp8_ds_mla latent
 * + 132 = 48,068 B (docs/domain.md §2.1). --dtype fp8 quantises the weights only: the auto KV
 * cache is the activation dtype, bf16 (vLLM: cache_dtype "auto" = model dtype). */
Test(setup, dsa_topk_and_dtypes)
{
    g_autoptr(tm_setup) s = setup_dtypes("deepseek-v3.2", "h200", 8, "fp8", NULL);
    cr_expect_eq(tm_setup_dsa_topk(s), 2048);
    cr_expect_eq(tm_setup_params_const(s)->weight_dtype, TM_DTYPE_FP8);
    cr_expect_eq(tm_setup_params_const(s)->kv_dtype, TM_DTYPE_BF16, "auto = activations");
    tm_memory_plan plan;
    GError *err = NULL;
    cr_expect(tm_setup_memory_plan(s, NULL, &plan, &err), "%s", err ? err->message : "");
    cr_expect_eq(plan.kv_bytes_per_token, 78324.0);
    g_autoptr(tm_setup) f = setup_dtypes("deepseek-v3.2", "h200", 8, "fp8", "fp8");
    cr_expect(tm_setup_memory_plan(f, NULL, &plan, &err), "%s", err ? err->message : "");
    cr_expect_eq(plan.kv_bytes_per_token, 48068.0);
}

/* A quantised checkpoint keeps its weights under a 16-bit --dtype, and the auto KV cache is
 * the activation dtype (issue: DeepSeek-V3 was priced as bf16 weights that do not fit 8×H200,
 * and --dtype fp8 gave an fp8 KV cache of 35,136 B/token where vLLM keeps bf16, 70,272).
 * DeepSeek-V3 (config: quant_method fp8): KV 61 × (512 + 64) × 2 = 70,272 B per token on every
 * TP rank (MLA latents are replicated); its fp8 weights fit 8×H200 with room for KV. */
Test(setup, quantised_checkpoints_keep_their_weights_and_a_bf16_kv_cache)
{
    const char *const dtypes[] = {NULL, "bf16", "fp8"};
    for (size_t i = 0; i < G_N_ELEMENTS(dtypes); i++) {
        g_autoptr(tm_setup) s = setup_dtypes("deepseek-v3", "h200", 8, dtypes[i], NULL);
        const tm_roofline_params *p = tm_setup_params_const(s);
        cr_expect_eq(p->weight_dtype, TM_DTYPE_FP8, "--dtype %s", dtypes[i]);
        cr_expect_eq(p->kv_dtype, TM_DTYPE_BF16, "--dtype %s", dtypes[i]);
        cr_expect_not(p->experts_own_dtype);
        tm_memory_plan plan;
        GError *err = NULL;
        cr_expect(tm_setup_memory_plan(s, NULL, &plan, &err), "%s", err ? err->message : "");
        cr_expect_eq(plan.kv_bytes_per_token, 70272.0);
        cr_expect(plan.fits);
        cr_expect(plan.weight_bytes < 0.65 * plan.gpu_bytes, "%.1f GiB", plan.weight_bytes / GIB_);
    }
    /* fp16 activations: fp16 KV; an explicit KV dtype wins */
    g_autoptr(tm_setup) h = setup_dtypes("deepseek-v3", "h200", 8, "fp16", NULL);
    cr_expect_eq(tm_setup_params_const(h)->weight_dtype, TM_DTYPE_FP8);
    cr_expect_eq(tm_setup_params_const(h)->kv_dtype, TM_DTYPE_FP16);
    g_autoptr(tm_setup) k = setup_dtypes("deepseek-v3", "h200", 8, NULL, "fp8");
    cr_expect_eq(tm_setup_params_const(k)->kv_dtype, TM_DTYPE_FP8);
    /* the shorthand overrides the checkpoint's width; the KV cache stays bf16 */
    g_autoptr(tm_setup) i4 = setup_dtypes("deepseek-v3", "h200", 8, "int4", NULL);
    cr_expect_eq(tm_setup_params_const(i4)->weight_dtype, TM_DTYPE_INT4);
    cr_expect_eq(tm_setup_params_const(i4)->kv_dtype, TM_DTYPE_BF16);
    /* an unquantised model: --dtype fp8 is fp8 weights with a bf16 KV cache */
    g_autoptr(tm_setup) l = setup_dtypes("llama-3.1-8b", "h100-sxm", 1, "fp8", NULL);
    cr_expect_eq(tm_setup_params_const(l)->weight_dtype, TM_DTYPE_FP8);
    cr_expect_eq(tm_setup_params_const(l)->kv_dtype, TM_DTYPE_BF16);
}

/* gpt-oss quantises only its routed experts to MXFP4 (quantization_config: mxfp4, attention,
 * router, embeddings and lm_head in modules_to_not_convert). Its weights then match the
 * checkpoint sizes OpenAI publishes: 60.8 GiB (gpt-oss-120b, "fits on a single 80 GB GPU") and
 * 12.8 GiB (gpt-oss-20b) — gpt-oss-120b & gpt-oss-20b Model Card (OpenAI, Aug 2025,
 * arXiv:2508.10925), Table 1. Counted at bf16 they would be 218 GiB and 39 GiB. */
Test(setup, mxfp4_experts_match_the_published_checkpoint_sizes)
{
    static const struct {
        const char *file;
        double gib;
    } want[] = {
        {"reconstructed__openai--gpt-oss-120b.config.json", 60.8},
        {"reconstructed__openai--gpt-oss-20b.config.json", 12.8},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *path =
            g_build_filename(SERVESIM_DATA_DIR, "model-configs", want[i].file, NULL);
        g_autoptr(tm_setup) s = setup_dtypes(path, "h100-sxm", 1, NULL, NULL);
        const tm_roofline_params *p = tm_setup_params_const(s);
        cr_expect_eq(p->weight_dtype, TM_DTYPE_BF16);
        cr_expect(p->experts_own_dtype);
        cr_expect_eq(p->expert_dtype, TM_DTYPE_MXFP4);
        cr_expect_eq(p->kv_dtype, TM_DTYPE_BF16);
        tm_memory_plan plan;
        GError *err = NULL;
        tm_setup_memory_plan(s, NULL, &plan, &err);
        g_clear_error(&err);
        cr_expect(fabs(plan.weight_bytes / GIB_ - want[i].gib) < 0.05, "%s: %.3f GiB", want[i].file,
                  plan.weight_bytes / GIB_);
        g_autofree char *name = tm_roofline_weights_name(p);
        cr_expect_str_eq(name, "bf16 (experts mxfp4)");
    }
}

/* Which calibration each hardware gets, and how (docs/calibration.md §4). Expectations from
 * the presets' files: h100-sxm and h200 have their own calibration (applied whole); h100_gpu's
 * JSON says "base": "h100-sxm", and so does a user file, so they get h100-sxm's transferred;
 * b200 has neither, so it runs uncalibrated and says so. Transferred, the link efficiency stays
 * the hardware's (0.75, TM_DEFAULT_COMM_EFF: no preset sets one); whole, it is 1/beta_comm. */
Test(setup, calibration_resolves_per_hardware_and_says_how)
{
    g_autofree char *user = tu_tmp_file(".json", "{\"base\": \"h100-sxm\", "
                                                 "\"memory_bandwidth_gbps\": 3000}");

    static const struct {
        const char *hw, *name, *fitted_on;
        bool transferred;
    } want[] = {
        {"h100-sxm", "h100-sxm", "h100-sxm", false},
        {"h100_gpu", "h100-sxm", "h100-sxm", true},
        {NULL, "h100-sxm", "h100-sxm", true},
        {"h200", "h200", "h200", false},
        {"b200", NULL, NULL, false},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        const char *hw = want[i].hw != NULL ? want[i].hw : user;
        tm_options o = opts("llama-3.1-8b", hw);
        GError *err = NULL;
        g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
        cr_assert_not_null(s, "%s: %s", hw, err ? err->message : "");
        const tm_calib_use *u = tm_setup_calibration_use(s);
        const char *desc = tm_setup_calibration_desc(s);
        if (want[i].name == NULL) {
            cr_expect_null(u->name, "%s", hw);
            cr_expect_str_eq(desc, "uncalibrated");
            cr_expect(strstr(u->reason, "no calibration was fitted on b200") != NULL, "%s",
                      u->reason);
        } else {
            cr_expect_str_eq(u->name, want[i].name, "%s", hw);
            cr_expect_str_eq(u->fitted_on, want[i].fitted_on, "%s", hw);
            cr_expect_eq(u->transferred, want[i].transferred, "%s", hw);
            cr_expect(g_str_has_prefix(desc, want[i].name), "%s", desc);
            cr_expect_eq(strstr(desc, "transferred") != NULL, want[i].transferred, "%s", desc);
        }
        if (u->transferred)
            cr_expect_eq(tm_setup_params_const(s)->comm_eff, TM_DEFAULT_COMM_EFF, "%s", hw);
        json_auto_t *j = tm_setup_to_json(s);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "timemodel"),
                                                           "calibration_applied")),
                         desc);
        base_opts_clear(&set, &o);
    }
    /* an explicit calibration fitted on other hardware is transferred, with the reason */
    tm_options o = opts("llama-3.1-8b", "h200");
    cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", "h100-sxm", NULL));
    GError *err = NULL;
    g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect(tm_setup_calibration_use(s)->transferred);
    cr_expect_str_eq(tm_setup_calibration_use(s)->reason, "fitted on h100-sxm, run on h200");
    base_opts_clear(&set, &o);
    g_unlink(user);
}

/* The shipped H100 calibration carries the measured custom all-reduce table it was fitted with
 * (data/aiconfigurator-h100/vllm-0.14.0_custom_allreduce_perf.csv, graph rows): its first
 * 2-GPU point is 128 bf16 elements = 256 B in 0.0042835199832916265 ms. Applied whole on
 * h100-sxm; transferred to h100_gpu, the table stays behind (another system's links). */
Test(setup, calibration_allreduce_table_applies_on_its_own_hardware)
{
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    GError *err = NULL;
    g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    const tm_allreduce_table *t = &tm_setup_params_const(s)->allreduce;
    int k = -1;
    for (int i = 0; i < TM_AR_SLOTS; i++)
        if (t->n_gpus[i] == 2)
            k = i;
    cr_assert_geq(k, 0, "no 2-GPU slot");
    cr_expect_eq(t->bytes[k][0], 256.0);
    cr_expect(fabs(t->s[k][0] / 0.0042835199832916265e-3 - 1) < 1e-9, "%g", t->s[k][0]);
    base_opts_clear(&set, &o);
    tm_options g = opts("llama-3.1-8b", "h100_gpu");
    g_autoptr(tm_setup) sg = tm_setup_new(&g, &err);
    cr_assert_not_null(sg, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(sg)->allreduce.n_gpus[0], 0);
    base_opts_clear(&set, &g);
}
