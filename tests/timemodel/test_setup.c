/* tests/timemodel/test_setup.c: tm_options → setup: presets and aliases, validation errors
 * (one line), calibration files, precedence of explicit options, hardware presets; vLLM's
 * names (Hugging Face ids, hardware aliases, --dtype, --quantization). */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "base/asset.h"
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
    o.pp = 33;
    expect_setup_error(&o, "--pipeline-parallel-size 33 exceeds num_hidden_layers 32");
    o = opts("llama-3.1-8b", "h100-sxm");
    o.expert_parallel = true;
    expect_setup_error(&o, "--enable-expert-parallel: llama-3.1-8b has no experts");
    /* collectives are priced on the intra-node link: groups larger than a node are refused */
    o = opts("llama-3.1-8b", "h100-sxm");
    o.tp = 16;
    expect_setup_error(&o, "--tensor-parallel-size 16 exceeds the 8 GPUs per node of h100-sxm");
    o = opts("qwen3-30b-a3b", "h100-sxm");
    o.tp = 2;
    o.dp = 8;
    o.expert_parallel = true;
    expect_setup_error(&o, "tensor × data parallel size 16 exceeds the 8 GPUs per node");
    g_autofree char *six = tu_tmp_file(".json", "{\"base\": \"h100-sxm\", \"gpus_per_node\": 6}");
    o = opts("llama-3.1-8b", six);
    o.tp = 4;
    o.pp = 2;
    expect_setup_error(&o, "a tensor-parallel group would straddle two nodes");
    g_unlink(six);
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
    cr_expect(isnan(tm_setup_calibration_cv_mape(s)), "the file records no fit.cv_mape");
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
        {"{\"format\": \"servesim-calibration/1\", \"fit\": {\"cv_mape\": \"6%\"}}",
         "fit: cv_mape: expected a number"},
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

Test(setup, the_calibration_cross_validated_error_is_exposed)
{
    /* the shipped H100 calibration records "cv_mape": 0.04316073979 in its "fit" section */
    tm_options o = opts("llama-3.1-8b", "h100-sxm");
    g_autoptr(tm_setup) s = tm_setup_new(&o, NULL);
    cr_assert_not_null(s);
    cr_expect_str_eq(tm_setup_calibration(s), "h100-sxm");
    cr_expect_float_eq(tm_setup_calibration_cv_mape(s), 0.04316073979, 1e-15);
    base_opts_clear(&set, &o);
    o = opts("llama-3.1-8b", "h100-sxm");
    cr_assert(base_opts_set_string(&set, &o, "timemodel.calibration", "none", NULL));
    g_autoptr(tm_setup) u = tm_setup_new(&o, NULL);
    cr_expect(isnan(tm_setup_calibration_cv_mape(u)));
    base_opts_clear(&set, &o);
}

Test(setup, a_scaled_time_model_scales_step_times_only)
{
    tm_linear_coeffs lin = {.fixed_s = 1e-3, .per_decode_s = 1e-4};
    tm_timemodel *inner = tm_linear_new(&lin);
    inner->request_overhead_s = 0.02;
    g_autoptr(tm_timemodel) tm = tm_scaled_new(inner, 1.25);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 10, true);
    tm_batch_add(&b, 1, 20, true);
    tm_step_cost c;
    /* (1 ms + 2 × 0.1 ms) × 1.25 = 1.5 ms; the request overhead is not a step time */
    cr_expect_float_eq(tm_step_s(tm, &b, &c), 1.5e-3, 1e-15);
    cr_expect_float_eq(c.total_s, 1.5e-3, 1e-15);
    cr_expect_float_eq(c.overhead_s, 1.25e-3, 1e-15);
    cr_expect_float_eq(c.compute_s, 0.25e-3, 1e-15);
    cr_expect_eq(tm->request_overhead_s, 0.02);
}

/* ---- vLLM's names: Hugging Face ids, hardware aliases, dtype / quantization ------------- */

/* Builds a setup for MODEL on HW with extra "path=value" settings (NULL-terminated). */
static tm_setup *
setup_with(const char *model, const char *hw, GError **err, ...)
{
    tm_options o = opts(model, hw);
    va_list ap;
    va_start(ap, err);
    for (const char *kv = va_arg(ap, const char *); kv != NULL; kv = va_arg(ap, const char *)) {
        g_auto(GStrv) p = g_strsplit(kv, "=", 2);
        cr_assert(base_opts_set_string(&set, &o, p[0], p[1], NULL), "%s", kv);
    }
    va_end(ap);
    tm_setup *s = tm_setup_new(&o, err);
    base_opts_clear(&set, &o);
    return s;
}

