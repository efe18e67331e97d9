/* tests/workloads/test_infperf.c: inference-perf workload specs: shared_prefix single-turn
 * (N·M prompts in shuffled order, request i uses prompt i mod N·M) and multi-turn (user
 * i mod N·M, round ⌊i / N·M⌋, prompts carrying the whole conversation), stage rates, the
 * concurrent load, random data, errors; also servesim's own {"workload": ...} spec files. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "wlt.h"
#include "workloads/workload.h"

TestSuite(infperf, .timeout = 60);

static wl_source *
open_spec(const char *json, uint64_t seed, char **path)
{
    *path = wlt_tmp(".json", json, false);
    GError *err = NULL;
    wl_source *s = wlt_open(seed, 0, &err, "--workload", *path, NULL);
    cr_assert_not_null(s, "%s", err ? err->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->format, "inference-perf");
    return s;
}

static void
drop(char *path)
{
    unlink(path);
    g_free(path);
}

Test(infperf, shared_prefix_single_turn)
{
    char *path;
    g_autoptr(wl_source) s = open_spec(
        "{\"load\": {\"type\": \"constant\", \"stages\": [{\"rate\": 10, \"duration\": 6}]},\n"
        " \"data\": {\"type\": \"shared_prefix\", \"shared_prefix\": {\"num_groups\": 3,\n"
        "   \"num_prompts_per_group\": 4, \"system_prompt_len\": 100, \"question_len\": 20,\n"
        "   \"output_len\": 10}},\n"
        " \"api\": {\"type\": \"completion\"}, \"server\": {\"type\": \"vllm\"}}\n",
        1, &path);
    wl_request r;
    GError *err = NULL;
    uint64_t sys[60], q[60];
    for (int i = 0; i < 60; i++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        cr_expect_eq(r.arrival_ns, llround(i / 10.0 * 1e9), "constant: start + j/rate");
        cr_assert_eq(r.nsegments, 2);
        cr_expect_eq(r.segments[0].tokens, 100);
        cr_expect_eq(r.segments[1].tokens, 20);
        cr_expect_eq(r.prompt_tokens, 120);
        cr_expect_eq(r.output_tokens, 10);
        cr_expect_eq(r.session_id, 0);
        sys[i] = r.segments[0].content_id;
        q[i] = r.segments[1].content_id;
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0, "60 requests in 6 s at 10 req/s");
    /* The first 12 requests are the 12 prompts once each: 12 questions, 3 system prompts of
     * 4 questions each; then the same order again. */
    g_autoptr(GHashTable) qs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GHashTable) per_sys =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (int i = 0; i < 12; i++) {
        g_hash_table_add(qs, g_memdup2(&q[i], 8));
        int *c = g_hash_table_lookup(per_sys, &sys[i]);
        if (c == NULL) {
            c = g_new0(int, 1);
            g_hash_table_insert(per_sys, g_memdup2(&sys[i], 8), c);
        }
        (*c)++;
    }
    cr_expect_eq(g_hash_table_size(qs), 12);
    cr_expect_eq(g_hash_table_size(per_sys), 3);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, per_sys);
    while (g_hash_table_iter_next(&it, &k, &v))
        cr_expect_eq(*(int *)v, 4);
    for (int i = 12; i < 60; i++) {
        cr_expect_eq(q[i], q[i % 12]);
        cr_expect_eq(sys[i], sys[i % 12]);
    }
    /* Shuffled: the groups do not come in blocks of 4. */
    bool blocks = true;
    for (int i = 0; i < 12; i++)
        blocks = blocks && sys[i] == sys[i / 4 * 4];
    cr_expect(!blocks, "prompts are shuffled");
    drop(path);
}

