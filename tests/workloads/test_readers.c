/* tests/workloads/test_readers.c: every reader against the real files in data/ (the
 * repository's copies, see each folder's SOURCE.md) and the samples. Expected figures were
 * computed independently with Python's csv/json modules while writing these tests, e.g. for
 * Azure:
 *   r = list(csv.DictReader(open(f))); len(r); sum(int(x['ContextTokens']) for x in r)
 *   and the last TIMESTAMP minus the first, in integer nanoseconds (7 fractional digits · 100).
 * (The Azure code file holds 8,819 data rows: its last line has no newline, which is why
 * `wc -l` prints one less.) The Azure conversation trace is covered by its first 10 minutes,
 * the embedded default; data/ does not carry the whole file. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "wlt.h"
#include "workloads/workload.h"

TestSuite(readers, .timeout = 60);

static void
expect_file(const char *path,
            const char *format,
            uint64_t n,
            int64_t first_ns,
            int64_t last_ns,
            uint64_t prompt,
            uint64_t output)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", path, NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->format, format);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0, "%s", err ? err->message : "");
    cr_expect_eq(st.n, n, "%s: %lu requests", path, (unsigned long)st.n);
    cr_expect_eq(st.first_ns, first_ns, "%s: first %ld", path, (long)st.first_ns);
    cr_expect_eq(st.last_ns, last_ns, "%s: last %ld", path, (long)st.last_ns);
    cr_expect_eq(st.prompt, prompt, "%s: prompt %lu", path, (unsigned long)st.prompt);
    cr_expect_eq(st.output, output, "%s: output %lu", path, (unsigned long)st.output);
    cr_expect(st.sorted && st.consistent, "%s", path);
    wl_counters c = wl_source_get_counters(s);
    cr_expect_eq(c.emitted, n);
    cr_expect_eq(c.skipped_bad, 0);
}

Test(readers, azure_code_full_trace)
{
    expect_file(WLT_DATA "/azure-llm-2023/AzureLLMInferenceTrace_code.csv", "azure", 8819, 0,
                3435948056000, 18059974, 245896);
}

Test(readers, embedded_default_is_first_ten_minutes_of_azure_conv)
{
    /* 2,867 rows as SOURCE.md says; last arrival 18:25:46.6519260 - 18:15:46.6805900. */
    expect_file("azure-conv-10min", "azure", 2867, 0, 599971336000, 3287402, 746194);
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, NULL); /* no --workload: the default */
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->name, WL_DEFAULT_WORKLOAD);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 2867);
    cr_expect_eq(st.segments, 2867, "no content information: one segment each");
}

Test(readers, embedded_names_are_listed)
{
    g_auto(GStrv) names = wl_embedded_names();
    cr_assert_not_null(names);
    cr_expect(g_strv_contains((const char *const *)names, "azure-conv-10min"));
    cr_expect(g_strv_contains((const char *const *)names, "burstgpt-sample"));
}

/* The first 1,000 rows of the conversation trace. Recomputed with Python's json module when
 * data/ was trimmed from 4,000 rows: len(rows); rows[-1]['timestamp'] (ms); the sums of
 * input_length and output_length; Σ len(hash_ids) = 27,305 (below). */
Test(readers, mooncake_conversation)
{
    expect_file(WLT_DATA "/mooncake-fast25/conversation_trace.first1000.jsonl", "mooncake", 1000, 0,
                330000000000, 13732944, 349357);
}

Test(readers, mooncake_synthetic)
{
    expect_file(WLT_DATA "/mooncake-fast25/synthetic_trace.first1000.jsonl", "mooncake", 1000, 0,
                272653000000, 11851558, 196039);
}

Test(readers, mooncake_hash_ids_become_512_token_segments)
{
    /* Σ len(hash_ids) = 27,305 over the 1,000 rows; every id covers 512 tokens except the
     * last (input_length - 512·(n-1)). Rows 1 and 2 share hash id 0 only. */
    GError *err = NULL;
    g_autoptr(wl_source) s =
        wlt_open(0, 0, &err, "--workload",
                 WLT_DATA "/mooncake-fast25/conversation_trace.first1000.jsonl", NULL);
    cr_assert_not_null(s);
    wl_request r;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.nsegments, 14);
    cr_expect_eq(r.segments[0].tokens, 512);
    cr_expect_eq(r.segments[13].tokens, 6758 - 13 * 512);
    uint64_t id0 = r.segments[0].content_id, id1 = r.segments[1].content_id;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.segments[0].content_id, id0, "hash id 0 again");
    cr_expect_neq(r.segments[1].content_id, id1, "hash id 14 vs 1");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.segments + 14 + 15, 27305);
}

