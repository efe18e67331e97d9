/* tests/schedulers/test_spec.c: speculative decoding in the scheduler and the engine core
 * (docs/speculative.md), every expected count worked out by hand:
 *   - acceptance 1.0: a decoding request verifies k drafts and emits k + 1 tokens per step;
 *     acceptance 0: one token per step, the rejected drafts taken back from num_computed;
 *   - the token budget counts the drafts (vLLM trims them to what fits); lookahead KV slots
 *     are reserved for running requests only (none for ngram);
 *   - conservation: over a run, a request's output = Σ over its verify steps of (accepted + 1)
 *     plus its prefill token, counted from the slots' totals, independently of num_output;
 *   - per-position acceptance frequencies match the rates within binomial error;
 *   - async scheduling (two steps in flight) ends every request with its exact output;
 *   - the engine: a fixed step time and a fixed drafter pass give hand-computed step and
 *     request times, and the same seed gives identical records. */
#include <math.h>

#include <criterion/criterion.h>

#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/observe.h"
#include "tests/schedulers/harness.h"

#define MS 1000000LL

static const double all_accept[3] = {1.0, 1.0, 1.0};
static const double no_accept[3] = {0.0, 0.0, 0.0};

static sim_sched_params
spec_params(uint32_t k, bool lookahead, const double *accept)
{
    sim_sched_params p = harness_params();
    p.spec_tokens = k;
    p.lookahead_slots = lookahead ? k : 0;
    p.spec_accept = accept;
    return p;
}

/* Plans, launches, draws acceptance from RNG, commits; returns tokens emitted by Q. */
static uint32_t
spec_step(harness *h, sim_rng *rng, const sim_request *q)
{
    cr_assert_gt(harness_plan(h), 0);
    uint32_t before = q->num_output;
    sim_replica_launch(&h->rep, h->now);
    h->now += MS;
    sim_replica_spec_accept(&h->rep, rng);
    uint32_t done = sim_replica_commit(&h->rep, h->now, NULL, NULL);
    uint32_t after = q->num_output;
    if (done > 0)
        sim_replica_reap(&h->rep, harness_reap_cb, h);
    cr_assert(sim__kvpool_check(h->rep.kv, h->rep.running, h->rep.nrunning));
    return after - before;
}

Test(spec, acceptance_one_emits_k_plus_one_tokens_per_step)
{
    /* prompt 32, output 41 = 1 (prefill) + 10 steps × (3 + 1) */
    sim_sched_params p = spec_params(3, true, all_accept);
    harness h;
    harness_init(&h, "vllm", 1024, 16, &p);
    sim_rng rng;
    sim_rng_init(&rng, 1, SIM_STREAM_TEST);
    sim_request *q = harness_add(&h, 1, 32, 41, 0);
    cr_expect_eq(spec_step(&h, &rng, q), 1); /* prefill: no drafts yet */
    cr_expect_eq(q->spec, 3, "the drafter proposed 3 drafts after the prefill");
    for (int s = 0; s < 10; s++) {
        harness_plan(&h);
        cr_expect_eq(q->planned_new, 4, "step %d: 1 + 3 drafts", s);
        cr_expect_eq(q->planned_spec, 3);
        cr_expect_eq(h.rep.batch.spec_tokens, 3.0);
        cr_expect_eq(h.rep.batch.num_decode, 1, "a verify of 1 + k tokens is priced as decode");
        sim_replica_launch(&h.rep, h.now);
        h.now += MS;
        sim_replica_spec_accept(&h.rep, &rng);
        uint32_t before = q->num_output;
        uint32_t done = sim_replica_commit(&h.rep, h.now, NULL, NULL);
        cr_expect_eq(q->num_output - before, 4, "step %d emits k + 1", s);
        if (done > 0) {
            cr_expect_eq(s, 9);
            cr_expect_eq(q->spec_steps, 10);
            cr_expect_eq(q->spec_drafts, 30);
            cr_expect_eq(q->spec_accepted, 30);
            sim_replica_reap(&h.rep, harness_reap_cb, &h);
        } else {
            /* all accepted: KV holds prompt + every output but the last sampled token */
            cr_expect_eq(q->num_computed, 32 + q->num_output - 1);
        }
    }
    cr_expect_eq(h.finished, 1);
    harness_clear(&h);
}

