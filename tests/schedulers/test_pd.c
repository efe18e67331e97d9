/* tests/schedulers/test_pd.c: prefill/decode disaggregation on the engine with a linear step
 * model and a link whose times are worked out by hand: a single request's TTFT with and without
 * layer streaming, two transfers sharing a port, conditional disaggregation, decode-pool
 * back-pressure, and property tests over prefill × decode router pairs (every request ends
 * exactly once, tokens conserved, no block or request left on any pool, KV invariants after
 * every step with the held blocks counted), plus determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "base/rng.h"
#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/observe.h"

typedef struct {
    GArray *recs;  /* sim_request_record */
    GArray *xfers; /* sim_transfer_record */
    uint64_t tokens;
    uint32_t max_prefill_used; /* most KV blocks used on a prefill core after a step */
} sink;

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    g_array_append_vals(s->recs, payload, 1);
}

static void
on_xfer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    g_array_append_vals(s->xfers, payload, 1);
}

static void
on_step(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    const sim_step_record *r = payload;
    if (r->core == 0 && r->kv_used_blocks > s->max_prefill_used)
        s->max_prefill_used = r->kv_used_blocks;
}

static void
on_token(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    s->tokens += ((const sim_token_event *)payload)->ntokens;
}

typedef struct {
    uint32_t prefill_replicas, decode_replicas;
    char prefill_router[24], decode_router[24];
    uint32_t prefill_blocks, decode_blocks;
    uint32_t budget, max_seqs, max_model_len;
    bool streaming;
    bool async;
    uint32_t conditional;
    bool early_reject;
    tm_linear_coeffs lin;
    sim_link_params link;
    double kv_bytes_per_token;
    uint32_t layers;
    uint32_t decode_gpus; /* GPUs (NICs) per decode core; 0 = 1 */
} pd_setup;

static pd_setup
default_pd(void)
{
    pd_setup s = {
        .prefill_replicas = 1,
        .decode_replicas = 1,
        .prefill_router = "round_robin",
        .decode_router = "round_robin",
        .prefill_blocks = 4097,
        .decode_blocks = 4097,
        .budget = 2048,
        .max_seqs = 256,
        .max_model_len = 8192,
        .lin = {.fixed_s = 1e-3, .per_prefill_token_s = 1e-5},
        /* 1 GB/s at 50 %: 500 MB/s per port (one GPU per core) */
        .link = {.name = "test",
                 .bandwidth_Bps = 1e9,
                 .efficiency = 0.5,
                 .setup_s = 1e-3,
                 .per_descriptor_s = 1e-5},
        .kv_bytes_per_token = 1000,
        .layers = 4,
    };
    return s;
}

static sim_pool_params
pool_params(const pd_setup *su, const tm_timemodel *tm, bool decode)
{
    sim_pool_params p = {
        .sched = {.max_num_seqs = su->max_seqs,
                  .max_num_batched_tokens = su->budget,
                  .max_model_len = su->max_model_len,
                  .chunked_prefill = true,
                  .chunk_size = 512},
        .scheduler = sched_find_scheduler("vllm"),
        .router = sched_find_router(decode ? su->decode_router : su->prefill_router),
        .nreplicas = decode ? su->decode_replicas : su->prefill_replicas,
        .num_blocks = decode ? su->decode_blocks : su->prefill_blocks,
        .block_size = 16,
        .prefix_caching = true,
        .tm = tm,
        .overlap_weight = 1.0,
        .kv_bytes_per_token = su->kv_bytes_per_token,
        .gpus_per_core = decode && su->decode_gpus > 0 ? su->decode_gpus : 1,
        .layers = su->layers,
    };
    p.engine.async_scheduling = su->async;
    return p;
}

