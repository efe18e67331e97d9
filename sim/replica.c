/* sim/replica.c: the engine-core mechanism: planning bookkeeping, admission, preemption, the
 * steps in flight and their commit. Load counters used by routers are maintained
 * incrementally here so routing is O(replicas). */
#include "sim/replica.h"

#include <string.h>

/* Initial capacity of the running array and of a step slot's items (both grow by doubling;
 * slots take theirs at their first plan). */
#define INITIAL_CAP 64

uint64_t
sim_replica_state_bytes(uint32_t num_blocks)
{
    /* the running array and, once used, the items of one step slot (a second one with async
     * scheduling or pipeline parallelism is not counted) */
    return sizeof(sim_replica) + sim_kvpool_state_bytes(num_blocks) +
           INITIAL_CAP * (sizeof(sim_request *) + sizeof(sim_batch_item)) + sizeof(sim_step_slot);
}

/* An empty batch summary of this core: a verify of 1 + k tokens is priced as decode, as vLLM's
 * decode kernels take it (docs/speculative.md). */
static void
batch_init(const sim_replica *r, tm_batch *b)
{
    tm_batch_init(b, r->params->dsa_topk);
    b->decode_max_q = 1 + r->params->spec_tokens;
}

void
sim_replica_init(sim_replica *r,
                 uint32_t id,
                 uint32_t pool,
                 uint32_t num_blocks,
                 uint32_t block_size,
                 bool prefix_caching,
                 const sim_sched_params *params)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    r->pool = pool;
    r->replica = id;
    r->kv = sim_kvpool_new(num_blocks, block_size, prefix_caching);
    r->params = params;
    r->watermark_blocks = (uint32_t)(params->watermark * (double)num_blocks);
    sim_waitq_init(&r->waiting, params->priority);
    r->runcap = INITIAL_CAP;
    r->running = g_new(sim_request *, r->runcap);
    batch_init(r, &r->batch);
    g_assert(params->max_batches >= 1);
    r->async = params->async_scheduling;
    r->slots = g_new0(sim_step_slot, params->max_batches);
    g_assert(params->spec_tokens == 0 || params->spec_accept != NULL);
    if (params->spec_tokens > 0) {
        for (uint32_t i = 0; i < params->max_batches; i++) {
            sim_spec_slot *sp = r->slots[i].spec = g_new0(sim_spec_slot, 1);
            sp->pos = g_new0(uint32_t, params->spec_tokens);
            batch_init(r, &sp->propose);
        }
    }
}

void
sim_replica_clear(sim_replica *r)
{
    sim_kvpool_free(r->kv);
    sim_waitq_clear(&r->waiting);
    g_free(r->running);
    for (uint32_t i = 0; r->slots != NULL && i < r->params->max_batches; i++) {
        g_free(r->slots[i].items);
        if (r->slots[i].spec != NULL)
            g_free(r->slots[i].spec->pos);
        g_free(r->slots[i].spec);
    }
    g_free(r->slots);
    g_free(r->held);
    g_free(r->pulls);
    memset(r, 0, sizeof *r);
}

void
sim_replica_plan_begin(sim_replica *r, uint32_t budget)
{
    g_assert(r->nflight < r->params->max_batches);
    r->plan = &r->slots[(r->head + r->nflight) % r->params->max_batches];
    r->nplanned = 0;
    r->budget = budget;
    r->step_preempted = 0;
    r->step_admitted = 0;
    r->common_prefix_blocks = 0;
    batch_init(r, &r->batch);
    if (r->plan->spec != NULL)
        batch_init(r, &r->plan->spec->propose);
}

/* Load figures are kept exact with a detach/attach pattern: subtract a request's
 * contribution before changing it, add it back after. */
static inline bool
decoding(const sim_request *q)
{
    return q->num_computed >= q->prompt_tokens && q->num_output > 0;
}

static uint64_t
prefill_left(const sim_request *q)
{
    if (q->pd == SIM_PD_REMOTE_PENDING)
        return 0; /* its prompt is computed elsewhere */
    return decoding(q) ? 0 : (uint64_t)sim_request_num_tokens(q) - q->num_computed;
}