Test(spec, acceptance_zero_emits_one_token_per_step_and_takes_back_the_drafts)
{
    sim_sched_params p = spec_params(3, true, no_accept);
    harness h;
    harness_init(&h, "vllm", 1024, 16, &p);
    sim_rng rng;
    sim_rng_init(&rng, 2, SIM_STREAM_TEST);
    sim_request *q = harness_add(&h, 1, 32, 10, 0);
    cr_expect_eq(spec_step(&h, &rng, q), 1);
    for (int s = 0; s < 9; s++) {
        uint32_t computed = q->num_computed;
        cr_expect_eq(spec_step(&h, &rng, q), 1, "step %d", s);
        if (h.finished == 0)
            cr_expect_eq(q->num_computed, computed + 1,
                         "4 tokens computed, 3 rejected drafts taken back");
    }
    cr_expect_eq(h.finished, 1, "10 tokens = prefill + 9 steps");
    harness_clear(&h);
}

Test(spec, lookahead_slots_hold_kv_blocks_for_the_next_drafts)
{
    /* block size 4, prompt 8: the prefill takes 2 blocks (a waiting request gets no
     * lookahead); the first verify step has computed 8 + 4 new (1 + 3 drafts) + 3 lookahead
     * = 15 slots: 4 blocks. ngram reserves no lookahead: 12 slots, 3 blocks. */
    for (int la = 1; la >= 0; la--) {
        sim_sched_params p = spec_params(3, la, all_accept);
        harness h;
        harness_init(&h, "vllm", 64, 4, &p);
        sim_rng rng;
        sim_rng_init(&rng, 3, SIM_STREAM_TEST);
        sim_request *q = harness_add(&h, 1, 8, 100, 0);
        spec_step(&h, &rng, q);
        cr_expect_eq(q->kv.nblocks, 2);
        harness_plan(&h);
        cr_expect_eq(q->planned_new, 4);
        cr_expect_eq(q->kv.nblocks, la ? 4u : 3u, "lookahead %d", la);
        harness_finish_step(&h);
        harness_clear(&h);
    }
}

Test(spec, token_budget_counts_the_drafts_and_trims_the_last_request)
{
    /* budget 10, three decoding requests with 3 drafts each: 4 + 4 + 2 (one draft kept) */
    sim_sched_params p = spec_params(3, true, all_accept);
    p.max_num_batched_tokens = 10;
    harness h;
    harness_init(&h, "vllm", 1024, 16, &p);
    sim_rng rng;
    sim_rng_init(&rng, 4, SIM_STREAM_TEST);
    sim_request *q[3];
    for (int i = 0; i < 3; i++)
        q[i] = harness_add(&h, (uint64_t)i + 1, 3, 100, 0);
    spec_step(&h, &rng, q[0]); /* three prefills of 3 tokens, budget 10 */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(q[i]->spec, 3);
    harness_plan(&h);
    cr_expect_eq(q[0]->planned_new, 4);
    cr_expect_eq(q[1]->planned_new, 4);
    cr_expect_eq(q[2]->planned_new, 2);
    cr_expect_eq(q[2]->planned_spec, 1, "drafts trimmed to what the budget holds");
    cr_expect_eq(h.rep.batch.spec_tokens, 7.0);
    cr_expect_eq(h.rep.batch.num_sampled, 3);
    harness_finish_step(&h); /* accepted left at 0 by hand: one token each */
    cr_expect_eq(q[2]->num_output, 2);
    harness_clear(&h);
}

/* Runs N requests of long outputs for STEPS steps with rates ACCEPT; checks conservation
 * and returns the per-position acceptance counts and the number of verify sequences. */
static void
run_steps(
    const double *accept, uint32_t k, bool async, uint32_t steps, uint64_t *pos, uint64_t *seqs)
{
    sim_sched_params p = spec_params(k, true, accept);
    p.async_scheduling = async;
    p.max_batches = async ? 2 : 1;
    harness h;
    harness_init(&h, "vllm", 8192, 16, &p);
    sim_rng rng;
    sim_rng_init(&rng, 5, SIM_STREAM_TEST);

    enum { N = 8 };

    sim_request *q[N];
    uint64_t expect[N] = {0};
    for (int i = 0; i < N; i++)
        q[i] = harness_add(&h, (uint64_t)i + 1, 20 + (uint32_t)i, 100000, 0);
    for (uint32_t s = 0; s < steps; s++) {
        while (h.rep.nflight < p.max_batches && harness_plan(&h) > 0) {
            sim_replica_launch(&h.rep, h.now);
            if (!async)
                break;
        }
        h.now += MS;
        sim_replica_spec_accept(&h.rep, &rng);
        const sim_step_slot *sl = &h.rep.slots[h.rep.head];
        /* what the slot says it emits: 1 per sampling item + its accepted drafts */
        for (uint32_t i = 0; i < sl->nitems; i++)
            for (int j = 0; j < N; j++)
                if (sl->items[i].req == q[j] && sl->items[i].samples)
                    expect[j] += 1 + sl->items[i].accepted;
        uint64_t acc = 0, vs = 0;
        for (uint32_t i = 0; i < sl->nitems; i++)
            if (sl->items[i].samples && sl->items[i].spec > 0) {
                acc += sl->items[i].accepted;
                vs++;
            }
        cr_expect_eq(sl->spec->accepted, acc);
        cr_expect_eq(sl->spec->seqs, vs);
        *seqs += vs;
        for (uint32_t j = 0; j < k; j++)
            pos[j] += sl->spec->pos[j];
        cr_assert_eq(sim_replica_commit(&h.rep, h.now, NULL, NULL), 0);
        cr_assert(sim__kvpool_check(h.rep.kv, h.rep.running, h.rep.nrunning));
    }
    for (int j = 0; j < N; j++) {
        cr_expect_eq(q[j]->num_output, expect[j], "request %d: output = Σ (accepted + 1)", j);
        cr_expect_eq(q[j]->num_output, 1 + q[j]->spec_steps + q[j]->spec_accepted,
                     "request %d: prefill token + (1 + accepted) per verify step", j);
    }
    harness_clear(&h);
}

