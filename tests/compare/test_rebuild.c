/* tests/compare/test_rebuild.c: the pieces around the readers: YAML typing (PyYAML's rules),
 * name mapping (Hugging Face ids, device names, vLLM engine arguments), the rebuild layers
 * (record, then flags, every assumption and override listed; unknown names, unmodelled runs
 * and unrecorded loads refused in one line), the statistics over per-request figures and the
 * regression noise (a bootstrap on data whose answer is known). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "compare/compare.h"
#include "compare/internal.h"
#include "tests/testutil.h"

#define FIX SERVESIM_SOURCE_DIR "/tests/compare/data"

TestSuite(rebuild, .timeout = 60);

#define near(a, b, tol)                                                                            \
    cr_expect(fabs((a) - (b)) <= (tol), "%s = %.10g, expected %.10g", #a, (double)(a), (double)(b))

/* ---- YAML ---- */

Test(rebuild, yaml_scalars_are_typed_like_pyyaml)
{
    static const char doc[] = "a: 1\nb: 2.5\nc: yes\nd: off\ne: ~\nf: \"12\"\ng: text\n"
                              "h: [1, two, 3.0]\ni: {j: null}\nk: -.inf\nl: 0x10\nm: 1e3\n";
    GError *e = NULL;
    json_auto_t *j = cmp__yaml_parse("t.yaml", doc, strlen(doc), &e);
    cr_assert_not_null(j, "%s", e ? e->message : "");
    cr_expect(json_is_integer(json_object_get(j, "a")));
    near(json_real_value(json_object_get(j, "b")), 2.5, 0);
    cr_expect(json_is_true(json_object_get(j, "c")));
    cr_expect(json_is_false(json_object_get(j, "d")));
    cr_expect(json_is_null(json_object_get(j, "e")));
    cr_expect_str_eq(json_string_value(json_object_get(j, "f")), "12", "quoted stays text");
    cr_expect_str_eq(json_string_value(json_object_get(j, "g")), "text");
    cr_expect_eq(json_array_size(json_object_get(j, "h")), 3);
    cr_expect(json_is_string(json_array_get(json_object_get(j, "h"), 1)));
    cr_expect(json_is_null(cmp__path(j, "i.j")));
    cr_expect_str_eq(json_string_value(json_object_get(j, "k")), "-.inf", "JSON has no infinity");
    cr_expect(json_is_string(json_object_get(j, "l")), "hex is not taken as a number");
    near(json_real_value(json_object_get(j, "m")), 1000, 0);
}

Test(rebuild, yaml_errors_name_the_line)
{
    static const char *const docs[] = {"a: 1\nb: [1, 2\n", "a: 1\na: 2\n", "a: &x 1\nb: *x\n", "",
                                       "a: 1\n b: 2\n"};
    static const int lines[] = {3, 2, 1, 0, 2};
    for (size_t i = 0; i < G_N_ELEMENTS(docs); i++) {
        GError *e = NULL;
        json_t *j = cmp__yaml_parse("c.yaml", docs[i], strlen(docs[i]), &e);
        cr_expect_null(j, "doc %zu parsed", i);
        json_decref(j);
        if (e == NULL)
            continue;
        if (lines[i] > 0) {
            g_autofree char *want = g_strdup_printf("c.yaml:%d: ", lines[i]);
            cr_expect(g_str_has_prefix(e->message, want), "doc %zu: %s", i, e->message);
        } else {
            cr_expect(g_str_has_prefix(e->message, "c.yaml: "), "%s", e->message);
        }
        cr_expect_null(strchr(e->message, '\n'));
        g_error_free(e);
    }
}

/* ---- names ---- */

Test(rebuild, model_names_map_to_presets)
{
    static const char *const pairs[][2] = {
        {"meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"},
        {"meta-llama/Meta-Llama-3.1-70B", "llama-3.1-70b"},
        {"Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"},
        {"/models/Llama-2-7b-chat-hf", "llama-2-7b"},
        {"mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"},
        {"llama-3.1-8b", "llama-3.1-8b"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autofree char *p = cmp__model_preset(pairs[i][0]);
        cr_expect_str_eq(p != NULL ? p : "(null)", pairs[i][1], "%s", pairs[i][0]);
    }
    /* different weights: never mapped to the bf16 preset */
    static const char *const none[] = {"RedHatAI/Llama-3.1-8B-Instruct-FP8", "org/Unknown-13B", ""};
    for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
        g_autofree char *p = cmp__model_preset(none[i]);
        cr_expect_null(p, "%s -> %s", none[i], p);
    }
}

