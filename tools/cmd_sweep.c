/* tools/cmd_sweep.c: `servesim sweep`: the run's settings plus axes (--sweep NAME=VALUES, any
 * run setting, several = a grid), each point an independent simulation on -j threads; one
 * row per point (summary metrics) in DIR/sweep.csv and DIR/sweep.jsonl. With --find-max rate
 * or concurrency and --slo, each point's row is instead its SLA limit, found by bracketing and
 * bisection, with the binding SLO and an error band (step times × 1 ± the calibration's CV
 * MAPE; seeds with --replicates). --shard K/N runs a deterministic slice for `servesim merge`.
 * Every point is validated (time model, memory plan) before any simulation starts. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "base/json.h"
#include "sweep/outputs.h"
#include "tools/cli.h"
#include "tools/sweeprun.h"

static const char synopsis[] =
    "sweep --sweep NAME=VALUES [--sweep ...] [--find-max rate|concurrency --slo SLO] [FLAGS]";

static const char description[] =
    "Run a grid of simulations: every --sweep axis is a run setting (e.g. rate=2:40:2,\n"
    "max_concurrency=1,2,4,...,256, max_num_seqs=64,128,256, tp=1,2,4); several axes make a grid.\n"
    "Each point is an independent simulation of the run settings below with its axis values;\n"
    "points run in parallel (-j N). Writes DIR/sweep.csv and DIR/sweep.jsonl (--output-dir):\n"
    "one row per point with TTFT/TPOT/ITL/E2EL mean, p50, p90, p95, p99 (ms), throughputs,\n"
    "goodput, failures, preemptions, utilization and peak KV usage.\n"
    "With --find-max rate|concurrency and --slo, each row is the point's SLA limit: the largest\n"
    "load meeting every SLO (bracketing by doubling, then bisection to --tolerance), the binding\n"
    "SLO, and its band: the limit with step times × (1 ± --band, default the calibration's CV\n"
    "MAPE) and over --replicates seeds. SLO presets: mlperf:BENCHMARK (MLPerf Inference server\n"
    "scenario p99 TTFT/TPOT), distserve (90 % of requests within --goodput). In a --config file:\n"
    "\"sweep\": {\"axes\": [\"rate=2:40:2\"], \"find_max\": \"rate\", \"slo\": "
    "[\"ttft_p99:500\"]}.\n"
    "--shard K/N runs points i with i mod N = K-1; `servesim merge` joins the shards into the\n"
    "exact files an unsharded run writes. See docs/sweep.md.";

static void
print_table(const sr_params *p, const sw_grid *g, const sr_point *pts, guint n)
{
    g_autoptr(GString) t = g_string_new(NULL);
    g_string_append_printf(t, "%-6s", "point");
    for (guint a = 0; a < sw_grid_naxes(g); a++)
        g_string_append_printf(t, " %14s", sw_grid_axis(g, a)->name);
    if (p->mode == SR_PLAIN)
        g_string_append_printf(t, " %10s %11s %12s %12s%s\n", "req/s", "out tok/s", "TTFT p99 ms",
                               "TPOT p99 ms", p->slo.n > 0 ? "  SLO" : "");
    else
        g_string_append_printf(t, " %12s %-12s %-10s %23s %23s\n",
                               p->mode == SR_FIND_RATE ? "max req/s" : "max conc.", "status",
                               "binding", "band (steps ×1±e)", "seeds [min, max]");
    for (guint i = 0; i < n; i++) {
        const sr_point *pt = &pts[i];
        const sr_outcome *o = &pt->out[0];
        g_string_append_printf(t, "%-6" PRIu64, pt->index);
        /* the point's own axis values: its grid index is its point number in a sweep */
        for (guint a = 0; a < sw_grid_naxes(g); a++)
            g_string_append_printf(t, " %14s", sw_grid_value(g, pt->index, a));
        if (p->mode == SR_PLAIN) {
            g_string_append_printf(t, " %10.2f %11.1f %12.1f %12.2f", o->m.request_throughput,
                                   o->m.output_throughput, o->m.lat_ms[SW_LAT_TTFT][SW_STAT_P99],
                                   o->m.lat_ms[SW_LAT_TPOT][SW_STAT_P99]);
            if (p->slo.n > 0)
                g_string_append_printf(t, "  %s", o->slo_ok ? "met" : "broken");
            g_string_append_c(t, '\n');
            continue;
        }
        const char *st = o->fm.status == SW_FINDMAX_FOUND         ? "found"
                         : o->fm.status == SW_FINDMAX_NOT_REACHED ? "not reached"
                                                                  : "none";
        const char *bind = o->have_hi && o->hi_binding >= 0
                               ? sw_slo_metric_name(p->slo.t[o->hi_binding].metric)
                               : "-";
        g_autofree char *band =
            !isnan(pt->band)
                ? g_strdup_printf("[%.4g, %.4g] e=%.1f%%", pt->out[p->replicates].fm.lo,
                                  pt->out[p->replicates + 1].fm.lo, pt->band * 100)
                : g_strdup("-");
        double smin = o->fm.lo, smax = o->fm.lo;
        for (int r = 1; r < p->replicates; r++) {
            smin = fmin(smin, pt->out[r].fm.lo);
            smax = fmax(smax, pt->out[r].fm.lo);
        }
        g_autofree char *seeds =
            p->replicates > 1 ? g_strdup_printf("[%.4g, %.4g] n=%d", smin, smax, p->replicates)
                              : g_strdup("-");
        g_string_append_printf(t, " %12.4g %-12s %-10s %23s %23s\n", o->fm.lo, st, bind, band,
                               seeds);
    }
    fputs(t->str, stdout);
}

