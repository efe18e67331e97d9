/* tests/schedulers/test_engine.c: the engine loop of docs/design.md §5b, every expected time
 * worked out by hand from linear step models (constant step times):
 *   - async scheduling: a request arriving during step N joins step N+2 (sync: N+1), and KV
 *     blocks freed by a finished request serve a new one a step later;
 *   - pipeline parallelism: two stages, steps overlapping, tokens of a request one step apart
 *     by the slowest stage times the steps in flight;
 *   - data parallelism: independent ranks double a saturated dense engine; lockstep ranks
 *     (MoE) end each step with the slowest rank, then run dummy batches until the stop check;
 *   - the API server: ingress and egress through one FIFO loop;
 *   - cascade attention: the prefix every running request shares, in whole blocks. */
#include <math.h>

#include <criterion/criterion.h>

#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/observe.h"
#include "tests/schedulers/harness.h"

#define MS 1000000LL

typedef struct {
    GArray *recs; /* sim_request_record */
} sink;

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    g_array_append_vals(s->recs, payload, 1);
}

typedef struct {
    uint32_t replicas, dp, pp, max_seqs, budget, num_blocks, max_model_len;
    bool lockstep;
    sim_engine_params engine;
    tm_linear_coeffs lin;      /* pp == 1 */
    tm_linear_coeffs stage[2]; /* pp == 2 */
    const char *router;
} setup;

static setup
base_setup(void)
{
    setup s = {.replicas = 1,
               .dp = 1,
               .pp = 1,
               .max_seqs = 256,
               .budget = 2048,
               .num_blocks = 4097,
               .max_model_len = 64,
               .lin = {.fixed_s = 10e-3},
               .router = "round_robin"};
    sim_engine_params_plain(&s.engine);
    return s;
}

/* Runs REQS; STATS (may be NULL) receives the cluster counters; HOOK (may be NULL) subscribes
 * more observers to the engine before the run. */
