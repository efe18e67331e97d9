/* tests/schedulers/harness.h: drive one replica step by step without an engine: enqueue,
 * plan with a scheduler, start, commit, reap — the same calls the cluster makes. */
#pragma once

#include <criterion/criterion.h>

#include "schedulers/schedulers.h"
#include "sim/replica.h"

typedef struct harness {
    sim_request_pool *pool;
    sim_replica rep;
    sim_sched_params params;
    const sim_scheduler *sched;
    int64_t now;
    uint32_t finished;
} harness;

static inline sim_sched_params
harness_params(void)
{
    sim_sched_params p = {.max_batches = 1,
                          .max_num_seqs = 256,
                          .max_num_batched_tokens = 2048,
                          .max_model_len = 4096,
                          .chunked_prefill = true,
                          .chunk_size = 512,
                          .batch_size = 4};
    return p;
}

static inline void
harness_init(harness *h,
             const char *sched,
             uint32_t num_blocks,
             uint32_t block_size,
             const sim_sched_params *p)
{
    h->pool = sim_request_pool_new();
    h->params = *p;
    h->sched = sched_find_scheduler(sched);
    cr_assert_not_null(h->sched);
    sim_replica_init(&h->rep, 0, 0, num_blocks, block_size, true, &h->params);
    h->now = 0;
    h->finished = 0;
}

static inline void
harness_reap_cb(void *ctx, sim_request *r)
{
    harness *h = ctx;
    h->finished++;
    sim_request_pool_give(h->pool, r);
}

static inline void
harness_clear(harness *h)
{
    /* return whatever is left */
    for (uint32_t i = 0; i < h->rep.nrunning; i++)
        sim_kvpool_release(h->rep.kv, h->rep.running[i]);
    sim_replica_clear(&h->rep);
    sim_request_pool_free(h->pool);
}

/* A request with its own content (id doubles as content id unless CID is given). */
static inline sim_request *
harness_add(harness *h, uint64_t id, uint32_t prompt, uint32_t out, uint64_t cid)
{
    wl_segment s = {cid != 0 ? cid : 1000000 + id, prompt};
    wl_request w = {.id = id,
                    .prompt_tokens = prompt,
                    .output_tokens = out,
                    .nsegments = 1,
                    .segments = &s,
                    .output_content_id = 2000000 + id};
    sim_request *r = sim_request_pool_take(h->pool, &w);
    sim_replica_enqueue(&h->rep, r);
    return r;
}

/* Plans one step; returns the number of planned requests (0: idle). */
static inline uint32_t
harness_plan(harness *h)
{
    h->rep.now = h->now;
    h->sched->plan(&h->rep);
    cr_assert(sim__kvpool_check(h->rep.kv, h->rep.running, h->rep.nrunning));
    return h->rep.nplanned;
}

/* Runs the planned step to its end (1 ms later): tokens, finished requests reaped. */
static inline void
harness_finish_step(harness *h)
{
    if (h->rep.nplanned == 0)
        return;
    sim_replica_launch(&h->rep, h->now);
    h->now += 1000000;
    uint32_t done = sim_replica_commit(&h->rep, h->now, NULL, NULL);
    if (done > 0)
        sim_replica_reap(&h->rep, harness_reap_cb, h);
    cr_assert(sim__kvpool_check(h->rep.kv, h->rep.running, h->rep.nrunning));
}

static inline uint32_t
harness_step(harness *h)
{
    uint32_t n = harness_plan(h);
    harness_finish_step(h);
    return n;
}

/* Tokens planned for R in the step being planned (0 if not planned). */
static inline uint32_t
planned_n(const harness *h, const sim_request *r)
{
    return sim_replica_is_planned(&h->rep, r) ? r->planned_new : 0;
}
