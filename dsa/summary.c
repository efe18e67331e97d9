/* dsa/summary.c: trace summary accumulator. Offsets are counted per run of consecutive
 * positions with a difference array (a run adds +1 at its smallest offset and −1 past its
 * largest), so a clustered record costs O(runs), not O(k); the counts are integrated once at
 * the end. Hot blocks live in a per-request hash table until the request ends. */
#include "dsa/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "dsa/select.h"

typedef struct hot_entry {
    uint64_t request_id;
    uint32_t n;
    uint32_t block[DSA_HOT_BLOCKS];
    uint64_t touches[DSA_HOT_BLOCKS];
} hot_entry;

typedef struct u64hist {
    uint64_t *c;
    size_t n; /* values 0..n−1 */
    uint64_t total;
    double sum;
} u64hist;

struct dsa_summary {
    uint64_t records;
    uint64_t hit_records; /* prefix_cache_hit */
    u64hist unique_blocks, tpb;
    int64_t *odiff; /* offsets: difference array */
    size_t nodiff;
    uint64_t noffsets;
    double offsets_sum;
    GHashTable *ratio; /* llround(ratio·1e6) → count */
    double ratio_sum;
    dsa_fetch tot[DSA_NTIERS];
    double tot_latency[DSA_NTIERS];
    GHashTable *requests; /* request id → GHashTable(block → touches) or NULL once done */
    GArray *done;         /* hot_entry of finished requests */
    uint8_t layers[65536 / 8];
    /* scratch */
    uint32_t *sorted;
    uint32_t scap;
};

static void
hist_add(u64hist *h, uint64_t v)
{
    if (v >= h->n) {
        size_t n = h->n ? h->n : 64;
        while (n <= v)
            n *= 2;
        h->c = g_renew(uint64_t, h->c, n);
        memset(h->c + h->n, 0, (n - h->n) * sizeof *h->c);
        h->n = n;
    }
    h->c[v]++;
    h->total++;
    h->sum += (double)v;
}

static void
free_table(gpointer p)
{
    if (p != NULL)
        g_hash_table_destroy(p);
}

dsa_summary *
dsa_summary_new(void)
{
    dsa_summary *s = g_new0(dsa_summary, 1);
    s->ratio = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    s->requests = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, free_table);
    s->done = g_array_new(FALSE, FALSE, sizeof(hot_entry));
    return s;
}

void
dsa_summary_free(dsa_summary *s)
{
    if (s == NULL)
        return;
    g_free(s->unique_blocks.c);
    g_free(s->tpb.c);
    g_free(s->odiff);
    g_hash_table_destroy(s->ratio);
    g_hash_table_destroy(s->requests);
    g_array_free(s->done, TRUE);
    g_free(s->sorted);
    g_free(s);
}

uint64_t
dsa_summary_records(const dsa_summary *s)
{
    return s->records;
}

static void
add_offsets(dsa_summary *s, uint32_t lo, uint32_t hi)
{
    if ((size_t)hi + 2 > s->nodiff) {
        size_t n = s->nodiff ? s->nodiff : 4096;
        while (n < (size_t)hi + 2)
            n *= 2;
        s->odiff = g_renew(int64_t, s->odiff, n);
        memset(s->odiff + s->nodiff, 0, (n - s->nodiff) * sizeof *s->odiff);
        s->nodiff = n;
    }
    s->odiff[lo]++;
    s->odiff[hi + 1]--;
    uint64_t k = (uint64_t)hi - lo + 1;
    s->noffsets += k;
    s->offsets_sum += ((double)lo + (double)hi) * (double)k / 2.0;
}

