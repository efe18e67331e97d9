/* tests/compare/test_readers.c: every kind of measured result on a real file (the RTX 4090
 * vLLM runs in data/) or a fixture reconstructed from the documented schema
 * (tests/compare/data/README.md), with the field mapping checked against figures worked out
 * by hand in the comments (or, for the real runs, computed independently here from the raw
 * file and checked against the figures published in the data's SOURCE.md). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "compare/compare.h"
#include "compare/internal.h"
#include "tests/testutil.h"

#define FIX  SERVESIM_SOURCE_DIR "/tests/compare/data"
#define RUNS SERVESIM_DATA_DIR "/llmservingsim-rtx4090-dev-run"

TestSuite(readers, .timeout = 60);

#define near(a, b, tol)                                                                            \
    cr_expect(fabs((a) - (b)) <= (tol), "%s = %.10g, expected %.10g", #a, (double)(a), (double)(b))

static GPtrArray *
read_ok(const char *path, const cmp_read_opts *o)
{
    GPtrArray *r = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts def = {0};
    GError *e = NULL;
    cr_assert(cmp_read(path, o != NULL ? o : &def, r, &e), "%s", e != NULL ? e->message : "");
    return r;
}

static const cmp_result *
at(GPtrArray *r, guint i)
{
    cr_assert_gt(r->len, i);
    return g_ptr_array_index(r, i);
}

static const char *
setting_str(const cmp_result *r, const char *path)
{
    const json_t *v = cmp__path(r->rec.settings, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static double
setting_num(const cmp_result *r, const char *path)
{
    return cmp__num(cmp__path(r->rec.settings, path));
}

static bool
assumed(const cmp_result *r, const char *needle)
{
    for (guint i = 0; i < r->rec.assumed->len; i++)
        if (strstr(g_ptr_array_index(r->rec.assumed, i), needle) != NULL)
            return true;
    return false;
}

/* ---- vllm bench serve --save-result --save-detailed ---- */

/* The fixture's requests (input, output, ttft s, itls s): (100, 4, 0.050, [.010 .012 .014]),
 * (200, 3, 0.070, [.020 .010]), (300, 2, 0.090, [.030]) and a failed one (400, 0).
 * By hand: TTFT ms {50, 70, 90}; E2E = TTFT + Σ ITL = {86, 100, 120}; TPOT = Σ ITL/(out − 1)
 * = {36/3, 30/2, 30/1} = {12, 15, 30}; pooled ITL {10, 12, 14, 20, 10, 30}.
 * The file keeps mean/median/std/p99 (vLLM's default --metric-percentiles 99); p90 and p95
 * come from the arrays with NumPy's rule: n = 3, r = 0.9·2 = 1.8 → x1 + 0.8(x2 − x1). */
