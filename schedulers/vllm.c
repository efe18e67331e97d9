/* schedulers/vllm.c: vLLM V1's per-step algorithm (docs/domain.md §1.3–1.4), in the same order:
 * Phase A serves RUNNING requests in admission order (decodes and unfinished prefill chunks
 * first, "decode-first"), preempting the most recently admitted request (or, under priority
 * scheduling, the one with the largest (priority, arrival)) when KV blocks run out; Phase B
 * admits WAITING requests with the leftover budget, head-of-line, and only if Phase A
 * preempted nothing. Allocation is optimistic: only this chunk's blocks are checked.
 * Followed release: see SCHED_VLLM_VERSION. */
#include "schedulers/schedulers.h"

/* Victim for preemption: the last of running (FCFS) or the max (priority, arrival). */
static sim_request *
pick_victim(const sim_replica *r)
{
    if (!r->params->priority)
        return r->running[r->nrunning - 1];
    sim_request *v = r->running[0];
    for (uint32_t i = 1; i < r->nrunning; i++) {
        sim_request *q = r->running[i];
        if (q->priority > v->priority ||
            (q->priority == v->priority && q->arrival_ns >= v->arrival_ns))
            v = q;
    }
    return v;
}

/* Tokens a RUNNING request may take this step: what it has left (with async scheduling's
 * placeholders; 0 while its sampled token is in flight under sync scheduling, e.g. with
 * pipeline parallelism), capped by the long-prefill threshold (if LPT), the budget, and
 * max_model_len − 1 − computed (room for the sampled token). */
static uint32_t
running_chunk(const sim_replica *r, const sim_request *q, bool lpt)
{
    const sim_sched_params *p = r->params;
    uint32_t n = sim_replica_schedulable(r, q);
    /* a decode token (nearly every call): no threshold (≥ 1) or budget (the callers loop while
     * it is > 0) cuts it, only the room left before max_model_len */
    if (n == 1)
        return p->max_model_len > q->num_computed + 1 ? 1 : 0;
    if (lpt && p->long_prefill_token_threshold > 0 && n > p->long_prefill_token_threshold)
        n = p->long_prefill_token_threshold;
    if (n > r->budget)
        n = r->budget;
    uint32_t cap =
        p->max_model_len > q->num_computed + 1 ? p->max_model_len - 1 - q->num_computed : 0;
    return n < cap ? n : cap;
}

/* Phase A: returns true if anything was preempted. */
static bool
schedule_running(sim_replica *r)
{
    const sim_sched_params *p = r->params;
    bool preempted = false;
    uint32_t i = 0;
    while (i < r->nrunning && r->budget > 0) {
        sim_request *q = r->running[i];
        uint32_t n = running_chunk(r, q, true);
        if (n == 0) { /* skip, not break: FCFS relaxed */
            i++;
            continue;
        }
        bool can = true;
        /* speculative decoding: room for the drafts proposed after this step too (vLLM
         * num_lookahead_tokens) */
        while (
            !sim_kvpool_allocate_ahead(r->kv, q, n, p->lookahead_slots, 0, 0, p->max_model_len)) {
            sim_request *v = pick_victim(r);
            /* vLLM steps its index back only when the victim had been scheduled this step
             * (it sat before the current request); reproduce that. */
            bool was_planned = sim_replica_is_planned(r, v);
            sim_replica_preempt(r, v);
            preempted = true;
            if (was_planned)
                i--;
            if (v == q) {
                can = false;
                break;
            }
        }
        if (!can)
            break;
        sim_replica_plan(r, q, n);
        i++;
    }
    return preempted;
}

