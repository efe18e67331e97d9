/* tools/sweeprun.c: the schema, options and parallel execution shared by `sweep` and `search`
 * (see sweeprun.h). A find-max task probes loads with the same seed (common random numbers),
 * keeping the metrics of the largest load that met the SLOs and of the smallest that broke
 * them. */
#include "tools/sweeprun.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/json.h"
#include "timemodel/setup.h"
#include "tools/cli.h"
#include "tools/runner.h"
#include "workloads/workload.h"

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
    size_t n = 0;
    for (size_t i = 0; i < sim_options_table.n; i++) {
        const base_opt *o = &sim_options_table.opts[i];
        if (strcmp(o->path, "sweep") == 0 || strcmp(o->path, "search") == 0)
            continue;
        g_assert(n < G_N_ELEMENTS(s->sim_rows));
        s->sim_rows[n++] = *o;
    }
    s->tables[0] = (base_opt_table){"Sweep and SLA limit", sweep_rows, G_N_ELEMENTS(sweep_rows),
                                    offsetof(sr_args, sweep)};
    s->tables[1] = (base_opt_table){"Search", search_rows, G_N_ELEMENTS(search_rows),
                                    offsetof(sr_args, search)};
    s->tables[2] =
        (base_opt_table){"Execution", cli_rows, G_N_ELEMENTS(cli_rows), offsetof(sr_args, cli)};
    s->tables[3] = tm_options_table;
    s->tables[3].base_offset = offsetof(sr_args, cfg.tm);
    s->tables[4] = wl_options_table;
    s->tables[4].base_offset = offsetof(sr_args, cfg.wl);
    s->tables[5] =
        (base_opt_table){sim_options_table.title, s->sim_rows, n, offsetof(sr_args, cfg.sim)};
    s->set = (base_opt_set){s->tables, G_N_ELEMENTS(s->tables)};
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
    for (size_t i = 2; i < G_N_ELEMENTS(s->tables); i++)
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
        /* from an estimate the limit is usually within ±30 %: bracket in small steps */
        .growth = isnan(w->start) ? 1.25 : 2.0,
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

void
sr_point_clear(sr_point *pt)
{
    sim_config_clear(&pt->cfg);
    g_clear_pointer(&pt->label, g_free);
    g_clear_pointer(&pt->out, g_free);
}

gboolean
sr_point_init(sr_point *pt,
              const sim_config *base,
              const sw_grid *g,
              uint64_t gi,
              uint64_t index,
              GError **error)
{
    memset(pt, 0, sizeof *pt);
    pt->index = index;
    pt->band = (double)NAN;
    sim_config_copy(&pt->cfg, base);
    GString *label = g_string_new(NULL);
    for (guint a = 0; a < sw_grid_naxes(g); a++)
        g_string_append_printf(label, "%s%s=%s", a > 0 ? ", " : "", sw_grid_axis(g, a)->name,
                               sw_grid_value(g, gi, a));
    pt->label = g_string_free(label, FALSE);
    if (!sw_grid_apply(g, sim_config_schema(), &pt->cfg, gi, error)) {
        g_prefix_error(error, "point %" PRIu64 " (%s): ", index, pt->label);
        return FALSE;
    }
    return TRUE;
}

static int64_t
or_zero(int64_t v)
{
    return v == BASE_OPT_UNSET_INT ? 0 : v;
}

