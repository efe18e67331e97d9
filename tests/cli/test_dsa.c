/* tests/cli/test_dsa.c: DSA tracing end to end (docs/dsa.md): every record of a simulated
 * trace has exactly the fields and types of docs/formats/dsa-trace.md; `analyze dsa` re-reads a
 * trace into the run's own summary; sample-rate and layer filters cut records as counted;
 * gzip output holds the same lines; a failed run leaves no trace; a non-DSA model is an error
 * naming it; the KV-offload what-if adds exactly the hand-computed fetch latency (and nothing
 * when everything is resident); a shared system prompt gives prefix intersections and unique
 * prompts none; tier replay of a trace with its own design reproduces it byte for byte; a fit
 * writes a parameter file `run` accepts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>
#include <zlib.h>

#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-dsa-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(dsa, .init = setup, .fini = teardown, .timeout = 300);

static char *
path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

/* `servesim run` of DeepSeek-V3.2 on 8 H200 with EXTRA flags (NULL-terminated), output in OUT;
 * fp8 weights and the fp8 MLA cache (656 B per token and layer), as DeepSeek serves it. */
static clirun
run_v32(const char *out, const char *const *extra)
{
    GPtrArray *a = g_ptr_array_new();
    const char *base[] = {"run",
                          "--model",
                          "deepseek-v3.2",
                          "--hardware",
                          "h200",
                          "--tensor-parallel-size",
                          "8",
                          "--dtype",
                          "fp8",
                          "--kv-cache-dtype",
                          "fp8",
                          "--quiet",
                          "--output-dir",
                          out};
    for (size_t i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(a, (gpointer)(uintptr_t)base[i]);
    for (size_t i = 0; extra[i] != NULL; i++)
        g_ptr_array_add(a, (gpointer)(uintptr_t)extra[i]);
    g_ptr_array_add(a, NULL);
    clirun r = clirun_execv((const char *const *)a->pdata);
    g_ptr_array_free(a, TRUE);
    return r;
}

static char *
slurp(const char *p, size_t *len)
{
    char *s = NULL;
    g_file_get_contents(p, &s, len, NULL);
    return s;
}

static char **
lines_of(const char *p)
{
    g_autofree char *s = slurp(p, NULL);
    cr_assert_not_null(s, "%s", p);
    char **v = g_strsplit(s, "\n", -1);
    guint n = g_strv_length(v);
    if (n > 0 && v[n - 1][0] == '\0') {
        g_free(v[n - 1]);
        v[n - 1] = NULL;
    }
    return v;
}

static json_t *
load(const char *p)
{
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    cr_assert_not_null(j, "%s: %s", p, je.text);
    return j;
}

/* 4 requests of 3000 + 12 tokens: 11 decode steps each. */
static const char *const SMALL[] = {"--workload",  "synthetic", "--num-requests", "4",
                                    "--input-len", "3000",      "--output-len",   "12",
                                    "--rate",      "4"};
#define SMALL_ARGS                                                                                 \
    SMALL[0], SMALL[1], SMALL[2], SMALL[3], SMALL[4], SMALL[5], SMALL[6], SMALL[7], SMALL[8],      \
        SMALL[9]

static void
check_record(json_t *j)
{
    static const char *const top[] = {"event",
                                      "request_id",
                                      "layer_id",
                                      "step_idx",
                                      "seq_len_current",
                                      "selected_token_pos",
                                      "unique_token_pos_count",
                                      "offset_min",
                                      "offset_p50",
                                      "offset_max",
                                      "block_size_tokens",
                                      "selected_block_ids",
                                      "unique_blocks",
                                      "tokens_per_touched_block",
                                      "kv_fetch",
                                      "prefix",
                                      "scores_stats"};
    cr_assert_eq(json_object_size(j), G_N_ELEMENTS(top));
    for (size_t i = 0; i < G_N_ELEMENTS(top); i++)
        cr_assert_not_null(json_object_get(j, top[i]), "missing %s", top[i]);
    json_t *pos = json_object_get(j, "selected_token_pos");
    size_t n = json_array_size(pos);
    int64_t seq = json_integer_value(json_object_get(j, "seq_len_current"));
    cr_assert(n > 0 && n <= 2048);
    cr_assert_eq((int64_t)n, seq < 2048 ? seq : 2048, "min(k, ctx) positions");
    cr_assert_eq(json_integer_value(json_object_get(j, "unique_token_pos_count")), (int64_t)n);
    /* group B recounted here from the positions */
    int64_t B = json_integer_value(json_object_get(j, "block_size_tokens"));
    int64_t prev = -1, blocks = 0, last_block = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(pos, i);
        cr_assert(json_is_integer(x));
        int64_t p = json_integer_value(x);
        cr_assert(p > prev && p < seq);
        prev = p;
        if (p / B != last_block) {
            blocks++;
            last_block = p / B;
        }
    }
    cr_assert_eq(json_integer_value(json_object_get(j, "unique_blocks")), blocks);
    cr_assert_eq((int64_t)json_array_size(json_object_get(j, "selected_block_ids")), blocks);
    cr_assert_eq(json_integer_value(json_object_get(j, "offset_min")),
                 seq - 1 - json_integer_value(json_array_get(pos, n - 1)));
    json_t *tpb = json_object_get(j, "tokens_per_touched_block");
    cr_assert_eq(json_object_size(tpb), 3);
    cr_assert_float_eq(json_number_value(json_object_get(tpb, "mean")), (double)n / blocks, 1e-6);
    json_t *kv = json_object_get(j, "kv_fetch");
    const char *tiers[] = {"hbm", "local_pool", "remote_pool"};
    cr_assert_eq(json_object_size(kv), 3);
    for (int k = 0; k < 3; k++) {
        json_t *t = json_object_get(kv, tiers[k]);
        cr_assert_eq(json_object_size(t), 5, "%s", tiers[k]);
        const char *ints[] = {"hit_blocks", "bytes_read", "read_ops", "batch_size"};
        for (int i = 0; i < 4; i++)
            cr_assert(json_is_integer(json_object_get(t, ints[i])), "%s.%s", tiers[k], ints[i]);
        cr_assert(json_is_number(json_object_get(t, "latency_us")));
    }
    json_t *px = json_object_get(j, "prefix");
    cr_assert_eq(json_object_size(px), 5);
    cr_assert(json_is_boolean(json_object_get(px, "prefix_cache_hit")));
    cr_assert(json_is_integer(json_object_get(px, "prefix_cached_blocks")));
    cr_assert(json_is_string(json_object_get(px, "prefix_key")));
    cr_assert(json_is_number(json_object_get(px, "intersection_ratio")));
    cr_assert(json_is_array(json_object_get(px, "intersection_blocks")));
    cr_assert_eq(json_object_size(json_object_get(j, "scores_stats")), 3);
}

