/* tools/runner.c: one simulation from a resolved configuration (see runner.h). The order
 * matters for users: every input is validated and the output directory probed before the
 * (possibly long) simulation starts; outputs are committed only after it succeeded. */
#include "tools/runner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/io.h"
#include "base/json.h"
#include "report/report.h"
#include "schedulers/schedulers.h"
#include "sim/observe.h"
#include "sim/profile.h"
#include "timemodel/setup.h"
#include "timemodel/spec.h"
#include "tools/cli.h"
#include "tools/pd.h"
#include "traces/outputs.h"
#include "workloads/workload.h"

/* Sarathi-Serve's evaluation uses token budgets of 512–2048; 512 is its TBT-friendly choice. */
#define SARATHI_DEFAULT_CHUNK 512

static int
wl_next(void *ctx, wl_request *out, GError **error)
{
    return wl_source_next(ctx, out, error);
}

typedef struct {
    double t0;   /* wall clock at start */
    double last; /* last print */
    uint64_t done;
    sim_engine *e;
} progress;

static void
on_progress(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    (void)payload;
    progress *p = ctx;
    if (++p->done % 4096 != 0)
        return;
    double now = cli_now_s();
    if (now - p->last < 0.5)
        return;
    p->last = now;
    fprintf(stderr,
            "\rservesim: %" G_GUINT64_FORMAT " requests done, %.1f s simulated, %.1f s wall",
            p->done, (double)sim_engine_now(p->e) / 1e9, now - p->t0);
    fflush(stderr);
}

/* Fills "auto" scheduler and KV settings from vLLM's defaults for this model and GPU. */
static void
resolve_defaults(sim_config *cfg, tm_setup *setup)
{
    sim_options *o = &cfg->sim;
    tm_vllm_defaults d;
    tm_setup_vllm_defaults(setup, &d);
    if (o->max_num_batched_tokens == BASE_OPT_UNSET_INT)
        o->max_num_batched_tokens = d.max_num_batched_tokens;
    if (o->max_num_seqs == BASE_OPT_UNSET_INT)
        o->max_num_seqs = d.max_num_seqs;
    if (o->block_size == BASE_OPT_UNSET_INT)
        o->block_size = d.block_size;
    if (o->max_model_len == BASE_OPT_UNSET_INT)
        o->max_model_len = d.max_model_len;
    if (o->chunk_size == BASE_OPT_UNSET_INT)
        o->chunk_size = SARATHI_DEFAULT_CHUNK < o->max_num_batched_tokens
                            ? SARATHI_DEFAULT_CHUNK
                            : o->max_num_batched_tokens;
    if (o->batch_size == BASE_OPT_UNSET_INT)
        o->batch_size = o->max_num_seqs;
    tm_roofline_params *rp = tm_setup_params(setup);
    /* vLLM's largest CUDA-graph capture: min(2·max_num_seqs, 512), at most the token budget */
    rp->cudagraph_max_tokens =
        (double)MIN(MIN(2 * o->max_num_seqs, (int64_t)512), o->max_num_batched_tokens);
    if (isnan(o->step_overhead_us))
        o->step_overhead_us = rp->step_overhead_s * 1e6;
    else
        rp->step_overhead_s = o->step_overhead_us * 1e-6;
}

/* The engine of the pool: the profile, then the calibration's request-level terms, then
 * explicit options (docs/design.md §5b). DP lockstep follows vLLM (MoE models only). */