static sink
simulate(const pd_setup *su, const wl_request *reqs, size_t n, sim_cluster_stats *stats_out)
{
    sim_engine *e = sim_engine_new();
    sink s = {g_array_new(FALSE, FALSE, sizeof(sim_request_record)),
              g_array_new(FALSE, FALSE, sizeof(sim_transfer_record)), 0, 0};
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, &s);
    sim_engine_subscribe(e, SIM_TOPIC_TRANSFER, on_xfer, &s);
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, on_token, &s);
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, on_step, &s);
    tm_timemodel *tm = tm_linear_new(&su->lin);
    sim_cluster_params p = {
        .pool = pool_params(su, tm, false),
        .pd = {.enabled = true,
               .decode = pool_params(su, tm, true),
               .link = su->link,
               .conditional_tokens = su->conditional,
               .early_reject = su->early_reject},
        .seed = 42,
        .check_invariants = true,
    };
    p.pd.link.layer_streaming = su->streaming;
    sim_array_source arr = {reqs, n, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    sim_cluster *c = sim_cluster_new(e, &p, &src, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    cr_assert_eq(sim_cluster_npools(c), 2);
    cr_assert(sim_cluster_run(c, SIM_TIME_MAX, &err));
    if (stats_out != NULL)
        *stats_out = sim_cluster_get_stats(c);
    cr_assert_eq(sim_cluster_live_requests(c), 0, "no request (or held-block ghost) leaks");
    cr_assert_eq(sim_cluster_ncores(c), su->prefill_replicas + su->decode_replicas);
    for (uint32_t i = 0; i < sim_cluster_ncores(c); i++) {
        const sim_replica *r = sim_cluster_core(c, i);
        cr_assert_eq(r->id, i);
        cr_assert_eq(sim_kvpool_num_used(r->kv), 0, "no block leaks on core %u", i);
        cr_assert_eq(r->nheld, 0);
        cr_assert_eq(r->remaining_tokens, 0);
        cr_assert_eq(r->remaining_prefill, 0);
        cr_assert_eq(r->assigned, 0);
    }
    cr_assert_eq(sim_engine_get_stats(e).pending, 0);
    sim_cluster_free(c);
    tm_timemodel_free(tm);
    sim_engine_free(e);
    return s;
}

static void
sink_free(sink *s)
{
    g_array_free(s->recs, TRUE);
    g_array_free(s->xfers, TRUE);
}

static const sim_request_record *
rec_by_id(const sink *s, uint64_t id)
{
    for (guint i = 0; i < s->recs->len; i++)
        if (g_array_index(s->recs, sim_request_record, i).id == id)
            return &g_array_index(s->recs, sim_request_record, i);
    cr_assert_fail("no record for request %llu", (unsigned long long)id);
    abort();
}

/* Prompt 100, 11 output tokens, sent at 5 ms, alone.
 *   prefill on P: 1 ms + 100 × 10 µs = 2 ms                          → done at 7 ms
 *   hand-off (no API server): D allocates at 7 ms, the pull starts
 *   fixed latency: setup 1 ms + 4 layers × ceil(100/16) = 7 blocks × 10 µs = 1.28 ms
 *   data: 100 tokens × 1000 B = 100 kB at 0.5 GB/s = 0.2 ms           → landed at 8.48 ms
 *   D recomputes the last prompt token and samples token 1: 1 ms      → first token 9.48 ms
 *   10 more decode steps of 1 ms                                       → last token 19.48 ms
 * TTFT = 2 + 1.28 + 0.2 + 1 = 4.48 ms (docs/domain.md §2.4). */
Test(pd, single_request_ttft_is_prefill_plus_transfer_plus_one_decode_step)
{
    pd_setup su = default_pd();
    wl_request w = {.id = 7, .arrival_ns = 5000000, .prompt_tokens = 100, .output_tokens = 11};
    sink s = simulate(&su, &w, 1, NULL);
    const sim_request_record *r = rec_by_id(&s, 7);
    cr_expect(!r->failed);
    cr_expect_eq(r->prefill_replica, 0);
    cr_expect_eq(r->replica, 1, "decode replicas are numbered after the prefill replicas");
    cr_expect_eq(r->xfer_start_ns, 7000000);
    cr_expect_eq(r->xfer_end_ns, 8480000);
    cr_expect_eq(r->xfer_bytes, 100000);
    cr_expect_eq(r->first_token_ns, 9480000);
    cr_expect_eq(r->first_token_ns - r->send_ns, 4480000);
    cr_expect_eq(r->finish_ns, 19480000);
    cr_expect_eq(r->output_tokens, 11);
    cr_expect_eq(s.tokens, 11, "the prefill's token is not the client's");
    cr_assert_eq(s.xfers->len, 1);
    const sim_transfer_record *x = &g_array_index(s.xfers, sim_transfer_record, 0);
    cr_expect_eq(x->data_start_ns, 8280000);
    cr_expect_eq(x->tokens, 100);
    sink_free(&s);
}

/* The same with layer streaming: during the 2 ms prefill the link alone could carry 1 MB, more
 * than all but the last of the 4 layers (75 kB), so 25 kB remain: 0.05 ms exposed
 * (max(0, t_xfer − t_prefill) + t_xfer / L, docs/domain.md §2.2).
 * TTFT = 2 + 1.28 + 0.05 + 1 = 4.33 ms. */
Test(pd, layer_streaming_exposes_only_the_last_layer)
{
    pd_setup su = default_pd();
    su.streaming = true;
    wl_request w = {.id = 7, .arrival_ns = 5000000, .prompt_tokens = 100, .output_tokens = 11};
    sink s = simulate(&su, &w, 1, NULL);
    const sim_request_record *r = rec_by_id(&s, 7);
    cr_expect_eq(r->xfer_end_ns, 8330000);
    cr_expect_eq(r->first_token_ns - r->send_ns, 4330000);
    const sim_transfer_record *x = &g_array_index(s.xfers, sim_transfer_record, 0);
    cr_expect_float_eq(x->streamed_bytes, 75000.0, 1e-6);
    sink_free(&s);
}

/* Streaming cannot hide a transfer longer than the prefill: 1000 B/token at 5 MB/s (100×
 * slower) makes t_xfer = 20 ms against a 2 ms prefill: 2 ms × 5 MB/s = 10 kB streamed, 90 kB
 * left = 18 ms exposed (= t_xfer − t_prefill). */
Test(pd, layer_streaming_on_a_slow_link_exposes_the_excess)
{
    pd_setup su = default_pd();
    su.streaming = true;
    su.link.bandwidth_Bps = 1e7;
    wl_request w = {.id = 1, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 2};
    sink s = simulate(&su, &w, 1, NULL);
    const sim_request_record *r = rec_by_id(&s, 1);
    cr_expect_eq(r->xfer_end_ns, 2000000 + 1280000 + 18000000);
    cr_expect_eq(r->first_token_ns, 2000000 + 1280000 + 18000000 + 1000000);
    sink_free(&s);
}

/* Two prompts of 100 sent together prefill in one 3 ms step, reach D together and are
 * allocated in one plan: both data phases share both ports, each at half the rate, so each
 * takes 2 × 0.2 ms (max-min fair share, docs/design.md §5c). */
Test(pd, two_transfers_on_one_link_each_take_twice_as_long)
{
    pd_setup su = default_pd();
    wl_request w[2] = {{.id = 1, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 3},
                       {.id = 2, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 3}};
    sink s = simulate(&su, w, 2, NULL);
    cr_assert_eq(s.xfers->len, 2);
    for (int i = 0; i < 2; i++) {
        const sim_transfer_record *x = &g_array_index(s.xfers, sim_transfer_record, i);
        cr_expect_eq(x->start_ns, 3000000);
        cr_expect_eq(x->data_start_ns, 4280000);
        cr_expect_eq(x->end_ns - x->data_start_ns, 400000, "twice the 0.2 ms of one alone");
    }
    sink_free(&s);
}

/* A transfer that joins while another is in progress: both prompts (1 MB of KV each, 2 ms
 * alone at 0.5 GB/s) prefill in 1 ms steps one after the other (budget 100), so the second's
 * data phase starts 1 ms after the first's. The first moves 0.5 MB alone, then both share
 * (0.25 GB/s each): its other 0.5 MB take 2 ms (+3 ms), while the second moves 0.5 MB; the
 * second then finishes its last 0.5 MB alone in 1 ms (+4 ms). */
Test(pd, a_joining_transfer_slows_the_one_in_progress)
{
    pd_setup su = default_pd();
    su.lin.per_prefill_token_s = 0; /* prefill 1 ms whatever the length */
    su.budget = 100;                /* one prompt per step: the second prefills 1 ms later */
    su.kv_bytes_per_token = 10000;  /* 100 tokens = 1 MB */
    wl_request w[2] = {{.id = 1, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 2},
                       {.id = 2, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 2}};
    sink s = simulate(&su, w, 2, NULL);
    cr_assert_eq(s.xfers->len, 2);
    const sim_transfer_record *a = &g_array_index(s.xfers, sim_transfer_record, 0);
    const sim_transfer_record *b = &g_array_index(s.xfers, sim_transfer_record, 1);
    cr_assert_eq(a->request_id, 1);
    cr_expect_eq(b->data_start_ns - a->data_start_ns, 1000000);
    cr_expect_eq(a->end_ns - a->data_start_ns, 3000000);
    cr_expect_eq(b->end_ns - a->data_start_ns, 4000000);
    sink_free(&s);
}

/* Max-min fairness, not an equal share per port. Two prefill cores (ports of 0.5 GB/s) and one
 * decode core with two GPUs (port 1 GB/s); no descriptor cost, prefill 1 ms whatever the
 * length. Round robin sends requests 1 and 3 to P0 and 2 to P1; all three are handed off at
 * 1 ms, allocated in one plan, and start their data phase at 1 + 1 ms setup = 2 ms.
 *   P0 carries two transfers (0.25 GB/s each), D three (0.333 GB/s each): P0 is the
 *   bottleneck of 1 and 3, which get 0.25 GB/s; D has 1 − 0.5 = 0.5 GB/s left for 2, as has
 *   P1, so 2 runs at 0.5 GB/s (an equal share per port would give it 0.333 GB/s).
 *   2: 100 kB / 0.5 GB/s = 0.2 ms                      → ends at 2.2 ms (equal share: 2.3)
 *   1: 100 kB / 0.25 GB/s = 0.4 ms                     → ends at 2.4 ms
 *   3: 200 kB: 100 kB by 2.4 ms, then alone on P0 at 0.5 GB/s for the other 100 kB
 *                                                       → ends at 2.6 ms */
Test(pd, max_min_fair_gives_a_bottlenecked_transfers_leftover_to_the_others)
{
    pd_setup su = default_pd();
    su.prefill_replicas = 2;
    su.lin.per_prefill_token_s = 0;
    su.link.per_descriptor_s = 0;
    su.decode_gpus = 2;
    wl_request w[3] = {{.id = 1, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 2},
                       {.id = 2, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 2},
                       {.id = 3, .arrival_ns = 0, .prompt_tokens = 200, .output_tokens = 2}};
    sink s = simulate(&su, w, 3, NULL);
    cr_assert_eq(s.xfers->len, 3);
    static const int64_t end_ns[4] = {0, 2400000, 2200000, 2600000};
    static const uint32_t src[4] = {0, 0, 1, 0};
    for (int i = 0; i < 3; i++) {
        const sim_transfer_record *x = &g_array_index(s.xfers, sim_transfer_record, i);
        cr_assert_leq(x->request_id, 3);
        cr_expect_eq(x->src_replica, src[x->request_id], "request %llu",
                     (unsigned long long)x->request_id);
        cr_expect_eq(x->start_ns, 1000000);
        cr_expect_eq(x->data_start_ns, 2000000);
        cr_expect_eq(x->end_ns, end_ns[x->request_id], "request %llu",
                     (unsigned long long)x->request_id);
        cr_expect_float_eq(x->dst_capacity_Bps, 1e9, 1e-6);
    }
    sink_free(&s);
}

/* Conditional disaggregation: prompts with fewer uncached tokens than the threshold are
 * prefilled on their decode replica and never touch the link. */
Test(pd, conditional_disaggregation_keeps_short_prompts_off_the_link)
{
    pd_setup su = default_pd();
    su.conditional = 200;
    size_t n = 40;
    wl_request *w = g_new0(wl_request, n);
    for (size_t i = 0; i < n; i++)
        w[i] = (wl_request){.id = i,
                            .arrival_ns = (int64_t)i * 3000000,
                            .prompt_tokens = i % 2 == 0 ? 50 : 500,
                            .output_tokens = 5};
    sim_cluster_stats st;
    sink s = simulate(&su, w, n, &st);
    cr_expect_eq(st.local_prefills, n / 2);
    cr_expect_eq(st.transfers, n / 2);
    cr_expect_eq(s.xfers->len, n / 2);
    for (size_t i = 0; i < n; i++) {
        const sim_request_record *r = rec_by_id(&s, i);
        cr_expect(!r->failed);
        cr_expect_eq(r->replica, 1);
        if (i % 2 == 0) {
            cr_expect_eq(r->prefill_replica, UINT32_MAX);
            cr_expect_eq(r->xfer_start_ns, -1);
            cr_expect_eq(r->xfer_bytes, 0);
        } else {
            cr_expect_eq(r->prefill_replica, 0);
            cr_expect_eq(r->xfer_bytes, 500000);
        }
    }
    for (guint i = 0; i < s.xfers->len; i++)
        cr_expect_eq(g_array_index(s.xfers, sim_transfer_record, i).tokens, 500);
    sink_free(&s);
    g_free(w);
}

/* A prompt whose prefix is cached on the decode core moves only the rest. Two requests with
 * the same 320-token system prompt then private text: the second finds 20 blocks on D. */
Test(pd, a_decode_side_prefix_hit_shortens_the_transfer)
{
    pd_setup su = default_pd();
    wl_segment seg[4] = {{1, 320}, {101, 80}, {1, 320}, {102, 80}};
    wl_request w[2] = {{.id = 1,
                        .arrival_ns = 0,
                        .prompt_tokens = 400,
                        .output_tokens = 2,
                        .nsegments = 2,
                        .segments = &seg[0]},
                       {.id = 2,
                        .arrival_ns = 50000000,
                        .prompt_tokens = 400,
                        .output_tokens = 2,
                        .nsegments = 2,
                        .segments = &seg[2]}};
    sink s = simulate(&su, w, 2, NULL);
    cr_expect_eq(rec_by_id(&s, 1)->xfer_bytes, 400000);
    cr_expect_eq(rec_by_id(&s, 2)->xfer_bytes, 80000);
    cr_expect_eq(rec_by_id(&s, 2)->prefix_hit_tokens, 320, "the prefill replica hit it too");
    sink_free(&s);
}

/* The decode side publishes a pulled prompt's blocks only once its KV has landed (vLLM
 * allocates with delay_cache_blocks and calls cache_blocks in _update_waiting_for_remote_kv):
 * a request sharing the prefix whose pull starts while the first is in flight gets no hit on
 * data not yet there. Three requests with the same 320-token system prompt, 80 private tokens:
 *   A (sent at 0): prefill 1 ms + 400 × 10 µs = 5 ms; pull from 5 ms: setup 1 ms + 4 layers ×
 *     25 blocks × 10 µs = 2 ms, then 400 kB at 0.5 GB/s = 0.8 ms         → landed at 7.8 ms
 *   B (sent at 1 ms): waits for A's step, prefills its 80 private tokens on P (320 hit
 *     there) in 1.8 ms → 6.8 ms; on D A's blocks are allocated but not cached: all 400
 *     tokens move (fixed 2 ms, data 0.8 ms alone; A's data phase ended at 7.8)  → 9.6 ms
 *   C (sent at 20 ms): P hit again → 21.8 ms; on D the 20 blocks are cached now: 80 tokens,
 *     80 kB (5 blocks: 1 + 4 × 5 × 0.01 = 1.2 ms fixed, 0.16 ms data)         → 23.16 ms */
Test(pd, decode_side_blocks_are_published_only_once_the_kv_landed)
{
    pd_setup su = default_pd();
    wl_segment seg[6] = {{1, 320}, {101, 80}, {1, 320}, {102, 80}, {1, 320}, {103, 80}};
    wl_request w[3];
    static const int64_t at[3] = {0, 1000000, 20000000};
    for (int i = 0; i < 3; i++)
        w[i] = (wl_request){.id = (uint64_t)i + 1,
                            .arrival_ns = at[i],
                            .prompt_tokens = 400,
                            .output_tokens = 2,
                            .nsegments = 2,
                            .segments = &seg[2 * i]};
    sink s = simulate(&su, w, 3, NULL);
    const sim_request_record *a = rec_by_id(&s, 1), *b = rec_by_id(&s, 2), *c = rec_by_id(&s, 3);
    cr_expect_eq(a->xfer_start_ns, 5000000);
    cr_expect_eq(a->xfer_end_ns, 7800000);
    cr_expect_eq(b->prefix_hit_tokens, 320, "the prefill replica had A's blocks");
    cr_expect_eq(b->xfer_start_ns, 6800000, "B's pull starts while A's KV is in flight");
    cr_expect_eq(b->xfer_bytes, 400000, "no decode-side hit on KV not yet landed");
    cr_expect_eq(b->xfer_end_ns, 9600000);
    cr_expect_eq(c->xfer_start_ns, 21800000);
    cr_expect_eq(c->xfer_bytes, 80000, "after landing the prefix is cached on D");
    cr_expect_eq(c->xfer_end_ns, 23160000);
    sink_free(&s);
}

/* Poisson arrivals, prompts 32..1000, outputs geometric. */
static wl_request *
workload(size_t n, double rate, uint64_t seed, wl_segment *segs)
{
    wl_request *w = g_new0(wl_request, n);
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t sys = (uint32_t)(16 * (1 + sim_rng_below(&r, 8)));
        uint32_t q = 16 + (uint32_t)sim_rng_below(&r, 900);
        segs[2 * i] = (wl_segment){1 + sim_rng_below(&r, 4), sys};
        segs[2 * i + 1] = (wl_segment){1000 + i, q};
        w[i] = (wl_request){.id = i,
                            .arrival_ns = (int64_t)(t * 1e9),
                            .prompt_tokens = sys + q,
                            .output_tokens = 1 + (uint32_t)sim_rng_geometric(&r, 0.02),
                            .nsegments = 2,
                            .segments = &segs[2 * i]};
        t += sim_rng_exponential(&r, rate);
    }
    return w;
}

