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
    tm_batch_init(&r->batch, params->dsa_topk);
    g_assert(params->max_batches >= 1);
    r->async = params->async_scheduling;
    r->slots = g_new0(sim_step_slot, params->max_batches);
}

void
sim_replica_clear(sim_replica *r)
{
    sim_kvpool_free(r->kv);
    sim_waitq_clear(&r->waiting);
    g_free(r->running);
    for (uint32_t i = 0; r->slots != NULL && i < r->params->max_batches; i++)
        g_free(r->slots[i].items);
    g_free(r->slots);
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
    tm_batch_init(&r->batch, r->params->dsa_topk);
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
    return decoding(q) ? 0 : (uint64_t)sim_request_num_tokens(q) - q->num_computed;
}

static uint64_t
tokens_left(const sim_request *q)
{
    return (uint64_t)q->prompt_tokens + q->output_target - 1 - q->num_computed;
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
sim_replica_plan(sim_replica *r, sim_request *req, uint32_t n)
{
    g_assert(n > 0 && n <= r->budget);
    g_assert(!sim_replica_is_planned(r, req));
    uint32_t ctx = req->num_computed;
    uint32_t ntok = sim_request_num_tokens(req) + req->placeholders;
    g_assert(ctx + n <= ntok);
    /* a decoding request stays decoding: its prefill_left stays 0 and its tokens_left drops by
     * n, all that detach + attach would do (modulo 2^64 alike); this is nearly every call */
    bool dec = decoding(req);
    if (!dec)
        sim_replica_load_detach(r, req);
    bool samples = ctx + n == ntok;
    req->planned_step = r->step + 1;
    req->planned_new = n;
    req->planned_ctx = ctx;
    req->planned_samples = samples;
    /* AsyncScheduler._update_after_schedule: the token this step samples is a placeholder
     * until the step returns, and the request may be scheduled again meanwhile */
    if (samples && r->async)
        req->placeholders++;
    if (ctx < req->prompt_tokens) {
        uint32_t upto = ctx + n < req->prompt_tokens ? ctx + n : req->prompt_tokens;
        req->computed_prompt_tokens += upto - ctx;
    }
    tm_batch_add(&r->batch, n, ctx, samples);
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
    sl->items[r->nplanned++] = (sim_batch_item){req, n, ctx, samples};
}

void
sim_replica_unplan(sim_replica *r, sim_request *req)
{
    g_assert(sim_replica_is_planned(r, req));
    uint32_t n = req->planned_new;
    tm_batch_remove(&r->batch, n, req->planned_ctx, req->planned_samples);
    sim_replica_load_detach(r, req);
    req->num_computed -= n;
    sim_replica_load_attach(r, req);
    if (req->planned_samples && r->async)
        req->placeholders--;
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
    tm_batch_init(&r->batch, r->params->dsa_topk);
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
    tm_batch_init(&sl->batch, r->params->dsa_topk);
    tm_batch_add(&sl->batch, 1, 0, false);
    r->dummy_steps++;
    return sl;
}

uint32_t
sim_replica_commit(sim_replica *r, int64_t now, sim_token_fn fn, void *ctx)
{
    g_assert(r->nflight > 0);
    sim_step_slot *sl = &r->slots[r->head];
    uint32_t done = 0;
    for (uint32_t i = 0; i < sl->nitems; i++) {
        sim_batch_item *it = &sl->items[i];
        sim_request *q = it->req;
#ifndef NDEBUG
        g_assert(q->inflight > 0);
        q->inflight--;
#endif
        if (!it->samples)
            continue;
        /* one more output token leaves a decoding request's load unchanged (see plan) */
        bool dec = decoding(q);
        if (!dec)
            sim_replica_load_detach(r, q);
        q->num_output++;
        if (r->async && q->placeholders > 0)
            q->placeholders--;
        if (!dec)
            sim_replica_load_attach(r, q);
        if (fn != NULL) {
            fn(ctx, q);
        } else {
            if (q->first_token_ns < 0)
                q->first_token_ns = now;
            q->last_token_ns = now;
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