static uint64_t
tokens_left(const sim_request *q)
{
    if (q->pd == SIM_PD_REMOTE_PENDING)
        return q->output_target;
    /* drafts may take num_computed past the last position until they are rejected */
    uint64_t all = (uint64_t)q->prompt_tokens + q->output_target - 1;
    return all > q->num_computed ? all - q->num_computed : 0;
}

void
sim_replica_load_detach(sim_replica *r, const sim_request *q)
{
    r->remaining_tokens -= tokens_left(q);
    r->remaining_prefill -= prefill_left(q);
}

void
sim_replica_load_attach(sim_replica *r, const sim_request *q)
{
    r->remaining_tokens += tokens_left(q);
    r->remaining_prefill += prefill_left(q);
}

void
sim__replica_plan_slow(sim_replica *r, sim_request *req, uint32_t n)
{
    g_assert(n > 0 && n <= r->budget);
    g_assert(!sim_replica_is_planned(r, req));
    uint32_t ctx = req->num_computed;
    uint32_t ntok = sim_request_num_tokens(req) + req->placeholders;
    g_assert(ctx + n <= ntok + req->spec);
    /* a decoding request stays decoding: its prefill_left stays 0 and its tokens_left drops by
     * n, all that detach + attach would do (modulo 2^64 alike); this is nearly every call.
     * Not under speculative decoding: drafts go past the last position (tokens_left clamps)
     * and rejected ones come back at commit. */
    bool dec = r->params->spec_tokens == 0 && decoding(req);
    if (!dec)
        sim_replica_load_detach(r, req);
    /* the chunk reaches the known tokens: it samples; what lies beyond are drafts to verify
     * (vLLM trims spec_token_ids to the scheduled ones, and the drafter proposes anew) */
    bool samples = ctx + n >= ntok;
    uint32_t spec = ctx + n > ntok ? ctx + n - ntok : 0;
    req->planned_step = r->step + 1;
    req->planned_new = n;
    req->planned_ctx = ctx;
    req->planned_samples = samples;
    req->planned_spec = spec;
    req->planned_prev_spec = req->spec;
    req->spec = 0;
    /* AsyncScheduler._update_after_schedule: the token this step samples (and its drafts) are
     * placeholders until the step returns, and the request may be scheduled again meanwhile,
     * with k placeholder drafts the worker fills in */
    if (samples && r->async) {
        req->placeholders += 1 + spec;
        req->spec = r->params->spec_tokens;
    }
    if (ctx < req->prompt_tokens) {
        uint32_t upto = ctx + n < req->prompt_tokens ? ctx + n : req->prompt_tokens;
        req->computed_prompt_tokens += upto - ctx;
    }
    tm_batch_add(&r->batch, n, ctx, samples);
    if (r->params->spec_tokens > 0) {
        r->batch.spec_tokens += spec;
        if (samples)
            tm_batch_add(&r->plan->spec->propose, 1, ctx + n, true);
    }
    req->num_computed = ctx + n;
    if (dec)
        r->remaining_tokens -= n;
    else
        sim_replica_load_attach(r, req);
    r->budget -= n;
    if (!dec && req->first_scheduled_ns < 0) /* a decoding request was scheduled before */
        req->first_scheduled_ns = r->now;
#ifndef NDEBUG
    req->inflight++;
#endif
    sim_step_slot *sl = r->plan;
    if (r->nplanned == sl->cap) {
        sl->cap = sl->cap > 0 ? 2 * sl->cap : INITIAL_CAP;
        sl->items = g_renew(sim_batch_item, sl->items, sl->cap);
    }
    sl->items[r->nplanned++] = (sim_batch_item){req, n, ctx, samples, req->planned_spec, 0};
}

