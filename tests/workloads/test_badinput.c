/* tests/workloads/test_badinput.c: malformed rows name FILE:LINE: column NAME: why (WL_ERROR,
 * WL_ERROR_PARSE); --skip-bad-rows counts, remembers and skips them; empty files, missing
 * columns, non-monotone timestamps (rejected), absurd values, truncated gzip, undetectable
 * formats: clear errors, no crash. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "wlt.h"
#include "workloads/workload.h"

TestSuite(badinput, .timeout = 60);

/* Opens and drains PATH; returns the error (open or read), or NULL. */
static GError *
fail_of(const char *path, const char *extra_flag, const char *extra_value)
{
    GError *err = NULL;
    g_autoptr(wl_source) s =
        extra_flag != NULL ? wlt_open(0, 0, &err, "--workload", path, extra_flag, extra_value, NULL)
                           : wlt_open(0, 0, &err, "--workload", path, NULL);
    if (s == NULL)
        return err;
    wlt_stats st;
    if (wlt_drain(s, &st, &err) < 0)
        return err;
    return NULL;
}

static void
expect_error(const char *contents, bool gz, const char *suffix, const char *expected_tail)
{
    g_autofree char *p = wlt_tmp(suffix, contents, gz);
    GError *err = fail_of(p, NULL, NULL);
    cr_assert_not_null(err, "no error for %s", expected_tail);
    cr_expect(err->domain == WL_ERROR, "%s", err->message);
    g_autofree char *want = g_strdup_printf("%s%s", p, expected_tail);
    cr_expect_str_eq(err->message, want);
    g_error_free(err);
    unlink(p);
}

Test(badinput, azure_rows)
{
    const char *h = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    const char *ok = "2023-11-16 18:15:46.6805900,374,44\n";
    g_autofree char *a = g_strconcat(h, ok, "2023-11-16 18:15:47.0,abc,5\n", NULL);
    expect_error(a, false, ".csv", ":3: column ContextTokens: not an integer: 'abc'");
    g_autofree char *b = g_strconcat(h, ok, "2023-11-16 18:15:47.0,5,0\n", NULL);
    expect_error(b, false, ".csv", ":3: column GeneratedTokens: zero tokens");
    g_autofree char *c = g_strconcat(h, ok, "2023-11-16 18:15:47.0,-5,3\n", NULL);
    expect_error(c, false, ".csv", ":3: column ContextTokens: negative token count -5");
    g_autofree char *d = g_strconcat(h, ok, "2023-11-16 18:15:47.0,20000000,3\n", NULL);
    expect_error(d, false, ".csv",
                 ":3: column ContextTokens: 20000000 tokens is absurd (limit 10000000)");
    g_autofree char *e = g_strconcat(h, ok, "yesterday,5,3\n", NULL);
    expect_error(e, false, ".csv",
                 ":3: column TIMESTAMP: bad timestamp 'yesterday' (expected YYYY-MM-DD "
                 "HH:MM:SS[.fraction], years 1970 to 2200)");
    g_autofree char *f = g_strconcat(h, ok, "2023-11-16 18:15:40.5,5,3\n", NULL);
    expect_error(f, false, ".csv",
                 ":3: column TIMESTAMP: arrival -6.180590 s is earlier than the previous row's "
                 "0.000000 s (traces must be sorted by arrival time)");
    g_autofree char *g = g_strconcat(h, ok, "2023-11-16 18:15:47.0,5\n", NULL);
    expect_error(g, false, ".csv", ":3: column GeneratedTokens: missing value (row has 2 fields)");
}

Test(badinput, missing_column_and_empty_files)
{
    expect_error("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.68,3\n", false, ".csv",
                 ":1: missing column GeneratedTokens");
    expect_error("Timestamp,Model,Request tokens\n1,ChatGPT,5\n", false, ".csv",
                 ":1: missing column Response tokens");
    expect_error("", false, ".csv", ": empty file");
    expect_error("\n\n", true, ".csv.gz", ": empty file");
}

