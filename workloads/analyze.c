/* workloads/analyze.c: streaming workload statistics (see analyze.h). Everything kept is
 * bounded: length histograms by distinct value, rate buckets (width doubles past the cap),
 * and the two-generation block-hash set. */
#include "workloads/analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/stats.h"

#define MAX_BUCKETS 100000

/* Open-addressing set of non-zero 64-bit hashes (linear probing, power-of-two capacity). */
typedef struct hset {
    uint64_t *keys;
    size_t cap, n;
} hset;

static void
hset_init(hset *h, size_t cap)
{
    h->cap = 16;
    while (h->cap < cap * 2)
        h->cap *= 2;
    h->keys = g_new0(uint64_t, h->cap);
    h->n = 0;
}

static bool
hset_has(const hset *h, uint64_t k)
{
    for (size_t i = k & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->keys[i] == k)
            return true;
        if (h->keys[i] == 0)
            return false;
    }
}

static void
hset_add(hset *h, uint64_t k)
{
    for (size_t i = k & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->keys[i] == k)
            return;
        if (h->keys[i] == 0) {
            h->keys[i] = k;
            h->n++;
            return;
        }
    }
}

static void
hset_clear(hset *h)
{
    memset(h->keys, 0, h->cap * sizeof *h->keys);
    h->n = 0;
}

struct wl_analysis {
    wl_analysis_params p;
    uint64_t n;
    int64_t first, last;
    base_moments ia;
    GHashTable *plen, *olen; /* length -> count */
    uint64_t ptotal, ototal;
    uint64_t sessions;
    uint32_t max_turn;
    hset gen[2]; /* gen[0] current, gen[1] previous */
    size_t gen_cap;
    uint64_t prompt_blocks, shared_blocks, with_hit, forgotten;
    GArray *blocks; /* scratch: hashes of the current request's blocks */
    GArray *buckets;
    double bucket_s;
};

wl_analysis *
wl_analysis_new(const wl_analysis_params *p)
{
    wl_analysis *a = g_new0(wl_analysis, 1);
    a->p = *p;
    if (a->p.block_tokens == 0)
        a->p.block_tokens = 16;
    if (a->p.max_blocks < 2)
        a->p.max_blocks = 2;
    if (!(a->p.bucket_s > 0))
        a->p.bucket_s = 60;
    a->bucket_s = a->p.bucket_s;
    a->plen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    a->olen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    a->gen_cap = a->p.max_blocks / 2;
    hset_init(&a->gen[0], a->gen_cap);
    hset_init(&a->gen[1], a->gen_cap);
    a->blocks = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    a->buckets = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    return a;
}

void
wl_analysis_free(wl_analysis *a)
{
    if (a == NULL)
        return;
    g_hash_table_destroy(a->plen);
    g_hash_table_destroy(a->olen);
    g_free(a->gen[0].keys);
    g_free(a->gen[1].keys);
    g_array_free(a->blocks, TRUE);
    g_array_free(a->buckets, TRUE);
    g_free(a);
}

static void
count_len(GHashTable *h, uint32_t v)
{
    int64_t k = v;
    uint64_t *c = g_hash_table_lookup(h, &k);
    if (c == NULL) {
        c = g_new0(uint64_t, 1);
        g_hash_table_insert(h, g_memdup2(&k, sizeof k), c);
    }
    (*c)++;
}

static bool
seen(const wl_analysis *a, uint64_t h)
{
    return hset_has(&a->gen[0], h) || hset_has(&a->gen[1], h);
}

static void
remember(wl_analysis *a, uint64_t h)
{
    if (hset_has(&a->gen[0], h))
        return;
    if (a->gen[0].n >= a->gen_cap) {
        /* Rotate: the previous generation is forgotten (its keys not also in gen[0]). */
        a->forgotten += a->gen[1].n;
        hset tmp = a->gen[1];
        a->gen[1] = a->gen[0];
        a->gen[0] = tmp;
        hset_clear(&a->gen[0]);
    }
    hset_add(&a->gen[0], h);
}

/* Hashes of the full blocks of SEGS (then the output segment, if OUT_TOKENS > 0). */
static void
block_hashes(wl_analysis *a, const wl_request *r, bool with_output)
{
    const uint32_t B = a->p.block_tokens;
    g_array_set_size(a->blocks, 0);
    uint64_t acc = 0x6a09e667f3bcc908ull, parent = acc;
    uint32_t fill = 0;
    uint32_t n = r->nsegments + (with_output ? 1 : 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = i < r->nsegments ? r->segments[i].content_id : r->output_content_id;
        uint32_t len = i < r->nsegments ? r->segments[i].tokens : r->output_tokens;
        uint32_t off = 0;
        while (off < len) {
            uint32_t take = MIN(len - off, B - fill);
            acc = sim_mix64(acc ^ sim_mix64(id + 0x9E3779B97F4A7C15ull * (uint64_t)off)) + take;
            off += take;
            fill += take;
            if (fill == B) {
                parent = sim_mix64(acc ^ parent);
                uint64_t h = parent != 0 ? parent : 1;
                g_array_append_val(a->blocks, h);
                acc = parent;
                fill = 0;
            }
        }
    }
}