static void
check_conservation(const sink *s, const wl_request *w, size_t n)
{
    cr_assert_eq(s->recs->len, n);
    uint8_t *seen = g_new0(uint8_t, n);
    uint64_t want = 0;
    for (guint i = 0; i < s->recs->len; i++) {
        const sim_request_record *r = &g_array_index(s->recs, sim_request_record, i);
        cr_assert_lt(r->id, n);
        cr_assert_eq(seen[r->id]++, 0, "request %llu ended twice", (unsigned long long)r->id);
        cr_assert(!r->failed);
        cr_assert_eq(r->output_tokens, w[r->id].output_tokens, "tokens conserved");
        cr_assert_geq(r->first_token_ns, r->send_ns);
        cr_assert_geq(r->finish_ns, r->first_token_ns);
        if (r->xfer_start_ns >= 0) {
            cr_assert_geq(r->xfer_end_ns, r->xfer_start_ns);
            cr_assert_geq(r->first_token_ns, r->xfer_end_ns);
        }
        want += w[r->id].output_tokens;
    }
    cr_expect_eq(s->tokens, want);
    g_free(seen);
}

/* Decode pool too small for the load: blocks there run out, requests queue for them on D, the
 * prefill cores keep holding the KV they computed (their used blocks grow beyond what the
 * running prefills need), and still every request ends exactly once. */