Test(readers, vllm_bench_detailed_maps_keys_then_arrays)
{
    g_autoptr(GPtrArray) rs = read_ok(FIX "/vllm-bench-detailed.json", NULL);
    cr_assert_eq(rs->len, 1);
    const cmp_result *r = at(rs, 0);
    cr_expect_str_eq(cmp_kind_name(r->kind), "vllm-bench");
    const cmp_metrics *m = &r->m;
    near(m->lat_ms[CMP_TTFT][CMP_MEAN], 70, 1e-9);
    near(m->lat_ms[CMP_TTFT][CMP_P50], 70, 1e-9);
    near(m->lat_ms[CMP_TTFT][CMP_P90], 70 + 0.8 * 20, 1e-9);
    near(m->lat_ms[CMP_TTFT][CMP_P95], 70 + 0.9 * 20, 1e-9);
    near(m->lat_ms[CMP_TTFT][CMP_P99], 70 + 0.98 * 20, 1e-9); /* p99_ttft_ms key: 89.6 */
    near(m->lat_ms[CMP_TPOT][CMP_MEAN], 19, 1e-9);
    near(m->lat_ms[CMP_TPOT][CMP_P50], 15, 1e-9);
    near(m->lat_ms[CMP_TPOT][CMP_P90], 15 + 0.8 * 15, 1e-9);
    near(m->lat_ms[CMP_ITL][CMP_MEAN], 96.0 / 6, 1e-9);
    near(m->lat_ms[CMP_ITL][CMP_P50], 13, 1e-9);            /* (12 + 14)/2 */
    near(m->lat_ms[CMP_ITL][CMP_P90], 20 + 0.5 * 10, 1e-9); /* r = 4.5 */
    near(m->lat_ms[CMP_E2E][CMP_MEAN], 102, 1e-9);
    near(m->lat_ms[CMP_E2E][CMP_P90], 100 + 0.8 * 20, 1e-9);
    near(m->tput[CMP_REQ_RATE], 3 / 1.5, 1e-12);
    near(m->tput[CMP_OUT_TOKS], 9 / 1.5, 1e-12);
    near(m->tput[CMP_TOTAL_TOKS], 609 / 1.5, 1e-12);
    near(m->completed, 3, 0);
    near(m->failed, 1, 0); /* num_prompts − completed (this file has no "failed" key) */
    /* per request */
    cr_assert_not_null(r->reqs);
    cr_expect_eq(r->reqs->n, 4);
    cr_expect(r->reqs->ok[0] && !r->reqs->ok[3]);
    near(r->reqs->e2e_ms[0], 86, 1e-9);
    near(r->reqs->tpot_ms[1], 15, 1e-9);
    /* the run */
    cr_expect_str_eq(r->rec.model, "meta-llama/Llama-3.1-8B-Instruct");
    near(setting_num(r, "workload.rate"), 4.0, 0);
    cr_expect_null(cmp__path(r->rec.settings, "workload.arrival")); /* burstiness 1: Poisson */
    cr_assert_not_null(r->rec.requests);
    cr_expect_eq(wl_list_len(r->rec.requests), 3, "the failed request is left out");
    cr_expect(!wl_list_timed(r->rec.requests), "vLLM saves no send times");
    cr_expect_eq(r->rec.req_index[2], 2);
    cr_expect(assumed(r, "1 failed"));
}

Test(readers, vllm_bench_without_arrays_uses_mean_lengths)
{
    json_auto_t *doc = json_load_file(FIX "/vllm-bench-detailed.json", 0, NULL);
    cr_assert_not_null(doc);
    static const char *const arrays[] = {"input_lens", "output_lens",     "ttfts",
                                         "itls",       "generated_texts", "errors"};
    for (size_t i = 0; i < G_N_ELEMENTS(arrays); i++)
        json_object_del(doc, arrays[i]);
    json_object_set_new(doc, "burstiness", json_real(0.5));
    json_object_set_new(doc, "max_concurrency", json_integer(8));
    g_autofree char *text = json_dumps(doc, 0);
    g_autofree char *path = tu_tmp_file(".json", text);
    g_autoptr(GPtrArray) rs = read_ok(path, NULL);
    const cmp_result *r = at(rs, 0);
    cr_expect_null(r->reqs);
    cr_expect(isnan(r->m.lat_ms[CMP_TTFT][CMP_P90]), "not recorded, no arrays to fill it");
    near(r->m.lat_ms[CMP_TTFT][CMP_P99], 89.6, 1e-9);
    /* 600 prompt and 9 output tokens over 3 completed requests */
    cr_expect_str_eq(setting_str(r, "workload.input_len"), "fixed:200");
    cr_expect_str_eq(setting_str(r, "workload.output_len"), "fixed:3");
    near(setting_num(r, "workload.num_requests"), 4, 0);
    cr_expect_str_eq(setting_str(r, "workload.arrival"), "gamma");
    near(setting_num(r, "workload.burstiness"), 0.5, 0);
    near(setting_num(r, "workload.max_concurrency"), 8, 0);
    cr_expect(assumed(r, "--save-detailed"));
    g_unlink(path);
}

