/* tests/cli/test_compare.c: `servesim compare` end to end:
 *   - servesim's own exports (vllm_bench_result.json, the output directory with its
 *     inference-perf reports) compare to themselves with exactly 0 error on every figure;
 *   - the measured RTX 4090 vLLM runs: the report, the per-request table, the JSON and CSV;
 *     the simulated error stays inside a loose bound (the figures are in docs/compare.md);
 *   - compare A B on the two runs: the change and its paired-bootstrap noise;
 *   - bad input: unknown kind (the kinds listed), no usable metric, a CSV row whose model is
 *     unknown (--keep-going skips and counts it): one line, exit 2. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

#define RUNS SERVESIM_DATA_DIR "/llmservingsim-rtx4090-dev-run"
#define FIX  SERVESIM_SOURCE_DIR "/tests/compare/data"

TestSuite(compare, .timeout = 300);

static void
expect_one_line_error(const clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
    cr_expect_str_eq(r->out, "", "no partial report on stdout");
}

static void
remove_dir(const char *d)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d);
    (void)!system(cmd);
}

/* Every figure of the first comparison of a --json report has error 0 and diff 0. */
static void
expect_zero_error(const char *json_text, size_t min_figures)
{
    json_error_t je;
    json_auto_t *j = json_loads(json_text, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *c = json_array_get(json_object_get(j, "comparisons"), 0);
    json_t *figs = json_object_get(c, "figures");
    cr_expect_geq(json_array_size(figs), min_figures);
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f) {
        const char *m = json_string_value(json_object_get(f, "metric"));
        cr_expect(json_is_number(json_object_get(f, "measured")), "%s measured", m);
        cr_expect_eq(json_number_value(json_object_get(f, "diff")), 0.0, "%s diff", m);
        cr_expect_eq(json_number_value(json_object_get(f, "error_pct")), 0.0, "%s error", m);
    }
}

Test(compare, servesim_exports_compare_to_themselves_with_zero_error)
{
    g_autofree char *out = g_dir_make_tmp("servesim-cmp-XXXXXX", NULL);
    clirun r =
        clirun_exec("run", "--workload", "synthetic", "--rate", "8", "--num-requests", "300",
                    "--input-len", "uniform:64:4096", "--output-len", "uniform:8:512", "--arrival",
                    "gamma", "--burstiness", "0.5", "--max-concurrency", "24", "--hardware",
                    "a100-80gb", "--max-num-seqs", "16", "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *vres = g_build_filename(out, "vllm_bench_result.json", NULL);
    r = clirun_exec("compare", vres, "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    /* 4 metrics × 5 statistics + 3 throughputs */
    expect_zero_error(r.out, 23);
    clirun_clear(&r);
    /* the output directory: the inference-perf lifecycle report and summary.json */
    r = clirun_exec("compare", out, "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"kind\": \"inference-perf\"") != NULL);
    /* TPOT: the mean only, derived from the means (no per-request records) */
    expect_zero_error(r.out, 19);
    clirun_clear(&r);
    /* the text report says so too, and passes every verdict */
    r = clirun_exec("compare", vres, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "every setting from the servesim configuration") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL, "%s", r.out);
    cr_expect(strstr(r.out, "TTFT        PASS  +0.00 % on the mean") != NULL, "%s", r.out);
    clirun_clear(&r);
    remove_dir(out);
}

