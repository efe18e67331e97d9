/* tests/cli/test_hardening.c: bad input a user fed the Release binary, end to end. Every case
 * must end in one line "servesim: FILE:LINE: what" (or "servesim: what" for flags) on stderr,
 * exit 2, no hang, no crash and no partial output; inputs are small and written inline. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(hardening, .timeout = 60);

static void
expect_one_line_error(clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
}

/* The format table is NULL-terminated: the list of formats in the message ends with the last
 * one (it used to run on into unrelated strings, e.g. a column name "hidden_size"). */
Test(hardening, unknown_input_format_lists_exactly_the_formats)
{
    g_autofree char *in = tu_tmp_file(".csv", "a,b\n1,2\n");
    clirun r = clirun_exec("calibrate", "--input-format", "bogus", in, NULL);
    expect_one_line_error(&r, "unknown input format 'bogus'");
    cr_expect(strstr(r.err, "auto, measurements, steps,") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "vidur+aic-steps, aic-moe, aic-module)\n") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "hidden_size") == NULL, "%s", r.err);
    clirun_clear(&r);
    g_unlink(in);
}

/* Column I (0-based) of data row ROW of a CSV text, as a number. */
static double
csv_num(const char *text, int row, int col)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    cr_assert(g_strv_length(lines) > (guint)row, "%s", text);
    g_auto(GStrv) f = g_strsplit(lines[row], ",", -1);
    cr_assert(g_strv_length(f) > (guint)col, "%s", lines[row]);
    return g_ascii_strtod(f[col], NULL);
}

/* grad_accum = micro-batches back to back (timemodel/scenario.h): a row's prefill and decode
 * times are grad_accum × those of one batch, and `estimate --scenarios` and `calibrate
 * --predict` (one shared reader) print the same figures for the same row. */
Test(hardening, estimate_and_predict_agree_and_scale_with_grad_accum)
{
    g_autofree char *in =
        tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum\n"
                            "1,1,8,1024,16,1\n"
                            "1,1,8,1024,16,4\n");
    clirun e = clirun_exec("estimate", "--scenarios", in, "--calibration", "none", NULL);
    cr_assert_eq(e.code, 0, "%s", e.err);
    clirun p = clirun_exec("calibrate", "--predict", "none", in, NULL);
    cr_assert_eq(p.code, 0, "%s", p.err);
    /* columns 6, 7: predicted_prefill_ms, predicted_decode_ms in both outputs */
    for (int col = 6; col <= 7; col++) {
        double one = csv_num(e.out, 1, col), four = csv_num(e.out, 2, col);
        cr_expect_gt(one, 0.0);
        cr_expect(fabs(four - 4.0 * one) <= 1e-3 * four, "col %d: %g vs 4 × %g", col, four, one);
        for (int row = 1; row <= 2; row++)
            cr_expect(fabs(csv_num(p.out, row, col) - csv_num(e.out, row, col)) < 1e-3,
                      "row %d col %d: predict %s\nestimate %s", row, col, p.out, e.out);
    }
    /* TPOT (column 8 of estimate) is per step: the same for both rows */
    cr_expect(fabs(csv_num(e.out, 1, 8) - csv_num(e.out, 2, 8)) < 1e-3, "%s", e.out);
    clirun_clear(&e);
    clirun_clear(&p);
    g_unlink(in);
}

/* `calibrate --predict CAL scenarios.csv` reads a scenarios CSV without measured columns, and
 * "auto" / "none" are calibrations there (they used to fall back to a fit). */
Test(hardening, predict_reads_plain_scenarios_with_auto_or_none)
{
    g_autofree char *in =
        tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum\n"
                            "1,1,4,512,8,1\n");
    const char *cals[] = {"auto", "none"};
    for (int i = 0; i < 2; i++) {
        clirun r = clirun_exec("calibrate", "--predict", cals[i], in, NULL);
        cr_expect_eq(r.code, 0, "%s: %s", cals[i], r.err);
        cr_expect(g_str_has_prefix(r.out, "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum,"
                                          "predicted_prefill_ms,predicted_decode_ms"),
                  "%s: %s", cals[i], r.out);
        cr_expect(csv_num(r.out, 1, 6) > 0, "%s", r.out);
        clirun_clear(&r);
    }
    g_unlink(in);
}

