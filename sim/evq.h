/* sim/evq.h: the event queue, a 4-ary min-heap of event structs held by value in a GArray,
 * keyed by (time_ns, phase, seq). seq is a per-queue counter taken at push time, so events of
 * equal time and phase pop in push order. The phase lets work that must run last within an
 * instant (a replica planning its next batch after every arrival of that instant) sort after
 * everything else at that time. No allocation per event.
 *
 * Cancel marks an event (by the handle push returned) and pop skips it. Cancelling an event
 * that already popped is a caller bug; sim__evq_check catches it in tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef int64_t sim_time; /* nanoseconds */

#define SIM_TIME_MAX INT64_MAX
#define SIM_NS_PER_S 1000000000LL

typedef struct sim_event {
    sim_time time_ns;
    uint64_t key;  /* (phase << 56) | seq: the tie-breaker */
    uint32_t kind; /* dispatch key (SIM_EV_*) */
    uint32_t a;    /* small payload, e.g. replica or link index */
    uint64_t b;    /* payload, e.g. request id */
} sim_event;

#define SIM_EVQ_PHASE_SHIFT 56
#define SIM_EVQ_SEQ_MASK    ((UINT64_C(1) << SIM_EVQ_PHASE_SHIFT) - 1)

static inline uint64_t
sim_event_seq(const sim_event *e)
{
    return e->key & SIM_EVQ_SEQ_MASK;
}

static inline unsigned
sim_event_phase(const sim_event *e)
{
    return (unsigned)(e->key >> SIM_EVQ_PHASE_SHIFT);
}

typedef struct sim_evq sim_evq;

sim_evq *sim_evq_new(size_t capacity_hint);
void sim_evq_free(sim_evq *q); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_evq, sim_evq_free)

/* Pushes an event; returns its handle (the seq), usable with sim_evq_cancel. PHASE < 256. */
uint64_t
sim_evq_push(sim_evq *q, sim_time time_ns, unsigned phase, uint32_t kind, uint32_t a, uint64_t b);
/* Pops the earliest live event into *OUT. Returns false when the queue is empty. */
bool sim_evq_pop(sim_evq *q, sim_event *out);
/* The earliest live event, or NULL. Discards cancelled events at the top (hence not const). */
const sim_event *sim_evq_peek(sim_evq *q);
/* Marks the pending event HANDLE cancelled. Returns false if it was already cancelled. */
bool sim_evq_cancel(sim_evq *q, uint64_t handle);
/* Live (not cancelled) events. */
size_t sim_evq_size(const sim_evq *q);

typedef struct sim_evq_stats {
    uint64_t pushed;    /* events ever pushed */
    uint64_t popped;    /* live events returned by pop */
    uint64_t cancelled; /* events cancelled (popped or not yet) */
} sim_evq_stats;

sim_evq_stats sim_evq_get_stats(const sim_evq *q);

/* Invariant walker: heap order holds, every cancelled handle is in the heap, and
 * pushed = popped + cancelled + size. Returns false (with a g_warning) on violation. */
bool sim__evq_check(const sim_evq *q);
