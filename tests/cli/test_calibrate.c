/* tests/cli/test_calibrate.c: `servesim calibrate` end to end:
 *   - a measurements CSV produced by `servesim estimate` (uncalibrated, so its knobs are known:
 *     η 0.70, 126 µs per step, 4 µs per sequence; printed to 0.1 µs) is fitted back to those
 *     knobs within 0.2 %, with
 *     the report, the "CV MAPE:" line, the JSON and the residuals; `estimate` and `run` accept
 *     the JSON with --calibration; --predict reproduces the measurements;
 *   - bad input is one line "servesim: FILE:LINE: column NAME: why" and exit 2;
 *   - every shipped calibration is reproduced by the command recorded in its "sources" and
 *     meets the ≤ 10 % cross-validated MAPE target;
 *   - the end-to-end check against the measured RTX 4090 vLLM runs (loose bound here; the
 *     figures are in docs/calibration.md). */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "base/stats.h"
#include "clirun.h"
#include "tests/testutil.h"

#define DATA SERVESIM_DATA_DIR

TestSuite(calibrate, .timeout = 300);

static void
expect_one_line_error(clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
}

/* A measurements CSV whose times are `servesim estimate`'s uncalibrated predictions. */
static char *
estimated_measurements(void)
{
    GString *in = g_string_new("tp,dp,batch_per_gpu,seq_len,decode_tokens\n");
    static const int tps[] = {1, 2}, batches[] = {1, 8, 32}, seqs[] = {256, 2048};
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 3; b++)
            for (int s = 0; s < 2; s++)
                g_string_append_printf(in, "%d,1,%d,%d,%d\n", tps[t], batches[b], seqs[s],
                                       16 + 16 * b);
    g_autofree char *scen = tu_tmp_file(".csv", in->str);
    g_string_free(in, TRUE);
    clirun r = clirun_exec("estimate", "--scenarios", scen, "--calibration", "none", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    /* keep the scenario columns and rename the predictions to measurements */
    GString *out = g_string_new("tp,dp,batch_per_gpu,seq_len,decode_tokens,measured_prefill_ms,"
                                "measured_decode_ms\n");
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    for (int i = 1; lines[i] != NULL && *lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
        g_string_append_printf(out, "%s,%s,%s,%s,%s,%s,%s\n", f[0], f[1], f[2], f[3], f[4], f[5],
                               f[6]);
    }
    clirun_clear(&r);
    g_unlink(scen);
    char *path = tu_tmp_file(".csv", out->str);
    g_string_free(out, TRUE);
    return path;
}

static double
coef(json_t *j, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, "coefficients"), key);
    return v != NULL ? json_number_value(v) : (double)NAN;
}

