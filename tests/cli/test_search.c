/* tests/cli/test_search.c: `servesim search` end to end on a small synthetic workload:
 * configurations the memory plan rejects (Llama-3.1-70B in bf16 on one or two H100s, worked
 * out by hand below) are never simulated, for each pool of a prefill/decode split; PD splits
 * count and price the GPUs of both pools and are the runs of those splits;
 * roofline bounds reject what breaks a TPOT bound at every load, and only that (the same
 * configurations fail when simulated); ranks and Pareto marks agree with a brute-force check
 * of the output table; cost columns follow from the price; outputs are identical with -j 1
 * and 2 and sharded + merged; bad definitions are one-line exit-2 errors. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "base/csv.h"
#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-search-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(search, .init = setup, .fini = teardown, .timeout = 300);

#define WORKLOAD                                                                                   \
    "--workload", "synthetic", "--num-requests", "200", "--input-len", "fixed:512",                \
        "--output-len", "fixed:64", "--seed", "3"

static char *
path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static char *
slurp(const char *d, const char *name)
{
    g_autofree char *p = g_build_filename(d, name, NULL);
    char *s = NULL;
    g_file_get_contents(p, &s, NULL, NULL);
    return s;
}

/* The rows of D/search.csv as a list of GHashTable (column → cell). */
static GPtrArray *
table(const char *d)
{
    g_autofree char *p = g_build_filename(d, "search.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(p, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
    while (base_csv_next(c, &err)) {
        cr_assert_eq(base_csv_nfields(c), base_csv_ncols(c));
        GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        for (size_t i = 0; i < base_csv_ncols(c); i++)
            g_hash_table_insert(h, g_strdup(base_csv_colname(c, i)),
                                g_strdup(base_csv_field(c, i)));
        g_ptr_array_add(rows, h);
    }
    cr_assert_null(err);
    return rows;
}

static const char *
cell(GHashTable *row, const char *col)
{
    const char *v = g_hash_table_lookup(row, col);
    cr_assert_not_null(v, "no column %s", col);
    return v;
}

static double
num(GHashTable *row, const char *col)
{
    const char *v = cell(row, col);
    double x = NAN;
    if (*v != '\0')
        cr_assert(base_parse_double(v, &x), "%s = '%s'", col, v);
    return x;
}

static void
run_ok(const char *const *args)
{
    clirun r = clirun_execv(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
}

Test(search, the_memory_plan_rejects_without_simulating)
{
    /* Llama-3.1-70B has 70.6e9 parameters: 141 GB of bf16 weights. TP 1: 141 GB on one 80 GB
     * H100 does not fit. TP 2: 70.6 GB per GPU leaves ~3 GiB of the 90 % budget for the KV
     * cache, but one request of the model's 131,072-token context needs 80 layers · 8 KV heads
     * · 128 · 2 (K, V) · 2 bytes = 320 KiB per token, 160 KiB per GPU: 20 GiB. TP 4: fits. */
    g_autofree char *out = path("mem");
    const char *args[] = {"search",
                          WORKLOAD,
                          "--model",
                          "llama-3.1-70b",
                          "--gpus",
                          "4",
                          "--axis",
                          "replicas=1",
                          "--find-max",
                          "rate",
                          "--slo",
                          "ttft_p99:2000,tpot_p99:200",
                          "--output-dir",
                          out,
                          "-j",
                          "2",
                          NULL};
    clirun r = clirun_execv(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "1 simulated") != NULL, "%s", r.out);
    clirun_clear(&r);
    g_autoptr(GPtrArray) rows = table(out);
    cr_assert_eq(rows->len, 3, "tp 1, 2, 4 with one replica");
    for (guint i = 0; i < rows->len; i++) {
        GHashTable *row = rows->pdata[i];
        double tp = num(row, "parallelism.tensor_parallel_size");
        if (tp < 4) {
            cr_expect_str_eq(cell(row, "status"), "rejected");
            cr_expect_str_eq(cell(row, "stage"), "memory", "tp %g", tp);
            cr_expect(strstr(cell(row, "reason"), tp == 1 ? "does not fit" : "needs 20.00 GiB") !=
                          NULL,
                      "%s", cell(row, "reason"));
            cr_expect_str_eq(cell(row, "probes"), "", "never simulated");
            cr_expect_str_eq(cell(row, "limit"), "");
            cr_expect_str_eq(cell(row, "rank"), "");
        } else {
            cr_expect_str_eq(cell(row, "status"), "ok");
            cr_expect_str_eq(cell(row, "rank"), "1");
            cr_expect_gt(num(row, "probes"), 0);
            cr_expect_gt(num(row, "limit"), 0);
        }
    }
}

/* output_throughput of `servesim run WORKLOAD ARGS...` (summary.json), for comparison. */
static double
run_throughput(const char *name, const char *const *args)
{
    g_autofree char *out = path(name);
    const char *argv[32] = {"run", WORKLOAD};
    size_t n = 0;
    while (argv[n] != NULL)
        n++;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n++] = "--output-dir";
    argv[n++] = out;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    run_ok(argv);
    g_autofree char *js = slurp(out, "summary.json");
    json_error_t je;
    json_auto_t *j = json_loads(js, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *v = json_object_get(json_object_get(json_object_get(j, "metrics"), "throughput"),
                                "output_tokens_per_s");
    cr_assert(json_is_number(v), "summary.json metrics.throughput.output_tokens_per_s");
    return json_number_value(v);
}

Test(search, pd_splits_count_and_price_both_pools)
{
    /* tp 1, replicas 1..4, pd {none, 1:1, 1:3, 2:3} within 4 GPUs: a split sets the replica
     * counts, so only its replicas = 1 combination is a configuration (3 × 3 skipped); 1:1
     * uses 2 GPUs, 1:3 uses 4, 2:3 (5) is over the budget; with the 4 co-located ones: 6 */
    g_autofree char *out = path("pd");
    const char *args[] = {"search",  WORKLOAD,       "--gpus",       "4",
                          "--axis",  "tp=1",         "--axis",       "pd=none,1:1,1:3,2:3",
                          "--price", "h100-sxm=2/h", "--output-dir", out,
                          NULL};
    clirun r = clirun_execv(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "9 combinations of a prefill:decode split with replicas ≠ 1 "
                            "skipped") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "6 configurations") != NULL, "%s", r.out);
    clirun_clear(&r);
    g_autoptr(GPtrArray) rows = table(out);
    cr_assert_eq(rows->len, 6);
    unsigned splits = 0;
    for (guint i = 0; i < rows->len; i++) {
        GHashTable *row = rows->pdata[i];
        const char *pd = cell(row, "pd");
        cr_expect_str_eq(cell(row, "status"), "ok", "pd %s", pd);
        if (strcmp(pd, "none") == 0) {
            cr_expect_eq(num(row, "gpus"), num(row, "cluster.replicas"));
            continue;
        }
        splits++;
        cr_expect_eq(num(row, "cluster.replicas"), 1);
        double gpus = strcmp(pd, "1:1") == 0 ? 2 : 4;
        cr_expect_eq(num(row, "gpus"), gpus, "pd %s: both pools' GPUs", pd);
        cr_expect_float_eq(num(row, "usd_per_gpu_hour"), 2.0, 1e-9);
        /* USD 2 per GPU-hour × GPUs over the output tokens of an hour, per million */
        double tput = num(row, "output_throughput_per_gpu") * gpus;
        cr_expect_float_eq(num(row, "usd_per_m_output_tokens"), 2.0 * gpus * 1e6 / (tput * 3600),
                           1e-3 * num(row, "usd_per_m_output_tokens"));
        /* the row is the run of that split */
        const char *run_args[] = {"--tensor-parallel-size", "1", "--pd", pd, NULL};
        double want = run_throughput(strcmp(pd, "1:1") == 0 ? "run11" : "run13", run_args);
        cr_expect_float_eq(tput, want, 1e-6 * want, "pd %s: %g vs run %g", pd, tput, want);
    }
    cr_expect_eq(splits, 2);
}