/* An error in a scenarios row names FILE:LINE once (it used to be printed twice). */
Test(hardening, estimate_scenario_error_names_file_and_line_once)
{
    g_autofree char *in = tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens\n"
                                              "1,1,4,512,8\n"
                                              "3,1,4,512,8\n");
    clirun r = clirun_exec("estimate", "--scenarios", in, "--calibration", "none", NULL);
    g_autofree char *where = g_strdup_printf("%s:3: ", in);
    expect_one_line_error(&r, where);
    const char *first = strstr(r.err, where);
    cr_expect(first != NULL && strstr(first + 1, where) == NULL, "twice: %s", r.err);
    cr_expect_str_eq(r.out, "", "no partial output");
    clirun_clear(&r);
    g_unlink(in);
}

/* A row that asks for 2^63 − 1 sequences or tokens is a range error, not a 2^63-iteration
 * loop (measurements and steps rows alike). */
Test(hardening, huge_counts_in_calibration_rows_are_range_errors, .timeout = 20)
{
    g_autofree char *ms = tu_tmp_file(".csv", "batch_per_gpu,seq_len,measured_prefill_ms\n"
                                              "9223372036854775807,128,10\n");
    clirun r = clirun_exec("calibrate", ms, NULL);
    expect_one_line_error(&r, ":2: column batch_per_gpu: must be between 1 and");
    clirun_clear(&r);
    r = clirun_exec("calibrate", "--predict", "none", ms, NULL);
    expect_one_line_error(&r, ":2: column batch_per_gpu: must be between 1 and");
    clirun_clear(&r);
    g_autofree char *seq = tu_tmp_file(".csv", "batch_per_gpu,seq_len,measured_prefill_ms\n"
                                               "1,9223372036854775807,10\n");
    r = clirun_exec("calibrate", seq, NULL);
    expect_one_line_error(&r, ":2: column seq_len: must be between 1 and");
    clirun_clear(&r);
    g_autofree char *st = tu_tmp_file(".csv", "decode_seqs,decode_context,measured_step_ms\n"
                                              "9223372036854775807,100,10\n");
    r = clirun_exec("calibrate", st, NULL);
    expect_one_line_error(&r, ":2: column decode_seqs: must be at most");
    clirun_clear(&r);
    g_unlink(ms);
    g_unlink(seq);
    g_unlink(st);
}

static const char azure_rows[] = "2023-11-16 18:15:46.6805900,374,44\n"
                                 "2023-11-16 18:15:50.5705150,396,109\n";