Test(badinput, skip_bad_rows_counts_and_reports)
{
    g_autofree char *p = wlt_tmp(".csv",
                                 "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log "
                                 "Type\n"
                                 "1,ChatGPT,10,5,15,API log\n"
                                 "2,ChatGPT,x,5,15,API log\n"
                                 "3,ChatGPT,10,5,15,API log\n"
                                 "2.5,ChatGPT,10,5,15,API log\n"
                                 "4,GPT-4,10,5,15,API log\n",
                                 false);
    GError *err = fail_of(p, NULL, NULL);
    cr_assert_not_null(err);
    cr_expect(g_str_has_suffix(err->message, ":3: column Request tokens: not an integer: 'x'"),
              "%s", err->message);
    cr_expect_eq(err->code, WL_ERROR_PARSE);
    g_clear_error(&err);
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", p, "--skip-bad-rows", NULL);
    cr_assert_not_null(s);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 3);
    wl_counters c = wl_source_get_counters(s);
    cr_expect_eq(c.skipped_bad, 2, "the bad cell and the row that goes back in time");
    cr_expect_eq(c.rows, 5);
    const char *first = wl_source_first_skipped(s);
    cr_assert_not_null(first);
    cr_expect(g_str_has_suffix(first, ":3: column Request tokens: not an integer: 'x'"), "%s",
              first);
    unlink(p);
}

Test(badinput, truncated_gzip)
{
    GString *text = g_string_new("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int i = 0; i < 20000; i++)
        g_string_append_printf(text, "2023-11-16 18:%02d:%02d.%07d,%d,%d\n", 15 + i / 6000,
                               (i / 100) % 60, i % 100 * 1000, 100 + i % 977, 1 + i % 311);
    g_autofree char *p = wlt_tmp(".csv.gz", text->str, true);
    g_string_free(text, TRUE);
    g_autofree char *data = NULL;
    size_t n = 0;
    cr_assert(g_file_get_contents(p, &data, &n, NULL));
    cr_assert(g_file_set_contents(p, data, (gssize)(n / 2), NULL));
    GError *err = fail_of(p, NULL, NULL);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "truncated gzip") != NULL, "%s", err->message);
    cr_expect(g_str_has_prefix(err->message, p));
    g_error_free(err);
    unlink(p);
}

Test(badinput, jsonl_rows)
{
    expect_error(
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": [1]}\n"
        "{\"timestamp\": 1, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": [1]\n",
        false, ".jsonl", ":2: invalid JSON at character 71: '}' expected near end of file");
    expect_error(
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": [1]}\n"
        "{\"timestamp\": 1, \"output_length\": 2, \"hash_ids\": [1]}\n",
        false, ".jsonl", ":2: column input_length: missing");
    expect_error(
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": [1]}\n"
        "{\"timestamp\": 1, \"input_length\": 5, \"output_length\": 2, \"hash_ids\": "
        "[\"a\"]}\n",
        false, ".jsonl", ":2: column hash_ids: element 0 is not an integer >= 0");
    expect_error("{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 10}\n"
                 "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 5}\n",
                 false, ".jsonl",
                 ":2: column arrival_time_ns: arrival 0.000000 s is earlier than the previous "
                 "row's 0.000000 s (traces must be sorted by arrival time)");
    expect_error("{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 1, "
                 "\"input_tok_ids\": [1, 2]}\n",
                 false, ".jsonl", ":1: column input_tok_ids: has 2 ids but input_toks is 3");
}

Test(badinput, sharegpt_json_truncated_and_malformed)
{
    expect_error("[{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}", false, ".json",
                 ":1: truncated JSON (the conversation is not closed)");
    expect_error("[{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}]},\n", false,
                 ".json", ":1: truncated JSON (the top-level array is not closed)");
    expect_error("[{\"conversations\": [{\"from\": \"human\"}]}]", false, ".json",
                 ":1: column conversations: message 0 needs string \"from\" and \"value\" (or "
                 "\"role\" and \"content\")");
    expect_error("[{\"chat\": []}]", false, ".json", ":1: column conversations: missing");
    /* found by fuzz_wl_sharegpt_json: jansson quotes the input near a bad escape, here a backslash
     * before a raw newline; the message must stay one line */
    g_autofree char *p = wlt_tmp(".json",
                                 "[{\"conversations\": [{\"from\": \"human\", \"value\": "
                                 "\"a\\\nb\"}]}]\n",
                                 false);
    GError *err = fail_of(p, NULL, NULL);
    cr_assert_not_null(err);
    g_autofree char *want = g_strdup_printf("%s:2: invalid JSON: ", p);
    cr_expect(g_str_has_prefix(err->message, want), "%s", err->message);
    cr_expect_null(strchr(err->message, '\n'), "one line: %s", err->message);
    g_error_free(err);
    unlink(p);
}