Test(calibrate, fits_estimate_back_to_its_knobs)
{
    g_autofree char *in = estimated_measurements();
    g_autofree char *cal = g_strdup_printf("%s.cal.json", in);
    g_autofree char *res = g_strdup_printf("%s.res.csv", in);
    clirun r = clirun_exec("calibrate", in, "--classes", "shared", "--terms",
                           "fixed,seq,compute,memory,comm,attn_item", "--bootstrap", "50", "--out",
                           cal, "--residuals", res, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    /* the report: inputs, defaulted columns, the coefficient table, regimes, the CV line */
    cr_expect(strstr(r.out, "measurements, 12 rows -> 24 samples") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "defaulted columns: grad_accum=1, model=llama-3.1-8b (default), "
                            "hardware=h100-sxm (default)") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "compute efficiency (MFU) 70.0% of peak") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "memory-bandwidth efficiency 70.0% of peak") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "communication efficiency 75.0% of peak") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "  prefill ") != NULL && strstr(r.out, "  decode ") != NULL);
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    guint n = g_strv_length(lines);
    cr_expect_str_eq(lines[n - 2], "CV MAPE: 0.0%");
    clirun_clear(&r);

    json_error_t je;
    json_t *j = json_load_file(cal, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "format")), "servesim-calibration/1");
    cr_expect(fabs(coef(j, "beta_compute") * 0.70 - 1) < 2e-3, "%g", coef(j, "beta_compute"));
    cr_expect(fabs(coef(j, "beta_memory") * 0.70 - 1) < 2e-3);
    cr_expect(fabs(coef(j, "beta_comm") * 0.75 - 1) < 2e-3);
    cr_expect(fabs(coef(j, "beta0_s") / 126e-6 - 1) < 2e-3, "%g", coef(j, "beta0_s"));
    cr_expect(fabs(coef(j, "beta_seq_s") / 4e-6 - 1) < 2e-3, "%g", coef(j, "beta_seq_s"));
    /* the documented default, 22 ns per decoding (sequence × KV head) per layer */
    cr_expect(fabs(coef(j, "beta_attn_item_s") / 22e-9 - 1) < 2e-3, "%g",
              coef(j, "beta_attn_item_s"));
    json_t *src = json_object_get(j, "sources");
    const char *cmd = json_string_value(
        json_object_get(json_array_get(src, json_array_size(src) - 1), "command"));
    cr_expect(g_str_has_prefix(cmd, "servesim calibrate "), "%s", cmd);
    json_decref(j);

    g_autofree char *rtext = NULL;
    cr_assert(g_file_get_contents(res, &rtext, NULL, NULL));
    g_auto(GStrv) rl = g_strsplit(rtext, "\n", -1);
    cr_expect_str_eq(rl[0], "sample,measured_ms,predicted_ms,ape,regime,cv_predicted_ms,cv_ape,"
                            "config");
    cr_expect_eq(g_strv_length(rl), 26); /* header + 24 + trailing empty */

    /* the calibration is what estimate and run then use */
    clirun e = clirun_exec("estimate", "--calibration", cal, "--tensor-parallel-size", "2", NULL);
    cr_assert_eq(e.code, 0, "%s", e.err);
    g_autofree char *knobs = g_strdup_printf("knobs: compute 0.70, memory 0.70, comm 0.75 of "
                                             "peak; overlap 0.00; overheads 126 us/step + 4.0 "
                                             "us/seq; %s",
                                             cal);
    cr_expect(strstr(e.out, knobs) != NULL, "%s", e.out);
    clirun_clear(&e);
    g_autofree char *dir = g_dir_make_tmp("servesim-cal-XXXXXX", NULL);
    clirun rr = clirun_exec("run", "--calibration", cal, "--workload", "synthetic",
                            "--num-requests", "20", "--output-dir", dir, "--quiet", NULL);
    cr_assert_eq(rr.code, 0, "%s", rr.err);
    g_autofree char *sum = g_build_filename(dir, "summary.json", NULL);
    g_autofree char *stext = NULL;
    cr_assert(g_file_get_contents(sum, &stext, NULL, NULL));
    cr_expect(strstr(stext, cal) != NULL, "the summary names the calibration");
    clirun_clear(&rr);

    /* --predict reproduces the measurements */
    clirun p = clirun_exec("calibrate", "--predict", cal, in, NULL);
    cr_assert_eq(p.code, 0, "%s", p.err);
    cr_expect(strstr(p.err, "prefill MAPE 0.0% over 12 rows") != NULL, "%s", p.err);
    cr_expect(strstr(p.err, "decode MAPE 0.0% over 12 rows") != NULL, "%s", p.err);
    cr_expect(g_str_has_prefix(p.out, "tp,dp,batch_per_gpu,seq_len,decode_tokens,measured_prefill_"
                                      "ms,measured_decode_ms,predicted_prefill_ms,"
                                      "predicted_decode_ms,prefill_ape,decode_ape\n"),
              "%s", p.out);
    clirun_clear(&p);
    g_unlink(in);
    g_unlink(cal);
    g_unlink(res);
}