Test(readers, vllm_bench_appended_results_are_one_point_per_line)
{
    g_autofree char *one = NULL;
    cr_assert(g_file_get_contents(FIX "/vllm-bench-detailed.json", &one, NULL, NULL));
    g_strstrip(one);
    g_autofree char *text = g_strdup_printf("%s\n\n%s\n", one, one);
    g_autofree char *path = tu_tmp_file(".json", text);
    g_autoptr(GPtrArray) rs = read_ok(path, NULL);
    cr_expect_eq(rs->len, 2);
    g_autofree char *second = g_strdup_printf("%s:3", path);
    cr_expect_str_eq(at(rs, 1)->where, second);
    near(at(rs, 1)->m.lat_ms[CMP_TTFT][CMP_MEAN], 70, 1e-9);
    g_unlink(path);
}

Test(readers, vllm_bench_request_rate_inf_and_ramp_up)
{
    g_autofree char *path = tu_tmp_file(
        ".json", "{\"model_id\": \"x\", \"num_prompts\": 10, \"request_rate\": \"inf\", "
                 "\"ramp_up_strategy\": \"linear\", \"ramp_up_start_rps\": 1, "
                 "\"ramp_up_end_rps\": 10, \"completed\": 10, \"mean_ttft_ms\": 5.0}");
    g_autoptr(GPtrArray) rs = read_ok(path, NULL);
    const cmp_result *r = at(rs, 0);
    const json_t *rate = cmp__path(r->rec.settings, "workload.rate");
    cr_expect(rate != NULL && json_is_null(rate), "recorded as every request at once");
    cr_assert_not_null(r->rec.unmodeled);
    cr_expect(strstr(r->rec.unmodeled, "ramped") != NULL, "%s", r->rec.unmodeled);
    cr_expect_str_eq(r->rec.unmodeled_unless, "workload.rate");
    g_unlink(path);
}

/* ---- inference-perf results directory ---- */

/* Fixture: 4 requests, TTFT {100, 120, 140, 160} ms, 20 output tokens with gaps
 * {10, 11, 12, 13} ms, so E2E = TTFT + 19·gap = {290, 329, 368, 407} ms. The client's
 * time_per_output_token says 9 ms (re-tokenized); the derived TPOT is the gap. */
Test(readers, inference_perf_summary_per_request_and_config)
{
    g_autoptr(GPtrArray) rs = read_ok(FIX "/inference-perf-run", NULL);
    const cmp_result *r = at(rs, 0);
    cr_expect_str_eq(cmp_kind_name(r->kind), "inference-perf");
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], 130, 1e-9);
    near(r->m.lat_ms[CMP_TTFT][CMP_P90], 140 + 0.7 * 20, 1e-9); /* r = 2.7 */
    near(r->m.lat_ms[CMP_E2E][CMP_MEAN], (290 + 329 + 368 + 407) / 4.0, 1e-9);
    near(r->m.lat_ms[CMP_ITL][CMP_MEAN], 11.5, 1e-9);
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 11.5, 1e-9); /* not the client's 9 ms */
    near(r->m.lat_ms[CMP_TPOT][CMP_P50], 11.5, 1e-9);
    /* window: first start 1000.0 s to last end 1001.5 + 0.407 s */
    near(r->m.tput[CMP_REQ_RATE], 4 / 1.907, 1e-9);
    near(r->m.tput[CMP_OUT_TOKS], 80 / 1.907, 1e-9);
    near(r->m.completed, 4, 0);
    near(r->m.failed, 0, 0);
    cr_assert_not_null(r->reqs);
    near(r->reqs->send_s[3], 1.5, 1e-9);
    near(r->reqs->ttft_ms[1], 120, 1e-6);
    /* the run: config.yaml is what ran */
    cr_expect_str_eq(r->rec.model, "meta-llama/Llama-3.1-8B-Instruct");
    cr_expect_str_eq(r->rec.engine, "vllm");
    const json_t *spec = cmp__path(r->rec.settings, "workload.spec");
    cr_assert(json_is_object(spec));
    cr_expect_str_eq(json_string_value(cmp__path(spec, "data.type")), "shared_prefix");
    near(cmp__num(cmp__path(spec, "data.shared_prefix.output_len")), 20, 0); /* ignore_eos */
    cr_expect_str_eq(json_string_value(cmp__path(spec, "load.type")), "constant");
    cr_expect(assumed(r, "load.num_workers"));
    cr_expect_null(r->rec.requests, "the spec generates the workload");
}

