/* tools/cmd_compare.c: `servesim compare`: measured benchmarks against servesim
 * (docs/compare.md).
 *   compare RESULT [RUN FLAGS]   read a measured result (kind detected from its content),
 *                                rebuild its run, simulate it through tools/runner.c, and
 *                                report measured vs simulated figures, per-request errors and
 *                                a verdict per metric; one simulation per dashboard CSV row
 *   compare A B                  version regression: B's change against baseline A, with the
 *                                noise of the runs when per-request figures allow it
 * Run flags fill what the result does not record and override what it does (the report lists
 * both). --output-dir DIR keeps the comparison as files (compare.json, compare.csv,
 * compare_requests.csv; docs/compare.md §3) that `servesim report` draws; --report writes that
 * page next to them, like `run --report`. Bad input is one line "FILE[:LINE]: why", exit 2; with
 * --keep-going unusable CSV rows are skipped and counted (exit 2 only when nothing is left). */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "base/io.h"
#include "base/json.h"
#include "compare/compare.h"
#include "report/report.h"
#include "sim/config.h"
#include "tools/cli.h"
#include "tools/compare_run.h"

static const char synopsis[] =
    "compare RESULT [--json|--csv] [--kind NAME] [--keep-going] [--requests-csv FILE]\n"
    "       [--output-dir DIR [--report]] [RUN FLAGS]\n"
    "       servesim compare A B [--json|--csv] [--bootstrap N]";

typedef struct copts {
    bool json, csv, keep_going, report;
    const char *kind;
    const char *requests_csv;
    const char *output_dir; /* NULL: nothing written but stdout (and --requests-csv) */
    int boot;
} copts;

/* The files --output-dir writes (docs/compare.md §3); `servesim report` recognises a directory
 * by COMPARE_JSON. */
#define COMPARE_JSON     "compare.json"
#define COMPARE_CSV      "compare.csv"
#define COMPARE_REQUESTS "compare_requests.csv"
#define COMPARE_REPORT   "report.html"

static void
help(void)
{
    GString *kl = g_string_new(NULL);
    for (const cmp_kind *const *k = cmp_kinds(); *k != NULL; k++)
        g_string_append_printf(kl, "\n  %-15s %s", cmp_kind_name(*k), cmp_kind_what(*k));
    g_autofree char *kinds = g_string_free(kl, FALSE);
    g_autofree char *what = g_strdup_printf(
        "Compare measured serving benchmarks with servesim (docs/compare.md).\n\n"
        "With one RESULT: rebuild the run it records (model, hardware, engine settings, load,\n"
        "lengths, requests), simulate it and print measured vs simulated TTFT / TPOT / ITL / E2E\n"
        "(mean, p50, p90, p95, p99) and throughput with signed and relative errors, per-request\n"
        "error distributions when the result has per-request figures, and one verdict per\n"
        "metric (pass: |error| <= 15 %% for TTFT, 10 %% otherwise, on the mean, else the median).\n"
        "Run flags below fill what the result does not record and replace what it does.\n\n"
        "With two results A B: the change of every figure from A to B and whether it exceeds\n"
        "the runs' noise (bootstrap over per-request figures; unknown without them).\n\n"
        "Kinds (detected from the content; --kind forces one):%s\n\n"
        "Compare flags:\n"
        "  --json               the report as JSON on stdout\n"
        "  --csv                the figures as CSV on stdout\n"
        "  --kind NAME          read RESULT as this kind\n"
        "  --keep-going         skip CSV rows that cannot be read or simulated (counted)\n"
        "  --requests-csv FILE  matched requests, measured and simulated (for plotting)\n"
        "  --output-dir DIR     also write DIR/compare.json (the --json document), compare.csv\n"
        "                       and compare_requests.csv (matched requests), which\n"
        "                       `servesim report DIR` draws\n"
        "  --report             with --output-dir: also write DIR/report.html (the charts)\n"
        "  --bootstrap N        resamples for the noise of A B (default 1000)",
        kinds);
    /* compare's --output-dir and --report are its own (compare.json, report.html of the
     * comparison): the run's flags of the same names never reach the simulation. */
    static const char *const own[] = {"output-dir", "report", NULL};
    cli_print_help_except(synopsis, what, sim_config_schema(), own);
}