void
sim_replica_unplan(sim_replica *r, sim_request *req)
{
    g_assert(sim_replica_is_planned(r, req));
    uint32_t n = req->planned_new;
    tm_batch_remove(&r->batch, n, req->planned_ctx, req->planned_samples);
    if (r->params->spec_tokens > 0) {
        r->batch.spec_tokens -= req->planned_spec;
        if (req->planned_samples)
            tm_batch_remove(&r->plan->spec->propose, 1, req->planned_ctx + n, true);
    }
    sim_replica_load_detach(r, req);
    req->num_computed -= n;
    sim_replica_load_attach(r, req);
    if (req->planned_samples && r->async)
        req->placeholders -= 1 + req->planned_spec;
    req->spec = req->planned_prev_spec;
    req->planned_spec = 0;
    r->budget += n;
    req->planned_step = 0;
    req->planned_new = 0;
    if (req->planned_ctx < req->prompt_tokens) {
        uint32_t upto =
            req->planned_ctx + n < req->prompt_tokens ? req->planned_ctx + n : req->prompt_tokens;
        req->computed_prompt_tokens -= upto - req->planned_ctx;
    }
#ifndef NDEBUG
    req->inflight--;
#endif
    sim_step_slot *sl = r->plan;
    for (uint32_t i = 0; i < r->nplanned; i++)
        if (sl->items[i].req == req) {
            memmove(&sl->items[i], &sl->items[i + 1], (r->nplanned - i - 1) * sizeof *sl->items);
            r->nplanned--;
            break;
        }
}

void
sim_replica_enqueue(sim_replica *r, sim_request *req)
{
    req->replica = r->replica;
    req->dp_rank = r->dp_rank;
    req->core = r->id;
    req->state = SIM_REQ_WAITING;
    r->assigned++;
    sim_replica_load_attach(r, req);
    sim_waitq_push_back(&r->waiting, req);
}

static void
push_ptr(sim_request ***a, uint32_t *n, uint32_t *cap, sim_request *q)
{
    if (*n == *cap) {
        *cap = *cap > 0 ? 2 * *cap : 16;
        *a = g_renew(sim_request *, *a, *cap);
    }
    (*a)[(*n)++] = q;
}

void
sim_replica_hold(sim_replica *r, sim_request *req)
{
    req->held_pos = r->nheld;
    push_ptr(&r->held, &r->nheld, &r->heldcap, req);
}

void
sim_replica_unhold(sim_replica *r, sim_request *req)
{
    uint32_t i = req->held_pos;
    g_assert(i < r->nheld && r->held[i] == req);
    r->held[i] = r->held[--r->nheld]; /* order does not matter: O(1) */
    r->held[i]->held_pos = i;
}

sim_request **
sim_replica_owners(const sim_replica *r, uint32_t *n)
{
    uint32_t nw = sim_waitq_len(&r->waiting);
    sim_request **a = g_new(sim_request *, r->nrunning + r->nheld + nw + 1);
    memcpy(a, r->running, r->nrunning * sizeof *a);
    if (r->nheld > 0)
        memcpy(a + r->nrunning, r->held, r->nheld * sizeof *a);
    uint32_t k = r->nrunning + r->nheld;
    /* a decode request whose KV landed waits with its blocks until it is admitted */
    for (uint32_t i = 0; i < nw; i++) {
        sim_request *q = sim_waitq_at(&r->waiting, i);
        if (q->kv.nblocks > 0)
            a[k++] = q;
    }
    *n = k;
    return a;
}

bool
sim_replica_remote_alloc(sim_replica *r, sim_request *req, uint32_t watermark_blocks)
{
    g_assert(req->pd == SIM_PD_REMOTE_PENDING && req->num_computed == 0);
    g_assert(sim_waitq_peek(&r->waiting) == req);
    uint32_t bs = sim_kvpool_block_size(r->kv);
    /* the connector reports every prompt token not cached here as an external hit (NIXL
     * get_num_new_matched_tokens); a local hit is capped at num_tokens − 1, so ≥ 1 token moves */
    uint32_t hit = sim_kvpool_lookup(r->kv, req, true);
    uint32_t external = req->prompt_tokens - hit * bs;
    /* vLLM allocates with delay_cache_blocks: the slots are taken now but no block is hashed
     * (published) before the KV has landed (sim_replica_remote_ready), so another request of
     * this core cannot hit data still in flight. The slots as lookahead: allocated, never
     * hashed. */
    if (!sim_kvpool_allocate_ahead(r->kv, req, 0, external, hit, watermark_blocks,
                                   r->params->max_model_len))
        return false;
    sim_request *q = sim_waitq_pop(&r->waiting);
    g_assert(q == req);
    sim_replica_load_detach(r, req);
    req->num_computed = req->prompt_tokens - 1;
    req->pd = SIM_PD_REMOTE_WAIT; /* between detach and attach: the load formulas follow pd */
    sim_replica_load_attach(r, req);
    req->xfer_tokens = external;
    sim_replica_hold(r, req);
    push_ptr(&r->pulls, &r->npulls, &r->pullcap, req);
    return true;
}

