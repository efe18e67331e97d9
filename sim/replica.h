/* sim/replica.h: one engine core (vLLM's EngineCore: one scheduler, waiting queue, running list
 * and KV block pool over TP×PP GPUs) and the steps it has in flight. A vLLM replica (one
 * `vllm serve`) holds dp of them (data-parallel ranks, docs/design.md §5b); with dp = 1 a core is
 * the replica. A core owns no policy: a scheduler (sim/sched.h, implemented in schedulers/)
 * decides what to run and calls the mechanism below (plan, unplan, preempt, admit). The cluster
 * (sim/cluster.h) prices the planned batch, launches it and commits it when its output returns.
 *
 * Steps in flight (vLLM's batch queue, v1/engine/core.py step_with_batch_queue): up to
 * max_batches launched steps whose outputs have not returned — 1 with synchronous scheduling,
 * 2 with async scheduling, pp with pipeline parallelism. Each launched step keeps its own
 * (request, tokens) list, so a request can sit in two steps at once under async scheduling
 * (vLLM's output placeholders) while sync scheduling never reschedules a request whose sampled
 * token has not returned (its num_computed already equals its known tokens).
 * Ownership: the core owns its pool, queues, scratch arrays and step slots; requests are
 * borrowed (owned by the cluster's request pool). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h"
#include "sim/kvpool.h"
#include "sim/request.h"
#include "timemodel/batch.h"
#include "timemodel/timemodel.h"

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
    /* engine loop (docs/design.md §5b) */
    bool async_scheduling;  /* vLLM AsyncScheduler: output placeholders, rescheduling a request
                               before its sampled token returned */
    uint32_t max_batches;   /* steps in flight: 1 sync, 2 async, pp with pipeline parallelism */
    bool cascade_attention; /* count the KV blocks common to all running requests */
    /* speculative decoding (docs/speculative.md): after each step that samples, a running
     * request holds spec_tokens drafts (vLLM spec_token_ids) which its next step verifies */
    uint32_t spec_tokens;      /* k = num_speculative_tokens; 0 = off */
    uint32_t lookahead_slots;  /* KV slots allocated beyond the scheduled tokens (vLLM
                                  num_lookahead_tokens: k for eagle/mtp/draft models, 0 ngram) */
    const double *spec_accept; /* spec_tokens entries: P(draft i+1 accepted), non-increasing
                                  (borrowed) */
} sim_sched_params;

/* One request's share of a launched step. */
typedef struct sim_batch_item {
    sim_request *req;
    uint32_t n;        /* new tokens */
    uint32_t ctx;      /* num_computed before the chunk */
    bool samples;      /* emits a token when the step returns */
    uint32_t spec;     /* draft tokens it verifies (part of n) */
    uint32_t accepted; /* of those, accepted (drawn when the step returns) */
} sim_batch_item;

/* Speculative decoding in a launched step (docs/speculative.md). */
typedef struct sim_spec_slot {
    tm_batch propose; /* one token per sampling sequence: the drafter's later passes */
    double draft_s;   /* the drafter's passes (included in the step's cost.total_s) */
    /* outcome, set by sim_replica_spec_accept (or by hand in tests) */
    uint32_t seqs;     /* sequences that verified drafts */
    uint32_t drafts;   /* draft tokens verified */
    uint32_t accepted; /* of those, accepted */
    uint32_t *pos;     /* spec_tokens entries: sequences whose draft i+1 was accepted */
} sim_spec_slot;

/* A launched step of one core, from launch until its output is committed. */
typedef struct sim_step_slot {
    sim_batch_item *items;
    uint32_t nitems, cap;
    tm_batch batch;    /* what it runs */
    tm_step_cost cost; /* how it was priced (the core's own batch; the cluster fills it) */
    double extra_s;    /* added by STEP_PLANNED observers (included in cost.total_s) */
    uint64_t step;     /* per-core step number */
    int64_t launch_ns; /* when the scheduler produced it */
    int64_t start_ns;  /* when its first stage started on the GPU */
    uint32_t preempted, admitted;
    uint32_t num_running, num_waiting; /* after planning */
    bool dummy; /* a DP rank with nothing scheduled running a dummy batch in lockstep */
    struct sim_spec_slot *spec; /* speculative decoding (owned; NULL without it) */
} sim_step_slot;