Test(search, every_pool_passes_the_memory_plan)
{
    /* prefill: Llama-3.1-70B on TP 4 fits; the decode entry puts it on one H100, 141 GB of
     * bf16 weights on 80 GB: rejected at stage memory, naming the decode pool; 4 + 1 GPUs */
    g_autofree char *out = path("pools");
    g_autofree char *cfg = path("pools.json");
    cr_assert(g_file_set_contents(
        cfg,
        "{\"model\": {\"name\": \"llama-3.1-70b\"}, \"cluster\": {\"pools\": [{\"role\": "
        "\"prefill\", \"replicas\": 1}, {\"role\": \"decode\", \"replicas\": 1, "
        "\"parallelism\": {\"tensor_parallel_size\": 1}}]}}",
        -1, NULL));
    const char *args[] = {"search",  WORKLOAD,       "--config", cfg,      "--gpus",
                          "8",       "--axis",       "tp=4",     "--axis", "replicas=1",
                          "--quiet", "--output-dir", out,        NULL};
    run_ok(args);
    g_autoptr(GPtrArray) rows = table(out);
    cr_assert_eq(rows->len, 1);
    GHashTable *row = rows->pdata[0];
    cr_expect_str_eq(cell(row, "stage"), "memory");
    cr_expect(g_str_has_prefix(cell(row, "reason"), "decode pool: "), "%s", cell(row, "reason"));
    cr_expect(strstr(cell(row, "reason"), "does not fit") != NULL, "%s", cell(row, "reason"));
    cr_expect_eq(num(row, "gpus"), 5);
}

