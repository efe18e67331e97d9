/* tests/cli/test_run.c: `servesim run` end to end: the embedded default, outputs complete and
 * atomic, byte-identical determinism, the simulator against the roofline priced directly by
 * `servesim estimate` (an idle system must reproduce the estimate's TTFT and E2E), failures
 * for over-long requests, and one-line exit-2 errors for bad settings and bad input, with no
 * output left behind. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-run-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 300);

static char *
path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static char *
slurp(const char *p, size_t *len)
{
    char *s = NULL;
    g_file_get_contents(p, &s, len, NULL);
    return s;
}

static int
count_lines(const char *p)
{
    g_autofree char *s = slurp(p, NULL);
    int n = 0;
    for (const char *c = s; c != NULL && *c; c++)
        n += *c == '\n';
    return n;
}

/* No temporary or partial file in D. */
static void
expect_no_tmp(const char *d)
{
    GDir *gd = g_dir_open(d, 0, NULL);
    if (gd == NULL)
        return;
    const char *n;
    while ((n = g_dir_read_name(gd)) != NULL)
        cr_expect(strstr(n, ".tmp.") == NULL, "leftover temporary %s", n);
    g_dir_close(gd);
}

Test(run, embedded_default_simulates_and_writes_every_output)
{
    g_autofree char *out = path("default");
    clirun r = clirun_exec("run", "--output-dir", out, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Serving Benchmark Result") != NULL);
    cr_expect(strstr(r.out, "Successful requests:                     2867") != NULL, "%s", r.out);
    const char *files[] = {"summary.json", "requests.csv", "summary_lifecycle_metrics.json",
                           "vllm_bench_result.json"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *f = g_build_filename(out, files[i], NULL);
        cr_expect(g_file_test(f, G_FILE_TEST_EXISTS), "missing %s", files[i]);
    }
    g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
    cr_expect_eq(count_lines(csv), 2867 + 1);
    g_autofree char *sum = g_build_filename(out, "summary.json", NULL);
    json_error_t je;
    json_t *j = json_load_file(sum, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_expect_not_null(json_object_get(j, "config"));
    cr_expect_not_null(json_object_get(j, "metrics"));
    json_decref(j);
    expect_no_tmp(out);
    clirun_clear(&r);
}

static char *
write_jsonl(const char *name, const int (*rows)[3], size_t n)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(g,
                               "{\"input_toks\": %d, \"output_toks\": %d, \"arrival_time_ns\": "
                               "%lld}\n",
                               rows[i][0], rows[i][1], (long long)rows[i][2] * 1000000);
    char *p = path(name);
    g_file_set_contents(p, g->str, (gssize)g->len, NULL);
    g_string_free(g, TRUE);
    return p;
}

static double
json_num(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(json_object_get(o, a), b);
    cr_assert_not_null(x, "%s.%s", a, b);
    return json_number_value(x);
}

Test(run, idle_system_reproduces_the_roofline_estimate)
{
    /* Three requests of 1000 + 11 tokens, 10 s apart: each finds the replica idle, so its TTFT
     * is one 1000-token prefill step and its E2E adds 10 decode steps at contexts 1000..1009 —
     * exactly what `estimate` prices for batch 1, computed there without the simulator. */
    const int rows[][3] = {{1000, 11, 0}, {1000, 11, 10000}, {1000, 11, 20000}};
    g_autofree char *trace = write_jsonl("idle.jsonl", rows, 3);
    g_autofree char *out = path("idle");
    clirun e = clirun_exec("estimate", "--batch", "1", "--input-len", "1000", "--output-len", "11",
                           "--json", NULL);
    cr_assert_eq(e.code, 0, "%s", e.err);
    json_error_t je;
    json_t *est = json_loads(e.out, 0, &je);
    cr_assert_not_null(est, "%s", je.text);
    double ttft = json_num(est, "summary", "ttft_ms"), e2e = json_num(est, "summary", "e2e_ms");
    /* Without the API server (the engine alone), and with the default profile's: a request
     * reaches the engine 15.6 ms after its send (BLIS α0) and each token reaches the client
     * 46 µs after its step (BLIS α2; the loop is idle, so nothing queues). Async scheduling
     * changes nothing here: an idle engine schedules the first decode while the prefill runs. */
    const char *const api[2][5] = {
        {"--api-ingress-latency-ms", "0", "--api-per-output-token-us", "0", NULL},
        {"--engine", "vllm-0.15", NULL, NULL, NULL}};
    const double extra_ms[2] = {0.0, 15.6 + 0.046};
    for (int k = 0; k < 2; k++) {
        clirun r = clirun_exec("run", "--workload", trace, "--output-dir", out, "--quiet",
                               api[k][0], api[k][1], api[k][2], api[k][3], NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        g_autofree char *vr = g_build_filename(out, "vllm_bench_result.json", NULL);
        json_t *v = json_load_file(vr, 0, &je);
        cr_assert_not_null(v, "%s", je.text);
        double sim_ttft = json_number_value(json_object_get(v, "mean_ttft_ms"));
        double sim_e2e = json_number_value(json_object_get(v, "mean_e2el_ms"));
        /* step times are rounded to whole ns once per step: 11 steps ⇒ ≤ 11 ns = 1.1e-5 ms */
        cr_expect(fabs(sim_ttft - ttft - extra_ms[k]) < 2e-5,
                  "case %d: simulated TTFT %.7f ms, estimate %.7f ms + %.3f", k, sim_ttft, ttft,
                  extra_ms[k]);
        cr_expect(fabs(sim_e2e - e2e - extra_ms[k]) < 2e-5,
                  "case %d: simulated E2E %.7f ms, estimate %.7f ms + %.3f", k, sim_e2e, e2e,
                  extra_ms[k]);
        cr_expect_eq(json_integer_value(json_object_get(v, "completed")), 3);
        json_decref(v);
        clirun_clear(&r);
    }
    json_decref(est);
    clirun_clear(&e);
}

static void
expect_same_file(const char *a, const char *b, const char *name)
{
    g_autofree char *pa = g_build_filename(a, name, NULL);
    g_autofree char *pb = g_build_filename(b, name, NULL);
    size_t la = 0, lb = 0;
    g_autofree char *x = slurp(pa, &la);
    g_autofree char *y = slurp(pb, &lb);
    cr_assert_not_null(x, "%s", pa);
    cr_assert_not_null(y, "%s", pb);
    cr_expect(la == lb && memcmp(x, y, la) == 0, "%s differs between identical runs", name);
}

Test(run, same_inputs_and_seed_give_byte_identical_outputs)
{
    g_autofree char *a = path("det-a");
    g_autofree char *b = path("det-b");
    const char *base[] = {"run",
                          "--workload",
                          "synthetic",
                          "--num-requests",
                          "400",
                          "--rate",
                          "30",
                          "--input-len",
                          "lognormal:6.5:0.8:16:4000",
                          "--output-len",
                          "uniform:1:300",
                          "--replicas",
                          "2",
                          "--router",
                          "random",
                          "--seed",
                          "7",
                          "--steps",
                          "--perfetto",
                          "trace.json",
                          "--quiet",
                          "--output-dir",
                          NULL,
                          NULL};
    size_t n = G_N_ELEMENTS(base);
    base[n - 2] = a;
    clirun r1 = clirun_execv(base);
    cr_assert_eq(r1.code, 0, "%s", r1.err);
    base[n - 2] = b;
    clirun r2 = clirun_execv(base);
    cr_assert_eq(r2.code, 0, "%s", r2.err);
    const char *files[] = {"requests.csv", "steps.jsonl.gz", "trace.json",
                           "summary_lifecycle_metrics.json", "vllm_bench_result.json"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
        expect_same_file(a, b, files[i]);
    /* summary.json embeds the output directory; compare its metrics section */
    g_autofree char *sa = g_build_filename(a, "summary.json", NULL);
    g_autofree char *sb = g_build_filename(b, "summary.json", NULL);
    json_t *ja = json_load_file(sa, 0, NULL), *jb = json_load_file(sb, 0, NULL);
    cr_assert(ja != NULL && jb != NULL);
    char *ma = json_dumps(json_object_get(ja, "metrics"), JSON_SORT_KEYS);
    char *mb = json_dumps(json_object_get(jb, "metrics"), JSON_SORT_KEYS);
    cr_expect_str_eq(ma, mb);
    free(ma);
    free(mb);
    json_decref(ja);
    json_decref(jb);
    clirun_clear(&r1);
    clirun_clear(&r2);
}

Test(run, requests_longer_than_max_model_len_fail_like_vllm)
{
    const int rows[][3] = {{3000, 200, 0}, {100, 10, 1}, {1900, 100, 2}};
    g_autofree char *trace = write_jsonl("long.jsonl", rows, 3);
    g_autofree char *out = path("long");
    clirun r = clirun_exec("run", "--workload", trace, "--max-model-len", "2048", "--output-dir",
                           out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *lc = g_build_filename(out, "summary_lifecycle_metrics.json", NULL);
    json_t *j = json_load_file(lc, 0, NULL);
    cr_assert_not_null(j);
    /* 3000 + 200 > 2048 and 1900 + 100 = 2000 ≤ 2048 */
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "failures"), "count")), 1);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "successes"), "count")), 2);
    json_decref(j);
    clirun_clear(&r);
}

