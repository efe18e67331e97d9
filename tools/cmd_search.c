/* tools/cmd_search.c: `servesim search`: enumerate deployments of a model for a GPU budget
 * and a workload, prune, simulate the survivors, rank them.
 *   grid     the search dimensions in a fixed order (sweep/search.h: hardware, tp, pp, dp, ep,
 *            replicas, max_num_seqs, max_num_batched_tokens, chunked_prefill, pd), each from
 *            --axis or its default (hardware: --hardware; tp: 1, 2, 4, 8 within the budget; ep:
 *            off and on for MoE models; replicas: 1 .. budget; the rest: as configured), then
 *            any other --axis; points using more GPUs than --gpus are not configurations
 *            A pd value P:D makes the point a --pd P:D split (replicas then come from the
 *            split: only replicas = 1 is kept), counting and pricing the GPUs of both pools
 *   prune    1. memory plan (and the time model's validation), for each pool: no simulation
 *               for what does not fit or cannot be laid out; 2. known modelling gaps (none
 *               today, never recommended); 3. roofline lower bounds: a decode step alone (on
 *               the decode pool) already longer than a TPOT/ITL bound breaks it at every load
 *   simulate with --find-max: the SLA limit of each survivor; without: one run at the
 *            configured load, checked against --slo
 *   rank     throughput per GPU at the limit, cost per million tokens from the price table,
 *            Pareto fronts (sweep/search.c finalises the table, also after `servesim merge`)
 * Every configuration is a row; a rejected one says at which stage and why. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "sweep/outputs.h"
#include "sweep/search.h"
#include "timemodel/setup.h"
#include "timemodel/spec.h"
#include "tools/bench.h"
#include "tools/cli.h"
#include "tools/pd.h"
#include "tools/sweeprun.h"

static const char synopsis[] =
    "search [--model M] [--gpus N] [--axis DIM=VALUES ...] [--find-max rate --slo SLO] [FLAGS]";

static const char description[] =
    "Rank deployments of a model for a GPU budget and a workload: every combination of the search\n"
    "dimensions (hardware, tp, pp, dp, ep, replicas, max_num_seqs, max_num_batched_tokens,\n"
    "chunked_prefill, pd; defaults: --hardware, tp 1,2,4,8, ep off/on for MoE models, replicas\n"
    "1..--gpus; pd P:D is a prefill/decode split of P + D replicas, both pools counted and\n"
    "priced) that uses at most --gpus GPUs is a configuration. Configurations that do not fit\n"
    "(memory plan, per pool) or whose roofline lower bounds already break a TPOT/ITL SLO are\n"
    "rejected without simulating;\n"
    "the rest are simulated (with --find-max: their SLA limit). Writes DIR/search.csv and\n"
    "DIR/search.jsonl: every configuration, ranked by output tokens/s per GPU at the SLA, with "
    "the\n"
    "max rate, USD per million tokens (--price HW=USD/h or the shipped table), Pareto marks\n"
    "(throughput per GPU vs TTFT p99 and vs TPOT p99, cost vs E2E p99) and, for rejected ones, "
    "the\n"
    "stage and reason. --shard K/N and `servesim merge` as for sweep. See docs/sweep.md.";

/* Where a configuration stopped. */
typedef struct cfg_info {
    uint64_t gi;       /* grid point */
    int64_t gpus;      /* GPUs it uses (both pools of a PD split) */
    double usd_h;      /* USD per hour of those GPUs (NAN: a price is missing) */
    const char *stage; /* NULL: simulated; "invalid", "memory", "model", "estimate" */
    char *reason;      /* owned */
    sr_point pt;       /* its configuration (a copy goes to the run list when simulated) */
    gint run;          /* index in the run list, −1 */
} cfg_info;

static void
cfg_info_clear(gpointer p)
{
    cfg_info *c = p;
    g_free(c->reason);
    sr_point_clear(&c->pt);
}

/* ---- pools ---------------------------------------------------------------------------- */

