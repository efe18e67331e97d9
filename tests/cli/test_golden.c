/* tests/cli/test_golden.c: golden end-to-end cases (tests/golden/<case>/): run each case and
 * diff its outputs byte for byte against expected/; SERVESIM_REGENERATE_GOLDEN=1 rewrites
 * them instead. Beyond the diff, properties of each case that were checked by hand are
 * asserted on the produced outputs, so a regeneration cannot silently break them. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "base/csv.h"
#include "clirun.h"

TestSuite(golden, .timeout = 300);

static const char *const outputs[] = {"requests.csv", "summary_lifecycle_metrics.json",
                                      "vllm_bench_result.json"};

static char *
find_workload(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    cr_assert_not_null(d);
    const char *n;
    char *found = NULL;
    while ((n = g_dir_read_name(d)) != NULL)
        if (g_str_has_prefix(n, "workload."))
            found = g_build_filename(dir, n, NULL);
    g_dir_close(d);
    cr_assert_not_null(found, "%s has no workload.*", dir);
    return found;
}

/* Runs CASE into a temporary directory; returns it (caller removes). */
static char *
run_case(const char *name)
{
    g_autofree char *dir = g_build_filename(SERVESIM_SOURCE_DIR, "tests", "golden", name, NULL);
    g_autofree char *cfg = g_build_filename(dir, "config.json", NULL);
    g_autofree char *wl_path = find_workload(dir);
    g_autofree char *wl = g_path_get_basename(wl_path);
    char *out = g_dir_make_tmp("servesim-golden-XXXXXX", NULL);
    /* Run from the case directory with a relative workload path: vllm_bench_result.json
     * records the run's settings (servesim_config), which must not depend on the checkout. */
    g_autofree char *cwd = g_get_current_dir();
    cr_assert_eq(g_chdir(dir), 0);
    clirun r =
        clirun_exec("run", "--config", cfg, "--workload", wl, "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(g_chdir(cwd), 0);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    bool regen = g_getenv("SERVESIM_REGENERATE_GOLDEN") != NULL;
    g_autofree char *exp = g_build_filename(dir, "expected", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(outputs); i++) {
        g_autofree char *got = g_build_filename(out, outputs[i], NULL);
        g_autofree char *want = g_build_filename(exp, outputs[i], NULL);
        g_autofree char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        cr_assert(g_file_get_contents(got, &a, &la, NULL), "%s not written", outputs[i]);
        if (regen) {
            g_mkdir_with_parents(exp, 0777);
            cr_assert(g_file_set_contents(want, a, (gssize)la, NULL));
            continue;
        }
        cr_assert(g_file_get_contents(want, &b, &lb, NULL), "no expected %s", want);
        cr_expect(la == lb && memcmp(a, b, la) == 0,
                  "%s/%s differs from the golden output (regenerate with "
                  "SERVESIM_REGENERATE_GOLDEN=1 and review the diff)",
                  name, outputs[i]);
    }
    return out;
}

static void
remove_dir(const char *d)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d);
    (void)!system(cmd);
}

typedef struct {
    int64_t session, turn, send, finish, out, hit, replica, failed, sched;
} row;

Test(golden, multiturn_preempt)
{
    g_autofree char *out = run_case("multiturn-preempt");
    /* independent properties of the produced requests.csv */
    g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(csv, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    const char *cols[] = {"session",   "turn",          "send_ms",
                          "finish_ms", "output_tokens", "prefix_hit_tokens",
                          "replica",   "failed",        "first_scheduled_ms"};
    int ci[9];
    for (int k = 0; k < 9; k++) {
        ci[k] = base_csv_col(c, cols[k]);
        cr_assert_geq(ci[k], 0, "%s", cols[k]);
    }
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(row));
    while (base_csv_next(c, &err) > 0) {
        row r;
        double v[9];
        for (int k = 0; k < 9; k++) {
            /* never-routed (failed) requests have no replica */
            if (*base_csv_field(c, (size_t)ci[k]) == '\0') {
                v[k] = -1;
                continue;
            }
            cr_assert(base_csv_get_double(c, ci[k], &v[k], &err), "%s", err->message);
        }
        r = (row){(int64_t)v[0],         (int64_t)v[1], (int64_t)(v[2] * 1e6),
                  (int64_t)(v[3] * 1e6), (int64_t)v[4], (int64_t)v[5],
                  (int64_t)v[6],         (int64_t)v[7], v[8] < 0 ? -1 : (int64_t)(v[8] * 1e6)};
        g_array_append_val(rows, r);
    }
    cr_assert_null(err);
    int failed = 0, preempt_hits = 0;
    for (guint i = 0; i < rows->len; i++) {
        const row *a = &g_array_index(rows, row, i);
        if (a->failed) {
            failed++;
            cr_expect_eq(a->out, 0);
            continue;
        }
        cr_expect_eq(a->out, 150, "every successful request produced its 150 tokens");
        /* the vllm-0.15 API server hands a request to the engine 15.6 ms after its send */
        cr_expect_geq(a->sched + 1000, a->send + 15600000, "scheduled before the ingress delay");
        for (guint j = 0; j < rows->len; j++) {
            const row *b = &g_array_index(rows, row, j);
            if (b->session != a->session || b->turn != a->turn - 1)
                continue;
            /* ≥ 1 µs slack for the ms rounding of the CSV */
            cr_expect_geq(a->send + 1000, b->finish, "turn %lld sent before turn %lld finished",
                          (long long)a->turn, (long long)b->turn);
            if (!b->failed && b->replica == a->replica) {
                cr_expect_geq(a->hit, 400 / 16 * 16, "same replica: the system prompt hits");
                preempt_hits++;
            }
        }
    }
    cr_expect_gt(failed, 0, "some turns outgrow max_model_len");
    cr_expect_gt(preempt_hits, 0);
    g_array_free(rows, TRUE);
    remove_dir(out);
}
