/* sim/replica.h: one engine instance (TP×PP GPUs of one hardware type): waiting queue,
 * running list (admission order), KV block pool, the step being planned or run. A replica owns
 * no policy: a scheduler (sim/sched.h, implemented in schedulers/) decides what to run and
 * calls the mechanism below (plan, unplan, preempt, admit). The cluster (sim/cluster.h)
 * prices the planned batch and commits it when the step ends.
 * Ownership: the replica owns its pool, queues and scratch arrays; requests are borrowed
 * (owned by the cluster's request pool). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sim/kvpool.h"
#include "sim/request.h"
#include "timemodel/batch.h"

/* Scheduler knobs, resolved (no "auto" left). docs/domain.md §1.2. */
typedef struct sim_sched_params {
    uint32_t max_num_seqs;
    uint32_t max_num_batched_tokens; /* token budget TB */
    uint32_t max_model_len;
    uint32_t long_prefill_token_threshold; /* 0 = off */
    bool chunked_prefill;
    bool priority;       /* priority scheduling (else FCFS) */
    uint32_t chunk_size; /* sarathi */
    uint32_t batch_size; /* static */
    double watermark;    /* fraction of blocks kept free at admission */
    uint32_t dsa_topk;   /* for the batch summary */
} sim_sched_params;

typedef struct sim_replica {
    uint32_t id;
    uint32_t pool;
    sim_kvpool *kv;
    const sim_sched_params *params; /* borrowed (the cluster's) */
    uint32_t watermark_blocks;      /* int(watermark · num_blocks) */

    sim_waitq waiting;
    sim_request **running; /* admission order */
    uint32_t nrunning, runcap;
    sim_request **planned; /* requests planned for the current step, plan order */
    uint32_t nplanned, plancap;
    tm_batch batch;  /* summary of the planned step */
    uint32_t budget; /* token budget left while planning */

    uint64_t step;     /* steps started so far; the planning step is step + 1 */
    bool busy;         /* a step is running */
    bool kick_pending; /* a SCHEDULE event is queued */
    int64_t step_start_ns;
    uint32_t step_preempted, step_admitted;

    /* load figures for routers, kept exact incrementally */
    uint64_t assigned;          /* requests routed here and not finished */
    uint64_t remaining_tokens;  /* Σ (prompt + output − 1 − num_computed) over assigned */
    uint64_t remaining_prefill; /* Σ (num_tokens − num_computed) over assigned requests
                                   that are not yet decoding (prefill work queued) */
} sim_replica;

/* Bytes sim_replica_init allocates for a replica of NUM_BLOCKS KV blocks (its KV pool and
 * initial running/planned arrays; queues and requests grow with the load and are not
 * counted). */
uint64_t sim_replica_state_bytes(uint32_t num_blocks);
void sim_replica_init(sim_replica *r,
                      uint32_t id,
                      uint32_t pool,
                      uint32_t num_blocks,
                      uint32_t block_size,
                      bool prefix_caching,
                      const sim_sched_params *params);
void sim_replica_clear(sim_replica *r);

/* Starts planning a step: empties the plan and sets the budget to B. */
void sim_replica_plan_begin(sim_replica *r, uint32_t budget);
/* Plans REQ for N new tokens (after any hit blocks were allocated and added to num_computed).
 * Updates num_computed (vLLM advances it at planning time), the batch summary and budget. */
void sim_replica_plan(sim_replica *r, sim_request *req, uint32_t n);
/* Undoes the plan of REQ in this step (a planned request chosen as preemption victim). */
void sim_replica_unplan(sim_replica *r, sim_request *req);

/* True if REQ is planned in the step being built. */
static inline bool
sim_replica_is_planned(const sim_replica *r, const sim_request *req)
{
    return req->planned_step == r->step + 1;
}

/* Adds a newly routed request to the waiting queue. */
void sim_replica_enqueue(sim_replica *r, sim_request *req);
/* Pops the head of waiting and appends it to running (admission). */
void sim_replica_admit_head(sim_replica *r);
/* Recompute preemption (docs/domain.md §1.4): frees REQ's blocks, num_computed = 0, removes it from
 * running and puts it at the head of waiting. */
void sim_replica_preempt(sim_replica *r, sim_request *req);
/* Index of REQ in running, or UINT32_MAX. */
uint32_t sim_replica_running_index(const sim_replica *r, const sim_request *req);
/* Removes running[i] keeping order. */
void sim_replica_running_remove_at(sim_replica *r, uint32_t i);

/* Load bookkeeping around any change of a request's tokens outside the calls above (the
 * cluster's commit): detach before, attach after. */
void sim_replica_load_detach(sim_replica *r, const sim_request *q);
void sim_replica_load_attach(sim_replica *r, const sim_request *q);

/* Marks the planned step as running (step counter, busy flag, start time). */
void sim_replica_start_step(sim_replica *r, int64_t now);
/* Step end: every planned request whose chunk reached its known tokens emits one token at NOW
 * (num_output++, first/last token times). FN (may be NULL) is called for each emission with
 * the request and its gap since its previous token (-1 for the first). Requests that reached
 * their output target are marked SIM_REQ_FINISHED but stay in running until
 * sim_replica_reap. Clears the plan and the busy flag. Returns how many finished. */
typedef void (*sim_token_fn)(void *ctx, sim_request *req, int64_t gap_ns);
uint32_t sim_replica_commit(sim_replica *r, int64_t now, sim_token_fn fn, void *ctx);
/* Removes finished requests from running (keeping order), releasing their KV blocks, and
 * hands each to FN (which takes ownership). */
typedef void (*sim_reap_fn)(void *ctx, sim_request *req);
void sim_replica_reap(sim_replica *r, sim_reap_fn fn, void *ctx);

/* Router helpers. */
static inline bool
sim_replica_has_work(const sim_replica *r)
{
    return r->nrunning > 0 || sim_waitq_len(&r->waiting) > 0;
}
