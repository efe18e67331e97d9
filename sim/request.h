/* sim/request.h: one request's simulation state, following vLLM V1 (docs/domain.md §1.1):
 * num_tokens = prompt + generated so far; num_computed = tokens whose KV is in the cache.
 * Each step the scheduler gives it num_new ≤ num_tokens − num_computed tokens, so prefill
 * chunks, decode (num_new = 1) and recompute after preemption are one code path.
 *
 * Ownership: a request owns its content segments and KV block table; requests are allocated
 * and recycled by a sim_request_pool (no malloc per request in steady state). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "sim/evq.h"
#include "workloads/workload.h"

/* Where a request is on the prefill/decode path (docs/design.md §5c). */
typedef enum {
    SIM_PD_NONE = 0,       /* co-located: prefilled and decoded on one replica */
    SIM_PD_PREFILL,        /* on a prefill replica with max_tokens = 1 (vLLM do_remote_decode) */
    SIM_PD_REMOTE_PENDING, /* queued on its decode core, no blocks yet (do_remote_prefill) */
    SIM_PD_REMOTE_WAIT,    /* blocks allocated, KV in transfer (WAITING_FOR_REMOTE_KVS) */
    SIM_PD_DECODE,         /* KV arrived: recomputes the last prompt token, then decodes */
} sim_pd_phase;

typedef enum {
    SIM_REQ_PENDING, /* pulled from the workload, not yet sent (gated) */
    SIM_REQ_WAITING, /* in a replica's waiting queue (new) */
    SIM_REQ_RUNNING,
    SIM_REQ_PREEMPTED, /* back in the waiting queue after preemption */
    SIM_REQ_FINISHED,
    SIM_REQ_FAILED,
} sim_req_state;

/* Per-request KV state: the block table and the chain hashes of its full blocks. nblocks,
 * ncached and blocks come first: the scheduler's inline allocation check reads the first two
 * for every running request of every step (they share the request's first cache line). */
typedef struct sim_kvseq {
    uint32_t nblocks;
    uint32_t ncached; /* leading blocks already hashed + inserted in the prefix cache */
    uint32_t *blocks; /* block ids held, in sequence order (owned); after a release the
                         first prev_nblocks entries remember where its blocks were */
    uint32_t cap;
    uint32_t prev_nblocks; /* blocks held before the last release (private-hit lookup) */
    uint64_t *hashes;      /* chain hashes of full blocks 0..nhashes-1 (owned) */
    uint32_t nhashes, hcap;
    bool private_chain; /* hashes[nhashes − 1] is a private tag (so are all later ones) */
    /* hashing cursor: where block nhashes starts in the content */
    uint32_t cur_seg; /* segment index (== nsegs means "in the output") */
    uint32_t cur_off; /* token offset inside that segment */
} sim_kvseq;

/* Fields are grouped by when they are touched, not by topic: a simulation touches every running
 * request at every step, and the requests sit far apart in memory, so each cache line a step
 * reads per request costs a miss. The request pool allocates requests 64-byte aligned, so
 * bytes 0–63 are one line (what the scheduler loop, planning and commit read and write for a
 * decode token), bytes 128–191 another (what a streamed token's way to the client reads);
 * the rest is touched at arrival, admission, a new KV block or completion. */