Test(dsa, trace_records_have_the_format_fields_and_analyze_rereads_the_summary)
{
    g_autofree char *out = path("a");
    const char *extra[] = {SMALL_ARGS, "--dsa-trace", "--dsa-trace-layers", "0,30,60", NULL};
    clirun r = run_v32(out, extra);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *tp = g_build_filename(out, "trace_steps.jsonl", NULL);
    g_auto(GStrv) lines = lines_of(tp);
    cr_assert_eq(g_strv_length(lines), 4 * 11 * 3, "4 requests × 11 decode steps × 3 layers");
    for (guint i = 0; lines[i] != NULL; i++) {
        json_error_t je;
        json_t *j = json_loads(lines[i], JSON_REJECT_DUPLICATES, &je);
        cr_assert_not_null(j, "line %u: %s", i + 1, je.text);
        check_record(j);
        json_decref(j);
    }
    /* analyze re-reads the same figures the run summarised */
    clirun a = clirun_exec("analyze", "dsa", tp, "--json", NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    json_error_t je;
    json_t *aj = json_loads(a.out, 0, &je);
    cr_assert_not_null(aj, "%s", je.text);
    g_autofree char *sp = g_build_filename(out, "summary.json", NULL);
    json_t *sj = load(sp);
    json_t *dsa = json_object_get(sj, "dsa");
    const char *keys[] = {"records",
                          "requests",
                          "layers",
                          "unique_blocks",
                          "tokens_per_touched_block",
                          "offsets",
                          "prefix_intersection_ratio",
                          "kv_fetch",
                          "prefix_hot_blocks"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        cr_expect(json_equal(json_object_get(aj, keys[i]), json_object_get(dsa, keys[i])),
                  "%s differs between run and analyze", keys[i]);
    json_t *lat = json_object_get(json_object_get(sj, "serving"), "latency_ms");
    cr_expect_eq(json_object_size(lat), 4);
    json_t *e2el =
        json_object_get(json_object_get(json_object_get(sj, "metrics"), "latency_ms"), "e2el");
    const char *ps[] = {"p50", "p95", "p99", "max"};
    for (int i = 0; i < 4; i++)
        cr_expect_float_eq(json_number_value(json_object_get(lat, ps[i])),
                           json_number_value(json_object_get(e2el, ps[i])), 1e-6, "%s", ps[i]);
    json_decref(sj);
    json_decref(aj);
    clirun_clear(&a);
    clirun_clear(&r);
}

Test(dsa, non_dsa_model_is_an_error_naming_it)
{
    g_autofree char *out = path("n");
    clirun r =
        clirun_exec("run", "--model", "llama-3.1-8b", "--dsa-trace", "--output-dir", out, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "llama-3.1-8b") != NULL && strstr(r.err, "index_topk") != NULL, "%s",
              r.err);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    cr_expect_not(g_file_test(out, G_FILE_TEST_EXISTS), "nothing written");
    clirun_clear(&r);
    clirun b = clirun_exec("run", "--model", "llama-3.1-8b", "--dsa-block-size", "32",
                           "--print-config", NULL);
    cr_expect_eq(b.code, 2, "any DSA flag: %s", b.out);
    cr_expect(strstr(b.err, "--dsa-block-size") != NULL, "%s", b.err);
    clirun_clear(&b);
}

Test(dsa, filters_cut_records_and_content_does_not_depend_on_them)
{
    g_autofree char *full = path("full");
    g_autofree char *samp = path("samp");
    g_autofree char *gz = path("gz");
    const char *e1[] = {SMALL_ARGS, "--dsa-trace", "--dsa-trace-layers", "0,1,2,3", NULL};
    const char *e2[] = {SMALL_ARGS,
                        "--dsa-trace",
                        "--dsa-trace-layers",
                        "3,1",
                        "--dsa-trace-sample-rate",
                        "0.5",
                        "--dsa-trace-requests",
                        "3",
                        NULL};
    const char *e3[] = {SMALL_ARGS, "--dsa-trace",      "--dsa-trace-layers",
                        "0,1,2,3",  "--dsa-trace-file", "t.jsonl.gz",
                        NULL};
    clirun r1 = run_v32(full, e1), r2 = run_v32(samp, e2), r3 = run_v32(gz, e3);
    cr_assert_eq(r1.code, 0, "%s", r1.err);
    cr_assert_eq(r2.code, 0, "%s", r2.err);
    cr_assert_eq(r3.code, 0, "%s", r3.err);
    g_autofree char *p1 = g_build_filename(full, "trace_steps.jsonl", NULL);
    g_autofree char *p2 = g_build_filename(samp, "trace_steps.jsonl", NULL);
    g_auto(GStrv) a = lines_of(p1);
    g_auto(GStrv) b = lines_of(p2);
    cr_assert_eq(g_strv_length(a), 4 * 11 * 4);
    /* every sampled record is a record of the full trace, verbatim */
    GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; a[i] != NULL; i++)
        g_hash_table_add(set, a[i]);
    guint steps = 0;
    for (guint i = 0; b[i] != NULL; i++) {
        cr_expect(g_hash_table_contains(set, b[i]), "sampled line %u not in the full trace", i);
        json_t *j = json_loads(b[i], 0, NULL);
        int64_t id = json_integer_value(json_object_get(j, "request_id"));
        int64_t l = json_integer_value(json_object_get(j, "layer_id"));
        cr_expect(id < 3 && (l == 1 || l == 3), "request %lld layer %lld", (long long)id,
                  (long long)l);
        steps += l == 1;
        json_decref(j);
    }
    g_hash_table_destroy(set);
    cr_expect_eq(g_strv_length(b), 2 * steps, "both layers of a sampled step");
    /* 33 (request, step) pairs at rate 0.5: binomial sd 2.9 */
    cr_expect(steps >= 8 && steps <= 25, "%u sampled steps of 33", steps);
    /* gzip: the same lines */
    g_autofree char *p3 = g_build_filename(gz, "t.jsonl.gz", NULL);
    gzFile z = gzopen(p3, "rb");
    cr_assert_not_null(z);
    GString *g = g_string_new(NULL);
    char buf[65536];
    int k;
    while ((k = gzread(z, buf, sizeof buf)) > 0)
        g_string_append_len(g, buf, k);
    gzclose(z);
    g_autofree char *plain = slurp(p1, NULL);
    cr_expect_str_eq(g->str, plain);
    g_string_free(g, TRUE);
    clirun_clear(&r1);
    clirun_clear(&r2);
    clirun_clear(&r3);
}