gboolean
sr_point_check(const sr_point *pt, tm_memory_plan *plan, bool *no_fit, GError **error)
{
    GError *e = NULL;
    if (no_fit != NULL)
        *no_fit = false;
    g_autoptr(tm_setup) s = tm_setup_new(&pt->cfg.tm, &e);
    tm_memory_plan local;
    if (plan == NULL)
        plan = &local;
    memset(plan, 0, sizeof *plan);
    if (s != NULL) {
        const sim_options *o = &pt->cfg.sim;
        tm_memory_args ma = {
            .gpu_memory_utilization = o->gpu_memory_utilization,
            .block_size = or_zero(o->block_size),
            .max_model_len = or_zero(o->max_model_len),
            .max_num_batched_tokens = or_zero(o->max_num_batched_tokens),
            .max_num_seqs = or_zero(o->max_num_seqs),
        };
        if (tm_setup_memory_plan(s, &ma, plan, &e) ||
            o->num_gpu_blocks_override != BASE_OPT_UNSET_INT) {
            g_clear_error(&e);
            /* the scheduler's own constraints (sim_cluster_new checks them too) */
            tm_vllm_defaults d;
            tm_setup_vllm_defaults(s, &d);
            int64_t mnbt = o->max_num_batched_tokens != BASE_OPT_UNSET_INT
                               ? o->max_num_batched_tokens
                               : d.max_num_batched_tokens;
            int64_t mml =
                o->max_model_len != BASE_OPT_UNSET_INT ? o->max_model_len : d.max_model_len;
            int64_t bs = o->block_size != BASE_OPT_UNSET_INT ? o->block_size : d.block_size;
            if (!o->enable_chunked_prefill && mnbt < mml) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "without chunked prefill max_num_batched_tokens (%" PRId64
                            ") must be at least max_model_len (%" PRId64 ")",
                            mnbt, mml);
                return FALSE;
            }
            if (mnbt < bs) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "max_num_batched_tokens (%" PRId64 ") is smaller than the block size "
                            "(%" PRId64 ")",
                            mnbt, bs);
                return FALSE;
            }
            return TRUE;
        }
    }
    if (no_fit != NULL)
        *no_fit = g_error_matches(e, TM_ERROR, TM_ERROR_NO_FIT);
    g_propagate_error(error, e);
    return FALSE;
}

gboolean
sr_workload_stats_read(const sim_config *cfg, sr_workload_stats *out, GError **error)
{
    memset(out, 0, sizeof *out);
    wl_open_params wp = {(uint64_t)cfg->sim.seed,
                         cfg->sim.max_model_len != BASE_OPT_UNSET_INT ? cfg->sim.max_model_len : 0};
    g_autoptr(wl_source) src = wl_open(&cfg->wl, &wp, error);
    if (src == NULL)
        return FALSE;
    double pin = 0, pout = 0;
    wl_request r;
    int rc;
    while (out->requests < 100000 && (rc = wl_source_next(src, &r, error)) == 1) {
        pin += r.prompt_tokens;
        pout += r.output_tokens;
        out->requests++;
    }
    if (out->requests < 100000 && rc < 0)
        return FALSE;
    out->prompt_mean = out->requests > 0 ? pin / (double)out->requests : 0;
    out->output_mean = out->requests > 0 ? pout / (double)out->requests : 0;
    return TRUE;
}

/* Step time of B sequences decoding at context C (one new token each). */
static double
decode_step(const tm_timemodel *tm, uint32_t k, int64_t b, double c)
{
    tm_batch bt;
    tm_batch_init(&bt, k);
    for (int64_t i = 0; i < b; i++)
        tm_batch_add(&bt, 1, (uint64_t)c, true);
    return tm_step_s(tm, &bt, NULL);
}