Test(calibrate, bad_input_is_one_line_and_exit_2)
{
    const char *hdr = "tp,batch_per_gpu,seq_len,decode_tokens,measured_prefill_ms,"
                      "measured_decode_ms\n";
    g_autofree char *bad = tu_tmp_file(".csv", "tp,batch_per_gpu,seq_len,decode_tokens,"
                                               "measured_prefill_ms,measured_decode_ms\n"
                                               "1,8,1024,128,12.5,300\n1,16,1024,128,x,400\n");
    clirun r = clirun_exec("calibrate", bad, NULL);
    g_autofree char *want =
        g_strdup_printf("%s:3: column measured_prefill_ms: not a number: 'x'", bad);
    expect_one_line_error(&r, want);
    clirun_clear(&r);

    g_autofree char *zero_text = g_strconcat(hdr, "1,8,1024,128,0,300\n", NULL);
    g_autofree char *zero = tu_tmp_file(".csv", zero_text);
    r = clirun_exec("calibrate", zero, NULL);
    expect_one_line_error(&r, ":2: column measured_prefill_ms: must be > 0");
    clirun_clear(&r);

    g_autofree char *dup_text =
        g_strconcat(hdr, "1,8,1024,128,10,300\n1,8,1024,128,11,310\n", NULL);
    g_autofree char *dup = tu_tmp_file(".csv", dup_text);
    r = clirun_exec("calibrate", dup, NULL);
    expect_one_line_error(&r, ":3: duplicate of line 2");
    clirun_clear(&r);
    r = clirun_exec("calibrate", dup, "--allow-duplicates", "--bootstrap", "0", NULL);
    /* kept: then 4 samples cannot identify the default terms; the identifiable ones are fitted */
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "too few samples: 4 samples for ") != NULL, "%s", r.out);
    clirun_clear(&r);
    /* ... unless the terms are asked for explicitly */
    r = clirun_exec("calibrate", dup, "--allow-duplicates", "--bootstrap", "0", "--terms",
                    "compute,memory,fixed,kernel,attn_compute", NULL);
    expect_one_line_error(&r, "too few samples: 4 samples cannot identify");
    cr_expect(strstr(r.err, "not identifiable: ") != NULL, "%s", r.err);
    clirun_clear(&r);

    g_autofree char *extra_text = g_strconcat("colour,", hdr, NULL);
    g_autofree char *extra = tu_tmp_file(".csv", extra_text);
    r = clirun_exec("calibrate", extra, "--strict", NULL);
    expect_one_line_error(&r,
                          ":1: column colour: unknown column for measurements input (--strict)");
    clirun_clear(&r);

    r = clirun_exec("calibrate", bad, "--input-format", "lss-dense", NULL);
    expect_one_line_error(&r, ":1: missing column layer");
    clirun_clear(&r);
    r = clirun_exec("calibrate", bad, "--input-format", "vidur", NULL);
    expect_one_line_error(&r, "--input-format: unknown input format 'vidur'");
    clirun_clear(&r);
    r = clirun_exec("calibrate", NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
    r = clirun_exec("calibrate", "--predict", "rtx4090",
                    DATA "/aiconfigurator-h100/vllm-0.14.0_custom_allreduce_perf.csv", NULL);
    expect_one_line_error(&r, "--predict reads a scenarios (measurements) or steps CSV");
    clirun_clear(&r);
    g_unlink(bad);
    g_unlink(zero);
    g_unlink(dup);
    g_unlink(extra);
}

/* Re-runs the command recorded in a shipped calibration (from the source tree, where its
 * repository-relative data/ paths resolve) without the bootstrap, and compares the
 * coefficients. TARGET: the CV MAPE it must meet (10 % for step fits; operator-table fits,
 * whose samples are single kernels, 20 %: docs/calibration.md §5). */
