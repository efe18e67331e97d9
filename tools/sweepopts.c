/* tools/sweepopts.c: the settings schema of `sweep` and `search` (the run's tables plus the
 * sweep, search and execution sections), their parsing (config files, flags, -j) and the
 * SLA-limit options resolved into sr_params (see sweeprun.h). */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/json.h"
#include "tools/sweeprun.h"

static const char *const loads[] = {"rate", "concurrency", NULL};

#define W(f) offsetof(sr_sweep_opts, f)
static const base_opt sweep_rows[] = {
    {"sweep.axes", "sweep", BASE_OPT_STRV, W(axes), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "NAME=VALUES",
     "an axis: any run setting (JSON path, flag or last path component; tp, pp, dp, ep, "
     "concurrency) with values a,b,c | START:STOP:STEP | START:STOP:xF | a,b,...,z; repeat for "
     "a grid"},
    {"sweep.find_max", "find-max", BASE_OPT_ENUM, W(find_max), NULL, loads, 0, 0, BASE_OPT_NULLABLE,
     "LOAD",
     "per point, find the largest request rate or concurrency meeting every --slo "
     "(bracketing + bisection)"},
    {"sweep.slo", "slo", BASE_OPT_STRV, W(slo), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, "SLO",
     "bounds, e.g. ttft_p99:500,tpot_p99:50 ({ttft,tpot,itl,e2el}_{mean,p50,p90,p95,p99}:MS, "
     "goodput:FRACTION, failed:FRACTION), mlperf:BENCHMARK, distserve"},
    {"sweep.tolerance", "tolerance", BASE_OPT_DOUBLE, W(tolerance), "0.02", NULL, 1e-4, 1, 0, "X",
     "find-max: stop when the bracket [lo, hi] has hi ≤ lo·(1 + X)"},
    {"sweep.find_max_start", "find-max-start", BASE_OPT_DOUBLE, W(start), NULL, NULL, 1e-9, 1e9,
     BASE_OPT_NULLABLE, "LOAD",
     "find-max: first load probed (default: each point's roofline estimate of its limit)"},
    {"sweep.find_max_min", "find-max-min", BASE_OPT_DOUBLE, W(min), NULL, NULL, 1e-9, 1e9,
     BASE_OPT_NULLABLE, "LOAD", "find-max: lowest load probed (default 0.01 req/s, 1 request)"},
    {"sweep.find_max_max", "find-max-max", BASE_OPT_DOUBLE, W(max), NULL, NULL, 1e-9, 1e9,
     BASE_OPT_NULLABLE, "LOAD", "find-max: highest load probed (default 1e5 req/s, 1e6)"},
    {"sweep.replicates", "replicates", BASE_OPT_INT, W(replicates), "1", NULL, 1, 1000, 0, "N",
     "find-max: also search with seeds seed+1 .. seed+N−1 and report the limit's range"},
    {"sweep.band", "band", BASE_OPT_STRING, W(band), "auto", NULL, 0, 0, 0, "auto|none|X",
     "find-max: recompute the limit with step times × (1 ± X); auto = the calibration's CV MAPE"},
    {"sweep.early_stop", "early-stop", BASE_OPT_BOOL, W(early_stop), "true", NULL, 0, 0, 0, NULL,
     "find-max: end a probe as soon as an SLO is provably broken (same limits, less time)"},
};
#undef W

#define S(f) offsetof(sr_search_opts, f)
static const base_opt search_rows[] = {
    {"search.axes", "axis", BASE_OPT_STRV, S(axes), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "NAME=VALUES",
     "a search dimension (hardware, tp, pp, dp, ep, replicas, max_num_seqs, "
     "max_num_batched_tokens, chunked_prefill, pd) or any run setting, with its values"},
    {"search.gpus", "gpus", BASE_OPT_INT, S(gpus), "8", NULL, 1, 1e6, 0, "N",
     "GPU budget: configurations use at most N GPUs (TP×PP×DP×replicas)"},
    {"search.price", "price", BASE_OPT_STRV, S(price), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "HW=USD/h", "price of one GPU-hour of HW, e.g. h100-sxm=2.99/h (overrides the table)"},
    {"search.prices", "prices", BASE_OPT_STRING, S(prices), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "FILE", "GPU price table JSON (default: the shipped one, dated 2026-05: docs/sweep.md)"},
    {"search.estimate_prune", "estimate-prune", BASE_OPT_BOOL, S(estimate_prune), "true", NULL, 0,
     0, 0, NULL,
     "reject without simulating configurations whose roofline lower bounds break an SLO"},
};
#undef S

#define C(f) offsetof(sr_cli_opts, f)
static const base_opt cli_rows[] = {
    {"jobs", "jobs", BASE_OPT_INT, C(jobs), NULL, NULL, 1, 4096,
     BASE_OPT_NULLABLE | BASE_OPT_CLI_ONLY, "N", "simulations in parallel (-j N; default: cores)"},
    {"shard", "shard", BASE_OPT_STRING, C(shard), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_CLI_ONLY, "K/N",
     "run only points i with i mod N = K−1 and write a shard file for `servesim merge`"},
    {"keep_runs", "keep-runs", BASE_OPT_STRING, C(keep_runs), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_CLI_ONLY, "DIR",
     "write each point's full run outputs to DIR/point-NNNNNN/ (find-max: the run at the limit)"},
};
#undef C