void
sr_point_estimate(sr_point *pt, const sr_params *p, const sr_workload_stats *ws)
{
    pt->start = (double)NAN;
    if (p->mode == SR_PLAIN || ws->requests == 0 || ws->output_mean <= 0)
        return;
    g_autoptr(tm_setup) s = tm_setup_new(&pt->cfg.tm, NULL);
    if (s == NULL)
        return;
    const sim_options *o = &pt->cfg.sim;
    if (!isnan(o->step_overhead_us))
        tm_setup_params(s)->step_overhead_s = o->step_overhead_us * 1e-6;
    tm_vllm_defaults d;
    tm_setup_vllm_defaults(s, &d);
    int64_t mns = o->max_num_seqs != BASE_OPT_UNSET_INT ? o->max_num_seqs : d.max_num_seqs;
    int64_t mnbt = o->max_num_batched_tokens != BASE_OPT_UNSET_INT ? o->max_num_batched_tokens
                                                                   : d.max_num_batched_tokens;
    tm_memory_plan plan;
    if (!sr_point_check(pt, &plan, NULL, NULL))
        return;
    double per_req = ws->prompt_mean + ws->output_mean;
    int64_t bmax = MIN(mns, (int64_t)((double)plan.kv_tokens / fmax(per_req, 1.0)));
    bmax = MAX(bmax, 1);
    double bound_s = (double)INFINITY;
    for (guint i = 0; i < p->slo.n; i++) {
        int m = p->slo.t[i].metric;
        if (m < SW_LAT_COUNT * SW_STAT_COUNT &&
            (m / SW_STAT_COUNT == SW_LAT_TPOT || m / SW_STAT_COUNT == SW_LAT_ITL))
            bound_s = fmin(bound_s, p->slo.t[i].bound * 1e-3);
    }
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    uint32_t k = tm_setup_dsa_topk(s);
    double ctx = ws->prompt_mean + ws->output_mean / 2;
    int64_t lo = 1, hi = bmax; /* largest B with t_d(B) ≤ 0.8 · bound (monotone in B) */
    if (isfinite(bound_s) && decode_step(tm, k, bmax, ctx) > 0.8 * bound_s) {
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            if (decode_step(tm, k, mid, ctx) <= 0.8 * bound_s)
                lo = mid;
            else
                hi = mid - 1;
        }
        bmax = lo;
    }
    int64_t chunk = MIN(mnbt, 2048);
    tm_batch pf;
    tm_batch_init(&pf, k);
    tm_batch_add(&pf, (uint64_t)chunk, 0, true);
    double t_tok = tm_step_s(tm, &pf, NULL) / (double)chunk;
    double b = (double)bmax, reps = (double)o->replicas;
    double est =
        p->mode == SR_FIND_CONCURRENCY
            ? reps * b
            : reps * b /
                  (ws->output_mean * decode_step(tm, k, bmax, ctx) + b * ws->prompt_mean * t_tok);
    if (!(est > 0) || !isfinite(est))
        return;
    /* 3 significant digits: a tidy, platform-stable start */
    double e10 = pow(10.0, floor(log10(est)) - 2);
    pt->start = fmax(round(est / e10) * e10, p->fm.min);
}

/* The load never changes the number of requests of a workload without a time window, start
 * offset or stages; warm-up / cool-down and over-length rejection make the kept set depend on
 * it, so those disable the early stop. */
static bool
count_is_fixed(const sim_config *c)
{
    const wl_options *w = &c->wl;
    return isnan(w->duration_s) && w->start_s == 0 && w->stages == NULL &&
           (w->over_length == NULL || strcmp(w->over_length, "reject") != 0) &&
           c->sim.warmup_s == 0 && c->sim.cooldown_s == 0;
}

gboolean
sr_points_prepare(const sr_params *p,
                  const sim_config *base,
                  bool workload_varies,
                  sr_point *points,
                  guint n,
                  GError **error)
{
    if (p->mode == SR_PLAIN || n == 0)
        return TRUE;
    sr_workload_stats ws;
    if (!sr_workload_stats_read(base, &ws, error))
        return FALSE;
    bool complete = ws.requests < 100000;
    for (guint i = 0; i < n; i++) {
        if (p->start_auto)
            sr_point_estimate(&points[i], p, &ws);
        points[i].nreq =
            p->early_stop && complete && !workload_varies && count_is_fixed(&points[i].cfg)
                ? ws.requests
                : 0;
    }
    return TRUE;
}

json_t *
sr_base_json(const sim_config *base)
{
    json_t *j = sim_config_to_json(base);
    json_object_del(j, "outputs");
    return j;
}

gboolean
sr_point_resolve_band(sr_point *pt, const sr_params *p, GError **error)
{
    if (p->mode == SR_PLAIN || p->band < 0) {
        pt->band = (double)NAN;
        return TRUE;
    }
    if (!isnan(p->band)) {
        pt->band = p->band > 0 ? p->band : (double)NAN;
        return TRUE;
    }
    g_autoptr(tm_setup) s = tm_setup_new(&pt->cfg.tm, error);
    if (s == NULL)
        return FALSE;
    pt->band = tm_setup_calibration_cv_mape(s);
    return TRUE;
}

/* ---- tasks ---------------------------------------------------------------------------- */

typedef struct task {
    const sr_params *p;
    sr_point *pt;
    int seed_offset;
    double scale;    /* step-time scale (1 = as modelled) */
    bool keep;       /* write the run outputs (--keep-runs) */
    bool skip;       /* a band task of a point without a band */
    sr_outcome *out; /* the point's slot for this task */
    GError *error;   /* set on failure */
    int code;        /* exit code on failure */
} task;