static void
reproduce(const char *name, double target)
{
    g_autofree char *path =
        g_strdup_printf("%s/timemodel/presets/calibrations/%s.json", SERVESIM_SOURCE_DIR, name);
    json_error_t je;
    json_t *shipped = json_load_file(path, 0, &je);
    cr_assert_not_null(shipped, "%s: %s", path, je.text);
    json_t *fit = json_object_get(shipped, "fit");
    double cv = json_number_value(json_object_get(fit, "cv_mape"));
    cr_expect_leq(cv, target, "%s: CV MAPE %.1f%% above the %.0f%% target", name, 100 * cv,
                  100 * target);
    json_t *src = json_object_get(shipped, "sources");
    const char *cmd = json_string_value(
        json_object_get(json_array_get(src, json_array_size(src) - 1), "command"));
    cr_assert_not_null(cmd, "%s: no command in sources", name);
    g_auto(GStrv) words = g_strsplit(cmd, " ", -1);
    g_autofree char *out = tu_tmp_file(".json", "");
    GPtrArray *args = g_ptr_array_new();
    for (char **w = words + 1; *w != NULL; w++) { /* skip "servesim" */
        if (strcmp(*w, "--out") == 0 && w[1] != NULL) {
            g_ptr_array_add(args, "--out");
            g_ptr_array_add(args, out);
            w++;
            continue;
        }
        g_ptr_array_add(args, *w);
    }
    g_ptr_array_add(args, "--bootstrap");
    g_ptr_array_add(args, "0");
    g_ptr_array_add(args, NULL);
    cr_assert_eq(chdir(SERVESIM_SOURCE_DIR), 0);
    clirun r = clirun_execv((const char *const *)args->pdata);
    g_ptr_array_free(args, TRUE);
    cr_assert_eq(r.code, 0, "%s: %s", name, r.err);
    json_t *again = json_load_file(out, 0, &je);
    cr_assert_not_null(again);
    const char *key;
    json_t *v;
    json_t *co = json_object_get(shipped, "coefficients");
    cr_expect_eq(json_object_size(co), json_object_size(json_object_get(again, "coefficients")));
    json_object_foreach(co, key, v) {
        double a = json_number_value(v), b = coef(again, key);
        cr_expect(fabs(a - b) <= 1e-8 * fabs(a) + 1e-15, "%s %s: shipped %.10g, refit %.10g", name,
                  key, a, b);
    }
    cr_expect(fabs(json_number_value(json_object_get(json_object_get(again, "fit"), "cv_mape")) -
                   cv) < 1e-9);
    fprintf(stderr, "shipped calibration %-26s %6zu samples  CV MAPE %.1f%%\n", name,
            (size_t)json_integer_value(json_object_get(fit, "samples")), 100 * cv);
    clirun_clear(&r);
    json_decref(shipped);
    json_decref(again);
    g_unlink(out);
}

Test(calibrate, shipped_calibrations_reproduce_and_meet_the_target)
{
    reproduce("h100-sxm", 0.10);
    reproduce("rtx4090", 0.10);
    reproduce("rtx-pro-6000", 0.10);
    reproduce("qwen3-32b__rtx-pro-6000", 0.10);
    reproduce("h200", 0.20);
}

/* ---- the end-to-end check (docs/calibration.md §6) --------------------------------------- */

typedef struct {
    double ttft[3], tpot[3]; /* mean, p50, p90 in ms */
} latency;

static void
summarize(GArray *ttft, GArray *tpot, latency *l)
{
    GArray *a[2] = {ttft, tpot};
    double *o[2] = {l->ttft, l->tpot};
    for (int k = 0; k < 2; k++) {
        base_summary s;
        base_summarize((double *)(void *)a[k]->data, a[k]->len, &s);
        o[k][0] = s.mean;
        o[k][1] = s.p50;
        o[k][2] = base_percentile_sorted((double *)(void *)a[k]->data, a[k]->len, 90);
    }
}

