/* sim/replica.c: the replica mechanism: planning bookkeeping, admission, preemption. Load
 * counters used by routers are maintained incrementally here so routing is O(replicas). */
#include "sim/replica.h"

#include <string.h>

/* Initial capacity of the running and planned arrays (they grow by doubling). */
#define INITIAL_CAP 64

uint64_t
sim_replica_state_bytes(uint32_t num_blocks)
{
    return sizeof(sim_replica) + sim_kvpool_state_bytes(num_blocks) +
           2 * INITIAL_CAP * sizeof(sim_request *);
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
    r->kv = sim_kvpool_new(num_blocks, block_size, prefix_caching);
    r->params = params;
    r->watermark_blocks = (uint32_t)(params->watermark * (double)num_blocks);
    sim_waitq_init(&r->waiting, params->priority);
    r->runcap = INITIAL_CAP;
    r->running = g_new(sim_request *, r->runcap);
    r->plancap = INITIAL_CAP;
    r->planned = g_new(sim_request *, r->plancap);
    tm_batch_init(&r->batch, params->dsa_topk);
}

void
sim_replica_clear(sim_replica *r)
{
    sim_kvpool_free(r->kv);
    sim_waitq_clear(&r->waiting);
    g_free(r->running);
    g_free(r->planned);
    memset(r, 0, sizeof *r);
}

void
sim_replica_plan_begin(sim_replica *r, uint32_t budget)
{
    r->nplanned = 0;
    r->budget = budget;
    r->step_preempted = 0;
    r->step_admitted = 0;
    tm_batch_init(&r->batch, r->params->dsa_topk);
}

/* Load figures are kept exact with a detach/attach pattern: subtract a request's
 * contribution before changing it, add it back after. */
static uint64_t
prefill_left(const sim_request *q)
{
    bool decoding = q->num_computed >= q->prompt_tokens && q->num_output > 0;
    return decoding ? 0 : (uint64_t)sim_request_num_tokens(q) - q->num_computed;
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
    uint32_t ntok = sim_request_num_tokens(req);
    g_assert(req->num_computed + n <= ntok);
    sim_replica_load_detach(r, req);
    req->planned_step = r->step + 1;
    req->planned_new = n;
    req->planned_ctx = req->num_computed;
    req->planned_samples = req->num_computed + n == ntok;
    if (req->num_computed < req->prompt_tokens) {
        uint32_t upto =
            req->num_computed + n < req->prompt_tokens ? req->num_computed + n : req->prompt_tokens;
        req->computed_prompt_tokens += upto - req->num_computed;
    }
    tm_batch_add(&r->batch, n, req->planned_ctx, req->planned_samples);
    req->num_computed += n;
    sim_replica_load_attach(r, req);
    r->budget -= n;
    if (r->nplanned == r->plancap) {
        r->plancap *= 2;
        r->planned = g_renew(sim_request *, r->planned, r->plancap);
    }
    r->planned[r->nplanned++] = req;
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
    r->budget += n;
    req->planned_step = 0;
    req->planned_new = 0;
    if (req->planned_ctx < req->prompt_tokens) {
        uint32_t upto =
            req->planned_ctx + n < req->prompt_tokens ? req->planned_ctx + n : req->prompt_tokens;
        req->computed_prompt_tokens -= upto - req->planned_ctx;
    }
    for (uint32_t i = 0; i < r->nplanned; i++)
        if (r->planned[i] == req) {
            memmove(&r->planned[i], &r->planned[i + 1], (r->nplanned - i - 1) * sizeof *r->planned);
            r->nplanned--;
            break;
        }
}

void
sim_replica_enqueue(sim_replica *r, sim_request *req)
{
    req->replica = r->id;
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

void
sim_replica_start_step(sim_replica *r, int64_t now)
{
    g_assert(!r->busy && r->nplanned > 0);
    for (uint32_t i = 0; i < r->nplanned; i++)
        if (r->planned[i]->first_scheduled_ns < 0)
            r->planned[i]->first_scheduled_ns = now;
    r->step++;
    r->busy = true;
    r->step_start_ns = now;
}

uint32_t
sim_replica_commit(sim_replica *r, int64_t now, sim_token_fn fn, void *ctx)
{
    uint32_t done = 0;
    for (uint32_t i = 0; i < r->nplanned; i++) {
        sim_request *q = r->planned[i];
        if (!q->planned_samples)
            continue;
        sim_replica_load_detach(r, q);
        q->num_output++;
        sim_replica_load_attach(r, q);
        int64_t gap = q->first_token_ns < 0 ? -1 : now - q->last_token_ns;
        if (q->first_token_ns < 0)
            q->first_token_ns = now;
        q->last_token_ns = now;
        if (fn != NULL)
            fn(ctx, q, gap);
        if (sim_request_done(q)) {
            q->state = SIM_REQ_FINISHED;
            done++;
        }
    }
    r->nplanned = 0;
    r->busy = false;
    return done;
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
        sim_kvpool_release(r->kv, q);
        sim_replica_load_detach(r, q);
        r->assigned--;
        fn(ctx, q);
    }
    r->nrunning = k;
}