static bool
resolve_engine(const sim_config *cfg,
               const tm_setup *setup,
               const tm_timemodel *tm,
               sim_engine_params *ep,
               bool *lockstep,
               GError **error)
{
    const sim_options *o = &cfg->sim;
    const sim_profile *prof = sim_profile_find(o->engine);
    if (prof == NULL) { /* the option table only accepts profile names */
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "--engine: unknown engine profile '%s'",
                    o->engine);
        return FALSE;
    }
    sim_engine_params_from_profile(ep, prof);
    ep->api_server_count = (uint32_t)o->api_server_count;
    if (tm->request_overhead_s > 0.0)
        ep->api_ingress_latency_s = tm->request_overhead_s;
    if (tm->per_output_token_s > 0.0)
        ep->api_per_output_token_s = tm->per_output_token_s;
    if (isfinite(o->api_ingress_latency_ms))
        ep->api_ingress_latency_s = o->api_ingress_latency_ms * 1e-3;
    if (isfinite(o->api_ingress_us))
        ep->api_ingress_s = o->api_ingress_us * 1e-6;
    if (isfinite(o->api_per_prompt_token_us))
        ep->api_per_prompt_token_s = o->api_per_prompt_token_us * 1e-6;
    if (isfinite(o->api_per_output_token_us))
        ep->api_per_output_token_s = o->api_per_output_token_us * 1e-6;
    const tm_model_spec *m = tm_setup_model(setup);
    bool moe = m->experts > 0;
    if (strcmp(o->dp_lockstep, "on") == 0 && !moe) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--dp-lockstep on: %s is not a MoE model; vLLM runs the data-parallel ranks "
                    "of a dense model as independent engines",
                    m->name);
        return FALSE;
    }
    if (strcmp(o->dp_lockstep, "off") == 0 && moe && cfg->tm.dp > 1) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--dp-lockstep off: %s is a MoE model; vLLM always steps its data-parallel "
                    "ranks together (DPEngineCoreProc)",
                    m->name);
        return FALSE;
    }
    *lockstep = moe && cfg->tm.dp > 1;
    return TRUE;
}

static json_t *
engine_json(const sim_pool_params *pp)
{
    const sim_engine_params *ep = &pp->engine;
    json_t *o = json_object();
    json_object_set_new(o, "profile", json_string(ep->profile->name));
    json_object_set_new(o, "follows", json_string(ep->profile->follows));
    json_object_set_new(o, "async_scheduling", json_boolean(pp->sched.async_scheduling));
    json_object_set_new(o, "steps_in_flight", json_integer(pp->sched.max_batches));
    json_object_set_new(o, "cascade_attention", json_boolean(ep->cascade_attention));
    json_object_set_new(o, "data_parallel_ranks", json_integer(pp->dp));
    json_object_set_new(o, "dp_lockstep", json_boolean(pp->lockstep));
    json_object_set_new(o, "pipeline_stages", json_integer(pp->pp));
    json_object_set_new(o, "dp_lb_interval_ms", base_json_real(ep->dp_lb_interval_s * 1e3));
    json_object_set_new(o, "dp_sync_steps", json_integer(ep->dp_sync_steps));
    json_t *a = json_object();
    json_object_set_new(a, "servers_per_replica", json_integer(ep->api_server_count));
    json_object_set_new(a, "ingress_latency_ms", base_json_real(ep->api_ingress_latency_s * 1e3));
    json_object_set_new(a, "ingress_us", base_json_real(ep->api_ingress_s * 1e6));
    json_object_set_new(a, "per_prompt_token_us", base_json_real(ep->api_per_prompt_token_s * 1e6));
    json_object_set_new(a, "per_output_token_us", base_json_real(ep->api_per_output_token_s * 1e6));
    json_object_set_new(o, "api_server", a);
    return o;
}