/* TTFT = first_token_ts − queued_ts; TPOT = (last − first)/(output − 1) (the run's SOURCE.md). */
static void
measured(const char *run, latency *l)
{
    g_autofree char *path =
        g_strdup_printf("%s/llmservingsim-rtx4090-dev-run/%s/requests.jsonl", DATA, run);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
    g_autoptr(GArray) ttft = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) tpot = g_array_new(FALSE, FALSE, sizeof(double));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **ln = lines; *ln != NULL; ln++) {
        if (**ln == '\0')
            continue;
        json_error_t je;
        json_t *j = json_loads(*ln, 0, &je);
        cr_assert_not_null(j, "%s", je.text);
        double q = json_number_value(json_object_get(j, "queued_ts"));
        double f = json_number_value(json_object_get(j, "first_token_ts"));
        double e = json_number_value(json_object_get(j, "last_token_ts"));
        json_int_t out = json_integer_value(json_object_get(j, "output_toks"));
        double t = (f - q) * 1e3;
        g_array_append_val(ttft, t);
        if (out > 1) {
            double p = (e - f) / (double)(out - 1) * 1e3;
            g_array_append_val(tpot, p);
        }
        json_decref(j);
    }
    cr_assert_eq(ttft->len, 300);
    summarize(ttft, tpot, l);
}

static void
simulated(const char *dir, latency *l)
{
    g_autofree char *path = g_build_filename(dir, "requests.csv", NULL);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL));
    g_autoptr(GArray) ttft = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) tpot = g_array_new(FALSE, FALSE, sizeof(double));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) hdr = g_strsplit(lines[0], ",", -1);
    int ct = -1, cp = -1, co = -1;
    for (int i = 0; hdr[i] != NULL; i++) {
        ct = strcmp(hdr[i], "ttft_ms") == 0 ? i : ct;
        cp = strcmp(hdr[i], "tpot_ms") == 0 ? i : cp;
        co = strcmp(hdr[i], "output_tokens") == 0 ? i : co;
    }
    cr_assert(ct >= 0 && cp >= 0 && co >= 0, "%s", lines[0]);
    for (char **ln = lines + 1; *ln != NULL; ln++) {
        if (**ln == '\0')
            continue;
        g_auto(GStrv) f = g_strsplit(*ln, ",", -1);
        double t = g_ascii_strtod(f[ct], NULL);
        g_array_append_val(ttft, t);
        if (g_ascii_strtoll(f[co], NULL, 10) > 1) {
            double p = g_ascii_strtod(f[cp], NULL);
            g_array_append_val(tpot, p);
        }
    }
    cr_assert_eq(ttft->len, 300);
    summarize(ttft, tpot, l);
}

Test(calibrate, end_to_end_rtx4090_dev_run)
{
    latency m256, m128, sim;
    measured("run-2026-08-20_max_num_seqs256", &m256);
    measured("run-2026-08-17_max_num_seqs128", &m128);
    g_autofree char *dir = g_dir_make_tmp("servesim-e2e-XXXXXX", NULL);
    /* the run's engine settings (meta.json); the shipped rtx4090 calibration by default */
    clirun r = clirun_exec(
        "run", "--workload",
        DATA "/llmservingsim-rtx4090-dev-run/sharegpt-llama-3.1-8b-300-sps10.jsonl", "--hardware",
        "rtx4090", "--model", "llama-3.1-8b", "--max-num-batched-tokens", "2048", "--max-num-seqs",
        "256", "--block-size", "16", "--gpu-memory-utilization", "0.9", "--max-model-len", "32768",
        "--enable-chunked-prefill", "--enable-prefix-caching", "--num-gpu-blocks-override", "2588",
        "--output-dir", dir, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    simulated(dir, &sim);
    static const char *const what[3] = {"mean", "p50", "p90"};
    const latency *runs[2] = {&m256, &m128};
    static const char *const names[2] = {"08-20 (max_num_seqs 256)", "08-17 (max_num_seqs 128)"};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 3; i++) {
            double et = (sim.ttft[i] - runs[k]->ttft[i]) / runs[k]->ttft[i];
            double ep = (sim.tpot[i] - runs[k]->tpot[i]) / runs[k]->tpot[i];
            fprintf(stderr,
                    "e2e rtx4090 vs %s: %s TTFT %.0f ms vs %.0f (%+.1f%%), TPOT %.2f ms vs %.2f "
                    "(%+.1f%%)\n",
                    names[k], what[i], sim.ttft[i], runs[k]->ttft[i], 100 * et, sim.tpot[i],
                    runs[k]->tpot[i], 100 * ep);
            /* loose sanity only: the figures are reported, not tuned */
            cr_expect_lt(fabs(et), 0.5, "%s TTFT vs %s", what[i], names[k]);
            cr_expect_lt(fabs(ep), 0.5, "%s TPOT vs %s", what[i], names[k]);
        }
    }
}