Test(compare, measured_rtx4090_run)
{
    clirun r = clirun_exec("compare", RUNS "/run-2026-08-20_max_num_seqs256", "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_auto_t *j = json_loads(r.out, 0, NULL);
    cr_assert_not_null(j);
    json_t *c = json_array_get(json_object_get(j, "comparisons"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c, "kind")), "llmservingsim");
    json_t *sim = json_object_get(c, "simulated");
    cr_expect_str_eq(json_string_value(json_object_get(sim, "hardware")), "rtx4090");
    cr_expect_str_eq(json_string_value(json_object_get(sim, "model")), "llama-3.1-8b");
    cr_expect_eq(json_integer_value(json_object_get(sim, "num_gpu_blocks")), 2588,
                 "the recorded KV capacity");
    cr_expect_eq(json_integer_value(json_object_get(sim, "completed")), 300);
    size_t i;
    json_t *f;
    int seen = 0;
    json_array_foreach(json_object_get(c, "figures"), i, f) {
        const char *m = json_string_value(json_object_get(f, "metric"));
        const char *s = json_string_value(json_object_get(f, "stat"));
        double meas = json_number_value(json_object_get(f, "measured"));
        double err = json_number_value(json_object_get(f, "error_pct"));
        if (strcmp(m, "ttft") == 0 && strcmp(s, "mean") == 0) {
            cr_expect(fabs(meas - 65457) < 1, "SOURCE.md's measured mean TTFT, %g", meas);
            cr_expect(fabs(err) < 50, "TTFT mean error %g %%", err);
            seen++;
        }
        if (strcmp(m, "tpot") == 0 && strcmp(s, "mean") == 0) {
            cr_expect(fabs(meas - 32.4) < 0.05, "%g", meas);
            cr_expect(fabs(err) < 50, "TPOT mean error %g %%", err);
            seen++;
        }
        cr_expect(strcmp(m, "itl") != 0, "the run has no per-token times");
    }
    cr_expect_eq(seen, 2);
    json_t *pr = json_object_get(json_object_get(c, "per_request"), "ttft");
    cr_expect_eq(json_integer_value(json_object_get(pr, "requests")), 300);
    cr_expect_gt(json_number_value(json_object_get(pr, "correlation")), 0.9,
                 "the queue order is reproduced request by request");
    clirun_clear(&r);

    /* text, CSV and the per-request CSV */
    g_autofree char *rq = tu_tmp_file(".csv", "");
    r = clirun_exec("compare", RUNS "/run-2026-08-20_max_num_seqs256", "--csv", "--requests-csv",
                    rq, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(g_str_has_prefix(r.out, "input,kind,metric,stat,unit,measured,simulated,diff,"
                                      "error_pct,threshold_pct,verdict\n"));
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    cr_expect_eq(g_strv_length(lines), 1 + 3 * 5 + 3 + 1, "TTFT/TPOT/E2E × 5 stats, 3 throughputs");
    g_autofree char *per = NULL;
    cr_assert(g_file_get_contents(rq, &per, NULL, NULL));
    g_auto(GStrv) rows = g_strsplit(per, "\n", -1);
    cr_expect_eq(g_strv_length(rows), 1 + 300 + 1);
    clirun_clear(&r);
    g_unlink(rq);

    r = clirun_exec("compare", RUNS "/run-2026-08-17_max_num_seqs128", "--hardware", "rtx4090",
                    NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "num_gpu_blocks_override") != NULL,
              "the KV capacity this run did not record is listed: %s", r.out);
    cr_expect(strstr(r.out, "per-request error") != NULL);
    cr_expect(strstr(r.out, "verdict (pass: |error| <= threshold") != NULL);
    clirun_clear(&r);
}

Test(compare, version_regression_between_the_two_runs)
{
    clirun r = clirun_exec("compare", RUNS "/run-2026-08-17_max_num_seqs128",
                           RUNS "/run-2026-08-20_max_num_seqs256", "--json", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_auto_t *j = json_loads(r.out, 0, NULL);
    json_t *g = json_array_get(json_object_get(j, "regressions"), 0);
    cr_expect(json_is_true(json_object_get(g, "paired")), "the same 300 requests");
    json_t *f = json_array_get(json_object_get(g, "figures"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(f, "metric")), "ttft");
    /* SOURCE.md: mean TTFT 58,015 ms (08-17) and 65,457 ms (08-20) */
    double ch = json_number_value(json_object_get(f, "change_pct"));
    cr_expect(fabs(ch - (65457.0 / 58015.0 - 1) * 100) < 0.01, "%g", ch);
    double lo = json_number_value(json_object_get(f, "ci95_low_pct"));
    double hi = json_number_value(json_object_get(f, "ci95_high_pct"));
    cr_expect(lo < ch && ch < hi, "[%g, %g] around %g", lo, hi, ch);
    clirun_clear(&r);
    /* the same seed gives the same intervals */
    clirun a = clirun_exec("compare", RUNS "/run-2026-08-17_max_num_seqs128",
                           RUNS "/run-2026-08-20_max_num_seqs256", NULL);
    clirun b = clirun_exec("compare", RUNS "/run-2026-08-17_max_num_seqs128",
                           RUNS "/run-2026-08-20_max_num_seqs256", NULL);
    cr_expect_str_eq(a.out, b.out);
    cr_expect(strstr(a.out, "paired bootstrap") != NULL, "%s", a.out);
    clirun_clear(&a);
    clirun_clear(&b);
    /* without per-request figures the noise is unknown */
    r = clirun_exec("compare", FIX "/dashboard.csv", FIX "/dashboard.csv", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "noise: unknown") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "unchanged") != NULL, "%s", r.out);
    clirun_clear(&r);
    r = clirun_exec("compare", RUNS "/run-2026-08-17_max_num_seqs128",
                    RUNS "/run-2026-08-20_max_num_seqs256", "--max-num-seqs", "8", NULL);
    expect_one_line_error(&r, "run flags do not apply");
    clirun_clear(&r);
}