Test(pd, a_full_decode_pool_back_pressures_and_loses_nothing, .timeout = 120)
{
    pd_setup su = default_pd();
    su.decode_blocks = 200; /* 3199 tokens: a few requests at a time */
    su.max_model_len = 2048;
    su.lin.per_decode_s = 1e-4;
    size_t n = 400;
    wl_segment *segs = g_new(wl_segment, 2 * n);
    wl_request *w = workload(n, 200.0, 3, segs);
    sink s = simulate(&su, w, n, NULL);
    check_conservation(&s, w, n);
    /* the decode side made requests wait for blocks: allocation later than the hand-off */
    int64_t worst = 0;
    for (guint i = 0; i < s.recs->len; i++) {
        const sim_request_record *r = &g_array_index(s.recs, sim_request_record, i);
        if (r->xfer_start_ns < 0)
            continue;
        int64_t ttft = r->first_token_ns - r->send_ns;
        if (ttft > worst)
            worst = ttft;
    }
    cr_expect_gt(worst, 1000000000, "queueing for decode blocks (worst TTFT %lld ns)",
                 (long long)worst);
    /* the prefill core holds the KV of prompts waiting for decode blocks: far more than its
     * token budget's worth of running prefills (2048 tokens = 128 blocks + partial ones) */
    cr_expect_gt(s.max_prefill_used, 1000, "prefill core held at most %u blocks",
                 s.max_prefill_used);
    sink_free(&s);
    g_free(w);
    g_free(segs);
}