Test(dsa, failed_run_leaves_no_trace)
{
    g_autofree char *wl = path("bad.jsonl");
    g_file_set_contents(wl,
                        "{\"input_toks\": 3000, \"output_toks\": 8, \"arrival_time_ns\": 0}\n"
                        "{\"input_toks\": 3000, \"output_toks\": 8, \"arrival_time_ns\": 1}\n"
                        "{\"input_toks\": 3000, \"output_toks\": \"x\", \"arrival_time_ns\": 2}\n",
                        -1, NULL);
    g_autofree char *out = path("fail");
    const char *extra[] = {"--workload", wl, "--dsa-trace", NULL};
    clirun r = run_v32(out, extra);
    cr_expect_eq(r.code, 2, "%s", r.err);
    cr_expect(strstr(r.err, "bad.jsonl:3") != NULL, "%s", r.err);
    GDir *gd = g_dir_open(out, 0, NULL);
    const char *n;
    while (gd != NULL && (n = g_dir_read_name(gd)) != NULL)
        cr_expect(false, "left behind: %s", n);
    if (gd != NULL)
        g_dir_close(gd);
    clirun_clear(&r);
}

/* One request, 1000-token prompt, 3 output tokens: decode steps at t = 1000 and 1001 select
 * every position (ctx ≤ 2048). With no hot buffer and no local pool every token but the
 * current one is one contiguous remote read per layer: 61 × (3 µs / 32 + t·656 B /
 * (50 GB/s · 0.8)) = 1,006,118.75 ns and 1,007,119.15 ns. */
