/* sim/cluster.c: event handlers wiring workload, gating, routing, the API server, engine cores
 * and the time model (docs/design.md §2, §5b).
 * Invariants: every pulled request is sent exactly once and finishes exactly once (finished or
 * failed); an engine (one core, or the cores of a replica in DP lockstep) has at most
 * max_batches steps in flight, its cores launch and commit together, and their slot rings stay
 * in step; a SCHEDULE event is queued for an engine only when it is idle or an output just
 * returned, and never twice. Request pointers travel in event payloads (they order nothing, so
 * determinism is unaffected). */
#include "sim/cluster.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/error.h"
#include "sim/observe.h"
#include "timemodel/spec.h"

/* Sessions with parked turns; a session entry is pruned once idle long enough that it can no
 * longer delay anything (last_finish + max think ≤ now). */
typedef struct session {
    uint32_t busy;       /* turns sent (or scheduled to be sent) and not finished */
    int64_t last_finish; /* completion time of its latest finished turn */
    GQueue parked;       /* sim_request *, turns waiting for the previous one */
} session;

/* An engine: the cores that plan, launch and commit together — one core, or the dp cores of a
 * replica stepping in lockstep (vLLM DPEngineCoreProc). */
typedef struct engine {
    uint32_t first, n;   /* cores [first, first + n) of the pool */
    uint32_t nflight;    /* steps in flight */
    bool kick_pending;   /* a SCHEDULE event is queued */
    bool wave;           /* lockstep: vLLM engines_running (dummy batches while no work) */
    uint64_t wave_steps; /* steps since the wave started (the stop check runs every N) */
    int64_t *stage_free; /* pp: when each stage is done with the last step it accepted */
    int64_t *stages;     /* per slot (max_batches): pp start times, then pp end times */
} engine;

/* A vLLM replica: dp cores behind one front end (API server processes + DP load balancer). */
typedef struct server {
    int64_t *api_busy;    /* per API server process: end of the work its loop has taken */
    uint32_t api_next;    /* round robin over the processes (connections) */
    int64_t lb_tick;      /* refresh period index of the counts below (-1: never) */
    uint32_t *lb_waiting; /* per core, as the front end believes */
    uint32_t *lb_running;
} server;

typedef struct pool {
    sim_pool_params p;
    uint32_t index;
    uint32_t core_base, replica_base; /* flat numbering across pools */
    uint32_t ncores, nengines;
    sim_replica *cores;
    engine *engines;
    server *servers;
    uint64_t *pending_tokens, *pending_prefill; /* per replica, requests in its API server */
    uint64_t *pending_blocks; /* per replica: blocks of requests routed there, not yet queued */
    double port_Bps;          /* KV transfer port of each core (gpus × link rate) */
    const tm_timemodel **stage_tm; /* pp entries */
    int64_t egress_ns;             /* API-server loop time per streamed token (0: none) */
    uint64_t rr_next;              /* round-robin cursor */
    int64_t *scratch;              /* pp stage durations of the step being launched */
} pool;

/* A KV transfer: fixed latency, then a data phase sharing the two ports' bandwidth. */
typedef struct flow {
    sim_request *r;
    pool *src, *dst;
    uint32_t src_core, dst_core; /* local indices */
    double left;                 /* bytes still to move in the data phase */
    double rate;                 /* bytes/s while the shares stay as they are */
    int64_t last;                /* when LEFT was last brought up to date */
    int64_t start, data_start;
    double streamed;
    uint64_t ev;   /* its pending TRANSFER_END */
    bool data;     /* in its data phase (on the ports) */
    bool fixed;    /* water-filling: its rate is settled */
    double share;  /* water-filling: its new rate */
    uint32_t next; /* free list */
} flow;

/* The transfers in their data phase on one core's port. */
typedef struct port {
    uint32_t *f;
    uint32_t n, cap;
    double Bps;     /* capacity (its pool's port_Bps) */
    double left;    /* water-filling: capacity not yet given out */
    uint32_t unset; /* water-filling: its transfers whose rate is not settled */
} port;

enum { XFER_DATA = 0, XFER_END = 1 };

struct sim_cluster {
    sim_engine *e;
    sim_cluster_params p;
    sim_source src;
    sim_request_pool *rpool;
    pool *pools;
    uint32_t npools;
    sim_rng router_rng;
    sim_rng spec_rng; /* speculative decoding: accepted drafts, drawn in commit order */

    sim_request *next; /* the pulled request whose ARRIVAL is queued */
    bool src_done;
    GError *src_error;

    GHashTable *sessions; /* session_id (uint64 key storage in the entry) -> session* */
    uint64_t parked;      /* turns parked in sessions */
    int64_t max_think_ns;
    uint64_t prune_countdown;

    int64_t max_concurrency;
    int64_t in_flight;  /* sent or being sent, not finished (concurrency cap) */
    GQueue fifo;        /* requests waiting for a concurrency slot or their stage */
    uint32_t cur_stage; /* staged closed-loop loads: the stage now sending */

    /* the step whose output is being committed (token callback) */
    pool *cur_pool;
    int64_t step_now;
    int64_t *cur_api_busy; /* the committing core's replica's API servers; NULL: no egress */
    bool token_observers;
    sim_observer_fn token_fn; /* the only token observer, called directly (NULL: publish) */
    void *token_ctx;

    /* prefill/decode disaggregation (docs/design.md §5c) */
    bool pd;
    flow *flows;
    uint32_t nflows, flowcap, free_flow; /* free_flow: UINT32_MAX = none */
    port *ports;                         /* per flat core */
    uint32_t nports;
    uint32_t *busy_ports; /* water-filling scratch: the ports with transfers (nports entries) */
    uint64_t active_flows;

    sim_cluster_stats st;
};

enum { PARK_LIMIT = 65536 };

static void pull_next(sim_cluster *c);
static void start_pulls(sim_cluster *c, pool *pl, sim_replica *r);
static void handoff(sim_cluster *c, sim_request *r);
static void release_gates(sim_cluster *c, sim_request *r, int64_t end);
static void send_now(sim_cluster *c, sim_request *r);

static int64_t
ns_of(double s)
{
    return (int64_t)llround(s * 1e9);
}

/* ---- request completion ---- */

static void
publish_done(sim_cluster *c, const sim_request *r, bool failed, const char *why, int64_t end)
{
    if (!sim_engine_has_observers(c->e, SIM_TOPIC_REQUEST_DONE))
        return;
    sim_request_record rec = {
        .id = r->id,
        .replica = r->replica,
        .dp_rank = r->dp_rank,
        .core = r->core,
        .stage = r->stage,
        .session_id = r->session_id,
        .turn = r->turn,
        .arrival_ns = r->arrival_ns,
        .send_ns = r->send_ns,
        .first_scheduled_ns = r->first_scheduled_ns,
        .first_token_ns = r->first_token_ns,
        .finish_ns = end,
        .prompt_tokens = r->prompt_tokens,
        .output_tokens = r->num_output,
        .preemptions = r->preemptions,
        .prefix_hit_tokens = r->prefix_hit_tokens,
        .computed_prompt_tokens = r->computed_prompt_tokens,
        .spec_steps = r->spec_steps,
        .spec_drafts = r->spec_drafts,
        .spec_accepted = r->spec_accepted,
        .failed = failed,
        .fail_reason = why,
        .prefill_replica = r->prefill_replica,
        .xfer_start_ns = r->xfer_start_ns,
        .xfer_end_ns = r->xfer_end_ns,
        .xfer_bytes = r->xfer_bytes,
    };
    sim_engine_publish(c->e, SIM_TOPIC_REQUEST_DONE, &rec);
}

/* R leaves the system. A finished request ends when its client got the last token. */
static void
request_end(sim_cluster *c, sim_request *r, bool failed, const char *why)
{
    int64_t end = sim_engine_now(c->e);
    if (!failed && r->last_token_ns > end)
        end = r->last_token_ns;
    r->state = failed ? SIM_REQ_FAILED : SIM_REQ_FINISHED;
    if (failed)
        c->st.failed++;
    else
        c->st.finished++;
    c->st.preemptions += r->preemptions;
    if (end > c->st.last_finish_ns)
        c->st.last_finish_ns = end;
    publish_done(c, r, failed, why, end);
    release_gates(c, r, end);
    sim_request_pool_give(c->rpool, r);
}