typedef struct {
    char prefill[24];
    char decode[24];
    bool async;
    bool streaming;
} pair;

ParameterizedTestParameters(pd, every_request_ends_exactly_once_over_router_pairs)
{
    static pair p[] = {
        {"round_robin", "round_robin", false, false},
        {"least_loaded", "free_kv", false, false},
        {"prefix_affinity", "least_loaded", true, false},
        {"random", "prefix_affinity", false, true},
        {"least_loaded", "random", true, true},
        {"prefix_affinity", "free_kv", true, false},
    };
    return cr_make_param_array(pair, p, sizeof p / sizeof p[0]);
}

static char *
fingerprint(const sink *s)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < s->recs->len; i++) {
        const sim_request_record *r = &g_array_index(s->recs, sim_request_record, i);
        g_string_append_printf(g, "%llu:%u:%u:%lld:%lld:%lld:%lld:%u;", (unsigned long long)r->id,
                               r->prefill_replica, r->replica, (long long)r->first_token_ns,
                               (long long)r->finish_ns, (long long)r->xfer_start_ns,
                               (long long)r->xfer_end_ns, r->preemptions);
    }
    return g_string_free(g, FALSE);
}

ParameterizedTest(pair *pp, pd, every_request_ends_exactly_once_over_router_pairs, .timeout = 120)
{
    pd_setup su = default_pd();
    snprintf(su.prefill_router, sizeof su.prefill_router, "%s", pp->prefill);
    snprintf(su.decode_router, sizeof su.decode_router, "%s", pp->decode);
    su.async = pp->async;
    su.streaming = pp->streaming;
    su.prefill_replicas = 2;
    su.decode_replicas = 3;
    su.prefill_blocks = 300; /* tight on both sides: preemption and back-pressure */
    su.decode_blocks = 400;
    su.max_model_len = 2048;
    su.budget = 512;
    su.max_seqs = 32;
    su.conditional = 64;
    su.lin = (tm_linear_coeffs){.fixed_s = 2e-3, .per_prefill_token_s = 2e-5, .per_decode_s = 1e-5};
    size_t n = 800;
    wl_segment *segs = g_new(wl_segment, 2 * n);
    wl_request *w = workload(n, 300.0, 5, segs);
    sim_cluster_stats st;
    sink s = simulate(&su, w, n, &st);
    check_conservation(&s, w, n);
    cr_expect_eq(st.transfers + st.local_prefills, n);
    cr_expect_eq(s.xfers->len, st.transfers);
    cr_expect_gt(st.transfers, n / 2);
    sink s2 = simulate(&su, w, n, NULL);
    g_autofree char *f1 = fingerprint(&s), *f2 = fingerprint(&s2);
    cr_expect_str_eq(f1, f2, "deterministic");
    sink_free(&s);
    sink_free(&s2);
    g_free(w);
    g_free(segs);
}