Test(rebuild, device_names_map_to_hardware_presets)
{
    static const char *const pairs[][2] = {
        {"NVIDIA GeForce RTX 4090", "rtx4090"},
        {"NVIDIA H100 80GB HBM3", "h100-sxm"},
        {"H100", "h100-sxm"},
        {"NVIDIA A100-SXM4-40GB", "a100-40gb"},
        {"A100-80GB", "a100-80gb"},
        {"NVIDIA H200", "h200"},
        {"NVIDIA GH200 480GB", "gh200"},
        {"AMD Instinct MI300X", "mi300x"},
        {"L40S", "l40s"},
        {"rtx4090", "rtx4090"},
        {"NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autofree char *p = cmp__hardware_preset(pairs[i][0]);
        cr_expect_str_eq(p != NULL ? p : "(null)", pairs[i][1], "%s", pairs[i][0]);
    }
    /* other clocks and bandwidth than the SXM preset: no guess */
    static const char *const none[] = {"NVIDIA H100 PCIe", "H100 NVL", "Gaudi3"};
    for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
        g_autofree char *p = cmp__hardware_preset(none[i]);
        cr_expect_null(p, "%s -> %s", none[i], p);
    }
}

Test(rebuild, engine_args_in_both_spellings)
{
    json_auto_t *s = json_object();
    g_autoptr(GPtrArray) ign = g_ptr_array_new_with_free_func(g_free);
    GError *e = NULL;
    cr_assert(cmp__engine_args(s,
                               "tensor-parallel-size: 2; max_num_seqs: 64; enable-prefix-caching: "
                               "false; dtype: bfloat16; swap-space: 4",
                               ign, &e));
    near(cmp__num(cmp__path(s, "parallelism.tensor_parallel_size")), 2, 0);
    near(cmp__num(cmp__path(s, "scheduler.max_num_seqs")), 64, 0);
    cr_expect(json_is_false(cmp__path(s, "kv.enable_prefix_caching")));
    cr_expect_str_eq(json_string_value(cmp__path(s, "model.dtype")), "bf16");
    cr_expect_eq(ign->len, 1);
    cr_expect_str_eq(g_ptr_array_index(ign, 0), "swap-space");
    json_auto_t *t = json_object();
    cr_assert(cmp__engine_args(t,
                               "vllm serve m --max-model-len=4096 --no-enable-chunked-prefill "
                               "--gpu-memory-utilization 0.85",
                               NULL, &e));
    near(cmp__num(cmp__path(t, "scheduler.max_model_len")), 4096, 0);
    cr_expect(json_is_false(cmp__path(t, "scheduler.enable_chunked_prefill")));
    near(cmp__num(cmp__path(t, "kv.gpu_memory_utilization")), 0.85, 0);
    cr_expect(!cmp__engine_args(t, "max-num-seqs: lots", NULL, &e));
    cr_expect(strstr(e->message, "max-num-seqs") != NULL, "%s", e->message);
    g_clear_error(&e);
    cr_expect(!cmp__engine_args(t, "dtype: float32", NULL, &e), "unmodelled dtype refused");
    g_clear_error(&e);
}

/* ---- rebuild ---- */

static cmp_result *
read_one(const char *path)
{
    g_autoptr(GPtrArray) rs = g_ptr_array_new();
    cmp_read_opts o = {0};
    GError *e = NULL;
    cr_assert(cmp_read(path, &o, rs, &e), "%s", e ? e->message : "");
    cr_assert_eq(rs->len, 1);
    return g_ptr_array_index(rs, 0);
}

static bool
has(const GPtrArray *a, const char *needle)
{
    for (guint i = 0; a != NULL && i < a->len; i++)
        if (strstr(g_ptr_array_index(a, i), needle) != NULL)
            return true;
    return false;
}