/* ---- engines: planning, launching, committing ---- */

static engine *
engine_of(pool *pl, uint32_t core)
{
    const sim_pool_params *p = &pl->p;
    return &pl->engines[p->lockstep ? core / p->dp : core];
}

static void
kick(sim_cluster *c, pool *pl, engine *g)
{
    if (g->kick_pending)
        return;
    g->kick_pending = true;
    sim_engine_at(c->e, sim_engine_now(c->e), SIM_PHASE_LATE, SIM_EV_SCHEDULE,
                  (uint32_t)(g - pl->engines), (uint64_t)pl->index);
}

/* Prices and launches the planned step of engine G at NOW: every core with a plan launches it,
 * the others (lockstep only) a dummy batch. Each planned step is published (STEP_PLANNED) before
 * it is priced, so observers can add time to it. Stage s takes the slowest core's time for its
 * layers; a step enters stage s when it left stage s−1 and the stage finished the previous
 * step, so up to pp steps overlap (docs/design.md §5b). One STEP_END at the last stage's end. */
static void
launch(sim_cluster *c, pool *pl, engine *g, int64_t now)
{
    const sim_pool_params *p = &pl->p;
    uint32_t pp = p->pp, q = p->sched.max_batches;
    double group_tokens = 0.0;
    for (uint32_t k = 0; k < g->n; k++)
        group_tokens += pl->cores[g->first + k].batch.tokens;
    for (uint32_t s = 0; s < pp; s++)
        pl->scratch[s] = 0;
    bool planned_observers = sim_engine_has_observers(c->e, SIM_TOPIC_STEP_PLANNED);
    uint32_t slot_index = 0;
    for (uint32_t k = 0; k < g->n; k++) {
        sim_replica *r = &pl->cores[g->first + k];
        if (p->sched.cascade_attention && r->nplanned > 0)
            sim_replica_cascade_prefix(r);
        slot_index = (r->head + r->nflight) % q;
        sim_step_slot *sl =
            r->nplanned > 0 ? sim_replica_launch(r, now) : sim_replica_launch_dummy(r, now);
        if (sl->dummy)
            c->st.dummy_steps++;
        if (p->lockstep)
            sl->batch.moe_group_tokens = group_tokens > 0 ? group_tokens : 1.0;
        memset(&sl->cost, 0, sizeof sl->cost);
        sl->extra_s = 0;
        if (!sl->dummy && planned_observers) {
            /* once per planned step: observers may add time the time model does not see */
            double extra = 0.0;
            sim_step_planned sp = {r, sl->items, sl->nitems, now, &extra};
            sim_engine_publish(c->e, SIM_TOPIC_STEP_PLANNED, &sp);
            if (extra > 0 && isfinite(extra))
                sl->extra_s = extra;
        }
        for (uint32_t s = 0; s < pp; s++) {
            tm_step_cost cs;
            double t = tm_step_s(pl->stage_tm[s], &sl->batch, &cs);
            if (s == 0) {
                t += p->step_overhead_s;
                cs.overhead_s += p->step_overhead_s;
            }
            if (p->draft_tm != NULL && !sl->dummy && s == pp - 1) {
                /* the drafter proposes the next step's drafts after the verify pass */
                tm_step_cost dc;
                sl->spec->draft_s = tm_spec_draft_s(p->draft_tm, p->sched.spec_tokens, &sl->batch,
                                                    &sl->spec->propose, &dc);
                t += sl->spec->draft_s;
                cs.compute_s += dc.compute_s;
                cs.memory_s += dc.memory_s;
                cs.comm_s += dc.comm_s;
                cs.overhead_s += dc.overhead_s;
            }
            if (sl->extra_s > 0)
                t += sl->extra_s / pp; /* each stage holds an equal share of the layers */
            int64_t tn = !(t > 0.0) || !isfinite(t) ? 1 : ns_of(t); /* a step advances time */
            if (tn < 1)
                tn = 1;
            if (tn > pl->scratch[s])
                pl->scratch[s] = tn;
            sl->cost.total_s += t;
            sl->cost.compute_s += cs.compute_s;
            sl->cost.memory_s += cs.memory_s;
            sl->cost.comm_s += cs.comm_s;
            sl->cost.overhead_s += cs.overhead_s;
        }
    }
    int64_t *st = &g->stages[(size_t)slot_index * 2 * pp];
    int64_t t = now;
    for (uint32_t s = 0; s < pp; s++) {
        int64_t start = t > g->stage_free[s] ? t : g->stage_free[s];
        t = start + pl->scratch[s];
        g->stage_free[s] = t;
        st[s] = start;
        st[pp + s] = t;
    }
    for (uint32_t k = 0; k < g->n; k++)
        pl->cores[g->first + k].slots[slot_index].start_ns = st[0];
    g->nflight++;
    sim_engine_at(c->e, t, SIM_PHASE_NORMAL, SIM_EV_STEP_END, (uint32_t)(g - pl->engines),
                  (uint64_t)pl->index);
}

/* vLLM's engine loop (v1/engine/core.py step_with_batch_queue): schedule and launch while the
 * batch queue has room and the scheduler finds work; then wait for the oldest output. A
 * lockstep engine whose ranks have nothing to run keeps running dummy batches while its wave
 * lasts (DPEngineCoreProc.run_busy_loop). */
static void
plan_and_launch(sim_cluster *c, pool *pl, engine *g)
{
    const sim_pool_params *p = &pl->p;
    int64_t now = sim_engine_now(c->e);
    while (g->nflight < p->sched.max_batches) {
        bool any = false;
        for (uint32_t k = 0; k < g->n; k++) {
            sim_replica *r = &pl->cores[g->first + k];
            r->nplanned = 0;
            if (!sim_replica_has_work(r))
                continue;
            r->now = now;
            p->scheduler->plan(r);
            any |= r->nplanned > 0;
            if (r->npulls > 0)
                start_pulls(c, pl, r);
        }
        if (!any) {
            /* nothing new: wait for the oldest output; a lockstep rank idles in dummy
             * batches, one at a time (execute_dummy_batch blocks) */
            if (p->lockstep && g->wave && g->nflight == 0)
                launch(c, pl, g, now);
            return;
        }
        launch(c, pl, g, now);
    }
}

static void
on_schedule(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    sim_cluster *c = ctx;
    pool *pl = &c->pools[ev->b];
    engine *g = &pl->engines[ev->a];
    g->kick_pending = false;
    plan_and_launch(c, pl, g);
}

/* One token of R left its engine core at step_now; the client sees it once the replica's API
 * server has streamed it: its single asyncio loop handles every stream in FIFO order, each
 * token costing api_per_output_token_s of loop time (detokenization, SSE framing), so the
 * delay grows with the replica's token rate (docs/design.md §5b). */
static void
on_token(void *ctx, sim_request *r, uint32_t ntokens)
{
    sim_cluster *c = ctx;
    int64_t t = c->step_now;
    if (c->cur_api_busy != NULL) {
        /* several tokens of one step (speculative decoding) stream as one chunk, each token
         * costing its detokenization */
        int64_t *busy = c->cur_api_busy + r->api;
        t = (*busy > t ? *busy : t) + c->cur_pool->egress_ns * (int64_t)ntokens;
        *busy = t;
    }
    if (r->pd == SIM_PD_PREFILL) {
        /* the prefill's one token goes back to the proxy, not to the client (the decode
         * engine samples the token the client sees) */
        r->handoff_ns = t;
        return;
    }
    int64_t gap = r->first_token_ns < 0 ? -1 : t - r->last_token_ns;
    if (r->first_token_ns < 0)
        r->first_token_ns = t;
    r->last_token_ns = t;
    if (c->token_observers) {
        sim_token_event tk = {r->id, r->replica, ntokens, t, gap, r->send_ns, r->stage};
        if (c->token_fn != NULL)
            c->token_fn(c->token_ctx, SIM_TOPIC_TOKEN, &tk);
        else
            sim_engine_publish(c->e, SIM_TOPIC_TOKEN, &tk);
    }
}

static void
on_reaped(void *ctx, sim_request *r)
{
    if (r->pd == SIM_PD_PREFILL)
        handoff(ctx, r);
    else
        request_end(ctx, r, false, NULL);
}