Test(setup, hugging_face_ids_resolve_to_presets)
{
    /* id → preset and its layer count, from the models' config.json files (hand-copied) */
    const struct {
        const char *id, *preset;
        int64_t layers;
    } ids[] = {
        {"meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct", 32},
        {"meta-llama/Meta-Llama-3.1-8B", "llama-3.1-8b", 32},
        {"META-LLAMA/META-LLAMA-3.1-8B", "llama-3.1-8b", 32},
        {"meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b-instruct", 80},
        {"deepseek-ai/DeepSeek-V3", "deepseek-v3", 61},
        {"Qwen/Qwen3-32B", "qwen3-32b", 64},
        {"mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b", 32},
        {"LLAMA-3.1-8B", "llama-3.1-8b", 32},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        GError *err = NULL;
        g_autoptr(tm_setup) s = setup_with(ids[i].id, "h200", &err,
                                           "parallelism."
                                           "tensor_parallel_size=8",
                                           NULL);
        cr_assert_not_null(s, "%s: %s", ids[i].id, err ? err->message : "");
        cr_expect_str_eq(tm_setup_model(s)->name, ids[i].preset, "%s", ids[i].id);
        cr_expect_eq(tm_setup_model(s)->layers, ids[i].layers, "%s", ids[i].id);
    }
    /* every listed id resolves to its own preset, and every preset loads */
    g_auto(GStrv) names = tm_model_preset_names();
    for (char **n = names; *n != NULL; n++)
        for (const char *const *id = tm_model_preset_ids(*n); *id != NULL; id++) {
            g_autofree char *p = tm_model_resolve_preset(*id);
            cr_expect_str_eq(p, *n, "%s", *id);
        }
}

