/* schedulers/routers.c: how arrivals are assigned to replicas of a pool (docs/domain.md §2.3).
 *   round_robin     replicas in turn;
 *   least_loaded    fewest outstanding tokens (prompt + output still to compute), ties to the
 *                   lowest index;
 *   prefix_affinity NVIDIA Dynamo's KV-aware cost: overlap_weight · prefill_blocks + decode
 *                   blocks, where prefill_blocks = (queued prefill tokens + this request's
 *                   tokens not cached on the replica) / block_size and decode blocks = blocks in
 *                   use; argmin, ties to the lowest index;
 *   random          uniform, from the seeded router stream. */
#include "schedulers/schedulers.h"

static uint32_t
route_rr(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    return (uint32_t)((*c->rr_next)++ % c->nreplicas);
}

static uint32_t
route_least(const sim_route_ctx *c, sim_request *req)
{
    (void)req;
    uint32_t best = 0;
    for (uint32_t i = 1; i < c->nreplicas; i++)
        if (c->replicas[i].remaining_tokens < c->replicas[best].remaining_tokens)
            best = i;
    return best;
}

static uint32_t
route_prefix(const sim_route_ctx *c, sim_request *req)
{
    uint32_t best = 0;
    double best_cost = 0.0;
    for (uint32_t i = 0; i < c->nreplicas; i++) {
        sim_replica *r = &c->replicas[i];
        uint32_t bs = sim_kvpool_block_size(r->kv);
        uint32_t cached = sim_kvpool_lookup(r->kv, req, false) * bs;
        double prefill_blocks =
            ((double)r->remaining_prefill + (double)(req->prompt_tokens - cached)) / bs;
        double decode_blocks = (double)sim_kvpool_num_used(r->kv);
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

const sim_router sched_round_robin = {"round_robin", "replicas in turn", route_rr};
const sim_router sched_least_loaded = {"least_loaded", "fewest outstanding tokens", route_least};
const sim_router sched_prefix_affinity = {
    "prefix_affinity", "Dynamo KV-aware cost: uncached prefill blocks + active blocks",
    route_prefix};
const sim_router sched_random = {"random", "uniformly at random (seeded)", route_random};
