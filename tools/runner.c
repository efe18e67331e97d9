/* tools/runner.c: one simulation from a resolved configuration (see runner.h). The order
 * matters for users: every input is validated and the output directory probed before the
 * (possibly long) simulation starts; outputs are committed only after it succeeded. */
#include "tools/runner.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "report/report.h"
#include "schedulers/schedulers.h"
#include "sim/observe.h"
#include "timemodel/setup.h"
#include "tools/cli.h"
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
    if (isnan(o->step_overhead_us))
        o->step_overhead_us = rp->step_overhead_s * 1e6;
    else
        rp->step_overhead_s = o->step_overhead_us * 1e-6;
}

static json_t *
resolved_json(const sim_config *cfg,
              const tm_setup *setup,
              const tm_memory_plan *plan,
              uint32_t num_blocks,
              const wl_source *src)
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
    json_object_set_new(j, "resolved", r);
    return j;
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
        return cli_fail(err, CLI_USAGE);
    if (fl->print_config) {
        /* Only the settings, with "auto" resolved: the output loads back with --config. */
        json_auto_t *j = sim_config_to_json(cfg);
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
    };
    g_autoptr(sim_metrics) metrics = sim_metrics_new(&mp, &err);
    if (metrics == NULL)
        return fail(error, err, CLI_USAGE);
    sim_metrics_subscribe(metrics, e);

    g_autoptr(tr_dsa) dsa = NULL;
    if (dp.trace_path != NULL || dp.offload) {
        if (dp.trace_path != NULL && !base_dir_ensure_writable(o->output_dir, &err))
            return cli_fail(err, CLI_USAGE);
        if ((dsa = tr_dsa_open(&dp, &err)) == NULL)
            return cli_fail(err, CLI_USAGE);
        tr_dsa_subscribe(dsa, e);
    }
    g_autoptr(tr_outputs) outs = NULL;
    tr_outputs_params op;
    tr_outputs_params_init(&op);
    op.dir = o->output_dir;
    op.steps_file = o->write_steps ? o->steps_file : NULL;
    op.perfetto = o->perfetto;
    op.info.model_id = cfg->tm.model;
    op.info.request_rate = cfg->wl.rate;
    op.info.burstiness = cfg->wl.burstiness;
    op.info.max_concurrency = info->max_concurrency;
    op.dsa = dsa;
    if (!fl->no_outputs) {
        outs = tr_outputs_open(e, &op, &err);
        if (outs == NULL)
            return fail(error, err, CLI_USAGE);
    }

    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(setup);
    if (fl->step_time_scale > 0 && fl->step_time_scale != 1.0)
        tm = tm_scaled_new(g_steal_pointer(&tm), fl->step_time_scale);
    sim_cluster_params cp = {
        .sched = {.max_num_seqs = (uint32_t)o->max_num_seqs,
                  .max_num_batched_tokens = (uint32_t)o->max_num_batched_tokens,
                  .max_model_len = (uint32_t)o->max_model_len,
                  .long_prefill_token_threshold = (uint32_t)o->long_prefill_token_threshold,
                  .chunked_prefill = o->enable_chunked_prefill,
                  .priority = strcmp(o->scheduling_policy, "priority") == 0,
                  .chunk_size = (uint32_t)o->chunk_size,
                  .batch_size = (uint32_t)o->batch_size,
                  .watermark = o->watermark,
                  .dsa_topk = tm_setup_dsa_topk(setup)},
        .scheduler = sched_find_scheduler(o->scheduler),
        .router = sched_find_router(o->router),
        .nreplicas = (uint32_t)o->replicas,
        .num_blocks = (uint32_t)blocks,
        .block_size = (uint32_t)o->block_size,
        .prefix_caching = o->enable_prefix_caching,
        .tm = tm,
        .request_overhead_s = tm->request_overhead_s,
        .seed = (uint64_t)o->seed,
        .max_concurrency =
            cfg->wl.max_concurrency != BASE_OPT_UNSET_INT ? cfg->wl.max_concurrency : 0,
        .overlap_weight = 1.0,
        .check_invariants = fl->check_invariants,
    };
    sim_source ss = {.next = wl_next,
                     .ctx = src,
                     .max_concurrency = info->max_concurrency,
                     .stage_caps = staged ? caps : NULL,
                     .nstage_caps = staged ? info->nstages : 0};
    g_autoptr(sim_cluster) cl = sim_cluster_new(e, &cp, &ss, &err);
    if (cl == NULL)
        return fail(error, err, CLI_USAGE);

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
    if (fl->on_result != NULL)
        fl->on_result(fl->on_result_ctx, res);
    if (outs != NULL) {
        json_auto_t *conf = resolved_json(cfg, setup, &plan, (uint32_t)blocks, src);
        if (!tr_outputs_finish(outs, res, conf, &err))
            return fail(error, err, CLI_RUNTIME);
        /* --report: the page of what was just written (a failure leaves no report.html) */
        g_autofree char *rp = g_build_filename(o->output_dir, "report.html", NULL);
        const char *dir = o->output_dir;
        if (o->report && !rp_report_write(&dir, 1, NULL, rp, &err))
            return fail(error, err, CLI_RUNTIME);
    }
    if (!fl->quiet && !o->quiet) {
        g_autoptr(GString) t = tr_summary_table(res, &op.info);
        fputs(t->str, stdout);
        wl_counters wc = wl_source_get_counters(src);
        if (wc.skipped_bad > 0)
            fprintf(stderr, "servesim: skipped %" G_GUINT64_FORMAT " malformed rows (first: %s)\n",
                    wc.skipped_bad, wl_source_first_skipped(src));
        if (dsa != NULL && dp.trace_path != NULL)
            printf("DSA trace: %" G_GUINT64_FORMAT " dsa_topk records in %s\n", tr_dsa_records(dsa),
                   dp.trace_path);
        if (outs != NULL)
            printf("Outputs written to %s/\n", o->output_dir);
    }
    if (out != NULL) {
        out->utilization = 0.0;
        out->kv_peak = 0.0;
        for (uint32_t i = 0; i < res->nreplicas; i++) {
            if (!isnan(res->replicas[i].busy_fraction))
                out->utilization += res->replicas[i].busy_fraction / res->nreplicas;
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