Test(infperf, shared_prefix_multi_turn_rounds)
{
    /* Older key names; 2 groups × 2 users = 4 users; 12 requests = 3 rounds each. */
    char *path;
    g_autoptr(wl_source) s = open_spec(
        "{\"load\": {\"type\": \"constant\", \"stages\": [{\"rate\": 4, \"duration\": 3}]},\n"
        " \"data\": {\"type\": \"shared_prefix\", \"shared_prefix\": {\n"
        "   \"num_unique_system_prompts\": 2, \"num_users_per_system_prompt\": 2,\n"
        "   \"system_prompt_len\": 64, \"question_len\": 16,\n"
        "   \"output_distribution\": {\"min\": 5, \"max\": 50, \"mean\": 20, \"std_dev\": 10},\n"
        "   \"enable_multi_turn_chat\": true}}}\n",
        2, &path);
    cr_expect(wl_source_get_info(s)->sessions);
    wl_request r;
    GError *err = NULL;
    /* conversation so far of each user: segments + its answer */
    wl_segment conv[4][16];
    uint32_t nconv[4] = {0};
    uint64_t q0[4], sys0[4];
    for (uint64_t i = 0; i < 12; i++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        uint64_t u = i % 4, round = i / 4;
        cr_expect_eq(r.session_id, u + 1);
        cr_expect_eq(r.turn, round);
        cr_assert_eq(r.nsegments, 2 + 2 * round, "system + (Q A)^r + Q");
        cr_expect(r.output_tokens >= 5 && r.output_tokens <= 50);
        cr_expect_eq(r.segments[0].tokens, 64);
        for (uint32_t k = 0; k < nconv[u]; k++) {
            cr_expect_eq(r.segments[k].content_id, conv[u][k].content_id, "i %lu seg %u",
                         (unsigned long)i, k);
            cr_expect_eq(r.segments[k].tokens, conv[u][k].tokens);
        }
        cr_expect_eq(r.segments[r.nsegments - 1].tokens, 16);
        if (round == 0) {
            sys0[u] = r.segments[0].content_id;
            q0[u] = r.segments[1].content_id;
        }
        memcpy(conv[u], r.segments, r.nsegments * sizeof(wl_segment));
        nconv[u] = r.nsegments;
        conv[u][nconv[u]++] = (wl_segment){r.output_content_id, r.output_tokens};
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
    /* Users 0..3: four distinct first questions, two system prompts shared by two users. */
    int same_sys = 0;
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++) {
            cr_expect_neq(q0[a], q0[b]);
            same_sys += sys0[a] == sys0[b];
        }
    cr_expect_eq(same_sys, 2);
    drop(path);
}

Test(infperf, poisson_stage_rates)
{
    /* Stages 5 req/s × 100 s, 20 req/s × 50 s: Poisson counts 500 ± 22 and 1000 ± 32. */
    char *path;
    g_autoptr(wl_source) s = open_spec(
        "{\"load\": {\"type\": \"poisson\", \"stages\": [{\"rate\": 5, \"duration\": 100},\n"
        "   {\"rate\": 20, \"duration\": 50}]},\n"
        " \"data\": {\"type\": \"random\", \"input_distribution\": {\"min\": 10, \"max\": 100,\n"
        "   \"mean\": 50, \"std_dev\": 20}, \"output_distribution\": {\"min\": 1, \"max\": 30,\n"
        "   \"mean\": 10, \"std_dev\": 5}}}\n",
        3, &path);
    const wl_source_info *info = wl_source_get_info(s);
    cr_assert_eq(info->nstages, 2);
    cr_expect_eq(info->stages[0].rate, 5);
    cr_expect_eq(info->stages[1].start_ns, 100000000000);
    uint64_t count[2] = {0, 0};
    wl_request r;
    GError *err = NULL;
    while (wl_source_next(s, &r, &err) == 1) {
        count[r.stage]++;
        cr_expect(r.prompt_tokens >= 10 && r.prompt_tokens <= 100);
        cr_expect(r.output_tokens >= 1 && r.output_tokens <= 30);
        cr_expect_gt(r.arrival_ns, 0, "poisson: the first request one gap after the start");
    }
    cr_expect(fabs((double)count[0] - 500) < 110, "%lu", (unsigned long)count[0]);
    cr_expect(fabs((double)count[1] - 1000) < 160, "%lu", (unsigned long)count[1]);
    drop(path);
}

Test(infperf, random_total_count_cycles_prompts)
{
    char *path;
    g_autoptr(wl_source) s = open_spec(
        "{\"load\": {\"stages\": [{\"rate\": 10, \"duration\": 3}]},\n"
        " \"data\": {\"type\": \"synthetic\", \"input_distribution\": {\"min\": 10, \"max\": 100,\n"
        "   \"mean\": 50, \"std_dev\": 20, \"total_count\": 7}, \"output_distribution\": {\n"
        "   \"min\": 1, \"max\": 30, \"mean\": 10, \"std_dev\": 5}}}\n",
        4, &path);
    uint64_t ids[30];
    uint32_t len[30];
    wl_request r;
    GError *err = NULL;
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        ids[i] = r.segments[0].content_id;
        len[i] = r.prompt_tokens;
        if (i >= 7) {
            cr_expect_eq(ids[i], ids[i - 7]);
            cr_expect_eq(len[i], len[i - 7]);
        }
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
    drop(path);
}

