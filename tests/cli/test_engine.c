/* tests/cli/test_engine.c: the engine profiles, data / pipeline / expert parallelism and their
 * outputs end to end through the binary: settings vLLM refuses are one-line usage errors that
 * leave no output behind; `presets` lists the profiles; summary.json, requests.csv and
 * steps.jsonl say which engine core served what, which steps were lockstep dummies, and when
 * each pipeline stage ran. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "base/io.h"
#include "tests/cli/clirun.h"

TestSuite(engine_cli, .timeout = 120);

static char *
tmp_dir(void)
{
    return g_dir_make_tmp("servesim-engine-XXXXXX", NULL);
}

static void
remove_dir(const char *d)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d);
    (void)!system(cmd);
}

/* Runs `servesim run ARGS... --output-dir DIR --quiet` and expects exit 2 with one stderr line
 * containing NEEDLE, and no summary.json in DIR. */
static void
expect_usage_error(const char *needle, const char *const *args)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    const char *argv[32] = {"run"};
    size_t n = 1;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n++] = "--output-dir";
    argv[n++] = out;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    clirun r = clirun_execv(argv);
    cr_expect_eq(r.code, 2, "%s: exit %d, stderr %s", needle, r.code, r.err);
    cr_expect(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
    const char *nl = strchr(r.err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: '%s'", r.err);
    g_autofree char *summary = g_build_filename(out, "summary.json", NULL);
    cr_expect(!g_file_test(summary, G_FILE_TEST_EXISTS), "no output after %s", needle);
    clirun_clear(&r);
    remove_dir(dir);
}

Test(engine_cli, settings_vllm_refuses_are_one_line_usage_errors)
{
    const char *const unknown[] = {"--engine", "vllm-0.9", NULL};
    expect_usage_error("--engine", unknown);
    const char *const ep_dense[] = {"--enable-expert-parallel", NULL};
    expect_usage_error("--enable-expert-parallel: llama-3.1-8b has no experts", ep_dense);
    const char *const pp_layers[] = {"--pipeline-parallel-size", "33", NULL};
    expect_usage_error("--pipeline-parallel-size 33 exceeds num_hidden_layers 32", pp_layers);
    const char *const lock_dense[] = {"--data-parallel-size", "2", "--dp-lockstep", "on", NULL};
    expect_usage_error("--dp-lockstep on: llama-3.1-8b is not a MoE model", lock_dense);
    const char *const unlock_moe[] = {
        "--model", "qwen3-30b-a3b", "--data-parallel-size", "2", "--dp-lockstep", "off", NULL};
    expect_usage_error("--dp-lockstep off: qwen3-30b-a3b is a MoE model", unlock_moe);
}

Test(engine_cli, presets_lists_the_engine_profiles)
{
    clirun r = clirun_exec("presets", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "engines (--engine; default vllm-0.15):") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "  vllm-0.11 ") != NULL);
    cr_expect(strstr(r.out, "  vllm-0.15 ") != NULL);
    clirun_clear(&r);
}

static json_t *
load_json(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    cr_assert_not_null(j, "%s: %s", p, je.text);
    return j;
}

/* Runs 40 synthetic requests (512 → 32 tokens) with EXTRA flags into a new directory
 * (returned): Poisson at 20 req/s, or all at once when BURST. */