static void
set_load(sim_config *c, sr_mode mode, double load)
{
    if (mode == SR_FIND_RATE)
        c->wl.rate = load;
    else if (mode == SR_FIND_CONCURRENCY)
        c->wl.max_concurrency = (int64_t)load;
}

typedef struct watch watch;
static void watch_attach(void *ctx, sim_engine *e);

/* One simulation of T's point at LOAD (ignored in plain mode); OUTPUT_DIR non-NULL writes the
 * run's outputs there. */
static int
simulate(task *t, double load, const char *output_dir, watch *w, sw_metrics *m, GError **error)
{
    sim_config c;
    sim_config_copy(&c, &t->pt->cfg);
    c.sim.seed += t->seed_offset;
    set_load(&c, t->p->mode, load);
    runner_flags fl = {.no_outputs = output_dir == NULL,
                       .quiet = true,
                       .step_time_scale = t->scale,
                       .on_engine = w != NULL ? watch_attach : NULL,
                       .on_engine_ctx = w};
    if (output_dir != NULL) {
        g_free(c.sim.output_dir);
        c.sim.output_dir = g_strdup(output_dir);
    }
    runner_result rr;
    int code = runner_run_e(&c, &fl, &rr, error);
    sim_config_clear(&c);
    if (code != CLI_OK) {
        t->code = code;
        return -1;
    }
    sw_metrics_from_result(m, &rr.metrics, rr.utilization, rr.kv_peak);
    return 0;
}

/* Early stop of a probe that provably breaks an SLO (see sr_points_prepare). */
struct watch {
    const sw_slo *slo;
    sim_engine *e;
    uint64_t n;                /* requests of the workload */
    uint64_t need[SW_SLO_MAX]; /* values over the bound that break a percentile term */
    uint64_t over[SW_SLO_MAX]; /* values seen over the bound */
    double sum[SW_SLO_MAX];    /* Σ values seen (mean terms), ns */
    int stopped_term;          /* the term that stopped the run, −1 */
};

/* The latency (SW_LAT_*) a term bounds from above and a probe can watch, or −1. */
static int
term_lat(const sw_slo_term *t)
{
    int m = t->metric;
    if (m >= SW_LAT_COUNT * SW_STAT_COUNT || m / SW_STAT_COUNT == SW_LAT_ITL)
        return -1;
    return m / SW_STAT_COUNT;
}

static void
watch_value(watch *w, int lat, double v_ns)
{
    for (guint i = 0; i < w->slo->n && w->stopped_term < 0; i++) {
        const sw_slo_term *t = &w->slo->t[i];
        if (term_lat(t) != lat)
            continue;
        /* strictly over, with a margin for the metrics module's own rounding */
        double bound_ns = t->bound * 1e6 * (1 + 1e-12);
        if (t->metric % SW_STAT_COUNT == SW_STAT_MEAN) {
            w->sum[i] += v_ns;
            if (w->sum[i] > bound_ns * (double)w->n)
                w->stopped_term = (int)i;
        } else if (v_ns > bound_ns && ++w->over[i] >= w->need[i]) {
            w->stopped_term = (int)i;
        }
    }
    if (w->stopped_term >= 0)
        sim_engine_stop(w->e);
}

static void
watch_token(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    const sim_token_event *t = payload;
    if (t->gap_ns < 0)
        watch_value(ctx, SW_LAT_TTFT, (double)(t->time_ns - t->send_ns));
}

static void
watch_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    const sim_request_record *r = payload;
    if (r->failed)
        return;
    watch_value(ctx, SW_LAT_E2EL, (double)(r->finish_ns - r->send_ns));
    if (r->output_tokens > 1 && r->first_token_ns >= 0)
        watch_value(ctx, SW_LAT_TPOT,
                    (double)(r->finish_ns - r->first_token_ns) / (double)(r->output_tokens - 1));
}

static void
watch_attach(void *ctx, sim_engine *e)
{
    watch *w = ctx;
    w->e = e;
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, watch_token, w);
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, watch_done, w);
}