Test(badinput, servegen_rows)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-wl-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "chunk-0-trace.csv", NULL);
    g_autofree char *ds = g_build_filename(dir, "chunk-0-dataset.json", NULL);
    cr_assert(g_file_set_contents(ds,
                                  "{\"0\": {\"input_tokens\": \"{10: 0.5, 20: 0.5}\", "
                                  "\"output_tokens\": \"{5: 1.0}\"}}",
                                  -1, NULL));
    cr_assert(
        g_file_set_contents(trace, "0,1,1,Exponential,0,0\n600,1,2,Lognormal,1,1\n", -1, NULL));
    GError *err = fail_of(trace, NULL, NULL);
    cr_assert_not_null(err);
    g_autofree char *want = g_strdup_printf(
        "%s:2: column interarrival_dist: unknown distribution 'Lognormal' (expected Gamma, "
        "Weibull, Exponential)",
        trace);
    cr_expect_str_eq(err->message, want);
    g_clear_error(&err);
    cr_assert(g_file_set_contents(trace, "0,1,1,Exponential,0,0\n", -1, NULL));
    cr_assert(g_file_set_contents(ds,
                                  "{\"0\": {\"input_tokens\": \"{10: 0.5, 0: 0.5}\", "
                                  "\"output_tokens\": \"{5: 1.0}\"}}",
                                  -1, NULL));
    err = fail_of(trace, NULL, NULL);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "0.input_tokens: bad PMF") != NULL, "%s", err->message);
    g_clear_error(&err);
    unlink(ds);
    err = fail_of(trace, NULL, NULL);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "chunk-0-dataset.json") != NULL, "%s", err->message);
    g_clear_error(&err);
    unlink(trace);
    rmdir(dir);
}

/* Found by fuzz/fuzz_wl_infperf: a type string holding a newline broke the one-line error. */
Test(badinput, infperf_unknown_types_are_quoted_on_one_line)
{
    expect_error("{\"data\": {\"type\": \"sh\\nared\"}, \"load\": {}}", false, ".json",
                 ": data.type: unknown or unsupported type 'sh\\x0Aared' (supported: "
                 "shared_prefix, random, synthetic; give ShareGPT files with --workload FILE)");
    expect_error("{\"data\": {\"type\": \"shared_prefix\", \"num_groups\": 1, "
                 "\"num_prompts_per_group\": 1, \"system_prompt_len\": 1, \"question_len\": 1, "
                 "\"output_len\": 1}, \"load\": {\"type\": \"a\\u0007\", \"stages\": [{\"rate\": "
                 "1, \"duration\": 1}]}}",
                 false, ".json",
                 ": load.type: unknown type 'a\\x07' (expected constant, poisson or concurrent)");
}

/* Keys and setting strings quoted in errors are escaped, as the type above (the fuzzers found
 * the calibration file's keys; these are the same mistake in the workload readers). */
Test(badinput, quoted_keys_and_specs_are_escaped)
{
    expect_error("{\"data\": {\"type\": \"random\", \"input_distribution\": {\"m\\nin\": 1}, "
                 "\"output_distribution\": {\"min\": 1}}, \"load\": {}}",
                 false, ".json",
                 ": data.input_distribution.m\\x0Ain: unknown key (expected min, max, mean, "
                 "std_dev, total_count)");
    g_autofree char *trace = wlt_tmp("-trace.csv", "0,1,1,Gamma,1,1\n", false);
    g_autofree char *dir = g_path_get_dirname(trace);
    g_autofree char *ds = wlt_tmp("-dataset.json", "{\"\\u001b[31m\": {}}", false);
    GError *err = fail_of(trace, "--servegen-dataset", ds);
    cr_assert_not_null(err);
    g_autofree char *want = g_strdup_printf("%s: window key '\\x1B[31m' is not a time", ds);
    cr_expect_str_eq(err->message, want);
    g_error_free(err);
    unlink(trace);
    unlink(ds);
}

Test(badinput, undetectable_unknown_and_missing)
{
    expect_error("a,b,c\n1,2,3\n", false, ".csv",
                 ":1: cannot detect the workload format from the first line 'a,b,c' (known: "
                 "Azure, BurstGPT, ShareGPT/Vidur length CSV, ServeGen, Mooncake, JSONL, "
                 "ShareGPT JSON, inference-perf); use --workload-format");
    GError *err = fail_of("/no/such/trace.csv", NULL, NULL);
    cr_assert_not_null(err);
    cr_expect(g_str_has_prefix(err->message,
                               "/no/such/trace.csv: no such file or embedded workload (embedded: "),
              "%s", err->message);
    cr_expect_eq(err->code, WL_ERROR_IO);
    g_clear_error(&err);
    /* A forced format that does not fit the file. */
    err = fail_of("burstgpt-sample", "--workload-format", "azure");
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "burstgpt-sample:1: missing column TIMESTAMP");
    g_clear_error(&err);
    err = fail_of("burstgpt-sample", "--stages", "1:10");
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "has its own arrival times") != NULL, "%s", err->message);
    g_clear_error(&err);
}

