/* tools/pd.c: prefill/decode disaggregation for `run` (tools/pd.h, docs/design.md §5c): the
 * pools from --pd P:D or cluster.pools, the decode pool's own setup (memory plan, time model,
 * engine), the link from its preset and overrides, and the per-pool / per-link report. */
#include "tools/pd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "schedulers/schedulers.h"
#include "sim/observe.h"
#include "tools/runner.h"

/* Log histogram of nanoseconds: 64 sub-buckets per power of two (relative error ≤ 1/128 on
 * percentiles, docs/outputs.md "pd"); fixed size, so memory stays flat with the run length. */
enum { H_SUB = 64, H_POW = 48 };

typedef struct hist {
    uint64_t n[H_SUB * H_POW];
    uint64_t count;
    double sum;
    int64_t max;
} hist;

static uint32_t
h_index(int64_t v)
{
    if (v < H_SUB)
        return v < 0 ? 0 : (uint32_t)v;
    int p = 63 - __builtin_clzll((uint64_t)v); /* ≥ 6 */
    uint32_t sub = (uint32_t)((uint64_t)v >> (p - 6)) - H_SUB;
    uint32_t i = (uint32_t)(p - 5) * H_SUB + sub;
    return i < H_SUB * H_POW ? i : H_SUB * H_POW - 1;
}

static double
h_mid(uint32_t i)
{
    if (i < H_SUB)
        return i;
    uint32_t p = i / H_SUB + 5, sub = i % H_SUB;
    double lo = ldexp((double)(H_SUB + sub), (int)p - 6);
    return lo + ldexp(0.5, (int)p - 6);
}