void
sr_schema_init(sr_schema *s, bool search)
{
    memset(s, 0, sizeof *s);
    s->tables[0] = (base_opt_table){"Sweep and SLA limit", sweep_rows, G_N_ELEMENTS(sweep_rows),
                                    offsetof(sr_args, sweep)};
    s->tables[1] = (base_opt_table){"Search", search_rows, G_N_ELEMENTS(search_rows),
                                    offsetof(sr_args, search)};
    s->tables[2] =
        (base_opt_table){"Execution", cli_rows, G_N_ELEMENTS(cli_rows), offsetof(sr_args, cli)};
    /* Every table of the run's configuration (sim_config_schema: one source of truth, so a new
     * module's settings are sweepable without touching this file), moved under sr_args.cfg;
     * the run's own "sweep"/"search" rows are replaced by the tables above. */
    const base_opt_set *run = sim_config_schema();
    size_t nt = 3;
    for (size_t t = 0; t < run->n; t++) {
        base_opt_table tb = run->tables[t];
        tb.base_offset += offsetof(sr_args, cfg);
        if (tb.opts == sim_options_table.opts) {
            size_t n = 0;
            for (size_t i = 0; i < tb.n; i++) {
                const base_opt *o = &tb.opts[i];
                if (strcmp(o->path, "sweep") == 0 || strcmp(o->path, "search") == 0)
                    continue;
                g_assert(n < G_N_ELEMENTS(s->sim_rows));
                s->sim_rows[n++] = *o;
            }
            tb.opts = s->sim_rows;
            tb.n = n;
        }
        g_assert(nt < G_N_ELEMENTS(s->tables));
        s->tables[nt++] = tb;
    }
    s->set = (base_opt_set){s->tables, nt};
    size_t h = 0;
    if (search) {
        s->help_tables[h++] = s->tables[1];
        size_t k = 0;
        for (size_t i = 0; i < G_N_ELEMENTS(sweep_rows); i++)
            if (strcmp(sweep_rows[i].path, "sweep.axes") != 0) {
                g_assert(k < G_N_ELEMENTS(s->sweep_help_rows));
                s->sweep_help_rows[k++] = sweep_rows[i];
            }
        s->help_tables[h++] = (base_opt_table){"SLA limit", s->sweep_help_rows, k, 0};
    } else {
        s->help_tables[h++] = s->tables[0];
    }
    for (size_t i = 2; i < nt; i++)
        s->help_tables[h++] = s->tables[i];
    s->help = (base_opt_set){s->help_tables, h};
}

gboolean
sr_args_parse(sr_args *a, const sr_schema *s, int argc, char **argv, GError **error)
{
    memset(a, 0, sizeof *a);
    base_opts_defaults(&s->set, a);
    g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < argc; i++) {
        const char *x = argv[i];
        if (strcmp(x, "--") == 0) {
            for (; i < argc; i++)
                g_ptr_array_add(rest, g_strdup(argv[i]));
            break;
        }
        const char *file = NULL;
        if (strcmp(x, "--config") == 0) {
            if (i + 1 >= argc) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "--config: missing FILE");
                return FALSE;
            }
            file = argv[++i];
        } else if (g_str_has_prefix(x, "--config=")) {
            file = x + strlen("--config=");
        }
        if (file != NULL) {
            json_auto_t *root = base_json_load_file(file, error);
            if (root == NULL || !base_opts_load_json(&s->set, a, root, file, error))
                return FALSE;
            continue;
        }
        /* -j N and -jN: make's spelling of --jobs */
        if (strcmp(x, "-j") == 0) {
            g_ptr_array_add(rest, g_strdup("--jobs"));
            continue;
        }
        if (g_str_has_prefix(x, "-j") && g_ascii_isdigit(x[2])) {
            g_ptr_array_add(rest, g_strdup_printf("--jobs=%s", x + 2));
            continue;
        }
        g_ptr_array_add(rest, g_strdup(x));
    }
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    if (!base_opts_parse_args(&s->set, a, (int)rest->len, (char **)rest->pdata, pos, error))
        return FALSE;
    if (pos->len > 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "unexpected argument '%s'",
                    (const char *)pos->pdata[0]);
        return FALSE;
    }
    return TRUE;
}

void
sr_args_clear(sr_args *a, const sr_schema *s)
{
    base_opts_clear(&s->set, a);
}