void
sim_replica_remote_ready(sim_replica *r, sim_request *req)
{
    g_assert(req->pd == SIM_PD_REMOTE_WAIT);
    /* vLLM _update_waiting_for_remote_kv: now that the blocks are ready, cache_blocks up to
     * num_computed (prompt − 1; the recompute step caches a last full block). Needs no new
     * block, so it cannot fail. */
    bool ok = sim_kvpool_allocate(r->kv, req, 0, 0, 0, r->params->max_model_len);
    g_assert(ok);
    (void)ok;
    sim_replica_unhold(r, req);
    req->pd = SIM_PD_DECODE;
    req->state = SIM_REQ_WAITING;
    sim_waitq_push_front(&r->waiting, req);
}

uint32_t
sim_replica_running_index(const sim_replica *r, const sim_request *req)
{
    for (uint32_t i = r->nrunning; i-- > 0;)
        if (r->running[i] == req)
            return i;
    return UINT32_MAX;
}

void
sim_replica_running_remove_at(sim_replica *r, uint32_t i)
{
    g_assert(i < r->nrunning);
    memmove(&r->running[i], &r->running[i + 1], (r->nrunning - i - 1) * sizeof *r->running);
    r->nrunning--;
}

void
sim_replica_admit_head(sim_replica *r)
{
    sim_request *req = sim_waitq_pop(&r->waiting);
    g_assert(req != NULL);
    req->state = SIM_REQ_RUNNING;
    if (r->nrunning == r->runcap) {
        r->runcap *= 2;
        r->running = g_renew(sim_request *, r->running, r->runcap);
    }
    r->running[r->nrunning++] = req;
    r->step_admitted++;
}

void
sim_replica_preempt(sim_replica *r, sim_request *req)
{
    if (sim_replica_is_planned(r, req))
        sim_replica_unplan(r, req);
    uint32_t i = sim_replica_running_index(r, req);
    g_assert(i != UINT32_MAX);
    sim_replica_running_remove_at(r, i);
    sim_kvpool_release(r->kv, req);
    /* All computed tokens must be recomputed; generated tokens are kept (num_tokens includes
     * them), so the recompute prefill covers prompt + output so far (docs/domain.md §1.4). */
    sim_replica_load_detach(r, req);
    req->num_computed = 0;
    sim_replica_load_attach(r, req);
    req->spec = 0; /* vLLM _preempt_request clears spec_token_ids */
    req->state = SIM_REQ_PREEMPTED;
    req->preemptions++;
    r->step_preempted++;
    sim_waitq_push_front(&r->waiting, req);
}

/* The next free slot joins the steps in flight (its items as planned). */
static sim_step_slot *
slot_push(sim_replica *r, int64_t now)
{
    uint32_t q = r->params->max_batches;
    g_assert(r->nflight < q);
    sim_step_slot *sl = &r->slots[(r->head + r->nflight) % q];
    r->nflight++;
    r->step++;
    sl->step = r->step;
    sl->launch_ns = now;
    sl->start_ns = now;
    sl->preempted = r->step_preempted;
    sl->admitted = r->step_admitted;
    sl->num_running = r->nrunning;
    sl->num_waiting = sim_waitq_len(&r->waiting);
    sl->dummy = false;
    memset(&sl->cost, 0, sizeof sl->cost);
    if (sl->spec != NULL) {
        sl->spec->seqs = sl->spec->drafts = sl->spec->accepted = 0;
        sl->spec->draft_s = 0.0;
        memset(sl->spec->pos, 0, r->params->spec_tokens * sizeof *sl->spec->pos);
    }
    return sl;
}

sim_step_slot *
sim_replica_launch(sim_replica *r, int64_t now)
{
    g_assert(r->nplanned > 0);
    sim_step_slot *sl = slot_push(r, now);
    g_assert(sl == r->plan);
    sl->nitems = r->nplanned;
    sl->batch = r->batch;
    r->nplanned = 0;
    r->plan = NULL;
    batch_init(r, &r->batch);
    return sl;
}