/* Copies the fixture directory without some files, with config.yaml replaced by CONFIG. */
static char *
infperf_variant(bool per_request, const char *config)
{
    char *dir = g_dir_make_tmp("servesim-infperf-XXXXXX", NULL);
    static const char *const files[] = {"summary_lifecycle_metrics.json",
                                        "stage_0_lifecycle_metrics.json",
                                        "per_request_lifecycle_metrics.json"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        if (i == 2 && !per_request)
            continue;
        g_autofree char *src = g_build_filename(FIX "/inference-perf-run", files[i], NULL);
        g_autofree char *dst = g_build_filename(dir, files[i], NULL);
        g_autofree char *text = NULL;
        cr_assert(g_file_get_contents(src, &text, NULL, NULL));
        cr_assert(g_file_set_contents(dst, text, -1, NULL));
    }
    if (config != NULL) {
        g_autofree char *dst = g_build_filename(dir, "config.yaml", NULL);
        cr_assert(g_file_set_contents(dst, config, -1, NULL));
    }
    return dir;
}

static void
rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
}

Test(readers, inference_perf_without_per_request_derives_tpot_from_means)
{
    g_autofree char *dir =
        infperf_variant(false, "load:\n  type: poisson\n  stages: [{rate: 2, duration: 2}]\n"
                               "server:\n  model_name: meta-llama/Llama-3.1-8B\n"
                               "data:\n  type: shareGPT\n");
    g_autoptr(GPtrArray) rs = read_ok(dir, NULL);
    const cmp_result *r = at(rs, 0);
    /* (mean E2E − mean TTFT)/(mean output − 1) = (348.5 − 130)/19 = 11.5 */
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 218.5 / 19, 1e-9);
    cr_expect(isnan(r->m.lat_ms[CMP_TPOT][CMP_P50]), "no percentiles without per-request data");
    const json_t *spec = cmp__path(r->rec.settings, "workload.spec");
    cr_assert(json_is_object(spec));
    /* shareGPT is not generated by servesim: the measured mean lengths, 150 / 20 tokens */
    cr_expect_str_eq(json_string_value(cmp__path(spec, "data.type")), "random");
    near(cmp__num(cmp__path(spec, "data.input_distribution.mean")), 150, 0);
    near(cmp__num(cmp__path(spec, "data.output_distribution.max")), 20, 0);
    near(cmp__num(cmp__path(spec, "data.output_distribution.std_dev")), 0, 0);
    cr_expect(assumed(r, "shareGPT"));
    rm_rf(dir);
}

Test(readers, inference_perf_replays_records_for_other_data_types)
{
    g_autofree char *dir = infperf_variant(
        true, "load:\n  type: constant\n  stages: [{rate: 2, duration: 2}]\ndata:\n  type: mock\n");
    g_autoptr(GPtrArray) rs = read_ok(dir, NULL);
    const cmp_result *r = at(rs, 0);
    cr_expect_null(cmp__path(r->rec.settings, "workload.spec"));
    cr_assert_not_null(r->rec.requests);
    cr_expect(wl_list_timed(r->rec.requests));
    cr_expect_eq(wl_list_len(r->rec.requests), 4);
    rm_rf(dir);
}