Test(readers, sharegpt_length_table_with_synthetic_arrivals)
{
    GError *err = NULL;
    const char *f = WLT_DATA
        "/sharegpt-lengths-sarathi/sharegpt_8k_filtered_stats_llama2_tokenizer.first5000.csv";
    g_autoptr(wl_source) s = wlt_open(1, 0, &err, "--workload", f, "--rate", "10", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->format, "sharegpt");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 5000);
    cr_expect_eq(st.prompt, 11675064);
    cr_expect_eq(st.output, 2240666);
    cr_expect_eq(st.first_ns, 0, "vLLM bench: the first request at 0");
    /* 4,999 Poisson gaps of mean 0.1 s: 499.9 s ± 7.1 s (1σ). */
    cr_expect(fabs((double)st.last_ns * 1e-9 - 499.9) < 35, "span %g", (double)st.last_ns * 1e-9);
}

Test(readers, vidur_length_table_without_rate_sends_everything_at_zero)
{
    expect_file(WLT_DATA "/vidur-processed-traces/"
                         "arxiv_summarization_stats_llama2_tokenizer_filtered_v2.first3000.csv",
                "sharegpt", 3000, 0, 0, 7660993, 913775);
}

Test(readers, length_table_with_arrived_at_uses_its_times)
{
    g_autofree char *p = wlt_tmp(".csv",
                                 "arrived_at,num_prefill_tokens,num_decode_tokens\n"
                                 "0.5,10,2\n1.25,20,3\n",
                                 false);
    expect_file(p, "sharegpt", 2, 500000000, 1250000000, 30, 5);
    unlink(p);
}

Test(readers, per_request_jsonl_dev_run)
{
    expect_file(WLT_DATA "/llmservingsim-rtx4090-dev-run/sharegpt-llama-3.1-8b-300-sps10.jsonl",
                "jsonl", 300, 46926808, 29183763203, 257239, 195753);
}

Test(readers, jsonl_token_ids_give_16_token_segments_sharing_equal_prefixes)
{
    /* Σ ceil(input_toks / 16) over the dev-run file = 16,225 segments. */
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(
        0, 0, &err, "--workload",
        WLT_DATA "/llmservingsim-rtx4090-dev-run/sharegpt-llama-3.1-8b-300-sps10.jsonl", NULL);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.segments, 16225);
    /* Two prompts equal in their first 32 ids, different in the 33rd. */
    GString *a = g_string_new(NULL);
    for (int row = 0; row < 2; row++) {
        g_string_append_printf(a,
                               "{\"input_toks\": 40, \"output_toks\": 5, \"arrival_time_ns\": "
                               "%d, \"input_tok_ids\": [",
                               row);
        for (int i = 0; i < 40; i++)
            g_string_append_printf(a, "%s%d", i ? "," : "", i < 32 ? 1000 + i : row * 7 + i);
        g_string_append(a, "]}\n");
    }
    g_autofree char *p = wlt_tmp(".jsonl", a->str, false);
    g_string_free(a, TRUE);
    g_autoptr(wl_source) t = wlt_open(0, 0, &err, "--workload", p, NULL);
    cr_assert_not_null(t, "%s", err ? err->message : "");
    wl_request r;
    cr_assert_eq(wl_source_next(t, &r, &err), 1);
    cr_assert_eq(r.nsegments, 3);
    cr_expect_eq(r.segments[2].tokens, 8);
    wl_segment first[3];
    memcpy(first, r.segments, sizeof first);
    cr_assert_eq(wl_source_next(t, &r, &err), 1);
    cr_expect_eq(r.segments[0].content_id, first[0].content_id);
    cr_expect_eq(r.segments[1].content_id, first[1].content_id);
    cr_expect_neq(r.segments[2].content_id, first[2].content_id);
    unlink(p);
}

