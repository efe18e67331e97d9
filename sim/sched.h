/* sim/sched.h: the plug-in interfaces the simulator reaches policies through (implemented in
 * schedulers/, picked by name from const tables there).
 *   - a replica scheduler plans the next step of an idle replica using the replica mechanism
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

/* What a router may look at: the replicas of one pool. */
typedef struct sim_route_ctx {
    sim_replica *replicas; /* array */
    uint32_t nreplicas;
    sim_rng *rng;          /* SIM_STREAM_ROUTER */
    uint64_t *rr_next;     /* round-robin cursor */
    double overlap_weight; /* prefix_affinity: weight of uncached prefill blocks (Dynamo: 1) */
} sim_route_ctx;

typedef struct sim_router {
    const char *name;
    const char *summary;
    uint32_t (*route)(const sim_route_ctx *ctx, sim_request *req);
} sim_router;
