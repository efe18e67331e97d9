/* dsa/tiers.c: tier classification and cost of a selection, and the LRU hot buffer. The
 * buffer is a sorted array of keys with last-use stamps: a call walks the sorted selection
 * against it (hits refresh their stamp), evicts the least recently used keys not used in this
 * step ((stamp, key) order: among equally old keys the lower position goes first) by
 * quickselect, and merges the misses in. O(buffer + selection) per call, deterministic. */
#include "dsa/tiers.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"

const char *const dsa_tier_names[DSA_NTIERS] = {"hbm", "local_pool", "remote_pool"};

static gboolean
tokens_setting(const json_t *v, const char *what, int64_t *out, GError **error)
{
    if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), "all") == 0)) {
        *out = -1;
        return TRUE;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return TRUE;
    }
    g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: expected a token count >= 0 or \"all\"",
                what);
    return FALSE;
}

static void
spec_of(const dsa_tier_options *o, double default_bw, dsa_tier_spec *s)
{
    s->bw = isnan(o->bandwidth_gbps) ? default_bw : o->bandwidth_gbps * 1e9;
    s->efficiency = o->efficiency;
    s->latency_s = o->latency_us * 1e-6;
    s->queue_depth = o->queue_depth;
}

gboolean
dsa_tiers_resolve(const dsa_options *o,
                  const dsa_tier_defaults *d,
                  uint32_t block_size,
                  dsa_tiers *t,
                  GError **error)
{
    memset(t, 0, sizeof *t);
    if (!tokens_setting(o->hot_buffer, "dsa.tiers.hot_buffer_tokens", &t->hot_buffer_tokens,
                        error) ||
        !tokens_setting(o->local_pool, "dsa.tiers.local_pool_tokens", &t->local_pool_tokens, error))
        return FALSE;
    spec_of(&o->hbm, d->hbm_bw, &t->tier[DSA_TIER_HBM]);
    spec_of(&o->local, d->pcie_bw, &t->tier[DSA_TIER_LOCAL]);
    spec_of(&o->remote, d->network_bw, &t->tier[DSA_TIER_REMOTE]);
    for (int i = 0; i < DSA_NTIERS; i++)
        if (!(t->tier[i].bw > 0)) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "dsa.tiers.%s.bandwidth_gbps: the hardware gives none; set it",
                        dsa_tier_names[i]);
            return FALSE;
        }
    t->block_granularity = o->granularity != NULL && strcmp(o->granularity, "block") == 0;
    t->block_size = block_size;
    t->token_bytes = isnan(o->token_bytes) ? d->token_bytes : o->token_bytes;
    t->index_key_bytes = isnan(o->index_key_bytes) ? d->index_key_bytes : o->index_key_bytes;
    t->index_keys_offloaded = o->index_keys_offloaded;
    t->overlap = o->overlap;
    return TRUE;
}

static json_t *
tokens_json(int64_t v)
{
    return v < 0 ? json_string("all") : json_integer(v);
}

json_t *
dsa_tiers_to_json(const dsa_tiers *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "hot_buffer_tokens", tokens_json(t->hot_buffer_tokens));
    json_object_set_new(o, "local_pool_tokens", tokens_json(t->local_pool_tokens));
    json_object_set_new(o, "granularity", json_string(t->block_granularity ? "block" : "token"));
    json_object_set_new(o, "block_size_tokens", json_integer(t->block_size));
    json_object_set_new(o, "token_bytes", base_json_real(t->token_bytes));
    json_object_set_new(o, "index_key_bytes", base_json_real(t->index_key_bytes));
    json_object_set_new(o, "index_keys_offloaded", json_boolean(t->index_keys_offloaded));
    json_object_set_new(o, "overlap", base_json_real(t->overlap));
    for (int i = 0; i < DSA_NTIERS; i++) {
        const dsa_tier_spec *s = &t->tier[i];
        json_t *x = json_object();
        json_object_set_new(x, "bandwidth_gbps", base_json_real(s->bw / 1e9));
        json_object_set_new(x, "efficiency", base_json_real(s->efficiency));
        json_object_set_new(x, "latency_us", base_json_real(s->latency_s * 1e6));
        json_object_set_new(x, "queue_depth", base_json_real(s->queue_depth));
        json_object_set_new(o, dsa_tier_names[i], x);
    }
    return o;
}

