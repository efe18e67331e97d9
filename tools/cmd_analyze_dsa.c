/* tools/cmd_analyze_dsa.c: `servesim analyze dsa FILE... [FLAGS]`: streams captured or simulated
 * trace_steps.jsonl[.gz] files (docs/formats/dsa-trace.md) in flat memory and prints the trace
 * summary (dsa/summary.h), optionally recomputing group C for another tier design
 * (--replay-tiers, dsa/replay.h, also writing the re-annotated records with --replay-output)
 * and fitting the selection synthesizer (--fit OUT.json, dsa/fit.h: a second pass over the
 * files). Malformed records stop with FILE:LINE: field: what (exit 2) unless --skip-bad-rows
 * counts and skips them. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "base/opts.h"
#include "dsa/fit.h"
#include "dsa/options.h"
#include "dsa/record.h"
#include "dsa/replay.h"
#include "dsa/summary.h"
#include "timemodel/hardware.h"
#include "tools/cli.h"

static const char synopsis[] = "analyze dsa FILE... [FLAGS]";

typedef struct dsa_args {
    bool json;
    char *summary;
    bool skip_bad;
    char *fit;
    int64_t independent_layers;
    char *replay;
    char *replay_output;
    char *hardware;
} dsa_args;

#define A(f) offsetof(dsa_args, f)
static const base_opt rows[] = {
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print the summary as one JSON object instead of text"},
    {"summary", "summary", BASE_OPT_STRING, A(summary), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE", "also write the summary JSON to FILE"},
    {"skip_bad_rows", "skip-bad-rows", BASE_OPT_BOOL, A(skip_bad), "false", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, NULL, "count and skip malformed records instead of failing"},
    {"fit", "fit", BASE_OPT_STRING, A(fit), NULL, NULL, 0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE,
     "OUT.json",
     "fit the selection synthesizer and write its parameter file (for --dsa-selection)"},
    {"independent_layers", "independent-layers", BASE_OPT_INT, A(independent_layers), "3", NULL, 0,
     65535, BASE_OPT_CLI_ONLY, "N", "--fit: leading layers that never reuse a selection"},
    {"replay_tiers", "replay-tiers", BASE_OPT_STRING, A(replay), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "TIERS.json",
     "recompute kv_fetch for this tier design (the dsa.tiers object of docs/dsa.md)"},
    {"replay_output", "replay-output", BASE_OPT_STRING, A(replay_output), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE",
     "--replay-tiers: write the records with the new kv_fetch (.gz = gzip)"},
    {"hardware", "hardware", BASE_OPT_STRING, A(hardware), "h100-sxm", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "NAME|FILE",
     "--replay-tiers: GPU whose HBM, PCIe and network bandwidths fill unset tier bandwidths"},
};
static const base_opt_table local = {"Analyze dsa", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&local, 1};

/* Resolves the tier file PATH with the bandwidths of HW and DeepSeek-V3.2's fp8 sizes. */
static gboolean
replay_tiers(const char *path, const char *hw_name, dsa_tiers *t, GError **error)
{
    const base_opt_set ds = {&dsa_options_table, 1};
    dsa_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&ds, &o);
    json_auto_t *root = base_json_load_file(path, error);
    gboolean ok = root != NULL && dsa_options_load_tiers(&o, root, path, error);
    g_auto(tm_hardware) hw = {0};
    if (ok)
        ok = tm_hardware_load(&hw, hw_name, error);
    if (ok) {
        /* DeepSeek-V3.2 fp8_ds_mla latent and indexer key (docs/domain.md §2.1) unless the file
         * sets token_bytes / index_key_bytes */
        dsa_tier_defaults d = {hw.mem_bw, hw.pcie.bw, hw.network.bw, 656, 132};
        ok = dsa_tiers_resolve(&o, &d, 16, t, error);
    }
    base_opts_clear(&ds, &o);
    return ok;
}

typedef struct run {
    dsa_args *a;
    dsa_summary *sum;
    dsa_fit *fit;
    dsa_replay *replay;
    base_out *out;
    GString *line;
    uint64_t records, skipped, bytes;
    GPtrArray *first_bad;
} run;

/* One pass over FILES; PASS 1 summarises (and replays, fits pass 1), PASS 2 feeds the fit. */
static int
pass(run *r, char **files, guint nfiles, int which)
{
    for (guint i = 0; i < nfiles; i++) {
        GError *err = NULL;
        g_autoptr(dsa_reader) rd = dsa_reader_open(files[i], &err);
        if (rd == NULL)
            return cli_fail(err, CLI_USAGE);
        const dsa_record *rec;
        int got;
        while ((got = dsa_reader_next(rd, r->a->skip_bad, &rec, &err)) == 1) {
            if (which == 2) {
                dsa_fit_pass2(r->fit, rec);
                continue;
            }
            dsa_record *m = (dsa_record *)(uintptr_t)rec; /* the reader's own buffer */
            if (r->replay != NULL)
                dsa_replay_record(r->replay, m);
            if (r->out != NULL) {
                g_string_truncate(r->line, 0);
                dsa_record_format(m, r->line);
                base_out_write(r->out, r->line->str, r->line->len);
            }
            dsa_summary_add(r->sum, rec);
            if (r->fit != NULL)
                dsa_fit_pass1(r->fit, rec);
            r->records++;
        }
        if (got < 0)
            return cli_fail(err, CLI_USAGE);
        if (which == 1) {
            r->skipped += dsa_reader_skipped(rd);
            r->bytes += dsa_reader_bytes(rd);
            if (dsa_reader_first_skipped(rd) != NULL)
                g_ptr_array_add(r->first_bad, g_strdup(dsa_reader_first_skipped(rd)));
        }
    }
    return CLI_OK;
}

