/* sim/sched.h: the plug-in interfaces the simulator reaches policies through (implemented in
 * schedulers/, picked by name from const tables there).
 *   - a replica scheduler plans the next step of an engine core using the core mechanism
 *     (sim/replica.h); it may preempt and admit, and leaves the plan in r->planned / r->batch;
 *   - a router picks the replica for a request (docs/domain.md §2.3). */
#pragma once

#include <stdint.h>

#include "base/rng.h"
#include "sim/replica.h"

typedef struct sim_scheduler {
    const char *name;
    const char *summary;
    /* Plans the next step of idle replica R. An empty plan means the replica stays idle until
     * new work arrives. Must not advance time or touch other replicas. */
    void (*plan)(sim_replica *r);
    /* Whether a request that cannot fit even alone (prompt + output blocks > pool) must be
     * rejected at arrival; NULL = never (vLLM admits optimistically, chunk by chunk). */
    bool (*must_reject)(const sim_replica *r, const sim_request *req);
} sim_scheduler;

/* What a router may look at: the replicas of one pool. A replica is dp engine cores
 * (data-parallel ranks, each with its own queue and KV cache): replica i owns
 * cores[i·dp .. i·dp + dp − 1]; vLLM's own load balancer then picks the core. Requests already
 * routed but still in a replica's API server are in pending_*. */
typedef struct sim_route_ctx {
    sim_replica *cores;              /* nreplicas · dp engine cores */
    uint32_t nreplicas;              /* what the router picks among */
    uint32_t dp;                     /* cores per replica */
    const uint64_t *pending_tokens;  /* per replica: Σ (prompt + output − 1) in its API server */
    const uint64_t *pending_prefill; /* per replica: Σ prompt tokens in its API server */
    sim_rng *rng;                    /* SIM_STREAM_ROUTER */
    uint64_t *rr_next;               /* round-robin cursor */
    double overlap_weight; /* prefix_affinity: weight of uncached prefill blocks (Dynamo: 1) */
    const uint64_t *pending_blocks; /* per replica: KV blocks of requests on their way there
                                       (prompt + output), NULL = none */
} sim_route_ctx;

typedef struct sim_router {
    const char *name;
    const char *summary;
    uint32_t (*route)(const sim_route_ctx *ctx, sim_request *req);
} sim_router;