static void
h_add(hist *h, int64_t v)
{
    h->n[h_index(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

/* The value at rank ceil(p/100 · count) (nearest rank), in ms. */
static double
h_pct_ms(const hist *h, double p)
{
    if (h->count == 0)
        return (double)NAN;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < H_SUB * H_POW; i++) {
        seen += h->n[i];
        if (seen >= rank)
            return (i < H_SUB ? (double)i : h_mid(i)) / 1e6;
    }
    return (double)h->max / 1e6;
}

struct tool_pd {
    uint32_t nprefill, ndecode;
    bool pools;       /* given as cluster.pools (not --pd P:D) */
    size_t decode_at; /* the decode entry's index in cluster.pools */
    sim_config dcfg;  /* decode pool: the settings as given + its overrides */
    tm_setup *dsetup;
    tm_memory_plan dplan;
    uint32_t dblocks;
    tm_timemodel *dtm;
    GPtrArray *dstages;
    sim_link_params link;
    const sim_link_preset *preset;
    double kv_prefill, kv_decode; /* bytes per token per engine core */

    /* what each pool runs on (0 prefill, 1 decode), for the pools block and summary.json:
     * the pools may differ in GPU and layout */
    struct {
        char *hardware;
        int64_t tp, pp, dp;
    } layout[2];

    /* per-link accumulators */
    hist xfer, data, queue;
    uint64_t n, bytes;
    uint64_t over_abort; /* prefill blocks held longer than vLLM's abort timeout */
    double streamed;
};

static gboolean bad(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
bad(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, BASE_ERROR, BASE_ERROR_INVALID, msg);
    return FALSE;
}

/* "P:D", both ≥ 1. */
static gboolean
parse_split(const char *s, uint32_t *p, uint32_t *d, GError **error)
{
    char *end = NULL;
    errno = 0;
    long long a = strtoll(s, &end, 10);
    if (end == s || *end != ':')
        return bad(error, "--pd '%s': expected P:D, the prefill and decode replica counts", s);
    const char *t = end + 1;
    long long b = strtoll(t, &end, 10);
    if (end == t || *end != '\0' || errno != 0)
        return bad(error, "--pd '%s': expected P:D, the prefill and decode replica counts", s);
    if (a < 1 || b < 1)
        return bad(error, "--pd '%s': a pool with no replicas (%s has %lld)", s,
                   a < 1 ? "prefill" : "decode", a < 1 ? a : b);
    if (a > SIM_CLUSTER_MAX_REPLICAS || b > SIM_CLUSTER_MAX_REPLICAS)
        return bad(error, "--pd '%s': more than %d replicas in a pool", s,
                   SIM_CLUSTER_MAX_REPLICAS);
    *p = (uint32_t)a;
    *d = (uint32_t)b;
    return TRUE;
}

/* Sections a pool entry may set (the rest is the run's: workload, outputs, metrics, …). */
static const char *const pool_sections[] = {"hardware", "parallelism", "scheduler", "kv",
                                            "engine",   "timemodel",   "model",     NULL};

/* cluster.pools: exactly a prefill and a decode entry. Each entry's sections override the
 * top-level settings for its pool: the prefill entry's are applied to CFG (the prefill pool's
 * settings, which the runner builds), the decode entry's to the decode pool's copy of the
 * top-level settings as given (pd->dcfg, copied before the prefill entry is applied). */
static gboolean
parse_pools(tool_pd *pd, sim_config *cfg, json_t *pools, GError **error)
{
    if (!json_is_array(pools) || json_array_size(pools) != 2)
        return bad(error, "cluster.pools: expected an array of two pools, one with \"role\": "
                          "\"prefill\" and one with \"role\": \"decode\"");
    bool seen[2] = {false, false};
    size_t at[2] = {0, 0};
    json_auto_t *given = sim_config_to_json(cfg); /* the top-level settings as given */
    json_auto_t *psections = NULL;                /* the prefill entry's sections */
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(pools, i);
        if (!json_is_object(o))
            return bad(error, "cluster.pools[%zu]: expected an object", i);
        const char *role = json_string_value(json_object_get(o, "role"));
        int k = role == NULL                   ? -1
                : strcmp(role, "prefill") == 0 ? 0
                : strcmp(role, "decode") == 0  ? 1
                                               : -1;
        if (k < 0)
            return bad(
                error,
                "cluster.pools[%zu].role: expected \"prefill\" or \"decode\"%s (a mixed pool "
                "next to prefill/decode pools is not modelled)",
                i, role != NULL ? "" : ", missing");
        if (seen[k])
            return bad(error, "cluster.pools[%zu].role: two %s pools (one of each is modelled)", i,
                       role);
        seen[k] = true;
        at[k] = i;
        json_t *rep = json_object_get(o, "replicas");
        if (!json_is_integer(rep) || json_integer_value(rep) < 1 ||
            json_integer_value(rep) > SIM_CLUSTER_MAX_REPLICAS)
            return bad(error, "cluster.pools[%zu].replicas: a %s pool needs 1 to %d replicas", i,
                       role, SIM_CLUSTER_MAX_REPLICAS);
        uint32_t n = (uint32_t)json_integer_value(rep);
        const char *key;
        json_t *val;
        json_auto_t *rest = json_object();
        json_object_foreach(o, key, val) {
            if (strcmp(key, "role") == 0 || strcmp(key, "replicas") == 0)
                continue;
            if (!g_strv_contains(pool_sections, key))
                return bad(error,
                           "cluster.pools[%zu].%s: a pool may set hardware, parallelism, "
                           "scheduler, kv, engine, timemodel or model",
                           i, key);
            json_object_set(rest, key, val);
        }
        if (k == 0) {
            pd->nprefill = n;
            psections = json_incref(rest);
        } else {
            pd->ndecode = n;
        }
        g_autofree char *where = g_strdup_printf("cluster.pools[%zu]", i);
        if (!base_opts_load_json(sim_config_schema(), k == 0 ? cfg : &pd->dcfg, rest, where, error))
            return FALSE;
    }
    pd->pools = true;
    pd->decode_at = at[1];
    /* CFG itself now holds the prefill entry's settings. So that preparing CFG again (a caller
     * running the same configuration twice, or loading what --print-config wrote) builds the
     * same pools, cluster.pools is rewritten: the prefill entry keeps only role and replicas,
     * and the decode entry also sets, to its value as given, every top-level key the prefill
     * entry set and it did not (it would otherwise inherit the prefill pool's). */
    if (psections != NULL && json_object_size(psections) > 0) {
        json_t *np = json_array();
        for (size_t i = 0; i < 2; i++) {
            json_t *e = json_array_get(pools, i);
            if (i == at[0]) {
                json_array_append_new(np,
                                      json_pack("{s:O, s:O}", "role", json_object_get(e, "role"),
                                                "replicas", json_object_get(e, "replicas")));
                continue;
            }
            json_t *d = json_deep_copy(e);
            const char *sec;
            json_t *sv;
            json_object_foreach(psections, sec, sv) {
                const char *key;
                json_t *kv;
                json_t *dsec = json_object_get(d, sec);
                if (dsec == NULL) {
                    dsec = json_object();
                    json_object_set_new(d, sec, dsec);
                }
                json_object_foreach(sv, key, kv) {
                    json_t *v = json_object_get(json_object_get(given, sec), key);
                    if (json_object_get(dsec, key) == NULL)
                        json_object_set(dsec, key, v != NULL ? v : json_null());
                }
            }
            json_array_append_new(np, d);
        }
        json_decref(cfg->sim.pools);
        cfg->sim.pools = np;
    }
    if (g_strcmp0(cfg->tm.model, pd->dcfg.tm.model) != 0)
        return bad(error,
                   "cluster.pools[%zu].model.name: the decode pool's model (%s) differs from "
                   "the prefill pool's (%s); the KV cache cannot move between models",
                   at[1], pd->dcfg.tm.model, cfg->tm.model);
    return TRUE;
}

gboolean
tool_pd_prepare(sim_config *cfg, tool_pd **out, GError **error)
{
    *out = NULL;
    sim_options *o = &cfg->sim;
    bool split = o->pd_pools != NULL;
    bool pools = o->pools != NULL && !json_is_null(o->pools);
    if (!split && !pools)
        return TRUE;
    if (split && pools)
        return bad(error, "--pd and cluster.pools both set: give the split one way");
    if (strcmp(o->scheduler, "static") == 0 || strcmp(o->scheduler, "orca") == 0)
        return bad(error,
                   "--scheduler %s: prefill/decode disaggregation (--pd) is modelled with the "
                   "vllm and sarathi schedulers (%s reserves KV for whole requests)",
                   o->scheduler, o->scheduler);
    if (o->speculative_config != NULL && !json_is_null(o->speculative_config))
        return bad(error, "--speculative-config with --pd: speculative decoding is not modelled "
                          "on disaggregated pools (the prefill pool runs each prompt with "
                          "max_tokens 1; drafts would belong to the decode pool)");
    g_autoptr(tool_pd) pd = g_new0(tool_pd, 1);
    sim_config_copy(&pd->dcfg, cfg);
    if (split) {
        if (!parse_split(o->pd_pools, &pd->nprefill, &pd->ndecode, error))
            return FALSE;
    } else if (!parse_pools(pd, cfg, o->pools, error)) {
        return FALSE;
    }
    if (strcmp(o->scheduler, "static") == 0 || strcmp(o->scheduler, "orca") == 0)
        return bad(error,
                   "scheduler.policy %s (prefill pool): disaggregation is modelled with vllm "
                   "and sarathi",
                   o->scheduler);
    if (strcmp(pd->dcfg.sim.scheduler, "static") == 0 ||
        strcmp(pd->dcfg.sim.scheduler, "orca") == 0)
        return bad(error,
                   "scheduler.policy %s (decode pool): disaggregation is modelled with vllm "
                   "and sarathi",
                   pd->dcfg.sim.scheduler);
    pd->preset = sim_link_preset_find(o->pd_link);
    if (pd->preset == NULL)
        return bad(error, "--pd-link: unknown link '%s'", o->pd_link);
    sim_link_params *lk = &pd->link;
    lk->name = pd->preset->name;
    lk->bandwidth_Bps = isnan(o->pd_link_bandwidth_gbs) ? pd->preset->bandwidth_Bps
                                                        : o->pd_link_bandwidth_gbs * 1e9;
    lk->efficiency = isnan(o->pd_link_efficiency) ? pd->preset->efficiency : o->pd_link_efficiency;
    lk->setup_s = isnan(o->pd_link_setup_ms) ? pd->preset->setup_s : o->pd_link_setup_ms * 1e-3;
    lk->per_descriptor_s = isnan(o->pd_link_per_descriptor_us)
                               ? pd->preset->per_descriptor_s
                               : o->pd_link_per_descriptor_us * 1e-6;
    lk->layer_streaming = o->pd_layer_streaming;
    if (!(lk->bandwidth_Bps > 0) || !isfinite(lk->bandwidth_Bps))
        return bad(error,
                   "--pd-link-bandwidth (pd.link_bandwidth_gbs): the link bandwidth must be "
                   "> 0 GB/s, got %g",
                   o->pd_link_bandwidth_gbs);
    if (!(lk->efficiency > 0 && lk->efficiency <= 1))
        return bad(error, "--pd-link-efficiency (pd.link_efficiency): must be in (0, 1], got %g",
                   lk->efficiency);
    if (!(lk->setup_s >= 0) || !isfinite(lk->setup_s))
        return bad(error, "--pd-link-setup-ms (pd.link_setup_ms): must be ≥ 0, got %g",
                   o->pd_link_setup_ms);
    if (!(lk->per_descriptor_s >= 0) || !isfinite(lk->per_descriptor_s))
        return bad(error,
                   "--pd-link-per-descriptor-us (pd.link_per_descriptor_us): must be ≥ 0, got %g",
                   o->pd_link_per_descriptor_us);
    /* the top-level settings are the prefill pool's; a replica count that says otherwise is
     * refused rather than overridden (1, the default, and P itself, as --print-config writes
     * it, are the split's own) */
    if (o->replicas != 1 && o->replicas != pd->nprefill)
        return bad(error,
                   "--replicas %" G_GINT64_FORMAT " (cluster.replicas) with a prefill/decode "
                   "split of %" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                   ": the split sets the replica counts",
                   o->replicas, (int64_t)pd->nprefill, (int64_t)pd->ndecode);
    o->replicas = pd->nprefill;
    pd->dcfg.sim.replicas = pd->ndecode;
    *out = g_steal_pointer(&pd);
    return TRUE;
}

const sim_config *
tool_pd_decode_config(const tool_pd *pd)
{
    return &pd->dcfg;
}

/* KV bytes one engine core's GPUs hold per token (docs/domain.md §2.1): per GPU × tp × pp. */
static double
core_kv_bytes(const tm_setup *s)
{
    const tm_parallel *par = tm_setup_parallel(s);
    return tm_model_kv_bytes_per_token_gpu(tm_setup_model(s), tm_setup_params_const(s)->kv_dtype,
                                           par) *
           (double)(par->tp * par->pp);
}

static void
set_layout(tool_pd *pd, int i, const tm_setup *s)
{
    const tm_parallel *par = tm_setup_parallel(s);
    g_free(pd->layout[i].hardware);
    pd->layout[i].hardware = g_strdup(tm_setup_hardware(s)->name);
    pd->layout[i].tp = par->tp;
    pd->layout[i].pp = par->pp;
    pd->layout[i].dp = par->dp;
}

char *
tool_pd_decode_desc(const tool_pd *pd)
{
    if (pd->layout[1].hardware == NULL)
        return NULL;
    return g_strdup_printf(
        "decode pool: %s, TP %" G_GINT64_FORMAT " x PP %" G_GINT64_FORMAT " x DP %" G_GINT64_FORMAT,
        pd->layout[1].hardware, pd->layout[1].tp, pd->layout[1].pp, pd->layout[1].dp);
}

gboolean
tool_pd_complete(tool_pd *pd,
                 const sim_config *cfg,
                 const tm_setup *prefill,
                 double scale,
                 sim_cluster_params *cp,
                 GError **error)
{
    const sim_options *o = &cfg->sim;
    sim_pool_params *P = &cp->pool;
    const tm_parallel *ppar = tm_setup_parallel(prefill);
    P->role = SIM_POOL_PREFILL;
    P->name = "prefill";
    if (o->pd_prefill_router != NULL)
        P->router = sched_find_router(o->pd_prefill_router);
    pd->kv_prefill = core_kv_bytes(prefill);
    P->kv_bytes_per_token = pd->kv_prefill;
    P->gpus_per_core = (uint32_t)(ppar->tp * ppar->pp);
    P->layers = (uint32_t)tm_setup_model(prefill)->layers;
    set_layout(pd, 0, prefill);

    /* the decode pool: its own setup, from the settings as given plus its overrides */
    sim_config *dc = &pd->dcfg;
    GError *err = NULL;
    pd->dsetup = tm_setup_new(&dc->tm, &err);
    if (pd->dsetup == NULL) {
        g_propagate_prefixed_error(error, err, "decode pool: ");
        return FALSE;
    }
    runner_pool_defaults(dc, pd->dsetup);
    sim_options *d = &dc->sim;
    if (d->block_size != o->block_size)
        return bad(error,
                   "kv.block_size: the decode pool's blocks (%" G_GINT64_FORMAT
                   " tokens) differ from the prefill pool's (%" G_GINT64_FORMAT
                   "); transfers between block sizes are not modelled",
                   d->block_size, o->block_size);
    tm_memory_args ma = {
        .gpu_memory_utilization = d->gpu_memory_utilization,
        .block_size = d->block_size,
        .max_model_len = d->max_model_len,
        .max_num_batched_tokens = d->max_num_batched_tokens,
        .max_num_seqs = d->max_num_seqs,
    };
    if (!tm_setup_memory_plan(pd->dsetup, &ma, &pd->dplan, &err) &&
        d->num_gpu_blocks_override == BASE_OPT_UNSET_INT) {
        g_propagate_prefixed_error(error, err, "decode pool: ");
        return FALSE;
    }
    g_clear_error(&err);
    int64_t blocks = d->num_gpu_blocks_override != BASE_OPT_UNSET_INT ? d->num_gpu_blocks_override
                                                                      : pd->dplan.num_gpu_blocks;
    pd->dblocks = blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks;
    bool scaled = scale > 0 && scale != 1.0;
    pd->dtm = tm_setup_timemodel(pd->dsetup);
    if (scaled)
        pd->dtm = tm_scaled_new(pd->dtm, scale);
    const tm_parallel *dpar = tm_setup_parallel(pd->dsetup);
    set_layout(pd, 1, pd->dsetup);
    pd->dstages = g_ptr_array_new_with_free_func((GDestroyNotify)tm_timemodel_free);
    for (int64_t s = 0; dpar->pp > 1 && s < dpar->pp; s++) {
        tm_timemodel *st = tm_setup_stage_timemodel(pd->dsetup, s);
        g_ptr_array_add(pd->dstages, scaled ? tm_scaled_new(st, scale) : st);
    }
    sim_engine_params ep;
    bool lockstep = false;
    if (!runner_pool_engine(dc, pd->dsetup, pd->dtm, &ep, &lockstep, &err)) {
        g_propagate_prefixed_error(error, err, "decode pool: ");
        return FALSE;
    }
    pd->kv_decode = core_kv_bytes(pd->dsetup);
    sim_pool_params D = {
        .name = "decode",
        .role = SIM_POOL_DECODE,
        .nreplicas = pd->ndecode,
        .dp = (uint32_t)dc->tm.dp,
        .pp = (uint32_t)dpar->pp,
        .lockstep = lockstep,
        .sched = {.max_num_seqs = (uint32_t)d->max_num_seqs,
                  .max_num_batched_tokens = (uint32_t)d->max_num_batched_tokens,
                  .max_model_len = (uint32_t)d->max_model_len,
                  .long_prefill_token_threshold = (uint32_t)d->long_prefill_token_threshold,
                  .chunked_prefill = d->enable_chunked_prefill,
                  .priority = strcmp(d->scheduling_policy, "priority") == 0,
                  .chunk_size = (uint32_t)d->chunk_size,
                  .batch_size = (uint32_t)d->batch_size,
                  .watermark = d->watermark,
                  .dsa_topk = tm_setup_dsa_topk(pd->dsetup)},
        .scheduler = sched_find_scheduler(d->scheduler),
        .router = sched_find_router(o->pd_decode_router),
        .num_blocks = pd->dblocks,
        .block_size = (uint32_t)d->block_size,
        .prefix_caching = d->enable_prefix_caching,
        .tm = pd->dtm,
        .stage_tm = dpar->pp > 1 ? (const tm_timemodel *const *)pd->dstages->pdata : NULL,
        .engine = ep,
        .overlap_weight = 1.0,
        .kv_bytes_per_token = pd->kv_decode,
        .gpus_per_core = (uint32_t)(dpar->tp * dpar->pp),
        .layers = (uint32_t)tm_setup_model(pd->dsetup)->layers,
    };
    cp->pd.enabled = true;
    cp->pd.decode = D;
    cp->pd.link = pd->link;
    cp->pd.conditional_tokens = (uint32_t)o->pd_conditional_tokens;
    cp->pd.early_reject = o->pd_early_reject;
    return TRUE;
}

static void
on_transfer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tool_pd *pd = ctx;
    const sim_transfer_record *t = payload;
    h_add(&pd->xfer, t->end_ns - t->start_ns);
    h_add(&pd->data, t->end_ns - t->data_start_ns);
    h_add(&pd->queue, t->start_ns - t->queued_ns);
    if (t->end_ns - t->prefill_done_ns > TOOL_PD_ABORT_TIMEOUT_NS)
        pd->over_abort++;
    pd->n++;
    pd->bytes += t->bytes;
    pd->streamed += t->streamed_bytes;
}