/* Builds the grid and points (validating each), runs them, writes the outputs. Returns an
 * exit code; errors in ERROR. */
/* True if an axis changes workload settings (their request count may differ). */
static bool
workload_varies(const sw_grid *g)
{
    for (guint k = 0; k < sw_grid_naxes(g); k++)
        if (g_str_has_prefix(sw_grid_axis(g, k)->path, "workload."))
            return true;
    return false;
}

static int
sweep(const sr_args *a, GError **error)
{
    if (a->search.axes != NULL || a->search.price != NULL || a->search.prices != NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "the search section (--axis, --price, --prices) is read by `servesim search`");
        return CLI_USAGE;
    }
    sr_params p;
    if (!sr_params_from_args(&p, a, error))
        return CLI_USAGE;
    p.what = "sweep";
    p.progress = isatty(STDERR_FILENO) && !a->cfg.sim.quiet;
    uint32_t shard_k = 0, shard_n = 0;
    if (a->cli.shard != NULL && !sw_shard_parse(a->cli.shard, &shard_k, &shard_n, error))
        return CLI_USAGE;
    g_autoptr(sw_grid) g = sw_grid_new();
    sim_config scratch;
    sim_config_copy(&scratch, &a->cfg);
    gboolean ok = TRUE;
    g_auto(GStrv) specs = sr_axis_specs(a->sweep.axes);
    for (size_t i = 0; ok && specs[i] != NULL; i++)
        ok = sw_grid_add(g, sim_config_schema(), &scratch, specs[i], error);
    sim_config_clear(&scratch);
    if (!ok)
        return CLI_USAGE;
    const char *load_path = p.mode == SR_FIND_RATE          ? "workload.rate"
                            : p.mode == SR_FIND_CONCURRENCY ? "workload.max_concurrency"
                                                            : NULL;
    if (load_path != NULL && sw_grid_find(g, load_path) != NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "axis %s is what --find-max %s searches: drop the axis", load_path,
                    p.mode == SR_FIND_RATE ? "rate" : "concurrency");
        return CLI_USAGE;
    }
    uint64_t npoints = sw_grid_npoints(g);
    g_autoptr(GArray) pts = g_array_new(FALSE, TRUE, sizeof(sr_point));
    g_array_set_clear_func(pts, (GDestroyNotify)sr_point_clear);
    for (uint64_t i = 0; i < npoints; i++) {
        if (shard_n > 0 && i % shard_n != shard_k - 1)
            continue;
        g_array_set_size(pts, pts->len + 1);
        sr_point *q = &g_array_index(pts, sr_point, pts->len - 1);
        if (!sr_point_init(q, &a->cfg, g, i, i, error))
            return CLI_USAGE;
        if (!sr_point_check(q, NULL, NULL, error) || !sr_point_resolve_band(q, &p, error)) {
            g_prefix_error(error, "point %" PRIu64 " (%s): ", i, q->label);
            return CLI_USAGE;
        }
    }
    json_auto_t *def = json_object();
    json_object_set_new(def, "kind", json_string("sweep"));
    json_object_set_new(def, "base", sr_base_json(&a->cfg));
    json_object_set_new(def, "axes", sw_grid_to_json(g));
    json_object_set_new(def, "sla", sr_params_to_json(&p));
    json_auto_t *meta = sw_meta_new("sweep", def, npoints);
    /* fail before simulating if the output directory cannot be written */
    const char *dir = a->cfg.sim.output_dir;
    if (!base_dir_ensure_writable(dir, error))
        return CLI_USAGE;
    if (!sr_points_prepare(&p, &a->cfg, workload_varies(g), (sr_point *)(void *)pts->data, pts->len,
                           error))
        return CLI_USAGE;
    int rc = sr_run(&p, (sr_point *)(void *)pts->data, pts->len, error);
    if (rc != CLI_OK)
        return rc;
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    for (guint i = 0; i < pts->len; i++) {
        const sr_point *pt = &g_array_index(pts, sr_point, i);
        json_t *row = json_object();
        json_object_set_new(row, "point", json_integer((json_int_t)pt->index));
        for (guint k = 0; k < sw_grid_naxes(g); k++) {
            const sw_axis *ax = sw_grid_axis(g, k);
            json_object_set_new(row, ax->path,
                                sr_axis_value_json(ax, sw_grid_value(g, pt->index, k)));
        }
        sr_outcome_to_json(&p, pt, row);
        g_ptr_array_add(rows, row);
    }
    if (!sw_outputs_write(dir, meta, rows, shard_k, shard_n, error))
        return CLI_RUNTIME;
    if (a->cfg.sim.quiet)
        return CLI_OK;
    print_table(&p, g, (const sr_point *)(const void *)pts->data, pts->len);
    if (shard_n > 0)
        printf("Shard %" PRIu32 "/%" PRIu32 " (%u of %" PRIu64 " points) written to "
               "%s/sweep.shard-%" PRIu32 "-of-%" PRIu32 ".jsonl; join the shards with "
               "`servesim merge`\n",
               shard_k, shard_n, pts->len, npoints, dir, shard_k, shard_n);
    else
        printf("Outputs written to %s/sweep.csv and %s/sweep.jsonl\n", dir, dir);
    return CLI_OK;
}

int
cmd_sweep(int argc, char **argv)
{
    sr_schema schema;
    sr_schema_init(&schema, false);
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis, description, &schema.help);
        return CLI_OK;
    }
    sr_args a;
    GError *err = NULL;
    int rc = sr_args_parse(&a, &schema, argc - 1, argv + 1, &err) ? sweep(&a, &err) : CLI_USAGE;
    sr_args_clear(&a, &schema);
    return rc == CLI_OK ? CLI_OK : cli_fail(err, rc);
}