static void
add_bucket(wl_analysis *a, int64_t t)
{
    double idx = floor((double)t * 1e-9 / a->bucket_s);
    while (idx >= MAX_BUCKETS) {
        /* Merge pairs: width doubles. */
        guint n = a->buckets->len;
        for (guint i = 0; i < n; i += 2) {
            uint64_t v = g_array_index(a->buckets, uint64_t, i);
            if (i + 1 < n)
                v += g_array_index(a->buckets, uint64_t, i + 1);
            g_array_index(a->buckets, uint64_t, i / 2) = v;
        }
        g_array_set_size(a->buckets, (n + 1) / 2);
        a->bucket_s *= 2;
        idx = floor((double)t * 1e-9 / a->bucket_s);
    }
    guint i = idx > 0 ? (guint)idx : 0;
    if (i >= a->buckets->len)
        g_array_set_size(a->buckets, i + 1);
    g_array_index(a->buckets, uint64_t, i)++;
}

void
wl_analysis_add(wl_analysis *a, const wl_request *r)
{
    if (a->n == 0)
        a->first = r->arrival_ns;
    else
        base_moments_add(&a->ia, (double)(r->arrival_ns - a->last) * 1e-9);
    a->last = r->arrival_ns;
    a->n++;
    count_len(a->plen, r->prompt_tokens);
    count_len(a->olen, r->output_tokens);
    a->ptotal += r->prompt_tokens;
    a->ototal += r->output_tokens;
    if (r->session_id != 0) {
        if (r->turn == 0)
            a->sessions++;
        a->max_turn = MAX(a->max_turn, r->turn);
    }
    add_bucket(a, r->arrival_ns);
    /* Prefix sharing: leading prompt blocks already seen. */
    block_hashes(a, r, true);
    uint64_t full_prompt = r->prompt_tokens / a->p.block_tokens;
    uint64_t hit = 0;
    while (hit < full_prompt && seen(a, g_array_index(a->blocks, uint64_t, hit)))
        hit++;
    a->prompt_blocks += full_prompt;
    a->shared_blocks += hit;
    if (hit > 0)
        a->with_hit++;
    for (guint i = 0; i < a->blocks->len; i++)
        remember(a, g_array_index(a->blocks, uint64_t, i));
}

static int
cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

typedef struct vc {
    int64_t v;
    uint64_t c;
} vc;

/* Value of rank K (0-based) in the sorted multiset. */
static double
at_rank(const vc *x, size_t n, uint64_t k)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += x[i].c;
        if (k < cum)
            return (double)x[i].v;
    }
    return (double)x[n - 1].v;
}

static double
pct(const vc *x, size_t n, uint64_t total, double p)
{
    double r = p / 100.0 * (double)(total - 1);
    uint64_t lo = (uint64_t)floor(r);
    double a = at_rank(x, n, lo), b = at_rank(x, n, lo + 1 < total ? lo + 1 : lo);
    return a + (r - (double)lo) * (b - a);
}

static void
length_stats(GHashTable *h, uint64_t total_tokens, wl_length_stats *s)
{
    memset(s, 0, sizeof *s);
    guint n = g_hash_table_size(h);
    if (n == 0) {
        s->mean = s->min = s->p50 = s->p90 = s->p99 = s->max = NAN;
        return;
    }
    vc *x = g_new(vc, n);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h);
    guint i = 0;
    while (g_hash_table_iter_next(&it, &k, &v)) {
        x[i].v = *(int64_t *)k;
        x[i].c = *(uint64_t *)v;
        s->n += x[i].c;
        i++;
    }
    qsort(x, n, sizeof *x, cmp_i64); /* v is the first member */
    s->total = total_tokens;
    s->mean = (double)total_tokens / (double)s->n;
    s->min = (double)x[0].v;
    s->max = (double)x[n - 1].v;
    s->p50 = pct(x, n, s->n, 50);
    s->p90 = pct(x, n, s->n, 90);
    s->p99 = pct(x, n, s->n, 99);
    g_free(x);
}

void
wl_analysis_result_get(wl_analysis *a, wl_analysis_result *o)
{
    memset(o, 0, sizeof *o);
    o->requests = a->n;
    o->first_ns = a->first;
    o->last_ns = a->last;
    o->span_s = (double)(a->last - a->first) * 1e-9;
    o->mean_rate = o->span_s > 0 ? (double)(a->n - 1) / o->span_s : (double)NAN;
    o->ia_mean_s = a->ia.n > 0 ? a->ia.mean : (double)NAN;
    o->ia_cv = a->ia.n > 1 && a->ia.mean > 0 ? base_moments_cv(&a->ia) : (double)NAN;
    length_stats(a->plen, a->ptotal, &o->prompt);
    length_stats(a->olen, a->ototal, &o->output);
    o->sessions = a->sessions;
    o->max_turn = a->max_turn;
    o->block_tokens = a->p.block_tokens;
    o->prompt_blocks = a->prompt_blocks;
    o->shared_blocks = a->shared_blocks;
    o->shared_token_frac = a->ptotal > 0
                               ? (double)(a->shared_blocks * a->p.block_tokens) / (double)a->ptotal
                               : (double)NAN;
    o->requests_with_hit = a->with_hit;
    o->blocks_forgotten = a->forgotten;
    o->bucket_s = a->bucket_s;
    o->nbuckets = a->buckets->len;
    o->buckets = (const uint64_t *)(void *)a->buckets->data;
}
