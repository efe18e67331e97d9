/* workloads/list.c: requests held in memory (wl_list) as a workload source. `servesim compare`
 * rebuilds the requests of a measured run (lengths, send times, content) and simulates them
 * through the same pipeline as a trace file (max_model_len policy, transforms, ids), so a list
 * behaves like the JSONL trace it could have been written to.
 *
 * Invariants: either every request carries its arrival time (non-decreasing, checked as they
 * are added) or none does; then the arrival process of the options (--rate, --burstiness,
 * --arrival, --stages) times them, as for a length table. A request without content gets one
 * private segment (no accidental prefix sharing); given segments are copied and must add up to
 * its prompt. */
#include <string.h>

#include "workloads/internal.h"

typedef struct item {
    int64_t arrival_ns; /* -1 = from the arrival process */
    uint32_t prompt, output;
    uint32_t seg_first, nsegs; /* into wl_list.segs; nsegs 0 = private content */
    uint64_t output_content_id;
} item;

struct wl_list {
    char *name;
    GArray *items; /* item */
    GArray *segs;  /* wl_segment */
    int timed;     /* -1 unknown (empty), 0 no arrival times, 1 arrival times */
    int64_t last_ns;
};

wl_list *
wl_list_new(const char *name)
{
    wl_list *l = g_new0(wl_list, 1);
    l->name = g_strdup(name != NULL ? name : "requests");
    l->items = g_array_new(FALSE, FALSE, sizeof(item));
    l->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    l->timed = -1;
    return l;
}

void
wl_list_free(wl_list *l)
{
    if (l == NULL)
        return;
    g_array_free(l->items, TRUE);
    g_array_free(l->segs, TRUE);
    g_free(l->name);
    g_free(l);
}

size_t
wl_list_len(const wl_list *l)
{
    return l->items->len;
}

const char *
wl_list_name(const wl_list *l)
{
    return l->name;
}

bool
wl_list_timed(const wl_list *l)
{
    return l->timed == 1;
}

gboolean
wl_list_add(wl_list *l, const wl_list_request *r, GError **error)
{
    g_return_val_if_fail(l != NULL && r != NULL, FALSE);
    const char *n = l->name;
    size_t i = l->items->len;
    if (r->prompt_tokens == 0 || r->prompt_tokens > WL_MAX_TOKENS ||
        r->output_tokens > WL_MAX_TOKENS) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: request %zu: %" G_GUINT32_FORMAT " prompt / %" G_GUINT32_FORMAT
                    " output tokens (prompts need 1 to %d tokens, outputs 0 to %d)",
                    n, i, r->prompt_tokens, r->output_tokens, WL_MAX_TOKENS, WL_MAX_TOKENS);
        return FALSE;
    }
    int timed = r->arrival_ns >= 0 ? 1 : 0;
    if (l->timed >= 0 && timed != l->timed) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: request %zu: either every request has an arrival time or none has", n, i);
        return FALSE;
    }
    if (timed && (r->arrival_ns > WL_MAX_TIME_NS || r->arrival_ns < l->last_ns)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: request %zu: arrival %.6f s is out of range or earlier than the "
                    "previous request's %.6f s",
                    n, i, (double)r->arrival_ns * 1e-9, (double)l->last_ns * 1e-9);
        return FALSE;
    }
    uint64_t sum = 0;
    for (uint32_t k = 0; k < r->nsegments; k++)
        sum += r->segments[k].tokens;
    if (r->nsegments > 0 && sum != r->prompt_tokens) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: request %zu: segments hold %" G_GUINT64_FORMAT
                    " tokens, the prompt %" G_GUINT32_FORMAT,
                    n, i, sum, r->prompt_tokens);
        return FALSE;
    }
    item it = {.arrival_ns = timed ? r->arrival_ns : -1,
               .prompt = r->prompt_tokens,
               .output = r->output_tokens,
               .seg_first = l->segs->len,
               .nsegs = r->nsegments,
               .output_content_id = r->output_content_id};
    if (r->nsegments > 0)
        g_array_append_vals(l->segs, r->segments, r->nsegments);
    g_array_append_val(l->items, it);
    l->timed = timed;
    if (timed)
        l->last_ns = r->arrival_ns;
    return TRUE;
}

/* ---- the inner source ---- */

typedef struct list_src {
    wl__src base;
    const wl_list *l; /* borrowed: must outlive the source */
    size_t next;
    bool synth_times;
    wl__arrivals arr;
    wl_segment seg;
} list_src;

static void
list_free(wl__src *b)
{
    if (b->stages != NULL)
        g_array_free(b->stages, TRUE);
    g_free(b);
}

static int
list_next(wl__src *b, wl_request *out, GError **error)
{
    list_src *s = (list_src *)b;
    if (s->next >= s->l->items->len)
        return 0;
    const item *it = &g_array_index(s->l->items, item, s->next);
    int64_t t = it->arrival_ns;
    uint32_t stage = 0;
    if (s->synth_times) {
        int rc = wl__arrivals_next(&s->arr, &t, &stage, error);
        if (rc <= 0)
            return rc;
    }
    s->next++;
    b->ctx->counters.rows++;
    memset(out, 0, sizeof *out);
    out->arrival_ns = t;
    out->stage = stage;
    out->prompt_tokens = it->prompt;
    out->output_tokens = it->output;
    if (it->nsegs == 0) {
        wl__unique_body(b->ctx, &s->seg, out);
    } else {
        out->segments = &g_array_index(s->l->segs, wl_segment, it->seg_first);
        out->nsegments = it->nsegs;
        out->output_content_id =
            it->output_content_id != 0 ? it->output_content_id : wl__private_id(b->ctx);
    }
    return 1;
}

wl__src *
wl__open_list(wl__ctx *ctx, const wl_list *l, const wl_options *o, GError **error)
{
    g_autoptr(wl__src) b = NULL;
    list_src *s = g_new0(list_src, 1);
    b = &s->base;
    b->next = list_next;
    b->free = list_free;
    b->format = "requests";
    b->ctx = ctx;
    s->l = l;
    s->synth_times = l->timed != 1;
    if (s->synth_times) {
        /* No send times recorded: the arrival process of the options times the requests. */
        if (!wl__arrivals_from_options(&s->arr, &b->stages, o, ctx->seed, error))
            return NULL;
        b->uses_rate = true;
        b->uses_arrivals = true;
    }
    return g_steal_pointer(&b);
}