void
tool_pd_subscribe(tool_pd *pd, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_TRANSFER, on_transfer, pd);
}

typedef struct pool_fig {
    const char *role;
    uint32_t replicas, cores;
    double busy, budget_fill, kv_mean, kv_max, port_Bps;
    uint64_t preemptions, steps, requests;
} pool_fig;

static pool_fig
pool_figures(const sim_cluster *cl, const sim_metrics_result *res, uint32_t i)
{
    pool_fig f = {0};
    uint32_t base, n, rbase;
    sim_cluster_pool_range(cl, i, &base, &n, &rbase);
    const sim_pool_params *p = sim_cluster_pool_at(cl, i);
    f.role = sim_pool_role_name(p->role);
    f.replicas = p->nreplicas;
    f.cores = n;
    f.port_Bps = sim_cluster_port_capacity(cl, base);
    uint32_t counted = 0;
    for (uint32_t k = base; k < base + n && k < res->nreplicas; k++) {
        const sim_replica_result *r = &res->replicas[k];
        counted++;
        f.busy += isnan(r->busy_fraction) ? 0 : r->busy_fraction;
        f.budget_fill += isnan(r->token_budget_fill) ? 0 : r->token_budget_fill;
        f.kv_mean += isnan(r->kv_usage_time_mean) ? 0 : r->kv_usage_time_mean;
        if (r->kv_usage_max > f.kv_max)
            f.kv_max = r->kv_usage_max;
        f.preemptions += r->preemptions;
        f.steps += r->steps;
        f.requests += r->requests;
    }
    if (counted > 0) {
        f.busy /= counted;
        f.budget_fill /= counted;
        f.kv_mean /= counted;
    }
    return f;
}