sim_step_slot *
sim_replica_launch_dummy(sim_replica *r, int64_t now)
{
    g_assert(r->nplanned == 0);
    sim_step_slot *sl = slot_push(r, now);
    sl->nitems = 0;
    sl->dummy = true;
    /* vLLM execute_dummy_batch → _dummy_run(1): one token through the whole model */
    batch_init(r, &sl->batch);
    tm_batch_add(&sl->batch, 1, 0, false);
    if (sl->spec != NULL)
        batch_init(r, &sl->spec->propose);
    r->dummy_steps++;
    return sl;
}

/* Totals of the oldest slot's speculative outcome (set by spec_accept or by hand). */
static void
spec_totals(sim_step_slot *sl)
{
    for (uint32_t i = 0; i < sl->nitems; i++) {
        const sim_batch_item *it = &sl->items[i];
        if (it->req == NULL || !it->samples || it->spec == 0)
            continue;
        g_assert(it->accepted <= it->spec);
        sl->spec->seqs++;
        sl->spec->drafts += it->spec;
        sl->spec->accepted += it->accepted;
        for (uint32_t j = 0; j < it->accepted; j++)
            sl->spec->pos[j]++;
    }
}

void
sim_replica_spec_accept(sim_replica *r, sim_rng *rng)
{
    const sim_sched_params *p = r->params;
    if (p->spec_tokens == 0 || r->nflight == 0)
        return;
    sim_step_slot *sl = &r->slots[r->head];
    sim_spec_slot *sp = sl->spec;
    sp->seqs = sp->drafts = sp->accepted = 0;
    memset(sp->pos, 0, p->spec_tokens * sizeof *sp->pos);
    for (uint32_t i = 0; i < sl->nitems; i++) {
        sim_batch_item *it = &sl->items[i];
        it->accepted = 0;
        if (it->req == NULL || !it->samples || it->spec == 0)
            continue;
        /* one uniform: draft j is accepted iff u < accept[j]; the rates never increase, so
         * the accepted drafts form a prefix and P(draft j accepted) = accept[j] */
        double u = sim_rng_uniform(rng);
        uint32_t a = 0;
        while (a < it->spec && u < p->spec_accept[a])
            a++;
        it->accepted = a;
    }
    spec_totals(sl);
}

/* A request that finished in this step may sit in a later step in flight (async scheduling
 * planned it again before its drafts came back): vLLM discards that output (the request is
 * gone); here its item is dropped so the request can be released now. */
static void
drop_from_later_steps(sim_replica *r, sim_request *q)
{
    for (uint32_t k = 1; k < r->nflight; k++) {
        sim_step_slot *sl = &r->slots[(r->head + k) % r->params->max_batches];
        for (uint32_t i = 0; i < sl->nitems; i++)
            if (sl->items[i].req == q) {
                sl->items[i].req = NULL;
#ifndef NDEBUG
                q->inflight--;
#endif
            }
    }
}