static char *
run_requests(bool burst, const char *const *extra)
{
    char *dir = tmp_dir();
    const char *argv[40] = {"run",      "--workload",  "synthetic",    "--num-requests",
                            "40",       "--input-len", "fixed:512",    "--output-len",
                            "fixed:32", "--steps",     "--output-dir", dir,
                            "--quiet"};
    size_t n = 13;
    if (!burst) {
        argv[n++] = "--rate";
        argv[n++] = "20";
    }
    for (size_t i = 0; extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    clirun r = clirun_execv(argv);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    return dir;
}

static char *
run_small(const char *const *extra)
{
    return run_requests(false, extra);
}

Test(engine_cli, summary_names_the_engine_profile_and_its_loop)
{
    static const struct {
        const char *flags[5];
        const char *profile;
        bool async;
        int inflight;
    } cases[] = {
        {{NULL}, "vllm-0.15", true, 2},
        {{"--engine", "vllm-0.11", NULL}, "vllm-0.11", false, 1},
        /* pipeline parallelism: one step per stage in flight, no output placeholders */
        {{"--pipeline-parallel-size", "2", NULL}, "vllm-0.15", false, 2},
    };

    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        g_autofree char *dir = run_small(cases[k].flags);
        json_t *s = load_json(dir, "summary.json");
        json_t *eng =
            json_object_get(json_object_get(json_object_get(s, "config"), "resolved"), "engine");
        cr_assert_not_null(eng, "config.resolved.engine");
        cr_expect_str_eq(json_string_value(json_object_get(eng, "profile")), cases[k].profile);
        cr_expect_eq(json_is_true(json_object_get(eng, "async_scheduling")), cases[k].async,
                     "case %zu", k);
        cr_expect_eq(json_integer_value(json_object_get(eng, "steps_in_flight")), cases[k].inflight,
                     "case %zu", k);
        json_t *api = json_object_get(eng, "api_server");
        cr_expect_eq(json_number_value(json_object_get(api, "ingress_latency_ms")), 15.6);
        cr_expect_eq(json_number_value(json_object_get(api, "per_output_token_us")), 46.0);
        json_decref(s);
        remove_dir(dir);
    }
}

/* Splits a CSV header line and returns the index of NAME (-1 if absent). */
static int
csv_col(const char *header, const char *name)
{
    g_auto(GStrv) cols = g_strsplit(header, ",", -1);
    for (int i = 0; cols[i] != NULL; i++)
        if (strcmp(g_strstrip(cols[i]), name) == 0)
            return i;
    return -1;
}