/* Takes compare's own flags out of ARGV into O; the rest (run flags and positionals) into
 * REST. */
static int
split_args(int argc, char **argv, copts *o, GPtrArray *rest)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--csv") == 0) {
            o->csv = true;
        } else if (strcmp(a, "--keep-going") == 0) {
            o->keep_going = true;
        } else if (strcmp(a, "--report") == 0 || strcmp(a, "--report=true") == 0) {
            /* run's --report and --output-dir, taken here: compare's simulation writes nothing */
            o->report = true;
        } else if (strcmp(a, "--no-report") == 0 || strcmp(a, "--report=false") == 0) {
            o->report = false;
        } else if (g_str_has_prefix(a, "--output-dir=")) {
            o->output_dir = a + strlen("--output-dir=");
        } else if (strcmp(a, "--kind") == 0 || strcmp(a, "--requests-csv") == 0 ||
                   strcmp(a, "--bootstrap") == 0 || strcmp(a, "--output-dir") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(synopsis, "%s: missing value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--kind") == 0) {
                o->kind = v;
            } else if (strcmp(a, "--requests-csv") == 0) {
                o->requests_csv = v;
            } else if (strcmp(a, "--output-dir") == 0) {
                o->output_dir = v;
            } else if (!cli_parse_int(v, 0, 100000, &o->boot)) {
                return cli_usage_error(synopsis, "--bootstrap: expected 0 to 100000, got '%s'", v);
            }
        } else {
            g_ptr_array_add(rest, argv[i]);
        }
    }
    if (o->json && o->csv)
        return cli_usage_error(synopsis, "--json and --csv: choose one");
    if (o->output_dir != NULL && *o->output_dir == '\0')
        return cli_usage_error(synopsis, "--output-dir: empty directory name");
    if (o->report && o->output_dir == NULL)
        return cli_usage_error(synopsis, "--report writes DIR/report.html next to the comparison's "
                                         "files: give --output-dir DIR");
    return CLI_OK;
}

static void
print_skipped(uint64_t skipped, GPtrArray *warnings)
{
    for (guint i = 0; i < warnings->len; i++)
        fprintf(stderr, "servesim: %s (skipped)\n", (const char *)g_ptr_array_index(warnings, i));
    if (skipped > 0)
        fprintf(stderr, "servesim: skipped %" G_GUINT64_FORMAT " rows\n", skipped);
}

/* Simulates RUN (rebuilt from M); on success appends the comparison and keeps the simulated
 * result it borrows in SIMS. Returns a CLI code, the error in ERROR. */
static int
simulate_one(
    const cmp_result *m, cmp_run *run, GPtrArray *comparisons, GPtrArray *sims, GError **error)
{
    cmp_result *s = NULL;
    runner_result rr;
    int rc = compare_simulate(m, run, &s, &rr, error);
    if (rc != CLI_OK)
        return rc;
    g_ptr_array_add(sims, s);
    g_ptr_array_add(comparisons, cmp_compare(m, s, run, rr.num_gpu_blocks));
    return CLI_OK;
}

static void
run_free(gpointer p)
{
    cmp_run_clear(p);
    g_free(p);
}

/* compare's JSON document (--json; compare.json with REQUESTS_FILE, the per-request CSV next
 * to it, or NULL). transfer full. */
/* The strings of A as a JSON array. transfer full */
static json_t *
strings_json(GPtrArray *a)
{
    json_t *arr = json_array();
    for (guint i = 0; i < a->len; i++)
        json_array_append_new(arr, json_string(g_ptr_array_index(a, i)));
    return arr;
}