Test(dsa, offload_adds_the_hand_computed_fetch_latency)
{
    const char *base[] = {"--workload",  "synthetic",    "--num-requests", "1",
                          "--input-len", "1000",         "--output-len",   "3",
                          "--steps",     "--steps-file", "steps.jsonl"};
    g_autofree char *o1 = path("o1");
    g_autofree char *o2 = path("o2");
    g_autofree char *o3 = path("o3");
    const char *e1[] = {base[0], base[1], base[2], base[3], base[4],  base[5],
                        base[6], base[7], base[8], base[9], base[10], NULL};
    const char *e2[] = {base[0],
                        base[1],
                        base[2],
                        base[3],
                        base[4],
                        base[5],
                        base[6],
                        base[7],
                        base[8],
                        base[9],
                        base[10],
                        "--dsa-kv-offload",
                        "--dsa-hot-buffer-tokens",
                        "all",
                        NULL};
    const char *e3[] = {base[0],
                        base[1],
                        base[2],
                        base[3],
                        base[4],
                        base[5],
                        base[6],
                        base[7],
                        base[8],
                        base[9],
                        base[10],
                        "--dsa-kv-offload",
                        "--dsa-hot-buffer-tokens",
                        "0",
                        "--dsa-local-pool-tokens",
                        "0",
                        "--dsa-remote-bandwidth",
                        "50",
                        "--dsa-remote-efficiency",
                        "0.8",
                        NULL};
    clirun r1 = run_v32(o1, e1), r2 = run_v32(o2, e2), r3 = run_v32(o3, e3);
    cr_assert_eq(r1.code, 0, "%s", r1.err);
    cr_assert_eq(r2.code, 0, "%s", r2.err);
    cr_assert_eq(r3.code, 0, "%s", r3.err);
    const char *files[] = {"steps.jsonl", "requests.csv"};
    for (int f = 0; f < 2; f++) {
        g_autofree char *a = g_build_filename(o1, files[f], NULL);
        g_autofree char *b = g_build_filename(o2, files[f], NULL);
        g_autofree char *x = slurp(a, NULL);
        g_autofree char *y = slurp(b, NULL);
        cr_expect_str_eq(x, y, "everything resident: %s unchanged", files[f]);
    }
    g_autofree char *s1 = g_build_filename(o1, "steps.jsonl", NULL);
    g_autofree char *s3 = g_build_filename(o3, "steps.jsonl", NULL);
    g_auto(GStrv) a = lines_of(s1);
    g_auto(GStrv) b = lines_of(s3);
    cr_assert_eq(g_strv_length(a), 3);
    cr_assert_eq(g_strv_length(b), 3);
    const int64_t want[3] = {0, 1006119, 1007119};
    for (int i = 0; i < 3; i++) {
        json_t *x = json_loads(a[i], 0, NULL), *y = json_loads(b[i], 0, NULL);
        int64_t dx = json_integer_value(json_object_get(x, "end_ns")) -
                     json_integer_value(json_object_get(x, "start_ns"));
        int64_t dy = json_integer_value(json_object_get(y, "end_ns")) -
                     json_integer_value(json_object_get(y, "start_ns"));
        cr_expect(llabs(dy - dx - want[i]) <= 1, "step %d grew by %lld ns, expected %lld", i,
                  (long long)(dy - dx), (long long)want[i]);
        json_t *f = json_object_get(json_object_get(y, "cost_ns"), "dsa_kv_fetch");
        if (i == 0)
            cr_expect_null(f, "the prefill step fetches nothing");
        else
            cr_expect(f != NULL && llabs(json_integer_value(f) - want[i]) <= 1);
        json_decref(x);
        json_decref(y);
    }
    clirun_clear(&r1);
    clirun_clear(&r2);
    clirun_clear(&r3);
}