/* The pools CFG runs: PD gets the prefill/decode split (tools/pd.h) or stays NULL for
 * co-located replicas; *PREFILL is CFG with the split applied (a copy to clear). FALSE with
 * the run's own error when the split is refused. */
static gboolean
pools_of(const sim_config *cfg, sim_config *prefill, tool_pd **pd, GError **error)
{
    sim_config_copy(prefill, cfg);
    *pd = NULL;
    return tool_pd_prepare(prefill, pd, error);
}

static int64_t
pool_gpus(const sim_config *c)
{
    return c->tm.tp * c->tm.pp * c->tm.dp * c->sim.replicas;
}

/* GPUs CFG uses and what they cost per hour (every pool at its hardware's price). */
static int64_t
deployment(const sim_config *cfg, const sw_prices *prices, double *usd_h)
{
    sim_config p;
    tool_pd *pd = NULL;
    int64_t n;
    if (pools_of(cfg, &p, &pd, NULL) && pd != NULL) {
        const sim_config *d = tool_pd_decode_config(pd);
        n = pool_gpus(&p) + pool_gpus(d);
        *usd_h = (double)pool_gpus(&p) * sw_prices_get(prices, p.tm.hardware) +
                 (double)pool_gpus(d) * sw_prices_get(prices, d->tm.hardware);
    } else {
        n = pool_gpus(cfg);
        *usd_h = (double)n * sw_prices_get(prices, cfg->tm.hardware);
    }
    tool_pd_free(pd);
    sim_config_clear(&p);
    return n;
}

/* ---- the grid ------------------------------------------------------------------------- */

static gboolean
check_pd(const char *v, GError **error)
{
    int64_t a, b;
    g_auto(GStrv) p = g_strsplit(v, ":", -1);
    if (strcmp(v, "none") == 0 || (g_strv_length(p) == 2 && base_parse_int64(p[0], &a) &&
                                   base_parse_int64(p[1], &b) && a > 0 && b > 0))
        return TRUE;
    g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                "axis pd: '%s' is not a prefill:decode split (none, or P:D replicas, e.g. 1:3)", v);
    return FALSE;
}

/* The dimension a user spec NAME=... sets, or NULL for another run setting. */
static const sw_search_dim *
dim_of(const char *name)
{
    const sw_search_dim *d = sw_search_dim_find(name);
    if (d != NULL)
        return d;
    const char *path = NULL;
    if (sw_axis_resolve(sim_config_schema(), name, &path, NULL) == NULL)
        return NULL;
    return sw_search_dim_find(path);
}

static gboolean
build_grid(sw_grid *g, const sr_args *a, char **specs, GError **error)
{
    const sim_config *cfg = &a->cfg;
    sim_config scratch;
    sim_config_copy(&scratch, cfg);
    gboolean ok = TRUE;
    g_auto(tm_model_spec) model = {0};
    bool moe = tm_model_spec_load(&model, cfg->tm.model, NULL) && model.experts > 0;
    for (size_t d = 0; ok && d < sw_search_ndims; d++) {
        const sw_search_dim *dim = &sw_search_dims[d];
        const char *user = NULL;
        g_autofree char *name = NULL;
        for (size_t i = 0; specs[i] != NULL; i++) {
            const char *eq = strchr(specs[i], '=');
            g_autofree char *n =
                eq ? g_strstrip(g_strndup(specs[i], (size_t)(eq - specs[i]))) : g_strdup(specs[i]);
            if (eq != NULL && dim_of(n) == dim) {
                user = eq + 1;
                name = g_steal_pointer(&n);
            }
        }
        g_autofree char *def = NULL;
        if (user == NULL) {
            if (strcmp(dim->name, "hardware") == 0) {
                def = g_strdup(cfg->tm.hardware);
            } else if (strcmp(dim->name, "tp") == 0) {
                GString *s = g_string_new("1");
                for (int64_t tp = 2; tp <= 8 && tp <= a->search.gpus; tp *= 2)
                    g_string_append_printf(s, ",%" PRId64, tp);
                def = g_string_free(s, FALSE);
            } else if (strcmp(dim->name, "ep") == 0 && moe) {
                def = g_strdup("false,true");
            } else if (strcmp(dim->name, "replicas") == 0) {
                def = g_strdup_printf("1:%" PRId64 ":1", a->search.gpus);
            }
            if (def == NULL)
                continue;
            name = g_strdup(dim->name);
        }
        const char *values = user != NULL ? user : def;
        if (dim->path == NULL) {
            g_auto(GStrv) v = g_strsplit(values, ",", -1);
            for (size_t i = 0; ok && v[i] != NULL; i++)
                ok = check_pd(g_strstrip(v[i]), error);
            ok = ok && sw_grid_add_virtual(g, dim->name, (const char *const *)v, error);
        } else {
            ok = sw_grid_add_as(g, sim_config_schema(), &scratch, name, dim->path, values, error);
        }
    }
    /* other run settings, in the order given */
    for (size_t i = 0; ok && specs[i] != NULL; i++) {
        const char *eq = strchr(specs[i], '=');
        g_autofree char *n =
            eq ? g_strstrip(g_strndup(specs[i], (size_t)(eq - specs[i]))) : g_strdup(specs[i]);
        if (eq == NULL || dim_of(n) == NULL)
            ok = sw_grid_add(g, sim_config_schema(), &scratch, specs[i], error);
    }
    sim_config_clear(&scratch);
    return ok;
}