typedef struct sim_request {
    /* ---- line 0: scheduling, planning, commit ---- */
    uint32_t prompt_tokens;
    uint32_t output_target; /* forced output length */
    uint32_t num_output;    /* generated so far */
    uint32_t num_computed;  /* tokens with KV in cache (or scheduled: advanced at planning) */
    uint32_t placeholders;  /* async scheduling: tokens scheduled to be sampled whose step has
                               not returned yet (vLLM num_output_placeholders) */
    uint32_t spec;          /* speculative decoding: drafts it holds for its next step (vLLM
                               len(spec_token_ids); placeholders under async scheduling) */
    /* per-step planning scratch (owned by the replica's scheduler) */
    uint64_t planned_step; /* step stamp when planned; valid iff == replica step + 1 */
    uint32_t planned_new;  /* tokens planned this step */
    uint32_t planned_ctx;  /* num_computed before this step's chunk */
    uint32_t planned_spec; /* drafts scheduled this step (part of planned_new) */
    bool planned_samples;  /* chunk reaches num_tokens: emits a token at step end */
    sim_kvseq kv;          /* nblocks, ncached, blocks in line 0; the rest in line 1 */

    /* ---- rest of line 1 ---- */
    sim_req_state state;
    uint32_t planned_prev_spec;      /* spec before this step's plan (to undo it) */
    uint32_t computed_prompt_tokens; /* prompt tokens computed, over all admissions */
    uint32_t inflight;               /* steps planned or in flight that include it (counted
                                        only in debug builds: asserts a finished request is in
                                        none) */
    /* speculative decoding totals (docs/speculative.md; spec_accepted is in the cold part) */
    uint32_t spec_steps;  /* steps that verified drafts for it */
    uint32_t spec_drafts; /* draft tokens verified */

    /* ---- line 2: a token's way to the client (API server, metrics) ---- */
    sim_time first_token_ns; /* -1 until the first token (as the client sees it) */
    sim_time last_token_ns;  /* latest token as the client sees it (after the API server) */
    sim_time send_ns;
    uint64_t id;
    uint32_t replica;
    uint32_t api; /* API server process of its replica that handles its stream */
    uint32_t stage;
    sim_pd_phase pd;             /* prefill/decode disaggregation (docs/design.md §5c) */
    sim_time first_scheduled_ns; /* -1 until scheduled */

    /* ---- cold: arrival, admission, completion ---- */
    uint32_t spec_accepted; /* speculative decoding: drafts accepted (of spec_drafts) */
    uint64_t uid;           /* unique per simulation (request pool counter) */
    uint32_t core;          /* engine core (flat index over the pool's replicas × dp ranks) */
    uint32_t dp_rank;       /* data-parallel rank of that core inside its replica */
    int32_t priority;
    uint32_t turn;
    uint64_t session_id;
    int64_t think_ns;

    /* content (docs/design.md §4) */
    wl_segment *segs; /* owned copy */
    uint32_t nsegs, segcap;
    uint64_t output_cid;

    /* times (ns) */
    sim_time arrival_ns;
    sim_time release_ns; /* earliest send time allowed by gating (while queued) */

    uint32_t preemptions;
    uint32_t prefix_hit_tokens; /* hit at first admission */
    bool admitted_once;

    /* prefill/decode disaggregation (docs/design.md §5c) */
    uint32_t pd_output_target; /* the client's max_tokens while the prefill runs with 1 */
    uint32_t prefill_replica;  /* UINT32_MAX: none */
    uint32_t prefill_core;     /* flat core index of the prefill replica's core */
    uint32_t decode_replica;   /* chosen at arrival (llm-d / Dynamo pick it first) */
    uint32_t xfer_tokens;      /* prompt tokens whose KV crossed the link */
    uint64_t xfer_bytes;
    int64_t handoff_ns;        /* the prefill's response left its API server */
    int64_t prefill_done_ns;   /* the prefill's last step returned */
    int64_t decode_enqueue_ns; /* reached its decode core's waiting queue */
    int64_t xfer_start_ns;     /* decode blocks allocated, pull started (-1: none) */
    int64_t xfer_end_ns;       /* KV landed on the decode core (-1: none) */
    struct sim_request *ghost; /* holds the prefill core's blocks until the transfer ends */
    uint32_t held_pos;         /* index in its core's held array (sim_replica_hold) */

    struct sim_request *next_free; /* pool free list */
    /* heap position / links for the waiting queue */
    uint64_t wseq; /* FIFO order stamp */
} sim_request;

/* Where the layout comment above puts the hot fields (a layout change that breaks them fails
 * the build, not just the speed). */
_Static_assert(offsetof(sim_request, kv) + offsetof(sim_kvseq, cap) <= 64,
               "planning fields past the first cache line");
_Static_assert(offsetof(sim_request, first_token_ns) == 128 &&
                   offsetof(sim_request, first_scheduled_ns) + sizeof(sim_time) <= 192,
               "token fields off their cache line");

static inline uint32_t
sim_request_num_tokens(const sim_request *r)
{
    return r->prompt_tokens + r->num_output;
}

static inline bool
sim_request_done(const sim_request *r)
{
    return r->num_output >= r->output_target;
}

/* A free list of requests (content and KV arrays keep their capacity across reuse). */
typedef struct sim_request_pool sim_request_pool;
sim_request_pool *sim_request_pool_new(void);
void sim_request_pool_free(sim_request_pool *p);
/* A zeroed request initialised from W (segments copied; a unique segment is synthesised when
 * W has none). */
sim_request *sim_request_pool_take(sim_request_pool *p, const wl_request *w);
void sim_request_pool_give(sim_request_pool *p, sim_request *r);
size_t sim_request_pool_live(const sim_request_pool *p);

/* The waiting queue: FCFS deque (preempted requests go to the front) or, under priority
 * scheduling, a heap keyed by (priority, arrival, FIFO stamp). */
typedef struct sim_waitq {
    bool priority;
    sim_request **a; /* ring buffer (FCFS) or heap array (priority) */
    uint32_t head, len, cap;
    uint64_t next_front; /* FIFO stamps: front pushes count down, back pushes count up */
    uint64_t next_back;
} sim_waitq;

void sim_waitq_init(sim_waitq *q, bool priority);
void sim_waitq_clear(sim_waitq *q);
void sim_waitq_push_back(sim_waitq *q, sim_request *r);
void sim_waitq_push_front(sim_waitq *q, sim_request *r);
sim_request *sim_waitq_peek(const sim_waitq *q);
sim_request *sim_waitq_pop(sim_waitq *q);

static inline uint32_t
sim_waitq_len(const sim_waitq *q)
{
    return q->len;
}

/* i-th element in queue order for FCFS (0 = head); for priority, heap order (any order). */
sim_request *sim_waitq_at(const sim_waitq *q, uint32_t i);
/* Removes R wherever it is (O(len); rare: a preempted request whose in-flight step produced
 * its last token, vLLM's stopped_preempted_reqs). False if R is not queued. */
bool sim_waitq_remove(sim_waitq *q, sim_request *r);