Test(pd, bad_parameters_are_one_line_errors)
{
    pd_setup su = default_pd();
    tm_timemodel *tm = tm_linear_new(&su.lin);
    sim_cluster_params p = {
        .pool = pool_params(&su, tm, false),
        .pd = {.enabled = true, .decode = pool_params(&su, tm, true), .link = su.link},
    };
    sim_array_source arr = {NULL, 0, 0};
    sim_source src = sim_source_array(&arr);
    sim_engine *e = sim_engine_new();
    GError *err = NULL;
    p.pd.link.bandwidth_Bps = 0;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_expect(err != NULL && strstr(err->message, "bandwidth") != NULL);
    g_clear_error(&err);
    p.pd.link.bandwidth_Bps = 1e9;
    p.pd.decode.nreplicas = 0;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_expect(err != NULL && strstr(err->message, "decode pool") != NULL, "%s",
              err ? err->message : "");
    g_clear_error(&err);
    p.pd.decode.nreplicas = 1;
    p.pd.decode.block_size = 32;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_expect(err != NULL && strstr(err->message, "block") != NULL);
    g_clear_error(&err);
    p.pd.decode.block_size = 16;
    p.pool.scheduler = sched_find_scheduler("static");
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_expect(err != NULL && strstr(err->message, "static") != NULL, "%s", err ? err->message : "");
    g_clear_error(&err);
    sim_engine_free(e);
    tm_timemodel_free(tm);
}