static sink
simulate_hooked(const setup *su,
                const wl_request *reqs,
                size_t n,
                sim_cluster_stats *stats,
                void (*hook)(sim_engine *e, void *ctx),
                void *hook_ctx)
{
    sim_engine *e = sim_engine_new();
    sink s = {g_array_new(FALSE, FALSE, sizeof(sim_request_record))};
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, &s);
    if (hook != NULL)
        hook(e, hook_ctx);
    tm_timemodel *tm = tm_linear_new(&su->lin);
    tm_timemodel *st[2] = {tm_linear_new(&su->stage[0]), tm_linear_new(&su->stage[1])};
    sim_cluster_params p = {
        .pool = {.sched = {.max_num_seqs = su->max_seqs,
                           .max_num_batched_tokens = su->budget,
                           .max_model_len = su->max_model_len,
                           .chunked_prefill = true},
                 .scheduler = &sched_vllm,
                 .router = sched_find_router(su->router),
                 .nreplicas = su->replicas,
                 .dp = su->dp,
                 .pp = su->pp,
                 .lockstep = su->lockstep,
                 .num_blocks = su->num_blocks,
                 .block_size = 16,
                 .prefix_caching = true,
                 .tm = tm,
                 .stage_tm = (const tm_timemodel *const *)st,
                 .engine = su->engine,
                 .overlap_weight = 1.0},
        .seed = 1,
        .check_invariants = true,
    };
    sim_array_source arr = {reqs, n, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    sim_cluster *c = sim_cluster_new(e, &p, &src, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    cr_assert(sim_cluster_run(c, SIM_TIME_MAX, &err));
    cr_assert_eq(sim_cluster_live_requests(c), 0, "no request leaks");
    for (uint32_t i = 0; i < sim_cluster_ncores(c); i++) {
        const sim_replica *r = sim_cluster_core(c, i);
        cr_assert_eq(sim_kvpool_num_used(r->kv), 0, "no block leaks");
        cr_assert_eq(r->nflight, 0);
        cr_assert_eq(r->remaining_tokens, 0);
    }
    if (stats != NULL)
        *stats = sim_cluster_get_stats(c);
    sim_cluster_free(c);
    tm_timemodel_free(tm);
    tm_timemodel_free(st[0]);
    tm_timemodel_free(st[1]);
    sim_engine_free(e);
    return s;
}

static sink
simulate(const setup *su, const wl_request *reqs, size_t n, sim_cluster_stats *stats)
{
    return simulate_hooked(su, reqs, n, stats, NULL, NULL);
}

static const sim_request_record *
rec(const sink *s, uint64_t id)
{
    for (guint i = 0; i < s->recs->len; i++)
        if (g_array_index(s->recs, sim_request_record, i).id == id)
            return &g_array_index(s->recs, sim_request_record, i);
    cr_assert_fail("no record for request %llu", (unsigned long long)id);
    abort();
}

static wl_request
req(uint64_t id, int64_t at_ms, uint32_t prompt, uint32_t out)
{
    return (wl_request){
        .id = id, .arrival_ns = at_ms * MS, .prompt_tokens = prompt, .output_tokens = out};
}

/* ---- async scheduling ---- */

Test(engine, async_scheduling_joins_a_new_request_at_step_n_plus_2)
{
    /* 10 ms steps. A (16 → 20 tokens) at 0; B (16 → 2) at 15 ms, during A's second step
     * [10, 20]. Sync: B is seen when that step returns and prefills in [20, 30]: first token at
     * 30 (TTFT 15). Async: while [10, 20] runs, [20, 30] was already scheduled (A's placeholder
     * decode) when [0, 10] returned; B is seen at 20 and prefills in [30, 40] (TTFT 25). */
    wl_request w[] = {req(0, 0, 16, 20), req(1, 15, 16, 2)};
    for (int async = 0; async < 2; async++) {
        setup su = base_setup();
        su.engine.async_scheduling = async;
        sim_cluster_stats st;
        sink s = simulate(&su, w, 2, &st);
        const sim_request_record *a = rec(&s, 0), *b = rec(&s, 1);
        cr_expect_eq(b->first_token_ns, (async ? 40 : 30) * MS, "async %d: B's first token", async);
        cr_expect_eq(b->finish_ns, (async ? 50 : 40) * MS);
        /* A emits one token per 10 ms step either way: tokens at 10, 20, ..., 200 ms */
        cr_expect_eq(a->first_token_ns, 10 * MS);
        cr_expect_eq(a->finish_ns, 200 * MS);
        cr_expect_eq(st.steps, 20, "async %d: B rides along A's steps", async);
        g_array_free(s.recs, TRUE);
    }
}

Test(engine, async_scheduling_reuses_freed_blocks_one_step_later)
{
    /* 6 usable blocks of 16 tokens, 10 ms steps. C (1 → 8 tokens: one block) and A (48 → 2:
     * three blocks, a fourth for its decode) at 0, B (17 → 1: two blocks) at 1 ms.
     * Sync: [0,10] prefills C and A (free 2); [10,20] decodes both, A takes its 4th block (free
     * 1, B does not fit) and finishes; its blocks are free for [20,30], where B prefills: first
     * token at 30. Async: [10,20] (C and A decoding) was scheduled at 0; when [0,10] returns,
     * [20,30] gets C only (A's last token is in flight, B does not fit); A's blocks return
     * with [10,20] at 20, and B prefills in the next step scheduled, [30,40]: token at 40. */
    wl_request w[] = {req(0, 0, 1, 8), req(1, 0, 48, 2), req(2, 1, 17, 1)};
    for (int async = 0; async < 2; async++) {
        setup su = base_setup();
        su.num_blocks = 7;
        su.engine.async_scheduling = async;
        sink s = simulate(&su, w, 3, NULL);
        cr_expect_eq(rec(&s, 1)->finish_ns, 20 * MS, "A ends with its second token");
        cr_expect_eq(rec(&s, 2)->first_token_ns, (async ? 40 : 30) * MS, "async %d: B", async);
        cr_expect_eq(rec(&s, 0)->finish_ns, 80 * MS, "C: a token every 10 ms");
        cr_expect_eq(rec(&s, 2)->preemptions, 0);
        g_array_free(s.recs, TRUE);
    }
}

/* ---- pipeline parallelism ---- */

Test(engine, pipeline_stages_overlap_steps_like_a_two_stage_hand_calculation)
{
    /* Stage 0 takes 6 ms, stage 1 4 ms; a budget of 32 tokens fits one 32-token prefill per
     * step, so R1 and R2 (32 → 4 tokens, both at 0) go into different steps, and at most two
     * steps are in flight (one per stage). A step enters stage 0 when stage 0 is free:
     *   R1: [0,6][6,10] → token at 10; R2: [6,12][12,16] → 16;
     *   R1 decodes once its token is back (10), stage 0 free at 12: [12,18][18,22] → 22;
     *   R2: [18,24][24,28] → 28; R1: 34, 46; R2: 40, 52.
     * Each request gets a token every 12 ms = 2 steps × the slower stage (6 ms): the pipeline
     * runs one step per 6 ms, twice the rate of one engine taking 6 + 4 ms per step. */
    setup su = base_setup();
    su.pp = 2;
    su.budget = 32;
    su.stage[0] = (tm_linear_coeffs){.fixed_s = 6e-3};
    su.stage[1] = (tm_linear_coeffs){.fixed_s = 4e-3};
    wl_request w[] = {req(1, 0, 32, 4), req(2, 0, 32, 4)};
    sim_cluster_stats st;
    sink s = simulate(&su, w, 2, &st);
    cr_expect_eq(rec(&s, 1)->first_token_ns, 10 * MS);
    cr_expect_eq(rec(&s, 1)->finish_ns, 46 * MS);
    cr_expect_eq(rec(&s, 2)->first_token_ns, 16 * MS);
    cr_expect_eq(rec(&s, 2)->finish_ns, 52 * MS);
    cr_expect_eq(st.steps, 8);
    g_array_free(s.recs, TRUE);

    /* One request alone cannot fill the pipeline: its next token needs the previous one, so a
     * token every 6 + 4 = 10 ms (the per-token latency is the sum of the stages). */
    wl_request one = req(3, 0, 32, 5);
    s = simulate(&su, &one, 1, NULL);
    cr_expect_eq(rec(&s, 3)->first_token_ns, 10 * MS);
    cr_expect_eq(rec(&s, 3)->finish_ns, 50 * MS);
    g_array_free(s.recs, TRUE);
}

/* ---- data parallelism ---- */

Test(engine, two_independent_dp_ranks_double_saturated_dense_throughput)
{
    /* 40 requests (16 → 10 tokens) at 0, max_num_seqs 4, 10 ms per step whatever the batch:
     * an engine runs waves of 4 requests, 10 steps each (prefill + 9 decodes) → 10 waves =
     * 1000 ms. Two ranks behind vLLM's load balancer (scores 4·waiting + running, bumped per
     * request sent) get 20 each, alternating: 500 ms — the same as two replicas. */
    wl_request w[40];
    for (uint64_t i = 0; i < 40; i++)
        w[i] = req(i, 0, 16, 10);
    const uint32_t dp[3] = {1, 2, 1}, replicas[3] = {1, 1, 2};
    const int64_t end_ms[3] = {1000, 500, 500};
    for (int k = 0; k < 3; k++) {
        setup su = base_setup();
        su.max_seqs = 4;
        su.dp = dp[k];
        su.replicas = replicas[k];
        sim_cluster_stats st;
        sink s = simulate(&su, w, 40, &st);
        cr_expect_eq(st.last_finish_ns, end_ms[k] * MS, "dp %u replicas %u", dp[k], replicas[k]);
        uint32_t on_rank1 = 0;
        for (guint i = 0; i < s.recs->len; i++) {
            const sim_request_record *r = &g_array_index(s.recs, sim_request_record, i);
            on_rank1 += r->dp_rank == 1;
            if (dp[k] == 2) {
                cr_expect_eq(r->dp_rank, r->id % 2, "request %llu alternates",
                             (unsigned long long)r->id);
                cr_expect_eq(r->core, r->dp_rank);
                cr_expect_eq(r->replica, 0);
            }
        }
        cr_expect_eq(on_rank1, dp[k] == 2 ? 20 : 0);
        cr_expect_eq(st.dummy_steps, 0, "dense ranks never wait for each other");
        g_array_free(s.recs, TRUE);
    }
}

Test(engine, lockstep_dp_step_lasts_as_long_as_the_slowest_rank)
{
    /* Step = 1 ms + 0.1 ms per prefill token. R1 (100 tokens) goes to rank 0, R2 (10) to rank
     * 1. Independent ranks: R2's token at 1 + 1 = 2 ms, R1's at 1 + 10 = 11 ms. In lockstep
     * (MoE) both ranks finish the step together at 11 ms. The wave then continues in dummy
     * batches (1 ms each: one decode-sized token) until the every-4-steps stop check finds no
     * work: steps 2, 3, 4 are dummies on both ranks, ending at 14 ms. */
    wl_request w[] = {req(1, 0, 100, 1), req(2, 0, 10, 1)};
    for (int lock = 0; lock < 2; lock++) {
        setup su = base_setup();
        su.max_model_len = 256;
        su.dp = 2;
        su.lockstep = lock;
        su.engine.dp_sync_steps = 4;
        su.lin = (tm_linear_coeffs){.fixed_s = 1e-3, .per_prefill_token_s = 1e-4};
        sim_cluster_stats st;
        sink s = simulate(&su, w, 2, &st);
        cr_expect_eq(rec(&s, 1)->dp_rank, 0);
        cr_expect_eq(rec(&s, 2)->dp_rank, 1);
        cr_expect_eq(rec(&s, 1)->finish_ns, 11 * MS);
        cr_expect_eq(rec(&s, 2)->finish_ns, (lock ? 11 : 2) * MS, "lockstep %d", lock);
        cr_expect_eq(st.steps, lock ? 8 : 2);
        cr_expect_eq(st.dummy_steps, lock ? 6 : 0);
        g_array_free(s.recs, TRUE);
    }
}

/* ---- API server ---- */

Test(engine, api_server_ingress_and_egress_share_one_fifo_loop)
{
    /* Ingress: 10 µs of loop time per prompt token, then 5 ms to the engine; egress: 1 ms of
     * loop time per streamed token; engine steps 10 ms. R1 and R2 (100 → 2 tokens) at 0:
     *   loop: R1 in [0,1] → engine at 6; R2 in [1,2] → engine at 7.
     *   steps: [6,16] R1 prefill; R2 seen at 16: [16,26] R1 decode + R2 prefill; [26,36] R2.
     *   egress: R1 token 1 at 16 → client 17; at 26 R1 token 2 → 27, then R2 token 1 queued
     *   behind it → 28; R2 token 2 at 36 → 37. */
    setup su = base_setup();
    su.max_model_len = 256;
    su.engine.api_ingress_latency_s = 5e-3;
    su.engine.api_per_prompt_token_s = 10e-6;
    su.engine.api_per_output_token_s = 1e-3;
    wl_request w[] = {req(1, 0, 100, 2), req(2, 0, 100, 2)};
    sink s = simulate(&su, w, 2, NULL);
    const sim_request_record *r1 = rec(&s, 1), *r2 = rec(&s, 2);
    cr_expect_eq(r1->first_scheduled_ns, 6 * MS);
    cr_expect_eq(r2->first_scheduled_ns, 16 * MS);
    cr_expect_eq(r1->first_token_ns, 17 * MS);
    cr_expect_eq(r1->finish_ns, 27 * MS);
    cr_expect_eq(r2->first_token_ns, 28 * MS);
    cr_expect_eq(r2->finish_ns, 37 * MS);
    g_array_free(s.recs, TRUE);
}

/* ---- cascade attention ---- */

Test(engine, cascade_prefix_is_the_shared_blocks_capped_by_the_least_computed)
{
    /* Three requests whose first 64 tokens are the same content (4 blocks) and 20 of their
     * own. Step 1 prefills all three (the 2nd and 3rd hit the 1st's 4 blocks): every running
     * request holds them (ref_cnt 3 = len(running)) but the step's least num_computed is 0 ⇒
     * prefix 0. Step 2 decodes all three at 84 computed tokens ⇒ 64 tokens. A fourth request
     * with other content makes the common prefix empty. */
    harness h;
    sim_sched_params p = harness_params();
    p.cascade_attention = true;
    harness_init(&h, "vllm", 200, 16, &p);
    sim_request *r[4];
    for (uint64_t i = 0; i < 3; i++) {
        wl_segment seg[2] = {{42, 64}, {100 + i, 20}};
        wl_request w = {.id = i,
                        .prompt_tokens = 84,
                        .output_tokens = 4,
                        .nsegments = 2,
                        .segments = seg,
                        .output_content_id = 200 + i};
        r[i] = sim_request_pool_take(h.pool, &w);
        sim_replica_enqueue(&h.rep, r[i]);
    }
    cr_assert_eq(harness_plan(&h), 3);
    sim_replica_cascade_prefix(&h.rep);
    cr_expect_eq(h.rep.common_prefix_blocks, 4);
    cr_expect_eq(h.rep.batch.common_prefix_tokens, 0.0);
    harness_finish_step(&h);
    cr_assert_eq(harness_plan(&h), 3);
    sim_replica_cascade_prefix(&h.rep);
    cr_expect_eq(h.rep.common_prefix_blocks, 4);
    cr_expect_eq(h.rep.batch.common_prefix_tokens, 64.0);
    harness_finish_step(&h);
    r[3] = harness_add(&h, 3, 84, 4, 0);
    cr_assert_eq(harness_plan(&h), 4);
    sim_replica_cascade_prefix(&h.rep);
    cr_expect_eq(h.rep.common_prefix_blocks, 0, "running[0]'s blocks are not all shared by 4");
    cr_expect_eq(h.rep.batch.common_prefix_tokens, 0.0);
    harness_finish_step(&h);
    while (h.finished < 4)
        harness_step(&h);
    harness_clear(&h);

    /* One running request holds all its blocks alone: its decode at 84 computed tokens (6
     * blocks) has a common prefix of 84 → 80 tokens (5 whole blocks). */
    harness_init(&h, "vllm", 200, 16, &p);
    harness_add(&h, 9, 84, 3, 0);
    harness_step(&h);
    cr_assert_eq(harness_plan(&h), 1);
    sim_replica_cascade_prefix(&h.rep);
    cr_expect_eq(h.rep.common_prefix_blocks, 6);
    cr_expect_eq(h.rep.batch.common_prefix_tokens, 80.0);
    harness_finish_step(&h);
    while (h.finished < 1)
        harness_step(&h);
    harness_clear(&h);
}

/* ---- SIM_TOPIC_STEP_PLANNED (the DSA KV-offload what-if's hook) ---- */

typedef struct {
    double add_s;           /* added to every planned step */
    uint64_t planned;       /* STEP_PLANNED events */
    uint64_t planned_items; /* Σ items over them */
    uint64_t steps, dummies;
    uint64_t step_seqs;   /* Σ batch.num_seqs over the non-dummy step records */
    double max_extra_err; /* |record extra_s − add_s| over the non-dummy records */
    double total_s;       /* Σ cost.total_s of the non-dummy records */
} planned_probe;

static void
on_planned(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    planned_probe *p = ctx;
    const sim_step_planned *sp = payload;
    p->planned++;
    p->planned_items += sp->nitems;
    cr_expect_gt(sp->nitems, 0, "a planned step has items");
    *sp->extra_s += p->add_s;
}

static void
on_step(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    planned_probe *p = ctx;
    const sim_step_record *r = payload;
    p->steps++;
    if (r->dummy) {
        p->dummies++;
        cr_expect_eq(r->extra_s, 0.0, "a dummy batch is not a planned step");
        return;
    }
    p->step_seqs += r->batch.num_seqs;
    double err = fabs(r->extra_s - p->add_s);
    p->max_extra_err = err > p->max_extra_err ? err : p->max_extra_err;
    p->total_s += r->cost.total_s;
}

static void
probe_hook(sim_engine *e, void *ctx)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_PLANNED, on_planned, ctx);
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, on_step, ctx);
}