Test(rebuild, record_then_flags_with_every_assumption_listed)
{
    g_autoptr(cmp_result) m = read_one(FIX "/vllm-bench-detailed.json");
    char *argv[] = {"--hardware", "h200", "--max-num-seqs", "32", "--model", "llama-3.1-8b"};
    cmp_run run;
    GError *e = NULL;
    cr_assert(cmp_rebuild(m, G_N_ELEMENTS(argv), argv, &run, &e), "%s", e ? e->message : "");
    cr_expect_str_eq(run.cfg.tm.hardware, "h200");
    cr_expect_str_eq(run.cfg.tm.model, "llama-3.1-8b", "the flag beats the recorded model");
    cr_expect_eq(run.cfg.sim.max_num_seqs, 32);
    near(run.cfg.wl.rate, 4.0, 0);
    cr_expect_eq(run.requests, m->rec.requests);
    cr_expect(has(run.overrides, "meta-llama/Llama-3.1-8B-Instruct"),
              "the model override is listed");
    cr_expect(!has(run.overrides, "max-num-seqs"), "nothing recorded max_num_seqs");
    cr_expect(!has(run.unrecorded, "max_num_seqs"), "a flag set it");
    cr_expect(has(run.unrecorded, "max_num_batched_tokens"));
    cr_expect(has(run.unrecorded, "tensor_parallel_size"));
    cr_expect(has(run.assumptions, "send times were not saved"));
    cmp_run_clear(&run);
    /* without flags: the recorded model mapped, the default hardware listed */
    cr_assert(cmp_rebuild(m, 0, NULL, &run, &e));
    cr_expect_str_eq(run.model, "llama-3.1-8b-instruct");
    cr_expect(has(run.assumptions, "hardware not recorded: h100-sxm"));
    cmp_run_clear(&run);
}

Test(rebuild, unknown_models_unmodelled_runs_and_missing_loads_are_refused)
{
    g_autofree char *csv =
        tu_tmp_file(".csv", "accelerator,model,TP,prompt toks,output toks,intended concurrency,"
                            "prefill_pod_count,decode_pod_count,ttft_median\n"
                            "H100,org/Unknown-13B,1,100,10,4,0,0,20\n"
                            "H100,meta-llama/Llama-3.1-8B,1,100,10,4,1,3,20\n"
                            "TPU-v9,meta-llama/Llama-3.1-8B,1,100,10,4,0,0,20\n");
    g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts o = {0};
    GError *e = NULL;
    cr_assert(cmp_read(csv, &o, rs, &e));
    static const char *const want[] = {"model 'org/Unknown-13B' is not a servesim preset",
                                       "prefill/decode disaggregation",
                                       "hardware 'TPU-v9' is not a servesim preset"};
    for (guint i = 0; i < rs->len; i++) {
        cmp_run run;
        cr_expect(!cmp_rebuild(g_ptr_array_index(rs, i), 0, NULL, &run, &e));
        g_autofree char *where = g_strdup_printf("%s:%u: ", csv, i + 2);
        cr_expect(g_str_has_prefix(e->message, where), "%s", e->message);
        cr_expect(strstr(e->message, want[i]) != NULL, "%s", e->message);
        g_clear_error(&e);
    }
    /* a flag names the model instead */
    char *argv[] = {"--model", "llama-2-7b"};
    cmp_run run;
    cr_assert(cmp_rebuild(g_ptr_array_index(rs, 0), 2, argv, &run, &e), "%s", e ? e->message : "");
    cr_expect(has(run.overrides, "org/Unknown-13B"));
    cmp_run_clear(&run);
    g_unlink(csv);

    /* no send times, no rate: the load must be given */
    g_autofree char *rq = tu_tmp_file(".csv", "input_tokens,output_tokens,ttft_ms\n100,10,50\n");
    g_autoptr(cmp_result) q = read_one(rq);
    cr_expect(!cmp_rebuild(q, 0, NULL, &run, &e));
    cr_expect(strstr(e->message, "--rate R or --max-concurrency N") != NULL, "%s", e->message);
    g_clear_error(&e);
    char *load[] = {"--max-concurrency", "1"};
    cr_expect(cmp_rebuild(q, 2, load, &run, &e), "%s", e ? e->message : "");
    cmp_run_clear(&run);
    g_unlink(rq);
}