/* ---- pruning -------------------------------------------------------------------------- */

static bool
is_decode_gap_metric(int metric)
{
    return metric < SW_LAT_COUNT * SW_STAT_COUNT &&
           (metric / SW_STAT_COUNT == SW_LAT_TPOT || metric / SW_STAT_COUNT == SW_LAT_ITL);
}

/* The modelling gap C's configuration needs, or NULL. */
static const char *
gap_of(const sw_grid *g, const cfg_info *c)
{
    for (size_t d = 0; d < sw_search_ndims; d++) {
        const sw_search_dim *dim = &sw_search_dims[d];
        if (dim->gap == NULL)
            continue;
        g_autofree char *v = NULL;
        if (dim->path != NULL) {
            v = sw_setting_text(sim_config_schema(), &c->pt.cfg, dim->path);
        } else {
            const sw_axis *ax = sw_grid_find(g, dim->name);
            for (guint k = 0; ax != NULL && k < sw_grid_naxes(g); k++)
                if (sw_grid_axis(g, k) == ax)
                    v = g_strdup(sw_grid_value(g, c->gi, k));
        }
        if (v != NULL && strcmp(v, dim->neutral) != 0)
            return dim->gap;
    }
    return NULL;
}

/* Roofline lower bound on every decode gap: one sequence, one new token, one cached. A TPOT
 * (per request, the mean of its decode gaps) and an ITL (one gap) cannot be shorter, whatever
 * the load, since a step that carries the token of a request costs at least this. With
 * speculative decoding a step yields up to 1 + k tokens of a request (one streamed chunk, so
 * one ITL gap): *TOKENS_PER_STEP gets 1 + k (1 without), the TPOT bound is the step over it. */
static double
min_decode_step_s(const sim_config *cfg, uint32_t *tokens_per_step)
{
    *tokens_per_step = 1;
    g_autoptr(tm_setup) s = tm_setup_new(&cfg->tm, NULL);
    if (s == NULL)
        return 0.0;
    json_t *sj = cfg->sim.speculative_config;
    if (sj != NULL && !json_is_null(sj)) {
        g_auto(tm_spec_config) sc = {0};
        if (tm_spec_config_parse(&sc, sj, tm_setup_model(s), NULL))
            *tokens_per_step = 1 + sc.k;
    }
    if (!isnan(cfg->sim.step_overhead_us))
        tm_setup_params(s)->step_overhead_s = cfg->sim.step_overhead_us * 1e-6;
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    tm_batch b;
    tm_batch_init(&b, tm_setup_dsa_topk(s));
    tm_batch_add(&b, 1, 1, true);
    return tm_step_s(tm, &b, NULL);
}

