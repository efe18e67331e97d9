/* sim/request.c: request allocation (a free list, so steady-state runs do not touch malloc)
 * and the waiting queue. Under priority scheduling the queue is a binary heap on
 * (priority, arrival, stamp); a preempted request re-enters with a stamp below every other,
 * matching vLLM's "back to the head of the queue" within its priority class. */
#include "sim/request.h"

#include <string.h>

#include "base/rng.h"

struct sim_request_pool {
    uint64_t next_uid;
    sim_request *free;
    GPtrArray *all; /* every request ever allocated (owned) */
    size_t live;
};

sim_request_pool *
sim_request_pool_new(void)
{
    sim_request_pool *p = g_new0(sim_request_pool, 1);
    p->all = g_ptr_array_new();
    return p;
}

static void
request_destroy(gpointer data)
{
    sim_request *r = data;
    g_free(r->segs);
    g_free(r->kv.blocks);
    g_free(r->kv.hashes);
    g_aligned_free(r);
}

void
sim_request_pool_free(sim_request_pool *p)
{
    if (p == NULL)
        return;
    for (guint i = 0; i < p->all->len; i++)
        request_destroy(p->all->pdata[i]);
    g_ptr_array_free(p->all, TRUE);
    g_free(p);
}

sim_request *
sim_request_pool_take(sim_request_pool *p, const wl_request *w)
{
    sim_request *r = p->free;
    if (r != NULL) {
        p->free = r->next_free;
    } else {
        /* cache-line aligned: the hot fields share lines (sim/request.h) */
        r = g_aligned_alloc0(1, sizeof *r, 64);
        g_ptr_array_add(p->all, r);
    }
    p->live++;
    /* keep array capacities, reset everything else */
    wl_segment *segs = r->segs;
    uint32_t segcap = r->segcap;
    uint32_t *blocks = r->kv.blocks, bcap = r->kv.cap;
    uint64_t *hashes = r->kv.hashes;
    uint32_t hcap = r->kv.hcap;
    memset(r, 0, sizeof *r);
    r->segs = segs;
    r->segcap = segcap;
    r->kv.blocks = blocks;
    r->kv.cap = bcap;
    r->kv.hashes = hashes;
    r->kv.hcap = hcap;

    r->id = w->id;
    r->uid = ++p->next_uid;
    r->state = SIM_REQ_PENDING;
    r->replica = UINT32_MAX;
    r->core = UINT32_MAX;
    r->stage = w->stage;
    r->priority = w->priority;
    r->session_id = w->session_id;
    r->turn = w->turn;
    r->think_ns = w->think_ns;
    r->prompt_tokens = w->prompt_tokens;
    /* vLLM requires max_tokens >= 1: a request always produces at least one token. */
    r->output_target = w->output_tokens > 0 ? w->output_tokens : 1;
    r->arrival_ns = w->arrival_ns;
    r->send_ns = -1;
    r->first_scheduled_ns = -1;
    r->first_token_ns = -1;
    r->last_token_ns = -1;
    r->prefill_replica = UINT32_MAX;
    r->prefill_core = UINT32_MAX;
    r->decode_replica = UINT32_MAX;
    r->xfer_start_ns = -1;
    r->xfer_end_ns = -1;
    uint32_t n = w->nsegments > 0 ? w->nsegments : 1;
    if (r->segcap < n) {
        r->segcap = n < 4 ? 4 : n;
        r->segs = g_renew(wl_segment, r->segs, r->segcap);
    }
    if (w->nsegments > 0) {
        memcpy(r->segs, w->segments, n * sizeof *r->segs);
        r->nsegs = n;
    } else {
        /* No content information: one segment unique to this request (no accidental hits). */
        r->segs[0] = (wl_segment){sim_mix64(r->uid ^ UINT64_C(0x5EC0DE5EC0DE)) | WL_CONTENT_PRIVATE,
                                  w->prompt_tokens};
        r->nsegs = 1;
    }
    r->output_cid = w->output_content_id != 0
                        ? w->output_content_id
                        : sim_mix64(r->uid ^ UINT64_C(0x00707AB1E5)) | WL_CONTENT_PRIVATE;
    return r;
}