/* Mooncake-style early rejection: with a decode pool that cannot keep up, requests whose
 * decode replica is predicted full fail at arrival (with the reason), the others are served,
 * and each ends exactly once. */
Test(pd, early_rejection_fails_requests_the_decode_pool_cannot_hold, .timeout = 120)
{
    pd_setup su = default_pd();
    su.decode_blocks = 200;
    su.max_model_len = 2048;
    su.early_reject = true;
    su.lin.per_decode_s = 1e-4;
    size_t n = 400;
    wl_segment *segs = g_new(wl_segment, 2 * n);
    wl_request *w = workload(n, 200.0, 3, segs);
    sim_cluster_stats st;
    sink s = simulate(&su, w, n, &st);
    cr_assert_eq(s.recs->len, n);
    uint64_t failed = 0;
    uint8_t *seen = g_new0(uint8_t, n);
    for (guint i = 0; i < s.recs->len; i++) {
        const sim_request_record *r = &g_array_index(s.recs, sim_request_record, i);
        cr_assert_eq(seen[r->id]++, 0);
        if (r->failed) {
            failed++;
            cr_expect_str_eq(r->fail_reason, "decode pool predicted full (early rejection)");
            cr_expect_eq(r->xfer_start_ns, -1, "rejected before any transfer");
            cr_expect_eq(r->finish_ns, r->send_ns, "rejected at arrival");
        } else {
            cr_expect_eq(r->output_tokens, w[r->id].output_tokens);
        }
    }
    cr_expect_gt(failed, 0);
    cr_expect_lt(failed, n);
    cr_expect_eq(st.early_rejected, failed);
    cr_expect_eq(st.transfers, n - failed);
    sink_free(&s);
    g_free(seen);
    g_free(w);
    g_free(segs);
}