/* The recorded vLLM version picks the engine profile (docs/design.md §5b): async scheduling is
 * the default from vLLM 0.14 on, so 0.10.1 and 0.13.0 run as vllm-0.11, 0.14.0 and 0.19.0 as
 * vllm-0.15; no version keeps the default; --engine wins. */
Test(rebuild, recorded_vllm_version_picks_the_engine_profile)
{
    g_autofree char *csv =
        tu_tmp_file(".csv", "accelerator,model,version,TP,prompt toks,output toks,"
                            "intended concurrency,ttft_median\n"
                            "H100,meta-llama/Llama-3.1-8B,vLLM 0.10.1,1,100,10,4,20\n"
                            "H100,meta-llama/Llama-3.1-8B,v0.13.0,1,100,10,4,20\n"
                            "H100,meta-llama/Llama-3.1-8B,0.14.0,1,100,10,4,20\n"
                            "H100,meta-llama/Llama-3.1-8B,RHAIIS-3.2 vLLM-0.19.0,1,100,10,4,20\n"
                            "H100,meta-llama/Llama-3.1-8B,,1,100,10,4,20\n");
    g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts o = {0};
    GError *e = NULL;
    cr_assert(cmp_read(csv, &o, rs, &e), "%s", e ? e->message : "");
    cr_assert_eq(rs->len, 5);
    static const char *const want[] = {"vllm-0.11", "vllm-0.11", "vllm-0.15", "vllm-0.15",
                                       "vllm-0.15"};
    for (guint i = 0; i < rs->len; i++) {
        cmp_run run;
        cr_assert(cmp_rebuild(g_ptr_array_index(rs, i), 0, NULL, &run, &e), "%s",
                  e ? e->message : "");
        cr_expect_str_eq(run.cfg.sim.engine, want[i], "row %u", i + 2);
        cr_expect_eq(has(run.assumptions, "simulated with the engine profile"), i < 4, "row %u",
                     i + 2);
        cmp_run_clear(&run);
    }
    char *argv[] = {"--engine", "vllm-0.15"};
    cmp_run run;
    cr_assert(cmp_rebuild(g_ptr_array_index(rs, 0), 2, argv, &run, &e), "%s", e ? e->message : "");
    cr_expect_str_eq(run.cfg.sim.engine, "vllm-0.15", "the flag wins");
    cmp_run_clear(&run);
    g_unlink(csv);
}

Test(rebuild, ramp_up_is_refused_unless_a_rate_is_given)
{
    g_autofree char *path = tu_tmp_file(
        ".json", "{\"model_id\": \"meta-llama/Llama-3.1-8B\", \"num_prompts\": 10, "
                 "\"request_rate\": \"inf\", \"ramp_up_strategy\": \"linear\", "
                 "\"ramp_up_start_rps\": 1, \"ramp_up_end_rps\": 10, \"completed\": 10, "
                 "\"total_input_tokens\": 1000, \"total_output_tokens\": 100, "
                 "\"mean_ttft_ms\": 5.0}");
    g_autoptr(cmp_result) m = read_one(path);
    cmp_run run;
    GError *e = NULL;
    cr_expect(!cmp_rebuild(m, 0, NULL, &run, &e));
    cr_expect_eq(e->code, CMP_ERROR_UNMODELED);
    cr_expect(strstr(e->message, "give --rate") != NULL, "%s", e->message);
    g_clear_error(&e);
    char *argv[] = {"--rate", "5"};
    cr_assert(cmp_rebuild(m, 2, argv, &run, &e), "%s", e ? e->message : "");
    near(run.cfg.wl.rate, 5, 0);
    cr_expect(has(run.overrides, "ramped"));
    cmp_run_clear(&run);
    g_unlink(path);
}

/* ---- statistics ---- */