Test(readers, inference_perf_without_ignore_eos_takes_the_measured_output_length)
{
    g_autofree char *dir =
        infperf_variant(true, "load:\n  type: constant\n  stages: [{rate: 2, duration: 2}]\n"
                              "server:\n  ignore_eos: false\n"
                              "data:\n  type: random\n  input_distribution: {min: 10, max: 300, "
                              "mean: 150, std_dev: 50}\n  output_distribution: {min: 10, max: "
                              "1000, mean: 500, std_dev: 100}\n");
    g_autoptr(GPtrArray) rs = read_ok(dir, NULL);
    const cmp_result *r = at(rs, 0);
    const json_t *spec = cmp__path(r->rec.settings, "workload.spec");
    near(cmp__num(cmp__path(spec, "data.output_distribution.mean")), 20, 0);
    near(cmp__num(cmp__path(spec, "data.input_distribution.std_dev")), 50, 0); /* kept */
    cr_expect(assumed(r, "ignore_eos is false"));
    rm_rf(dir);
}

Test(readers, inference_perf_found_from_a_file_inside_the_directory)
{
    g_autoptr(GPtrArray) rs = read_ok(FIX "/inference-perf-run/config.yaml", NULL);
    cr_expect_str_eq(cmp_kind_name(at(rs, 0)->kind), "inference-perf");
}

/* ---- benchmark-dashboard CSV ---- */

Test(readers, dashboard_rows_map_columns_and_runtime_args)
{
    g_autoptr(GPtrArray) rs = read_ok(FIX "/dashboard.csv", NULL);
    cr_assert_eq(rs->len, 4);
    const cmp_result *r = at(rs, 0);
    cr_expect_str_eq(cmp_kind_name(r->kind), "dashboard-csv");
    cr_expect(g_str_has_suffix(r->where, "dashboard.csv:2"), "%s", r->where);
    near(r->m.lat_ms[CMP_TTFT][CMP_P50], 45.25, 0);
    near(r->m.lat_ms[CMP_TTFT][CMP_P95], 80.5, 0);
    near(r->m.lat_ms[CMP_TPOT][CMP_P50], 9.75, 0);
    near(r->m.lat_ms[CMP_ITL][CMP_P50], 9.5, 0);
    near(r->m.lat_ms[CMP_E2E][CMP_P50], 1010.5, 0);
    cr_expect(isnan(r->m.lat_ms[CMP_TTFT][CMP_MEAN]));
    near(r->m.tput[CMP_OUT_TOKS], 2500.5, 0);
    near(r->m.tput[CMP_TOTAL_TOKS], 27505.5, 0);
    cr_expect(isnan(r->m.tput[CMP_REQ_RATE]));
    cr_expect_str_eq(r->rec.model, "meta-llama/Llama-3.1-8B-Instruct");
    cr_expect_str_eq(r->rec.hardware, "H100");
    cr_expect_str_eq(r->rec.engine, "vLLM-0.10.1");
    near(setting_num(r, "parallelism.tensor_parallel_size"), 1, 0);
    near(setting_num(r, "scheduler.max_model_len"), 8192, 0);
    near(setting_num(r, "scheduler.max_num_seqs"), 256, 0);
    cr_expect_str_eq(setting_str(r, "workload.input_len"), "fixed:1000");
    cr_expect_str_eq(setting_str(r, "workload.output_len"), "fixed:100");
    near(setting_num(r, "workload.max_concurrency"), 16, 0);
    near(setting_num(r, "workload.num_requests"), 160, 0);
    /* row 3: command-line runtime_args, 2 replicas, 310 + 2 requests */
    const cmp_result *b = at(rs, 1);
    near(setting_num(b, "parallelism.tensor_parallel_size"), 4, 0);
    near(setting_num(b, "cluster.replicas"), 2, 0);
    near(setting_num(b, "scheduler.max_num_batched_tokens"), 8192, 0);
    cr_expect(json_is_true(cmp__path(b->rec.settings, "kv.enable_prefix_caching")));
    near(setting_num(b, "workload.num_requests"), 312, 0);
    cr_expect(assumed(b, "kv-transfer-config"));
    /* row 5: disaggregated */
    cr_assert_not_null(at(rs, 3)->rec.unmodeled);
    cr_expect(strstr(at(rs, 3)->rec.unmodeled, "prefill/decode") != NULL);
}

