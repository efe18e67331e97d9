/* tests/cli/test_calibrate_runs.c: `servesim calibrate --from-runs` (end-to-end calibration by
 * simulation in the loop, docs/calibration.md §9):
 *   - recovery: two small runs simulated by servesim with a hand-written "truth" calibration
 *     (ingress latency 40 ms, GEMM betas 1.4 × the base's 1.25) are fitted from a base that
 *     differs in exactly those two parameters; the fit must return 40 ms and 1.4 within 1 %
 *     and its calibration JSON must load in `run` and reproduce the runs in `compare`;
 *   - the RTX 4090 dev pair: fit on the 08-17 run, the 08-20 run held out: the held-out
 *     error must drop below the shipped calibration's (the figures are printed, and quoted in
 *     docs/calibration.md §9 from the Release build);
 *   - bad input: unknown parameter, a parameter an explicit flag fixes, no runs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

#define RUNS SERVESIM_DATA_DIR "/llmservingsim-rtx4090-dev-run"

TestSuite(calibrate_runs, .timeout = 600);

static void
remove_dir(const char *d)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d);
    (void)!system(cmd);
}

static const char base_json[] =
    "{\"format\": \"servesim-calibration/1\", \"hardware\": \"h100-sxm\",\n"
    " \"coefficients\": {\"beta0_s\": 1e-4, \"beta_compute\": 1.25, \"beta_memory\": 1.25,\n"
    "                  \"beta_attn_compute\": 1.5, \"beta_attn_memory\": 1.5},\n"
    " \"request_overhead_s\": 0.0156, \"per_output_token_s\": 4.6e-5}\n";
/* the base with ingress 15.6 → 40 ms and every GEMM beta × 1.4 (1.25 → 1.75) */
static const char truth_json[] =
    "{\"format\": \"servesim-calibration/1\", \"hardware\": \"h100-sxm\",\n"
    " \"coefficients\": {\"beta0_s\": 1e-4, \"beta_compute\": 1.75, \"beta_memory\": 1.75,\n"
    "                  \"beta_attn_compute\": 1.5, \"beta_attn_memory\": 1.5},\n"
    " \"request_overhead_s\": 0.04, \"per_output_token_s\": 4.6e-5}\n";

static double
jnum(json_t *root, const char *a, const char *b, const char *c)
{
    json_t *x = json_object_get(root, a);
    if (b != NULL)
        x = json_object_get(x, b);
    if (c != NULL)
        x = json_object_get(x, c);
    cr_assert(json_is_number(x), "%s.%s.%s", a, b ? b : "", c ? c : "");
    return json_number_value(x);
}

Test(calibrate_runs, recovers_known_parameters_from_servesim_runs)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-calruns-XXXXXX", NULL);
    g_autofree char *base = g_build_filename(dir, "base.json", NULL);
    g_autofree char *truth = g_build_filename(dir, "truth.json", NULL);
    g_autofree char *fit = g_build_filename(dir, "fit.json", NULL);
    cr_assert(g_file_set_contents(base, base_json, -1, NULL));
    cr_assert(g_file_set_contents(truth, truth_json, -1, NULL));
    /* short prompts (memory-bound prefill) and long ones (compute-bound): ingress and the GEMM
     * scale move TTFT, TPOT and E2E differently in the two */
    const char *lens[2] = {"256", "3072"};
    char *res[2];
    for (int i = 0; i < 2; i++) {
        g_autofree char *out = g_strdup_printf("%s/run%s", dir, lens[i]);
        clirun r = clirun_exec("run", "--workload", "synthetic", "--rate", "1", "--num-requests",
                               "12", "--input-len", lens[i], "--output-len", "24", "--hardware",
                               "h100-sxm", "--model", "llama-3.1-8b", "--calibration", truth,
                               "--output-dir", out, "--quiet", NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        clirun_clear(&r);
        res[i] = g_build_filename(out, "vllm_bench_result.json", NULL);
    }
    clirun r = clirun_exec("calibrate", "--from-runs", res[0], res[1], "--calibration", base,
                           "--params", "ingress,gemm", "--max-evals", "40", "--out", fit, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    fprintf(stderr, "%s", r.out);
    cr_expect(strstr(r.out, "leave-one-run-out CV") != NULL, "%s", r.out);
    cr_expect(g_str_has_suffix(r.out, "%\n") && strstr(r.out, "\nCV MAPE: ") != NULL, "%s", r.out);
    clirun_clear(&r);

    json_error_t je;
    json_auto_t *j = json_load_file(fit, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "format")), "servesim-calibration/1");
    cr_expect_str_eq(json_string_value(json_object_get(j, "hardware")), "h100-sxm");
    double ingress = json_number_value(json_object_get(
        json_object_get(json_object_get(json_object_get(j, "fit"), "parameters"), "ingress"),
        "value"));
    double gemm = json_number_value(json_object_get(
        json_object_get(json_object_get(json_object_get(j, "fit"), "parameters"), "gemm"),
        "value"));
    cr_expect(fabs(ingress / 0.04 - 1) < 0.01, "ingress %g s, truth 0.04", ingress);
    cr_expect(fabs(gemm / 1.4 - 1) < 0.01, "gemm scale %g, truth 1.4", gemm);
    cr_expect(fabs(jnum(j, "request_overhead_s", NULL, NULL) / 0.04 - 1) < 0.01);
    cr_expect(fabs(jnum(j, "coefficients", "beta_compute", NULL) / 1.75 - 1) < 0.01);
    cr_expect(fabs(jnum(j, "coefficients", "beta_memory", NULL) / 1.75 - 1) < 0.01);
    /* untouched: what was not fitted keeps the base's value */
    cr_expect_eq(jnum(j, "coefficients", "beta_attn_compute", NULL), 1.5);
    cr_expect_eq(jnum(j, "coefficients", "beta0_s", NULL), 1e-4);
    cr_expect_lt(jnum(j, "fit", "mape", NULL), 0.01);
    cr_expect_gt(jnum(j, "fit", "mape_before", NULL), 0.2, "the base is far off");
    cr_expect(json_is_number(json_object_get(json_object_get(j, "fit"), "cv_mape")));

    /* the file is a calibration `run` accepts, and `compare` with it reproduces the run */
    g_autofree char *out2 = g_build_filename(dir, "check", NULL);
    r = clirun_exec("run", "--workload", "synthetic", "--num-requests", "4", "--hardware",
                    "h100-sxm", "--calibration", fit, "--output-dir", out2, "--quiet", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    r = clirun_exec("compare", res[1], "--calibration", fit, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "FAIL") == NULL, "%s", r.out);
    clirun_clear(&r);
    for (int i = 0; i < 2; i++)
        g_free(res[i]);
    remove_dir(dir);
}