uint32_t
sim_replica_commit(sim_replica *r, int64_t now, sim_token_fn fn, void *ctx)
{
    g_assert(r->nflight > 0);
    sim_step_slot *sl = &r->slots[r->head];
    uint32_t done = 0;
    if (sl->spec != NULL && sl->spec->seqs == 0)
        spec_totals(sl);
    for (uint32_t i = 0; i < sl->nitems; i++) {
        sim_batch_item *it = &sl->items[i];
        sim_request *q = it->req;
        if (q == NULL)
            continue; /* finished in an earlier step (drop_from_later_steps) */
#ifndef NDEBUG
        g_assert(q->inflight > 0);
        q->inflight--;
#endif
        if (!it->samples)
            continue;
        /* one more output token leaves a decoding request's load unchanged (see plan); not
         * under speculative decoding, whose rejected drafts change num_computed */
        bool dec = r->params->spec_tokens == 0 && decoding(q);
        if (dec && fn != NULL) {
            /* nearly every item: what the general case below does for one token without
             * drafts (a request short of its target has a token left, so it is emitted) */
            q->num_output++;
            if (r->async && q->placeholders > 0)
                q->placeholders--;
            fn(ctx, q, 1);
        } else {
            if (!dec)
                sim_replica_load_detach(r, q);
            uint32_t emit = 1;
            if (it->spec > 0) {
                /* vLLM update_from_output: rejected drafts leave num_computed (and the async
                 * placeholders); a preempted request has nothing computed left to take back */
                uint32_t rejected = it->spec - it->accepted;
                if (q->num_computed > 0)
                    q->num_computed -= rejected < q->num_computed ? rejected : q->num_computed;
                if (r->async)
                    q->placeholders -= rejected < q->placeholders ? rejected : q->placeholders;
                emit += it->accepted;
                q->spec_steps++;
                q->spec_drafts += it->spec;
                q->spec_accepted += it->accepted;
            }
            /* tokens past the output target are dropped, as vLLM's stop check does */
            uint32_t left = q->output_target > q->num_output ? q->output_target - q->num_output : 1;
            if (emit > left)
                emit = left;
            q->num_output += emit;
            if (r->async)
                q->placeholders -= emit < q->placeholders ? emit : q->placeholders;
            /* the drafter proposes the next step's drafts right after this one (sync scheduling;
             * async set them as placeholders at planning) */
            if (!r->async && r->params->spec_tokens > 0 && q->state == SIM_REQ_RUNNING)
                q->spec = r->params->spec_tokens;
            if (!dec)
                sim_replica_load_attach(r, q);
            if (fn != NULL) {
                fn(ctx, q, emit);
            } else {
                if (q->first_token_ns < 0)
                    q->first_token_ns = now;
                q->last_token_ns = now;
            }
        }
        if (sim_request_done(q) && q->state != SIM_REQ_FINISHED) {
            if (q->state != SIM_REQ_RUNNING) {
                /* preempted while this step ran: vLLM keeps the token and stops the request
                 * from the waiting queue (stopped_preempted_reqs); reap takes it from running */
                bool was = sim_waitq_remove(&r->waiting, q);
                g_assert(was);
                (void)was;
                if (r->nrunning == r->runcap) {
                    r->runcap *= 2;
                    r->running = g_renew(sim_request *, r->running, r->runcap);
                }
                r->running[r->nrunning++] = q;
            }
            q->state = SIM_REQ_FINISHED;
            q->spec = 0;
            if (r->params->spec_tokens > 0 && r->nflight > 1)
                drop_from_later_steps(r, q);
            done++;
        }
    }
    r->head = (r->head + 1) % r->params->max_batches;
    r->nflight--;
    return done;
}

uint32_t
sim_replica_common_prefix_blocks(const sim_replica *r)
{
    if (r->nrunning == 0)
        return 0;
    const sim_request *q = r->running[0];
    if (r->nrunning == 1)
        return q->kv.nblocks; /* every block it holds has ref_cnt 1 (O(1), not a walk) */
    uint32_t n = 0;
    while (n < q->kv.nblocks && sim_kvpool_block_ref(r->kv, q->kv.blocks[n]) == r->nrunning)
        n++;
    return n;
}

void
sim_replica_reap(sim_replica *r, sim_reap_fn fn, void *ctx)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->nrunning; i++) {
        sim_request *q = r->running[i];
        if (q->state != SIM_REQ_FINISHED) {
            r->running[k++] = q;
            continue;
        }
#ifndef NDEBUG
        g_assert(q->inflight == 0); /* no step in flight still holds it */
#endif
        /* a prefill-only request keeps its blocks for the decode side's pull (vLLM
         * request_finished → delay_free_blocks); FN hands them to a holder */
        if (q->pd != SIM_PD_PREFILL)
            sim_kvpool_release(r->kv, q);
        sim_replica_load_detach(r, q);
        r->assigned--;
        fn(ctx, q);
    }
    r->nrunning = k;
}

void
sim_replica_cascade_prefix(sim_replica *r)
{
    uint32_t blocks = sim_replica_common_prefix_blocks(r);
    r->common_prefix_blocks = blocks;
    if (blocks == 0 || r->nplanned == 0)
        return;
    uint32_t bs = sim_kvpool_block_size(r->kv);
    uint64_t len = (uint64_t)blocks * bs;
    for (uint32_t i = 0; i < r->nplanned; i++)
        if (r->plan->items[i].ctx < len)
            len = r->plan->items[i].ctx;
    r->batch.common_prefix_tokens = (double)(len / bs * bs);
}