static json_t *
comparisons_json(GPtrArray *comparisons,
                 uint64_t skipped,
                 GPtrArray *warnings,
                 const char *requests_file)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(CMP_JSON_FORMAT));
    json_t *arr = json_array();
    for (guint i = 0; i < comparisons->len; i++)
        json_array_append_new(arr, cmp_report_json(g_ptr_array_index(comparisons, i)));
    json_object_set_new(root, "comparisons", arr);
    json_object_set_new(root, "skipped", strings_json(warnings));
    json_object_set_new(root, "skipped_count", json_integer((json_int_t)skipped));
    if (requests_file != NULL)
        json_object_set_new(root, "requests_file", json_string(requests_file));
    return root;
}

static void
requests_csv(GString *out, GPtrArray *comparisons)
{
    for (guint i = 0; i < comparisons->len; i++)
        cmp_report_requests_csv(out, g_ptr_array_index(comparisons, i), i == 0);
}

static gboolean
write_file(const char *dir, const char *name, const GString *g, GError **error)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    return base_file_write_atomic(p, g->str, g->len, error);
}

/* --output-dir DIR: DOC as compare.json, CSV as compare.csv, RQ (NULL: none) as
 * compare_requests.csv and, with --report, report.html drawn from them. Each file is written
 * whole or not at all; a per-request file of an earlier comparison is removed when this one
 * has none, so it is never drawn with it; report.html comes last, so a page is never older
 * than the files it draws. compare RESULT and compare A B both write through here. */
static int
write_dir(const copts *o, const json_t *doc, const GString *csv, const GString *rq)
{
    GError *err = NULL;
    if (!base_dir_ensure_writable(o->output_dir, &err))
        return cli_fail(err, CLI_RUNTIME);
    g_autofree char *js = base_json_dumps(doc);
    g_autoptr(GString) jg = g_string_new(js);
    g_autofree char *old = g_build_filename(o->output_dir, COMPARE_REQUESTS, NULL);
    if (rq == NULL)
        (void)g_unlink(old);
    if ((rq != NULL && !write_file(o->output_dir, COMPARE_REQUESTS, rq, &err)) ||
        !write_file(o->output_dir, COMPARE_CSV, csv, &err) ||
        !write_file(o->output_dir, COMPARE_JSON, jg, &err))
        return cli_fail(err, CLI_RUNTIME);
    if (o->report) {
        g_autofree char *page = g_build_filename(o->output_dir, COMPARE_REPORT, NULL);
        const char *dir = o->output_dir;
        if (!rp_report_write(&dir, 1, NULL, page, &err))
            return cli_fail(err, CLI_RUNTIME);
    }
    return CLI_OK;
}

/* compare RESULT --output-dir: the comparisons' files (write_dir). */
static int
write_outputs(const copts *o, GPtrArray *comparisons, uint64_t skipped, GPtrArray *warnings)
{
    bool any_req = false;
    for (guint i = 0; i < comparisons->len; i++)
        any_req = any_req || cmp_comparison_has_requests(g_ptr_array_index(comparisons, i));
    g_autoptr(GString) rq = g_string_new(NULL);
    requests_csv(rq, comparisons);
    g_autoptr(GString) csv = g_string_new(NULL);
    for (guint i = 0; i < comparisons->len; i++)
        cmp_report_csv(csv, g_ptr_array_index(comparisons, i), i == 0);
    json_auto_t *doc =
        comparisons_json(comparisons, skipped, warnings, any_req ? COMPARE_REQUESTS : NULL);
    return write_dir(o, doc, csv, any_req ? rq : NULL);
}

static int
emit(const copts *o, GPtrArray *comparisons, uint64_t skipped, GPtrArray *warnings)
{
    g_autoptr(GString) out = g_string_new(NULL);
    if (o->json) {
        json_auto_t *root = comparisons_json(comparisons, skipped, warnings, NULL);
        g_autofree char *s = base_json_dumps(root);
        g_string_append(out, s);
    } else {
        for (guint i = 0; i < comparisons->len; i++) {
            if (o->csv)
                cmp_report_csv(out, g_ptr_array_index(comparisons, i), i == 0);
            else {
                if (i > 0)
                    g_string_append_c(out, '\n');
                cmp_report_text(out, g_ptr_array_index(comparisons, i));
            }
        }
    }
    if (o->requests_csv != NULL) {
        g_autoptr(GString) rq = g_string_new(NULL);
        requests_csv(rq, comparisons);
        GError *err = NULL;
        if (!base_file_write_atomic(o->requests_csv, rq->str, rq->len, &err))
            return cli_fail(err, CLI_RUNTIME);
    }
    if (o->output_dir != NULL) {
        int rc = write_outputs(o, comparisons, skipped, warnings);
        if (rc != CLI_OK)
            return rc;
    }
    fputs(out->str, stdout);
    print_skipped(skipped, warnings);
    return CLI_OK;
}