char **
sr_axis_specs(char *const *axes)
{
    GPtrArray *out = g_ptr_array_new();
    for (size_t i = 0; axes != NULL && axes[i] != NULL; i++) {
        if (strchr(axes[i], '=') == NULL && out->len > 0) {
            char *prev = out->pdata[out->len - 1];
            out->pdata[out->len - 1] = g_strconcat(prev, ",", axes[i], NULL);
            g_free(prev);
        } else {
            g_ptr_array_add(out, g_strdup(axes[i]));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* ---- options ------------------------------------------------------------------------- */

/* Bracketing step from an estimate (usually within ±30 % of the limit): the largest
 * (1 + tol)^(2^k) ≤ 1.3, so the first bracket [x, x·growth] bisects to the tolerance in exactly
 * k probes (1.05^4 = 1.2155 for 5 %; 1.02^8 = 1.1717 for 2 %) instead of wasting one. */
static double
estimate_growth(double tol)
{
    double g = 1.0 + tol;
    while (g * g <= 1.3)
        g *= g;
    return g;
}

gboolean
sr_params_from_args(sr_params *p, const sr_args *a, GError **error)
{
    memset(p, 0, sizeof *p);
    const sr_sweep_opts *w = &a->sweep;
    p->mode = w->find_max == NULL                       ? SR_PLAIN
              : strcmp(w->find_max, "concurrency") == 0 ? SR_FIND_CONCURRENCY
                                                        : SR_FIND_RATE;
    if (!sw_slo_parse((const char *const *)w->slo, &p->slo, error))
        return FALSE;
    if (p->mode != SR_PLAIN && p->slo.n == 0) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--find-max needs --slo (e.g. --slo ttft_p99:500,tpot_p99:50 or "
                    "--slo mlperf:llama3_1-8b)");
        return FALSE;
    }
    if (sw_slo_needs_goodput(&p->slo) && a->cfg.sim.goodput == NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--slo goodput:F needs the per-request bounds a good request meets: "
                    "--goodput ttft:MS,tpot:MS[,e2el:MS]");
        return FALSE;
    }
    p->replicates = (int)w->replicates;
    if (p->mode == SR_PLAIN && p->replicates > 1) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--replicates needs --find-max (for a plain sweep, add a seed axis: "
                    "--sweep seed=1:5:1)");
        return FALSE;
    }
    double b;
    if (w->band == NULL || strcmp(w->band, "auto") == 0) {
        p->band = (double)NAN;
    } else if (strcmp(w->band, "none") == 0) {
        p->band = -1.0;
    } else if (base_parse_double(w->band, &b) && b >= 0 && b < 0.9) {
        p->band = b;
    } else {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--band %s: expected auto, none or a fraction in [0, 0.9)", w->band);
        return FALSE;
    }
    bool conc = p->mode == SR_FIND_CONCURRENCY;
    const wl_options *wl = &a->cfg.wl;
    double start =
        !isnan(w->start) ? w->start
        : conc ? (wl->max_concurrency != BASE_OPT_UNSET_INT ? (double)wl->max_concurrency : 1.0)
        : isfinite(wl->rate) ? wl->rate
                             : 1.0;
    p->start_auto = isnan(w->start);
    p->early_stop = w->early_stop;
    p->fm = (sw_findmax_params){
        .start = start,
        .min = !isnan(w->min) ? w->min
               : conc         ? 1.0
                              : 0.01,
        .max = !isnan(w->max) ? w->max
               : conc         ? 1e6
                              : 1e5,
        .growth = isnan(w->start) ? estimate_growth(w->tolerance) : 2.0,
        .rel_tol = w->tolerance,
        .integer = conc,
    };
    if (conc && (p->fm.min != floor(p->fm.min) || p->fm.max != floor(p->fm.max))) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--find-max concurrency: --find-max-min and --find-max-max must be integers");
        return FALSE;
    }
    if (p->fm.min > p->fm.max) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--find-max-min %g is above --find-max-max %g", p->fm.min, p->fm.max);
        return FALSE;
    }
    p->jobs = a->cli.jobs != BASE_OPT_UNSET_INT ? (int)a->cli.jobs : (int)g_get_num_processors();
    p->keep_runs = a->cli.keep_runs;
    return TRUE;
}

json_t *
sr_params_to_json(const sr_params *p)
{
    json_t *o = json_object();
    g_autofree char *slo = sw_slo_to_string(&p->slo);
    json_object_set_new(o, "slo", json_string(slo));
    if (p->mode == SR_PLAIN) {
        json_object_set_new(o, "find_max", json_null());
        return o;
    }
    json_object_set_new(o, "find_max",
                        json_string(p->mode == SR_FIND_RATE ? "rate" : "concurrency"));
    json_object_set_new(o, "start",
                        p->start_auto ? json_string("estimate") : base_json_real(p->fm.start));
    json_object_set_new(o, "min", base_json_real(p->fm.min));
    json_object_set_new(o, "max", base_json_real(p->fm.max));
    json_object_set_new(o, "growth", base_json_real(p->fm.growth));
    json_object_set_new(o, "tolerance", base_json_real(p->fm.rel_tol));
    json_object_set_new(o, "replicates", json_integer(p->replicates));
    json_object_set_new(o, "early_stop", json_boolean(p->early_stop));
    json_object_set_new(o, "band",
                        isnan(p->band) ? json_string("auto")
                        : p->band < 0  ? json_string("none")
                                       : base_json_real(p->band));
    return o;
}