void
dsa_hotbuf_clear(dsa_hotbuf *h)
{
    g_free(h->e);
    memset(h, 0, sizeof *h);
}

void
dsa_tier_scratch_clear(dsa_tier_scratch *s)
{
    g_free(s->miss);
    g_free(s->e);
    g_free(s->sel);
    memset(s, 0, sizeof *s);
}

double
dsa_tier_latency_us(const dsa_tier_spec *s, uint64_t ops, uint64_t bytes)
{
    return ((double)ops * s->latency_s / s->queue_depth + (double)bytes / (s->bw * s->efficiency)) *
           1e6;
}

static void
hb_reserve(dsa_hotbuf *h, uint32_t n)
{
    if (h->cap >= n)
        return;
    uint32_t c = h->cap ? h->cap : 64;
    while (c < n)
        c *= 2;
    h->e = g_renew(dsa_hot_entry, h->e, c);
    h->cap = c;
}

/* Fills an empty buffer with the CAP keys just below CUR (stamp 0: older than anything used). */
static void
hb_prime(dsa_hotbuf *h, uint32_t cur, uint64_t cap)
{
    uint32_t lo = cur > cap ? (uint32_t)(cur - cap) : 0;
    hb_reserve(h, cur - lo);
    h->n = 0;
    for (uint32_t k = lo; k < cur; k++) {
        h->e[h->n].key = k;
        h->e[h->n++].stamp = 0;
    }
    h->primed = true;
}

