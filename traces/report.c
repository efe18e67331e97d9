/* traces/report.c: JSON reports and the vLLM-style table from a sim_metrics_result. Every
 * object is built by inserting keys in a fixed order (jansson keeps insertion order), counts
 * and nanoseconds are JSON integers, reals go through base_json_real (NaN/inf → null) and are
 * printed by base_json_dumps with 10 significant digits. */
#include "traces/report.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "servesim_version.h"

void
tr_report_info_init(tr_report_info *info)
{
    info->model_id = NULL;
    info->request_rate = NAN;
    info->burstiness = NAN;
    info->max_concurrency = 0;
    info->simulated = NULL;
    info->config = NULL;
}

static json_t *
ji(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *
jr(double v)
{
    return base_json_real(v);
}

static void
set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

/* {"count", "mean", "std", "min", "p50", "p90", "p95", "p99", "max"} of D divided by SCALE. */
static json_t *
dist_json(const sim_dist *d, double scale)
{
    json_t *o = json_object();
    set(o, "count", ji(d->n));
    set(o, "mean", jr(d->mean / scale));
    set(o, "std", jr(d->std / scale));
    set(o, "min", jr(d->min / scale));
    set(o, "p50", jr(d->pct[SIM_PCT_50] / scale));
    set(o, "p90", jr(d->pct[SIM_PCT_90] / scale));
    set(o, "p95", jr(d->pct[SIM_PCT_95] / scale));
    set(o, "p99", jr(d->pct[SIM_PCT_99] / scale));
    set(o, "max", jr(d->max / scale));
    return o;
}

/* {"mean", "p50", "p90", "p99", "max"} (step distributions). */
static json_t *
dist_short_json(const sim_dist *d)
{
    json_t *o = json_object();
    set(o, "mean", jr(d->mean));
    set(o, "p50", jr(d->pct[SIM_PCT_50]));
    set(o, "p90", jr(d->pct[SIM_PCT_90]));
    set(o, "p99", jr(d->pct[SIM_PCT_99]));
    set(o, "max", jr(d->max));
    return o;
}

static json_t *
slo_json(const sim_slo *slo)
{
    json_t *o = json_object();
    if (!isnan(slo->ttft_ms))
        set(o, "ttft", jr(slo->ttft_ms));
    if (!isnan(slo->tpot_ms))
        set(o, "tpot", jr(slo->tpot_ms));
    if (!isnan(slo->e2el_ms))
        set(o, "e2el", jr(slo->e2el_ms));
    return o;
}

/* The fields every scope (overall, stage) carries, appended to O. */
static void
scope_fields(json_t *o, const sim_scope_result *s, const sim_slo *slo)
{
    json_t *w = json_object();
    set(w, "start_ns", json_integer(s->start_ns));
    set(w, "end_ns", json_integer(s->end_ns));
    set(w, "duration_s", jr(s->duration_s));
    set(w, "first_send_ns", json_integer(s->first_send_ns));
    set(w, "last_send_ns", json_integer(s->last_send_ns));
    set(w, "send_duration_s", jr(s->send_duration_s));
    set(o, "window", w);

    json_t *rq = json_object();
    set(rq, "sent", ji(s->sent));
    set(rq, "completed", ji(s->completed));
    set(rq, "failed", ji(s->failed));
    set(o, "requests", rq);

    json_t *tk = json_object();
    set(tk, "input", ji(s->input_tokens));
    set(tk, "output", ji(s->output_tokens));
    set(o, "tokens", tk);

    json_t *tp = json_object();
    set(tp, "requests_per_s", jr(s->request_throughput));
    set(tp, "input_tokens_per_s", jr(s->input_throughput));
    set(tp, "output_tokens_per_s", jr(s->output_throughput));
    set(tp, "total_tokens_per_s", jr(s->total_token_throughput));
    set(o, "throughput", tp);

    if (slo->any) {
        json_t *g = json_object();
        set(g, "slo_ms", slo_json(slo));
        set(g, "good_requests", ji(s->good));
        set(g, "requests_per_s", jr(s->goodput));
        set(g, "fraction",
            jr(s->completed > 0 ? (double)s->good / (double)s->completed : (double)NAN));
        set(o, "goodput", g);
    } else {
        set(o, "goodput", json_null());
    }

    json_t *lat = json_object();
    set(lat, "ttft", dist_json(&s->ttft_ns, 1e6));
    set(lat, "tpot", dist_json(&s->tpot_ns, 1e6));
    set(lat, "itl", dist_json(&s->itl_ns, 1e6));
    set(lat, "e2el", dist_json(&s->e2el_ns, 1e6));
    set(lat, "queueing", dist_json(&s->queue_ns, 1e6));
    set(o, "latency_ms", lat);

    json_t *len = json_object();
    set(len, "prompt", dist_json(&s->prompt_len, 1));
    set(len, "output", dist_json(&s->output_len, 1));
    set(o, "lengths", len);

    set(o, "preemptions", ji(s->preemptions));
    json_t *pc = json_object();
    set(pc, "hit_tokens", ji(s->prefix_hit_tokens));
    set(pc, "prompt_tokens", ji(s->prompt_tokens));
    set(pc, "hit_rate", jr(s->prefix_hit_rate));
    set(o, "prefix_cache", pc);
}

json_t *
tr_spec_json(const sim_spec_result *sp)
{
    json_t *o = json_object();
    double d = (double)sp->drafts;
    set(o, "num_speculative_tokens", ji(sp->k));
    set(o, "num_drafts", ji(sp->drafts));
    set(o, "num_draft_tokens", ji(sp->draft_tokens));
    set(o, "num_accepted_tokens", ji(sp->accepted));
    set(o, "mean_acceptance_length", sp->drafts > 0 ? jr(1.0 + (double)sp->accepted / d) : jr(NAN));
    set(o, "draft_acceptance_rate",
        sp->draft_tokens > 0 ? jr((double)sp->accepted / (double)sp->draft_tokens) : jr(NAN));
    json_t *a = json_array();
    json_t *c = json_array();
    for (uint32_t i = 0; i < sp->k; i++) {
        json_array_append_new(a, sp->drafts > 0 ? jr((double)sp->accepted_pos[i] / d) : jr(NAN));
        json_array_append_new(c, ji(sp->accepted_pos[i]));
    }
    set(o, "acceptance_rate_per_position", a);
    set(o, "accepted_tokens_per_position", c);
    set(o, "drafter_s", jr(sp->draft_s));
    set(o, "drafter_fraction_of_step_time",
        sp->step_s > 0 ? jr(sp->draft_s / sp->step_s) : jr(NAN));
    return o;
}

static json_t *
replica_json(const sim_replica_result *x)
{
    json_t *o = json_object();
    set(o, "replica", ji(x->replica));
    set(o, "dp_rank", ji(x->dp_rank));
    set(o, "steps", ji(x->steps));
    set(o, "dummy_steps", ji(x->dummy_steps));
    set(o, "busy_ns", json_integer(x->busy_ns));
    set(o, "busy_fraction", jr(x->busy_fraction));
    set(o, "token_budget_fill", jr(x->token_budget_fill));
    set(o, "seq_slots_fill", jr(x->seq_slots_fill));
    set(o, "batch_size", dist_short_json(&x->batch_size));
    set(o, "tokens_per_step", dist_short_json(&x->tokens_per_step));
    json_t *kv = json_object();
    set(kv, "mean", jr(x->kv_usage_mean));
    set(kv, "time_weighted_mean", jr(x->kv_usage_time_mean));
    set(kv, "max", jr(x->kv_usage_max));
    set(o, "kv_usage", kv);
    set(o, "preemptions", ji(x->preemptions));
    set(o, "requests", ji(x->requests));
    json_t *pc = json_object();
    set(pc, "hit_tokens", ji(x->prefix_hit_tokens));
    set(pc, "prompt_tokens", ji(x->prompt_tokens));
    set(pc, "hit_rate", jr(x->prefix_hit_rate));
    set(o, "prefix_cache", pc);
    return o;
}

json_t *
tr_metrics_json(const sim_metrics_result *r)
{
    json_t *o = json_object();
    json_t *ex = json_object();
    set(ex, "warmup_s", jr(r->warmup_s));
    set(ex, "cooldown_s", jr(r->cooldown_s));
    set(ex, "warmup_end_ns", json_integer(r->warmup_end_ns));
    set(ex, "cooldown_start_ns",
        r->cooldown_start_ns == INT64_MAX ? json_null() : json_integer(r->cooldown_start_ns));
    set(ex, "total_requests", ji(r->total_requests));
    set(ex, "excluded_requests", ji(r->excluded_requests));
    set(ex, "itl_cooldown_slab_ns", ji(r->itl_cooldown_slab_ns));
    set(o, "exclusion", ex);
    scope_fields(o, &r->overall, &r->slo);

    const sim_load_check *lc = &r->load;
    json_t *ov = json_object();
    set(ov, "overloaded", json_boolean(lc->overloaded));
    set(ov, "arrival_window_s", jr(lc->window_s));
    set(ov, "arrival_rate", jr(lc->arrival_rate));
    set(ov, "completion_rate", jr(lc->completion_rate));
    set(ov, "in_system_at_mid_window", ji(lc->in_system_mid));
    set(ov, "in_system_at_last_arrival", ji(lc->in_system_end));
    set(ov, "arrivals_second_half", ji(lc->arrivals_late));
    set(o, "overload", ov);

    json_t *rw = json_object();
    set(rw, "start_ns", json_integer(r->run_start_ns));
    set(rw, "end_ns", json_integer(r->run_end_ns));
    set(o, "replica_window", rw);
    if (r->spec.k > 0)
        set(o, "speculative_decoding", tr_spec_json(&r->spec));
    json_t *reps = json_array();
    for (uint32_t i = 0; i < r->nreplicas; i++)
        json_array_append_new(reps, replica_json(&r->replicas[i]));
    set(o, "replicas", reps);

    json_t *stages = json_array();
    for (uint32_t i = 0; i < r->nstages; i++) {
        const sim_scope_result *s = &r->stages[i];
        json_t *so = json_object();
        set(so, "stage", ji(i));
        set(so, "requested_rate", jr(s->requested_rate));
        set(so, "achieved_rate", jr(s->achieved_rate));
        scope_fields(so, s, &r->slo);
        json_array_append_new(stages, so);
    }
    set(o, "stages", stages);
    return o;
}

static json_t *
js(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

json_t *
tr_simulated_json(const tr_simulated *sim, const sim_metrics_result *r)
{
    json_t *o = json_object();
    set(o, "model", js(sim->model));
    set(o, "hardware", js(sim->hardware));
    set(o, "gpu", js(sim->gpu));
    set(o, "tensor_parallel_size", json_integer(sim->tp));
    set(o, "pipeline_parallel_size", json_integer(sim->pp));
    set(o, "data_parallel_size", json_integer(sim->dp));
    set(o, "expert_parallel_size", json_integer(sim->ep > 0 ? sim->ep : 1));
    set(o, "replicas", json_integer(sim->replicas));
    set(o, "engine", js(sim->engine));
    set(o, "weight_dtype", js(sim->weight_dtype));
    set(o, "kv_cache_dtype", js(sim->kv_dtype));
    set(o, "calibration",
        json_string(sim->calibration != NULL ? sim->calibration : "uncalibrated"));
    json_t *w = json_object();
    set(w, "source", js(sim->workload));
    set(w, "format", js(sim->workload_format));
    set(w, "requests", ji(sim->requests));
    set(o, "workload", w);
    set(o, "scheduler", js(sim->scheduler));
    set(o, "scheduler_follows", js(sim->scheduler_follows));
    set(o, "router", js(sim->router));
    set(o, "max_num_seqs", json_integer(sim->max_num_seqs));
    set(o, "max_num_batched_tokens", json_integer(sim->max_num_batched_tokens));
    set(o, "overloaded", json_boolean(r->load.overloaded));
    return o;
}

json_t *
tr_summary_json(const sim_metrics_result *r, const tr_simulated *sim, json_t *config)
{
    json_t *o = json_object();
    json_t *v = json_object();
    set(v, "version", json_string(SERVESIM_VERSION));
    set(v, "git", json_string(SERVESIM_GIT_DESCRIBE));
    set(o, "servesim", v);
    if (sim != NULL)
        set(o, "simulated", tr_simulated_json(sim, r));
    set(o, "config", config != NULL ? json_incref(config) : json_null());
    set(o, "metrics", tr_metrics_json(r));
    return o;
}

/* ---------------------------------------------------------------------------------------- */
/* inference-perf */

/* The inference-perf distribution keys, in order, with the percentile each one reads. */
static const struct {
    const char *key;
    int pct; /* index into sim_dist.pct, −1 = mean, −2 = min, −3 = max */
} ip_keys[] = {
    {"mean", -1},
    {"min", -2},
    {"p0.1", SIM_PCT_0_1},
    {"p1", SIM_PCT_1},
    {"p5", SIM_PCT_5},
    {"p10", SIM_PCT_10},
    {"p25", SIM_PCT_25},
    {"median", SIM_PCT_50},
    {"p75", SIM_PCT_75},
    {"p90", SIM_PCT_90},
    {"p95", SIM_PCT_95},
    {"p99", SIM_PCT_99},
    {"p99.9", SIM_PCT_99_9},
    {"max", -3},
};

/* A distribution in inference-perf's shape, values divided by SCALE; null when empty. */
static json_t *
ip_dist(const sim_dist *d, double scale)
{
    if (d->n == 0)
        return json_null();
    json_t *o = json_object();
    for (size_t i = 0; i < G_N_ELEMENTS(ip_keys); i++) {
        int k = ip_keys[i].pct;
        double v = k == -1 ? d->mean : k == -2 ? d->min : k == -3 ? d->max : d->pct[k];
        set(o, ip_keys[i].key, jr(v / scale));
    }
    return o;
}

/* All zeros (schedule delay: a simulator sends exactly on schedule); null when COUNT is 0. */
static json_t *
ip_zero_dist(uint64_t count)
{
    if (count == 0)
        return json_null();
    json_t *o = json_object();
    for (size_t i = 0; i < G_N_ELEMENTS(ip_keys); i++)
        set(o, ip_keys[i].key, json_real(0.0));
    return o;
}

json_t *
tr_lifecycle_json(const sim_scope_result *s, bool stage)
{
    json_t *o = json_object();
    json_t *ls = json_object();
    set(ls, "count", ji(s->sent));
    set(ls, "schedule_delay", ip_zero_dist(s->sent));
    if (stage) {
        set(ls, "send_duration", jr(s->send_duration_s));
        set(ls, "requested_rate", jr(s->requested_rate));
        set(ls, "achieved_rate", jr(s->achieved_rate));
    }
    set(o, "load_summary", ls);

    json_t *su = json_object();
    set(su, "count", ji(s->completed));
    json_t *lat = json_object();
    set(lat, "request_latency", ip_dist(&s->e2el_ns, 1e9));
    set(lat, "normalized_time_per_output_token", ip_dist(&s->ntpot_ns, 1e9));
    set(lat, "time_per_output_token", ip_dist(&s->tpot_ns, 1e9));
    set(lat, "time_to_first_token", ip_dist(&s->ttft_ns, 1e9));
    set(lat, "inter_token_latency", ip_dist(&s->itl_ns, 1e9));
    set(su, "latency", lat);
    json_t *tp = json_object();
    set(tp, "input_tokens_per_sec", jr(s->input_throughput));
    set(tp, "output_tokens_per_sec", jr(s->output_throughput));
    set(tp, "total_tokens_per_sec", jr(s->total_token_throughput));
    set(tp, "requests_per_sec", jr(s->request_throughput));
    set(su, "throughput", tp);
    set(su, "prompt_len", ip_dist(&s->prompt_len, 1));
    set(su, "output_len", ip_dist(&s->output_len, 1));
    set(o, "successes", su);

    json_t *fa = json_object();
    set(fa, "count", ji(s->failed));
    set(fa, "request_latency", ip_dist(&s->fail_latency_ns, 1e9));
    set(fa, "prompt_len", ip_dist(&s->fail_prompt_len, 1));
    set(o, "failures", fa);
    return o;
}

/* ---------------------------------------------------------------------------------------- */
/* vLLM bench */

/* vLLM computes np.mean(x or 0) etc., so an empty metric reads 0. */
static json_t *
vr(double v)
{
    return jr(isnan(v) ? 0.0 : v);
}

json_t *
tr_vllm_result_json(const sim_metrics_result *r, const tr_report_info *info)
{
    const sim_scope_result *s = &r->overall;
    json_t *o = json_object();
    set(o, "backend", json_string("servesim"));
    set(o, "model_id", info->model_id != NULL ? json_string(info->model_id) : json_null());
    set(o, "num_prompts", ji(s->sent));
    set(o, "request_rate", isfinite(info->request_rate) ? jr(info->request_rate) : json_null());
    set(o, "burstiness", jr(info->burstiness));
    set(o, "max_concurrency",
        info->max_concurrency > 0 ? json_integer(info->max_concurrency) : json_null());
    set(o, "duration", vr(s->duration_s));
    set(o, "completed", ji(s->completed));
    set(o, "total_input_tokens", ji(s->input_tokens));
    set(o, "total_output_tokens", ji(s->output_tokens));
    set(o, "request_throughput", vr(s->request_throughput));
    set(o, "request_goodput", r->slo.any ? vr(s->goodput) : json_null());
    set(o, "output_throughput", vr(s->output_throughput));
    set(o, "total_token_throughput", vr(s->total_token_throughput));

    static const struct {
        const char *name;
        size_t off;
    } metrics[] = {
        {"ttft", offsetof(sim_scope_result, ttft_ns)},
        {"tpot", offsetof(sim_scope_result, tpot_ns)},
        {"itl", offsetof(sim_scope_result, itl_ns)},
        {"e2el", offsetof(sim_scope_result, e2el_ns)},
    };

    static const struct {
        const char *word;
        int pct;
    } pcts[] = {{"50", SIM_PCT_50}, {"90", SIM_PCT_90}, {"95", SIM_PCT_95}, {"99", SIM_PCT_99}};

    for (size_t i = 0; i < G_N_ELEMENTS(metrics); i++) {
        const sim_dist *d = (const sim_dist *)(const void *)((const char *)s + metrics[i].off);
        char key[64];
        snprintf(key, sizeof key, "mean_%s_ms", metrics[i].name);
        set(o, key, vr(d->mean / 1e6));
        snprintf(key, sizeof key, "median_%s_ms", metrics[i].name);
        set(o, key, vr(d->pct[SIM_PCT_50] / 1e6));
        snprintf(key, sizeof key, "std_%s_ms", metrics[i].name);
        set(o, key, vr(d->std / 1e6));
        for (size_t j = 0; j < G_N_ELEMENTS(pcts); j++) {
            snprintf(key, sizeof key, "p%s_%s_ms", pcts[j].word, metrics[i].name);
            set(o, key, vr(d->pct[pcts[j].pct] / 1e6));
        }
    }
    if (info->config != NULL)
        set(o, "servesim_config", json_deep_copy(info->config));
    return o;
}

/* Python's "{s:{c}^{n}}".format(...): S centred in N columns of C, extra fill on the right. */
static void
centre(GString *g, const char *s, char c, size_t n)
{
    size_t len = strlen(s), pad = len < n ? n - len : 0, left = pad / 2;
    for (size_t i = 0; i < left; i++)
        g_string_append_c(g, c);
    g_string_append(g, s);
    for (size_t i = left; i < pad; i++)
        g_string_append_c(g, c);
    g_string_append_c(g, '\n');
}

static void
row_int(GString *g, const char *label, uint64_t v)
{
    g_string_append_printf(g, "%-40s %-10" G_GUINT64_FORMAT "\n", label, v);
}

/* Undefined figures (0/0, e.g. a throughput when --warmup excludes every request) print as
 * n/a, never nan/inf. */
static void
row_f(GString *g, const char *label, double v)
{
    char buf[BASE_FIXED_LEN];
    g_string_append_printf(g, "%-40s %-10s\n", label, base_fixed(buf, v, 2));
}

static void
metric_rows(GString *g, const char *header, const char *name, const sim_dist *d)
{
    char label[64];
    centre(g, header, '-', 50);
    snprintf(label, sizeof label, "Mean %s (ms):", name);
    row_f(g, label, isnan(d->mean) ? 0.0 : d->mean / 1e6);
    snprintf(label, sizeof label, "Median %s (ms):", name);
    row_f(g, label, isnan(d->pct[SIM_PCT_50]) ? 0.0 : d->pct[SIM_PCT_50] / 1e6);
    snprintf(label, sizeof label, "P99 %s (ms):", name);
    row_f(g, label, isnan(d->pct[SIM_PCT_99]) ? 0.0 : d->pct[SIM_PCT_99] / 1e6);
}

static void
row_s(GString *g, const char *label, const char *v)
{
    g_string_append_printf(g, "%-40s %s\n", label, v);
}

char *
tr_overload_line(const sim_load_check *lc)
{
    if (!lc->overloaded)
        return NULL;
    return g_strdup_printf(
        "overloaded: arrivals %.1f req/s > completions %.1f req/s; queue still growing at the "
        "end (%" G_GUINT64_FORMAT " requests in the system at the last arrival, %" G_GUINT64_FORMAT
        " at mid-window)",
        lc->arrival_rate, lc->completion_rate, lc->in_system_end, lc->in_system_mid);
}

/* The block naming what was simulated, before vLLM's table. */
static void
simulated_rows(GString *g, const tr_simulated *sim)
{
    centre(g, " Simulated ", '=', 50);
    row_s(g, "Model:", sim->model);
    g_autofree char *hw = g_strdup_printf("%s (%s)", sim->hardware, sim->gpu);
    row_s(g, "Hardware:", hw);
    g_autofree char *ep =
        sim->ep > 1 ? g_strdup_printf(" (EP %" G_GINT64_FORMAT ")", sim->ep) : g_strdup("");
    g_autofree char *par = g_strdup_printf(
        "TP %" G_GINT64_FORMAT " x PP %" G_GINT64_FORMAT " x DP %" G_GINT64_FORMAT
        "%s, %" G_GINT64_FORMAT " replica%s",
        sim->tp, sim->pp, sim->dp, ep, sim->replicas, sim->replicas == 1 ? "" : "s");
    row_s(g, "Parallelism:", par);
    if (sim->engine != NULL)
        row_s(g, "Engine:", sim->engine);
    g_autofree char *dt = g_strdup_printf("%s / %s", sim->weight_dtype, sim->kv_dtype);
    row_s(g, "dtype (weights / KV cache):", dt);
    row_s(g, "Calibration:", sim->calibration != NULL ? sim->calibration : "uncalibrated");
    g_autofree char *wl = g_strdup_printf("%s (%s), %" G_GUINT64_FORMAT " requests", sim->workload,
                                          sim->workload_format, sim->requests);
    row_s(g, "Workload:", wl);
    g_autofree char *sc = g_strdup_printf(
        "%s, max_num_seqs %" G_GINT64_FORMAT ", max_num_batched_tokens %" G_GINT64_FORMAT,
        sim->scheduler, sim->max_num_seqs, sim->max_num_batched_tokens);
    row_s(g, "Scheduler:", sc);
    if (sim->replicas > 1)
        row_s(g, "Router:", sim->router);
}

GString *
tr_summary_table(const sim_metrics_result *r, const tr_report_info *info)
{
    const sim_scope_result *s = &r->overall;
    GString *g = g_string_new(NULL);
    if (info != NULL && info->simulated != NULL)
        simulated_rows(g, info->simulated);
    centre(g, " Serving Benchmark Result ", '=', 50);
    row_int(g, "Successful requests:", s->completed);
    if (info != NULL && info->max_concurrency > 0)
        row_int(g, "Maximum request concurrency:", (uint64_t)info->max_concurrency);
    if (info != NULL && isfinite(info->request_rate))
        row_f(g, "Request rate configured (RPS):", info->request_rate);
    row_f(g, "Benchmark duration (s):", s->duration_s);
    row_int(g, "Total input tokens:", s->input_tokens);
    row_int(g, "Total generated tokens:", s->output_tokens);
    row_f(g, "Request throughput (req/s):", s->request_throughput);
    if (r->slo.any)
        row_f(g, "Request goodput (req/s):", s->goodput);
    row_f(g, "Output token throughput (tok/s):", s->output_throughput);
    row_f(g, "Total Token throughput (tok/s):", s->total_token_throughput);
    metric_rows(g, "Time to First Token", "TTFT", &s->ttft_ns);
    metric_rows(g, "Time per Output Token (excl. 1st token)", "TPOT", &s->tpot_ns);
    metric_rows(g, "Inter-token Latency", "ITL", &s->itl_ns);
    metric_rows(g, "End-to-end Latency", "E2EL", &s->e2el_ns);

    centre(g, "servesim", '-', 50);
    row_int(g, "Failed requests:", s->failed);
    if (r->excluded_requests > 0)
        row_int(g, "Excluded (warm-up/cool-down):", r->excluded_requests);
    row_f(g, "Mean queueing delay (ms):", isnan(s->queue_ns.mean) ? 0.0 : s->queue_ns.mean / 1e6);
    row_int(g, "Preemptions:", s->preemptions);
    row_f(g,
          "Prefix cache hit rate (%):", isnan(s->prefix_hit_rate) ? 0.0 : s->prefix_hit_rate * 100);
    /* busy (a step was running) is not load: one decode stream keeps a replica ~100 % busy;
     * the token budget and KV cache used say how full the steps were */
    double busy = 0, fill = 0, kvmean = 0, kvmax = 0;
    uint32_t n = 0, nfill = 0, nkv = 0;
    for (uint32_t i = 0; i < r->nreplicas; i++) {
        const sim_replica_result *x = &r->replicas[i];
        if (x->steps == 0 && x->requests == 0)
            continue;
        if (!isnan(x->busy_fraction))
            busy += x->busy_fraction;
        if (!isnan(x->token_budget_fill)) {
            fill += x->token_budget_fill;
            nfill++;
        }
        if (!isnan(x->kv_usage_time_mean)) {
            kvmean += x->kv_usage_time_mean;
            nkv++;
        }
        if (!isnan(x->kv_usage_max) && x->kv_usage_max > kvmax)
            kvmax = x->kv_usage_max;
        n++;
    }
    row_int(g, "Replicas:", n);
    row_f(g, "Busy (% of time in a step):", n > 0 ? busy / n * 100 : 0.0);
    if (nfill > 0)
        row_f(g, "Step tokens (% of token budget):", fill / nfill * 100);
    row_f(g, "Mean KV cache usage (%):", nkv > 0 ? kvmean / nkv * 100 : 0.0);
    row_f(g, "Peak KV cache usage (%):", kvmax * 100);
    if (r->spec.k > 0) {
        /* vLLM's SpecDecoding log line, over every step */
        const sim_spec_result *sp = &r->spec;
        double d = (double)sp->drafts;
        row_f(g, "Spec decode mean acceptance length:",
              sp->drafts > 0 ? 1.0 + (double)sp->accepted / d : 0.0);
        row_f(g, "Spec decode draft acceptance (%):",
              sp->draft_tokens > 0 ? 100.0 * (double)sp->accepted / (double)sp->draft_tokens : 0.0);
        GString *pos = g_string_new(NULL);
        for (uint32_t i = 0; i < sp->k; i++)
            g_string_append_printf(pos, "%s%.3f", i > 0 ? "," : "",
                                   sp->drafts > 0 ? (double)sp->accepted_pos[i] / d : 0.0);
        g_string_append_printf(g, "%-40s %s\n", "Spec decode per-position acceptance:", pos->str);
        g_string_free(pos, TRUE);
        row_f(g,
              "Drafter (% of step time):", sp->step_s > 0 ? 100.0 * sp->draft_s / sp->step_s : 0.0);
    }
    g_autofree char *ov = tr_overload_line(&r->load);
    if (ov != NULL)
        g_string_append_printf(g, "%s\n", ov);
    g_string_append(g, "==================================================\n");
    return g;
}