static json_t *
resolved_json(const sim_config *cfg,
              const tm_setup *setup,
              const tm_memory_plan *plan,
              uint32_t num_blocks,
              const wl_source *src,
              const sim_pool_params *pool,
              const tm_spec_config *spec,
              const tm_memory_args *ma)
{
    json_t *j = sim_config_to_json(cfg);
    json_t *r = json_object();
    json_object_set_new(r, "timemodel", tm_setup_to_json(setup));
    json_t *m = json_object();
    json_object_set_new(m, "weight_bytes_per_gpu", base_json_number(plan->weight_bytes));
    json_object_set_new(m, "activation_bytes_per_gpu", base_json_number(plan->activation_bytes));
    json_object_set_new(m, "kv_bytes_per_token_per_gpu",
                        base_json_number(plan->kv_bytes_per_token));
    json_object_set_new(m, "num_gpu_blocks", json_integer(num_blocks));
    json_object_set_new(m, "kv_tokens", json_integer((json_int_t)num_blocks * plan->block_size));
    json_object_set_new(r, "memory", m);
    if (src != NULL) {
        const wl_source_info *info = wl_source_get_info(src);
        wl_counters wc = wl_source_get_counters(src);
        json_t *w = json_object();
        json_object_set_new(w, "format", json_string(info->format ? info->format : "?"));
        json_object_set_new(w, "name", json_string(info->name ? info->name : "?"));
        json_object_set_new(w, "rows", json_integer((json_int_t)wc.rows));
        json_object_set_new(w, "requests", json_integer((json_int_t)wc.emitted));
        json_object_set_new(w, "skipped_bad_rows", json_integer((json_int_t)wc.skipped_bad));
        json_object_set_new(w, "filtered", json_integer((json_int_t)wc.filtered));
        json_object_set_new(w, "clipped", json_integer((json_int_t)wc.clipped));
        json_object_set_new(w, "rejected", json_integer((json_int_t)wc.rejected));
        json_object_set_new(r, "workload", w);
    }
    json_object_set_new(r, "scheduler_follows", json_string("vLLM " SCHED_VLLM_VERSION));
    json_object_set_new(r, "engine", engine_json(pool));
    if (spec->k > 0) {
        json_t *sj = tm_spec_config_to_json(spec);
        json_object_set_new(sj, "drafter_weight_bytes_per_gpu",
                            base_json_number(ma->drafter_weight_bytes));
        json_object_set_new(sj, "drafter_kv_bytes_per_token_per_gpu",
                            base_json_number(ma->drafter_kv_bytes_per_token));
        json_object_set_new(r, "speculative", sj);
    }
    json_object_set_new(j, "resolved", r);
    return j;
}

gboolean
runner_spec_resolve(json_t *spec_json,
                    const char *scheduler,
                    const tm_setup *setup,
                    tm_spec_config *spec,
                    tm_timemodel **draft_tm,
                    tm_memory_args *ma,
                    GError **error)
{
    const tm_model_spec *target = tm_setup_model(setup);
    if (!tm_spec_config_parse(spec, spec_json, target, error))
        return FALSE;
    if (scheduler != NULL && strcmp(scheduler, "vllm") != 0 && strcmp(scheduler, "sarathi") != 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "speculative_config: scheduler %s does not model speculative decoding (use "
                    "vllm or sarathi)",
                    scheduler);
        return FALSE;
    }
    const tm_parallel *par = tm_setup_parallel(setup);
    if (par->pp > 1) {
        g_set_error(
            error, BASE_ERROR, BASE_ERROR_INVALID,
            "speculative_config: speculative decoding with pipeline parallelism (%" G_GINT64_FORMAT
            " stages) is not modelled (vLLM V1 does not support it)",
            par->pp);
        return FALSE;
    }
    int64_t dtp = spec->draft_tp > 0 ? spec->draft_tp : par->tp;
    if (spec->method == TM_SPEC_DRAFT_MODEL ? dtp > par->tp : dtp != par->tp) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "speculative_config.draft_tensor_parallel_size: %" G_GINT64_FORMAT
                    " with tensor_parallel_size %" G_GINT64_FORMAT
                    ": the drafter of %s runs with the target's tensor parallelism%s",
                    dtp, par->tp, tm_spec_method_name(spec->method),
                    spec->method == TM_SPEC_DRAFT_MODEL ? " or less" : "");
        return FALSE;
    }
    /* vLLM allocate_slots(num_lookahead_tokens = k) for methods that draft on the GPU */
    ma->lookahead_tokens = tm_spec_uses_lookahead(spec) ? spec->k : 0;
    if (!tm_spec_has_drafter(spec))
        return TRUE;
    g_auto(tm_model_spec) drafter = {0};
    if (!tm_spec_drafter_spec(spec, target, &drafter, error))
        return FALSE;
    tm_roofline_params rp = *tm_setup_params_const(setup);
    rp.par.tp = dtp;
    rp.par.pp = 1;
    rp.pp_stage = -1;
    rp.step_overhead_s = 0.0;
    rp.per_seq_overhead_s = 0.0;
    if (drafter.experts == 0) {
        rp.par.ep = 1; /* a dense drafter has no experts to spread */
    }
    GError *perr = NULL;
    if (!tm_model_check_parallel(&drafter, &rp.par, &perr)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "speculative_config: drafter: %s",
                    perr->message);
        g_error_free(perr);
        return FALSE;
    }
    if (draft_tm != NULL)
        *draft_tm = tm_roofline_new(&drafter, tm_setup_hardware(setup), &rp);
    /* vLLM loads the drafter and gives its layers KV blocks out of the same budget */
    ma->drafter_weight_bytes =
        tm_spec_drafter_weight_bytes_gpu(spec, &drafter, rp.weight_dtype, &rp.par);
    ma->drafter_kv_bytes_per_token =
        tm_model_kv_bytes_per_token_gpu(&drafter, rp.kv_dtype, &rp.par);
    return TRUE;
}