Test(spec, conservation_tokens_emitted_equal_accepted_plus_one_per_step)
{
    static const double rates[4] = {0.8, 0.5, 0.45, 0.1};
    uint64_t pos[4] = {0}, seqs = 0;
    run_steps(rates, 4, false, 400, pos, &seqs);
    cr_assert_gt(seqs, 3000);
    /* per-position frequencies: binomial, within 5 standard deviations */
    for (int j = 0; j < 4; j++) {
        double f = (double)pos[j] / (double)seqs;
        double sd = sqrt(rates[j] * (1 - rates[j]) / (double)seqs);
        cr_expect(fabs(f - rates[j]) < 5 * sd + 1e-12, "position %d: %.4f vs %.2f", j, f, rates[j]);
    }
}

Test(spec, async_scheduling_conserves_tokens_with_two_steps_in_flight)
{
    static const double rates[2] = {0.7, 0.3};
    uint64_t pos[2] = {0}, seqs = 0;
    run_steps(rates, 2, true, 300, pos, &seqs);
    cr_assert_gt(seqs, 1000);
}

Test(spec, async_scheduling_finishes_every_request_with_its_exact_output)
{
    /* outputs that end inside a step of accepted drafts, with a second step in flight */
    sim_sched_params p = spec_params(3, true, all_accept);
    p.async_scheduling = true;
    p.max_batches = 2;
    harness h;
    harness_init(&h, "vllm", 4096, 16, &p);
    sim_rng rng;
    sim_rng_init(&rng, 6, SIM_STREAM_TEST);
    for (int i = 0; i < 6; i++)
        harness_add(&h, (uint64_t)i + 1, 17, 3 + 5 * (uint32_t)i, 0);
    uint64_t out = 0;
    for (int s = 0; s < 200 && (h.finished < 6 || h.rep.nflight > 0); s++) {
        while (h.rep.nflight < 2 && harness_plan(&h) > 0)
            sim_replica_launch(&h.rep, h.now);
        if (h.rep.nflight == 0)
            break;
        h.now += MS;
        sim_replica_spec_accept(&h.rep, &rng);
        const sim_step_slot *sl = &h.rep.slots[h.rep.head];
        for (uint32_t i = 0; i < sl->nitems; i++)
            if (sl->items[i].req != NULL && sl->items[i].samples) {
                const sim_request *r = sl->items[i].req;
                uint32_t left = r->output_target - r->num_output;
                uint32_t e = 1 + sl->items[i].accepted;
                out += e < left ? e : left;
            }
        if (sim_replica_commit(&h.rep, h.now, NULL, NULL) > 0)
            sim_replica_reap(&h.rep, harness_reap_cb, &h);
        cr_assert(sim__kvpool_check(h.rep.kv, h.rep.running, h.rep.nrunning));
    }
    cr_expect_eq(h.finished, 6);
    cr_expect_eq(out, 3 + 8 + 13 + 18 + 23 + 28, "every output token, none past the target");
    cr_expect_eq(h.rep.nflight, 0, "a step planned before its requests finished drains");
    cr_expect_eq(sim_kvpool_num_used(h.rep.kv), 0);
    harness_clear(&h);
}

/* ---- the engine ---- */

typedef struct {
    GArray *recs;
    GArray *steps; /* step durations (ns) */
} sink;

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    g_array_append_vals(s->recs, payload, 1);
}

static void
on_step(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    const sim_step_record *r = payload;
    int64_t d = r->end_ns - r->start_ns;
    g_array_append_val(s->steps, d);
}