static void
publish_step(sim_cluster *c, pool *pl, engine *g, sim_replica *r, int64_t now)
{
    g_assert(r->nflight > 0);
    const sim_step_slot *sl = &r->slots[r->head];
    uint32_t pp = pl->p.pp;
    const int64_t *st = &g->stages[(size_t)r->head * 2 * pp];
    sim_step_record s = {
        .replica = r->replica,
        .dp_rank = r->dp_rank,
        .core = r->id,
        .step = sl->step,
        .launch_ns = sl->launch_ns,
        .start_ns = sl->start_ns,
        .end_ns = now,
        .dummy = sl->dummy,
        .pp = pp,
        .stage_start_ns = pp > 1 ? st : NULL,
        .stage_end_ns = pp > 1 ? st + pp : NULL,
        .batch = sl->batch,
        .cost = sl->cost,
        .extra_s = sl->extra_s,
        .num_running = sl->num_running,
        .num_waiting = sl->num_waiting,
        .num_preempted = sl->preempted,
        .num_admitted = sl->admitted,
        .kv_used_blocks = sim_kvpool_num_used(r->kv),
        .kv_cached_blocks = sim_kvpool_num_cached_free(r->kv),
        .kv_total_blocks = sim_kvpool_usable(r->kv),
        .spec_tokens = sl->spec != NULL ? pl->p.sched.spec_tokens : 0,
        .spec_seqs = sl->spec != NULL ? sl->spec->seqs : 0,
        .spec_drafts = sl->spec != NULL ? sl->spec->drafts : 0,
        .spec_accepted = sl->spec != NULL ? sl->spec->accepted : 0,
        .spec_accepted_pos = sl->spec != NULL ? sl->spec->pos : NULL,
        .draft_s = sl->spec != NULL ? sl->spec->draft_s : 0.0,
    };
    sim_engine_publish(c->e, SIM_TOPIC_STEP_END, &s);
}

/* The oldest step of engine G returned: commit it on every core, then let the engine plan
 * (late phase: arrivals of this instant are seen, as vLLM drains its input queue first). */
static void
on_step_end(sim_engine *e, const sim_event *ev, void *ctx)
{
    sim_cluster *c = ctx;
    pool *pl = &c->pools[ev->b];
    engine *g = &pl->engines[ev->a];
    const sim_pool_params *p = &pl->p;
    int64_t now = sim_engine_now(e);
    bool observe_steps = sim_engine_has_observers(e, SIM_TOPIC_STEP_END);
    c->cur_pool = pl;
    c->step_now = now;
    c->token_observers = sim_engine_has_observers(e, SIM_TOPIC_TOKEN);
    if (!sim_engine_sole_observer(e, SIM_TOPIC_TOKEN, &c->token_fn, &c->token_ctx))
        c->token_fn = NULL;
    g_assert(g->nflight > 0);
    for (uint32_t k = 0; k < g->n; k++) {
        sim_replica *r = &pl->cores[g->first + k];
        c->st.steps++;
        c->cur_api_busy =
            pl->egress_ns > 0 ? pl->servers[r->replica - pl->replica_base].api_busy : NULL;
        sim_replica_spec_accept(r, &c->spec_rng);
        if (observe_steps)
            publish_step(c, pl, g, r, now);
        uint32_t done = sim_replica_commit(r, now, on_token, c);
        if (done > 0)
            sim_replica_reap(r, on_reaped, c);
        if (c->p.check_invariants) {
            uint32_t n;
            g_autofree sim_request **owners = sim_replica_owners(r, &n);
            g_assert(sim__kvpool_check(r->kv, owners, n));
        }
    }
    g->nflight--;
    bool work = false;
    for (uint32_t k = 0; k < g->n && !work; k++)
        work = sim_replica_has_work(&pl->cores[g->first + k]);
    if (p->lockstep) {
        /* the ranks agree to stop only every dp_sync_steps steps (an all-reduce of "any
         * unfinished request"), so a wave ends with up to that many dummy batches */
        g->wave_steps++;
        if (g->wave_steps % p->engine.dp_sync_steps == 0 && !work) {
            g->wave = false;
            g->wave_steps = 0;
        }
    }
    if (work || (p->lockstep && g->wave))
        kick(c, pl, g);
}

/* ---- sending ---- */

/* Internal DP load balancing (vLLM DPLBAsyncMPClient.get_core_engine_for_request): the core
 * with the least 4·waiting + running, ties to the lowest rank, from counts the front end
 * refreshes every dp_lb_interval_s and bumps by one waiting request per request it sends. */
static uint32_t
dp_balance(pool *pl, uint32_t replica, int64_t now)
{
    const sim_pool_params *p = &pl->p;
    server *sv = &pl->servers[replica];
    sim_replica *cores = &pl->cores[replica * p->dp];
    int64_t period = ns_of(p->engine.dp_lb_interval_s);
    int64_t tick = period > 0 ? now / period : now;
    if (tick != sv->lb_tick || period <= 0) {
        sv->lb_tick = tick;
        for (uint32_t k = 0; k < p->dp; k++) {
            sv->lb_waiting[k] = sim_waitq_len(&cores[k].waiting);
            sv->lb_running[k] = cores[k].nrunning;
        }
    }
    uint32_t best = 0;
    uint64_t best_score = UINT64_MAX;
    for (uint32_t k = 0; k < p->dp; k++) {
        uint64_t score = 4 * (uint64_t)sv->lb_waiting[k] + sv->lb_running[k];
        if (score < best_score) {
            best_score = score;
            best = k;
        }
    }
    sv->lb_waiting[best]++;
    return best;
}

/* What a request routed to replica K adds to (SIGN > 0) or takes from its API-server counters:
 * tokens left, prompt tokens to prefill and blocks it will hold. A decode replica receiving a
 * prompt prefilled elsewhere (REMOTE) has only the OUT decode tokens to compute. */
static void
pending_update(pool *pl, uint32_t k, const sim_request *r, bool remote, uint32_t out, int sign)
{
    uint64_t tok = remote ? out : (uint64_t)r->prompt_tokens + out - 1;
    uint64_t pre = remote ? 0 : r->prompt_tokens;
    uint64_t bs = pl->p.block_size;
    uint64_t blk = ((uint64_t)r->prompt_tokens + out + bs - 1) / bs;
    if (sign > 0) {
        pl->pending_tokens[k] += tok;
        pl->pending_prefill[k] += pre;
        pl->pending_blocks[k] += blk;
    } else {
        pl->pending_tokens[k] -= tok;
        pl->pending_prefill[k] -= pre;
        pl->pending_blocks[k] -= blk;
    }
}

/* R reaches its replica's engine: the DP load balancer picks the core. */
static void
enqueue(sim_cluster *c, pool *pl, sim_request *r)
{
    int64_t now = sim_engine_now(c->e);
    const sim_pool_params *p = &pl->p;
    uint32_t k = r->replica - pl->replica_base;
    pending_update(pl, k, r, r->pd == SIM_PD_REMOTE_PENDING, r->output_target, -1);
    uint32_t rank = p->dp > 1 ? dp_balance(pl, k, now) : 0;
    uint32_t core = k * p->dp + rank;
    sim_replica *rep = &pl->cores[core];
    r->dp_rank = rank;
    r->core = rep->id;
    if (p->scheduler->must_reject != NULL && p->scheduler->must_reject(rep, r)) {
        request_end(c, r, true, "request does not fit in the KV cache");
        return;
    }
    sim_replica_enqueue(rep, r);
    if (r->pd == SIM_PD_REMOTE_PENDING)
        r->decode_enqueue_ns = now;
    /* a disaggregated request arrives once (at its prefill replica) */
    if (r->pd != SIM_PD_REMOTE_PENDING && sim_engine_has_observers(c->e, SIM_TOPIC_ARRIVAL)) {
        sim_arrival_event a = {r->id,   r->replica, now, r->prompt_tokens, r->output_target,
                               r->stage};
        sim_engine_publish(c->e, SIM_TOPIC_ARRIVAL, &a);
    }
    engine *g = engine_of(pl, core);
    /* vLLM's engine drains its input queue only between steps: a busy engine sees R when its
     * oldest output returns; an idle one wakes up. A lockstep replica's ranks all run (dummy
     * batches where they have nothing) while a wave lasts (START_DP_WAVE). */
    if (p->lockstep)
        g->wave = true;
    if (g->nflight == 0)
        kick(c, pl, g);
}