/* Expects draining PATH with flags FLAG VALUE to fail with exactly PATH + TAIL (or, when TAIL
 * starts with '-', exactly TAIL: a setting, not a row, is at fault). */
static void
expect_flagged_error(const char *path, const char *flag, const char *value, const char *tail)
{
    GError *err = fail_of(path, flag, value);
    cr_assert_not_null(err, "no error for %s", tail);
    g_autofree char *want = tail[0] == '-' ? g_strdup(tail) : g_strdup_printf("%s%s", path, tail);
    cr_expect_str_eq(err->message, want);
    g_error_free(err);
}

/* Every time read from a file or produced by a transform is range-checked once, in
 * nanoseconds (workloads/internal.h wl__time_ns): arrival_time_ns 2^63 − 1 used to end the
 * stream silently at that row (the window's "no end" is INT64_MAX), --time-scale 10 on 9e17 ns
 * overflowed llround and the row was counted as "filtered", and seconds up to 1e10 (CSV) or
 * milliseconds up to 1e13 (Mooncake) overflowed int64 nanoseconds. */
Test(badinput, times_out_of_range_are_row_errors)
{
    const char *lim = "is out of range [0, 4e+09 s]";
    g_autofree char *t1 = g_strdup_printf(":2: column arrival_time_ns: time 9.22337e+09 s %s", lim);
    expect_error("{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 0}\n"
                 "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": "
                 "9223372036854775807}\n"
                 "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": "
                 "9223372036854775807}\n",
                 false, ".jsonl", t1);
    g_autofree char *t2 = g_strdup_printf(":2: column timestamp: time 9.5e+09 s %s", lim);
    expect_error("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2}\n"
                 "{\"timestamp\": 9.5e12, \"input_length\": 5, \"output_length\": 2}\n",
                 false, ".jsonl", t2);
    g_autofree char *t3 = g_strdup_printf(":3: column Timestamp: time 9.5e+09 s %s", lim);
    expect_error("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                 "0,ChatGPT,10,5,15,Conversation log\n"
                 "9.5e9,ChatGPT,10,5,15,Conversation log\n",
                 false, ".csv", t3);
    /* A row in range whose scaled time is not: an error naming the row and the transform. */
    char *p = wlt_tmp(".jsonl",
                      "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 0}\n"
                      "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": "
                      "900000000000000000}\n",
                      false);
    expect_flagged_error(p, "--time-scale", "10",
                         ":2: arrival at 9e+08 s × time factor 10 = 9e+09 s is out of range [0, "
                         "4e+09 s] (--time-scale, --rate)");
    unlink(p);
    g_free(p);
    /* --rate rescaling: 6 rows over 100 ns are 5e7 req/s; --rate 1e-9 multiplies times by 5e16
     * and the last row lands at 100 ns × 5e16 = 5e9 s. */
    p = wlt_tmp(".jsonl",
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 0}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 1}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 2}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 3}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 4}\n"
                "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 100}\n",
                false);
    expect_flagged_error(p, "--rate", "1e-9",
                         ":6: arrival at 1e-07 s × time factor 5e+16 = 5e+09 s is out of range [0, "
                         "4e+09 s] (--time-scale, --rate)");
    unlink(p);
    g_free(p);
    /* Generated arrivals: constant 1e-9 req/s puts request j at j × 1e9 s. */
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", "synthetic", "--arrival",
                                      "constant", "--rate", "1e-9", "--num-requests", "10", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats st;
    cr_expect_eq(wlt_drain(s, &st, &err), -1);
    cr_expect_eq(st.n, 5, "requests 0..4 at 0..4e9 s");
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "--rate: request 5 would arrive at 5e+09 s, past the limit of "
                                   "4e+09 s");
    g_clear_error(&err);
    /* Think times are seconds too. */
    wl_source *t = wlt_open(0, 0, &err, "--workload", "synthetic", "--clients", "2", "--think-time",
                            "fixed:1e300", NULL);
    cr_expect_null(t);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "--think-time: bad distribution 'fixed:1e300': more than "
                                   "4e+09 s") != NULL,
              "%s", err->message);
    g_clear_error(&err);
}