static void
print_dist(const char *what, const json_t *d)
{
    if (json_is_null(d) || d == NULL) {
        printf("%-26s (none)\n", what);
        return;
    }
    printf(
        "%-26s min %10.6g  p50 %10.6g  p95 %10.6g  max %10.6g  mean %10.6g\n", what,
        json_number_value(json_object_get(d, "min")), json_number_value(json_object_get(d, "p50")),
        json_number_value(json_object_get(d, "p95")), json_number_value(json_object_get(d, "max")),
        json_number_value(json_object_get(d, "mean")));
}

static void
print_text(const json_t *o)
{
    printf("records                    %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT
           " requests, %zu layers; skipped bad %" JSON_INTEGER_FORMAT ")\n",
           json_integer_value(json_object_get(o, "records")),
           json_integer_value(json_object_get(o, "requests")),
           json_array_size(json_object_get(o, "layers")),
           json_integer_value(json_object_get(o, "skipped_bad_rows")));
    print_dist("unique_blocks", json_object_get(o, "unique_blocks"));
    print_dist("tokens per touched block", json_object_get(o, "tokens_per_touched_block"));
    print_dist("offsets", json_object_get(o, "offsets"));
    print_dist("prefix intersection ratio", json_object_get(o, "prefix_intersection_ratio"));
    printf("prefix-cache hit records   %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(o, "prefix_cache_hit_records")));
    const json_t *kv = json_object_get(o, "kv_fetch");
    const char *key;
    json_t *t;
    json_object_foreach((json_t *)(uintptr_t)kv, key, t) {
        printf("kv_fetch %-12s      blocks %12" JSON_INTEGER_FORMAT
               "  bytes %15" JSON_INTEGER_FORMAT "  ops %12" JSON_INTEGER_FORMAT
               "  latency %.3f us/record\n",
               key, json_integer_value(json_object_get(t, "hit_blocks")),
               json_integer_value(json_object_get(t, "bytes_read")),
               json_integer_value(json_object_get(t, "read_ops")),
               json_is_null(json_object_get(t, "latency_us_per_record"))
                   ? 0.0
                   : json_number_value(json_object_get(t, "latency_us_per_record")));
    }
    printf("prefix_hot_blocks          %zu requests (see --json)\n",
           json_array_size(json_object_get(o, "prefix_hot_blocks")));
    const json_t *rp = json_object_get(o, "replay");
    if (rp != NULL)
        printf("replayed tiers             %" JSON_INTEGER_FORMAT " records, %" JSON_INTEGER_FORMAT
               " step gaps%s\n",
               json_integer_value(json_object_get(rp, "records")),
               json_integer_value(json_object_get(rp, "step_gaps")),
               json_object_get(rp, "note") != NULL ? " (sampled trace: hits approximate)" : "");
    const json_t *fp = json_object_get(o, "fit");
    if (fp != NULL) {
        const json_t *p = json_object_get(fp, "parameters");
        printf("fit                        n_sink %" JSON_INTEGER_FORMAT
               " window %" JSON_INTEGER_FORMAT
               " alpha %.3f d0 %.0f cluster_mean %.2f noise %.4f gamma %.4f lambda %.4f\n",
               json_integer_value(json_object_get(p, "n_sink")),
               json_integer_value(json_object_get(p, "window")),
               json_number_value(json_object_get(p, "alpha")),
               json_number_value(json_object_get(p, "d0")),
               json_number_value(json_object_get(p, "cluster_mean")),
               json_number_value(json_object_get(p, "noise")),
               json_number_value(json_object_get(p, "gamma")),
               json_number_value(json_object_get(p, "lambda")));
        const json_t *notes = json_object_get(json_object_get(fp, "report"), "notes");
        for (size_t i = 0; i < json_array_size(notes); i++)
            printf("  note: %s\n", json_string_value(json_array_get(notes, i)));
    }
}

int
cmd_analyze_dsa(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "Summarize DSA top-k traces (trace_steps.jsonl[.gz], captured or from `run\n"
            "--dsa-trace`; docs/formats/dsa-trace.md): unique blocks, tokens per touched block,\n"
            "offsets and prefix-intersection distributions, per-tier fetch totals and the\n"
            "20 hottest prefix-cached blocks per request. Streams gigabytes in flat memory.\n"
            "--replay-tiers recomputes kv_fetch for another tier design; --fit estimates the\n"
            "selection synthesizer's parameters (reads the files twice). docs/dsa.md.",
            &set);
        return CLI_OK;
    }
    dsa_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(&set, &a);
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    GError *err = NULL;
    int rc = CLI_OK;
    run r = {.a = &a};
    r.first_bad = g_ptr_array_new_with_free_func(g_free);
    dsa_tiers tiers;
    if (!base_opts_parse_args(&set, &a, argc - 2, argv + 2, files, &err)) {
        rc = cli_fail(err, CLI_USAGE);
        goto out;
    }
    if (files->len == 0) {
        rc = cli_usage_error(synopsis, "analyze dsa: give at least one trace file");
        goto out;
    }
    for (guint i = 0; a.fit != NULL && i < files->len; i++)
        if (strcmp(files->pdata[i], "-") == 0) {
            rc = cli_failf(CLI_USAGE, "--fit reads its files twice: standard input cannot be "
                                      "used");
            goto out;
        }
    if (a.replay_output != NULL && a.replay == NULL) {
        rc = cli_failf(CLI_USAGE, "--replay-output needs --replay-tiers");
        goto out;
    }
    if (a.replay != NULL) {
        if (!replay_tiers(a.replay, a.hardware, &tiers, &err)) {
            rc = cli_fail(err, CLI_USAGE);
            goto out;
        }
        r.replay = dsa_replay_new(&tiers);
    }
    if (a.replay_output != NULL && (r.out = base_out_open(a.replay_output, &err)) == NULL) {
        rc = cli_fail(err, CLI_USAGE);
        goto out;
    }
    r.sum = dsa_summary_new();
    r.line = g_string_new(NULL);
    if (a.fit != NULL)
        r.fit = dsa_fit_new((uint32_t)a.independent_layers);
    rc = pass(&r, (char **)files->pdata, files->len, 1);
    if (rc != CLI_OK)
        goto out;
    json_t *o = json_object();
    json_t *fl = json_array();
    for (guint i = 0; i < files->len; i++)
        json_array_append_new(fl, json_string(files->pdata[i]));
    json_object_set_new(o, "files", fl);
    json_object_set_new(o, "bytes", json_integer((json_int_t)r.bytes));
    json_object_set_new(o, "skipped_bad_rows", json_integer((json_int_t)r.skipped));
    json_t *sj = dsa_summary_json(r.sum);
    json_object_update(o, sj);
    json_decref(sj);
    if (r.replay != NULL)
        json_object_set_new(o, "replay", dsa_replay_json(r.replay));
    if (r.fit != NULL) {
        if (!dsa_fit_end_pass1(r.fit, &err)) {
            json_decref(o);
            rc = cli_fail(err, CLI_USAGE);
            goto out;
        }
        rc = pass(&r, (char **)files->pdata, files->len, 2);
        if (rc != CLI_OK) {
            json_decref(o);
            goto out;
        }
        dsa_synth_params p;
        json_t *report = NULL;
        dsa_fit_finish(r.fit, &p, &report);
        json_t *pj = dsa_synth_to_json(&p);
        json_object_set_new(pj, "base", json_string("clustered"));
        json_object_set_new(pj, "fitted_from", json_deep_copy(report));
        if (!base_json_write_file(a.fit, pj, &err)) {
            json_decref(pj);
            json_decref(report);
            json_decref(o);
            rc = cli_fail(err, CLI_RUNTIME);
            goto out;
        }
        json_object_del(pj, "fitted_from");
        json_t *fo = json_object();
        json_object_set_new(fo, "file", json_string(a.fit));
        json_object_set_new(fo, "parameters", pj);
        json_object_set_new(fo, "report", report);
        json_object_set_new(o, "fit", fo);
    }
    if (r.out != NULL && !base_out_commit(r.out, &err)) {
        json_decref(o);
        rc = cli_fail(err, CLI_RUNTIME);
        goto out;
    }
    if (a.summary != NULL && !base_json_write_file(a.summary, o, &err)) {
        json_decref(o);
        rc = cli_fail(err, CLI_RUNTIME);
        goto out;
    }
    if (a.json) {
        g_autofree char *s = base_json_dumps(o);
        fputs(s, stdout);
    } else {
        print_text(o);
    }
    if (r.skipped > 0)
        fprintf(stderr, "servesim: skipped %" PRIu64 " malformed records (first: %s)\n", r.skipped,
                (const char *)g_ptr_array_index(r.first_bad, 0));
    json_decref(o);
out:
    dsa_summary_free(r.sum);
    dsa_fit_free(r.fit);
    dsa_replay_free(r.replay);
    base_out_free(r.out);
    if (r.line != NULL)
        g_string_free(r.line, TRUE);
    g_ptr_array_free(r.first_bad, TRUE);
    base_opts_clear(&set, &a);
    return rc;
}