void
dsa_summary_add(dsa_summary *s, const dsa_record *r)
{
    s->records++;
    s->hit_records += r->prefix_cache_hit;
    s->layers[r->layer_id >> 3] |= (uint8_t)(1u << (r->layer_id & 7));
    hist_add(&s->unique_blocks, r->unique_blocks);
    for (int k = 0; k < DSA_NTIERS; k++) {
        s->tot[k].hit_blocks += r->fetch[k].hit_blocks;
        s->tot[k].bytes_read += r->fetch[k].bytes_read;
        s->tot[k].read_ops += r->fetch[k].read_ops;
        s->tot_latency[k] += r->fetch[k].latency_us;
    }
    int64_t key = llround(r->intersection_ratio * 1e6);
    uint64_t *cnt = g_hash_table_lookup(s->ratio, &key);
    if (cnt == NULL) {
        cnt = g_new0(uint64_t, 1);
        g_hash_table_insert(s->ratio, g_memdup2(&key, sizeof key), cnt);
    }
    (*cnt)++;
    s->ratio_sum += r->intersection_ratio;

    /* positions: sorted and distinct (captures may list them in score order) */
    uint32_t n = r->npos;
    if (s->scap < n) {
        s->scap = n;
        s->sorted = g_renew(uint32_t, s->sorted, n);
    }
    const uint32_t *pos = dsa_sel_normalize(r->pos, r->npos, s->sorted, &n);
    if (n > 0) {
        /* one pass: tokens per touched block and runs of consecutive positions (offsets) */
        uint32_t t = r->seq_len_current - 1;
        uint32_t B = r->block_size_tokens;
        uint32_t cur = pos[0] / B, c = 1, run_start = pos[0];
        uint64_t end = ((uint64_t)cur + 1) * B;
        for (uint32_t i = 1; i < n; i++) {
            uint32_t p = pos[i];
            if (p != pos[i - 1] + 1) {
                add_offsets(s, t - pos[i - 1], t - run_start);
                run_start = p;
            }
            if (p >= end) {
                hist_add(&s->tpb, c);
                cur = p / B;
                end = ((uint64_t)cur + 1) * B;
                c = 0;
            }
            c++;
        }
        hist_add(&s->tpb, c);
        add_offsets(s, t - pos[n - 1], t - run_start);
    }

    /* hot blocks */
    uint64_t id = r->request_id;
    GHashTable *h = NULL;
    gpointer val;
    if (g_hash_table_lookup_extended(s->requests, &id, NULL, &val)) {
        h = val;
    } else {
        h = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        g_hash_table_insert(s->requests, g_memdup2(&id, sizeof id), h);
    }
    if (h == NULL)
        return; /* ended (a late record of a finished request: should not happen) */
    for (uint32_t i = 0; i < r->nisect; i++) {
        gpointer k = GSIZE_TO_POINTER((gsize)r->isect[i] + 1u);
        uint64_t *c = g_hash_table_lookup(h, k);
        if (c == NULL) {
            c = g_new0(uint64_t, 1);
            g_hash_table_insert(h, k, c);
        }
        (*c)++;
    }
}

static int
cmp_hot(const void *a, const void *b)
{
    /* (touches desc, block asc) */
    const uint64_t *x = a, *y = b;
    if (x[1] != y[1])
        return x[1] > y[1] ? -1 : 1;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static hot_entry
top_of(uint64_t id, GHashTable *h)
{
    hot_entry e = {.request_id = id};
    guint n = g_hash_table_size(h);
    if (n == 0)
        return e;
    uint64_t *pairs = g_new(uint64_t, 2 * (size_t)n);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, h);
    size_t i = 0;
    while (g_hash_table_iter_next(&it, &k, &v)) {
        pairs[2 * i] = GPOINTER_TO_SIZE(k) - 1u;
        pairs[2 * i + 1] = *(uint64_t *)v;
        i++;
    }
    qsort(pairs, n, 2 * sizeof *pairs, cmp_hot);
    for (i = 0; i < n && i < DSA_HOT_BLOCKS; i++) {
        e.block[i] = (uint32_t)pairs[2 * i];
        e.touches[i] = pairs[2 * i + 1];
    }
    e.n = (uint32_t)i;
    g_free(pairs);
    return e;
}

void
dsa_summary_request_done(dsa_summary *s, uint64_t request_id)
{
    gpointer val;
    if (!g_hash_table_lookup_extended(s->requests, &request_id, NULL, &val) || val == NULL)
        return;
    hot_entry e = top_of(request_id, val);
    if (e.n > 0)
        g_array_append_val(s->done, e);
    g_hash_table_insert(s->requests, g_memdup2(&request_id, sizeof request_id), NULL);
}