Test(readers, jsonl_without_arrival_times_uses_the_arrival_process)
{
    g_autofree char *p = wlt_tmp(".jsonl",
                                 "{\"input_toks\": 10, \"output_toks\": 2}\n"
                                 "{\"input_toks\": 11, \"output_toks\": 3}\n"
                                 "{\"input_toks\": 12, \"output_toks\": 4}\n",
                                 false);
    GError *err = NULL;
    g_autoptr(wl_source) s =
        wlt_open(0, 0, &err, "--workload", p, "--arrival", "constant", "--rate", "2", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect_eq(st.n, 3);
    cr_expect_eq(st.last_ns, 1000000000, "constant 2 req/s: 0, 0.5, 1.0 s");
    unlink(p);
}

Test(readers, burstgpt_sample_default_skips_failed_requests)
{
    /* 400 rows, 26 with Response tokens 0 (counted as filtered). */
    expect_file("burstgpt-sample", "burstgpt", 374, 2000000000, 2907000000000, 230764, 85944);
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", "burstgpt-sample", NULL);
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    wl_counters c = wl_source_get_counters(s);
    cr_expect_eq(c.rows, 400);
    cr_expect_eq(c.filtered, 26);
}

Test(readers, burstgpt_failed_as_prefill_and_filters)
{
    const char *f = WLT_SAMPLES "/burstgpt-sample.csv";

    struct {
        const char *flag, *value;
        uint64_t n, prompt, output;
        int64_t first_s, last_s;
    } cases[] = {
        {"--burstgpt-failed", "prefill", 400, 256231, 85970, 2, 2907},
        {"--burstgpt-model", "GPT-4", 89, 48506, 20573, 10, 2856},
        {"--burstgpt-log-type", "api", 154, 84334, 34781, 10, 2856},
        {"--burstgpt-log-type", "API log", 154, 84334, 34781, 10, 2856},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        g_autoptr(wl_source) s =
            wlt_open(0, 0, &err, "--workload", f, cases[i].flag, cases[i].value, NULL);
        cr_assert_not_null(s, "%s", err ? err->message : "");
        wlt_stats st;
        cr_assert_eq(wlt_drain(s, &st, &err), 0);
        cr_expect_eq(st.n, cases[i].n, "%s %s: %lu", cases[i].flag, cases[i].value,
                     (unsigned long)st.n);
        cr_expect_eq(st.prompt, cases[i].prompt, "%s", cases[i].value);
        cr_expect_eq(st.output, cases[i].output, "%s", cases[i].value);
        cr_expect_eq(st.first_ns, cases[i].first_s * 1000000000);
        cr_expect_eq(st.last_ns, cases[i].last_s * 1000000000);
    }
    GError *err = NULL;
    g_autoptr(wl_source) both = wlt_open(0, 0, &err, "--workload", f, "--burstgpt-model", "ChatGPT",
                                         "--burstgpt-log-type", "conversation", NULL);
    wlt_stats st;
    cr_assert_eq(wlt_drain(both, &st, &err), 0);
    cr_expect_eq(st.n, 169);
    cr_expect_eq(st.prompt, 114481);
}

Test(readers, servegen_r1_counts_and_window_lengths)
{
    /* Σ rate·600 over the windows = 4,926 expected requests (4,345 before 21,600 s); the
     * renewal-count std from the shapes is ~101. Length PMF means (Python, from the dataset
     * JSON): window 0 input 263.86 (sd 242.8), output 1398.5 (sd 1145.5); window 21,600 input
     * 272.76 (sd 250.0), output 1439.8 (sd 1555.4); windows 43,200 and 64,800 are empty and
     * fall back to 21,600. */
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(
        3, 0, &err, "--workload", WLT_DATA "/servegen/reason_deepseek-r1_chunk-0-trace.csv", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->format, "servegen");
    wl_request r;
    uint64_t n = 0, n1 = 0;
    double in1 = 0, out1 = 0, in2 = 0, out2 = 0;
    int64_t prev = 0;
    while (wl_source_next(s, &r, &err) == 1) {
        n++;
        cr_assert_geq(r.arrival_ns, prev);
        prev = r.arrival_ns;
        if (r.arrival_ns < 21600000000000) {
            n1++;
            in1 += r.prompt_tokens;
            out1 += r.output_tokens;
        } else {
            in2 += r.prompt_tokens;
            out2 += r.output_tokens;
        }
    }
    cr_assert_null(err);
    uint64_t n2 = n - n1;
    cr_expect(fabs((double)n - 4926) < 404, "n = %lu", (unsigned long)n);
    cr_expect(fabs((double)n1 - 4345) < 380, "n1 = %lu", (unsigned long)n1);
    cr_expect(fabs(in1 / (double)n1 - 263.86) < 5 * 242.8 / sqrt((double)n1), "in1 %g",
              in1 / (double)n1);
    cr_expect(fabs(out1 / (double)n1 - 1398.5) < 5 * 1145.5 / sqrt((double)n1));
    cr_expect(fabs(in2 / (double)n2 - 272.76) < 5 * 250.0 / sqrt((double)n2), "in2 %g",
              in2 / (double)n2);
    cr_expect(fabs(out2 / (double)n2 - 1439.8) < 5 * 1555.4 / sqrt((double)n2));
    cr_expect_geq(prev, 2400000000000, "windows before 2,400 s have rate 0");
}

Test(readers, servegen_language_first_day_with_duration)
{
    /* Σ rate·600 over the first 144 windows (one day) = 33,930 (std ~1,076). */
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(5, 0, &err, "--workload",
                                      WLT_DATA "/servegen/language_m-large_chunk-1-dataset.json",
                                      "--duration", "86400", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0);
    cr_expect(fabs((double)st.n - 33930) < 4500, "n = %lu", (unsigned long)st.n);
    cr_expect_lt(st.last_ns, 86400000000000);
}

static const char *const sharegpt_json =
    "[\n"
    "  {\"id\": \"a\", \"conversations\": [\n"
    "    {\"from\": \"human\", \"value\": \"12345678\"},\n"          /* 2 tokens */
    "    {\"from\": \"gpt\", \"value\": \"123456789012\"},\n"        /* 3 */
    "    {\"from\": \"human\", \"value\": \"1234\"},\n"              /* 1 */
    "    {\"from\": \"gpt\", \"value\": \"12345678901234567890\"}\n" /* 5 */
    "  ]},\n"
    "  {\"id\": \"b\", \"conversations\": [{\"from\": \"human\", \"value\": \"only a "
    "question\"}]},\n"
    "  {\"id\": \"c\", \"conversations\": [\n"
    "    {\"from\": \"system\", \"value\": \"sys\", \"tokens\": 7},\n"
    "    {\"from\": \"human\", \"value\": \"12345678\"},\n"
    "    {\"from\": \"gpt\", \"value\": \"x\\\"y}\"}\n" /* escaped quote and brace: 4 bytes -> 1 */
    "  ]}\n"
    "]\n";

Test(readers, sharegpt_json_full_mode)
{
    g_autofree char *p = wlt_tmp(".json", sharegpt_json, true); /* gzip on purpose */
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", p, NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->format, "sharegpt-json");
    wl_request r;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.prompt_tokens, 2 + 3 + 1);
    cr_expect_eq(r.output_tokens, 5);
    cr_expect_eq(r.nsegments, 3);
    uint64_t human = r.segments[0].content_id;
    cr_assert_eq(wl_source_next(s, &r, &err), 1, "%s", err ? err->message : "");
    cr_expect_eq(r.prompt_tokens, 7 + 2, "explicit tokens win over the estimate");
    cr_expect_eq(r.output_tokens, 1);
    cr_expect_eq(r.segments[1].content_id, human, "equal text, equal content");
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
    wl_counters c = wl_source_get_counters(s);
    cr_expect_eq(c.rows, 3);
    cr_expect_eq(c.filtered, 1, "conversation b has no reply");
    unlink(p);
}