Test(readers, dashboard_bad_cell_is_file_line_column_or_skipped)
{
    g_autofree char *path =
        tu_tmp_file(".csv", "accelerator,model,TP,prompt toks,output toks,intended concurrency,"
                            "ttft_median\nH100,m,1,100,10,4,20\nH100,m,two,100,10,4,20\n"
                            "H100,m,1,100,10,4,\n");
    GError *e = NULL;
    g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts o = {0};
    cr_assert(!cmp_read(path, &o, rs, &e));
    g_autofree char *want = g_strdup_printf("%s:3: column TP:", path);
    cr_expect(g_str_has_prefix(e->message, want), "%s", e->message);
    cr_expect_null(strchr(e->message, '\n'));
    g_clear_error(&e);
    uint64_t skipped = 0;
    g_autoptr(GPtrArray) warn = g_ptr_array_new_with_free_func(g_free);
    cmp_read_opts k = {.keep_going = true, .skipped = &skipped, .warnings = warn};
    cr_assert(cmp_read(path, &k, rs, &e), "%s", e ? e->message : "");
    cr_expect_eq(rs->len, 1);
    cr_expect_eq(skipped, 2, "the bad cell and the row without any figure");
    cr_expect_eq(warn->len, 2);
    g_unlink(path);
}

/* ---- per-request CSV (GenZ-style) ---- */

/* Rows (send s, in, out, ttft ms, e2e ms): (0, 512, 11, 40, 140), (0.5, 1024, 21, 60, 260),
 * (1.0, 256, 6, 30, 80), (1.5, 2048, 1, 120, 120). TPOT derived = (e2e − ttft)/(out − 1) =
 * 10 ms for the first three; none for the one-token output. Window 0 → 1.5 + 0.12 s. */
Test(readers, request_csv_derives_tpot_and_replays_send_times)
{
    g_autoptr(GPtrArray) rs = read_ok(FIX "/requests.csv", NULL);
    const cmp_result *r = at(rs, 0);
    cr_expect_str_eq(cmp_kind_name(r->kind), "request-csv");
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], 62.5, 1e-12);
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 10, 1e-12);
    near(r->m.lat_ms[CMP_E2E][CMP_MEAN], 150, 1e-12);
    near(r->m.lat_ms[CMP_E2E][CMP_P50], 130, 1e-12);
    near(r->m.tput[CMP_REQ_RATE], 4 / 1.62, 1e-9);
    near(r->m.tput[CMP_OUT_TOKS], 39 / 1.62, 1e-9);
    cr_expect_str_eq(r->rec.model, "meta-llama/Llama-3.1-8B");
    cr_expect_str_eq(r->rec.hardware, "H100");
    cr_assert_not_null(r->rec.requests);
    cr_expect(wl_list_timed(r->rec.requests));
    cr_expect_eq(wl_list_len(r->rec.requests), 4);
    cr_expect(!r->rec.load_unknown);
    bool noted = false;
    for (guint i = 0; i < r->notes->len; i++)
        noted |= strstr(g_ptr_array_index(r->notes, i), "ttft_ms") != NULL;
    cr_expect(noted, "the report says which column was taken");
}

Test(readers, request_csv_without_send_times_has_an_unknown_load)
{
    g_autofree char *path = tu_tmp_file(
        ".csv", "prompt_tokens,completion_tokens,time_to_first_token_s,tpot\n100,10,0.05,8\n");
    g_autoptr(GPtrArray) rs = read_ok(path, NULL);
    const cmp_result *r = at(rs, 0);
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], 50, 1e-9); /* seconds by the _s suffix */
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 8, 1e-9);  /* bare name: ms */
    near(r->m.lat_ms[CMP_E2E][CMP_MEAN], 50 + 8 * 9, 1e-9);
    cr_expect(r->rec.load_unknown);
    g_unlink(path);
}

/* ---- LLMServingSim measured runs (real data) ---- */