static json_t *
dsa_summary_of(const char *out)
{
    g_autofree char *sp = g_build_filename(out, "summary.json", NULL);
    json_t *s = load(sp);
    json_t *d = json_incref(json_object_get(s, "dsa"));
    json_decref(s);
    return d;
}

Test(dsa, shared_system_prompt_intersects_cached_blocks_unique_prompts_do_not)
{
    g_autofree char *spec = path("sp.json");
    g_file_set_contents(spec,
                        "{\"load\": {\"type\": \"constant\", \"stages\": [{\"rate\": 4, "
                        "\"duration\": 2}]}, \"data\": {\"type\": \"shared_prefix\", "
                        "\"shared_prefix\": {\"num_groups\": 2, \"num_prompts_per_group\": 4, "
                        "\"system_prompt_len\": 3000, \"question_len\": 100, \"output_len\": 6}}}",
                        -1, NULL);
    g_autofree char *o1 = path("shared");
    g_autofree char *o2 = path("unique");
    const char *e1[] = {"--workload", spec, "--dsa-trace", "--dsa-trace-layers", "0", NULL};
    const char *e2[] = {SMALL_ARGS, "--dsa-trace", "--dsa-trace-layers", "0", NULL};
    clirun r1 = run_v32(o1, e1), r2 = run_v32(o2, e2);
    cr_assert_eq(r1.code, 0, "%s", r1.err);
    cr_assert_eq(r2.code, 0, "%s", r2.err);
    json_t *d1 = dsa_summary_of(o1), *d2 = dsa_summary_of(o2);
    json_t *i1 = json_object_get(d1, "prefix_intersection_ratio");
    json_t *i2 = json_object_get(d2, "prefix_intersection_ratio");
    cr_expect_gt(json_number_value(json_object_get(i1, "min")), 0.5,
                 "3000 shared tokens of 3100: most touched blocks are prefix-cached");
    cr_expect_gt(json_array_size(json_object_get(d1, "prefix_hot_blocks")), 0);
    cr_expect_gt(json_integer_value(json_object_get(d1, "prefix_cache_hit_records")), 0,
                 "later requests hit the first one's system prompt");
    cr_expect_float_eq(json_number_value(json_object_get(i2, "max")), 0.0, 1e-12);
    cr_expect_eq(json_array_size(json_object_get(d2, "prefix_hot_blocks")), 0);
    json_decref(d1);
    json_decref(d2);
    clirun_clear(&r1);
    clirun_clear(&r2);
}