static void
on_enqueue(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    sim_cluster *c = ctx;
    enqueue(c, &c->pools[ev->a], (sim_request *)(uintptr_t)ev->b);
}

/* Replica K's API server takes R in at T0 (one asyncio loop per process: ingress work
 * api_ingress_s + api_per_prompt_token_s · prompt in FIFO order with every other stream's
 * work); returns when R reaches the engine (api_ingress_latency_s later). */
static int64_t
api_ingress(pool *pl, uint32_t k, sim_request *r, int64_t t0)
{
    const sim_engine_params *ep = &pl->p.engine;
    server *sv = &pl->servers[k];
    r->api = sv->api_next++ % ep->api_server_count;
    int64_t t = t0;
    double work = ep->api_ingress_s + ep->api_per_prompt_token_s * (double)r->prompt_tokens;
    if (work > 0.0) {
        int64_t *busy = &sv->api_busy[r->api];
        *busy = (*busy > t ? *busy : t) + ns_of(work);
        t = *busy;
    }
    return t + ns_of(ep->api_ingress_latency_s);
}

/* R reaches pool PL's engine at T (now or later). */
static void
deliver(sim_cluster *c, pool *pl, sim_request *r, int64_t t)
{
    if (t > sim_engine_now(c->e)) {
        sim_engine_at(c->e, t, SIM_PHASE_NORMAL, SIM_EV_ENQUEUE, pl->index, (uint64_t)(uintptr_t)r);
        return;
    }
    enqueue(c, pl, r);
}

/* The pool's router picks a replica (local index). */
static uint32_t
route(sim_cluster *c, pool *pl, sim_request *r)
{
    const sim_pool_params *p = &pl->p;
    sim_route_ctx ctx = {pl->cores,          p->nreplicas,        p->dp,
                         pl->pending_tokens, pl->pending_prefill, &c->router_rng,
                         &pl->rr_next,       p->overlap_weight,   pl->pending_blocks};
    uint32_t k = p->nreplicas == 1 ? 0 : p->router->route(&ctx, r);
    g_assert(k < p->nreplicas);
    return k;
}

/* Prompt tokens of R not cached on replica K of PL (its best core). */
static uint32_t
uncached(pool *pl, uint32_t k, sim_request *r)
{
    uint32_t best = 0;
    for (uint32_t i = 0; i < pl->p.dp; i++) {
        uint32_t hit = sim_kvpool_lookup(pl->cores[k * pl->p.dp + i].kv, r, false);
        if (hit > best)
            best = hit;
    }
    return r->prompt_tokens - best * pl->p.block_size;
}

/* Free blocks of replica K of PL, less those promised to requests on their way there. */
static int64_t
free_blocks(const pool *pl, uint32_t k)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < pl->p.dp; i++)
        n += sim_kvpool_num_free(pl->cores[k * pl->p.dp + i].kv);
    return n - (int64_t)pl->pending_blocks[k];
}

/* A disaggregated request (docs/domain.md §2.3, the llm-d / Dynamo flow): the decode replica is
 * chosen first; a prompt mostly cached there (uncached part below the threshold) is prefilled
 * there; otherwise the prefill pool's router picks a prefill replica, which runs the prompt with
 * max_tokens = 1. */
static void
send_pd(sim_cluster *c, sim_request *r, int64_t now)
{
    pool *P = &c->pools[0], *D = &c->pools[1];
    const sim_pd_params *pd = &c->p.pd;
    if ((uint64_t)r->prompt_tokens + r->output_target > D->p.sched.max_model_len ||
        (uint64_t)r->prompt_tokens + 1 > P->p.sched.max_model_len) {
        request_end(c, r, true, "prompt + output exceeds max_model_len");
        return;
    }
    uint32_t d = route(c, D, r);
    r->decode_replica = D->replica_base + d;
    if (pd->conditional_tokens > 0 && uncached(D, d, r) < pd->conditional_tokens) {
        c->st.local_prefills++;
        r->replica = r->decode_replica;
        pending_update(D, d, r, false, r->output_target, +1);
        deliver(c, D, r, api_ingress(D, d, r, now));
        return;
    }
    if (pd->early_reject) {
        int64_t need =
            ((int64_t)r->prompt_tokens + r->output_target + D->p.block_size - 1) / D->p.block_size;
        if (free_blocks(D, d) < need) {
            c->st.early_rejected++;
            request_end(c, r, true, "decode pool predicted full (early rejection)");
            return;
        }
    }
    uint32_t k = route(c, P, r);
    r->replica = P->replica_base + k;
    pending_update(D, d, r, true, r->output_target, +1);
    r->pd_output_target = r->output_target;
    r->output_target = 1; /* do_remote_decode: the prefill engine runs with max_tokens = 1 */
    r->pd = SIM_PD_PREFILL;
    pending_update(P, k, r, false, 1, +1);
    deliver(c, P, r, api_ingress(P, k, r, now));
}

/* The router picks a replica; its API server takes the request in and hands it to the engine. */
static void
send_now(sim_cluster *c, sim_request *r)
{
    int64_t now = sim_engine_now(c->e);
    r->send_ns = now;
    c->st.sent++;
    if (c->st.sent == 1)
        c->st.first_send_ns = now;
    size_t live = sim_request_pool_live(c->rpool);
    if (live > c->st.peak_in_flight)
        c->st.peak_in_flight = live;
    if (c->pd) {
        send_pd(c, r, now);
        return;
    }
    pool *pl = &c->pools[0];
    /* vLLM's API server rejects prompt + max_tokens > max_model_len with an error. */
    if ((uint64_t)r->prompt_tokens + r->output_target > pl->p.sched.max_model_len) {
        request_end(c, r, true, "prompt + output exceeds max_model_len");
        return;
    }
    uint32_t k = route(c, pl, r);
    r->replica = pl->replica_base + k;
    pending_update(pl, k, r, false, r->output_target, +1);
    deliver(c, pl, r, api_ingress(pl, k, r, now));
}

/* ---- prefill/decode: hand-off and KV transfers (docs/design.md §5c) ---- */

/* The prefill of R finished on its prefill core (cur_pool) and its one token left the API
 * server at handoff_ns: a ghost request takes over R's blocks there (freed when the decode side
 * has pulled them), and R goes to its decode replica's API server as a new request whose prompt
 * is cached remotely (do_remote_prefill). The prefill's token is discarded: the decode engine
 * recomputes the last prompt token and samples the client's first token. */
static void
handoff(sim_cluster *c, sim_request *r)
{
    pool *P = c->cur_pool, *D = &c->pools[1];
    int64_t now = sim_engine_now(c->e);
    sim_replica *pc = &P->cores[r->core - P->core_base];
    wl_request w = {.id = r->id};
    sim_request *g = sim_request_pool_take(c->rpool, &w);
    sim_kvseq tmp = g->kv;
    g->kv = r->kv;
    r->kv = tmp;
    g->pd = SIM_PD_PREFILL;
    g->state = SIM_REQ_FINISHED;
    g->core = r->core;
    g->replica = r->replica;
    sim_replica_hold(pc, g);
    r->ghost = g;
    r->prefill_replica = r->replica;
    r->prefill_core = r->core;
    r->prefill_done_ns = now;
    r->output_target = r->pd_output_target;
    r->num_output = 0;
    r->num_computed = 0;
    r->placeholders = 0;
    r->planned_step = 0; /* a step stamp of the prefill core means nothing on the decode core */
    r->pd = SIM_PD_REMOTE_PENDING;
    r->state = SIM_REQ_PENDING;
    r->replica = r->decode_replica;
    uint32_t d = r->decode_replica - D->replica_base;
    int64_t t = r->handoff_ns > now ? r->handoff_ns : now;
    deliver(c, D, r, api_ingress(D, d, r, t));
}

static uint32_t
flow_new(sim_cluster *c)
{
    uint32_t i;
    if (c->free_flow != UINT32_MAX) {
        i = c->free_flow;
        c->free_flow = c->flows[i].next;
    } else {
        if (c->nflows == c->flowcap) {
            c->flowcap = c->flowcap > 0 ? 2 * c->flowcap : 64;
            c->flows = g_renew(flow, c->flows, c->flowcap);
        }
        i = c->nflows++;
    }
    memset(&c->flows[i], 0, sizeof c->flows[i]);
    return i;
}