typedef struct {
    double ttft_mean, tpot_mean, e2e_mean;
    size_t n;
} raw_means;

/* Independent of the reader: jansson over the raw lines, the formulas of SOURCE.md. */
static raw_means
raw(const char *run)
{
    g_autofree char *path = g_build_filename(RUNS, run, "requests.jsonl", NULL);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    raw_means m = {0};
    size_t ntpot = 0;
    for (char **l = lines; *l != NULL; l++) {
        if (**l == '\0')
            continue;
        json_auto_t *o = json_loads(*l, 0, NULL);
        cr_assert_not_null(o);
        double q = json_number_value(json_object_get(o, "queued_ts"));
        double f = json_number_value(json_object_get(o, "first_token_ts"));
        double e = json_number_value(json_object_get(o, "last_token_ts"));
        double n = json_number_value(json_object_get(o, "output_toks"));
        m.ttft_mean += (f - q) * 1e3;
        m.e2e_mean += (e - q) * 1e3;
        if (n > 1) {
            m.tpot_mean += (e - f) * 1e3 / (n - 1);
            ntpot++;
        }
        m.n++;
    }
    m.ttft_mean /= (double)m.n;
    m.e2e_mean /= (double)m.n;
    m.tpot_mean /= (double)ntpot;
    return m;
}

Test(readers, llmservingsim_run_maps_times_and_meta)
{
    g_autoptr(GPtrArray) rs = read_ok(RUNS "/run-2026-08-20_max_num_seqs256", NULL);
    const cmp_result *r = at(rs, 0);
    cr_expect_str_eq(cmp_kind_name(r->kind), "llmservingsim");
    raw_means w = raw("run-2026-08-20_max_num_seqs256");
    cr_expect_eq(w.n, 300);
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], w.ttft_mean, 1e-6);
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], w.tpot_mean, 1e-9);
    near(r->m.lat_ms[CMP_E2E][CMP_MEAN], w.e2e_mean, 1e-6);
    /* SOURCE.md: TTFT mean / p50 / p99 65,457 / 60,111 / 137,356 ms, TPOT 32.4, E2E 86,578 */
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], 65457, 1);
    near(r->m.lat_ms[CMP_TTFT][CMP_P50], 60111, 1);
    near(r->m.lat_ms[CMP_TTFT][CMP_P99], 137356, 1);
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 32.4, 0.05);
    near(r->m.lat_ms[CMP_E2E][CMP_MEAN], 86578, 1);
    cr_expect(isnan(r->m.lat_ms[CMP_ITL][CMP_MEAN]), "no per-token times");
    /* meta.json */
    cr_expect_str_eq(r->rec.model, "meta-llama/Llama-3.1-8B");
    cr_expect_str_eq(r->rec.hardware, "NVIDIA GeForce RTX 4090");
    cr_expect_str_eq(r->rec.engine, "vLLM 0.19.0");
    near(setting_num(r, "scheduler.max_num_seqs"), 256, 0);
    near(setting_num(r, "scheduler.max_num_batched_tokens"), 2048, 0);
    near(setting_num(r, "scheduler.max_model_len"), 32768, 0);
    near(setting_num(r, "parallelism.tensor_parallel_size"), 1, 0);
    near(setting_num(r, "kv.num_gpu_blocks_override"), 2588, 0);
    near(setting_num(r, "kv.block_size"), 16, 0);
    near(setting_num(r, "kv.gpu_memory_utilization"), 0.9, 0);
    cr_expect_str_eq(setting_str(r, "model.dtype"), "bf16");
    cr_expect(json_is_true(cmp__path(r->rec.settings, "kv.enable_prefix_caching")));
    cr_expect(json_is_true(cmp__path(r->rec.settings, "scheduler.enable_chunked_prefill")));
    /* the workload: measured queue times and the dataset's content */
    cr_assert_not_null(r->rec.requests);
    cr_expect_eq(wl_list_len(r->rec.requests), 300);
    cr_expect(wl_list_timed(r->rec.requests));
    cr_expect(assumed(r, "sha256 matches"), "the dataset one directory up is found and verified");
    cr_expect(assumed(r, "async_scheduling"));
}