Test(dsa, replay_with_the_runs_own_tiers_reproduces_the_trace)
{
    g_autofree char *out = path("rp");
    const char *extra[] = {SMALL_ARGS,
                           "--dsa-trace",
                           "--dsa-trace-layers",
                           "0,5",
                           "--dsa-hot-buffer-tokens",
                           "1024",
                           "--dsa-local-pool-tokens",
                           "2000",
                           NULL};
    clirun r = run_v32(out, extra);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *tiers = path("tiers.json");
    g_file_set_contents(tiers, "{\"hot_buffer_tokens\": 1024, \"local_pool_tokens\": 2000}", -1,
                        NULL);
    g_autofree char *tp = g_build_filename(out, "trace_steps.jsonl", NULL);
    g_autofree char *rp = path("replayed.jsonl");
    clirun a = clirun_exec("analyze", "dsa", tp, "--replay-tiers", tiers, "--hardware", "h200",
                           "--replay-output", rp, NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    g_autofree char *x = slurp(tp, NULL);
    g_autofree char *y = slurp(rp, NULL);
    cr_assert_not_null(y);
    cr_expect(strcmp(x, y) == 0, "replayed kv_fetch differs from the simulated one");
    /* a different design changes group C only */
    g_file_set_contents(tiers, "{\"hot_buffer_tokens\": 0, \"local_pool_tokens\": 0}", -1, NULL);
    clirun b = clirun_exec("analyze", "dsa", tp, "--replay-tiers", tiers, "--json", NULL);
    cr_assert_eq(b.code, 0, "%s", b.err);
    json_t *j = json_loads(b.out, 0, NULL);
    json_t *kv = json_object_get(j, "kv_fetch");
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(kv, "local_pool"), "bytes_read")), 0);
    cr_expect_gt(
        json_integer_value(json_object_get(json_object_get(kv, "remote_pool"), "bytes_read")), 0);
    json_decref(j);
    clirun_clear(&b);
    clirun_clear(&a);
    clirun_clear(&r);
}

Test(dsa, analyze_bad_records_name_file_and_line_or_are_counted)
{
    g_autofree char *out = path("bad");
    const char *extra[] = {SMALL_ARGS, "--dsa-trace", "--dsa-trace-layers", "0", NULL};
    clirun r = run_v32(out, extra);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *tp = g_build_filename(out, "trace_steps.jsonl", NULL);
    g_auto(GStrv) lines = lines_of(tp);
    g_autofree char *bad = path("capture.jsonl");
    GString *g = g_string_new(NULL);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (i == 4)
            g_string_append(g, "{\"event\":\"dsa_topk\",\"request_id\":1}\n");
        g_string_append_printf(g, "%s\n", lines[i]);
    }
    g_file_set_contents(bad, g->str, (gssize)g->len, NULL);
    g_string_free(g, TRUE);
    clirun a = clirun_exec("analyze", "dsa", bad, NULL);
    cr_expect_eq(a.code, 2);
    cr_expect(strstr(a.err, "capture.jsonl:5: missing field 'layer_id'") != NULL, "%s", a.err);
    clirun b = clirun_exec("analyze", "dsa", bad, "--skip-bad-rows", "--json", NULL);
    cr_expect_eq(b.code, 0, "%s", b.err);
    json_t *j = json_loads(b.out, 0, NULL);
    cr_expect_eq(json_integer_value(json_object_get(j, "skipped_bad_rows")), 1);
    cr_expect_eq(json_integer_value(json_object_get(j, "records")),
                 (json_int_t)g_strv_length(lines));
    cr_expect(strstr(b.err, "skipped 1 malformed") != NULL, "%s", b.err);
    json_decref(j);
    clirun_clear(&a);
    clirun_clear(&b);
    clirun_clear(&r);
}