static void
watch_init(watch *w, const sw_slo *slo, uint64_t n)
{
    memset(w, 0, sizeof *w);
    w->slo = slo;
    w->n = n;
    w->stopped_term = -1;
    static const uint64_t pct[SW_STAT_COUNT] = {0, 50, 90, 95, 99};
    for (guint i = 0; i < slo->n; i++) {
        int stat = slo->t[i].metric % SW_STAT_COUNT;
        /* N − ⌊p·(N − 1)/100⌋, in integers */
        w->need[i] = stat == SW_STAT_MEAN || n == 0 ? 0 : n - (pct[stat] * (n - 1)) / 100;
    }
}

static int
probe(void *ctx, double load, GError **error)
{
    task *t = ctx;
    sw_metrics m;
    watch w;
    watch_init(&w, &t->p->slo, t->pt->nreq);
    if (simulate(t, load, NULL, t->pt->nreq > 0 ? &w : NULL, &m, error) < 0)
        return -1;
    int binding = -1;
    bool ok = w.stopped_term < 0 && sw_slo_check(&t->p->slo, &m, &binding);
    if (w.stopped_term >= 0)
        binding = w.stopped_term;
    sr_outcome *o = t->out;
    if (ok && (!o->have_lo || load > o->fm.lo)) {
        o->lo = m;
        o->have_lo = true;
        o->fm.lo = load;
    } else if (!ok && (!o->have_hi || load < o->fm.hi)) {
        o->hi = m;
        o->have_hi = true;
        o->fm.hi = load;
        o->hi_binding = binding;
        o->hi_stopped = w.stopped_term >= 0;
    }
    /* a concurrency cap at or above the requests sent changes nothing any more */
    if (ok && t->p->mode == SR_FIND_CONCURRENCY && load >= (double)m.sent)
        return 2;
    return ok ? 1 : 0;
}

static char *
keep_dir(const task *t)
{
    g_autofree char *name = g_strdup_printf("point-%06" PRIu64, t->pt->index);
    return g_build_filename(t->p->keep_runs, name, NULL);
}

static void
run_task(task *t)
{
    sr_outcome *o = t->out;
    o->ran = true;
    o->hi_binding = -1;
    o->binding = -1;
    if (t->p->mode == SR_PLAIN) {
        g_autofree char *dir = t->keep ? keep_dir(t) : NULL;
        if (simulate(t, 0, dir, NULL, &o->m, &t->error) < 0)
            return;
        o->slo_ok = sw_slo_check(&t->p->slo, &o->m, &o->binding);
        return;
    }
    sw_findmax_result r;
    o->fm.lo = 0;
    o->fm.hi = (double)NAN;
    sw_findmax_params fm = t->p->fm;
    if (!isnan(t->pt->start))
        fm.start = t->pt->start;
    if (!sw_findmax_run(&fm, probe, t, &r, &t->error))
        return;
    o->fm = r;
    if (t->keep && r.lo > 0) {
        g_autofree char *dir = keep_dir(t);
        sw_metrics m;
        simulate(t, r.lo, dir, NULL, &m, &t->error);
    }
}

typedef struct pool {
    task *tasks;
    guint n;
    gint next; /* next task to claim (atomic) */
    gint done; /* tasks finished (atomic) */
} pool;

static gpointer
worker(gpointer data)
{
    pool *pl = data;
    for (;;) {
        gint i = g_atomic_int_add(&pl->next, 1);
        if (i >= (gint)pl->n)
            return NULL;
        task *t = &pl->tasks[i];
        if (!t->skip)
            run_task(t);
        g_atomic_int_inc(&pl->done);
    }
}

static void
progress_line(const sr_params *p, gint done, guint total, double t0)
{
    double el = cli_now_s() - t0;
    double eta = done > 0 ? el / done * (double)(total - (guint)done) : 0.0;
    fprintf(stderr, "\rservesim %s: %d/%u simulations done, %.0f s elapsed, ETA %.0f s   ", p->what,
            done, total, el, eta);
    fflush(stderr);
}