static void
port_add(port *pt, uint32_t fi)
{
    if (pt->n == pt->cap) {
        pt->cap = pt->cap > 0 ? 2 * pt->cap : 8;
        pt->f = g_renew(uint32_t, pt->f, pt->cap);
    }
    pt->f[pt->n++] = fi;
}

static void
port_remove(port *pt, uint32_t fi)
{
    for (uint32_t i = 0; i < pt->n; i++)
        if (pt->f[i] == fi) {
            /* keep order: the flows of a port are updated in the order they joined */
            memmove(&pt->f[i], &pt->f[i + 1], (pt->n - i - 1) * sizeof *pt->f);
            pt->n--;
            return;
        }
    g_assert_not_reached();
}

static port *
src_port(sim_cluster *c, const flow *f)
{
    return &c->ports[f->src->core_base + f->src_core];
}

static port *
dst_port(sim_cluster *c, const flow *f)
{
    return &c->ports[f->dst->core_base + f->dst_core];
}

/* Gives flow FI its new rate RATE from NOW on: the bytes it moved since LAST at its old rate
 * are taken off, and its end moves. A flow whose rate stays is left alone (its LEFT stays
 * exact as of LAST). */
static void
flow_set_rate(sim_cluster *c, uint32_t fi, double rate, int64_t now)
{
    flow *f = &c->flows[fi];
    if (rate == f->rate && f->ev != 0)
        return;
    if (now > f->last) {
        f->left -= f->rate * (double)(now - f->last) / 1e9;
        if (f->left < 0)
            f->left = 0;
    }
    f->last = now;
    if (f->ev != 0)
        sim_engine_cancel(c->e, f->ev);
    f->rate = rate;
    f->ev = sim_engine_at(c->e, now + ns_of(f->left / rate), SIM_PHASE_NORMAL, SIM_EV_TRANSFER_END,
                          XFER_END, fi);
}

/* The set of transfers in their data phase changed: max-min fair rates over every port by
 * progressive filling (Bertsekas & Gallager, Data Networks §6.5.2). The port whose capacity
 * left, split evenly among its transfers not yet settled, is smallest is the bottleneck of
 * those transfers: they get that share, which is taken off their other port, and the next
 * bottleneck is looked for among the rest. A transfer held back by one port thus leaves its
 * unused share of the other to the transfers there (docs/design.md §5c). Ties go to the lowest
 * port (same rates either way); flows are then updated prefill port by prefill port, in the
 * order they joined, so the event order is deterministic. */
static void
reshare(sim_cluster *c, int64_t now)
{
    uint32_t *act = c->busy_ports, nact = 0;
    for (uint32_t i = 0; i < c->nports; i++) {
        port *pt = &c->ports[i];
        if (pt->n == 0)
            continue;
        act[nact++] = i;
        pt->left = pt->Bps;
        pt->unset = pt->n;
        for (uint32_t k = 0; k < pt->n; k++)
            c->flows[pt->f[k]].fixed = false;
    }
    /* each round settles at least one port: O(busy ports²) per start or end of a transfer */
    for (;;) {
        uint32_t bi = UINT32_MAX, bk = 0;
        double best = 0;
        for (uint32_t k = 0; k < nact;) {
            port *pt = &c->ports[act[k]];
            if (pt->unset == 0) { /* settled through its other ends */
                act[k] = act[--nact];
                continue;
            }
            double s = (pt->left > 0 ? pt->left : 0) / pt->unset;
            if (bi == UINT32_MAX || s < best || (s == best && act[k] < bi)) {
                bi = act[k];
                bk = k;
                best = s;
            }
            k++;
        }
        if (bi == UINT32_MAX)
            break;
        port *b = &c->ports[bi];
        act[bk] = act[--nact];
        for (uint32_t k = 0; k < b->n; k++) {
            flow *f = &c->flows[b->f[k]];
            if (f->fixed)
                continue;
            f->fixed = true;
            f->share = best;
            port *o = src_port(c, f) == b ? dst_port(c, f) : src_port(c, f);
            o->left -= best;
            o->unset--;
        }
        b->unset = 0;
    }
    uint32_t nsrc = c->pools[0].ncores;
    for (uint32_t i = 0; i < nsrc; i++) {
        port *pt = &c->ports[i];
        for (uint32_t k = 0; k < pt->n; k++)
            flow_set_rate(c, pt->f[k], c->flows[pt->f[k]].share, now);
    }
}

/* The decode core R allocated blocks for the requests in its pulls: their transfers start. */
static void
start_pulls(sim_cluster *c, pool *D, sim_replica *r)
{
    int64_t now = sim_engine_now(c->e);
    const sim_link_params *lk = &c->p.pd.link;
    pool *P = &c->pools[0];
    uint32_t layers = D->p.layers > 0 ? D->p.layers : 1;
    for (uint32_t i = 0; i < r->npulls; i++) {
        sim_request *q = r->pulls[i];
        uint32_t fi = flow_new(c);
        flow *f = &c->flows[fi];
        f->r = q;
        f->src = P;
        f->dst = D;
        f->src_core = q->prefill_core - P->core_base;
        f->dst_core = r->id - D->core_base;
        f->start = now;
        double bytes = (double)q->xfer_tokens * D->p.kv_bytes_per_token;
        q->xfer_bytes = (uint64_t)llround(bytes);
        q->xfer_start_ns = now;
        if (lk->layer_streaming) {
            /* Splitwise / Mooncake: each layer's KV leaves while the next is computed, so
             * all but the last layer's share may be on its way by the end of the prefill, as
             * far as the link alone could carry it in the prefill's time [assume: the
             * streamed part is credited at the uncontended rate] */
            double alone = P->port_Bps < D->port_Bps ? P->port_Bps : D->port_Bps;
            double t_pre = (double)(q->prefill_done_ns - q->first_scheduled_ns) / 1e9;
            double most = bytes * (double)(layers - 1) / (double)layers;
            f->streamed = alone * t_pre < most ? alone * t_pre : most;
        }
        f->left = bytes - f->streamed;
        uint64_t blocks = (q->xfer_tokens + D->p.block_size - 1) / D->p.block_size;
        double fixed = lk->setup_s + (double)layers * (double)blocks * lk->per_descriptor_s;
        f->ev = sim_engine_at(c->e, now + ns_of(fixed), SIM_PHASE_NORMAL, SIM_EV_TRANSFER_END,
                              XFER_DATA, fi);
    }
    r->npulls = 0;
}

/* Kicks engine G of PL if it is idle with work (a lockstep one starts a wave). */
static void
wake(sim_cluster *c, pool *pl, uint32_t core)
{
    engine *g = engine_of(pl, core);
    if (g->nflight > 0 || !sim_replica_has_work(&pl->cores[core]))
        return;
    if (pl->p.lockstep)
        g->wave = true;
    kick(c, pl, g);
}

/* The KV of F's request landed: the prefill core frees its blocks (finished_sending), the
 * request becomes schedulable on its decode core. */
static void
transfer_done(sim_cluster *c, flow *f, int64_t now)
{
    sim_request *q = f->r;
    sim_replica *pc = &f->src->cores[f->src_core], *dc = &f->dst->cores[f->dst_core];
    sim_request *g = q->ghost;
    sim_kvpool_release(pc->kv, g);
    sim_replica_unhold(pc, g);
    sim_request_pool_give(c->rpool, g);
    q->ghost = NULL;
    q->xfer_end_ns = now;
    c->st.transfers++;
    c->st.transfer_bytes += q->xfer_bytes;
    if (sim_engine_has_observers(c->e, SIM_TOPIC_TRANSFER)) {
        sim_transfer_record t = {
            .request_id = q->id,
            .src_core = pc->id,
            .dst_core = dc->id,
            .src_replica = pc->replica,
            .dst_replica = dc->replica,
            .prefill_done_ns = q->prefill_done_ns,
            .queued_ns = q->decode_enqueue_ns,
            .start_ns = f->start,
            .data_start_ns = f->data_start,
            .end_ns = now,
            .tokens = q->xfer_tokens,
            .bytes = q->xfer_bytes,
            .streamed_bytes = f->streamed,
            .src_capacity_Bps = f->src->port_Bps,
            .dst_capacity_Bps = f->dst->port_Bps,
        };
        sim_engine_publish(c->e, SIM_TOPIC_TRANSFER, &t);
    }
    sim_replica_remote_ready(dc, q);
    wake(c, f->dst, f->dst_core);
    wake(c, f->src, f->src_core);
}