/* Runs servesim with ARGS, expects exit 2, one stderr line containing NEEDLE, no stdout. */
static void
expect_bad(const char *needle, const char *const *args)
{
    clirun r = clirun_execv(args);
    cr_expect_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_expect(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    cr_expect_str_eq(r.out, "");
    clirun_clear(&r);
}

Test(run, contradictory_settings_are_one_line_errors)
{
    g_autofree char *out = path("bad");
    expect_bad("divide",
               (const char *[]){"run", "--tensor-parallel-size", "3", "--output-dir", out, NULL});
    expect_bad("block size",
               (const char *[]){"run", "--max-num-batched-tokens", "8", "--output-dir", out, NULL});
    expect_bad("KV cache holds", (const char *[]){"run", "--num-gpu-blocks-override", "100",
                                                  "--output-dir", out, NULL});
    expect_bad("llama-3.1-8b",
               (const char *[]){"run", "--model", "llama-3.1-8", "--output-dir", out, NULL});
    expect_bad("--scheduler", (const char *[]){"run", "--scheduler", "fifo", NULL});
    cr_expect(!g_file_test(out, G_FILE_TEST_EXISTS) || count_lines(out) <= 0,
              "nothing written for bad settings");
}

Test(run, unwritable_output_dir_fails_before_simulating)
{
    expect_bad("/proc/servesim",
               (const char *[]){"run", "--output-dir", "/proc/servesim/out", NULL});
}

Test(run, bad_row_mid_trace_exits_2_and_leaves_no_outputs)
{
    GString *g = g_string_new("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int i = 0; i < 60; i++)
        g_string_append_printf(g, "2023-11-16 18:%02d:%02d.0000000,%d,%d\n", 15 + i / 60, i % 60,
                               100 + i, 10);
    g_string_append(g, "2023-11-16 18:16:01.0000000,abc,10\n");
    g_autofree char *trace = path("bad.csv");
    g_file_set_contents(trace, g->str, (gssize)g->len, NULL);
    g_string_free(g, TRUE);
    g_autofree char *out = path("badrow");
    g_autofree char *want = g_strdup_printf("%s:62:", trace);
    expect_bad(want, (const char *[]){"run", "--workload", trace, "--output-dir", out, NULL});
    g_autofree char *sum = g_build_filename(out, "summary.json", NULL);
    g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
    cr_expect(!g_file_test(sum, G_FILE_TEST_EXISTS));
    cr_expect(!g_file_test(csv, G_FILE_TEST_EXISTS));
    expect_no_tmp(out);
}

Test(run, unbounded_prefix_cache_hits_what_the_trace_shares)
{
    /* Two independent implementations: `analyze` counts the prompt blocks (16 tokens) whose
     * whole prefix appeared in an earlier request; the simulator's KV pool, given more blocks
     * than the trace can fill and one replica, must hit exactly those (up to the
     * num_tokens − 1 cap). Real Mooncake conversation trace, first 300 requests. */
    g_autofree char *trace = g_build_filename(SERVESIM_DATA_DIR, "mooncake-fast25",
                                              "conversation_trace.first1000.jsonl", NULL);
    g_autofree char *out = path("mooncake");
    clirun a = clirun_exec("analyze", "workload", trace, "--limit", "300", "--json", NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    json_t *aj = json_loads(a.out, 0, NULL);
    cr_assert_not_null(aj);
    double shared = json_num(aj, "prefix_sharing", "shared_token_fraction");
    clirun r =
        clirun_exec("run", "--workload", trace, "--limit", "300", "--num-gpu-blocks-override",
                    "2000000", "--max-num-seqs", "4", "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *sum = g_build_filename(out, "summary.json", NULL);
    json_t *sj = json_load_file(sum, 0, NULL);
    cr_assert_not_null(sj);
    double hit = json_number_value(json_object_get(
        json_object_get(json_object_get(sj, "metrics"), "prefix_cache"), "hit_rate"));
    cr_expect(shared > 0.05, "the trace shares prefixes (%.4f)", shared);
    cr_expect(fabs(hit - shared) < 0.002, "simulated hit rate %.6f, trace shares %.6f", hit,
              shared);
    json_decref(aj);
    json_decref(sj);
    clirun_clear(&a);
    clirun_clear(&r);
}