static double
window_s(const sim_metrics_result *res)
{
    return (double)(res->run_end_ns - res->run_start_ns) / 1e9;
}

static json_t *
dist_json(const hist *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)h->count));
    json_object_set_new(
        o, "mean", base_json_real(h->count > 0 ? h->sum / (double)h->count / 1e6 : (double)NAN));
    json_object_set_new(o, "p50", base_json_real(h_pct_ms(h, 50)));
    json_object_set_new(o, "p90", base_json_real(h_pct_ms(h, 90)));
    json_object_set_new(o, "p99", base_json_real(h_pct_ms(h, 99)));
    json_object_set_new(o, "max",
                        base_json_real(h->count > 0 ? (double)h->max / 1e6 : (double)NAN));
    return o;
}

json_t *
tool_pd_json(const tool_pd *pd, const sim_cluster *cl, const sim_metrics_result *res)
{
    json_t *o = json_object();
    sim_cluster_stats st = sim_cluster_get_stats(cl);
    double win = window_s(res);
    json_t *pools = json_array();
    for (uint32_t i = 0; i < sim_cluster_npools(cl); i++) {
        pool_fig f = pool_figures(cl, res, i);
        const sim_pool_params *p = sim_cluster_pool_at(cl, i);
        json_t *j = json_object();
        json_object_set_new(j, "role", json_string(f.role));
        if (i < 2 && pd->layout[i].hardware != NULL) {
            json_object_set_new(j, "hardware", json_string(pd->layout[i].hardware));
            json_object_set_new(j, "tensor_parallel_size", json_integer(pd->layout[i].tp));
            json_object_set_new(j, "pipeline_parallel_size", json_integer(pd->layout[i].pp));
            json_object_set_new(j, "data_parallel_size", json_integer(pd->layout[i].dp));
        }
        json_object_set_new(j, "replicas", json_integer(f.replicas));
        json_object_set_new(j, "engine_cores", json_integer(f.cores));
        json_object_set_new(j, "gpus_per_core", json_integer(p->gpus_per_core));
        json_object_set_new(j, "num_gpu_blocks", json_integer(p->num_blocks));
        json_object_set_new(j, "max_num_seqs", json_integer(p->sched.max_num_seqs));
        json_object_set_new(j, "max_num_batched_tokens",
                            json_integer(p->sched.max_num_batched_tokens));
        json_object_set_new(j, "router", json_string(p->router->name));
        json_object_set_new(j, "kv_bytes_per_token", base_json_number(p->kv_bytes_per_token));
        json_object_set_new(j, "busy_fraction", base_json_real(f.busy));
        json_object_set_new(j, "token_budget_fill", base_json_real(f.budget_fill));
        json_object_set_new(j, "kv_usage_time_mean", base_json_real(f.kv_mean));
        json_object_set_new(j, "kv_usage_max", base_json_real(f.kv_max));
        json_object_set_new(j, "preemptions", json_integer((json_int_t)f.preemptions));
        json_object_set_new(j, "steps", json_integer((json_int_t)f.steps));
        json_object_set_new(j, "port_GBps", base_json_real(f.port_Bps / 1e9));
        double cap = f.port_Bps * f.cores * win;
        json_object_set_new(j, "link_utilisation",
                            base_json_real(cap > 0 ? (double)pd->bytes / cap : (double)NAN));
        json_array_append_new(pools, j);
    }
    json_object_set_new(o, "pools", pools);
    json_t *l = json_object();
    json_object_set_new(l, "preset", json_string(pd->preset->name));
    json_object_set_new(l, "summary", json_string(pd->preset->summary));
    json_object_set_new(l, "source", json_string(pd->preset->source));
    json_object_set_new(l, "bandwidth_GBps_per_gpu", base_json_real(pd->link.bandwidth_Bps / 1e9));
    json_object_set_new(l, "efficiency", base_json_real(pd->link.efficiency));
    json_object_set_new(l, "setup_ms", base_json_real(pd->link.setup_s * 1e3));
    json_object_set_new(l, "per_descriptor_us", base_json_real(pd->link.per_descriptor_s * 1e6));
    json_object_set_new(l, "layer_streaming", json_boolean(pd->link.layer_streaming));
    json_object_set_new(l, "sharing", json_string("max-min fair"));
    json_object_set_new(l, "transfers", json_integer((json_int_t)pd->n));
    json_object_set_new(l, "bytes", json_integer((json_int_t)pd->bytes));
    json_object_set_new(l, "streamed_bytes", base_json_number(pd->streamed));
    json_object_set_new(l, "peak_concurrent_transfers",
                        json_integer((json_int_t)st.peak_transfers));
    json_object_set_new(l, "transfer_ms", dist_json(&pd->xfer));
    json_object_set_new(l, "data_phase_ms", dist_json(&pd->data));
    json_object_set_new(l, "decode_queue_ms", dist_json(&pd->queue));
    json_object_set_new(l, "held_past_abort_timeout", json_integer((json_int_t)pd->over_abort));
    json_object_set_new(o, "link", l);
    json_object_set_new(o, "local_prefills", json_integer((json_int_t)st.local_prefills));
    json_object_set_new(o, "early_rejected", json_integer((json_int_t)st.early_rejected));
    return o;
}

