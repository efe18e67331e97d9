/* tools/sweeppoints.c: sweep/search points before they run: a configuration per grid point,
 * the checks that must pass before anything is simulated (time-model layout, memory plan with
 * the speculative-decoding drafter, scheduler limits), the error band, and the find-max start
 * estimate and early-stop request count from one read of the workload (see sweeprun.h). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "timemodel/setup.h"
#include "tools/runner.h"
#include "tools/sweeprun.h"
#include "workloads/workload.h"

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
        /* speculative decoding: the drafter's weights and KV come out of the same budget, and
         * what the run refuses (scheduler, pipeline parallelism, draft TP) is refused here */
        g_auto(tm_spec_config) spec = {0};
        if (o->speculative_config != NULL && !json_is_null(o->speculative_config) &&
            !runner_spec_resolve(o->speculative_config, o->scheduler, s, &spec, NULL, &ma, error))
            return FALSE;
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
