/* sim/engine.c: run loop. Invariants (asserted): the clock never moves backwards, and
 * scheduled = run + cancelled + pending at the end of every run call. */
#include "sim/engine.h"

#include <math.h>

typedef struct {
    sim_handler_fn fn;
    void *ctx;
} handler;

typedef struct {
    sim_observer_fn fn;
    void *ctx;
} observer;

struct sim_engine {
    sim_evq *q;
    sim_time now;
    bool stop;
    uint64_t run_count;
    handler handlers[SIM_EV_NKINDS];
    GArray *observers[SIM_NTOPICS]; /* observer, NULL until the first subscription */
};

sim_engine *
sim_engine_new(void)
{
    sim_engine *e = g_new0(sim_engine, 1);
    e->q = sim_evq_new(1024);
    return e;
}

void
sim_engine_free(sim_engine *e)
{
    if (e == NULL)
        return;
    for (int t = 0; t < SIM_NTOPICS; t++)
        if (e->observers[t] != NULL)
            g_array_free(e->observers[t], TRUE);
    sim_evq_free(e->q);
    g_free(e);
}

void
sim_engine_on(sim_engine *e, uint32_t kind, sim_handler_fn fn, void *ctx)
{
    g_return_if_fail(kind < SIM_EV_NKINDS);
    e->handlers[kind] = (handler){fn, ctx};
}

sim_time
sim_engine_now(const sim_engine *e)
{
    return e->now;
}

uint64_t
sim_engine_at(sim_engine *e, sim_time t, unsigned phase, uint32_t kind, uint32_t a, uint64_t b)
{
    g_assert(t >= e->now);
    g_assert(kind < SIM_EV_NKINDS);
    return sim_evq_push(e->q, t, phase, kind, a, b);
}

uint64_t
sim_engine_after_s(
    sim_engine *e, double delay_s, unsigned phase, uint32_t kind, uint32_t a, uint64_t b)
{
    g_assert(delay_s >= 0.0 && isfinite(delay_s));
    sim_time d = (sim_time)llround(delay_s * 1e9);
    return sim_engine_at(e, e->now + d, phase, kind, a, b);
}

bool
sim_engine_cancel(sim_engine *e, uint64_t handle)
{
    return sim_evq_cancel(e->q, handle);
}

void
sim_engine_stop(sim_engine *e)
{
    e->stop = true;
}

sim_engine_stats
sim_engine_get_stats(const sim_engine *e)
{
    sim_evq_stats s = sim_evq_get_stats(e->q);
    return (sim_engine_stats){s.pushed, e->run_count, s.cancelled, sim_evq_size(e->q)};
}

sim_run_result
sim_engine_run(sim_engine *e, sim_time horizon_ns, uint64_t max_events)
{
    e->stop = false;
    uint64_t n = 0;
    sim_run_result res = SIM_RUN_EMPTY;
    for (;;) {
        if (e->stop) {
            res = SIM_RUN_STOPPED;
            break;
        }
        if (max_events != 0 && n >= max_events) {
            res = SIM_RUN_MAX_EVENTS;
            break;
        }
        const sim_event *top = sim_evq_peek(e->q);
        if (top == NULL) {
            res = SIM_RUN_EMPTY;
            break;
        }
        if (top->time_ns > horizon_ns) {
            res = SIM_RUN_HORIZON;
            break;
        }
        sim_event ev;
        sim_evq_pop(e->q, &ev);
        g_assert(ev.time_ns >= e->now); /* time never decreases */
        e->now = ev.time_ns;
        e->run_count++;
        n++;
        if (e->observers[SIM_TOPIC_EVENT] != NULL)
            sim_engine_publish(e, SIM_TOPIC_EVENT, &ev);
        const handler *h = &e->handlers[ev.kind];
        if (h->fn != NULL)
            h->fn(e, &ev, h->ctx);
    }
    sim_engine_stats s = sim_engine_get_stats(e);
    g_assert(s.scheduled == s.run + s.cancelled + s.pending);
    return res;
}

void
sim_engine_subscribe(sim_engine *e, uint32_t topic, sim_observer_fn fn, void *ctx)
{
    g_return_if_fail(topic < SIM_NTOPICS);
    if (e->observers[topic] == NULL)
        e->observers[topic] = g_array_new(FALSE, FALSE, sizeof(observer));
    observer o = {fn, ctx};
    g_array_append_val(e->observers[topic], o);
}

bool
sim_engine_has_observers(const sim_engine *e, uint32_t topic)
{
    return topic < SIM_NTOPICS && e->observers[topic] != NULL;
}

bool
sim_engine_sole_observer(const sim_engine *e, uint32_t topic, sim_observer_fn *fn, void **ctx)
{
    if (topic >= SIM_NTOPICS || e->observers[topic] == NULL || e->observers[topic]->len != 1)
        return false;
    const observer *o = &g_array_index(e->observers[topic], observer, 0);
    *fn = o->fn;
    *ctx = o->ctx;
    return true;
}

void
sim_engine_publish(sim_engine *e, uint32_t topic, const void *payload)
{
    GArray *a = e->observers[topic];
    if (a == NULL)
        return;
    if (a->len == 1) { /* the usual case (one token observer per run): a tail call */
        const observer *o = &g_array_index(a, observer, 0);
        o->fn(o->ctx, topic, payload);
        return;
    }
    for (guint i = 0; i < a->len; i++) {
        const observer *o = &g_array_index(a, observer, i);
        o->fn(o->ctx, topic, payload);
    }
}