void
runner_spec_warn(const tm_spec_config *spec)
{
    if (spec->method == TM_SPEC_NGRAM && (spec->lookup_min > 0 || spec->lookup_max > 0))
        fprintf(stderr,
                "servesim: warning: speculative_config.prompt_lookup_min/max are recorded "
                "but not simulated: n-gram drafts act only through the acceptance given "
                "(%s)\n",
                spec->accept_source != NULL ? spec->accept_source : "?");
}

/* Hands ERR to the caller (or prints it) and returns CODE. */
static int
fail(GError **error, GError *err, int code)
{
    if (error == NULL)
        return cli_fail(err, code);
    g_propagate_error(error, err);
    return code;
}

int
runner_run(sim_config *cfg, const runner_flags *fl, runner_result *out)
{
    return runner_run_e(cfg, fl, out, NULL);
}

int
runner_run_e(sim_config *cfg, const runner_flags *fl, runner_result *out, GError **error)
{
    GError *err = NULL;
    g_autoptr(tool_pd) pd = NULL; /* prefill/decode pools (tools/pd.h); NULL = co-located */
    if (!tool_pd_prepare(cfg, &pd, &err))
        return fail(error, err, CLI_USAGE);
    g_autoptr(tm_setup) setup = tm_setup_new(&cfg->tm, &err);
    if (setup == NULL)
        return fail(error, err, CLI_USAGE);
    resolve_defaults(cfg, setup);
    sim_options *o = &cfg->sim;
    tm_memory_args ma = {
        .gpu_memory_utilization = o->gpu_memory_utilization,
        .block_size = o->block_size,
        .max_model_len = o->max_model_len,
        .max_num_batched_tokens = o->max_num_batched_tokens,
        .max_num_seqs = o->max_num_seqs,
    };
    g_auto(tm_spec_config) spec = {0};
    g_autoptr(tm_timemodel) draft_tm = NULL;
    if (o->speculative_config != NULL && !json_is_null(o->speculative_config) &&
        !runner_spec_resolve(o->speculative_config, o->scheduler, setup, &spec, &draft_tm, &ma,
                             &err))
        return fail(error, err, CLI_USAGE);
    if (error == NULL) /* once per run the user started (not per sweep point) */
        runner_spec_warn(&spec);
    tm_memory_plan plan;
    if (!tm_setup_memory_plan(setup, &ma, &plan, &err) &&
        o->num_gpu_blocks_override == BASE_OPT_UNSET_INT)
        return fail(error, err, CLI_USAGE);
    g_clear_error(&err);
    int64_t blocks = o->num_gpu_blocks_override != BASE_OPT_UNSET_INT ? o->num_gpu_blocks_override
                                                                      : plan.num_gpu_blocks;
    if (blocks > UINT32_MAX)
        blocks = UINT32_MAX;
    /* DSA trace / KV-offload what-if (docs/dsa.md): validated before anything runs */
    g_auto(tr_dsa_params) dp = {0};
    if (dsa_options_in_use(&cfg->dsa) &&
        !tr_dsa_params_resolve(&dp, &cfg->dsa, tm_setup_model(setup), tm_setup_hardware(setup),
                               tm_setup_params_const(setup)->kv_dtype,
                               fl->no_outputs ? NULL : o->output_dir, (uint64_t)o->seed, &err))
        return fail(error, err, CLI_USAGE);
    if (fl->print_config) {
        /* Only the settings, with "auto" resolved: the output loads back with --config. */
        json_auto_t *j = sim_config_to_json(cfg);
        if (pd != NULL && !tool_pd_print_config(pd, j, &err))
            return fail(error, err, CLI_USAGE);
        g_autofree char *s = base_json_dumps(j);
        fputs(s, stdout);
        return CLI_OK;
    }

    wl_open_params wp = {(uint64_t)o->seed, o->max_model_len};
    g_autoptr(wl_source) src = fl->requests != NULL
                                   ? wl_open_list(fl->requests, &cfg->wl, &wp, &err)
                                   : wl_open(&cfg->wl, &wp, &err);
    if (src == NULL)
        return fail(error, err, CLI_USAGE);
    const wl_source_info *info = wl_source_get_info(src);

    g_autoptr(sim_engine) e = sim_engine_new();
    g_autofree double *rates = g_new0(double, info->nstages + 1);
    g_autofree int64_t *caps = g_new0(int64_t, info->nstages + 1);
    bool staged = false;
    for (uint32_t i = 0; i < info->nstages; i++) {
        rates[i] = info->stages[i].concurrency > 0 ? (double)NAN : info->stages[i].rate;
        caps[i] = info->stages[i].concurrency;
        staged |= caps[i] > 0;
    }
    sim_metrics_params mp = {
        .goodput = (const char *const *)o->goodput,
        .warmup_s = o->warmup_s,
        .cooldown_s = o->cooldown_s,
        .nstages = info->nstages,
        .stage_rates = info->nstages > 0 ? rates : NULL,
        .max_num_batched_tokens = (uint32_t)o->max_num_batched_tokens,
        .max_num_seqs = (uint32_t)o->max_num_seqs,
    };
    g_autoptr(sim_metrics) metrics = sim_metrics_new(&mp, &err);
    if (metrics == NULL)
        return fail(error, err, CLI_USAGE);
    sim_metrics_subscribe(metrics, e);

    g_autoptr(tr_dsa) dsa = NULL;
    if (dp.trace_path != NULL || dp.offload) {
        if (dp.trace_path != NULL && !base_dir_ensure_writable(o->output_dir, &err))
            return fail(error, err, CLI_USAGE);
        if ((dsa = tr_dsa_open(&dp, &err)) == NULL)
            return fail(error, err, CLI_USAGE);
        tr_dsa_subscribe(dsa, e);
    }
    g_autoptr(tr_outputs) outs = NULL;
    tr_outputs_params op;
    tr_outputs_params_init(&op);
    op.dir = o->output_dir;
    op.steps_file = o->write_steps ? o->steps_file : NULL;
    op.perfetto = o->perfetto;
    op.perfetto_max_steps = (uint64_t)o->perfetto_max_steps;
    op.info.model_id = cfg->tm.model;
    op.info.request_rate = cfg->wl.rate;
    op.info.burstiness = cfg->wl.burstiness;
    op.info.max_concurrency = info->max_concurrency;
    op.dsa = dsa;
    op.pd = pd != NULL;
    op.spec = spec.k > 0;
    if (!fl->no_outputs) {
        outs = tr_outputs_open(e, &op, &err);
        if (outs == NULL)
            return fail(error, err, CLI_USAGE);
    }

    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(setup);
    /* sweep --band: every step time scaled (the stages' too) */
    bool scaled = fl->step_time_scale > 0 && fl->step_time_scale != 1.0;
    if (scaled)
        tm = tm_scaled_new(g_steal_pointer(&tm), fl->step_time_scale);
    int64_t pp = tm_setup_parallel(setup)->pp;
    g_autoptr(GPtrArray) stages = g_ptr_array_new_with_free_func((GDestroyNotify)tm_timemodel_free);
    for (int64_t s = 0; pp > 1 && s < pp; s++) {
        tm_timemodel *st = tm_setup_stage_timemodel(setup, s);
        g_ptr_array_add(stages, scaled ? tm_scaled_new(st, fl->step_time_scale) : st);
    }
    sim_engine_params ep;
    bool lockstep = false;
    if (!resolve_engine(cfg, setup, tm, &ep, &lockstep, &err))
        return fail(error, err, CLI_USAGE);
    sim_cluster_params cp = {
        .pool =
            {
                .sched = {.max_num_seqs = (uint32_t)o->max_num_seqs,
                          .max_num_batched_tokens = (uint32_t)o->max_num_batched_tokens,
                          .max_model_len = (uint32_t)o->max_model_len,
                          .long_prefill_token_threshold = (uint32_t)o->long_prefill_token_threshold,
                          .chunked_prefill = o->enable_chunked_prefill,
                          .priority = strcmp(o->scheduling_policy, "priority") == 0,
                          .chunk_size = (uint32_t)o->chunk_size,
                          .batch_size = (uint32_t)o->batch_size,
                          .watermark = o->watermark,
                          .dsa_topk = tm_setup_dsa_topk(setup),
                          .spec_tokens = spec.k,
                          .lookahead_slots = tm_spec_uses_lookahead(&spec) ? spec.k : 0,
                          .spec_accept = spec.k > 0 ? spec.accept : NULL},
                .scheduler = sched_find_scheduler(o->scheduler),
                .router = sched_find_router(o->router),
                .nreplicas = (uint32_t)o->replicas,
                .dp = (uint32_t)cfg->tm.dp,
                .pp = (uint32_t)pp,
                .lockstep = lockstep,
                .num_blocks = (uint32_t)blocks,
                .block_size = (uint32_t)o->block_size,
                .prefix_caching = o->enable_prefix_caching,
                .tm = tm,
                .stage_tm = pp > 1 ? (const tm_timemodel *const *)stages->pdata : NULL,
                .draft_tm = draft_tm,
                .engine = ep,
                .overlap_weight = 1.0,
            },
        .seed = (uint64_t)o->seed,
        .max_concurrency =
            cfg->wl.max_concurrency != BASE_OPT_UNSET_INT ? cfg->wl.max_concurrency : 0,
        .check_invariants = fl->check_invariants,
    };
    sim_source ss = {.next = wl_next,
                     .ctx = src,
                     .max_concurrency = info->max_concurrency,
                     .stage_caps = staged ? caps : NULL,
                     .nstage_caps = staged ? info->nstages : 0};
    if (pd != NULL && !tool_pd_complete(pd, cfg, setup, fl->step_time_scale, &cp, &err))
        return fail(error, err, CLI_USAGE);
    if (pd != NULL)
        tool_pd_subscribe(pd, e);
    g_autoptr(sim_cluster) cl = sim_cluster_new(e, &cp, &ss, &err);
    if (cl == NULL)
        return fail(error, err, CLI_USAGE);
    /* each pool's cores fill their own pool's budgets (the params carry the first pool's) */
    for (uint32_t i = 0; sim_cluster_npools(cl) > 1 && i < sim_cluster_npools(cl); i++) {
        uint32_t base, n, rbase;
        sim_cluster_pool_range(cl, i, &base, &n, &rbase);
        const sim_pool_params *pl = sim_cluster_pool_at(cl, i);
        for (uint32_t k = base; k < base + n; k++)
            sim_metrics_set_core_budget(metrics, k, pl->sched.max_num_batched_tokens,
                                        pl->sched.max_num_seqs);
    }

    if (fl->on_engine != NULL)
        fl->on_engine(fl->on_engine_ctx, e);
    progress pg = {cli_now_s(), cli_now_s(), 0, e};
    if (fl->progress)
        sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_progress, &pg);
    gboolean ok = sim_cluster_run(cl, SIM_TIME_MAX, &err);
    if (fl->progress && pg.done >= 4096)
        fputs("\r\033[K", stderr);
    if (!ok)
        return fail(error, err, CLI_USAGE); /* a bad row mid-trace: outputs are not committed */
    if (!sim_metrics_finish(metrics, sim_engine_now(e), &err))
        return fail(error, err, CLI_RUNTIME);
    const sim_metrics_result *res = sim_metrics_get_result(metrics);
    wl_counters wcount = wl_source_get_counters(src);
    const tm_roofline_params *rp = tm_setup_params_const(setup);
    const tm_parallel *par = tm_setup_parallel(setup);
    bool vllm = strcmp(o->scheduler, "vllm") == 0;
    g_autofree char *weights_name = tm_roofline_weights_name(rp); /* "bf16 (experts mxfp4)" */
    tr_simulated simd = {
        .model = tm_setup_model(setup)->name,
        .hardware = tm_setup_hardware(setup)->name,
        .gpu = tm_setup_hardware(setup)->display_name,
        .tp = par->tp,
        .pp = par->pp,
        .dp = par->dp,
        .ep = par->ep,
        .replicas = o->replicas,
        .engine = ep.profile->name,
        .weight_dtype = weights_name,
        .kv_dtype = tm_dtype_name(rp->kv_dtype),
        .calibration = tm_setup_calibration_desc(setup), /* says a transfer */
        .workload = info->name,
        .workload_format = info->format,
        .requests = wcount.emitted,
        .scheduler = o->scheduler,
        .scheduler_follows = vllm ? "vLLM " SCHED_VLLM_VERSION : NULL,
        .router = o->router,
        .max_num_seqs = o->max_num_seqs,
        .max_num_batched_tokens = o->max_num_batched_tokens,
    };
    g_autofree char *gpu_pd = NULL;
    if (pd != NULL) { /* both pools' replicas (docs/design.md §5c); the rows above are the
                       * prefill pool's, so the hardware row names the decode pool's too */
        simd.replicas += sim_cluster_pool_at(cl, 1)->nreplicas;
        g_autofree char *d = tool_pd_decode_desc(pd);
        if (d != NULL) {
            gpu_pd = g_strdup_printf("%s; prefill pool, %s", simd.gpu, d);
            simd.gpu = gpu_pd;
        }
    }
    op.info.simulated = &simd;
    if (fl->on_result != NULL)
        fl->on_result(fl->on_result_ctx, res);
    if (outs != NULL) {
        json_auto_t *conf = resolved_json(cfg, setup, &plan, (uint32_t)blocks, src,
                                          sim_cluster_pool(cl), &spec, &ma);
        if (pd != NULL) {
            json_object_set_new(json_object_get(conf, "resolved"), "decode_pool",
                                tool_pd_resolved_json(pd));
            tr_outputs_set_section(outs, "pd", tool_pd_json(pd, cl, res));
        }
        tr_outputs_set_simulated(outs, &simd);
        uint64_t dropped = tr_outputs_perfetto_dropped(outs);
        if (!tr_outputs_finish(outs, res, conf, &err))
            return fail(error, err, CLI_RUNTIME);
        uint64_t held = pd != NULL ? tool_pd_held_past_abort_timeout(pd) : 0;
        if (held > 0)
            fprintf(stderr,
                    "servesim: warning: %" G_GUINT64_FORMAT " KV transfers ended more than 480 s "
                    "after their prefill; vLLM's NIXL connector would have freed those prefill "
                    "blocks (VLLM_NIXL_ABORT_REQUEST_TIMEOUT) and failed the requests, which is "
                    "not modelled (summary.json pd.link.held_past_abort_timeout)\n",
                    held);
        if (dropped > 0)
            fprintf(stderr,
                    "servesim: warning: the Perfetto trace %s holds the first %" G_GINT64_FORMAT
                    " steps; %" G_GUINT64_FORMAT " later steps are left out (raise "
                    "--perfetto-max-steps)\n",
                    o->perfetto, o->perfetto_max_steps, dropped);
        /* --report: the page of what was just written (a failure leaves no report.html) */
        g_autofree char *report_path = g_build_filename(o->output_dir, "report.html", NULL);
        const char *dir = o->output_dir;
        if (o->report && !rp_report_write(&dir, 1, NULL, report_path, &err))
            return fail(error, err, CLI_RUNTIME);
    }
    if (!fl->quiet && !o->quiet) {
        g_autoptr(GString) t = tr_summary_table(res, &op.info);
        fputs(t->str, stdout);
        if (pd != NULL) {
            g_autoptr(GString) pt = tool_pd_table(pd, cl, res);
            fputs(pt->str, stdout);
        }
        wl_counters wc = wl_source_get_counters(src);
        if (wc.skipped_bad > 0)
            fprintf(stderr, "servesim: skipped %" G_GUINT64_FORMAT " malformed rows (first: %s)\n",
                    wc.skipped_bad, wl_source_first_skipped(src));
        if (dsa != NULL && dp.trace_path != NULL)
            printf("DSA trace: %" G_GUINT64_FORMAT " dsa_topk records in %s\n", tr_dsa_records(dsa),
                   dp.trace_path);
        if (outs != NULL)
            printf("Outputs written to %s/\n", o->output_dir);
        if (tm_setup_calibration_use(setup)->transferred)
            fprintf(stderr, "servesim: note: calibration %s\n", tm_setup_calibration_desc(setup));
    }
    if (out != NULL) {
        out->busy_fraction = 0.0;
        out->kv_peak = 0.0;
        for (uint32_t i = 0; i < res->nreplicas; i++) {
            if (!isnan(res->replicas[i].busy_fraction))
                out->busy_fraction += res->replicas[i].busy_fraction / res->nreplicas;
            if (res->replicas[i].kv_usage_max > out->kv_peak)
                out->kv_peak = res->replicas[i].kv_usage_max;
        }
        out->metrics = *res;
        out->metrics.stages = NULL;
        out->metrics.replicas = NULL;
        out->metrics.nstages = 0;
        out->metrics.nreplicas = 0;
        out->cluster = sim_cluster_get_stats(cl);
        out->events = sim_engine_get_stats(e).run;
        out->num_gpu_blocks = (uint32_t)blocks;
        out->sim_seconds = (double)sim_engine_now(e) / 1e9;
    }
    return CLI_OK;
}

/* For tools/pd.c, which builds the decode pool the same way as the runner builds a pool. */
void
runner_pool_defaults(sim_config *cfg, tm_setup *setup)
{
    resolve_defaults(cfg, setup);
}

bool
runner_pool_engine(const sim_config *cfg,
                   const tm_setup *setup,
                   const tm_timemodel *tm,
                   sim_engine_params *ep,
                   bool *lockstep,
                   GError **error)
{
    return resolve_engine(cfg, setup, tm, ep, lockstep, error);
}