static int
compare_one(const copts *o, const char *path, int nflags, char **flags, uint64_t seed)
{
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    uint64_t skipped = 0;
    cmp_read_opts ro = {.kind = o->kind,
                        .keep_going = o->keep_going,
                        .seed = seed,
                        .skipped = &skipped,
                        .warnings = warnings};
    GError *err = NULL;
    if (!cmp_read(path, &ro, results, &err))
        return cli_fail(err, CLI_USAGE);
    /* Every point is rebuilt before anything is simulated, so bad rows fail fast. */
    g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func(run_free);
    g_autoptr(GPtrArray) measured = g_ptr_array_new();
    for (guint i = 0; i < results->len; i++) {
        cmp_result *m = g_ptr_array_index(results, i);
        cmp_run *run = g_new0(cmp_run, 1);
        if (cmp_rebuild(m, nflags, flags, run, &err)) {
            g_ptr_array_add(runs, run);
            g_ptr_array_add(measured, m);
            continue;
        }
        g_free(run);
        if (!o->keep_going || results->len == 1)
            return cli_fail(err, CLI_USAGE);
        skipped++;
        g_ptr_array_add(warnings, g_strdup(err->message));
        g_clear_error(&err);
    }
    g_autoptr(GPtrArray) sims = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    g_autoptr(GPtrArray) comparisons =
        g_ptr_array_new_with_free_func((GDestroyNotify)cmp_comparison_free);
    int rc = CLI_OK;
    for (guint i = 0; i < runs->len; i++) {
        int r = simulate_one(g_ptr_array_index(measured, i), g_ptr_array_index(runs, i),
                             comparisons, sims, &err);
        if (r == CLI_OK)
            continue;
        if (!o->keep_going || runs->len == 1) {
            rc = err != NULL ? cli_fail(err, r) : r;
            break;
        }
        skipped++;
        if (err != NULL) {
            g_ptr_array_add(warnings, g_strdup(err->message));
            g_clear_error(&err);
        }
    }
    if (rc == CLI_OK && comparisons->len == 0) {
        print_skipped(skipped, warnings);
        rc = cli_failf(CLI_USAGE, "%s: no benchmark point could be simulated", path);
    } else if (rc == CLI_OK) {
        rc = emit(o, comparisons, skipped, warnings);
    }
    /* comparisons borrow the runs and simulated results: free them first */
    g_ptr_array_set_size(comparisons, 0);
    return rc;
}

/* compare A B's JSON document: {"format", "regressions": [...], "unmatched": [...]}.
 * transfer full */
static json_t *
regressions_json(GPtrArray *regs, GPtrArray *warnings)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(CMP_JSON_FORMAT));
    json_t *arr = json_array();
    for (guint i = 0; i < regs->len; i++)
        json_array_append_new(arr, cmp_regress_json(g_ptr_array_index(regs, i)));
    json_object_set_new(root, "regressions", arr);
    json_object_set_new(root, "unmatched", strings_json(warnings));
    return root;
}