void
sim_request_pool_give(sim_request_pool *p, sim_request *r)
{
    g_assert(p->live > 0);
    p->live--;
    r->next_free = p->free;
    p->free = r;
}

size_t
sim_request_pool_live(const sim_request_pool *p)
{
    return p->live;
}

/* ---- waiting queue ---- */

void
sim_waitq_init(sim_waitq *q, bool priority)
{
    memset(q, 0, sizeof *q);
    q->priority = priority;
    q->cap = 64;
    q->a = g_new(sim_request *, q->cap);
    q->next_front = UINT64_C(1) << 62;
    q->next_back = (UINT64_C(1) << 62) + 1;
}

void
sim_waitq_clear(sim_waitq *q)
{
    g_free(q->a);
    memset(q, 0, sizeof *q);
}

static void
grow(sim_waitq *q)
{
    if (q->len < q->cap)
        return;
    sim_request **n = g_new(sim_request *, q->cap * 2);
    for (uint32_t i = 0; i < q->len; i++)
        n[i] = q->a[(q->head + i) % q->cap];
    g_free(q->a);
    q->a = n;
    q->head = 0;
    q->cap *= 2;
}

static bool
prio_before(const sim_request *x, const sim_request *y)
{
    if (x->priority != y->priority)
        return x->priority < y->priority;
    if (x->arrival_ns != y->arrival_ns)
        return x->arrival_ns < y->arrival_ns;
    return x->wseq < y->wseq;
}

static void
heap_up(sim_waitq *q, uint32_t i)
{
    sim_request *r = q->a[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!prio_before(r, q->a[p]))
            break;
        q->a[i] = q->a[p];
        i = p;
    }
    q->a[i] = r;
}

static void
heap_down(sim_waitq *q, uint32_t i)
{
    sim_request *r = q->a[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= q->len)
            break;
        if (c + 1 < q->len && prio_before(q->a[c + 1], q->a[c]))
            c++;
        if (!prio_before(q->a[c], r))
            break;
        q->a[i] = q->a[c];
        i = c;
    }
    q->a[i] = r;
}

void
sim_waitq_push_back(sim_waitq *q, sim_request *r)
{
    grow(q);
    r->wseq = q->next_back++;
    if (q->priority) {
        q->a[q->len++] = r;
        heap_up(q, q->len - 1);
        return;
    }
    q->a[(q->head + q->len) % q->cap] = r;
    q->len++;
}

void
sim_waitq_push_front(sim_waitq *q, sim_request *r)
{
    grow(q);
    r->wseq = q->next_front--;
    if (q->priority) {
        q->a[q->len++] = r;
        heap_up(q, q->len - 1);
        return;
    }
    q->head = (q->head + q->cap - 1) % q->cap;
    q->a[q->head] = r;
    q->len++;
}

sim_request *
sim_waitq_peek(const sim_waitq *q)
{
    if (q->len == 0)
        return NULL;
    return q->priority ? q->a[0] : q->a[q->head];
}

sim_request *
sim_waitq_pop(sim_waitq *q)
{
    if (q->len == 0)
        return NULL;
    if (q->priority) {
        sim_request *r = q->a[0];
        q->len--;
        if (q->len > 0) {
            q->a[0] = q->a[q->len];
            heap_down(q, 0);
        }
        return r;
    }
    sim_request *r = q->a[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return r;
}

sim_request *
sim_waitq_at(const sim_waitq *q, uint32_t i)
{
    g_assert(i < q->len);
    return q->priority ? q->a[i] : q->a[(q->head + i) % q->cap];
}

bool
sim_waitq_remove(sim_waitq *q, sim_request *r)
{
    uint32_t i = 0;
    while (i < q->len && sim_waitq_at(q, i) != r)
        i++;
    if (i == q->len)
        return false;
    if (q->priority) {
        q->len--;
        if (i < q->len) {
            q->a[i] = q->a[q->len];
            heap_down(q, i);
            heap_up(q, i);
        }
        return true;
    }
    /* keep FIFO order: shift the later elements one place towards the head */
    for (uint32_t k = i; k + 1 < q->len; k++)
        q->a[(q->head + k) % q->cap] = q->a[(q->head + k + 1) % q->cap];
    q->len--;
    return true;
}
