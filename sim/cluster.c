/* sim/cluster.c: event handlers wiring workload, gating, routing, replicas and time model.
 * Invariants: every pulled request is sent exactly once and finishes exactly once (finished or
 * failed); a replica has at most one step in flight; a SCHEDULE event is queued for a replica
 * only when it is idle and none is already queued. Request pointers travel in event payloads
 * (they order nothing, so determinism is unaffected). */
#include "sim/cluster.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "sim/observe.h"

/* Sessions with parked turns; a session entry is pruned once idle long enough that it can no
 * longer delay anything (last_finish + max think ≤ now). */
typedef struct session {
    uint32_t busy;       /* turns sent (or scheduled to be sent) and not finished */
    int64_t last_finish; /* completion time of its latest finished turn */
    GQueue parked;       /* sim_request *, turns waiting for the previous one */
} session;

struct sim_cluster {
    sim_engine *e;
    sim_cluster_params p;
    sim_source src;
    sim_request_pool *pool;
    sim_replica *rep;
    sim_rng router_rng;
    uint64_t rr_next;

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

    sim_cluster_stats st;
};

enum { PARK_LIMIT = 65536 };

static void pull_next(sim_cluster *c);

/* ---- request completion ---- */

static void
publish_done(sim_cluster *c, const sim_request *r, bool failed, const char *why)
{
    if (!sim_engine_has_observers(c->e, SIM_TOPIC_REQUEST_DONE))
        return;
    sim_request_record rec = {
        .id = r->id,
        .replica = r->replica,
        .stage = r->stage,
        .session_id = r->session_id,
        .turn = r->turn,
        .arrival_ns = r->arrival_ns,
        .send_ns = r->send_ns,
        .first_scheduled_ns = r->first_scheduled_ns,
        .first_token_ns = r->first_token_ns,
        .finish_ns = sim_engine_now(c->e),
        .prompt_tokens = r->prompt_tokens,
        .output_tokens = r->num_output,
        .preemptions = r->preemptions,
        .prefix_hit_tokens = r->prefix_hit_tokens,
        .computed_prompt_tokens = r->computed_prompt_tokens,
        .failed = failed,
        .fail_reason = why,
    };
    sim_engine_publish(c->e, SIM_TOPIC_REQUEST_DONE, &rec);
}

static void release_gates(sim_cluster *c, sim_request *r);

static void
request_end(sim_cluster *c, sim_request *r, bool failed, const char *why)
{
    int64_t now = sim_engine_now(c->e);
    r->state = failed ? SIM_REQ_FAILED : SIM_REQ_FINISHED;
    if (failed)
        c->st.failed++;
    else
        c->st.finished++;
    c->st.preemptions += r->preemptions;
    if (now > c->st.last_finish_ns)
        c->st.last_finish_ns = now;
    publish_done(c, r, failed, why);
    release_gates(c, r);
    sim_request_pool_give(c->pool, r);
}

/* ---- sending ---- */

static void
kick(sim_cluster *c, sim_replica *rep)
{
    if (rep->busy || rep->kick_pending)
        return;
    rep->kick_pending = true;
    sim_engine_at(c->e, sim_engine_now(c->e), SIM_PHASE_LATE, SIM_EV_SCHEDULE, rep->id, 0);
}

/* Routes R and puts it in the chosen replica's waiting queue. */
static void
enqueue(sim_cluster *c, sim_request *r)
{
    int64_t now = sim_engine_now(c->e);
    sim_route_ctx ctx = {c->rep, c->p.nreplicas, &c->router_rng, &c->rr_next, c->p.overlap_weight};
    uint32_t k = c->p.nreplicas == 1 ? 0 : c->p.router->route(&ctx, r);
    g_assert(k < c->p.nreplicas);
    sim_replica *rep = &c->rep[k];
    if (c->p.scheduler->must_reject != NULL && c->p.scheduler->must_reject(rep, r)) {
        r->replica = rep->id;
        request_end(c, r, true, "request does not fit in the KV cache");
        return;
    }
    sim_replica_enqueue(rep, r);
    if (sim_engine_has_observers(c->e, SIM_TOPIC_ARRIVAL)) {
        sim_arrival_event a = {r->id, rep->id, now, r->prompt_tokens, r->output_target, r->stage};
        sim_engine_publish(c->e, SIM_TOPIC_ARRIVAL, &a);
    }
    kick(c, rep);
}