static int
regress(const copts *o, const char *pa, const char *pb, uint64_t seed)
{
    g_autoptr(GPtrArray) ra = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    g_autoptr(GPtrArray) rb = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    uint64_t skipped = 0;
    cmp_read_opts ro = {.kind = o->kind,
                        .keep_going = o->keep_going,
                        .seed = seed,
                        .skipped = &skipped,
                        .warnings = warnings};
    GError *err = NULL;
    if (!cmp_read(pa, &ro, ra, &err) || !cmp_read(pb, &ro, rb, &err))
        return cli_fail(err, CLI_USAGE);
    g_autoptr(GPtrArray) regs = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_regression_free);
    int boot = o->boot >= 0 ? o->boot : 1000;
    if (ra->len == 1 && rb->len == 1) {
        g_ptr_array_add(
            regs, cmp_regress(g_ptr_array_index(ra, 0), g_ptr_array_index(rb, 0), seed, boot));
    } else {
        /* benchmark points (dashboard rows) paired by their configuration */
        g_autoptr(GHashTable) used = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint i = 0; i < ra->len; i++) {
            const cmp_result *a = g_ptr_array_index(ra, i);
            g_autofree char *ka = cmp_result_point_key(a);
            cmp_result *b = NULL;
            for (guint j = 0; j < rb->len && b == NULL; j++) {
                cmp_result *x = g_ptr_array_index(rb, j);
                g_autofree char *kb = cmp_result_point_key(x);
                if (!g_hash_table_contains(used, x) && strcmp(ka, kb) == 0)
                    b = x;
            }
            if (b == NULL) {
                g_ptr_array_add(warnings,
                                g_strdup_printf("%s: no matching point in %s", a->where, pb));
                continue;
            }
            g_hash_table_add(used, b);
            g_ptr_array_add(regs, cmp_regress(a, b, seed, boot));
        }
        for (guint j = 0; j < rb->len; j++)
            if (!g_hash_table_contains(used, g_ptr_array_index(rb, j)))
                g_ptr_array_add(
                    warnings,
                    g_strdup_printf("%s: no matching point in %s",
                                    ((const cmp_result *)g_ptr_array_index(rb, j))->where, pa));
    }
    if (regs->len == 0)
        return cli_failf(CLI_USAGE, "%s, %s: no benchmark point in common", pa, pb);
    json_auto_t *root = regressions_json(regs, warnings);
    g_autoptr(GString) csv = g_string_new(NULL);
    for (guint i = 0; i < regs->len; i++)
        cmp_regress_csv(csv, g_ptr_array_index(regs, i), i == 0);
    g_autoptr(GString) out = g_string_new(NULL);
    if (o->json) {
        g_autofree char *s = base_json_dumps(root);
        g_string_append(out, s);
    } else if (o->csv) {
        g_string_append_len(out, csv->str, (gssize)csv->len);
    } else {
        for (guint i = 0; i < regs->len; i++) {
            if (i > 0)
                g_string_append_c(out, '\n');
            cmp_regress_text(out, g_ptr_array_index(regs, i));
        }
    }
    fputs(out->str, stdout);
    for (guint i = 0; i < warnings->len; i++)
        fprintf(stderr, "servesim: %s\n", (const char *)g_ptr_array_index(warnings, i));
    /* compare A B --output-dir: compare.json (the --json document), compare.csv (the --csv
     * rows), report.html; no per-request file */
    return o->output_dir != NULL ? write_dir(o, root, csv, NULL) : CLI_OK;
}

int
cmd_compare(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return CLI_OK;
    }
    copts o = {.boot = -1};
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    int rc = split_args(argc, argv, &o, rest);
    if (rc != CLI_OK)
        return rc;
    /* Validate the run flags once and find the positionals. */
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    g_autoptr(GPtrArray) flags = g_ptr_array_new();
    uint64_t seed = 0;
    rc = compare_split_run_args(rest, pos, flags, &seed);
    if (rc != CLI_OK)
        return rc;
    if (pos->len == 1)
        return compare_one(&o, pos->pdata[0], (int)flags->len, (char **)flags->pdata, seed);
    if (pos->len == 2) {
        if (flags->len > 0 && strcmp(flags->pdata[0], "--seed") != 0)
            return cli_failf(CLI_USAGE, "compare A B reads two measured results and simulates "
                                        "nothing; run flags do not apply");
        return regress(&o, pos->pdata[0], pos->pdata[1], seed);
    }
    return cli_usage_error(synopsis, "expected one measured result (or two, A B)");
}