/* The K-th smallest (0-based) of A[0..n) by quickselect (median of three; deterministic). */
static uint64_t
kth_smallest(uint64_t *a, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t x = a[lo], y = a[mid], z = a[hi];
        uint64_t piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        uint32_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < piv)
                i++;
            while (a[j] > piv)
                j--;
            if (i <= j) {
                uint64_t tmp = a[i];
                a[i] = a[j];
                a[j] = tmp;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

static void
scratch_reserve(dsa_tier_scratch *s, uint32_t n, uint32_t hn)
{
    if (s->cap < n) {
        s->cap = n;
        s->miss = g_renew(uint32_t, s->miss, n + 1);
    }
    if (s->kcap < hn + n + 1) {
        s->kcap = hn + n + 1;
        s->e = g_renew(dsa_hot_entry, s->e, s->kcap);
    }
    if (s->scap < hn + 1) {
        s->scap = hn + 1;
        s->sel = g_renew(uint64_t, s->sel, s->scap);
    }
}

/* Rebuilds H from its kept entries and the misses MISS[SKIP..nmiss) into the scratch, then
 * swaps the arrays. KEEP(i) decides old entries. The general path (used when every unused key
 * goes). */
static void
hb_rebuild(dsa_hotbuf *h,
           const uint32_t *miss,
           uint32_t skip,
           uint32_t nmiss,
           bool drop_unused,
           dsa_tier_scratch *s)
{
    uint32_t now = h->clock;
    uint32_t w = 0, j = skip;
    for (uint32_t i = 0; i < h->n || j < nmiss;) {
        if (j >= nmiss || (i < h->n && h->e[i].key < miss[j])) {
            if (!drop_unused || h->e[i].stamp == now) {
                s->e[w].key = h->e[i].key;
                s->e[w++].stamp = h->e[i].stamp;
            }
            i++;
        } else {
            s->e[w].key = miss[j++];
            s->e[w++].stamp = now;
        }
    }
    dsa_hot_entry *k = h->e;
    uint32_t c = h->cap;
    h->e = s->e;
    h->cap = s->kcap;
    s->e = k;
    s->kcap = c;
    h->n = w;
}

/* Evicts and inserts the misses MISS[0..nmiss) (ascending, distinct, not resident) so that at
 * most CAP keys remain; USED keys carry this step's stamp. In steady state a step evicts and
 * inserts a few keys near the current position, so both are done in place: the victims are
 * found by one scan of the stamps, removed by shifting, and the misses merged in from the back
 * (touching only the entries above the first insertion point). */
static void
hb_update(dsa_hotbuf *h,
          const uint32_t *miss,
          uint32_t nmiss,
          uint32_t used,
          uint64_t cap,
          dsa_tier_scratch *s)
{
    uint32_t now = h->clock;
    uint32_t unused = h->n - used;
    uint64_t total = (uint64_t)h->n + nmiss;
    uint64_t evict = total > cap ? total - cap : 0;
    if (evict == 0 && nmiss == 0)
        return;
    if (evict >= unused && evict > 0) {
        /* every unused key goes; if that is not enough, the most recent misses win */
        uint32_t skip = 0;
        if ((uint64_t)used + nmiss > cap)
            skip = (uint32_t)((uint64_t)used + nmiss - cap);
        hb_rebuild(h, miss, skip, nmiss, true, s);
        return;
    }
    if (evict > 0) {
        /* victims: the EVICT smallest (stamp, key) among unused entries */
        uint32_t w = 0;
        if (evict == 1) {
            /* the minimum first (a branch-free reduction), then where it is */
            uint64_t best = UINT64_MAX;
            for (uint32_t i = 0; i < h->n; i++) {
                uint64_t c = h->e[i].stamp == now ? UINT64_MAX
                                                  : ((uint64_t)h->e[i].stamp << 32) | h->e[i].key;
                best = c < best ? c : best;
            }
            uint32_t lo = 0, hi = h->n, bkey = (uint32_t)best; /* keys ascend: bisect */
            while (hi - lo > 1) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (h->e[mid].key <= bkey)
                    lo = mid;
                else
                    hi = mid;
            }
            uint32_t bi = lo;
            g_assert(h->e[bi].key == bkey);
            memmove(h->e + bi, h->e + bi + 1, (h->n - bi - 1) * sizeof *h->e);
            w = h->n - 1;
        } else {
            uint32_t k = 0;
            for (uint32_t i = 0; i < h->n; i++)
                if (h->e[i].stamp != now)
                    s->sel[k++] = ((uint64_t)h->e[i].stamp << 32) | h->e[i].key;
            uint64_t thresh = kth_smallest(s->sel, k, (uint32_t)(evict - 1));
            for (uint32_t i = 0; i < h->n; i++) {
                bool victim = h->e[i].stamp != now &&
                              (((uint64_t)h->e[i].stamp << 32) | h->e[i].key) <= thresh;
                if (!victim) {
                    h->e[w].key = h->e[i].key;
                    h->e[w++].stamp = h->e[i].stamp;
                }
            }
        }
        h->n = w;
    }
    /* merge the misses in from the back */
    hb_reserve(h, h->n + nmiss);
    uint32_t i = h->n, j = nmiss, w = h->n + nmiss;
    while (j > 0) {
        if (i > 0 && h->e[i - 1].key > miss[j - 1]) {
            --w;
            --i;
            h->e[w].key = h->e[i].key;
            h->e[w].stamp = h->e[i].stamp;
        } else {
            --w;
            h->e[w].key = miss[--j];
            h->e[w].stamp = now;
        }
    }
    h->n += nmiss;
}

/* First index ≥ J whose key is ≥ KEY (galloping: unused stretches of the buffer are skipped in
 * logarithmic time). */