static void
on_transfer(sim_engine *e, const sim_event *ev, void *ctx)
{
    sim_cluster *c = ctx;
    int64_t now = sim_engine_now(e);
    uint32_t fi = (uint32_t)ev->b;
    flow *f = &c->flows[fi];
    port *a = src_port(c, f), *b = dst_port(c, f);
    if (ev->a == XFER_DATA) {
        f->data = true;
        f->data_start = now;
        f->last = now;
        f->ev = 0;
        port_add(a, fi);
        port_add(b, fi);
        if (++c->active_flows > c->st.peak_transfers)
            c->st.peak_transfers = c->active_flows;
        reshare(c, now);
        return;
    }
    f->ev = 0;
    port_remove(a, fi);
    port_remove(b, fi);
    c->active_flows--;
    reshare(c, now);
    transfer_done(c, f, now);
    f->next = c->free_flow;
    c->free_flow = fi;
}

/* Sends R at time T (now or later, via CLIENT_WAKE). */
static void
send_at(sim_cluster *c, sim_request *r, int64_t t)
{
    int64_t now = sim_engine_now(c->e);
    if (t <= now)
        send_now(c, r);
    else
        sim_engine_at(c->e, t, SIM_PHASE_NORMAL, SIM_EV_CLIENT_WAKE, 0, (uint64_t)(uintptr_t)r);
}

/* May R take a concurrency slot now? Under staged loads a later stage waits until nothing of
 * the current one is in flight. */
static bool
can_send(const sim_cluster *c, const sim_request *r)
{
    int64_t cap = c->max_concurrency;
    if (c->src.stage_caps != NULL) {
        if (r->stage != c->cur_stage && c->in_flight > 0)
            return false;
        if (r->stage < c->src.nstage_caps && c->src.stage_caps[r->stage] > 0)
            cap = c->src.stage_caps[r->stage];
    }
    return cap <= 0 || c->in_flight < cap;
}

static void
take_slot(sim_cluster *c, const sim_request *r)
{
    c->in_flight++;
    if (c->src.stage_caps != NULL)
        c->cur_stage = r->stage;
}

/* Concurrency gate (vLLM --max-concurrency, inference-perf concurrent stages): a slot is taken
 * from the moment a request is scheduled to be sent until it ends; requests wait in FIFO
 * order. */
static void
gate_concurrency(sim_cluster *c, sim_request *r, int64_t t)
{
    if (c->fifo.length > 0 || !can_send(c, r)) {
        r->release_ns = t; /* earliest send time, kept while it waits for a slot */
        g_queue_push_tail(&c->fifo, r);
        return;
    }
    take_slot(c, r);
    send_at(c, r, t);
}

static session *
session_get(sim_cluster *c, uint64_t id)
{
    session *s = g_hash_table_lookup(c->sessions, &id);
    if (s == NULL) {
        uint64_t *key = g_new(uint64_t, 1);
        *key = id;
        s = g_new0(session, 1);
        s->last_finish = INT64_MIN / 2;
        g_queue_init(&s->parked);
        g_hash_table_insert(c->sessions, key, s);
    }
    return s;
}

static void
session_free(gpointer data)
{
    session *s = data;
    g_queue_clear(&s->parked);
    g_free(s);
}

static gboolean
session_prunable(gpointer key, gpointer value, gpointer data)
{
    (void)key;
    const session *s = value;
    const sim_cluster *c = data;
    return s->busy == 0 && s->parked.length == 0 &&
           s->last_finish + c->max_think_ns <= sim_engine_now(c->e);
}

/* Turn R of a session is released no earlier than its nominal time and think_ns after the
 * previous turn of the session completed. */
static void
session_release(sim_cluster *c, session *s, sim_request *r)
{
    s->busy++;
    int64_t t = r->arrival_ns;
    if (s->last_finish + r->think_ns > t)
        t = s->last_finish + r->think_ns;
    gate_concurrency(c, r, t);
}

static void
gate(sim_cluster *c, sim_request *r)
{
    if (r->session_id == 0) {
        gate_concurrency(c, r, r->arrival_ns);
        return;
    }
    if (r->think_ns > c->max_think_ns)
        c->max_think_ns = r->think_ns;
    session *s = session_get(c, r->session_id);
    if (s->busy > 0 || s->parked.length > 0) {
        g_queue_push_tail(&s->parked, r);
        c->parked++;
        return;
    }
    session_release(c, s, r);
}

/* R ended; its client saw the end at END (≥ now: the API server's egress may still be
 * streaming its last tokens). Closed-loop clients and sessions continue from END. */
static void
release_gates(sim_cluster *c, sim_request *r, int64_t end)
{
    int64_t now = end;
    bool was_blocked = c->fifo.length > 0 || c->parked >= PARK_LIMIT;
    c->in_flight--;
    while (c->fifo.length > 0 && can_send(c, g_queue_peek_head(&c->fifo))) {
        sim_request *q = g_queue_pop_head(&c->fifo);
        take_slot(c, q);
        /* closed-loop client: the freed slot sends its next request after think time, and
         * never before the time its own gating allowed (nominal time, session think time) */
        int64_t t = now + (q->session_id == 0 ? q->think_ns : 0);
        send_at(c, q, t > q->release_ns ? t : q->release_ns);
    }
    if (r->session_id != 0) {
        session *s = g_hash_table_lookup(c->sessions, &r->session_id);
        g_assert(s != NULL && s->busy > 0);
        s->busy--;
        s->last_finish = now;
        if (s->busy == 0 && s->parked.length > 0) {
            sim_request *q = g_queue_pop_head(&s->parked);
            c->parked--;
            session_release(c, s, q);
        }
        if (--c->prune_countdown == 0) {
            g_hash_table_foreach_remove(c->sessions, session_prunable, c);
            c->prune_countdown = 4096;
        }
    }
    bool blocked = c->fifo.length > 0 || c->parked >= PARK_LIMIT;
    if (was_blocked && !blocked && c->next == NULL && !c->src_done)
        pull_next(c);
}

/* ---- workload stream ---- */

static void
pull_next(sim_cluster *c)
{
    g_assert(c->next == NULL);
    if (c->src_done)
        return;
    wl_request w;
    GError *err = NULL;
    int rc = c->src.next(c->src.ctx, &w, &err);
    if (rc < 0) {
        c->src_error = err;
        c->src_done = true;
        sim_engine_stop(c->e);
        return;
    }
    if (rc == 0) {
        c->src_done = true;
        return;
    }
    sim_request *r = sim_request_pool_take(c->rpool, &w);
    c->st.pulled++;
    c->next = r;
    int64_t t = r->arrival_ns > sim_engine_now(c->e) ? r->arrival_ns : sim_engine_now(c->e);
    sim_engine_at(c->e, t, SIM_PHASE_NORMAL, SIM_EV_ARRIVAL, 0, 0);
}

static void
on_arrival(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    (void)ev;
    sim_cluster *c = ctx;
    sim_request *r = c->next;
    c->next = NULL;
    gate(c, r);
    /* Back-pressure: stop reading while requests queue for a concurrency slot (the next one
     * would queue too) or too many session turns are parked. */
    if (c->fifo.length == 0 && c->parked < PARK_LIMIT)
        pull_next(c);
}

static void
on_client_wake(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    send_now(ctx, (sim_request *)(uintptr_t)ev->b);
}

/* ---- lifecycle ---- */

static int
array_next(void *ctx, wl_request *out, GError **error)
{
    (void)error;
    sim_array_source *a = ctx;
    if (a->cursor >= a->n)
        return 0;
    *out = a->reqs[a->cursor++];
    return 1;
}

sim_source
sim_source_array(sim_array_source *a)
{
    return (sim_source){.next = array_next, .ctx = a};
}

/* "5.6 MiB" (g_format_size puts a no-break space before the unit). */
static char *
size_text(uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
        v /= 1024;
        u++;
    }
    return u == 0 ? g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes)
                  : g_strdup_printf("%.1f %s", v, units[u]);
}