Test(rebuild, metrics_from_requests_follow_vllm_bench)
{
    g_autoptr(cmp_reqs) q = cmp_reqs_new(5, true, true);
    /* TTFT {10, 20, 30, 40} ms and a failed request; outputs 1, 2, 3, 4 tokens */
    for (size_t i = 0; i < 4; i++) {
        q->ok[i] = true;
        q->ttft_ms[i] = 10.0 * (double)(i + 1);
        q->output[i] = (uint32_t)i + 1;
        q->input[i] = 100;
        q->tpot_ms[i] = q->output[i] > 1 ? 5.0 : (double)NAN;
        q->e2e_ms[i] = q->ttft_ms[i] + 5.0 * (q->output[i] - 1);
        q->send_s[i] = (double)i;
    }
    q->ok[4] = false;
    q->send_s[4] = 0.5;
    cmp_metrics m;
    cmp_metrics_init(&m);
    m.lat_ms[CMP_TTFT][CMP_MEAN] = 99; /* recorded: kept */
    cmp_metrics_fill_from_reqs(&m, q);
    near(m.lat_ms[CMP_TTFT][CMP_MEAN], 99, 0);
    near(m.lat_ms[CMP_TTFT][CMP_P50], 25, 1e-12);
    near(m.lat_ms[CMP_TTFT][CMP_P90], 30 + 0.7 * 10, 1e-12); /* r = 2.7 */
    near(m.lat_ms[CMP_TPOT][CMP_MEAN], 5, 0);                /* the 1-token output excluded */
    near(m.completed, 4, 0);
    near(m.failed, 1, 0);
    /* window: send 0 → request 3 finishes at 3 s + 55 ms */
    near(m.tput[CMP_REQ_RATE], 4 / 3.055, 1e-12);
    near(m.tput[CMP_OUT_TOKS], 10 / 3.055, 1e-12);
    near(m.tput[CMP_TOTAL_TOKS], 410 / 3.055, 1e-12);
    cr_expect(isnan(m.lat_ms[CMP_ITL][CMP_MEAN]), "no gaps recorded");
}

/* ---- regression noise ---- */

static cmp_result *
synthetic(double scale, double spread, size_t n)
{
    cmp_result *r = cmp_result_new(&cmp__kind_reqcsv, "synthetic");
    r->reqs = cmp_reqs_new(n, false, false);
    for (size_t i = 0; i < n; i++) {
        r->reqs->ok[i] = true;
        r->reqs->input[i] = 100;
        r->reqs->output[i] = 10;
        double v = scale * (100 + spread * (double)((i * 37) % 21 - 10));
        r->reqs->ttft_ms[i] = v;
        r->reqs->tpot_ms[i] = v / 10;
        r->reqs->e2e_ms[i] = v * 2;
    }
    cmp_metrics_fill_from_reqs(&r->m, r->reqs);
    return r;
}

Test(rebuild, regression_noise_from_a_paired_bootstrap)
{
    g_autoptr(cmp_result) a = synthetic(1.0, 3, 200);
    g_autoptr(cmp_result) b = synthetic(1.10, 3, 200); /* every request 10 % slower */
    g_autoptr(cmp_result) same = synthetic(1.0, 3, 200);
    cmp_regression *r = cmp_regress(a, b, 1, 200);
    json_auto_t *j = cmp_regress_json(r);
    cr_expect(json_is_true(json_object_get(j, "paired")));
    const json_t *f = json_array_get(json_object_get(j, "figures"), 0); /* TTFT mean */
    cr_expect_str_eq(json_string_value(json_object_get(f, "metric")), "ttft");
    near(json_real_value(json_object_get(f, "change_pct")), 10, 1e-9);
    /* a uniform 10 % change: every resample changes by exactly 10 % */
    near(json_real_value(json_object_get(f, "ci95_low_pct")), 10, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(f, "verdict")), "regressed");
    cmp_regression_free(r);
    r = cmp_regress(a, same, 1, 200);
    json_auto_t *k = cmp_regress_json(r);
    f = json_array_get(json_object_get(k, "figures"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(f, "verdict")), "within noise");
    cmp_regression_free(r);
    /* without per-request figures: noise unknown */
    cmp_reqs_free(g_steal_pointer(&b->reqs));
    r = cmp_regress(a, b, 1, 200);
    g_autoptr(GString) t = g_string_new(NULL);
    cmp_regress_text(t, r);
    cr_expect(strstr(t->str, "noise: unknown") != NULL, "%s", t->str);
    cr_expect(strstr(t->str, "changed (noise unknown)") != NULL, "%s", t->str);
    cmp_regression_free(r);
}