Test(engine, step_planned_fires_once_per_planned_step_and_its_time_lengthens_the_step)
{
    /* The pipeline case above with 2 ms added to every planned step, 1 ms per stage (each stage
     * holds half the layers): stages of 7 and 5 ms. R1: [0,7][7,12] → 12; R2: [7,14][14,19] →
     * 19; R1: stage 0 free at 14: [14,21][21,26] → 26; R2: 33; R1: 40, 54; R2: 47, 61: a token
     * every 2 × 7 ms. 8 steps, each planned once, each record carrying its 2 ms:
     * Σ cost.total_s = 8 × (6 + 4 + 2) ms. */
    setup su = base_setup();
    su.pp = 2;
    su.budget = 32;
    su.stage[0] = (tm_linear_coeffs){.fixed_s = 6e-3};
    su.stage[1] = (tm_linear_coeffs){.fixed_s = 4e-3};
    wl_request w[] = {req(1, 0, 32, 4), req(2, 0, 32, 4)};
    planned_probe pr = {.add_s = 2e-3};
    sink s = simulate_hooked(&su, w, 2, NULL, probe_hook, &pr);
    cr_expect_eq(rec(&s, 1)->first_token_ns, 12 * MS);
    cr_expect_eq(rec(&s, 1)->finish_ns, 54 * MS);
    cr_expect_eq(rec(&s, 2)->first_token_ns, 19 * MS);
    cr_expect_eq(rec(&s, 2)->finish_ns, 61 * MS);
    cr_expect_eq(pr.planned, 8);
    cr_expect_eq(pr.steps, 8);
    cr_expect_eq(pr.planned_items, pr.step_seqs);
    cr_expect_lt(pr.max_extra_err, 1e-15);
    cr_expect_float_eq(pr.total_s, 8 * 12e-3, 1e-12);
    g_array_free(s.recs, TRUE);

    /* Lockstep DP (the case above) with 1 ms added per planned step: step 1 plans on both
     * ranks (two events) and lasts max(1 + 10, 1 + 1) + 1 = 12 ms; the six dummy batches are
     * not planned steps and are not lengthened: 3 × 1 ms more, the wave ends at 15 ms. */
    su = base_setup();
    su.max_model_len = 256;
    su.dp = 2;
    su.lockstep = true;
    su.engine.dp_sync_steps = 4;
    su.lin = (tm_linear_coeffs){.fixed_s = 1e-3, .per_prefill_token_s = 1e-4};
    wl_request w2[] = {req(1, 0, 100, 1), req(2, 0, 10, 1)};
    pr = (planned_probe){.add_s = 1e-3};
    sim_cluster_stats st;
    s = simulate_hooked(&su, w2, 2, &st, probe_hook, &pr);
    cr_expect_eq(rec(&s, 1)->finish_ns, 12 * MS);
    cr_expect_eq(rec(&s, 2)->finish_ns, 12 * MS);
    cr_expect_eq(pr.planned, 2);
    cr_expect_eq(pr.steps, 8);
    cr_expect_eq(pr.dummies, 6);
    cr_expect_eq(st.dummy_steps, 6);
    g_array_free(s.recs, TRUE);

    /* Async scheduling (two steps in flight, output placeholders): still one event per
     * launched non-dummy step; without added time the times are those of the test above. */
    su = base_setup();
    su.engine.async_scheduling = true;
    wl_request w3[] = {req(0, 0, 16, 20), req(1, 15, 16, 2)};
    pr = (planned_probe){.add_s = 0.0};
    s = simulate_hooked(&su, w3, 2, &st, probe_hook, &pr);
    cr_expect_eq(rec(&s, 1)->first_token_ns, 40 * MS, "TTFT 25 ms as without the observer");
    cr_expect_eq(pr.planned, pr.steps);
    cr_expect_eq(pr.steps, st.steps);
    cr_expect_eq(pr.planned_items, pr.step_seqs);
    g_array_free(s.recs, TRUE);
}