/* Stages 2 and 3 of the pruning; DECODE: the settings of the pool that decodes. */
static void
prune_gaps_bounds(
    const sw_grid *g, const sr_params *p, bool estimate, cfg_info *c, const sim_config *decode)
{
    const char *gap = gap_of(g, c);
    if (gap != NULL) {
        c->stage = "model";
        c->reason = g_strdup_printf("not simulated faithfully yet: %s", gap);
        return;
    }
    bool any = false;
    for (guint i = 0; i < p->slo.n; i++)
        any |= is_decode_gap_metric(p->slo.t[i].metric);
    if (!estimate || !any)
        return;
    uint32_t per_step;
    double t_ms = min_decode_step_s(decode, &per_step) * 1e3;
    for (guint i = 0; i < p->slo.n; i++) {
        const sw_slo_term *t = &p->slo.t[i];
        bool tpot = t->metric / SW_STAT_COUNT == SW_LAT_TPOT;
        double lb = tpot ? t_ms / per_step : t_ms;
        if (is_decode_gap_metric(t->metric) && lb > t->bound) {
            c->stage = "estimate";
            if (tpot && per_step > 1)
                c->reason = g_strdup_printf(
                    "breaks %s at every load: one decode step alone takes %.4g ms (roofline lower "
                    "bound), %.4g ms per token even with all %u drafts accepted > %g ms",
                    sw_slo_metric_name(t->metric), t_ms, lb, per_step - 1, t->bound);
            else
                c->reason = g_strdup_printf(
                    "breaks %s at every load: one decode step alone takes %.4g ms (roofline lower "
                    "bound) > %g ms",
                    sw_slo_metric_name(t->metric), t_ms, t->bound);
            return;
        }
    }
}

/* sr_point_check on every pool of PT (the memory plan of each pool's GPUs). */
static gboolean
check_pools(
    const sr_point *pt, const sim_config *prefill, const tool_pd *pd, bool *no_fit, GError **error)
{
    if (pd == NULL)
        return sr_point_check(pt, NULL, no_fit, error);
    GError *e = NULL;
    sr_point q = *pt; /* shallow: only its settings are read */
    q.cfg = *prefill;
    if (!sr_point_check(&q, NULL, no_fit, &e)) {
        g_propagate_prefixed_error(error, e, "prefill pool: ");
        return FALSE;
    }
    q.cfg = *tool_pd_decode_config(pd);
    if (!sr_point_check(&q, NULL, no_fit, &e)) {
        g_propagate_prefixed_error(error, e, "decode pool: ");
        return FALSE;
    }
    return TRUE;
}

static void
prune(const sw_grid *g, const sr_params *p, bool estimate, cfg_info *c)
{
    GError *e = NULL;
    bool no_fit = false;
    sim_config prefill;
    tool_pd *pd = NULL;
    if (!pools_of(&c->pt.cfg, &prefill, &pd, &e) ||
        !check_pools(&c->pt, &prefill, pd, &no_fit, &e)) {
        c->stage = no_fit ? "memory" : "invalid";
        c->reason = g_strdup(e->message);
        g_error_free(e);
        tool_pd_free(pd);
        sim_config_clear(&prefill);
        return;
    }
    /* the decode gaps (TPOT, ITL) are the decode pool's steps */
    prune_gaps_bounds(g, p, estimate, c, pd != NULL ? tool_pd_decode_config(pd) : &c->pt.cfg);
    tool_pd_free(pd);
    sim_config_clear(&prefill);
}

/* ---- rows ------------------------------------------------------------------------------ */

static json_t *
real_or_null(double v)
{
    return isfinite(v) ? base_json_real(v) : json_null();
}