/* Phase B. */
static void
schedule_waiting(sim_replica *r)
{
    const sim_sched_params *p = r->params;
    uint32_t bs = sim_kvpool_block_size(r->kv);
    while (sim_waitq_len(&r->waiting) > 0 && r->budget > 0 && r->nrunning < p->max_num_seqs) {
        sim_request *q = sim_waitq_peek(&r->waiting);
        /* the watermark applies only when another request is already scheduled this step;
         * no lookahead slots: vLLM reserves them only for a request with computed tokens, and
         * a waiting request (new or preempted) has none */
        uint32_t wm = r->nplanned > 0 ? r->watermark_blocks : 0;
        if (q->pd == SIM_PD_REMOTE_PENDING) {
            /* KV connector (docs/domain.md §2.3): allocate, no budget, no running slot; the
             * request waits outside running until its KV landed */
            if (!sim_replica_remote_alloc(r, q, wm))
                break;
            continue;
        }
        uint32_t hit_blocks = 0;
        if (q->num_computed == 0)
            hit_blocks = sim_kvpool_lookup(r->kv, q, true);
        uint32_t computed = q->num_computed + hit_blocks * bs;
        uint32_t n = sim_request_num_tokens(q) - computed;
        if (p->long_prefill_token_threshold > 0 && n > p->long_prefill_token_threshold)
            n = p->long_prefill_token_threshold;
        if (!p->chunked_prefill && n > r->budget)
            break;
        if (n > r->budget)
            n = r->budget;
        g_assert(n > 0);
        if (!sim_kvpool_allocate(r->kv, q, n, hit_blocks, wm, p->max_model_len))
            break; /* head-of-line stop */
        sim_replica_admit_head(r);
        sim_replica_load_detach(r, q);
        q->num_computed = computed;
        sim_replica_load_attach(r, q);
        if (!q->admitted_once) {
            q->admitted_once = true;
            q->prefix_hit_tokens = hit_blocks * bs;
        }
        sim_replica_plan(r, q, n);
    }
}

static void
vllm_plan(sim_replica *r)
{
    sim_replica_plan_begin(r, r->params->max_num_batched_tokens);
    if (!schedule_running(r))
        schedule_waiting(r);
}

const sim_scheduler sched_vllm = {
    "vllm", "vLLM V1: chunked prefill, decode-first token budget, recompute preemption", vllm_plan,
    NULL};

/* ---- sarathi: stall-free batching with a fixed chunk (arXiv:2403.02310) ----
 * Each iteration takes (1) every ongoing decode, (2) the next chunk of partially prefilled
 * requests, (3) new prefills, all within a token budget equal to the chunk size. Unlike the
 * vLLM loop, decodes are served before any prefill chunk regardless of admission order. KV
 * handling (optimistic allocation, recompute preemption) is the same as vllm. */
static bool
sarathi_pass(sim_replica *r, bool decodes)
{
    const sim_sched_params *p = r->params;
    bool preempted = false;
    for (uint32_t i = 0; i < r->nrunning && r->budget > 0;) {
        sim_request *q = r->running[i];
        bool is_decode = q->num_computed >= q->prompt_tokens && q->num_output + q->placeholders > 0;
        if (is_decode != decodes || sim_replica_is_planned(r, q)) {
            i++;
            continue;
        }
        uint32_t n = running_chunk(r, q, false);
        if (n == 0) {
            i++;
            continue;
        }
        bool can = true;
        while (
            !sim_kvpool_allocate_ahead(r->kv, q, n, p->lookahead_slots, 0, 0, p->max_model_len)) {
            sim_request *v = r->running[r->nrunning - 1];
            uint32_t vi = sim_replica_running_index(r, v);
            sim_replica_preempt(r, v);
            preempted = true;
            if (vi < i)
                i--;
            if (v == q) {
                can = false;
                break;
            }
        }
        if (!can)
            return true;
        sim_replica_plan(r, q, n);
        i++;
    }
    return preempted;
}

static void
sarathi_plan(sim_replica *r)
{
    uint32_t chunk = r->params->chunk_size;
    sim_replica_plan_begin(r, chunk);
    bool preempted = sarathi_pass(r, true);
    if (!preempted)
        preempted = sarathi_pass(r, false);
    if (!preempted)
        schedule_waiting(r);
}

const sim_scheduler sched_sarathi = {
    "sarathi", "Sarathi-Serve: decodes first, then prefill chunks, fixed chunk-size budget",
    sarathi_plan, NULL};