Test(readers, llmservingsim_run_without_kv_record_and_from_the_jsonl_file)
{
    g_autoptr(GPtrArray) rs = read_ok(RUNS "/run-2026-08-17_max_num_seqs128/requests.jsonl", NULL);
    const cmp_result *r = at(rs, 0);
    raw_means w = raw("run-2026-08-17_max_num_seqs128");
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], w.ttft_mean, 1e-6);
    near(r->m.lat_ms[CMP_TTFT][CMP_MEAN], 58015, 1); /* SOURCE.md */
    near(r->m.lat_ms[CMP_TPOT][CMP_MEAN], 34.6, 0.05);
    near(setting_num(r, "scheduler.max_num_seqs"), 128, 0);
    cr_expect_null(cmp__path(r->rec.settings, "kv.num_gpu_blocks_override"), "not in this meta");
    cr_expect_null(r->rec.hardware, "this meta.json records no device");
}

/* ---- detection and bad input ---- */

Test(readers, unknown_kind_lists_the_kinds)
{
    g_autofree char *path = tu_tmp_file(".txt", "hello,world\n1,2\n");
    g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts o = {0};
    GError *e = NULL;
    cr_assert(!cmp_read(path, &o, rs, &e));
    cr_expect_eq(e->code, CMP_ERROR_KIND);
    g_autofree char *want = g_strdup_printf("%s:1: cannot tell", path);
    cr_expect(g_str_has_prefix(e->message, want), "%s", e->message);
    for (const cmp_kind *const *k = cmp_kinds(); *k != NULL; k++)
        cr_expect(strstr(e->message, cmp_kind_name(*k)) != NULL, "%s", cmp_kind_name(*k));
    cr_expect_null(strchr(e->message, '\n'));
    g_error_free(e);
    g_unlink(path);
}

Test(readers, a_result_without_usable_metric_is_refused)
{
    g_autofree char *path = tu_tmp_file(
        ".json", "{\"model_id\": \"m\", \"num_prompts\": 5, \"request_rate\": 1, \"completed\": "
                 "0, \"mean_ttft_ms\": 0, \"median_ttft_ms\": 0, \"request_throughput\": 0}");
    g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    cmp_read_opts o = {0};
    GError *e = NULL;
    cr_assert(!cmp_read(path, &o, rs, &e));
    g_autofree char *want = g_strdup_printf("%s: no usable metric", path);
    cr_expect(g_str_has_prefix(e->message, want), "%s", e->message);
    cr_expect(strstr(e->message, "no request completed") != NULL, "%s", e->message);
    cr_expect_eq(rs->len, 0);
    g_error_free(e);
    g_unlink(path);
}

Test(readers, malformed_detailed_arrays_are_one_line_errors)
{
    static const char *const docs[] = {
        "{\"completed\": 1, \"mean_ttft_ms\": 1, \"input_lens\": [1, 2], \"output_lens\": [1]}",
        "{\"completed\": 1, \"mean_ttft_ms\": -1}",
        "{\"completed\": 1, \"mean_ttft_ms\": 1, \"input_lens\": [1], \"output_lens\": [2], "
        "\"ttfts\": [0.1], \"itls\": [[0.1, -3]], \"errors\": [\"\"]}",
        "{\"completed\": 1, \"mean_ttft_ms\": 1, \"request_rate\": \"fast\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(docs); i++) {
        g_autofree char *path = tu_tmp_file(".json", docs[i]);
        g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
        cmp_read_opts o = {0};
        GError *e = NULL;
        cr_expect(!cmp_read(path, &o, rs, &e), "doc %zu accepted", i);
        if (e != NULL) {
            cr_expect(g_str_has_prefix(e->message, path), "%s", e->message);
            cr_expect_null(strchr(e->message, '\n'));
            g_error_free(e);
        }
        g_unlink(path);
    }
}