Test(search, roofline_bounds_reject_only_what_breaks_at_every_load)
{
    /* a 6 ms TPOT bound: one decode step of Llama-3.1-8B on one H100 reads 16 GB of weights
     * at 3.35 TB/s (≈ 4.8 ms before efficiency and overheads) and cannot fit it, while TP 4
     * can; the estimate rejects exactly the configurations that fail when simulated */
    g_autofree char *a = path("pruned"), *b = path("simulated");
    const char *pruned[] = {
        "search", WORKLOAD,     "--gpus",       "4", "--axis",  "replicas=1", "--find-max", "rate",
        "--slo",  "tpot_p99:6", "--output-dir", a,   "--quiet", NULL};
    const char *simulated[] = {"search",
                               WORKLOAD,
                               "--gpus",
                               "4",
                               "--axis",
                               "replicas=1",
                               "--find-max",
                               "rate",
                               "--slo",
                               "tpot_p99:6",
                               "--no-estimate-prune",
                               "--output-dir",
                               b,
                               "--quiet",
                               NULL};
    run_ok(pruned);
    run_ok(simulated);
    g_autoptr(GPtrArray) ra = table(a);
    g_autoptr(GPtrArray) rb = table(b);
    cr_assert_eq(ra->len, 3);
    cr_assert_eq(rb->len, 3);
    unsigned by_estimate = 0;
    for (guint i = 0; i < ra->len; i++) {
        GHashTable *x = ra->pdata[i];
        const char *point = cell(x, "point");
        GHashTable *y = NULL;
        for (guint k = 0; k < rb->len; k++)
            if (strcmp(cell(rb->pdata[k], "point"), point) == 0)
                y = rb->pdata[k];
        cr_assert_not_null(y);
        if (strcmp(cell(x, "stage"), "estimate") == 0) {
            by_estimate++;
            cr_expect_str_eq(cell(x, "probes"), "");
            cr_expect(strstr(cell(x, "reason"), "one decode step alone takes") != NULL);
            cr_expect_str_eq(cell(y, "stage"), "slo", "simulated, it breaks at every load");
        } else {
            cr_expect_str_eq(cell(x, "status"), cell(y, "status"));
            cr_expect_str_eq(cell(x, "limit"), cell(y, "limit"));
        }
    }
    cr_expect_geq(by_estimate, 1, "TP 1 cannot decode a step within 6 ms");
    cr_expect_lt(by_estimate, 3, "TP 4 can");
}

/* True if A is at least as good as B in both objectives and better in one. */
static bool
dominates(double a1, double a2, double b1, double b2, bool max1)
{
    bool ge1 = max1 ? a1 >= b1 : a1 <= b1, gt1 = max1 ? a1 > b1 : a1 < b1;
    return ge1 && a2 <= b2 && (gt1 || a2 < b2);
}

static void
check_front(GPtrArray *ok, const char *c1, bool max1, const char *c2, const char *mark)
{
    for (guint i = 0; i < ok->len; i++) {
        GHashTable *x = ok->pdata[i];
        bool dominated = false;
        for (guint k = 0; k < ok->len; k++)
            if (k != i && dominates(num(ok->pdata[k], c1), num(ok->pdata[k], c2), num(x, c1),
                                    num(x, c2), max1))
                dominated = true;
        cr_expect_str_eq(cell(x, mark), dominated ? "false" : "true", "%s of point %s", mark,
                         cell(x, "point"));
    }
}

Test(search, ranks_pareto_marks_and_costs_agree_with_the_table)
{
    g_autofree char *out = path("rank");
    const char *args[] = {"search",       WORKLOAD,
                          "--gpus",       "4",
                          "--axis",       "max_num_seqs=32,256",
                          "--find-max",   "rate",
                          "--slo",        "ttft_p99:400,tpot_p99:30",
                          "--price",      "h100-sxm=3.6/h",
                          "--output-dir", out,
                          "--quiet",      NULL};
    run_ok(args);
    g_autoptr(GPtrArray) rows = table(out);
    g_autoptr(GPtrArray) ok = g_ptr_array_new();
    double prev = INFINITY;
    bool rejected_seen = false;
    for (guint i = 0; i < rows->len; i++) {
        GHashTable *r = rows->pdata[i];
        if (strcmp(cell(r, "status"), "ok") != 0) {
            rejected_seen = true;
            continue;
        }
        cr_expect_not(rejected_seen, "ranked rows come first");
        g_ptr_array_add(ok, r);
        cr_expect_eq(num(r, "rank"), (double)ok->len);
        double tput = num(r, "output_throughput_per_gpu");
        cr_expect_leq(tput, prev, "ranked by throughput per GPU");
        prev = tput;
        /* USD 3.6 per GPU-hour = 0.001 per GPU-second: cost per 1e6 output tokens =
         * 0.001 · gpus · 1e6 / output tokens/s */
        double gpus = num(r, "gpus");
        cr_expect_float_eq(tput * gpus, num(r, "output_throughput"),
                           1e-6 * num(r, "output_throughput"));
        cr_expect_float_eq(num(r, "usd_per_m_output_tokens"),
                           1000.0 * gpus / num(r, "output_throughput"), 1e-6);
        cr_expect_eq(num(r, "usd_per_gpu_hour"), 3.6);
    }
    cr_assert_geq(ok->len, 4, "enough ranked configurations to make fronts");
    check_front(ok, "output_throughput_per_gpu", true, "ttft_p99_ms", "pareto_tput_ttft");
    check_front(ok, "output_throughput_per_gpu", true, "tpot_p99_ms", "pareto_tput_tpot");
    check_front(ok, "usd_per_m_output_tokens", false, "e2el_p99_ms", "pareto_cost_e2el");
}