static inline uint32_t
hb_seek(const dsa_hotbuf *h, uint32_t j, uint32_t key)
{
    if (j >= h->n || h->e[j].key >= key)
        return j;
    uint32_t step = 1, lo = j, hi = j + 1;
    while (hi < h->n && h->e[hi].key < key) {
        lo = hi;
        step *= 2;
        hi = lo + step;
    }
    if (hi > h->n)
        hi = h->n;
    /* key[lo] < key, key[hi] ≥ key (or hi == n) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->e[mid].key < key)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

void
dsa_tiers_serve(const dsa_tiers *tc,
                dsa_hotbuf *hb,
                const uint32_t *pos,
                uint32_t n,
                uint32_t t,
                dsa_fetch f[DSA_NTIERS],
                dsa_tier_scratch *s)
{
    memset(f, 0, DSA_NTIERS * sizeof *f);
    if (n == 0)
        return;
    const uint32_t B = tc->block_size;
    const bool blk = tc->block_granularity;
    const bool resident = tc->hot_buffer_tokens < 0 || hb == NULL;
    const uint64_t cap =
        resident ? 0
                 : (blk ? (uint64_t)tc->hot_buffer_tokens / B : (uint64_t)tc->hot_buffer_tokens);
    const uint32_t cur = blk ? t / B : t;
    uint64_t tokens[DSA_NTIERS] = {0};
    if (resident) {
        /* everything in HBM: one pass for blocks and runs */
        uint64_t blocks = 1, runs = 1;
        uint64_t end = ((uint64_t)(pos[0] / B) + 1) * B;
        for (uint32_t i = 1; i < n; i++) {
            runs += pos[i] != pos[i - 1] + 1;
            if (pos[i] >= end) {
                blocks++;
                end = ((uint64_t)(pos[i] / B) + 1) * B;
            }
        }
        tokens[DSA_TIER_HBM] = n;
        f[DSA_TIER_HBM].hit_blocks = blocks;
        f[DSA_TIER_HBM].read_ops = blk ? blocks : runs;
    } else {
        if (!hb->primed)
            hb_prime(hb, cur, cap);
        hb->clock++;
        scratch_reserve(s, n, hb->n + 1);
        const uint32_t now = hb->clock;
        const uint64_t local_from = tc->local_pool_tokens < 0 || (uint64_t)tc->local_pool_tokens > t
                                        ? 0
                                        : t + 1 - (uint64_t)tc->local_pool_tokens;
        uint32_t nmiss = 0, j = 0, used = 0, prev_tier = DSA_NTIERS, mask = 0;
        uint32_t blkid = pos[0] / B;
        uint64_t end = ((uint64_t)blkid + 1) * B;
        uint32_t prev_key = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t p = pos[i];
            if (p >= end) { /* block boundary: count the finished block per tier */
                for (int k = 0; k < DSA_NTIERS; k++)
                    f[k].hit_blocks += (mask >> k) & 1u;
                mask = 0;
                blkid = p / B;
                end = ((uint64_t)blkid + 1) * B;
            }
            uint32_t key = blk ? blkid : p;
            uint32_t tier = DSA_TIER_HBM;
            if (key != cur) {
                j = hb_seek(hb, j, key);
                if (j < hb->n && hb->e[j].key == key) {
                    if (hb->e[j].stamp != now) {
                        hb->e[j].stamp = now;
                        used++;
                    }
                } else {
                    uint64_t first = blk ? (uint64_t)key * B : p; /* a block by its start */
                    tier = first >= local_from ? DSA_TIER_LOCAL : DSA_TIER_REMOTE;
                    if (key != prev_key)
                        s->miss[nmiss++] = key;
                }
            }
            prev_key = key;
            tokens[tier]++;
            mask |= 1u << tier;
            if (!blk && (i == 0 || p != pos[i - 1] + 1 || prev_tier != tier))
                f[tier].read_ops++;
            prev_tier = tier;
        }
        for (int k = 0; k < DSA_NTIERS; k++)
            f[k].hit_blocks += (mask >> k) & 1u;
        if (blk)
            for (int k = 0; k < DSA_NTIERS; k++)
                f[k].read_ops = f[k].hit_blocks;
        /* the current token/block was written this step: it joins the buffer */
        bool have_cur = false;
        for (uint32_t i = hb->n; i-- > 0;) {
            if (hb->e[i].key < cur)
                break;
            if (hb->e[i].key == cur) {
                have_cur = true;
                if (hb->e[i].stamp != now) {
                    hb->e[i].stamp = now;
                    used++;
                }
            }
        }
        if (!have_cur && (nmiss == 0 || s->miss[nmiss - 1] < cur))
            s->miss[nmiss++] = cur;
        hb_update(hb, s->miss, nmiss, used, cap, s);
    }
    double per_tok = tc->token_bytes, fetched_tok = per_tok;
    if (tc->index_keys_offloaded)
        fetched_tok += tc->index_key_bytes;
    f[DSA_TIER_HBM].bytes_read = (uint64_t)llround((double)tokens[DSA_TIER_HBM] * per_tok);
    for (int k = DSA_TIER_LOCAL; k < DSA_NTIERS; k++)
        f[k].bytes_read = (uint64_t)llround(blk ? (double)f[k].hit_blocks * B * fetched_tok
                                                : (double)tokens[k] * fetched_tok);
    for (int k = 0; k < DSA_NTIERS; k++)
        f[k].latency_us = dsa_tier_latency_us(&tc->tier[k], f[k].read_ops, f[k].bytes_read);
}
