/* schedulers/routers.c: how arrivals are assigned to replicas of a pool (docs/domain.md §2.3).
 *   round_robin     replicas in turn;
 *   least_loaded    fewest outstanding tokens (prompt + output still to compute, including
 *                   requests still in the replica's API server), ties to the lowest index;
 *   prefix_affinity NVIDIA Dynamo's KV-aware cost: overlap_weight · prefill_blocks + decode
 *                   blocks, where prefill_blocks = (queued prefill tokens + this request's
 *                   tokens not cached on the replica) / block_size and decode blocks = blocks in
 *                   use; argmin, ties to the lowest index;
 *   random          uniform, from the seeded router stream;
 *   free_kv         most free KV blocks (free queue, cached-but-free blocks included) less the
 *                   blocks promised to requests on their way there, ties to the lowest index:
 *                   the decode-pool router of prefill/decode disaggregation (a full decode
 *                   replica back-pressures, so spread the blocks). */
#include "schedulers/schedulers.h"

static uint32_t
route_rr(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    return (uint32_t)((*c->rr_next)++ % c->nreplicas);
}

/* Outstanding tokens of replica I: its cores' plus its API server's. */
static uint64_t
replica_tokens(const sim_route_ctx *c, uint32_t i)
{
    uint64_t t = c->pending_tokens != NULL ? c->pending_tokens[i] : 0;
    for (uint32_t k = 0; k < c->dp; k++)
        t += c->cores[i * c->dp + k].remaining_tokens;
    return t;
}

static uint32_t
route_least(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    uint32_t best = 0;
    uint64_t best_t = replica_tokens(c, 0);
    for (uint32_t i = 1; i < c->nreplicas; i++) {
        uint64_t t = replica_tokens(c, i);
        if (t < best_t) {
            best = i;
            best_t = t;
        }
    }
    return best;
}

/* With dp > 1 a replica's figures are summed over its cores and its cached prefix is the best
 * core's (vLLM's load balancer, not the router, then picks the core). */
static uint32_t
route_prefix(const sim_route_ctx *c, sim_request *req)
{
    uint32_t best = 0;
    double best_cost = 0.0;
    for (uint32_t i = 0; i < c->nreplicas; i++) {
        uint32_t bs = sim_kvpool_block_size(c->cores[i * c->dp].kv);
        uint32_t cached = 0;
        double prefill = c->pending_prefill != NULL ? (double)c->pending_prefill[i] : 0.0;
        double decode_blocks = 0.0;
        for (uint32_t k = 0; k < c->dp; k++) {
            sim_replica *r = &c->cores[i * c->dp + k];
            uint32_t hit = sim_kvpool_lookup(r->kv, req, false) * bs;
            if (hit > cached)
                cached = hit;
            prefill += (double)r->remaining_prefill;
            decode_blocks += (double)sim_kvpool_num_used(r->kv);
        }
        double prefill_blocks = (prefill + (double)(req->prompt_tokens - cached)) / bs;
        double cost = c->overlap_weight * prefill_blocks + decode_blocks;
        if (i == 0 || cost < best_cost) {
            best = i;
            best_cost = cost;
        }
    }
    return best;
}

static uint32_t
route_random(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    return (uint32_t)sim_rng_below(c->rng, c->nreplicas);
}

static uint32_t
route_free_kv(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    uint32_t best = 0;
    int64_t best_free = INT64_MIN;
    for (uint32_t i = 0; i < c->nreplicas; i++) {
        int64_t f = 0;
        for (uint32_t k = 0; k < c->dp; k++)
            f += sim_kvpool_num_free(c->cores[i * c->dp + k].kv);
        if (c->pending_blocks != NULL)
            f -= (int64_t)c->pending_blocks[i];
        if (f > best_free) {
            best = i;
            best_free = f;
        }
    }
    return best;
}

const sim_router sched_free_kv = {"free_kv", "most free KV blocks (decode pools)", route_free_kv};
const sim_router sched_round_robin = {"round_robin", "replicas in turn", route_rr};
const sim_router sched_least_loaded = {"least_loaded", "fewest outstanding tokens", route_least};
const sim_router sched_prefix_affinity = {
    "prefix_affinity", "Dynamo KV-aware cost: uncached prefill blocks + active blocks",
    route_prefix};
const sim_router sched_random = {"random", "uniformly at random (seeded)", route_random};