json_t *
tool_pd_resolved_json(const tool_pd *pd)
{
    json_t *j = sim_config_to_json(&pd->dcfg);
    json_t *keep = json_object();
    for (const char *const *k = pool_sections; *k != NULL; k++)
        if (json_object_get(j, *k) != NULL)
            json_object_set(keep, *k, json_object_get(j, *k));
    json_t *c = json_object_get(j, "cluster");
    if (c != NULL)
        json_object_set(keep, "replicas", json_object_get(c, "replicas"));
    json_t *m = json_object();
    json_object_set_new(m, "kv_bytes_per_token_per_gpu",
                        base_json_number(pd->dplan.kv_bytes_per_token));
    json_object_set_new(m, "num_gpu_blocks", json_integer(pd->dblocks));
    json_object_set_new(keep, "memory", m);
    json_decref(j);
    return keep;
}

gboolean
tool_pd_print_config(const tool_pd *pd, json_t *j, GError **error)
{
    if (!pd->pools)
        return TRUE;
    /* the top-level settings printed are the prefill pool's, resolved for its GPU; a decode
     * entry that only named its overrides would start from them when loaded back and inherit
     * the prefill entry's settings and "auto" values resolved for the other GPU. So the decode
     * entry is written in full, resolved for its own GPU: it loads back to the same pool. */
    sim_config dc;
    sim_config_copy(&dc, &pd->dcfg);
    GError *err = NULL;
    tm_setup *ds = tm_setup_new(&dc.tm, &err);
    if (ds == NULL) {
        sim_config_clear(&dc);
        g_propagate_prefixed_error(error, err, "decode pool: ");
        return FALSE;
    }
    runner_pool_defaults(&dc, ds);
    json_t *full = sim_config_to_json(&dc);
    tm_setup_free(ds);
    sim_config_clear(&dc);
    /* a copy: the printed value may share the configuration's own */
    json_t *cl = json_object_get(j, "cluster");
    json_t *pools = json_deep_copy(json_object_get(cl, "pools"));
    if (json_is_object(cl) && pools != NULL)
        json_object_set_new(cl, "pools", pools);
    json_t *entry = json_array_get(pools, pd->decode_at);
    for (const char *const *k = pool_sections; json_is_object(entry) && *k != NULL; k++) {
        json_t *v = json_object_get(full, *k);
        if (v != NULL)
            json_object_set(entry, *k, v);
    }
    json_decref(full);
    return TRUE;
}