Test(search, outputs_are_identical_with_threads_and_shards)
{
    g_autofree char *d1 = path("j1"), *d2 = path("j2"), *ds = path("sh"), *dm = path("m");
    const char *dirs[] = {d1, d2, ds, ds};
    const char *jobs[] = {"1", "2", "1", "2"};
    const char *shard[] = {NULL, NULL, "1/2", "2/2"};
    for (int i = 0; i < 4; i++) {
        const char *args[] = {"search",       WORKLOAD,
                              "--gpus",       "2",
                              "--find-max",   "rate",
                              "--slo",        "ttft_p99:400,tpot_p99:30",
                              "--output-dir", dirs[i],
                              "--quiet",      "-j",
                              jobs[i],        shard[i] ? "--shard" : NULL,
                              shard[i],       NULL};
        run_ok(args);
    }
    g_autofree char *s1 = g_build_filename(ds, "search.shard-1-of-2.jsonl", NULL);
    g_autofree char *s2 = g_build_filename(ds, "search.shard-2-of-2.jsonl", NULL);
    clirun r = clirun_exec("merge", "--output-dir", dm, s1, s2, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    const char *files[] = {"search.csv", "search.jsonl"};
    for (int f = 0; f < 2; f++) {
        g_autofree char *a = slurp(d1, files[f]), *b = slurp(d2, files[f]),
                        *m = slurp(dm, files[f]);
        cr_assert_not_null(a);
        cr_expect_str_eq(a, b, "%s: -j 1 vs -j 2", files[f]);
        cr_expect_str_eq(a, m, "%s: unsharded vs merged", files[f]);
    }
}

Test(search, bad_definitions_are_one_line_errors)
{
    g_autofree char *out = path("bad");

    struct {
        const char *args[8];
        const char *needle;
    } cases[] = {
        {{"--axis", "pd=none,2"}, "axis pd: '2' is not a prefill:decode split"},
        {{"--gpus", "0"}, "--gpus: 0 is out of range"},
        {{"--price", "h100-sxm=cheap"}, "--price h100-sxm=cheap: 'cheap' is not a number"},
        {{"--price", "h100-sxm=2/min"}, "prices are per GPU-hour"},
        {{"--sweep", "rate=1,2"}, "search takes its dimensions with --axis"},
        {{"--gpus", "1", "--axis", "tp=2"}, "no configuration fits the budget of 1 GPUs"},
        {{"--axis", "tp=1,,2"}, "empty value"},
        {{"--shard", "0/3"}, "--shard 0/3"},
        {{"--prices", "/nonexistent/prices.json"}, "/nonexistent/prices.json"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GPtrArray *a = g_ptr_array_new();
        const char *base[] = {"search", WORKLOAD, "--output-dir", out};
        for (size_t k = 0; k < G_N_ELEMENTS(base); k++)
            g_ptr_array_add(a, (gpointer)(uintptr_t)base[k]);
        for (size_t k = 0; cases[i].args[k] != NULL; k++)
            g_ptr_array_add(a, (gpointer)(uintptr_t)cases[i].args[k]);
        g_ptr_array_add(a, NULL);
        clirun r = clirun_execv((const char *const *)a->pdata);
        cr_expect_eq(r.code, 2, "%s: exit %d %s", cases[i].needle, r.code, r.err);
        cr_expect(strstr(r.err, cases[i].needle) != NULL, "'%s' not in: %s", cases[i].needle,
                  r.err);
        const char *nl = strchr(r.err, '\n');
        cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r.err);
        g_autofree char *csv = g_build_filename(out, "search.csv", NULL);
        cr_expect_not(g_file_test(csv, G_FILE_TEST_EXISTS));
        clirun_clear(&r);
        g_ptr_array_free(a, TRUE);
    }
}
