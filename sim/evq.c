/* sim/evq.c: 4-ary heap with hole-based sift (one struct copy per level). A 4-ary heap halves
 * the depth of a binary heap and keeps a node's children in one or two cache lines (events are
 * 32 bytes). Cancelled handles live in a hash set consulted only while it is non-empty, so the
 * common path is a pure heap operation. */
#include "sim/evq.h"

#include <string.h>

#define ARITY          4
#define CANCEL_BUCKETS 1024

struct sim_evq {
    GArray *arr;    /* heap storage: sim_event by value; arr->len is the capacity */
    sim_event *h;   /* arr->data, refreshed after growth */
    size_t len;     /* events in the heap (live + cancelled-not-yet-skipped) */
    size_t ncancel; /* entries in `cancelled` (avoids a call on the hot path) */
    uint64_t next_seq;
    GHashTable *cancelled; /* seq -> seq of cancelled events still in the heap */
    /* cancelled events per seq % CANCEL_BUCKETS: an event whose bucket is empty was not
     * cancelled, which spares the hash lookup at most pops while some are pending */
    uint32_t cancel_count[CANCEL_BUCKETS];
    sim_evq_stats stats;
};

G_STATIC_ASSERT(sizeof(sim_event) == 32);

static inline bool
before(const sim_event *x, const sim_event *y)
{
    return x->time_ns < y->time_ns || (x->time_ns == y->time_ns && x->key < y->key);
}

sim_evq *
sim_evq_new(size_t capacity_hint)
{
    sim_evq *q = g_new0(sim_evq, 1);
    guint cap = (guint)(capacity_hint > 16 ? capacity_hint : 16);
    q->arr = g_array_sized_new(FALSE, FALSE, sizeof(sim_event), cap);
    g_array_set_size(q->arr, cap);
    q->h = (sim_event *)(void *)q->arr->data;
    q->cancelled = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    return q;
}

void
sim_evq_free(sim_evq *q)
{
    if (q == NULL)
        return;
    g_hash_table_destroy(q->cancelled);
    g_array_free(q->arr, TRUE);
    g_free(q);
}

static void
sift_up(sim_evq *q, size_t i, sim_event ev)
{
    while (i > 0) {
        size_t parent = (i - 1) / ARITY;
        if (!before(&ev, &q->h[parent]))
            break;
        q->h[i] = q->h[parent];
        i = parent;
    }
    q->h[i] = ev;
}

static void
sift_down(sim_evq *q, size_t i, sim_event ev)
{
    size_t n = q->len;
    for (;;) {
        size_t c = i * ARITY + 1;
        if (c >= n)
            break;
        size_t best = c;
        size_t end = c + ARITY < n ? c + ARITY : n;
        for (size_t k = c + 1; k < end; k++)
            if (before(&q->h[k], &q->h[best]))
                best = k;
        if (!before(&q->h[best], &ev))
            break;
        q->h[i] = q->h[best];
        i = best;
    }
    q->h[i] = ev;
}

uint64_t
sim_evq_push(sim_evq *q, sim_time time_ns, unsigned phase, uint32_t kind, uint32_t a, uint64_t b)
{
    g_assert(phase < 256);
    if (q->len == q->arr->len) {
        g_array_set_size(q->arr, q->arr->len * 2); /* grow only; slots are overwritten */
        q->h = (sim_event *)(void *)q->arr->data;
    }
    uint64_t seq = q->next_seq++;
    g_assert(seq <= SIM_EVQ_SEQ_MASK);
    sim_event ev = {time_ns, ((uint64_t)phase << SIM_EVQ_PHASE_SHIFT) | seq, kind, a, b};
    q->len++;
    sift_up(q, q->len - 1, ev);
    q->stats.pushed++;
    return seq;
}

static void
remove_top(sim_evq *q)
{
    sim_event last = q->h[q->len - 1];
    q->len--;
    if (q->len > 0)
        sift_down(q, 0, last);
}

/* Drops cancelled events from the top. */
static void
skip_cancelled(sim_evq *q)
{
    while (q->ncancel > 0 && q->len > 0) {
        uint64_t seq = sim_event_seq(&q->h[0]);
        uint32_t *bucket = &q->cancel_count[seq % CANCEL_BUCKETS];
        if (*bucket == 0 || !g_hash_table_remove(q->cancelled, &seq))
            return;
        (*bucket)--;
        q->ncancel--;
        remove_top(q);
    }
}

bool
sim_evq_pop(sim_evq *q, sim_event *out)
{
    skip_cancelled(q);
    if (q->len == 0)
        return false;
    *out = q->h[0];
    remove_top(q);
    q->stats.popped++;
    return true;
}

const sim_event *
sim_evq_peek(sim_evq *q)
{
    skip_cancelled(q);
    return q->len > 0 ? &q->h[0] : NULL;
}

bool
sim_evq_cancel(sim_evq *q, uint64_t handle)
{
    g_return_val_if_fail(handle < q->next_seq, false);
    /* The set stores pointers to its keys; keep keys in a side allocation per entry. The set
     * only holds events that are cancelled but not yet skipped, so it stays small. */
    uint64_t *key = g_new(uint64_t, 1);
    *key = handle;
    if (g_hash_table_contains(q->cancelled, key)) {
        g_free(key);
        return false;
    }
    g_hash_table_add(q->cancelled, key);
    q->cancel_count[handle % CANCEL_BUCKETS]++;
    q->ncancel++;
    q->stats.cancelled++;
    return true;
}

size_t
sim_evq_size(const sim_evq *q)
{
    return q->len - q->ncancel;
}

sim_evq_stats
sim_evq_get_stats(const sim_evq *q)
{
    return q->stats;
}

bool
sim__evq_check(const sim_evq *q)
{
    for (size_t i = 1; i < q->len; i++) {
        if (before(&q->h[i], &q->h[(i - 1) / ARITY])) {
            g_warning("evq: heap order violated at %zu", i);
            return false;
        }
    }
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, q->cancelled);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        uint64_t seq = *(uint64_t *)k;
        bool found = false;
        for (size_t i = 0; i < q->len && !found; i++)
            found = sim_event_seq(&q->h[i]) == seq;
        if (!found) {
            g_warning("evq: cancelled handle %" G_GUINT64_FORMAT " is not pending", seq);
            return false;
        }
    }
    if (q->stats.pushed != q->stats.popped + q->stats.cancelled + sim_evq_size(q)) {
        g_warning("evq: pushed %" G_GUINT64_FORMAT " != popped + cancelled + size",
                  q->stats.pushed);
        return false;
    }
    return true;
}