Test(infperf, concurrent_load_stages)
{
    char *path;
    g_autoptr(wl_source) s = open_spec(
        "{\"load\": {\"type\": \"concurrent\", \"stages\": [{\"concurrency_level\": 4,\n"
        "   \"num_requests\": 10}, {\"concurrency_level\": 8, \"num_requests\": 5}]},\n"
        " \"data\": {\"type\": \"shared_prefix\", \"shared_prefix\": {\"num_groups\": 1,\n"
        "   \"num_prompts_per_group\": 3, \"system_prompt_len\": 10, \"question_len\": 5,\n"
        "   \"output_len\": 5}}}\n",
        5, &path);
    const wl_source_info *info = wl_source_get_info(s);
    cr_expect_eq(info->max_concurrency, 8);
    cr_assert_eq(info->nstages, 2);
    cr_expect_eq(info->stages[0].concurrency, 4);
    cr_expect_eq(info->stages[1].num_requests, 5);
    wl_request r;
    GError *err = NULL;
    for (int i = 0; i < 15; i++) {
        cr_assert_eq(wl_source_next(s, &r, &err), 1);
        cr_expect_eq(r.arrival_ns, 0);
        cr_expect_eq(r.stage, i < 10 ? 0u : 1u);
    }
    cr_expect_eq(wl_source_next(s, &r, &err), 0);
    drop(path);
}

Test(infperf, inline_spec_and_servesim_spec_file)
{
    /* workload.spec inline (JSON flag value) */
    GError *err = NULL;
    const base_opt_set set = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    cr_assert(
        base_opts_set_string(&set, &o, "workload.spec",
                             "{\"load\": {\"stages\": [{\"rate\": 2, \"duration\": 2}]}, "
                             "\"data\": {\"type\": \"random\", \"input_distribution\": "
                             "{\"min\": 5, \"max\": 5, \"mean\": 5}, \"output_distribution\": "
                             "{\"min\": 3, \"max\": 3, \"mean\": 3}}}",
                             &err));
    wl_open_params p = {0, 0};
    g_autoptr(wl_source) t = wl_open(&o, &p, &err);
    base_opts_clear(&set, &o);
    cr_assert_not_null(t, "%s", err ? err->message : "");
    wlt_stats st;
    cr_assert_eq(wlt_drain(t, &st, &err), 0);
    cr_expect_eq(st.n, 4);
    cr_expect_eq(st.prompt, 20);
    /* {"workload": {...}}: the workload section of an experiment file, source relative to it */
    g_autofree char *dir = g_dir_make_tmp("servesim-wl-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "t.csv", NULL);
    g_autofree char *spec = g_build_filename(dir, "w.json", NULL);
    cr_assert(
        g_file_set_contents(trace, "num_prefill_tokens,num_decode_tokens\n5,6\n7,8\n", -1, NULL));
    cr_assert(g_file_set_contents(
        spec, "{\"workload\": {\"source\": \"t.csv\", \"arrival\": \"constant\", \"rate\": 4}}", -1,
        NULL));
    g_autoptr(wl_source) u = wlt_open(0, 0, &err, "--workload", spec, NULL);
    cr_assert_not_null(u, "%s", err ? err->message : "");
    cr_assert_eq(wlt_drain(u, &st, &err), 0);
    cr_expect_eq(st.n, 2);
    cr_expect_eq(st.last_ns, 250000000);
    unlink(trace);
    unlink(spec);
    rmdir(dir);
}

Test(infperf, bad_specs_are_clear_errors)
{
    const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"load\": {\"stages\": [{\"rate\": 1, \"duration\": 1}]}, \"data\": {\"type\": "
         "\"shareGPT\"}}",
         "data.type: unknown or unsupported type 'shareGPT'"},
        {"{\"load\": {\"type\": \"burst\", \"stages\": [{\"rate\": 1, \"duration\": 1}]}, "
         "\"data\": {\"type\": \"random\", \"input_distribution\": {\"mean\": 5}, "
         "\"output_distribution\": {\"mean\": 5}}}",
         "load.type: unknown type 'burst'"},
        {"{\"load\": {\"stages\": []}, \"data\": {\"type\": \"random\", \"input_distribution\": "
         "{\"mean\": 5}, \"output_distribution\": {\"mean\": 5}}}",
         "load.stages: expected a non-empty list"},
        {"{\"load\": {\"stages\": [{\"rate\": 1, \"duration\": 1}]}, \"data\": {\"type\": "
         "\"shared_prefix\", \"shared_prefix\": {\"num_groups\": 2}}}",
         "num_prompts_per_group: missing"},
        {"{\"load\": {\"stages\": [{\"rate\": 1, \"duration\": 1}]}, \"data\": {\"type\": "
         "\"random\", \"input_distribution\": {\"min\": 10, \"max\": 5, \"mean\": 7}, "
         "\"output_distribution\": {\"mean\": 5}}}",
         "input_distribution: need 1 <= min <= mean <= max"},
        {"{\"data\": {\"type\": \"random\"}}", "missing"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *p = wlt_tmp(".json", cases[i].json, false);
        GError *err = NULL;
        wl_source *s = wlt_open(0, 0, &err, "--workload", p, NULL);
        cr_expect_null(s, "case %zu", i);
        cr_assert_not_null(err, "case %zu", i);
        cr_expect(strstr(err->message, cases[i].needle) != NULL, "case %zu: %s", i, err->message);
        cr_expect(strstr(err->message, p) != NULL, "names the file: %s", err->message);
        g_clear_error(&err);
        wl_source_free(s);
        unlink(p);
    }
}