Test(engine_cli, dp_ranks_show_in_requests_steps_and_summary)
{
    /* a dense model: independent ranks, no dummy steps; a MoE model: lockstep, whose wave ends
     * with dummy batches after the last request (the stop check runs every 32 steps) */
    static const struct {
        const char *flags[7];
        bool dummies;
    } cases[] = {
        {{"--data-parallel-size", "2", NULL}, false},
        {{"--model", "qwen3-30b-a3b", "--data-parallel-size", "2", "--enable-expert-parallel",
          NULL},
         true},
    };

    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        g_autofree char *dir = run_small(cases[k].flags);
        g_autofree char *csvp = g_build_filename(dir, "requests.csv", NULL);
        g_autofree char *csv = NULL;
        cr_assert(g_file_get_contents(csvp, &csv, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
        int col = csv_col(lines[0], "dp_rank");
        cr_assert_geq(col, 0, "requests.csv has a dp_rank column");
        int seen[2] = {0, 0};
        for (int i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++) {
            g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
            int rank = atoi(f[col]);
            cr_assert(rank == 0 || rank == 1, "rank %d", rank);
            seen[rank]++;
        }
        cr_expect_eq(seen[0] + seen[1], 40);
        cr_expect(seen[0] > 0 && seen[1] > 0, "the load balancer uses both ranks");
        json_t *s = load_json(dir, "summary.json");
        json_t *reps = json_object_get(json_object_get(s, "metrics"), "replicas");
        cr_assert_eq(json_array_size(reps), 2);
        json_int_t dummies = 0, served = 0;
        for (size_t i = 0; i < 2; i++) {
            json_t *x = json_array_get(reps, i);
            cr_expect_eq(json_integer_value(json_object_get(x, "replica")), 0);
            cr_expect_eq(json_integer_value(json_object_get(x, "dp_rank")), (json_int_t)i);
            dummies += json_integer_value(json_object_get(x, "dummy_steps"));
            served += json_integer_value(json_object_get(x, "requests"));
        }
        cr_expect_eq(served, 40);
        cr_expect_eq(dummies > 0, cases[k].dummies, "case %zu: %lld dummy steps", k,
                     (long long)dummies);
        json_decref(s);
        /* the step log marks dummy steps and names the rank */
        g_autofree char *stp = g_build_filename(dir, "steps.jsonl.gz", NULL);
        GError *err = NULL;
        g_autoptr(base_lines) rd = base_lines_open(stp, &err);
        cr_assert_not_null(rd, "%s", err ? err->message : "");
        char *l;
        size_t n;
        json_int_t logged_dummies = 0, ranks = 0;
        while (base_lines_next(rd, &l, &n, &err)) {
            json_auto_t *j = json_loadb(l, n, 0, NULL);
            cr_assert_not_null(j);
            ranks |= 1 << json_integer_value(json_object_get(j, "dp_rank"));
            logged_dummies += json_is_true(json_object_get(j, "dummy"));
        }
        cr_expect_eq(ranks, 3, "both ranks step");
        cr_expect_eq(logged_dummies, dummies);
        remove_dir(dir);
    }
}

Test(engine_cli, pipeline_stages_show_in_the_step_log)
{
    /* All 40 at once: the first step takes what the token budget allows, the second (launched
     * while the first is in stage 0) the rest, so the two stages work on different steps. */
    const char *const flags[] = {"--model",
                                 "llama-3.1-70b",
                                 "--tensor-parallel-size",
                                 "2",
                                 "--pipeline-parallel-size",
                                 "2",
                                 "--max-num-batched-tokens",
                                 "4096",
                                 NULL};
    g_autofree char *dir = run_requests(true, flags);
    g_autofree char *stp = g_build_filename(dir, "steps.jsonl.gz", NULL);
    GError *err = NULL;
    g_autoptr(base_lines) rd = base_lines_open(stp, &err);
    cr_assert_not_null(rd, "%s", err ? err->message : "");
    char *l;
    size_t n;
    int lines = 0, overlapped = 0;
    json_int_t prev_end = -1;
    while (base_lines_next(rd, &l, &n, &err)) {
        json_auto_t *j = json_loadb(l, n, 0, NULL);
        cr_assert_not_null(j);
        json_t *st = json_object_get(j, "stages");
        cr_assert_eq(json_array_size(st), 2, "line %d", lines + 1);
        json_int_t s0 = json_integer_value(json_object_get(json_array_get(st, 0), "start_ns"));
        json_int_t e0 = json_integer_value(json_object_get(json_array_get(st, 0), "end_ns"));
        json_int_t s1 = json_integer_value(json_object_get(json_array_get(st, 1), "start_ns"));
        json_int_t e1 = json_integer_value(json_object_get(json_array_get(st, 1), "end_ns"));
        cr_expect(s0 < e0 && e0 <= s1 && s1 < e1, "stage 1 follows stage 0");
        cr_expect_eq(json_integer_value(json_object_get(j, "start_ns")), s0);
        cr_expect_eq(json_integer_value(json_object_get(j, "end_ns")), e1);
        /* a step may start before the previous one ended: two in flight */
        overlapped += prev_end >= 0 && s0 < prev_end;
        prev_end = e1;
        lines++;
    }
    cr_expect_gt(lines, 32);
    cr_expect_gt(overlapped, 0, "steps overlap across the two stages");
    remove_dir(dir);
}

Test(engine_cli, bench_run_has_a_dp_ep_row)
{
    clirun r = clirun_exec("bench", "run", "--sizes", "2000", "--dp-ep-size", "500", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Llama-3.1-8B / H100 SXM x 4") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "DeepSeek-V3 fp8 / 8 x H200, data parallel 8 + expert parallel") !=
                  NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "       500 ") != NULL, "the DP + EP row simulated 500 requests");
    clirun_clear(&r);
}
