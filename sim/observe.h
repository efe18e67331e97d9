/* sim/observe.h: payloads the simulator publishes on the engine's observer bus
 * (sim/engine.h SIM_TOPIC_*), the contract between the simulator core and everything that
 * measures or writes outputs (sim/metrics, traces/). Payloads are borrowed for the duration
 * of the callback. Times are integer nanoseconds from the start of the run (t = 0 is the
 * nominal time of the first request of the workload). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "timemodel/batch.h"
#include "timemodel/timemodel.h"

/* SIM_TOPIC_REQUEST_DONE: one per request, when it finishes or fails. */
typedef struct sim_request_record {
    uint64_t id;         /* workload request id */
    uint32_t replica;    /* replica that served it (UINT32_MAX if never routed) */
    uint32_t dp_rank;    /* its engine core there (data-parallel rank; 0 without DP) */
    uint32_t core;       /* that core's flat index (UINT32_MAX if it never reached one) */
    uint32_t stage;      /* load stage it was sent in */
    uint64_t session_id; /* 0 = none */
    uint32_t turn;
    int64_t arrival_ns;         /* nominal arrival from the workload */
    int64_t send_ns;            /* when the client sent it (after session/concurrency gating);
                                   TTFT and E2E are measured from here, like vLLM bench */
    int64_t first_scheduled_ns; /* first step that scheduled any of its tokens (-1: never) */
    int64_t first_token_ns;     /* first output token as the client sees it (-1: none) */
    int64_t finish_ns;          /* last output token as the client sees it, or failure time */
    uint32_t prompt_tokens;
    uint32_t output_tokens; /* tokens actually produced */
    uint32_t preemptions;
    uint32_t prefix_hit_tokens;      /* tokens served from the prefix cache (first admission) */
    uint32_t computed_prompt_tokens; /* prompt tokens actually computed (all admissions) */
    /* speculative decoding (0 without it) */
    uint32_t spec_steps;    /* steps that verified drafts for it */
    uint32_t spec_drafts;   /* draft tokens verified */
    uint32_t spec_accepted; /* of those, accepted */
    bool failed;
    const char *fail_reason; /* static string, e.g. "prompt exceeds max_model_len" */
    /* prefill/decode disaggregation (docs/design.md §5c); replica is the decode replica */
    uint32_t prefill_replica; /* UINT32_MAX: not disaggregated */
    int64_t xfer_start_ns;    /* decode blocks allocated, pull started (-1: no transfer) */
    int64_t xfer_end_ns;      /* KV landed (-1: no transfer) */
    uint64_t xfer_bytes;
} sim_request_record;

/* SIM_TOPIC_TRANSFER: one per KV transfer, when the KV landed on the decode core. */
typedef struct sim_transfer_record {
    uint64_t request_id;
    uint32_t src_core, dst_core;       /* flat core indices (prefill, decode) */
    uint32_t src_replica, dst_replica; /* flat replica indices */
    int64_t prefill_done_ns;           /* the prefill core began holding the blocks */
    int64_t queued_ns;                 /* reached the decode core's waiting queue */
    int64_t start_ns;                  /* decode blocks allocated: the pull starts */
    int64_t data_start_ns;             /* after setup and descriptor latency */
    int64_t end_ns;
    uint32_t tokens;       /* prompt tokens whose KV moved (not cached on the decode core) */
    uint64_t bytes;        /* on the link (what streaming overlapped with the prefill included) */
    double streamed_bytes; /* sent during the prefill (layer streaming), not on the clock here */
    double src_capacity_Bps, dst_capacity_Bps; /* the two ports */
} sim_transfer_record;

/* SIM_TOPIC_TOKEN: a request's output tokens reached its client at TIME_NS (after the API
 * server's egress queue). Published when the step that sampled them returns, so TIME_NS may lie
 * ahead of the simulation clock; per request it never decreases. */
typedef struct sim_token_event {
    uint64_t request_id;
    uint32_t replica;
    uint32_t ntokens; /* tokens in this chunk (1 for normal decoding) */
    int64_t time_ns;
    int64_t gap_ns;  /* since the request's previous chunk; -1 for the first (TTFT) */
    int64_t send_ns; /* the request's send time (warm-up/cool-down exclusion of ITL) */
    uint32_t stage;  /* the request's load stage (per-stage ITL) */
} sim_token_event;

/* SIM_TOPIC_STEP_PLANNED: an engine core planned a step (ITEMS, in plan order), published once
 * per planned step as it launches, before it is priced; a dummy batch (a lockstep DP rank with
 * nothing scheduled) is not a planned step. Observers may add time the time model does not see
 * to *EXTRA_S (the DSA KV-offload what-if adds the exposed fetch latency); the step then lasts
 * time model + overhead + extra_s (with pipeline parallelism extra_s is spread evenly over the
 * stages, which hold equal shares of the layers). Published only when someone listens, so runs
 * without such observers are unchanged. */
struct sim_replica;
struct sim_batch_item;

typedef struct sim_step_planned {
    const struct sim_replica *replica;  /* the engine core; borrowed */
    const struct sim_batch_item *items; /* the plan: request, new tokens, context (borrowed) */
    uint32_t nitems;
    int64_t now_ns;
    double *extra_s; /* starts at 0; observers add to it (the payload itself stays const) */
} sim_step_planned;

/* SIM_TOPIC_STEP_END: one per step of an engine core, when its output returns. */
typedef struct sim_step_record {
    uint32_t replica;
    uint32_t dp_rank;
    uint32_t core;            /* flat engine-core index */
    uint64_t step;            /* per-core step counter */
    int64_t launch_ns;        /* when it was scheduled (earlier than start with steps in flight) */
    int64_t start_ns, end_ns; /* first stage start on the GPU, output return */
    bool dummy;               /* a lockstep DP rank's dummy batch (nothing scheduled) */
    uint32_t pp;              /* pipeline stages */
    const int64_t *stage_start_ns, *stage_end_ns; /* pp entries (borrowed), or NULL if pp = 1 */
    tm_batch batch;                               /* what ran */
    tm_step_cost cost;                            /* how it was priced (total_s includes extra_s) */
    double extra_s;            /* time added by STEP_PLANNED observers (DSA KV fetch) */
    uint32_t num_running;      /* len(running) after planning */
    uint32_t num_waiting;      /* len(waiting) after planning */
    uint32_t num_preempted;    /* preemptions while planning this step */
    uint32_t num_admitted;     /* waiting requests admitted this step */
    uint32_t kv_used_blocks;   /* blocks referenced after planning */
    uint32_t kv_cached_blocks; /* free blocks still holding a cached hash */
    uint32_t kv_total_blocks;  /* usable blocks (excludes the null block) */
    /* speculative decoding (spec_tokens 0 = off): what the verify pass accepted */
    uint32_t spec_tokens;              /* k */
    uint32_t spec_seqs;                /* sequences that verified drafts */
    uint32_t spec_drafts;              /* draft tokens verified */
    uint32_t spec_accepted;            /* of those, accepted */
    const uint32_t *spec_accepted_pos; /* k entries: sequences whose draft i+1 was accepted */
    double draft_s;                    /* the drafter's passes (included in cost.total_s) */
} sim_step_record;

/* SIM_TOPIC_ARRIVAL: a request entered the system (after gating, i.e. at send time). */
typedef struct sim_arrival_event {
    uint64_t request_id;
    uint32_t replica;
    int64_t time_ns;
    uint32_t prompt_tokens;
    uint32_t output_tokens;
    uint32_t stage;
} sim_arrival_event;