int
sr_run(const sr_params *p, sr_point *points, guint n, GError **error)
{
    guint per = (guint)p->replicates + (p->mode == SR_PLAIN ? 0u : 2u);
    if (p->mode == SR_PLAIN)
        per = 1;
    g_autofree task *tasks = g_new0(task, (gsize)n * per + 1);
    guint nt = 0;
    for (guint i = 0; i < n; i++) {
        sr_point *pt = &points[i];
        g_free(pt->out);
        pt->out = g_new0(sr_outcome, per);
        for (guint k = 0; k < per; k++) {
            task *t = &tasks[nt++];
            t->p = p;
            t->pt = pt;
            t->out = &pt->out[k];
            t->scale = 1.0;
            bool band_task = p->mode != SR_PLAIN && k >= (guint)p->replicates;
            if (band_task) {
                t->skip = isnan(pt->band);
                /* k = R: slower steps (the pessimistic limit); k = R + 1: faster */
                if (!t->skip)
                    t->scale = k == (guint)p->replicates ? 1.0 + pt->band : 1.0 - pt->band;
            } else {
                t->seed_offset = (int)k;
            }
            t->keep = k == 0 && p->keep_runs != NULL;
        }
    }
    /* GLib state initialised lazily under its own futex-based locks, which ThreadSanitizer
     * cannot see: touch it here, before the workers exist (thread creation orders it) */
    (void)g_get_tmp_dir();
    pool pl = {tasks, nt, 0, 0};
    guint nthreads = (guint)MAX(1, MIN(p->jobs, (int)MAX(nt, 1u)));
    g_autoptr(GPtrArray) threads = g_ptr_array_new();
    double t0 = cli_now_s();
    for (guint i = 0; i < nthreads; i++)
        g_ptr_array_add(threads, g_thread_new("servesim-sweep", worker, &pl));
    if (p->progress) {
        gint last = -1;
        for (;;) {
            gint done = g_atomic_int_get(&pl.done);
            if (done != last) {
                progress_line(p, done, nt, t0);
                last = done;
            }
            if (done >= (gint)nt)
                break;
            g_usleep(200000);
        }
        fputs("\r\033[K", stderr);
    }
    for (guint i = 0; i < threads->len; i++)
        g_thread_join(threads->pdata[i]);
    int code = CLI_OK;
    for (guint i = 0; i < nt; i++) {
        task *t = &tasks[i];
        if (t->error != NULL && code == CLI_OK) {
            code = t->code != CLI_OK ? t->code : CLI_RUNTIME;
            g_propagate_prefixed_error(error, t->error, "point %" PRIu64 " (%s): ", t->pt->index,
                                       t->pt->label != NULL ? t->pt->label : "base");
            t->error = NULL;
        }
        g_clear_error(&t->error);
    }
    return code;
}

/* ---- rows ------------------------------------------------------------------------------ */

json_t *
sr_axis_value_json(const sw_axis *a, const char *v)
{
    if (a->opt != NULL && strcmp(v, "auto") != 0) {
        int64_t i;
        double d;
        if (a->opt->type == BASE_OPT_INT && base_parse_int64(v, &i))
            return json_integer(i);
        if (a->opt->type == BASE_OPT_DOUBLE && base_parse_double(v, &d))
            return base_json_real(d);
        if (a->opt->type == BASE_OPT_BOOL)
            return json_boolean(strcmp(v, "true") == 0);
    }
    return json_string(v);
}

static const char *
status_name(sw_findmax_status s)
{
    switch (s) {
    case SW_FINDMAX_FOUND:
        return "found";
    case SW_FINDMAX_NOT_REACHED:
        return "not reached";
    case SW_FINDMAX_NONE:
        return "none";
    }
    return "?";
}

double
sr_limit(const sr_point *pt, const sw_metrics **at)
{
    const sr_outcome *o = &pt->out[0];
    if (at != NULL)
        *at = o->have_lo ? &o->lo : NULL;
    return o->fm.lo;
}

static json_t *
opt_real(bool have, double v)
{
    return have ? base_json_real(v) : json_null();
}

/* A load: a real rate or an integer concurrency. */
static json_t *
load_json(const sr_params *p, bool have, double v)
{
    if (!have)
        return json_null();
    return p->mode == SR_FIND_CONCURRENCY ? json_integer((json_int_t)v) : base_json_real(v);
}