static gboolean invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, BASE_ERROR, BASE_ERROR_INVALID, msg);
    return FALSE;
}

/* Checks P and fills its derived and default fields. */
static gboolean
pool_resolve(sim_pool_params *p, GError **error)
{
    if (p->nreplicas == 0 || p->scheduler == NULL || p->router == NULL)
        return invalid(error, "cluster: incomplete parameters");
    if (p->dp == 0)
        p->dp = 1;
    if (p->pp == 0)
        p->pp = 1;
    if (p->pp > 1 ? p->stage_tm == NULL : p->tm == NULL)
        return invalid(error, "cluster: no time model");
    if (p->lockstep && p->dp < 2)
        p->lockstep = false; /* one rank has nobody to wait for */
    sim_engine_params *ep = &p->engine;
    if (ep->api_server_count == 0)
        ep->api_server_count = 1;
    if (ep->dp_sync_steps == 0)
        ep->dp_sync_steps = 1;
    sim_sched_params *s = &p->sched;
    /* multiproc executor max_concurrent_batches: pp steps in flight with pipeline parallelism
     * (one per stage), else 2 with async scheduling, else 1. Output placeholders only without
     * pipeline parallelism (v0.11 refuses async scheduling with PP) [assume for later
     * releases: a request's next token waits for its previous one to leave the last stage]. */
    s->async_scheduling = ep->async_scheduling && p->pp == 1;
    s->max_batches = p->pp > 1 ? p->pp : s->async_scheduling ? 2 : 1;
    s->cascade_attention = ep->cascade_attention;
    if (s->max_num_batched_tokens < p->block_size)
        return invalid(error, "max_num_batched_tokens (%u) is smaller than the block size (%u)",
                       s->max_num_batched_tokens, p->block_size);
    if (!s->chunked_prefill && s->max_num_batched_tokens < s->max_model_len)
        return invalid(error,
                       "without chunked prefill max_num_batched_tokens (%u) must be at least "
                       "max_model_len (%u)",
                       s->max_num_batched_tokens, s->max_model_len);
    uint64_t need = ((uint64_t)s->max_model_len + p->block_size - 1) / p->block_size;
    if (p->num_blocks < 2 || need > p->num_blocks - 1)
        return invalid(error,
                       "KV cache holds %u blocks of %u tokens (%" G_GUINT64_FORMAT
                       " tokens), less than one max_model_len request (%u tokens): lower "
                       "--max-model-len or raise --gpu-memory-utilization",
                       p->num_blocks > 0 ? p->num_blocks - 1 : 0, p->block_size,
                       (uint64_t)(p->num_blocks > 0 ? p->num_blocks - 1 : 0) * p->block_size,
                       s->max_model_len);
    if (s->max_num_seqs == 0 || s->max_model_len < 2)
        return invalid(error, "max_num_seqs and max_model_len must be positive");
    if (s->spec_tokens > 0 && (s->spec_accept == NULL || s->spec_tokens > TM_SPEC_MAX_TOKENS))
        return invalid(error, "speculative_config: no acceptance rates");
    if (s->spec_tokens > 0 && p->pp > 1)
        return invalid(error, "speculative_config: speculative decoding with pipeline "
                              "parallelism is not modelled (vLLM V1 does not support it)");
    if (s->spec_tokens == 0)
        p->draft_tm = NULL;
    return TRUE;
}

static void
pool_init(pool *pl,
          uint32_t index,
          const sim_pool_params *params,
          uint32_t core_base,
          uint32_t replica_base,
          const sim_link_params *link)
{
    pl->p = *params;
    const sim_pool_params *p = &pl->p;
    pl->index = index;
    pl->core_base = core_base;
    pl->replica_base = replica_base;
    pl->ncores = p->nreplicas * p->dp;
    pl->cores = g_new0(sim_replica, pl->ncores);
    for (uint32_t i = 0; i < pl->ncores; i++) {
        sim_replica *r = &pl->cores[i];
        sim_replica_init(r, core_base + i, index, p->num_blocks, p->block_size, p->prefix_caching,
                         &pl->p.sched);
        r->replica = replica_base + i / p->dp;
        r->dp_rank = i % p->dp;
    }
    if (link != NULL)
        pl->port_Bps =
            (p->gpus_per_core > 0 ? p->gpus_per_core : 1) * link->bandwidth_Bps * link->efficiency;
    pl->nengines = p->lockstep ? p->nreplicas : pl->ncores;
    pl->engines = g_new0(engine, pl->nengines);
    uint32_t q = p->sched.max_batches;
    for (uint32_t i = 0; i < pl->nengines; i++) {
        engine *g = &pl->engines[i];
        g->first = p->lockstep ? i * p->dp : i;
        g->n = p->lockstep ? p->dp : 1;
        g->stage_free = g_new0(int64_t, p->pp);
        g->stages = g_new0(int64_t, (size_t)q * 2 * p->pp);
    }
    pl->servers = g_new0(server, p->nreplicas);
    for (uint32_t i = 0; i < p->nreplicas; i++) {
        server *sv = &pl->servers[i];
        sv->api_busy = g_new0(int64_t, p->engine.api_server_count);
        sv->lb_tick = -1;
        sv->lb_waiting = g_new0(uint32_t, p->dp);
        sv->lb_running = g_new0(uint32_t, p->dp);
    }
    pl->pending_tokens = g_new0(uint64_t, p->nreplicas);
    pl->pending_prefill = g_new0(uint64_t, p->nreplicas);
    pl->pending_blocks = g_new0(uint64_t, p->nreplicas);
    pl->stage_tm = g_new0(const tm_timemodel *, p->pp);
    for (uint32_t s = 0; s < p->pp; s++)
        pl->stage_tm[s] = p->pp > 1 ? p->stage_tm[s] : p->tm;
    pl->scratch = g_new0(int64_t, p->pp);
    pl->egress_ns = ns_of(p->engine.api_per_output_token_s);
}

static void
pool_clear(pool *pl)
{
    for (uint32_t i = 0; i < pl->ncores; i++)
        sim_replica_clear(&pl->cores[i]);
    g_free(pl->cores);
    for (uint32_t i = 0; i < pl->nengines; i++) {
        g_free(pl->engines[i].stage_free);
        g_free(pl->engines[i].stages);
    }
    g_free(pl->engines);
    for (uint32_t i = 0; i < pl->p.nreplicas; i++) {
        g_free(pl->servers[i].api_busy);
        g_free(pl->servers[i].lb_waiting);
        g_free(pl->servers[i].lb_running);
    }
    g_free(pl->servers);
    g_free(pl->pending_tokens);
    g_free(pl->pending_prefill);
    g_free(pl->pending_blocks);
    g_free(pl->stage_tm);
    g_free(pl->scratch);
}

const char *
sim_pool_role_name(sim_pool_role role)
{
    switch (role) {
    case SIM_POOL_PREFILL:
        return "prefill";
    case SIM_POOL_DECODE:
        return "decode";
    default:
        return "mixed";
    }
}

/* Resolves P and checks its replica state against the bound (one-line errors naming NAME). */
static gboolean
pool_check(sim_pool_params *pp, uint64_t bound, const char *name, GError **error)
{
    if (!pool_resolve(pp, error)) {
        if (name != NULL)
            g_prefix_error(error, "%s pool: ", name);
        return FALSE;
    }
    /* with data parallelism every rank is an engine core with its own KV pool */
    uint64_t ncores = (uint64_t)pp->nreplicas * pp->dp;
    g_autofree char *what =
        pp->dp > 1 ? g_strdup_printf("%u replicas × %u data-parallel ranks", pp->nreplicas, pp->dp)
                   : g_strdup_printf("%u replicas", pp->nreplicas);
    if (ncores > SIM_CLUSTER_MAX_REPLICAS) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s%s%s is more than the %d supported",
                    name != NULL ? name : "", name != NULL ? " pool: " : "", what,
                    SIM_CLUSTER_MAX_REPLICAS);
        return FALSE;
    }
    /* Estimated before allocating: --replicas 1000000 or a huge block override used to be
     * found out by the kernel's OOM killer, leaving temporaries behind. */
    uint64_t per = pp->num_blocks <= SIM_KVPOOL_MAX_BLOCKS ? sim_replica_state_bytes(pp->num_blocks)
                                                           : UINT64_MAX / SIM_CLUSTER_MAX_REPLICAS;
    if (per * ncores > bound) {
        g_autofree char *total = size_text(per * ncores);
        g_autofree char *each = size_text(per);
        g_autofree char *lim = size_text(bound);
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "the replicas' state needs %s (%s × %s for %u KV blocks each), more than the "
                    "%s limit: lower --replicas%s or --num-gpu-blocks-override",
                    total, what, each, pp->num_blocks, lim,
                    pp->dp > 1 ? ", --data-parallel-size" : "");
        return FALSE;
    }
    return TRUE;
}