Test(readers, sharegpt_json_per_user_turn_reuses_the_previous_answer)
{
    g_autofree char *p = wlt_tmp(".json", sharegpt_json, false);
    GError *err = NULL;
    g_autoptr(wl_source) s =
        wlt_open(0, 0, &err, "--workload", p, "--sharegpt-mode", "per_user_turn", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect(wl_source_get_info(s)->sessions);
    wl_request r;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.session_id, 1);
    cr_expect_eq(r.turn, 0);
    cr_expect_eq(r.prompt_tokens, 2);
    cr_expect_eq(r.output_tokens, 3);
    uint64_t answer = r.output_content_id;
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.session_id, 1);
    cr_expect_eq(r.turn, 1);
    cr_expect_eq(r.prompt_tokens, 2 + 3 + 1);
    cr_assert_eq(r.nsegments, 3);
    cr_expect_eq(r.segments[1].content_id, answer, "turn 1 carries turn 0's output");
    cr_expect_eq(r.segments[1].tokens, 3);
    cr_assert_eq(wl_source_next(s, &r, &err), 1);
    cr_expect_eq(r.session_id, 2);
    cr_expect_eq(r.turn, 0);
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
    unlink(p);
}

Test(readers, sharegpt_jsonl_form_and_bytes_per_token)
{
    g_autofree char *p = wlt_tmp(".jsonl",
                                 "{\"conversations\": [{\"from\": \"human\", \"value\": "
                                 "\"1234567890\"}, {\"from\": \"gpt\", \"value\": \"12345\"}]}\n"
                                 "{\"messages\": [{\"role\": \"user\", \"content\": \"12\"}, "
                                 "{\"role\": \"assistant\", \"content\": \"1234567\"}]}\n",
                                 false);
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_open(0, 0, &err, "--workload", p, "--bytes-per-token", "2", NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wlt_stats st;
    cr_assert_eq(wlt_drain(s, &st, &err), 0, "%s", err ? err->message : "");
    cr_expect_eq(st.n, 2);
    cr_expect_eq(st.prompt, 5 + 1);
    cr_expect_eq(st.output, 3 + 4);
    unlink(p);
}

Test(readers, gzip_and_plain_give_the_same_stream)
{
    g_autoptr(GBytes) b = NULL;
    g_autofree char *text = NULL;
    cr_assert(g_file_get_contents(WLT_SAMPLES "/burstgpt-sample.csv", &text, NULL, NULL));
    g_autofree char *gz = wlt_tmp(".dat", text, true);
    GError *err = NULL;
    wlt_stats a, c;
    g_autoptr(wl_source) s1 =
        wlt_open(0, 0, &err, "--workload", WLT_SAMPLES "/burstgpt-sample.csv", NULL);
    g_autoptr(wl_source) s2 = wlt_open(0, 0, &err, "--workload", gz, NULL);
    cr_assert_not_null(s2, "%s", err ? err->message : "");
    cr_assert_eq(wlt_drain(s1, &a, &err), 0);
    cr_assert_eq(wlt_drain(s2, &c, &err), 0);
    cr_expect_eq(a.n, c.n);
    cr_expect_eq(a.prompt, c.prompt);
    cr_expect_eq(a.last_ns, c.last_ns);
    unlink(gz);
}

Test(readers, detection_names_the_format)
{
    GError *err = NULL;
    cr_expect_str_eq(
        wl_detect_format(WLT_DATA "/azure-llm-2023/AzureLLMInferenceTrace_code.csv", &err),
        "azure");
    cr_expect_str_eq(wl_detect_format("burstgpt-sample", &err), "burstgpt");
    cr_expect_str_eq(
        wl_detect_format(WLT_DATA "/servegen/reason_deepseek-r1_chunk-0-trace.csv", &err),
        "servegen");
    cr_expect_str_eq(
        wl_detect_format(WLT_DATA "/mooncake-fast25/synthetic_trace.first1000.jsonl", &err),
        "mooncake");
}

/* WL_CONTENT_PRIVATE marks content no other prompt contains; every possibly shared id must
 * have it clear (the simulator keeps private blocks out of its prefix map). */
static void
private_bits(const char *const *argv, uint64_t *priv, uint64_t *shared, uint64_t *priv_out)
{
    GError *err = NULL;
    g_autoptr(wl_source) s = wlt_openv(0, 0, argv, &err);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    wl_request r;
    *priv = *shared = *priv_out = 0;
    while (wl_source_next(s, &r, &err) == 1) {
        for (uint32_t i = 0; i < r.nsegments; i++) {
            if (r.segments[i].content_id & WL_CONTENT_PRIVATE)
                (*priv)++;
            else
                (*shared)++;
        }
        *priv_out += (r.output_content_id & WL_CONTENT_PRIVATE) != 0;
    }
}

Test(readers, private_bit_marks_only_unshared_content)
{
    uint64_t p, s, o;
    const char *azure[] = {"--workload", "azure-conv-10min", NULL};
    private_bits(azure, &p, &s, &o);
    cr_expect(p == 2867 && s == 0 && o == 2867);
    const char *moon[] = {"--workload",
                          WLT_DATA "/mooncake-fast25/conversation_trace.first1000.jsonl", NULL};
    private_bits(moon, &p, &s, &o);
    /* Σ len(hash_ids) over the 1,000 rows (Python, as above) */
    cr_expect(p == 0 && s == 27305 && o == 1000, "hash-id blocks are shared content");
    const char *turns[] = {"--workload", "synthetic",      "--turns", "fixed:3", "--rate",
                           "1",          "--num-requests", "30",      NULL};
    private_bits(turns, &p, &s, &o);
    cr_expect(p == 0 && o == 0, "multi-turn questions and answers are quoted later");
    const char *prefix[] = {"--workload", "synthetic", "--prefix-len", "64", "--num-requests",
                            "10",         NULL};
    private_bits(prefix, &p, &s, &o);
    cr_expect(p == 10 && s == 10 && o == 10, "shared prefix clear, private tail set");
}