void
sr_outcome_to_json(const sr_params *p, const sr_point *pt, json_t *row)
{
    const sr_outcome *o = &pt->out[0];
    if (p->mode == SR_PLAIN) {
        bool slo = p->slo.n > 0;
        json_object_set_new(row, "slo_met", slo ? json_boolean(o->slo_ok) : json_null());
        json_object_set_new(row, "binding",
                            slo && o->binding >= 0
                                ? json_string(sw_slo_metric_name(p->slo.t[o->binding].metric))
                                : json_null());
        sw_metrics_to_json(&o->m, row, "");
        return;
    }
    json_object_set_new(row, "limit_of",
                        json_string(p->mode == SR_FIND_RATE ? "rate" : "concurrency"));
    json_object_set_new(row, "limit", load_json(p, true, o->fm.lo));
    json_object_set_new(row, "limit_status", json_string(status_name(o->fm.status)));
    json_object_set_new(row, "start",
                        load_json(p, true, isnan(pt->start) ? p->fm.start : pt->start));
    const char *bind = o->have_hi && o->hi_binding >= 0
                           ? sw_slo_metric_name(p->slo.t[o->hi_binding].metric)
                           : NULL;
    json_object_set_new(row, "binding", bind ? json_string(bind) : json_null());
    json_object_set_new(row, "binding_bound",
                        bind ? base_json_real(p->slo.t[o->hi_binding].bound) : json_null());
    /* a probe stopped early has partial metrics: its value is not reported */
    json_object_set_new(row, "binding_value_at_hi",
                        bind && !o->hi_stopped
                            ? base_json_real(sw_slo_value(p->slo.t[o->hi_binding].metric, &o->hi))
                            : json_null());
    json_object_set_new(row, "hi_stopped_early",
                        o->have_hi ? json_boolean(o->hi_stopped) : json_null());
    json_object_set_new(row, "bracket_hi", load_json(p, o->have_hi, o->fm.hi));
    json_object_set_new(row, "probes", json_integer(o->fm.probes));
    /* error band: calibration error (step times × 1 ± band) and seeds */
    bool band = !isnan(pt->band);
    const sr_outcome *slow = &pt->out[p->replicates], *fast = &pt->out[p->replicates + 1];
    json_object_set_new(row, "band", opt_real(band, pt->band));
    json_object_set_new(row, "limit_slow_steps", load_json(p, band && slow->ran, slow->fm.lo));
    json_object_set_new(row, "limit_fast_steps", load_json(p, band && fast->ran, fast->fm.lo));
    double smin = o->fm.lo, smax = o->fm.lo;
    for (int r = 1; r < p->replicates; r++) {
        smin = fmin(smin, pt->out[r].fm.lo);
        smax = fmax(smax, pt->out[r].fm.lo);
    }
    json_object_set_new(row, "replicates", json_integer(p->replicates));
    json_object_set_new(row, "limit_seed_min", load_json(p, true, smin));
    json_object_set_new(row, "limit_seed_max", load_json(p, true, smax));
    sw_metrics none;
    memset(&none, 0, sizeof none);
    for (int l = 0; l < SW_LAT_COUNT; l++)
        for (int s = 0; s < SW_STAT_COUNT; s++)
            none.lat_ms[l][s] = (double)NAN;
    none.duration_s = none.request_throughput = none.output_throughput = (double)NAN;
    none.total_token_throughput = none.goodput = none.good_fraction = none.fail_fraction =
        (double)NAN;
    none.utilization = none.kv_peak = (double)NAN;
    sw_metrics_to_json(o->have_lo ? &o->lo : &none, row, "");
}

void
sr_null_outcome_to_json(const sr_params *p, json_t *row)
{
    sr_point pt;
    memset(&pt, 0, sizeof pt);
    pt.band = NAN;
    pt.out = g_new0(sr_outcome, (gsize)p->replicates + 2);
    json_auto_t *tmp = json_object();
    sr_outcome_to_json(p, &pt, tmp);
    g_free(pt.out);
    const char *key;
    json_t *v;
    json_object_foreach(tmp, key, v) {
        (void)v;
        json_object_set_new(row, key, json_null());
    }
}