static json_t *
make_row(const sr_params *p, const sw_grid *g, const cfg_info *c, const sr_point *run)
{
    json_t *row = json_object();
    json_object_set_new(row, "point", json_integer((json_int_t)c->pt.index));
    for (guint k = 0; k < sw_grid_naxes(g); k++) {
        const sw_axis *ax = sw_grid_axis(g, k);
        json_object_set_new(row, ax->path, sr_axis_value_json(ax, sw_grid_value(g, c->gi, k)));
    }
    json_object_set_new(row, "gpus", json_integer(c->gpus));
    const char *stage = c->stage;
    g_autofree char *reason = g_strdup(c->reason);
    const sw_metrics *m = NULL;
    if (run != NULL) {
        const sr_outcome *o = &run->out[0];
        if (p->mode == SR_PLAIN) {
            m = &o->m;
            if (!o->slo_ok) {
                stage = "slo";
                const sw_slo_term *t = &p->slo.t[o->binding];
                reason = g_strdup_printf("breaks the SLOs at the configured load (%s = %.4g > %g)",
                                         sw_slo_metric_name(t->metric), sw_slo_value(t->metric, m),
                                         t->bound);
            }
        } else {
            sr_limit(run, &m);
            if (o->fm.status == SW_FINDMAX_NONE) {
                stage = "slo";
                const sw_slo_term *t = o->hi_binding >= 0 ? &p->slo.t[o->hi_binding] : NULL;
                reason = t != NULL ? g_strdup_printf("breaks the SLOs at every load down to %g "
                                                     "(%s = %.4g > %g there)",
                                                     o->fm.hi, sw_slo_metric_name(t->metric),
                                                     sw_slo_value(t->metric, &o->hi), t->bound)
                                   : g_strdup("breaks the SLOs at every load");
                m = NULL;
            }
        }
    }
    json_object_set_new(row, "status", json_string(stage == NULL ? "ok" : "rejected"));
    json_object_set_new(row, "stage", stage ? json_string(stage) : json_null());
    json_object_set_new(row, "reason", reason ? json_string(reason) : json_null());
    double gpus = (double)c->gpus;
    double usd_h = c->gpus > 0 ? c->usd_h / gpus : (double)NAN; /* per GPU (pools averaged) */
    double out_tps = m != NULL ? m->output_throughput : (double)NAN;
    double tot_tps = m != NULL ? m->total_token_throughput : (double)NAN;
    json_object_set_new(row, "output_throughput_per_gpu", real_or_null(out_tps / gpus));
    json_object_set_new(row, "usd_per_gpu_hour", real_or_null(usd_h));
    /* USD per hour of the deployment over the tokens it makes in an hour, per million */
    json_object_set_new(
        row, "usd_per_m_output_tokens",
        real_or_null(out_tps > 0 ? usd_h * gpus * 1e6 / (out_tps * 3600) : (double)NAN));
    json_object_set_new(
        row, "usd_per_m_total_tokens",
        real_or_null(tot_tps > 0 ? usd_h * gpus * 1e6 / (tot_tps * 3600) : (double)NAN));
    json_object_set_new(row, "rank", json_null());
    json_object_set_new(row, "pareto_tput_ttft", json_null());
    json_object_set_new(row, "pareto_tput_tpot", json_null());
    json_object_set_new(row, "pareto_cost_e2el", json_null());
    if (run != NULL)
        sr_outcome_to_json(p, run, row);
    else
        sr_null_outcome_to_json(p, row);
    return row;
}