/* Prefill/decode settings the two pools must agree on (docs/design.md §5c). */
static gboolean
pd_check(const sim_pool_params *P,
         const sim_pool_params *D,
         const sim_pd_params *pd,
         GError **error)
{
    const sim_link_params *lk = &pd->link;
    if (!(lk->bandwidth_Bps > 0) || !isfinite(lk->bandwidth_Bps))
        return invalid(error, "pd.link_bandwidth_gbs: the link bandwidth must be > 0");
    if (!(lk->efficiency > 0 && lk->efficiency <= 1))
        return invalid(error, "pd.link_efficiency: must be in (0, 1]");
    if (!(lk->setup_s >= 0) || !(lk->per_descriptor_s >= 0))
        return invalid(error, "pd.link_setup_ms / pd.link_per_descriptor_us: must be ≥ 0");
    if (P->block_size != D->block_size)
        return invalid(error,
                       "kv.block_size: the prefill pool's blocks (%u tokens) differ from the "
                       "decode pool's (%u); transfers between different block sizes are not "
                       "modelled",
                       P->block_size, D->block_size);
    const sim_scheduler *s[2] = {P->scheduler, D->scheduler};
    for (int i = 0; i < 2; i++)
        if (s[i] != NULL && s[i]->must_reject != NULL)
            return invalid(error,
                           "scheduler.policy: %s reserves KV blocks for whole requests; "
                           "prefill/decode disaggregation is modelled with vllm or sarathi",
                           s[i]->name);
    if (!(D->kv_bytes_per_token > 0))
        return invalid(error, "cluster: the decode pool's KV bytes per token are unknown");
    return TRUE;
}

sim_cluster *
sim_cluster_new(sim_engine *e, const sim_cluster_params *p, const sim_source *src, GError **error)
{
    uint64_t bound = p->max_state_bytes > 0 ? p->max_state_bytes : SIM_CLUSTER_MAX_STATE_BYTES;
    sim_pool_params pp = p->pool;
    sim_pool_params dd = p->pd.decode;
    bool pd = p->pd.enabled;
    if (pd) {
        pp.role = SIM_POOL_PREFILL;
        dd.role = SIM_POOL_DECODE;
    }
    if (!pool_check(&pp, bound, pd ? "prefill" : NULL, error))
        return NULL;
    if (pd && (!pool_check(&dd, bound, "decode", error) || !pd_check(&pp, &dd, &p->pd, error)))
        return NULL;
    if (pd && (uint64_t)pp.nreplicas * pp.dp + (uint64_t)dd.nreplicas * dd.dp >
                  SIM_CLUSTER_MAX_REPLICAS) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "the prefill and decode pools have more than the %d engine cores supported",
                    SIM_CLUSTER_MAX_REPLICAS);
        return NULL;
    }
    sim_cluster *c = g_new0(sim_cluster, 1);
    c->e = e;
    c->p = *p;
    c->p.pool = pp;
    c->p.pd.decode = dd;
    c->src = *src;
    c->rpool = sim_request_pool_new();
    c->pd = pd;
    c->npools = pd ? 2 : 1;
    c->pools = g_new0(pool, c->npools);
    pool_init(&c->pools[0], 0, &pp, 0, 0, pd ? &p->pd.link : NULL);
    if (pd) {
        pool *P = &c->pools[0];
        pool_init(&c->pools[1], 1, &dd, P->ncores, pp.nreplicas, &p->pd.link);
        c->nports = P->ncores + c->pools[1].ncores;
        c->ports = g_new0(port, c->nports);
        c->busy_ports = g_new0(uint32_t, c->nports);
        for (uint32_t i = 0; i < c->nports; i++)
            c->ports[i].Bps = i < P->ncores ? P->port_Bps : c->pools[1].port_Bps;
    }
    c->free_flow = UINT32_MAX;
    sim_rng_init(&c->router_rng, p->seed, SIM_STREAM_ROUTER);
    sim_rng_init(&c->spec_rng, p->seed, SIM_STREAM_SPEC);
    c->sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, session_free);
    c->prune_countdown = 4096;
    g_queue_init(&c->fifo);
    c->max_concurrency = p->max_concurrency;
    if (c->max_concurrency <= 0)
        c->max_concurrency = src->max_concurrency;
    c->st.first_send_ns = -1;
    c->st.last_finish_ns = -1;
    sim_engine_on(e, SIM_EV_ARRIVAL, on_arrival, c);
    sim_engine_on(e, SIM_EV_CLIENT_WAKE, on_client_wake, c);
    sim_engine_on(e, SIM_EV_SCHEDULE, on_schedule, c);
    sim_engine_on(e, SIM_EV_STEP_END, on_step_end, c);
    sim_engine_on(e, SIM_EV_ENQUEUE, on_enqueue, c);
    sim_engine_on(e, SIM_EV_TRANSFER_END, on_transfer, c);
    return c;
}

void
sim_cluster_free(sim_cluster *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->npools; i++)
        pool_clear(&c->pools[i]);
    g_free(c->pools);
    for (uint32_t i = 0; i < c->nports; i++)
        g_free(c->ports[i].f);
    g_free(c->ports);
    g_free(c->busy_ports);
    g_free(c->flows);
    g_hash_table_destroy(c->sessions);
    g_queue_clear(&c->fifo);
    sim_request_pool_free(c->rpool);
    if (c->src_error != NULL)
        g_error_free(c->src_error);
    g_free(c);
}

gboolean
sim_cluster_run(sim_cluster *c, sim_time horizon_ns, GError **error)
{
    if (c->next == NULL && !c->src_done && c->st.pulled == 0)
        pull_next(c);
    sim_engine_run(c->e, horizon_ns, 0);
    if (c->src_error != NULL) {
        g_propagate_error(error, c->src_error);
        c->src_error = NULL;
        return FALSE;
    }
    return TRUE;
}

sim_cluster_stats
sim_cluster_get_stats(const sim_cluster *c)
{
    return c->st;
}

const sim_pool_params *
sim_cluster_pool(const sim_cluster *c)
{
    return &c->pools[0].p;
}

uint32_t
sim_cluster_npools(const sim_cluster *c)
{
    return c->npools;
}

const sim_pool_params *
sim_cluster_pool_at(const sim_cluster *c, uint32_t i)
{
    return i < c->npools ? &c->pools[i].p : NULL;
}

void
sim_cluster_pool_range(
    const sim_cluster *c, uint32_t i, uint32_t *core_base, uint32_t *ncores, uint32_t *replica_base)
{
    g_assert(i < c->npools);
    *core_base = c->pools[i].core_base;
    *ncores = c->pools[i].ncores;
    *replica_base = c->pools[i].replica_base;
}

uint32_t
sim_cluster_ncores(const sim_cluster *c)
{
    const pool *last = &c->pools[c->npools - 1];
    return last->core_base + last->ncores;
}

static const pool *
pool_of_core(const sim_cluster *c, uint32_t i)
{
    for (uint32_t k = c->npools; k-- > 0;)
        if (i >= c->pools[k].core_base)
            return i < c->pools[k].core_base + c->pools[k].ncores ? &c->pools[k] : NULL;
    return NULL;
}

const sim_replica *
sim_cluster_core(const sim_cluster *c, uint32_t i)
{
    const pool *pl = pool_of_core(c, i);
    return pl != NULL ? &pl->cores[i - pl->core_base] : NULL;
}

double
sim_cluster_port_capacity(const sim_cluster *c, uint32_t i)
{
    const pool *pl = pool_of_core(c, i);
    return pl != NULL ? pl->port_Bps : 0.0;
}

size_t
sim_cluster_live_requests(const sim_cluster *c)
{
    return sim_request_pool_live(c->rpool);
}