/* A 4-row measurements table of Llama-2-70B at TP 2, 4 and 8 (8 samples: prefill and decode of
 * each row) cannot identify every exercised term: the identifiable ones are fitted, at least two
 * samples per term, the roofline's own terms first (compute, memory, attention compute,
 * attention memory: docs/calibration.md §2.2), the others keep their defaults and the report
 * says so; the leave-one-configuration-out CV judges each TP on a fit to the others; every
 * efficiency stays at most 1 unless --allow-super-peak. */
Test(calibrate, small_table_fits_the_identifiable_terms)
{
    const char *text = "model,hardware,tp,batch_per_gpu,seq_len,decode_tokens,measured_prefill_ms,"
                       "measured_decode_ms\n"
                       "llama-2-70b,h100-sxm,2,4,1024,128,1450,3600\n"
                       "llama-2-70b,h100-sxm,4,8,2048,128,2300,2900\n"
                       "llama-2-70b,h100-sxm,8,16,1024,128,1100,2300\n"
                       "llama-2-70b,h100-sxm,8,2,3072,128,560,1400\n";
    g_autofree char *csv = tu_tmp_file(".csv", text);
    g_autofree char *dir = g_dir_make_tmp("servesim-small-XXXXXX", NULL);
    g_autofree char *cal = g_build_filename(dir, "cal.json", NULL);
    clirun r = clirun_exec("calibrate", csv, "--bootstrap", "0", "--out", cal, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    fprintf(stderr, "%s", r.out);
    cr_expect(strstr(r.out, "too few samples: 8 samples for ") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "fitted compute, memory, attn_compute, attn_memory (at least two "
                            "samples per term") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "not identifiable from this data (default kept)") != NULL);
    /* one held-out line per TP */
    cr_expect(strstr(r.out, "leave-one-configuration-out CV MAPE ") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "llama-2-70b h100-sxm tp=2 dp=1 pp=1 ") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "llama-2-70b h100-sxm tp=4 dp=1 pp=1 ") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "llama-2-70b h100-sxm tp=8 dp=1 pp=1 ") != NULL, "%s", r.out);
    clirun_clear(&r);
    json_error_t je;
    json_auto_t *j = json_load_file(cal, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *co = json_object_get(j, "coefficients");
    cr_expect_null(json_object_get(co, "beta0_s"), "fixed: not identifiable, default kept");
    const char *eff[] = {"beta_compute", "beta_memory", "beta_attn_compute", "beta_attn_memory"};
    for (size_t i = 0; i < G_N_ELEMENTS(eff); i++) {
        json_t *v = json_object_get(co, eff[i]);
        cr_expect(v == NULL || json_number_value(v) == 0.0 || json_number_value(v) >= 1.0,
                  "%s = %g: efficiency at most 1", eff[i], json_number_value(v));
    }
    /* the same table with --cv loco: the CV line is the leave-one-TP-out one */
    r = clirun_exec("calibrate", csv, "--bootstrap", "0", "--cv", "loco", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "3-fold leave-one-configuration-out CV") != NULL, "%s", r.out);
    clirun_clear(&r);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
}
