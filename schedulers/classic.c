/* schedulers/classic.c: the pre-paging baselines.
 * orca (OSDI'22): iteration-level scheduling without chunking; KV for prompt + max output is
 *   reserved at admission, so admission is pessimistic and preemption never happens
 *   (docs/domain.md §1.7). Prompts are not split: a prompt larger than the token budget runs alone.
 * static: request-level batching: up to batch_size requests are admitted together when the
 *   replica is empty, prefilled together and decoded until the last one finishes; no request
 *   joins a running batch. KV is reserved like orca. */
#include "schedulers/schedulers.h"

/* Slots a request needs for its whole life: prompt + output − 1 (the last token is sampled,
 * never fed back). */
static uint32_t
lifetime_slots(const sim_request *q)
{
    return q->prompt_tokens + q->output_target - 1;
}

static bool
reserve_fits(const sim_replica *r, const sim_request *q)
{
    uint32_t bs = sim_kvpool_block_size(r->kv);
    uint64_t blocks = (lifetime_slots(q) + (uint64_t)bs - 1) / bs;
    return blocks <= sim_kvpool_usable(r->kv);
}

static bool
must_reject_reserving(const sim_replica *r, const sim_request *q)
{
    return !reserve_fits(r, q);
}

/* Running requests: every one gets all its remaining known tokens (whole prompt, or 1). With
 * KV reserved at admission, allocation cannot fail. */
static void
run_all(sim_replica *r)
{
    for (uint32_t i = 0; i < r->nrunning; i++) {
        sim_request *q = r->running[i];
        uint32_t n = sim_replica_schedulable(r, q);
        if (n == 0)
            continue;
        bool ok = sim_kvpool_allocate(r->kv, q, n, 0, 0, 0);
        g_assert(ok); /* reserved at admission */
        (void)ok;
        sim_replica_plan(r, q, n);
    }
}

/* Admits waiting requests FCFS while the batch size and the KV reservation allow, and (if
 * PROMPT_BUDGET > 0) while this step's admitted prompt tokens stay within it; a prompt larger
 * than the budget is not split: it runs alone in a step. */
static void
admit_reserving(sim_replica *r, uint32_t max_batch, uint32_t prompt_budget)
{
    uint32_t used = 0;
    while (sim_waitq_len(&r->waiting) > 0 && r->nrunning < max_batch) {
        sim_request *q = sim_waitq_peek(&r->waiting);
        uint32_t n = sim_request_num_tokens(q);
        if (prompt_budget > 0 && used > 0 && used + n > prompt_budget)
            break;
        if (!sim_kvpool_allocate(r->kv, q, lifetime_slots(q), 0, 0, 0))
            break;
        sim_replica_admit_head(r);
        q->admitted_once = true;
        sim_replica_plan(r, q, n);
        used += n;
    }
}

static void
orca_plan(sim_replica *r)
{
    sim_replica_plan_begin(r, UINT32_MAX); /* no token budget on decodes */
    run_all(r);
    admit_reserving(r, r->params->max_num_seqs, r->params->max_num_batched_tokens);
}

const sim_scheduler sched_orca = {
    "orca", "Orca: iteration-level, no chunking, KV reserved for max tokens, no preemption",
    orca_plan, must_reject_reserving};

static void
static_plan(sim_replica *r)
{
    sim_replica_plan_begin(r, UINT32_MAX);
    if (r->nrunning > 0) {
        run_all(r);
        return;
    }
    admit_reserving(r, r->params->batch_size, 0);
}

const sim_scheduler sched_static = {"static",
                                    "static batching: fixed-size batches run to completion",
                                    static_plan, must_reject_reserving};