Test(compare, bad_input_is_one_line_exit_2)
{
    g_autofree char *junk = tu_tmp_file(".txt", "hello world\n");
    clirun r = clirun_exec("compare", junk, NULL);
    expect_one_line_error(&r, "cannot tell what kind of benchmark result this is (kinds: ");
    static const char *const kinds[] = {"vllm-bench", "inference-perf", "dashboard-csv",
                                        "request-csv", "llmservingsim"};
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        cr_expect(strstr(r.err, kinds[i]) != NULL, "%s not listed", kinds[i]);
    clirun_clear(&r);
    g_unlink(junk);

    g_autofree char *empty = tu_tmp_file(
        ".json", "{\"model_id\": \"m\", \"num_prompts\": 3, \"request_rate\": 1, \"completed\": 0, "
                 "\"failed\": 3, \"mean_ttft_ms\": 0.0, \"request_throughput\": 0.0}");
    r = clirun_exec("compare", empty, NULL);
    expect_one_line_error(&r, "no usable metric");
    clirun_clear(&r);
    g_unlink(empty);

    /* dashboard rows: an unknown model (line 4) and a P/D point (line 5) */
    r = clirun_exec("compare", FIX "/dashboard.csv", NULL);
    expect_one_line_error(&r, "dashboard.csv:4: model 'example-org/Unknown-13B' is not a servesim "
                              "preset");
    clirun_clear(&r);
    r = clirun_exec("compare", FIX "/dashboard.csv", "--keep-going", "--csv", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.err, "dashboard.csv:4: model") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "dashboard.csv:5: prefill/decode") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "skipped 2 rows") != NULL, "%s", r.err);
    cr_expect(strstr(r.out, "dashboard.csv:2,dashboard-csv,ttft,p50") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "dashboard.csv:3,dashboard-csv,") != NULL, "%s", r.out);
    clirun_clear(&r);

    r = clirun_exec("compare", FIX "/requests.csv", "--kind", "nonsense", NULL);
    expect_one_line_error(&r, "--kind: unknown kind 'nonsense'");
    clirun_clear(&r);
    r = clirun_exec("compare", "/nonexistent/result.json", NULL);
    expect_one_line_error(&r, "/nonexistent/result.json: no such file or directory");
    clirun_clear(&r);
    r = clirun_exec("compare", NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
}

Test(compare, same_inputs_give_byte_identical_reports)
{
    static const char *const fmts[] = {"--json", "--csv", "--quiet"};
    for (size_t i = 0; i < G_N_ELEMENTS(fmts); i++) {
        /* --quiet is a run flag here (it changes nothing): the text report */
        clirun a = clirun_exec("compare", FIX "/requests.csv", fmts[i], NULL);
        clirun b = clirun_exec("compare", FIX "/requests.csv", fmts[i], NULL);
        cr_expect_eq(a.code, 0, "%s", a.err);
        cr_expect_str_eq(a.out, b.out, "%s", fmts[i]);
        clirun_clear(&a);
        clirun_clear(&b);
    }
}

/* compare's --output-dir and --report are its own: the help lists each once, with compare's
 * meaning, and not the run's ("where summary.json ... are written"), which compare never
 * passes to its simulation. The run's other flags are still listed. */
static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(compare, help_lists_its_own_output_flags_once)
{
    clirun r = clirun_exec("compare", "--help", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect_eq(count(r.out, "  --output-dir DIR"), 1, "%s", r.out);
    cr_expect_eq(count(r.out, "--report "), 1, "%s", r.out);
    cr_expect_null(strstr(r.out, "where summary.json"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "also write DIR/compare.json"));
    cr_expect_not_null(strstr(r.out, "--tensor-parallel-size"));
    clirun_clear(&r);
}

/* Integer flags of compare and calibrate --from-runs out of range or not integers: exit 2 with
 * the flag, its range and the value (tools/cli.c cli_parse_int). */
Test(compare, integer_flags_out_of_range_are_usage_errors)
{
    static const char *const cases[][4] = {
        {"compare", "--bootstrap", "1x", "--bootstrap: expected 0 to 100000, got '1x'"},
        {"compare", "--bootstrap", "100001", "--bootstrap: expected 0 to 100000, got '100001'"},
        {"compare", "--bootstrap", "-1", "--bootstrap: expected 0 to 100000, got '-1'"},
        {"calibrate", "--max-evals", "1", "--max-evals: expected 2 to 100000, got '1'"},
        {"calibrate", "--max-evals", "", "--max-evals: expected 2 to 100000, got ''"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        clirun r =
            strcmp(cases[i][0], "compare") == 0
                ? clirun_exec("compare", RUNS "/run-2026-08-20_max_num_seqs256", cases[i][1],
                              cases[i][2], NULL)
                : clirun_exec("calibrate", "--from-runs", RUNS "/run-2026-08-20_max_num_seqs256",
                              cases[i][1], cases[i][2], NULL);
        cr_expect_eq(r.code, 2, "%s %s %s: %s", cases[i][0], cases[i][1], cases[i][2], r.err);
        cr_expect(strstr(r.err, cases[i][3]) != NULL, "%s", r.err);
        clirun_clear(&r);
    }
}