/* A UTF-8 byte-order mark is skipped once, in the line layer: the header is recognised. */
Test(hardening, utf8_bom_is_skipped)
{
    g_autofree char *text =
        g_strdup_printf("\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\n%s", azure_rows);
    g_autofree char *in = tu_tmp_file(".csv", text);
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    clirun r = clirun_exec("run", "--workload", in, "--output-dir", dir, "--quiet", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *json = g_strdup_printf("\xEF\xBB\xBF{\"seed\": 3}");
    g_autofree char *cfg = tu_tmp_file(".json", json);
    r = clirun_exec("run", "--config", cfg, "--workload", in, "--output-dir", dir, "--quiet", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_unlink(in);
    g_unlink(cfg);
}

/* Azure's public files end lines in CRLF. */
Test(hardening, crlf_azure_trace_reads)
{
    g_autofree char *in = tu_tmp_file(".csv", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                                              "2023-11-16 18:15:46.6805900,374,44\r\n"
                                              "2023-11-16 18:15:50.5705150,396,109\r\n");
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    clirun r = clirun_exec("run", "--workload", in, "--output-dir", dir, "--quiet", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_unlink(in);
}

/* NUL bytes: a config with one is rejected (it used to be read up to the NUL), /dev/zero is
 * refused at its first chunk (it used to ask for 32 GiB), and binary bytes in a cell are
 * escaped in the message. */
Test(hardening, nul_and_binary_input_are_rejected_and_escaped)
{
    g_autofree char *cfg = NULL;
    int fd = g_file_open_tmp("servesim-test-XXXXXX.json", &cfg, NULL);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "{\"seed\": 1\0}", 12), 12);
    close(fd);
    clirun r = clirun_exec("run", "--config", cfg, NULL);
    expect_one_line_error(&r, "NUL byte");
    clirun_clear(&r);
    r = clirun_exec("run", "--config", "/dev/zero", NULL);
    expect_one_line_error(&r, "/dev/zero: NUL byte");
    clirun_clear(&r);
    g_autofree char *bin = tu_tmp_file(".csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                               "2023-11-16 18:15:46.6805900,374,4\x01\x02\xFF"
                                               "4\n");
    r = clirun_exec("run", "--workload", bin, NULL);
    expect_one_line_error(&r, ":2: column GeneratedTokens: not an integer: '4\\x01\\x02\\xFF4'");
    clirun_clear(&r);
    g_unlink(cfg);
    g_unlink(bin);
}

/* Timestamps outside 1970..2200 would overflow nanoseconds: a range error on that row. */
Test(hardening, out_of_range_azure_timestamps_are_errors)
{
    const char *bad[] = {"9999-12-31 23:59:59.9999999", "0000-01-01 00:00:00"};
    for (int i = 0; i < 2; i++) {
        g_autofree char *text = g_strdup_printf("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                                "2023-11-16 18:15:46.6805900,374,44\n%s,10,10\n",
                                                bad[i]);
        g_autofree char *in = tu_tmp_file(".csv", text);
        clirun r = clirun_exec("run", "--workload", in, NULL);
        expect_one_line_error(&r, ":3: column TIMESTAMP: bad timestamp");
        cr_expect(strstr(r.err, "earlier than") == NULL, "%s", r.err);
        clirun_clear(&r);
        g_unlink(in);
    }
}

/* A FIFO (what process substitution gives) is read once, not opened twice. */
Test(hardening, fifo_input_is_read_once)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "trace.csv", NULL);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    g_autofree char *src = tu_tmp_file(".csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                               "2023-11-16 18:15:46.6805900,374,44\n");
    g_autofree char *cmd = g_strdup_printf("cat '%s' > '%s'", src, fifo);
    g_auto(GStrv) sh = g_strdupv((char *[]){"/bin/sh", "-c", cmd, NULL});
    GPid pid;
    cr_assert(g_spawn_async(NULL, sh, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL));
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    clirun r = clirun_exec("run", "--workload", fifo, "--output-dir", out, "--quiet", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    int status;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    clirun_clear(&r);
    g_unlink(fifo);
    g_unlink(src);
}

/* A truncated gzip names the file, not zlib's "<fd:3>". */
Test(hardening, truncated_gzip_names_the_file)
{
    GString *t = g_string_new("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int i = 0; i < 5000; i++)
        g_string_append_printf(t, "2023-11-16 18:%02d:%02d.%07d,%d,44\n", 15 + i / 3600,
                               (i / 60) % 60, i % 60, 100 + i % 97);
    g_autofree char *plain = tu_tmp_file(".csv", t->str);
    g_string_free(t, TRUE);
    g_autofree char *gz = g_strdup_printf("%s.gz", plain);
    g_autofree char *cmd = g_strdup_printf("gzip -c '%s' | head -c 20000 > '%s'", plain, gz);
    g_auto(GStrv) sh = g_strdupv((char *[]){"/bin/sh", "-c", cmd, NULL});
    cr_assert(g_spawn_sync(NULL, sh, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL));
    clirun r = clirun_exec("run", "--workload", gz, NULL);
    expect_one_line_error(&r, "truncated gzip");
    cr_expect(strstr(r.err, gz) != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "<fd:") == NULL, "%s", r.err);
    clirun_clear(&r);
    g_unlink(plain);
    g_unlink(gz);
}

/* Hardware figures out of their physical range are errors naming the key (memory_gb 1e300
 * used to overflow a double -> int64 cast; gpus_per_node 0 and a negative L2 were accepted). */
Test(hardening, hardware_fields_are_range_checked)
{
    const char *bad[][2] = {
        {"\"memory_gb\": 1e300", "memory_gb: 1e+300 is out of range"},
        {"\"memory_gb\": 80, \"gpus_per_node\": 0", "gpus_per_node: 0 is out of range"},
        {"\"memory_gb\": 80, \"l2_cache_mb\": -1", "l2_cache_mb: -1 is out of range"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *json = g_strdup_printf(
            "{\"peak_tflops\": {\"bf16\": 989.4}, %s, \"memory_bandwidth_gbps\": 3350, "
            "\"interconnect\": {\"nvlink\": {\"bandwidth_gbps\": 450, \"latency_us\": 4.5}}}",
            bad[i][0]);
        g_autofree char *hw = tu_tmp_file(".json", json);
        clirun r = clirun_exec("estimate", "--hardware", hw, NULL);
        expect_one_line_error(&r, bad[i][1]);
        clirun_clear(&r);
        g_unlink(hw);
    }
}

/* Absurd stage rates in a spec are refused before anything is generated (a rate of 1e30 used
 * to put every request at t = 0 until memory ran out). */
Test(hardening, absurd_spec_stage_rate_is_refused, .timeout = 30)
{
    g_autofree char *spec = tu_tmp_file(
        ".json", "{\"data\": {\"type\": \"random\", \"input_distribution\": {\"mean\": 10}, "
                 "\"output_distribution\": {\"mean\": 5}},\n"
                 " \"load\": {\"type\": \"constant\", \"stages\": [{\"rate\": 1e30, "
                 "\"duration\": 10}]}}\n");
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    clirun r = clirun_exec("run", "--workload", spec, "--output-dir", out, NULL);
    expect_one_line_error(&r, "load.stages: stage 0: rate 1e+30 req/s is out of range");
    cr_expect(!g_file_test(out, G_FILE_TEST_EXISTS), "no output directory");
    clirun_clear(&r);
    g_unlink(spec);
    g_rmdir(dir);
}

static void
default_signals(gpointer data)
{
    (void)data;
    /* The test runner may have been started with SIGINT ignored (background jobs). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* Names in DIR containing ".tmp." (joined with spaces; "" if none). */
static char *
tmp_names(const char *dir)
{
    GString *s = g_string_new("");
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL)
        if (strstr(n, ".tmp.") != NULL)
            g_string_append_printf(s, "%s ", n);
    if (d != NULL)
        g_dir_close(d);
    return g_string_free(s, FALSE);
}

/* Killing a long `run` removes its temporaries (they used to be left as
 * requests.csv.tmp.XXXXXX) and the process still dies of the signal. */
Test(hardening, killed_run_leaves_no_temporaries, .timeout = 120)
{
    const int sigs[] = {SIGTERM, SIGINT};
    for (size_t k = 0; k < G_N_ELEMENTS(sigs); k++) {
        g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
        g_auto(GStrv) argv = g_strdupv((char *[]){SERVESIM_BINARY, "run", "--workload", "synthetic",
                                                  "--num-requests", "10000000", "--rate", "1000",
                                                  "--output-dir", dir, "--steps", "--quiet", NULL});
        GPid pid;
        GError *err = NULL;
        cr_assert(g_spawn_async(NULL, argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                    G_SPAWN_STDERR_TO_DEV_NULL,
                                default_signals, NULL, &pid, &err),
                  "%s", err ? err->message : "");
        /* Wait (at most 60 s) until the outputs' temporaries exist, then let it write a bit. */
        g_autofree char *seen = NULL;
        for (int i = 0; i < 6000; i++) {
            g_free(seen);
            seen = tmp_names(dir);
            if (strstr(seen, "requests.csv.tmp.") != NULL)
                break;
            g_usleep(10000);
        }
        cr_expect(strstr(seen, "requests.csv.tmp.") != NULL, "no temporary appeared: '%s'", seen);
        g_usleep(200000);
        kill(pid, sigs[k]);
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        g_spawn_close_pid(pid);
        cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == sigs[k],
                  "signal %d: status 0x%x (exited %d)", sigs[k], status,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        g_autofree char *left = tmp_names(dir);
        cr_expect_str_eq(left, "", "signal %d left temporaries behind", sigs[k]);
        g_autofree char *csv = g_build_filename(dir, "requests.csv", NULL);
        cr_expect(!g_file_test(csv, G_FILE_TEST_EXISTS), "no output under its final name");
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        cr_expect_eq(system(cmd), 0);
    }
}

/* --replicas is capped at 4096 (it accepted 1,000,000, ~1 TB of KV arrays) and the message
 * shows the count in full; a configuration over the replica-state bound is refused before
 * anything is allocated or written. */
Test(hardening, replica_count_and_state_are_bounded)
{
    clirun r = clirun_exec("run", "--replicas", "1000000", "--print-config", NULL);
    expect_one_line_error(&r, "--replicas: 1000000 is out of range [1, 4096]");
    clirun_clear(&r);
    r = clirun_exec("run", "--num-gpu-blocks-override", "1e12", "--print-config", NULL);
    expect_one_line_error(&r, "--num-gpu-blocks-override: 1000000000000 is out of range [2, "
                              "1073741824]");
    clirun_clear(&r);
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    /* 4096 × (1e6 × 24 B + 2^21 × 16 B) = 219.6 GiB */
    r = clirun_exec("run", "--replicas", "4096", "--num-gpu-blocks-override", "1000000", "--limit",
                    "5", "--output-dir", dir, NULL);
    expect_one_line_error(&r, "the replicas' state needs 219.6 GiB (4096 replicas × 54.9 MiB for "
                              "1000000 KV blocks each), more than the 8.0 GiB limit");
    g_autofree char *left = tmp_names(dir);
    cr_expect_str_eq(left, "");
    g_autofree char *csv = g_build_filename(dir, "requests.csv", NULL);
    cr_expect(!g_file_test(csv, G_FILE_TEST_EXISTS));
    clirun_clear(&r);
    g_rmdir(dir);
}

/* Model configs: an integer outside int64 is a range error (it was cast first: undefined
 * behaviour), unknown dtypes, a non-object rope_scaling and a quantization method servesim
 * does not know are refused, naming the field (exit 2). */
Test(hardening, model_config_fields_are_checked)
{
    const char *cfgs[][2] = {
        {"{\"dim\": 94e18, \"n_layers\": 4, \"n_heads\": 8, \"vocab_size\": 100, \"inter_dim\": "
         "64}",
         "dim: 9.4e+19 is out of range"},
        {"{\"hidden_size\": 4096, \"num_hidden_layers\": 32, \"num_attention_heads\": 32, "
         "\"vocab_size\": 32000, \"intermediate_size\": 11008, \"max_position_embeddings\": 4096, "
         "\"torch_dtype\": \"float128\"}",
         "torch_dtype: unknown dtype 'float128' (expected one of: bfloat16, float16"},
        {"{\"hidden_size\": 4096, \"num_hidden_layers\": 32, \"num_attention_heads\": 32, "
         "\"vocab_size\": 32000, \"intermediate_size\": 11008, \"max_position_embeddings\": 4096, "
         "\"rope_scaling\": \"x\"}",
         "rope_scaling: expected an object or null, got string"},
        {"{\"hidden_size\": 4096, \"num_hidden_layers\": 32, \"num_attention_heads\": 32, "
         "\"vocab_size\": 32000, \"intermediate_size\": 11008, \"max_position_embeddings\": 4096, "
         "\"quantization_config\": {\"quant_method\": \"fp5\"}}",
         "quantization_config.quant_method: unknown quantization method 'fp5'"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cfgs); i++) {
        g_autofree char *p = tu_tmp_file(".json", cfgs[i][0]);
        clirun r = clirun_exec("estimate", "--model", p, NULL);
        expect_one_line_error(&r, cfgs[i][1]);
        cr_expect(strstr(r.err, p) != NULL, "names the file: %s", r.err);
        clirun_clear(&r);
        g_unlink(p);
    }
}

/* A JSONL arrival of 2^63 − 1 ns used to end the workload silently at that row; a time
 * factor that pushes a row past the limit used to count it as "filtered". */
Test(hardening, out_of_range_times_are_errors_naming_the_row)
{
    g_autofree char *in =
        tu_tmp_file(".jsonl", "{\"input_toks\": 30, \"output_toks\": 2, \"arrival_time_ns\": 0}\n"
                              "{\"input_toks\": 30, \"output_toks\": 2, \"arrival_time_ns\": "
                              "9223372036854775807}\n");
    clirun r = clirun_exec("analyze", "workload", in, NULL);
    g_autofree char *w1 = g_strdup_printf(
        "%s:2: column arrival_time_ns: time 9.22337e+09 s is out of range [0, 4e+09 s]", in);
    expect_one_line_error(&r, w1);
    cr_expect_str_eq(r.out, "");
    clirun_clear(&r);
    g_autofree char *in2 =
        tu_tmp_file(".jsonl", "{\"input_toks\": 30, \"output_toks\": 2, \"arrival_time_ns\": 0}\n"
                              "{\"input_toks\": 30, \"output_toks\": 2, \"arrival_time_ns\": "
                              "900000000000000000}\n");
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    r = clirun_exec("run", "--workload", in2, "--time-scale", "10", "--output-dir", dir, NULL);
    g_autofree char *w2 = g_strdup_printf("%s:2: arrival at 9e+08 s × time factor 10 = 9e+09 s "
                                          "is out of range [0, 4e+09 s] (--time-scale, --rate)",
                                          in2);
    expect_one_line_error(&r, w2);
    g_autofree char *csv = g_build_filename(dir, "requests.csv", NULL);
    cr_expect(!g_file_test(csv, G_FILE_TEST_EXISTS), "no output under its final name");
    g_autofree char *left = tmp_names(dir);
    cr_expect_str_eq(left, "");
    clirun_clear(&r);
    g_unlink(in);
    g_unlink(in2);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A workload that yields no request is refused with one line saying why (it used to run
 * and print "nan" throughput); nothing is written. */
Test(hardening, empty_workloads_are_refused_with_the_reason)
{
    g_autofree char *header = tu_tmp_file(".csv", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n");
    g_autofree char *spec = tu_tmp_file(
        ".json", "{\"data\": {\"type\": \"random\", \"input_distribution\": {\"mean\": 10}, "
                 "\"output_distribution\": {\"mean\": 5}},\n"
                 " \"load\": {\"type\": \"constant\", \"stages\": [{\"rate\": 0, "
                 "\"duration\": 10}]}}\n");
    g_autofree char *w_header =
        g_strdup_printf("servesim: %s: no requests (no data rows)\n", header);
    g_autofree char *w_spec =
        g_strdup_printf("servesim: %s: no requests (every load stage has rate 0)\n", spec);
    const char *cases[][5] = {
        {"--duration", "0", NULL, NULL,
         "servesim: azure-conv-10min: no requests (no arrival within --duration 0 s after --start "
         "0 s)\n"},
        {"--limit", "0", NULL, NULL, "servesim: azure-conv-10min: no requests (--limit 0)\n"},
        {"--workload", header, NULL, NULL, w_header},
        {"--workload", spec, NULL, NULL, w_spec},
        {"--start", "1e6", NULL, NULL,
         "servesim: azure-conv-10min: no requests (all 2867 arrive before --start 1e+06 s)\n"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
        g_autofree char *out = g_build_filename(dir, "out", NULL);
        clirun r =
            clirun_exec("run", cases[i][0], cases[i][1], "--output-dir", out, "--quiet", NULL);
        cr_expect_eq(r.code, 2, "case %zu: %s", i, r.err);
        cr_expect_str_eq(r.err, cases[i][4], "case %zu", i);
        g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
        cr_expect(!g_file_test(csv, G_FILE_TEST_EXISTS), "case %zu", i);
        clirun_clear(&r);
        r = clirun_exec("analyze", "workload", cases[i][0], cases[i][1], NULL);
        cr_expect_eq(r.code, 2, "analyze case %zu: %s", i, r.err);
        cr_expect_str_eq(r.err, cases[i][4], "analyze case %zu", i);
        cr_expect_str_eq(r.out, "", "analyze case %zu", i);
        clirun_clear(&r);
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        cr_expect_eq(system(cmd), 0);
    }
    g_unlink(header);
    g_unlink(spec);
}

/* Undefined figures (0/0: throughput with every request excluded by --warmup; the rate of a
 * single arrival) print as n/a and are null in JSON, never "nan" or "inf". */
Test(hardening, undefined_figures_are_never_nan)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-test-XXXXXX", NULL);
    clirun r = clirun_exec("run", "--limit", "3", "--warmup", "1000", "--output-dir", dir, NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    g_autofree char *low = g_ascii_strdown(r.out, -1);
    cr_expect(strstr(low, "nan") == NULL && strstr(low, "inf") == NULL, "%s", r.out);
    cr_expect(strstr(r.out, "Request throughput (req/s):              n/a") != NULL, "%s", r.out);
    g_autofree char *sum = g_build_filename(dir, "summary.json", NULL);
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(sum, &text, NULL, NULL));
    json_error_t je;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    cr_expect_not_null(j, "summary.json is not JSON: %s", je.text);
    json_decref(j);
    clirun_clear(&r);
    const char *lims[] = {"1", "2"};
    for (size_t i = 0; i < 2; i++) {
        r = clirun_exec("analyze", "workload", "--limit", lims[i], NULL);
        cr_expect_eq(r.code, 0, "%s", r.err);
        g_autofree char *l = g_ascii_strdown(r.out, -1);
        cr_expect(strstr(l, "nan") == NULL && strstr(l, "inf") == NULL, "%s", r.out);
        clirun_clear(&r);
        r = clirun_exec("analyze", "workload", "--limit", lims[i], "--json", NULL);
        cr_expect_eq(r.code, 0, "%s", r.err);
        j = json_loads(r.out, JSON_REJECT_DUPLICATES, &je);
        cr_expect_not_null(j, "not JSON: %s: %s", je.text, r.out);
        json_decref(j);
        clirun_clear(&r);
    }
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* --warmup and --cooldown share the time limit of every other time (4e9 s): a value past it
 * is refused by the flag's range, naming the flag (5e9 used to pass the flag and fail later
 * as "must be finite and >= 0"). */
Test(hardening, warmup_and_cooldown_have_the_time_limit)
{
    clirun r = clirun_exec("run", "--warmup", "5e9", "--print-config", NULL);
    expect_one_line_error(&r, "--warmup: 5e+09 is out of range [0, 4e+09]");
    clirun_clear(&r);
    r = clirun_exec("run", "--cooldown", "4.5e9", "--print-config", NULL);
    expect_one_line_error(&r, "--cooldown: 4.5e+09 is out of range [0, 4e+09]");
    clirun_clear(&r);
}