static const char *
text(const json_t *row, const char *key, char *buf, size_t n)
{
    const json_t *v = json_object_get(row, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        g_snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        g_snprintf(buf, n, "%.4g", json_real_value(v));
    else if (json_is_boolean(v))
        g_snprintf(buf, n, "%s", json_is_true(v) ? "on" : "off");
    else
        g_snprintf(buf, n, "-");
    return buf;
}

static void
print_ranked(const sr_params *p, const sw_grid *g, const GPtrArray *rows, guint shown)
{
    g_autoptr(GString) t = g_string_new(NULL);
    g_string_append_printf(t, "%-5s", "rank");
    for (guint k = 0; k < sw_grid_naxes(g); k++)
        g_string_append_printf(t, " %10s", sw_grid_axis(g, k)->name);
    g_string_append_printf(t, " %5s %10s %11s %9s %11s %11s  %s\n", "gpus",
                           p->mode == SR_FIND_RATE          ? "max req/s"
                           : p->mode == SR_FIND_CONCURRENCY ? "max conc."
                                                            : "req/s",
                           "tok/s/GPU", "$/M tok", "TTFT p99", "TPOT p99", "Pareto");
    guint n = 0;
    for (guint i = 0; i < rows->len && n < shown; i++) {
        const json_t *r = rows->pdata[i];
        if (!json_is_integer(json_object_get(r, "rank")))
            break;
        n++;
        char b[64];
        g_string_append_printf(t, "%-5s", text(r, "rank", b, sizeof b));
        for (guint k = 0; k < sw_grid_naxes(g); k++)
            g_string_append_printf(t, " %10s", text(r, sw_grid_axis(g, k)->path, b, sizeof b));
        g_string_append_printf(t, " %5s", text(r, "gpus", b, sizeof b));
        g_string_append_printf(
            t, " %10s", text(r, p->mode == SR_PLAIN ? "request_throughput" : "limit", b, sizeof b));
        g_string_append_printf(t, " %11s", text(r, "output_throughput_per_gpu", b, sizeof b));
        g_string_append_printf(t, " %9s", text(r, "usd_per_m_output_tokens", b, sizeof b));
        g_string_append_printf(t, " %11s", text(r, "ttft_p99_ms", b, sizeof b));
        g_string_append_printf(t, " %11s", text(r, "tpot_p99_ms", b, sizeof b));
        g_string_append_printf(t, "  %s%s%s\n",
                               json_is_true(json_object_get(r, "pareto_tput_ttft")) ? "T" : "",
                               json_is_true(json_object_get(r, "pareto_tput_tpot")) ? "P" : "",
                               json_is_true(json_object_get(r, "pareto_cost_e2el")) ? "C" : "");
    }
    fputs(t->str, stdout);
}

/* ---- the command ---------------------------------------------------------------------- */

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
search(const sr_args *a, search_stats *st, GError **error)
{
    double t0 = cli_now_s(), c0 = cli_cpu_s();
    if (a->sweep.axes != NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "search takes its dimensions with --axis (search.axes), not --sweep");
        return CLI_USAGE;
    }
    sr_params p;
    if (!sr_params_from_args(&p, a, error))
        return CLI_USAGE;
    p.what = "search";
    p.progress = isatty(STDERR_FILENO) && !a->cfg.sim.quiet;
    uint32_t shard_k = 0, shard_n = 0;
    if (a->cli.shard != NULL && !sw_shard_parse(a->cli.shard, &shard_k, &shard_n, error))
        return CLI_USAGE;
    g_autoptr(sw_prices) prices = sw_prices_load(a->search.prices, error);
    if (prices == NULL)
        return CLI_USAGE;
    for (size_t i = 0; a->search.price != NULL && a->search.price[i] != NULL; i++)
        if (!sw_prices_set(prices, a->search.price[i], error))
            return CLI_USAGE;
    g_auto(GStrv) specs = sr_axis_specs(a->search.axes);
    g_autoptr(sw_grid) g = sw_grid_new();
    if (!build_grid(g, a, specs, error))
        return CLI_USAGE;
    const char *load_path = p.mode == SR_FIND_RATE          ? "workload.rate"
                            : p.mode == SR_FIND_CONCURRENCY ? "workload.max_concurrency"
                                                            : NULL;
    if (load_path != NULL && sw_grid_find(g, load_path) != NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "axis %s is what --find-max searches: drop the axis", load_path);
        return CLI_USAGE;
    }

    /* configurations: grid points within the budget, numbered in grid order */
    g_autoptr(GArray) cfgs = g_array_new(FALSE, TRUE, sizeof(cfg_info));
    g_array_set_clear_func(cfgs, cfg_info_clear);
    uint64_t ncfg = 0, over = 0, split_reps = 0;
    const sw_axis *pd_axis = sw_grid_find(g, "pd");
    guint pd_k = 0;
    while (pd_axis != NULL && sw_grid_axis(g, pd_k) != pd_axis)
        pd_k++;
    for (uint64_t gi = 0; gi < sw_grid_npoints(g); gi++) {
        sr_point pt;
        if (!sr_point_init(&pt, &a->cfg, g, gi, ncfg, error)) {
            sr_point_clear(&pt);
            return CLI_USAGE;
        }
        /* a P:D split is the run's --pd P:D: it sets both replica counts, so of the replicas
         * values only 1 (the split's own) is a distinct configuration */
        const char *split = pd_axis != NULL ? sw_grid_value(g, gi, pd_k) : "none";
        bool pools = pt.cfg.sim.pools != NULL && !json_is_null(pt.cfg.sim.pools);
        if (strcmp(split, "none") != 0 || pools) { /* so do cluster.pools of the base */
            if (pt.cfg.sim.replicas != 1) {
                split_reps++;
                sr_point_clear(&pt);
                continue;
            }
            if (strcmp(split, "none") != 0) {
                g_free(pt.cfg.sim.pd_pools);
                pt.cfg.sim.pd_pools = g_strdup(split);
            }
        }
        double usd_h = (double)NAN;
        int64_t gpus = deployment(&pt.cfg, prices, &usd_h);
        if (gpus > a->search.gpus) {
            over++;
            sr_point_clear(&pt);
            continue;
        }
        uint64_t ci = ncfg++;
        if (shard_n > 0 && ci % shard_n != shard_k - 1) {
            sr_point_clear(&pt);
            continue;
        }
        cfg_info c = {.gi = gi, .gpus = gpus, .usd_h = usd_h, .pt = pt, .run = -1};
        g_array_append_val(cfgs, c);
    }
    if (ncfg == 0) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "no configuration fits the budget of %" PRId64 " GPUs (%" PRIu64
                    " combinations need more)",
                    a->search.gpus, over);
        return CLI_USAGE;
    }
    /* prune, then move the survivors to the run list */
    g_autoptr(GArray) run = g_array_new(FALSE, TRUE, sizeof(sr_point));
    g_array_set_clear_func(run, (GDestroyNotify)sr_point_clear);
    for (guint i = 0; i < cfgs->len; i++) {
        cfg_info *c = &g_array_index(cfgs, cfg_info, i);
        prune(g, &p, a->search.estimate_prune, c);
        if (c->stage != NULL)
            continue;
        if (!sr_point_resolve_band(&c->pt, &p, error))
            return CLI_USAGE;
        c->run = (gint)run->len;
        sr_point r = {.index = c->pt.index,
                      .band = c->pt.band,
                      .start = (double)NAN,
                      .label = g_strdup(c->pt.label)};
        sim_config_copy(&r.cfg, &c->pt.cfg);
        g_array_append_val(run, r);
    }
    json_auto_t *def = json_object();
    json_object_set_new(def, "kind", json_string("search"));
    json_object_set_new(def, "base", sr_base_json(&a->cfg));
    json_object_set_new(def, "axes", sw_grid_to_json(g));
    json_object_set_new(def, "gpus", json_integer(a->search.gpus));
    json_object_set_new(def, "estimate_prune", json_boolean(a->search.estimate_prune));
    json_object_set_new(def, "prices", sw_prices_to_json(prices));
    json_t *gaps = json_array();
    for (size_t d = 0; d < sw_search_ndims; d++)
        if (sw_search_dims[d].gap != NULL)
            json_array_append_new(gaps, json_pack("{s:s, s:s}", "dimension", sw_search_dims[d].name,
                                                  "not_simulated", sw_search_dims[d].gap));
    json_object_set_new(def, "modelling_gaps", gaps);
    json_object_set_new(def, "sla", sr_params_to_json(&p));
    json_auto_t *meta = sw_meta_new("search", def, ncfg);
    const char *dir = a->cfg.sim.output_dir;
    if (!base_dir_ensure_writable(dir, error))
        return CLI_USAGE;
    if (!sr_points_prepare(&p, &a->cfg, workload_varies(g), (sr_point *)(void *)run->data, run->len,
                           error))
        return CLI_USAGE;
    double t1 = cli_now_s();
    int rc = sr_run(&p, (sr_point *)(void *)run->data, run->len, error);
    if (rc != CLI_OK)
        return rc;
    double t2 = cli_now_s();
    if (st != NULL) {
        st->prune_s = t1 - t0;
        st->simulate_s = t2 - t1;
        st->configs = (unsigned)ncfg;
        st->simulated = run->len;
        st->runs = 0;
        for (guint i = 0; i < run->len; i++) {
            const sr_point *r = &g_array_index(run, sr_point, i);
            guint per = p.mode == SR_PLAIN ? 1u : (guint)p.replicates + 2u;
            for (guint k = 0; k < per; k++)
                st->runs += p.mode == SR_PLAIN ? 1 : r->out[k].fm.probes;
        }
    }
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    guint stages[5] = {0}; /* invalid, memory, model, estimate, slo */
    const char *stage_names[5] = {"invalid", "memory", "model", "estimate", "slo"};
    for (guint i = 0; i < cfgs->len; i++) {
        const cfg_info *c = &g_array_index(cfgs, cfg_info, i);
        const sr_point *r = c->run >= 0 ? &g_array_index(run, sr_point, (guint)c->run) : NULL;
        json_t *row = make_row(&p, g, c, r);
        const char *stage = json_string_value(json_object_get(row, "stage"));
        for (int k = 0; stage != NULL && k < 5; k++)
            stages[k] += strcmp(stage, stage_names[k]) == 0;
        g_ptr_array_add(rows, row);
    }
    if (!sw_outputs_write(dir, meta, rows, shard_k, shard_n, error))
        return CLI_RUNTIME;
    if (st != NULL) {
        st->output_s = cli_now_s() - t2;
        st->cpu_s = cli_cpu_s() - c0;
    }
    if (a->cfg.sim.quiet)
        return CLI_OK;
    if (shard_n == 0) {
        g_autoptr(GPtrArray) fin = sw_outputs_finalize(meta, rows, error);
        if (fin == NULL)
            return CLI_RUNTIME;
        print_ranked(&p, g, fin, 20);
    }
    if (split_reps > 0)
        printf("%" PRIu64 " combinations of a prefill:decode split with replicas ≠ 1 skipped (the "
               "split sets the replica counts).\n",
               split_reps);
    printf("%u configurations%s (%" PRIu64 " in all, %" PRIu64 " combinations over the %" PRId64
           "-GPU budget skipped): %u simulated; rejected: %u do not fit, %u invalid, %u need "
           "what the engine does not simulate yet, %u by roofline bounds, %u break "
           "the SLOs. Pareto: T = tok/s/GPU vs TTFT p99, P = vs TPOT p99, C = cost vs E2E p99.\n",
           cfgs->len, shard_n > 0 ? " in this shard" : "", ncfg, over, a->search.gpus, run->len,
           stages[1], stages[0], stages[2], stages[3], stages[4]);
    if (shard_n > 0)
        printf("Shard %" PRIu32 "/%" PRIu32 " written to %s/search.shard-%" PRIu32 "-of-%" PRIu32
               ".jsonl; join the shards with `servesim merge`\n",
               shard_k, shard_n, dir, shard_k, shard_n);
    else
        printf("Outputs written to %s/search.csv and %s/search.jsonl\n", dir, dir);
    return CLI_OK;
}

int
cmd_search(int argc, char **argv)
{
    return cmd_search_stats(argc, argv, NULL);
}

int
cmd_search_stats(int argc, char **argv, search_stats *st)
{
    sr_schema schema;
    sr_schema_init(&schema, true);
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis, description, &schema.help);
        return CLI_OK;
    }
    sr_args a;
    GError *err = NULL;
    int rc =
        sr_args_parse(&a, &schema, argc - 1, argv + 1, &err) ? search(&a, st, &err) : CLI_USAGE;
    sr_args_clear(&a, &schema);
    return rc == CLI_OK ? CLI_OK : cli_fail(err, rc);
}