/* Stage rates and durations have the ranges of the --rate and --duration flags (one source of
 * truth, workloads/options.h), in specs and in --stages alike: "rate": 1e30 used to put every
 * request at t = 0 forever (runaway memory), "duration": 1e30 never ended. */
Test(infperf, stage_rates_and_durations_have_the_flag_ranges)
{
    const char *data = "\"data\": {\"type\": \"random\", \"input_distribution\": {\"mean\": 5}, "
                       "\"output_distribution\": {\"mean\": 5}}";

    const struct {
        const char *stages, *needle;
    } cases[] = {
        {"[{\"rate\": 1e30, \"duration\": 10}]", "load.stages: stage 0: rate 1e+30 req/s is out "
                                                 "of range (0, or 1e-09 to 1e+09 like --rate)"},
        {"[{\"rate\": 1, \"duration\": 10}, {\"rate\": 1e-12, \"duration\": 10}]",
         "stage 1: rate 1e-12 req/s is out of range"},
        {"[{\"rate\": 1, \"duration\": 1e30}]",
         "stage 0: duration 1e+30 s is out of range (more than 0, at most 4e+09 s like "
         "--duration)"},
        {"[{\"rate\": 1, \"duration\": 3e9}, {\"rate\": 1, \"duration\": 3e9}]",
         "stage 1: ends at 6e+09 s, past the limit of 4e+09 s"},
        {"[{\"rate\": 1e9, \"duration\": 1e3}, {\"rate\": 1e9, \"duration\": 1e4}]",
         "stage 1: the stages ask for 1.1e+13 requests, more than 1e+12 (the --num-requests "
         "limit)"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *json = g_strdup_printf(
            "{\"load\": {\"type\": \"constant\", \"stages\": %s}, %s}", cases[i].stages, data);
        g_autofree char *p = wlt_tmp(".json", json, false);
        GError *err = NULL;
        wl_source *s = wlt_open(0, 0, &err, "--workload", p, NULL);
        cr_expect_null(s, "case %zu", i);
        cr_assert_not_null(err, "case %zu", i);
        cr_expect(strstr(err->message, cases[i].needle) != NULL, "case %zu: %s", i, err->message);
        cr_expect(g_str_has_prefix(err->message, p), "names the file: %s", err->message);
        g_clear_error(&err);
        wl_source_free(s);
        unlink(p);
    }
    /* --stages R:S on the command line goes through the same checks. */
    GError *err = NULL;
    wl_source *s = wlt_open(0, 0, &err, "--workload", "synthetic", "--stages", "1e30:10", NULL);
    cr_expect_null(s);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "--stages: stage 0: rate 1e+30 req/s is out of range") != NULL,
              "%s", err->message);
    g_clear_error(&err);
    wl_source_free(s);
    /* The edges are accepted: a pause (rate 0) and the largest rate and duration. */
    s = wlt_open(0, 0, &err, "--workload", "synthetic", "--stages", "0:1,1e-9:3.9e9", NULL);
    cr_expect_not_null(s, "%s", err ? err->message : "");
    g_clear_error(&err);
    wl_source_free(s);
}