static void
on_enqueue(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    enqueue(ctx, (sim_request *)(uintptr_t)ev->b);
}

static void
send_now(sim_cluster *c, sim_request *r)
{
    int64_t now = sim_engine_now(c->e);
    r->send_ns = now;
    c->st.sent++;
    if (c->st.sent == 1)
        c->st.first_send_ns = now;
    size_t live = sim_request_pool_live(c->pool);
    if (live > c->st.peak_in_flight)
        c->st.peak_in_flight = live;
    /* vLLM's API server rejects prompt + max_tokens > max_model_len with an error. */
    if ((uint64_t)r->prompt_tokens + r->output_target > c->p.sched.max_model_len) {
        request_end(c, r, true, "prompt + output exceeds max_model_len");
        return;
    }
    if (c->p.request_overhead_s > 0.0) {
        sim_engine_after_s(c->e, c->p.request_overhead_s, SIM_PHASE_NORMAL, SIM_EV_ENQUEUE, 0,
                           (uint64_t)(uintptr_t)r);
        return;
    }
    enqueue(c, r);
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

static void
release_gates(sim_cluster *c, sim_request *r)
{
    int64_t now = sim_engine_now(c->e);
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
    sim_request *r = sim_request_pool_take(c->pool, &w);
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

/* ---- steps ---- */

static void
on_schedule(sim_engine *e, const sim_event *ev, void *ctx)
{
    sim_cluster *c = ctx;
    sim_replica *rep = &c->rep[ev->a];
    rep->kick_pending = false;
    g_assert(!rep->busy);
    if (!sim_replica_has_work(rep))
        return;
    c->p.scheduler->plan(rep);
    if (rep->nplanned == 0)
        return; /* nothing fits now; a completion or arrival will kick again */
    sim_replica_start_step(rep, sim_engine_now(e));
    double t = tm_step_s(c->p.tm, &rep->batch, NULL) + c->p.step_overhead_s;
    if (!(t > 0.0) || !isfinite(t))
        t = 1e-9; /* a step always advances time */
    sim_engine_after_s(e, t, SIM_PHASE_NORMAL, SIM_EV_STEP_END, rep->id, 0);
}

static void
on_token(void *ctx, sim_request *r, int64_t gap)
{
    sim_cluster *c = ctx;
    if (!sim_engine_has_observers(c->e, SIM_TOPIC_TOKEN))
        return;
    sim_token_event tk = {r->id, r->replica, 1, sim_engine_now(c->e), gap, r->send_ns, r->stage};
    sim_engine_publish(c->e, SIM_TOPIC_TOKEN, &tk);
}

static void
on_reaped(void *ctx, sim_request *r)
{
    request_end(ctx, r, false, NULL);
}

static void
on_step_end(sim_engine *e, const sim_event *ev, void *ctx)
{
    sim_cluster *c = ctx;
    sim_replica *rep = &c->rep[ev->a];
    int64_t now = sim_engine_now(e);
    c->st.steps++;
    uint32_t done = sim_replica_commit(rep, now, on_token, c);
    if (sim_engine_has_observers(e, SIM_TOPIC_STEP_END)) {
        sim_step_record s = {
            .replica = rep->id,
            .step = rep->step,
            .start_ns = rep->step_start_ns,
            .end_ns = now,
            .batch = rep->batch,
            .num_running = rep->nrunning,
            .num_waiting = sim_waitq_len(&rep->waiting),
            .num_preempted = rep->step_preempted,
            .num_admitted = rep->step_admitted,
            .kv_used_blocks = sim_kvpool_num_used(rep->kv),
            .kv_cached_blocks = sim_kvpool_num_cached_free(rep->kv),
            .kv_total_blocks = sim_kvpool_usable(rep->kv),
        };
        tm_step_s(c->p.tm, &rep->batch, &s.cost);
        s.cost.overhead_s += c->p.step_overhead_s;
        s.cost.total_s += c->p.step_overhead_s;
        sim_engine_publish(e, SIM_TOPIC_STEP_END, &s);
    }
    if (done > 0)
        sim_replica_reap(rep, on_reaped, c);
    if (c->p.check_invariants)
        g_assert(sim__kvpool_check(rep->kv, rep->running, rep->nrunning));
    if (sim_replica_has_work(rep))
        kick(c, rep);
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

sim_cluster *
sim_cluster_new(sim_engine *e, const sim_cluster_params *p, const sim_source *src, GError **error)
{
    if (p->nreplicas == 0 || p->scheduler == NULL || p->router == NULL || p->tm == NULL) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "cluster: incomplete parameters");
        return NULL;
    }
    const sim_sched_params *s = &p->sched;
    if (s->max_num_batched_tokens < p->block_size) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "max_num_batched_tokens (%u) is smaller than the block size (%u)",
                    s->max_num_batched_tokens, p->block_size);
        return NULL;
    }
    if (!s->chunked_prefill && s->max_num_batched_tokens < s->max_model_len) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "without chunked prefill max_num_batched_tokens (%u) must be at least "
                    "max_model_len (%u)",
                    s->max_num_batched_tokens, s->max_model_len);
        return NULL;
    }
    uint64_t need = ((uint64_t)s->max_model_len + p->block_size - 1) / p->block_size;
    if (p->num_blocks < 2 || need > p->num_blocks - 1) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "KV cache holds %u blocks of %u tokens (%" G_GUINT64_FORMAT
                    " tokens), less than one max_model_len request (%u tokens): lower "
                    "--max-model-len or raise --gpu-memory-utilization",
                    p->num_blocks > 0 ? p->num_blocks - 1 : 0, p->block_size,
                    (uint64_t)(p->num_blocks > 0 ? p->num_blocks - 1 : 0) * p->block_size,
                    s->max_model_len);
        return NULL;
    }
    if (s->max_num_seqs == 0 || s->max_model_len < 2) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "max_num_seqs and max_model_len must be positive");
        return NULL;
    }
    if (p->nreplicas > SIM_CLUSTER_MAX_REPLICAS) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "%u replicas is more than the %d supported", p->nreplicas,
                    SIM_CLUSTER_MAX_REPLICAS);
        return NULL;
    }
    /* Estimated before allocating: --replicas 1000000 or a huge block override used to be
     * found out by the kernel's OOM killer, leaving temporaries behind. */
    uint64_t bound = p->max_state_bytes > 0 ? p->max_state_bytes : SIM_CLUSTER_MAX_STATE_BYTES;
    uint64_t per = p->num_blocks <= SIM_KVPOOL_MAX_BLOCKS ? sim_replica_state_bytes(p->num_blocks)
                                                          : UINT64_MAX / SIM_CLUSTER_MAX_REPLICAS;
    if (per * p->nreplicas > bound) {
        g_autofree char *total = size_text(per * p->nreplicas);
        g_autofree char *each = size_text(per);
        g_autofree char *lim = size_text(bound);
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "the replicas' state needs %s (%u replicas × %s for %u KV blocks each), "
                    "more than the %s limit: lower --replicas or --num-gpu-blocks-override",
                    total, p->nreplicas, each, p->num_blocks, lim);
        return NULL;
    }
    sim_cluster *c = g_new0(sim_cluster, 1);
    c->e = e;
    c->p = *p;
    c->src = *src;
    c->pool = sim_request_pool_new();
    c->rep = g_new0(sim_replica, p->nreplicas);
    for (uint32_t i = 0; i < p->nreplicas; i++)
        sim_replica_init(&c->rep[i], i, 0, p->num_blocks, p->block_size, p->prefix_caching,
                         &c->p.sched);
    sim_rng_init(&c->router_rng, p->seed, SIM_STREAM_ROUTER);
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
    return c;
}

void
sim_cluster_free(sim_cluster *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->p.nreplicas; i++)
        sim_replica_clear(&c->rep[i]);
    g_free(c->rep);
    g_hash_table_destroy(c->sessions);
    g_queue_clear(&c->fifo);
    sim_request_pool_free(c->pool);
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

uint32_t
sim_cluster_nreplicas(const sim_cluster *c)
{
    return c->p.nreplicas;
}

const sim_replica *
sim_cluster_replica(const sim_cluster *c, uint32_t i)
{
    return i < c->p.nreplicas ? &c->rep[i] : NULL;
}

size_t
sim_cluster_live_requests(const sim_cluster *c)
{
    return sim_request_pool_live(c->pool);
}