GString *
tool_pd_table(const tool_pd *pd, const sim_cluster *cl, const sim_metrics_result *res)
{
    GString *t = g_string_new(NULL);
    double win = window_s(res);
    g_string_append(t, "------------------Prefill/decode pools------------------\n");
    for (uint32_t i = 0; i < sim_cluster_npools(cl); i++) {
        pool_fig f = pool_figures(cl, res, i);
        double cap = f.port_Bps * f.cores * win;
        g_string_append_printf(t,
                               "%-8s %3u replicas  busy %5.1f %%  KV mean %5.1f %% max %5.1f %%  "
                               "link %5.1f %%\n",
                               f.role, f.replicas, 100 * f.busy, 100 * f.kv_mean, 100 * f.kv_max,
                               cap > 0 ? 100.0 * (double)pd->bytes / cap : 0.0);
        if (i < 2 && pd->layout[i].hardware != NULL)
            g_string_append_printf(t,
                                   "         on %s, TP %" G_GINT64_FORMAT " x PP %" G_GINT64_FORMAT
                                   " x DP %" G_GINT64_FORMAT " per replica\n",
                                   pd->layout[i].hardware, pd->layout[i].tp, pd->layout[i].pp,
                                   pd->layout[i].dp);
    }
    g_string_append_printf(t, "Link %s (%.1f GB/s per GPU × %.2f%s)\n", pd->link.name,
                           pd->link.bandwidth_Bps / 1e9, pd->link.efficiency,
                           pd->link.layer_streaming ? ", layer streaming" : "");
    g_string_append_printf(t, "KV transfers:                            %" G_GUINT64_FORMAT "\n",
                           pd->n);
    g_string_append_printf(t, "KV moved (GB):                           %.2f\n",
                           (double)pd->bytes / 1e9);
    g_string_append_printf(t, "Transfer time p50 / p99 (ms):            %.2f / %.2f\n",
                           h_pct_ms(&pd->xfer, 50), h_pct_ms(&pd->xfer, 99));
    g_string_append_printf(t, "Decode queue for blocks p50 / p99 (ms):  %.2f / %.2f\n",
                           h_pct_ms(&pd->queue, 50), h_pct_ms(&pd->queue, 99));
    sim_cluster_stats st = sim_cluster_get_stats(cl);
    if (st.local_prefills > 0)
        g_string_append_printf(t,
                               "Prefilled on the decode replica:         %" G_GUINT64_FORMAT "\n",
                               st.local_prefills);
    if (st.early_rejected > 0)
        g_string_append_printf(t,
                               "Rejected early (decode full):            %" G_GUINT64_FORMAT "\n",
                               st.early_rejected);
    g_string_append(t, "========================================================\n");
    return t;
}

uint64_t
tool_pd_held_past_abort_timeout(const tool_pd *pd)
{
    return pd->over_abort;
}

void
tool_pd_free(tool_pd *pd)
{
    if (pd == NULL)
        return;
    sim_config_clear(&pd->dcfg);
    g_free(pd->layout[0].hardware);
    g_free(pd->layout[1].hardware);
    if (pd->dstages != NULL)
        g_ptr_array_free(pd->dstages, TRUE);
    tm_timemodel_free(pd->dtm);
    tm_setup_free(pd->dsetup);
    g_free(pd);
}
