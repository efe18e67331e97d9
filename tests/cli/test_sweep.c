/* tests/cli/test_sweep.c: `servesim sweep` and `servesim merge` end to end: a rate grid whose
 * p99 TTFT rises with the rate and whose SLA limit (--find-max) falls within one grid step of
 * the grid's last passing rate; error bands ordered as the physics says (slower steps, lower
 * limit); byte-identical outputs with -j 1, 2, 4 and sharded + merged; --keep-runs; the JSON
 * config form; one-line exit-2 errors for bad definitions and mixed shards, with no output. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "base/csv.h"
#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-sweep-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 300);

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

/* A small synthetic workload: 300 requests, 1024 prompt and 128 output tokens, Poisson. */
#define WORKLOAD                                                                                   \
    "--workload", "synthetic", "--num-requests", "300", "--input-len", "fixed:1024",               \
        "--output-len", "fixed:128", "--seed", "1"

/* Column NAME of every row of DIR/sweep.csv, as doubles (NAN for empty cells). */
static GArray *
column(const char *d, const char *name)
{
    g_autofree char *p = g_build_filename(d, "sweep.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(p, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    int col = base_csv_col(c, name);
    cr_assert_geq(col, 0, "no column %s", name);
    GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
    while (base_csv_next(c, &err)) {
        cr_assert_eq(base_csv_nfields(c), base_csv_ncols(c), "row width = header width");
        double x = NAN;
        const char *f = base_csv_field(c, (size_t)col);
        if (*f != '\0')
            cr_assert(base_parse_double(f, &x), "%s: '%s'", name, f);
        g_array_append_val(v, x);
    }
    cr_assert_null(err);
    return v;
}

#define AT(a, i) g_array_index(a, double, i)

Test(sweep, p99_ttft_rises_with_rate_and_find_max_agrees_with_the_grid)
{
    g_autofree char *grid = path("grid"), *fm = path("fm");
    clirun r = clirun_exec("sweep", WORKLOAD, "--sweep", "rate=5:60:5", "--output-dir", grid,
                           "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autoptr(GArray) rate = column(grid, "workload.rate");
    g_autoptr(GArray) ttft = column(grid, "ttft_p99_ms");
    g_autoptr(GArray) point = column(grid, "point");
    cr_assert_eq(rate->len, 12);
    for (guint i = 0; i < rate->len; i++) {
        cr_expect_eq(AT(point, i), (double)i);
        cr_expect_eq(AT(rate, i), 5.0 * (i + 1));
        /* the same seed at every rate scales the same Poisson draws: TTFT p99 may only dip
         * within noise */
        if (i > 0)
            cr_expect_geq(AT(ttft, i), AT(ttft, i - 1) * 0.97, "TTFT p99 %g at %g < %g at %g",
                          AT(ttft, i), AT(rate, i), AT(ttft, i - 1), AT(rate, i - 1));
    }
    cr_assert_gt(AT(ttft, 11), 300.0, "the grid must reach past the SLO");
    cr_assert_lt(AT(ttft, 0), 300.0);
    double last_ok = 0;
    for (guint i = 0; i < rate->len; i++)
        if (AT(ttft, i) <= 300.0)
            last_ok = AT(rate, i);
    r = clirun_exec("sweep", WORKLOAD, "--find-max", "rate", "--slo", "ttft_p99:300", "--tolerance",
                    "0.01", "--output-dir", fm, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autoptr(GArray) limit = column(fm, "limit");
    g_autoptr(GArray) hi = column(fm, "bracket_hi");
    g_autoptr(GArray) at = column(fm, "ttft_p99_ms");
    g_autoptr(GArray) slow = column(fm, "limit_slow_steps");
    g_autoptr(GArray) fast = column(fm, "limit_fast_steps");
    cr_assert_eq(limit->len, 1);
    cr_expect(fabs(AT(limit, 0) - last_ok) <= 5.0, "limit %g vs the grid's last passing %g",
              AT(limit, 0), last_ok);
    cr_expect_leq(AT(at, 0), 300.0, "the metrics at the limit meet the SLO");
    /* hi/lo lands exactly on 1.01 after the bisections; the CSV prints 10 digits */
    cr_expect_leq(AT(hi, 0), AT(limit, 0) * 1.01 * (1 + 1e-9), "bracket within the tolerance");
    /* the shipped H100 calibration's CV MAPE bands the limit: slower steps, lower limit */
    cr_expect_lt(AT(slow, 0), AT(limit, 0));
    cr_expect_gt(AT(fast, 0), AT(limit, 0));
    g_autofree char *jl = slurp(fm, "sweep.jsonl");
    cr_expect(strstr(jl, "\"binding\":\"ttft_p99\"") != NULL, "%s", jl);
    cr_expect(strstr(jl, "\"band\":0.04316073979") != NULL);
}

/* One find-max sweep with seeds and a band, written to D with extra arguments. */
static void
run_determinism_case(const char *d, const char *jobs, const char *shard)
{
    const char *args[] = {"sweep",        WORKLOAD,
                          "--sweep",      "max_num_seqs=32,256",
                          "--find-max",   "rate",
                          "--slo",        "ttft_p99:400,tpot_p99:40",
                          "--replicates", "2",
                          "--band",       "0.08",
                          "--output-dir", d,
                          "-j",           jobs,
                          "--quiet",      shard ? "--shard" : NULL,
                          shard,          NULL};
    clirun r = clirun_execv(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
}

Test(sweep, outputs_are_identical_with_1_2_4_threads_and_when_sharded_and_merged)
{
    g_autofree char *d1 = path("j1"), *d2 = path("j2"), *d4 = path("j4"), *ds = path("shards"),
                    *dm = path("merged");
    run_determinism_case(d1, "1", NULL);
    run_determinism_case(d2, "2", NULL);
    run_determinism_case(d4, "4", NULL);
    run_determinism_case(ds, "2", "2/2");
    run_determinism_case(ds, "1", "1/2");
    g_autofree char *s1 = g_build_filename(ds, "sweep.shard-1-of-2.jsonl", NULL);
    g_autofree char *s2 = g_build_filename(ds, "sweep.shard-2-of-2.jsonl", NULL);
    clirun r = clirun_exec("merge", "--output-dir", dm, s2, s1, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    const char *files[] = {"sweep.csv", "sweep.jsonl"};
    for (size_t f = 0; f < 2; f++) {
        g_autofree char *a = slurp(d1, files[f]);
        cr_assert_not_null(a);
        const char *others[] = {d2, d4, dm};
        for (size_t k = 0; k < 3; k++) {
            g_autofree char *b = slurp(others[k], files[f]);
            cr_assert_not_null(b, "%s/%s", others[k], files[f]);
            cr_expect_str_eq(a, b, "%s differs in %s", files[f], others[k]);
        }
    }
    /* a shard holds only its points: point 0 in shard 1/2, point 1 in shard 2/2 */
    g_autofree char *sh = slurp(ds, "sweep.shard-2-of-2.jsonl");
    cr_expect(strstr(sh, "\"shard\":\"2/2\"") != NULL);
    cr_expect(strstr(sh, "{\"point\":1,") != NULL);
    cr_expect(strstr(sh, "{\"point\":0,") == NULL);
    g_autoptr(GArray) seeds_min = column(d1, "limit_seed_min");
    g_autoptr(GArray) seeds_max = column(d1, "limit_seed_max");
    g_autoptr(GArray) limit = column(d1, "limit");
    for (guint i = 0; i < limit->len; i++) {
        cr_expect_leq(AT(seeds_min, i), AT(limit, i));
        cr_expect_geq(AT(seeds_max, i), AT(limit, i));
    }
}

Test(sweep, keep_runs_and_the_config_file_form)
{
    g_autofree char *a = path("flags"), *b = path("config"), *keep = path("keep");
    clirun r =
        clirun_exec("sweep", WORKLOAD, "--sweep", "rate=4,8", "--sweep", "router=round_robin",
                    "--keep-runs", keep, "--output-dir", a, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    for (int i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("point-%06d/summary.json", i);
        g_autofree char *s = slurp(keep, name);
        cr_expect_not_null(s, "%s kept", name);
    }
    g_autofree char *cfg = path("exp.json");
    g_file_set_contents(cfg,
                        "{\"seed\": 1, \"workload\": {\"source\": \"synthetic\", \"num_requests\": "
                        "300, \"input_len\": \"fixed:1024\", \"output_len\": \"fixed:128\"},"
                        " \"sweep\": {\"axes\": [\"rate=4,8\", \"router=round_robin\"]}}",
                        -1, NULL);
    r = clirun_exec("sweep", "--config", cfg, "--output-dir", b, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *x = slurp(a, "sweep.csv"), *y = slurp(b, "sweep.csv");
    cr_expect_str_eq(x, y, "the config form runs the same sweep");
    g_autofree char *jx = slurp(a, "sweep.jsonl"), *jy = slurp(b, "sweep.jsonl");
    cr_expect_str_eq(jx, jy, "and has the same sweep id");
}

/* Runs ARGS (a sweep writing to DIR/bad) and expects exit 2, one stderr line containing
 * NEEDLE, and no output file. */
static void
expect_bad(const char *const *args, const char *needle)
{
    clirun r = clirun_execv(args);
    cr_expect_eq(r.code, 2, "exit %d for %s: %s", r.code, needle, r.err);
    cr_expect(strstr(r.err, needle) != NULL, "'%s' not in: %s", needle, r.err);
    cr_expect(g_str_has_prefix(r.err, "servesim: "), "%s", r.err);
    const char *nl = strchr(r.err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r.err);
    g_autofree char *csv = path("bad/sweep.csv");
    cr_expect_not(g_file_test(csv, G_FILE_TEST_EXISTS), "no output for %s", needle);
    clirun_clear(&r);
}

Test(sweep, bad_definitions_are_one_line_errors_with_no_output)
{
    g_autofree char *out = path("bad");
#define BAD(needle, ...)                                                                           \
    do {                                                                                           \
        const char *a_[] = {"sweep", WORKLOAD, "--output-dir", out, __VA_ARGS__, NULL};            \
        expect_bad(a_, needle);                                                                    \
    } while (0)
    BAD("axis rate: no values", "--sweep", "rate=");
    BAD("unknown axis 'max_num_seq'", "--sweep", "max_num_seq=1,2");
    BAD("did you mean max_num_seqs", "--sweep", "max_num_seq=1,2");
    BAD("the range is empty", "--sweep", "rate=10:2:1");
    BAD("value 4 appears twice", "--sweep", "rate=4,4");
    BAD("outputs.dir cannot be an axis", "--sweep", "output-dir=a,b");
    BAD("unknown metric 'ttfb_p99'", "--find-max", "rate", "--slo", "ttfb_p99:100");
    BAD("--find-max needs --slo", "--find-max", "rate");
    BAD("--shard 3/2: K must be between 1 and N", "--shard", "3/2");
    BAD("axis workload.rate is what --find-max rate searches", "--find-max", "rate", "--slo",
        "ttft_p99:100", "--sweep", "rate=1,2");
    BAD("--replicates needs --find-max", "--replicates", "3");
    BAD("point 1 (tp=3): ", "--sweep", "tp=1,3");
    BAD("read by `servesim search`", "--axis", "tp=1,2");
    BAD("--slo goodput:F needs", "--find-max", "rate", "--slo", "goodput:0.9");
#undef BAD
}

Test(sweep, merge_refuses_shards_of_different_sweeps)
{
    g_autofree char *a = path("a"), *b = path("b"), *m = path("m");
    clirun r = clirun_exec("sweep", WORKLOAD, "--sweep", "rate=4,8", "--shard", "1/2",
                           "--output-dir", a, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    r = clirun_exec("sweep", WORKLOAD, "--sweep", "rate=4,9", "--shard", "2/2", "--output-dir", b,
                    "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *s1 = g_build_filename(a, "sweep.shard-1-of-2.jsonl", NULL);
    g_autofree char *s2 = g_build_filename(b, "sweep.shard-2-of-2.jsonl", NULL);
    r = clirun_exec("merge", "--output-dir", m, s1, s2, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "come from different sweeps") != NULL, "%s", r.err);
    g_autofree char *csv = g_build_filename(m, "sweep.csv", NULL);
    cr_expect_not(g_file_test(csv, G_FILE_TEST_EXISTS));
    clirun_clear(&r);
    r = clirun_exec("merge", "--output-dir", m, s1, NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "shard 2/2 is missing") != NULL, "%s", r.err);
    clirun_clear(&r);
}

/* D/sweep.csv without the columns that say whether a probe stopped early. */
static char *
csv_without_stop_columns(const char *d)
{
    g_autofree char *p = g_build_filename(d, "sweep.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(p, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    int skip1 = base_csv_col(c, "hi_stopped_early"), skip2 = base_csv_col(c, "binding_value_at_hi");
    cr_assert(skip1 >= 0 && skip2 >= 0);
    GString *g = g_string_new(NULL);
    while (base_csv_next(c, &err)) {
        for (size_t i = 0; i < base_csv_nfields(c); i++)
            if ((int)i != skip1 && (int)i != skip2)
                g_string_append_printf(g, "%s,", base_csv_field(c, i));
        g_string_append_c(g, '\n');
    }
    return g_string_free(g, FALSE);
}

Test(sweep, early_stopped_probes_give_the_same_limits)
{
    g_autofree char *a = path("stop"), *b = path("full");
    const char *args[] = {"sweep",
                          WORKLOAD,
                          "--sweep",
                          "max_num_seqs=16,256",
                          "--find-max",
                          "rate",
                          "--slo",
                          "ttft_p99:300,tpot_p99:30",
                          "--band",
                          "0.1",
                          "--quiet",
                          "--output-dir",
                          a,
                          NULL};
    clirun r = clirun_execv(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    const char *full[] = {"sweep",
                          WORKLOAD,
                          "--sweep",
                          "max_num_seqs=16,256",
                          "--find-max",
                          "rate",
                          "--slo",
                          "ttft_p99:300,tpot_p99:30",
                          "--band",
                          "0.1",
                          "--quiet",
                          "--output-dir",
                          b,
                          "--no-early-stop",
                          NULL};
    r = clirun_execv(full);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *x = csv_without_stop_columns(a), *y = csv_without_stop_columns(b);
    cr_expect_str_eq(x, y, "limits, brackets and metrics at the limit do not change");
    g_autofree char *csv = slurp(a, "sweep.csv");
    cr_expect(strstr(csv, ",true,") != NULL, "some probe stopped early: %s", csv);
    g_autofree char *csv_full = slurp(b, "sweep.csv");
    cr_expect(strstr(csv_full, ",true,") == NULL, "none without early stop");
}