typedef struct sim_replica {
    uint32_t id; /* engine core: flat index over the pool's replicas × dp ranks */
    uint32_t pool;
    uint32_t replica; /* the vLLM replica (server) it belongs to */
    uint32_t dp_rank; /* its data-parallel rank there */
    sim_kvpool *kv;
    const sim_sched_params *params; /* borrowed (the cluster's) */
    bool async;                     /* = params->async_scheduling (hot path) */
    uint32_t watermark_blocks;      /* int(watermark · num_blocks) */

    sim_waitq waiting;
    sim_request **running; /* admission order */
    uint32_t nrunning, runcap;
    sim_step_slot *plan; /* the slot the step being planned fills: items[0 .. nplanned) in plan
                            order (its nitems is set at launch) */
    uint32_t nplanned;
    int64_t now;     /* planning time (first_scheduled of newly planned requests) */
    tm_batch batch;  /* summary of the planned step (speculative decoding: the drafter's
                        one-token passes go to plan->spec->propose) */
    uint32_t budget; /* token budget left while planning */

    uint64_t step; /* steps launched so far; the planning step is step + 1 */
    uint32_t step_preempted, step_admitted; /* of the step being planned */
    uint32_t common_prefix_blocks;          /* of the step being planned (cascade attention) */

    /* steps in flight, oldest first: slots[(head + i) % max_batches] for i < nflight */
    sim_step_slot *slots;
    uint32_t head, nflight;
    uint64_t dummy_steps; /* lockstep dummy batches run */

    /* prefill/decode disaggregation (docs/design.md §5c): requests holding blocks of this core
     * outside running — a prefill core's finished requests until their KV has been pulled
     * (ghosts, vLLM delay_free_blocks), a decode core's requests in WAITING_FOR_REMOTE_KVS */
    sim_request **held;
    uint32_t nheld, heldcap;
    sim_request **pulls; /* allocated by the step being planned: transfers for the cluster */
    uint32_t npulls, pullcap;

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

/* Starts planning a step into the next free slot (nflight < max_batches): empties the plan and
 * sets the budget to B. The caller sets r->now first. */
void sim_replica_plan_begin(sim_replica *r, uint32_t budget);
/* Undoes the plan of REQ in this step (a planned request chosen as preemption victim). */
void sim_replica_unplan(sim_replica *r, sim_request *req);

/* True if REQ is planned in the step being built. */
static inline bool
sim_replica_is_planned(const sim_replica *r, const sim_request *req)
{
    return req->planned_step == r->step + 1;
}

/* The general case of sim_replica_plan (same contract). */
void sim__replica_plan_slow(sim_replica *r, sim_request *req, uint32_t n);

/* Plans REQ for N new tokens (after any hit blocks were allocated and added to num_computed).
 * Updates num_computed (vLLM advances it at planning time), the batch summary and budget.
 * Inline: nearly every call plans the next decode token of a decoding request without
 * speculative decoding, in a slot with room for it; that case is done here without a call,
 * with the updates the general path makes for it: the token samples iff it is the last known
 * one (else async scheduling's placeholder covers it), no drafts, no prompt tokens, the
 * request's remaining tokens drop by one and its remaining prefill stays 0. */
static inline void
sim_replica_plan(sim_replica *r, sim_request *req, uint32_t n)
{
    sim_step_slot *sl = r->plan;
    uint32_t ctx = req->num_computed;
    if (n == 1 && r->params->spec_tokens == 0 && ctx >= req->prompt_tokens && req->num_output > 0 &&
        r->budget > 0 && r->nplanned < sl->cap) {
        g_assert(!sim_replica_is_planned(r, req));
        uint32_t ntok = req->prompt_tokens + req->num_output + req->placeholders;
        g_assert(ctx < ntok && req->spec == 0);
        bool samples = ctx + 1 == ntok;
        req->planned_step = r->step + 1;
        req->planned_new = 1;
        req->planned_ctx = ctx;
        req->planned_samples = samples;
        req->planned_spec = 0;
        req->planned_prev_spec = 0; /* spec stays 0 without speculative decoding */
        if (samples && r->async)
            req->placeholders++;
        tm_batch_add(&r->batch, 1, ctx, samples);
        req->num_computed = ctx + 1;
        r->remaining_tokens--;
        r->budget--;
#ifndef NDEBUG
        req->inflight++;
#endif
        sl->items[r->nplanned++] = (sim_batch_item){req, 1, ctx, samples, 0, 0};
        return;
    }
    sim__replica_plan_slow(r, req, n);
}

/* Adds a newly routed request to the waiting queue. */
void sim_replica_enqueue(sim_replica *r, sim_request *req);
/* Decode side of a disaggregated request at the head of waiting (SIM_PD_REMOTE_PENDING), as
 * vLLM's scheduler does for a connector's async load: local prefix hits are looked up, blocks
 * are allocated for the whole prompt (hits + the tokens to pull) without using the token budget
 * or a running slot, and the request leaves waiting for held, in SIM_PD_REMOTE_WAIT, with
 * num_computed = prompt − 1 (what it will have once the KV landed). Returns false, changing
 * nothing, when the blocks do not fit (head-of-line stop). The request is appended to pulls. */
bool sim_replica_remote_alloc(sim_replica *r, sim_request *req, uint32_t watermark_blocks);
/* The KV of REQ (SIM_PD_REMOTE_WAIT, in held) landed: it returns to the front of waiting as
 * SIM_PD_DECODE (vLLM prepends the requests it skipped while they waited). */
void sim_replica_remote_ready(sim_replica *r, sim_request *req);
/* Adds / removes a block owner outside running (held). */
void sim_replica_hold(sim_replica *r, sim_request *req);
void sim_replica_unhold(sim_replica *r, sim_request *req);
/* Every request owning blocks of this core (running, held, and waiting ones whose KV landed)
 * in a new array (g_free); for the invariant checker. */
sim_request **sim_replica_owners(const sim_replica *r, uint32_t *n);

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

/* Tokens REQ (running) may be given this step before any cap: its known tokens plus async
 * placeholders minus num_computed, or 0 when the steps in flight already produce its last token
 * (vLLM AsyncScheduler: "avoid scheduling an extra step"). */
static inline uint32_t
sim_replica_schedulable(const sim_replica *r, const sim_request *q)
{
    (void)r;
    /* known tokens (+ placeholders + drafts: vLLM num_tokens_with_spec) ≥ num_computed always:
     * planning never goes beyond them */
    uint32_t n = q->prompt_tokens + q->num_output + q->placeholders + q->spec - q->num_computed;
    /* (num_computed + 1) − (placeholders − 1) ≥ prompt + max_tokens: the steps in flight
     * already sample the last token */
    if (q->placeholders > 0 &&
        q->num_computed + 2 >= q->prompt_tokens + q->output_target + q->placeholders)
        return 0;
    return n;
}

/* Launches the planned step: its slot joins the steps in flight and is returned (the cluster
 * prices it and fills cost/start_ns). The plan is empty afterwards. */
sim_step_slot *sim_replica_launch(sim_replica *r, int64_t now);
/* Launches a dummy batch (nothing scheduled on this DP rank while its lockstep peers run). */
sim_step_slot *sim_replica_launch_dummy(sim_replica *r, int64_t now);

/* The oldest step in flight (NULL if none). */
static inline sim_step_slot *
sim_replica_oldest(const sim_replica *r)
{
    return r->nflight > 0 ? &r->slots[r->head] : NULL;
}

/* Speculative decoding: draws how many drafts each sampling item of the oldest step in flight
 * accepted (one uniform per item from RNG: accepted = #{i : u < accept[i]}, so P(draft i
 * accepted) = accept[i] exactly) and totals them in the slot. No-op when spec_tokens is 0.
 * Call before sim_replica_commit; tests may set items' accepted by hand instead. */
void sim_replica_spec_accept(sim_replica *r, sim_rng *rng);

/* Output of the oldest step in flight returned at NOW: every item that samples emits
 * 1 + accepted tokens (capped by its output target; vLLM drops tokens past a stop), rejected
 * drafts are taken back from num_computed (vLLM update_from_output). FN is called once per item
 * with the tokens it emitted (it sets the token times); with FN NULL the tokens are stamped
 * NOW. Requests
 * that reached their output target are marked SIM_REQ_FINISHED and stay in running until
 * sim_replica_reap (one preempted meanwhile is taken out of waiting and put back in running
 * for that). Pops the slot. Returns how many finished. */
typedef void (*sim_token_fn)(void *ctx, sim_request *req, uint32_t ntokens);
uint32_t sim_replica_commit(sim_replica *r, int64_t now, sim_token_fn fn, void *ctx);

/* True when no further step can be launched before the oldest returns. */
static inline bool
sim_replica_busy(const sim_replica *r)
{
    return r->nflight >= r->params->max_batches;
}

/* Removes finished requests from running (keeping order), releasing their KV blocks (except a
 * SIM_PD_PREFILL request's: FN must hand them to a holder), and
 * hands each to FN (which takes ownership). A finished request is never in a step in flight. */
typedef void (*sim_reap_fn)(void *ctx, sim_request *req);
void sim_replica_reap(sim_replica *r, sim_reap_fn fn, void *ctx);

/* Router helpers. */
static inline bool
sim_replica_has_work(const sim_replica *r)
{
    /* requests in held wait for a transfer, not for this core */
    return r->nrunning > 0 || sim_waitq_len(&r->waiting) > 0;
}

/* vLLM get_num_common_prefix_blocks: leading blocks of running[0] referenced by every running
 * request (ref_cnt == len(running)). */
uint32_t sim_replica_common_prefix_blocks(const sim_replica *r);
/* vLLM's cascade-attention prefix of the planned step (gpu_model_runner
 * _compute_cascade_attn_prefix_len): the common prefix blocks, capped by the least num_computed
 * of the planned requests, in whole blocks, into batch.common_prefix_tokens. Whether the kernel
 * uses it (≥ 256 tokens, ≥ 8 requests, FlashAttention's heuristic) is the time model's call. */
void sim_replica_cascade_prefix(sim_replica *r);