static json_t *
hist_json(const u64hist *h)
{
    if (h->total == 0)
        return json_null();
    size_t lo = 0, hi = h->n - 1;
    while (h->c[lo] == 0)
        lo++;
    while (h->c[hi] == 0)
        hi--;
    json_t *o = json_object();
    json_object_set_new(o, "min", json_integer((json_int_t)lo));
    json_object_set_new(o, "p50", base_json_real(dsa_pct_hist(h->c, h->n, h->total, 50)));
    json_object_set_new(o, "p95", base_json_real(dsa_pct_hist(h->c, h->n, h->total, 95)));
    json_object_set_new(o, "max", json_integer((json_int_t)hi));
    json_object_set_new(o, "mean", base_json_real(h->sum / (double)h->total));
    return o;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int
cmp_entry(const void *a, const void *b)
{
    const hot_entry *x = a, *y = b;
    return (x->request_id > y->request_id) - (x->request_id < y->request_id);
}

/* Value at 0-based rank I over sorted (key, count) pairs. */
static double
ratio_at(const int64_t *keys, const uint64_t *counts, size_t n, uint64_t i)
{
    uint64_t seen = 0;
    for (size_t k = 0; k < n; k++) {
        seen += counts[k];
        if (seen > i)
            return (double)keys[k] / 1e6;
    }
    return (double)keys[n - 1] / 1e6;
}

static json_t *
ratio_json(const dsa_summary *s)
{
    if (s->records == 0)
        return json_null();
    guint n = 0;
    g_autofree gpointer *ks = g_hash_table_get_keys_as_array(s->ratio, &n);
    g_autofree int64_t *keys = g_new(int64_t, n);
    for (guint i = 0; i < n; i++)
        keys[i] = *(int64_t *)ks[i];
    qsort(keys, n, sizeof *keys, cmp_i64);
    g_autofree uint64_t *counts = g_new(uint64_t, n);
    for (guint i = 0; i < n; i++)
        counts[i] = *(uint64_t *)g_hash_table_lookup(s->ratio, &keys[i]);
    uint64_t total = s->records;
    json_t *o = json_object();
    json_object_set_new(o, "min", base_json_real((double)keys[0] / 1e6));
    const double ps[2] = {50, 95};
    const char *names[2] = {"p50", "p95"};
    for (int j = 0; j < 2; j++) {
        double r = ps[j] / 100.0 * (double)(total - 1);
        uint64_t lo = (uint64_t)floor(r), hi = lo + 1 < total ? lo + 1 : lo;
        double a = ratio_at(keys, counts, n, lo), b = ratio_at(keys, counts, n, hi);
        json_object_set_new(o, names[j], base_json_real(a + (r - (double)lo) * (b - a)));
    }
    json_object_set_new(o, "max", base_json_real((double)keys[n - 1] / 1e6));
    json_object_set_new(o, "mean", base_json_real(s->ratio_sum / (double)total));
    return o;
}

static json_t *
offsets_json(const dsa_summary *s)
{
    if (s->noffsets == 0)
        return json_null();
    /* integrate the difference array into counts per offset */
    uint64_t *c = g_new(uint64_t, s->nodiff);
    int64_t run = 0;
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t i = 0; i < s->nodiff; i++) {
        run += s->odiff[i];
        c[i] = (uint64_t)run;
        if (run > 0) {
            lo = lo == SIZE_MAX ? i : lo;
            hi = i;
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "min", json_integer((json_int_t)lo));
    json_object_set_new(o, "p50", base_json_real(dsa_pct_hist(c, s->nodiff, s->noffsets, 50)));
    json_object_set_new(o, "p95", base_json_real(dsa_pct_hist(c, s->nodiff, s->noffsets, 95)));
    json_object_set_new(o, "max", json_integer((json_int_t)hi));
    json_object_set_new(o, "mean", base_json_real(s->offsets_sum / (double)s->noffsets));
    g_free(c);
    return o;
}

json_t *
dsa_summary_json(const dsa_summary *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "records", json_integer((json_int_t)s->records));
    json_object_set_new(o, "requests", json_integer(g_hash_table_size(s->requests)));
    json_t *layers = json_array();
    for (uint32_t l = 0; l < 65536; l++)
        if (s->layers[l >> 3] & (1u << (l & 7)))
            json_array_append_new(layers, json_integer(l));
    json_object_set_new(o, "layers", layers);
    json_object_set_new(o, "unique_blocks", hist_json(&s->unique_blocks));
    json_object_set_new(o, "tokens_per_touched_block", hist_json(&s->tpb));
    json_object_set_new(o, "offsets", offsets_json(s));
    json_object_set_new(o, "prefix_intersection_ratio", ratio_json(s));
    json_object_set_new(o, "prefix_cache_hit_records", json_integer((json_int_t)s->hit_records));
    json_t *kv = json_object();
    for (int k = 0; k < DSA_NTIERS; k++) {
        json_t *t = json_object();
        json_object_set_new(t, "hit_blocks", json_integer((json_int_t)s->tot[k].hit_blocks));
        json_object_set_new(t, "bytes_read", json_integer((json_int_t)s->tot[k].bytes_read));
        json_object_set_new(t, "read_ops", json_integer((json_int_t)s->tot[k].read_ops));
        json_object_set_new(t, "latency_us", base_json_real(s->tot_latency[k]));
        json_object_set_new(t, "latency_us_per_record",
                            s->records > 0 ? base_json_real(s->tot_latency[k] / (double)s->records)
                                           : json_null());
        json_object_set_new(kv, dsa_tier_names[k], t);
    }
    json_object_set_new(o, "kv_fetch", kv);
    /* hot blocks: finished requests plus the live ones, by request id */
    GArray *all = g_array_new(FALSE, FALSE, sizeof(hot_entry));
    g_array_append_vals(all, s->done->data, s->done->len);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->requests);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (v != NULL) {
            hot_entry e = top_of(*(uint64_t *)k, v);
            if (e.n > 0)
                g_array_append_val(all, e);
        }
    g_array_sort(all, cmp_entry);
    json_t *hot = json_array();
    for (guint i = 0; i < all->len; i++) {
        const hot_entry *e = &g_array_index(all, hot_entry, i);
        json_t *x = json_object();
        json_object_set_new(x, "request_id", json_integer((json_int_t)e->request_id));
        json_t *bl = json_array();
        for (uint32_t j = 0; j < e->n; j++)
            json_array_append_new(
                bl, json_pack("[I,I]", (json_int_t)e->block[j], (json_int_t)e->touches[j]));
        json_object_set_new(x, "blocks", bl);
        json_array_append_new(hot, x);
    }
    g_array_free(all, TRUE);
    json_object_set_new(o, "prefix_hot_blocks", hot);
    return o;
}