Test(dsa, fit_writes_a_parameter_file_run_accepts_and_print_config_round_trips)
{
    g_autofree char *out = path("fit");
    const char *extra[] = {"--workload",      "synthetic",
                           "--num-requests",  "3",
                           "--input-len",     "9000",
                           "--output-len",    "30",
                           "--rate",          "10",
                           "--dsa-trace",     "--dsa-selection",
                           "domain",          "--dsa-trace-layers",
                           "0,1,2,3,4,5,6,7", NULL};
    clirun r = run_v32(out, extra);
    cr_assert_eq(r.code, 0, "%s", r.err);
    g_autofree char *tp = g_build_filename(out, "trace_steps.jsonl", NULL);
    g_autofree char *fit = path("fit.json");
    clirun a = clirun_exec("analyze", "dsa", tp, "--fit", fit, NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    cr_expect(strstr(a.out, "n_sink 4 window 256") != NULL, "%s", a.out);
    g_autofree char *o2 = path("fit2");
    const char *e2[] = {SMALL_ARGS, "--dsa-trace", "--dsa-selection", fit, "--print-config", NULL};
    clirun b = run_v32(o2, e2);
    cr_assert_eq(b.code, 0, "%s", b.err);
    /* --print-config loads back to the identical JSON */
    g_autofree char *cfg = path("cfg.json");
    g_file_set_contents(cfg, b.out, -1, NULL);
    clirun c = clirun_exec("run", "--config", cfg, "--print-config", NULL);
    cr_assert_eq(c.code, 0, "%s", c.err);
    cr_expect_str_eq(c.out, b.out);
    cr_expect(strstr(b.out, "\"hot_buffer_tokens\": 4096") != NULL, "%s", b.out);
    clirun_clear(&a);
    clirun_clear(&b);
    clirun_clear(&c);
    clirun_clear(&r);
}

Test(dsa, tier_file_is_applied_like_config_and_flags_win)
{
    g_autofree char *tiers = path("t.json");
    g_file_set_contents(tiers,
                        "{\"hot_buffer_tokens\": 100, \"granularity\": \"block\", "
                        "\"local_pool\": {\"latency_us\": 7}}",
                        -1, NULL);
    /* the flag comes first on the line, yet wins over the file */
    clirun r =
        clirun_exec("run", "--model", "deepseek-v3.2", "--hardware", "h200",
                    "--tensor-parallel-size", "8", "--dtype", "fp8", "--dsa-hot-buffer-tokens",
                    "200", "--dsa-tiers", tiers, "--print-config", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_t *j = json_loads(r.out, 0, NULL);
    json_t *t = json_object_get(json_object_get(j, "dsa"), "tiers");
    cr_expect_eq(json_integer_value(json_object_get(t, "hot_buffer_tokens")), 200);
    cr_expect_str_eq(json_string_value(json_object_get(t, "granularity")), "block");
    cr_expect_float_eq(
        json_number_value(json_object_get(json_object_get(t, "local_pool"), "latency_us")), 7.0,
        1e-12);
    json_decref(j);
    clirun_clear(&r);
    g_file_set_contents(tiers, "{\"local_pool\": {\"latncy_us\": 7}}", -1, NULL);
    clirun b = clirun_exec("run", "--model", "deepseek-v3.2", "--hardware", "h200",
                           "--tensor-parallel-size", "8", "--dtype", "fp8", "--dsa-tiers", tiers,
                           "--print-config", NULL);
    cr_expect_eq(b.code, 2);
    cr_expect(strstr(b.err, "t.json: dsa.tiers.local_pool.latncy_us: unknown key") != NULL, "%s",
              b.err);
    clirun_clear(&b);
    g_file_set_contents(tiers, "{\"hot_buffer_tokens\": \"most\"}", -1, NULL);
    g_autofree char *out = path("tb");
    clirun c = clirun_exec("run", "--model", "deepseek-v3.2", "--hardware", "h200",
                           "--tensor-parallel-size", "8", "--dtype", "fp8", "--dsa-tiers", tiers,
                           "--dsa-trace", "--output-dir", out, NULL);
    cr_expect_eq(c.code, 2);
    cr_expect(strstr(c.err, "hot_buffer_tokens: expected a token count") != NULL, "%s", c.err);
    clirun_clear(&c);
}
