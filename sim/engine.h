/* sim/engine.h: the discrete-event engine: clock, event queue, dispatch by event kind, and an
 * observer bus. An engine is a plain value with no global state, so independent simulations
 * (sweep points) run concurrently on different threads.
 *
 * Handlers and observers are borrowed function pointers with borrowed context pointers; the
 * engine owns its queue and bus only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "sim/evq.h"

/* Event kinds (docs/design.md §3). */
enum {
    SIM_EV_ARRIVAL = 0,      /* a request arrives (b = request slot) */
    SIM_EV_STEP_END = 1,     /* a replica's forward step ends (a = replica) */
    SIM_EV_TRANSFER_END = 2, /* a KV transfer completes (a = link, b = request) */
    SIM_EV_CLIENT_WAKE = 3,  /* closed-loop client / session may send its next request */
    SIM_EV_STAGE_CHANGE = 4, /* load stage boundary */
    SIM_EV_SAMPLE = 5,       /* periodic gauges (KV usage, queue depth) */
    SIM_EV_SCHEDULE = 6,     /* a replica plans its next batch (runs last in its instant) */
    SIM_EV_USER0 = 7,        /* free for tests and extensions */
    SIM_EV_USER1 = 8,
    SIM_EV_ENQUEUE = 9, /* a sent request reaches the engine after the API server overhead */
    SIM_EV_NKINDS = 10,
};

/* Phases order events of equal time: arrivals and completions first, planning last. */
enum {
    SIM_PHASE_NORMAL = 0,
    SIM_PHASE_LATE = 1, /* after every normal event of the same instant */
};

typedef struct sim_engine sim_engine;

typedef void (*sim_handler_fn)(sim_engine *e, const sim_event *ev, void *ctx);

sim_engine *sim_engine_new(void);
void sim_engine_free(sim_engine *e); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_engine, sim_engine_free)

/* Sets the handler for event KIND (one per kind; the last call wins). */
void sim_engine_on(sim_engine *e, uint32_t kind, sim_handler_fn fn, void *ctx);

sim_time sim_engine_now(const sim_engine *e);
/* Schedules an event at absolute time T >= now. Returns a handle for sim_engine_cancel. */
uint64_t
sim_engine_at(sim_engine *e, sim_time t, unsigned phase, uint32_t kind, uint32_t a, uint64_t b);
/* Schedules after DELAY_S seconds (rounded once to ns, docs/design.md §3). */
uint64_t sim_engine_after_s(
    sim_engine *e, double delay_s, unsigned phase, uint32_t kind, uint32_t a, uint64_t b);
bool sim_engine_cancel(sim_engine *e, uint64_t handle);

typedef enum {
    SIM_RUN_EMPTY,      /* no events left */
    SIM_RUN_HORIZON,    /* next event is past the horizon (it stays queued) */
    SIM_RUN_MAX_EVENTS, /* ran the allowed number of events */
    SIM_RUN_STOPPED,    /* a handler called sim_engine_stop */
} sim_run_result;

/* Runs events with time <= HORIZON_NS, at most MAX_EVENTS of them (0 = no limit). Asserts
 * time never decreases. Can be called again to continue. */
sim_run_result sim_engine_run(sim_engine *e, sim_time horizon_ns, uint64_t max_events);
void sim_engine_stop(sim_engine *e);

typedef struct sim_engine_stats {
    uint64_t scheduled, run, cancelled, pending;
} sim_engine_stats;

/* Counters; scheduled = run + cancelled + pending always holds (asserted at each run end). */
sim_engine_stats sim_engine_get_stats(const sim_engine *e);

/* ---- observer bus ---- */
/* Topics published by the simulator (payload types are declared where they are published). */
enum {
    SIM_TOPIC_EVENT = 0, /* every dispatched event (payload: const sim_event *) */
    SIM_TOPIC_ARRIVAL,
    SIM_TOPIC_STEP_PLANNED,
    SIM_TOPIC_STEP_END,
    SIM_TOPIC_TOKEN,
    SIM_TOPIC_REQUEST_DONE,
    SIM_TOPIC_TRANSFER,
    SIM_TOPIC_SAMPLE,
    SIM_TOPIC_USER0,
    SIM_TOPIC_USER1,
    SIM_NTOPICS
};

typedef void (*sim_observer_fn)(void *ctx, uint32_t topic, const void *payload);

/* Observers of a topic are called in subscription order. */
void sim_engine_subscribe(sim_engine *e, uint32_t topic, sim_observer_fn fn, void *ctx);
/* True if anyone listens (lets publishers skip building payloads). */
bool sim_engine_has_observers(const sim_engine *e, uint32_t topic);
void sim_engine_publish(sim_engine *e, uint32_t topic, const void *payload);
/* True if exactly one observer listens to TOPIC, setting FN and CTX to it: a publisher on a hot
 * path (one event per output token) may call it directly instead of publishing. */
bool sim_engine_sole_observer(const sim_engine *e, uint32_t topic, sim_observer_fn *fn, void **ctx);