/* "  RUN  before%  fitted%  ..." row of the report: the before and fitted errors of RUN. */
static void
row_errors(const char *out, const char *run, double *before, double *after)
{
    const char *p = strstr(out, run);
    cr_assert_not_null(p, "%s", out);
    p += strlen(run);
    cr_assert_eq(sscanf(p, " %lf%% %lf%%", before, after), 2, "%s", p);
}

Test(calibrate_runs, rtx4090_dev_pair_held_out_run_improves)
{
    /* the 08-17 run's meta.json does not record the device: --hardware rtx4090 */
    clirun r = clirun_exec("calibrate", "--from-runs", RUNS "/run-2026-08-17_max_num_seqs128",
                           "--holdout", RUNS "/run-2026-08-20_max_num_seqs256", "--hardware",
                           "rtx4090", "--params", "ingress,gemm,attn", "--max-evals", "16", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    fprintf(stderr, "%s", r.out);
    double fb, fa, hb, ha;
    row_errors(r.out, "run-2026-08-17_max_num_seqs128   ", &fb, &fa);
    row_errors(r.out, "run-2026-08-20_max_num_seqs256   ", &hb, &ha);
    fprintf(stderr,
            "rtx4090 dev pair: fitted 08-17 %.1f%% -> %.1f%%, held-out 08-20 %.1f%% -> "
            "%.1f%%\n",
            fb, fa, hb, ha);
    cr_expect_lt(fa, fb, "the fit improves the run it was fitted on");
    cr_expect_lt(ha, hb, "the fit improves the held-out run");
    cr_expect(strstr(r.out, "held-out runs: ") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "MAPE: ") != NULL);
    clirun_clear(&r);
}

Test(calibrate_runs, bad_input_is_one_line)
{
    clirun r = clirun_exec("calibrate", "--from-runs", RUNS "/run-2026-08-20_max_num_seqs256",
                           "--params", "ingress,warp", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "unknown parameter 'warp'") != NULL, "%s", r.err);
    cr_expect_str_eq(r.out, "");
    clirun_clear(&r);
    r = clirun_exec("calibrate", "--from-runs", RUNS "/run-2026-08-20_max_num_seqs256", "--params",
                    "step", "--step-overhead-us", "50", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "--step-overhead-us fixes it") != NULL, "%s", r.err);
    const char *nl = strchr(r.err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r.err);
    clirun_clear(&r);
    r = clirun_exec("calibrate", "--from-runs", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "no RUN given") != NULL, "%s", r.err);
    clirun_clear(&r);
    r = clirun_exec("calibrate", "--from-runs", SERVESIM_DATA_DIR "/model-configs", NULL);
    cr_expect_eq(r.code, 2, "%s", r.err);
    clirun_clear(&r);
}