Test(setup, unknown_ids_suggest_and_paths_still_load)
{
    tm_model_spec m;
    GError *err = NULL;
    cr_expect_not(tm_model_spec_load(&m, "meta-llama/Llama-3.1-405B", &err));
    cr_assert_not_null(err);
    cr_expect(
        g_str_has_prefix(err->message, "unknown model 'meta-llama/Llama-3.1-405B' (did you mean "),
        "%s", err->message);
    cr_expect(strstr(err->message, "meta-llama/Llama-3.1-70B") != NULL, "%s", err->message);
    g_clear_error(&err);
    cr_expect_not(tm_model_spec_load(&m, "acme/none-such-model", &err));
    cr_expect(g_str_has_prefix(err->message, "unknown model 'acme/none-such-model'"), "%s",
              err->message);
    g_clear_error(&err);
    /* a config.json by path, and the directory holding it (a downloaded snapshot) */
    g_autoptr(GBytes) b = base_asset_bytes("models/qwen3-32b.json", NULL);
    cr_assert_not_null(b);
    g_autofree char *dir = g_dir_make_tmp("servesim-model-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "config.json", NULL);
    cr_assert(
        g_file_set_contents(path, g_bytes_get_data(b, NULL), (gssize)g_bytes_get_size(b), NULL));
    cr_assert(tm_model_spec_load(&m, path, &err), "%s", err ? err->message : "");
    cr_expect_eq(m.layers, 64);
    tm_model_spec_clear(&m);
    cr_assert(tm_model_spec_load(&m, dir, &err), "%s", err ? err->message : "");
    cr_expect_eq(m.layers, 64);
    tm_model_spec_clear(&m);
    g_unlink(path);
    g_rmdir(dir);
}

Test(setup, hardware_aliases_load_the_preset_and_its_calibration)
{
    const char *const h100[] = {"h100", "H100", "h100-sxm5", "h100-sxm"};
    for (size_t i = 0; i < G_N_ELEMENTS(h100); i++) {
        GError *err = NULL;
        g_autoptr(tm_setup) s = setup_with("meta-llama/Llama-3.1-8B", h100[i], &err, NULL);
        cr_assert_not_null(s, "%s: %s", h100[i], err ? err->message : "");
        cr_expect_str_eq(tm_setup_hardware(s)->name, "h100-sxm", "%s", h100[i]);
        cr_expect_eq(tm_setup_hardware(s)->mem_bw, 3350e9, "%s: SXM5 datasheet", h100[i]);
        cr_expect_str_eq(tm_setup_calibration(s), "h100-sxm", "%s", h100[i]);
    }
    g_autofree char *a = tm_hardware_resolve_preset("A100");
    cr_expect_str_eq(a, "a100-80gb");
    cr_expect_null(tm_hardware_resolve_preset("h100-pcie"));
    const char *const *al = tm_hardware_preset_aliases("h100-sxm");
    cr_expect_str_eq(al[0], "h100");
}

/* Weight bytes of Llama-3.1-8B on one GPU, by hand: linear layers 32 × (q 4096² + k,v
 * 2·4096·1024 + o 4096² + mlp 3·4096·14336) = 6,979,321,856 at the weight dtype; embedding
 * and untied lm-head 2 × 128256·4096 and norms 32·2·4096 + 4096 at 2 bytes. */
#define LLAMA8B_LINEAR    6979321856.0
#define LLAMA8B_BF16_REST (2.0 * (2.0 * 128256 * 4096 + 32 * 2 * 4096 + 4096))

static double
weight_bytes(const tm_setup *s)
{
    tm_memory_plan plan;
    GError *err = NULL;
    tm_setup_memory_plan(s, NULL, &plan, &err);
    g_clear_error(&err);
    return plan.weight_bytes;
}

Test(setup, dtype_auto_follows_the_model_config)
{
    GError *err = NULL;
    g_autoptr(tm_setup) l3 = setup_with("llama-3.1-8b", "h100", &err, NULL); /* bfloat16 */
    cr_assert_not_null(l3, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(l3)->weight_dtype, TM_DTYPE_BF16);
    cr_expect_eq(tm_setup_params_const(l3)->kv_dtype, TM_DTYPE_BF16);
    cr_expect_eq(weight_bytes(l3), 2 * LLAMA8B_LINEAR + LLAMA8B_BF16_REST);
    g_autoptr(tm_setup) l2 = setup_with("llama-2-7b", "h100", &err, NULL); /* float16 */
    cr_assert_not_null(l2, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(l2)->weight_dtype, TM_DTYPE_FP16);
    cr_expect_eq(tm_setup_params_const(l2)->kv_dtype, TM_DTYPE_FP16);
    /* DeepSeek-V3's config has an fp8 quantization_config: vLLM loads fp8 weights and keeps
     * an auto KV cache in the model dtype (bfloat16), also under an explicit --dtype */
    const char *const dts[] = {"model.dtype=auto", "model.dtype=bfloat16"};
    for (size_t i = 0; i < G_N_ELEMENTS(dts); i++) {
        g_autoptr(tm_setup) ds = setup_with("deepseek-v3", "h200", &err,
                                            "parallelism.tensor_parallel_size=8", dts[i], NULL);
        cr_assert_not_null(ds, "%s", err ? err->message : "");
        cr_expect_eq(tm_setup_params_const(ds)->weight_dtype, TM_DTYPE_FP8, "%s", dts[i]);
        cr_expect_eq(tm_setup_params_const(ds)->kv_dtype, TM_DTYPE_BF16, "%s", dts[i]);
    }
    g_autoptr(tm_setup) half = setup_with("llama-3.1-8b", "h100", &err, "model.dtype=half", NULL);
    cr_expect_eq(tm_setup_params_const(half)->weight_dtype, TM_DTYPE_FP16);
    cr_expect_null(setup_with("llama-3.1-8b", "h100", &err, "model.dtype=float", NULL));
    cr_expect_str_eq(err->message,
                     "--dtype float: fp32 serving is not modelled (give bfloat16 or float16)");
    g_clear_error(&err);
}

Test(setup, quantization_methods_price_or_refuse)
{
    GError *err = NULL;
    g_autoptr(tm_setup) f8 =
        setup_with("llama-3.1-8b", "h100", &err, "model.quantization=fp8", NULL);
    cr_assert_not_null(f8, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(f8)->weight_dtype, TM_DTYPE_FP8);
    cr_expect_eq(tm_setup_params_const(f8)->kv_dtype, TM_DTYPE_BF16, "auto KV = model dtype");
    cr_expect_eq(weight_bytes(f8), LLAMA8B_LINEAR + LLAMA8B_BF16_REST);
    g_autoptr(tm_setup) f8kv = setup_with("llama-3.1-8b", "h100", &err, "model.quantization=fp8",
                                          "model.kv_cache_dtype=fp8_e5m2", NULL);
    cr_expect_eq(tm_setup_params_const(f8kv)->kv_dtype, TM_DTYPE_FP8);
    g_autoptr(tm_setup) awq =
        setup_with("llama-3.1-8b", "h100", &err, "model.quantization=awq", NULL);
    cr_assert_not_null(awq, "%s", err ? err->message : "");
    cr_expect_eq(weight_bytes(awq), LLAMA8B_LINEAR / 2 + LLAMA8B_BF16_REST);
    /* servesim's shorthand quantises the weights only: the auto KV cache stays the activation
     * dtype, bf16, as vLLM's "auto" (an fp8 cache is --kv-cache-dtype fp8) */
    g_autoptr(tm_setup) sh = setup_with("llama-3.1-8b", "h100", &err, "model.dtype=fp8", NULL);
    cr_expect_eq(tm_setup_params_const(sh)->weight_dtype, TM_DTYPE_FP8);
    cr_expect_eq(tm_setup_params_const(sh)->kv_dtype, TM_DTYPE_BF16);
    /* a Marlin method may stand for the checkpoint's own (vLLM's override): gptq_marlin on a
     * gptq checkpoint is tested with its bits below; awq_marlin on llama prices awq's 4 bits */
    g_autoptr(tm_setup) am =
        setup_with("llama-3.1-8b", "h100", &err, "model.quantization=awq_marlin", NULL);
    cr_assert_not_null(am, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(am)->weight_dtype, TM_DTYPE_INT4);

    const struct {
        const char *model, *a, *b, *msg;
    } bad[] = {
        {"llama-3.1-8b", "model.quantization=gguf", NULL,
         "--quantization 'gguf': servesim cannot price this method (GGUF block formats"},
        {"llama-3.1-8b", "model.quantization=bitsandbytes", NULL,
         "--quantization 'bitsandbytes': servesim cannot price"},
        {"llama-3.1-8b", "model.quantization=compressed-tensors", NULL,
         "--quantization compressed-tensors: the weight widths come from the checkpoint's"},
        {"llama-3.1-8b", "model.quantization=awqq", NULL,
         "--quantization: unknown quantization method 'awqq' (did you mean awq"},
        {"llama-3.1-8b", "model.quantization=gptq", NULL, "--quantization gptq: the bit width"},
        {"deepseek-v3", "model.quantization=awq", NULL,
         "--quantization awq does not match the model config's quantization_config (fp8)"},
        {"llama-3.1-8b", "model.quantization=fp8", "model.dtype=int4",
         "--dtype int4 and --quantization fp8 both set the weight dtype"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        tm_setup *s = setup_with(bad[i].model, "h200", &err, "parallelism.tensor_parallel_size=8",
                                 bad[i].a, bad[i].b, NULL);
        cr_expect_null(s, "%s", bad[i].a);
        tm_setup_free(s);
        cr_assert_not_null(err, "%s", bad[i].a);
        cr_expect(g_str_has_prefix(err->message, bad[i].msg), "'%s' lacks '%s'", err->message,
                  bad[i].msg);
        cr_expect_null(strchr(err->message, '\n'));
        g_clear_error(&err);
    }
}

Test(setup, gptq_bits_come_from_the_checkpoint_config)
{
    g_autoptr(GBytes) b = base_asset_bytes("models/llama-3.1-8b.json", NULL);
    json_auto_t *cfg = json_loadb(g_bytes_get_data(b, NULL), g_bytes_get_size(b), 0, NULL);
    cr_assert_not_null(cfg);
    json_object_set_new(
        cfg, "quantization_config",
        json_pack("{s:s, s:i, s:i}", "quant_method", "gptq", "bits", 8, "group_size", 128));
    g_autofree char *text = json_dumps(cfg, 0);
    g_autofree char *path = tu_tmp_file(".json", text);
    GError *err = NULL;
    g_autoptr(tm_setup) s = setup_with(path, "h100", &err, NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(s)->weight_dtype, TM_DTYPE_INT8);
    cr_expect_eq(weight_bytes(s), LLAMA8B_LINEAR + LLAMA8B_BF16_REST);
    /* a model file takes the hardware's own calibration (docs/calibration.md §4) */
    cr_expect_str_eq(tm_setup_calibration(s), "h100-sxm");
    /* vLLM lets gptq_marlin stand for the checkpoint's gptq (same bits); awq contradicts it */
    g_autoptr(tm_setup) gm = setup_with(path, "h100", &err, "model.quantization=gptq_marlin", NULL);
    cr_assert_not_null(gm, "%s", err ? err->message : "");
    cr_expect_eq(tm_setup_params_const(gm)->weight_dtype, TM_DTYPE_INT8);
    cr_expect_null(setup_with(path, "h100", &err, "model.quantization=awq", NULL));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "--quantization awq does not match the model config's "
                                   "quantization_config (gptq)") != NULL,
              "%s", err->message);
    g_clear_error(&err);
    g_unlink(path);
}