static void
run_cluster(
    const double *accept, uint32_t k, uint64_t seed, const wl_request *reqs, size_t n, sink *out)
{
    sim_engine *e = sim_engine_new();
    /* target step 10 ms, one drafter pass 1 ms */
    tm_linear_coeffs lin = {.fixed_s = 10e-3}, dl = {.fixed_s = 1e-3};
    tm_timemodel *tm = tm_linear_new(&lin), *draft = tm_linear_new(&dl);
    sim_cluster_params p = {.pool = {.sched = {.max_num_seqs = 64,
                                               .max_num_batched_tokens = 2048,
                                               .max_model_len = 4096,
                                               .chunked_prefill = true,
                                               .spec_tokens = k,
                                               .lookahead_slots = k,
                                               .spec_accept = accept},
                                     .scheduler = &sched_vllm,
                                     .router = &sched_round_robin,
                                     .nreplicas = 1,
                                     .num_blocks = 4097,
                                     .block_size = 16,
                                     .tm = tm,
                                     .draft_tm = draft},
                            .seed = seed,
                            .check_invariants = true};
    sim_engine_params_plain(&p.pool.engine);
    sim_array_source arr = {reqs, n, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    sim_cluster *c = sim_cluster_new(e, &p, &src, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    out->recs = g_array_new(FALSE, FALSE, sizeof(sim_request_record));
    out->steps = g_array_new(FALSE, FALSE, sizeof(int64_t));
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, out);
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, on_step, out);
    cr_assert(sim_cluster_run(c, SIM_TIME_MAX, &err));
    sim_cluster_free(c);
    sim_engine_free(e);
    tm_timemodel_free(tm);
    tm_timemodel_free(draft);
}

static void
sink_clear(sink *s)
{
    g_array_free(s->recs, TRUE);
    g_array_free(s->steps, TRUE);
}

Test(spec, engine_prices_the_verify_and_k_drafter_passes_and_finishes_in_hand_counted_steps)
{
    /* one request, prompt 100, output 13, k = 3, every draft accepted: the prefill step and
     * 3 verify steps (1 + 3 × 4 = 13 tokens). Every step lasts 10 ms + 3 drafter passes of
     * 1 ms (the prefill step's drafter run too: one pass over its tokens, k − 1 more) = 13 ms;
     * the request ends after 4 steps: 52 ms. */
    wl_request w = {.id = 7, .prompt_tokens = 100, .output_tokens = 13};
    sink s;
    run_cluster(all_accept, 3, 1, &w, 1, &s);
    cr_assert_eq(s.recs->len, 1);
    const sim_request_record *r = &g_array_index(s.recs, sim_request_record, 0);
    cr_expect_eq(r->output_tokens, 13);
    cr_expect_eq(r->spec_steps, 3);
    cr_expect_eq(r->spec_accepted, 9);
    cr_expect_eq(s.steps->len, 4);
    for (guint i = 0; i < s.steps->len; i++)
        cr_expect_eq(g_array_index(s.steps, int64_t, i), 13 * MS, "step %u", i);
    cr_expect_eq(r->first_token_ns, 13 * MS);
    cr_expect_eq(r->finish_ns, 52 * MS);
    sink_clear(&s);
}

Test(spec, same_seed_gives_identical_records_and_another_seed_differs)
{
    static const double rates[3] = {0.7, 0.5, 0.3};
    wl_request w[20];
    for (int i = 0; i < 20; i++)
        w[i] = (wl_request){.id = (uint64_t)i,
                            .arrival_ns = i * 3 * MS,
                            .prompt_tokens = 50 + 7 * (uint32_t)i,
                            .output_tokens = 40 + 3 * (uint32_t)i};
    sink a, b, c;
    run_cluster(rates, 3, 11, w, 20, &a);
    run_cluster(rates, 3, 11, w, 20, &b);
    run_cluster(rates, 3, 12, w, 20, &c);
    cr_assert_eq(a.recs->len, 20);
    cr_assert_eq(b.recs->len, 20);
    bool differs = false;
    for (guint i = 0; i < 20; i++) {
        const sim_request_record *x = &g_array_index(a.recs, sim_request_record, i);
        const sim_request_record *y = &g_array_index(b.recs, sim_request_record, i);
        const sim_request_record *z = &g_array_index(c.recs, sim_request_record, i);
        cr_expect_eq(x->id, y->id);
        cr_expect_eq(x->finish_ns, y->finish_ns);
        cr_expect_eq(x->spec_accepted, y->spec_accepted);
        differs |= x->finish_ns != z->finish_ns || x->spec_accepted != z->spec_accepted;
    }
    cr_expect(differs, "seed 12 draws other acceptances than seed 11");
    sink_clear(&a);
    sink_clear(&b);
    sink_clear(&c);
}
