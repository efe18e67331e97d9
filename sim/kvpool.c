/* sim/kvpool.c: block pool + prefix cache. Blocks are an array of small structs; the free
 * queue is a ring of block ids in LRU order with lazy deletion (a block taken out of the middle
 * by a prefix hit leaves a stale entry that pop skips; the ring is compacted when full), which
 * touches memory sequentially where a linked list would miss cache on both neighbours of every
 * block it moves; the hash map is open addressing
 * with linear probing and backward-shift deletion (no tombstones), keyed by nonzero 64-bit
 * chain hashes. Like vLLM's hash → {block_id: block} map, several blocks may carry one hash
 * (a request recomputes the block its capped hit left out): the map points at the first
 * inserted, the others hang off it in insertion order and take over when it is evicted.
 *
 * Private blocks: once a request's chain includes private content (WL_CONTENT_PRIVATE), its
 * later blocks can only ever be hit by that request itself (after a preemption). They carry a
 * tag (PRIVATE bit | request uid | block index) instead of a chain hash, stay out of the map,
 * and are found again through the request's remembered block table, checking the block still
 * carries the tag (it loses it when reallocated). Same hits as the map would give. */
#include "sim/kvpool.h"

#include <string.h>

#include "base/rng.h"

#define NIL         UINT32_MAX
#define PRIVATE_TAG (UINT64_C(1) << 63) /* hash values with this bit are private tags */
#define FQ_PREFETCH 8                   /* free-queue pops fetched ahead */

static inline bool
is_private(uint64_t h)
{
    return (h & PRIVATE_TAG) != 0;
}

typedef struct {
    uint32_t ref;
    uint32_t fpos;     /* ring counter of its live free-queue entry (valid while in_free) */
    uint32_t dup_next; /* next block carrying the same hash (insertion order), or NIL */
    bool in_free;
    uint64_t hash; /* 0 = not hashed */
} block;

struct sim_kvpool {
    sim__kvpool_head h; /* first: the inline allocation check in kvpool.h reads it */
    block *b;
    uint32_t *ring; /* free queue: ring[k & rmask] for k in [rhead, rtail) */
    uint32_t rmask;
    uint32_t rhead, rtail; /* wrapping counters */
    uint32_t cached_free;  /* free blocks with hash != 0 */
    /* hash map */
    uint64_t *mkeys;
    uint32_t *mvals;
    uint32_t mmask, mcount;
    sim_kvpool_stats st;
};

/* ---- hash map ---- */

/* Chain hashes are already mixed (splitmix64 outputs): fold, no further mixing. */
static inline uint32_t
slot_of(const sim_kvpool *p, uint64_t h)
{
    return (uint32_t)(h ^ (h >> 29)) & p->mmask;
}

static uint32_t
map_get(const sim_kvpool *p, uint64_t h)
{
    for (uint32_t i = slot_of(p, h);; i = (i + 1) & p->mmask) {
        if (p->mkeys[i] == 0)
            return NIL;
        if (p->mkeys[i] == h)
            return p->mvals[i];
    }
}

static uint32_t
map_slot(const sim_kvpool *p, uint64_t h)
{
    for (uint32_t i = slot_of(p, h);; i = (i + 1) & p->mmask)
        if (p->mkeys[i] == 0 || p->mkeys[i] == h)
            return i;
}

/* Adds BLK under H; an existing entry keeps priority (first inserted wins on lookup). */
static void
map_put(sim_kvpool *p, uint64_t h, uint32_t blk)
{
    uint32_t i = map_slot(p, h);
    p->b[blk].dup_next = NIL;
    if (p->mkeys[i] == h) {
        uint32_t t = p->mvals[i];
        while (p->b[t].dup_next != NIL)
            t = p->b[t].dup_next;
        p->b[t].dup_next = blk;
        return;
    }
    p->mkeys[i] = h;
    p->mvals[i] = blk;
    p->mcount++;
}

/* Removes BLK from H's entry; the key goes when its last block does. */
static void
map_del(sim_kvpool *p, uint64_t h, uint32_t blk)
{
    uint32_t i = map_slot(p, h);
    g_assert(p->mkeys[i] == h);
    uint32_t head = p->mvals[i];
    if (head != blk) {
        uint32_t t = head;
        while (p->b[t].dup_next != blk) {
            t = p->b[t].dup_next;
            g_assert(t != NIL);
        }
        p->b[t].dup_next = p->b[blk].dup_next;
        p->b[blk].dup_next = NIL;
        return;
    }
    if (p->b[blk].dup_next != NIL) {
        p->mvals[i] = p->b[blk].dup_next;
        p->b[blk].dup_next = NIL;
        return;
    }
    /* backward-shift deletion keeps probe sequences intact */
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & p->mmask;
        if (p->mkeys[j] == 0)
            break;
        uint32_t home = slot_of(p, p->mkeys[j]);
        /* move j to i if its home is not in (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            p->mkeys[i] = p->mkeys[j];
            p->mvals[i] = p->mvals[j];
            i = j;
        }
    }
    p->mkeys[i] = 0;
    p->mcount--;
}

/* ---- free queue ---- */

static inline bool
fq_live(const sim_kvpool *p, uint32_t k)
{
    const block *x = &p->b[p->ring[k & p->rmask]];
    return x->in_free && x->fpos == k;
}

/* Rewrites the live entries contiguously (order kept); stale ones vanish. */
static void
fq_compact(sim_kvpool *p)
{
    uint32_t w = p->rhead;
    for (uint32_t k = p->rhead; k != p->rtail; k++) {
        if (!fq_live(p, k))
            continue;
        uint32_t id = p->ring[k & p->rmask];
        p->ring[w & p->rmask] = id;
        p->b[id].fpos = w;
        w++;
    }
    p->rtail = w;
}

static void
fq_append(sim_kvpool *p, uint32_t i)
{
    block *x = &p->b[i];
    g_assert(!x->in_free && x->ref == 0);
    if (p->rtail - p->rhead == p->rmask + 1)
        fq_compact(p); /* at most nblocks live entries in a ring of ≥ 2·nblocks */
    x->in_free = true;
    x->fpos = p->rtail;
    p->ring[p->rtail & p->rmask] = i;
    p->rtail++;
    p->h.nfree++;
    if (x->hash != 0)
        p->cached_free++;
}

/* Takes block I out of the free queue (its ring entry goes stale). */
static void
fq_remove(sim_kvpool *p, uint32_t i)
{
    block *x = &p->b[i];
    g_assert(x->in_free);
    x->in_free = false;
    p->h.nfree--;
    if (x->hash != 0)
        p->cached_free--;
}

/* Pops the LRU block, evicting its hash (lazy eviction). */
static uint32_t
fq_pop(sim_kvpool *p)
{
    g_assert(p->h.nfree > 0);
    while (!fq_live(p, p->rhead))
        p->rhead++;
    uint32_t i = p->ring[p->rhead & p->rmask];
    p->rhead++;
    /* LRU blocks are the coldest in memory and an admission pops dozens in a row: fetch the
     * block a few pops ahead (entries in [rhead, rtail) hold valid ids) */
    if (p->rtail - p->rhead > FQ_PREFETCH)
        __builtin_prefetch(&p->b[p->ring[(p->rhead + FQ_PREFETCH) & p->rmask]]);
    fq_remove(p, i);
    block *x = &p->b[i];
    if (x->hash != 0) {
        if (!is_private(x->hash))
            map_del(p, x->hash, i);
        x->hash = 0;
        p->st.evictions++;
    }
    p->st.allocations++;
    return i;
}

/* Capacity of the free-queue ring and of the hash map: a power of two ≥ 2 × NUM_BLOCKS. */
static uint32_t
table_cap(uint32_t num_blocks)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)num_blocks)
        cap *= 2;
    return (uint32_t)MIN(cap, (uint64_t)2 * SIM_KVPOOL_MAX_BLOCKS);
}

uint64_t
sim_kvpool_state_bytes(uint32_t num_blocks)
{
    uint64_t cap = table_cap(num_blocks);
    return sizeof(sim_kvpool) + (uint64_t)num_blocks * sizeof(block) + cap * sizeof(uint32_t) +
           cap * (sizeof(uint64_t) + sizeof(uint32_t));
}

sim_kvpool *
sim_kvpool_new(uint32_t num_blocks, uint32_t block_size, bool prefix_caching)
{
    g_return_val_if_fail(num_blocks >= 2 && num_blocks <= SIM_KVPOOL_MAX_BLOCKS && block_size >= 1,
                         NULL);
    sim_kvpool *p = g_new0(sim_kvpool, 1);
    p->h.nblocks = num_blocks;
    p->h.block_size = block_size;
    p->h.prefix_caching = prefix_caching;
    p->b = g_new0(block, num_blocks);
    uint32_t rcap = table_cap(num_blocks);
    p->ring = g_new(uint32_t, rcap);
    p->rmask = rcap - 1;
    for (uint32_t i = 0; i < num_blocks; i++)
        p->b[i].dup_next = NIL;
    p->b[0].ref = 1; /* the null block is permanently taken */
    for (uint32_t i = 1; i < num_blocks; i++)
        fq_append(p, i);
    uint32_t cap = table_cap(num_blocks);
    p->mkeys = g_new0(uint64_t, cap);
    p->mvals = g_new0(uint32_t, cap);
    p->mmask = cap - 1;
    return p;
}

void
sim_kvpool_free(sim_kvpool *p)
{
    if (p == NULL)
        return;
    g_free(p->b);
    g_free(p->ring);
    g_free(p->mkeys);
    g_free(p->mvals);
    g_free(p);
}

uint32_t
sim_kvpool_block_size(const sim_kvpool *p)
{
    return p->h.block_size;
}

uint32_t
sim_kvpool_usable(const sim_kvpool *p)
{
    return p->h.nblocks - 1;
}

uint32_t
sim_kvpool_num_free(const sim_kvpool *p)
{
    return p->h.nfree;
}

uint32_t
sim_kvpool_num_used(const sim_kvpool *p)
{
    return p->h.nblocks - 1 - p->h.nfree;
}

uint32_t
sim_kvpool_num_cached_free(const sim_kvpool *p)
{
    return p->cached_free;
}

uint32_t
sim_kvpool_block_ref(const sim_kvpool *p, uint32_t id)
{
    g_assert(id < p->h.nblocks);
    return p->b[id].ref;
}

bool
sim_kvpool_prefix_caching(const sim_kvpool *p)
{
    return p->h.prefix_caching;
}

sim_kvpool_stats
sim_kvpool_get_stats(const sim_kvpool *p)
{
    return p->st;
}

/* ---- content hashing (docs/design.md §4) ---- */

/* Folds one piece (content id, offset inside the content, length) into the chain. Two blocks
 * hash equal iff their parents are equal and they consist of the same pieces. */
static inline uint64_t
fold_piece(uint64_t h, uint64_t cid, uint32_t off, uint32_t len)
{
    h = sim_mix64(h ^ sim_mix64(cid + UINT64_C(0x632BE59BD9B4E019)));
    return sim_mix64(h + (((uint64_t)off << 32) | len));
}

static inline uint64_t
private_tag(const sim_request *r, uint32_t j)
{
    return PRIVATE_TAG | ((r->uid & ((UINT64_C(1) << 39) - 1)) << 24) | (j & 0xFFFFFFu);
}

void
sim_kvpool_hash_blocks(const sim_kvpool *p, sim_request *r, uint32_t nblocks)
{
    sim_kvseq *kv = &r->kv;
    if (nblocks <= kv->nhashes)
        return;
    g_assert((uint64_t)nblocks * p->h.block_size <= sim_request_num_tokens(r));
    if (kv->hcap < nblocks) {
        uint32_t cap = kv->hcap ? kv->hcap : 16;
        while (cap < nblocks)
            cap *= 2;
        kv->hashes = g_renew(uint64_t, kv->hashes, cap);
        kv->hcap = cap;
    }
    /* a private chain stays private: only is_private(parent) matters then, and the flag spares
     * reading the last hash (a cache miss every block_size decode tokens) */
    uint64_t parent = kv->private_chain ? PRIVATE_TAG
                      : kv->nhashes > 0 ? kv->hashes[kv->nhashes - 1]
                                        : UINT64_C(0x5EED0F5EED0F5EED);
    for (uint32_t j = kv->nhashes; j < nblocks; j++) {
        if (is_private(parent)) {
            /* the chain is private from here on: no hashing, just tags */
            parent = kv->hashes[j] = private_tag(r, j);
            continue;
        }
        uint64_t h = parent;
        uint32_t need = p->h.block_size;
        bool priv = false;
        while (need > 0) {
            uint64_t cid;
            uint32_t take;
            if (kv->cur_seg < r->nsegs) {
                const wl_segment *s = &r->segs[kv->cur_seg];
                uint32_t avail = s->tokens - kv->cur_off;
                if (avail == 0) { /* empty segment or exhausted */
                    kv->cur_seg++;
                    kv->cur_off = 0;
                    continue;
                }
                cid = s->content_id;
                take = avail < need ? avail : need;
            } else {
                /* generated tokens: offset counts from the first output token */
                cid = r->output_cid;
                take = need;
            }
            priv |= (cid & WL_CONTENT_PRIVATE) != 0;
            h = fold_piece(h, cid, kv->cur_off, take);
            kv->cur_off += take;
            need -= take;
        }
        if (priv) {
            h = private_tag(r, j);
        } else {
            h &= ~PRIVATE_TAG;
            if (h == 0)
                h = 1;
        }
        kv->hashes[j] = h;
        parent = h;
    }
    kv->nhashes = nblocks;
    kv->private_chain = is_private(parent);
}

uint64_t
sim_kvpool_prefix_key(const sim_kvpool *p, sim_request *r, uint32_t ntokens)
{
    g_assert(ntokens <= r->prompt_tokens);
    uint32_t full = ntokens / p->h.block_size;
    sim_kvpool_hash_blocks(p, r, full);
    uint64_t h = full > 0 ? r->kv.hashes[full - 1] : UINT64_C(0x5EED0F5EED0F5EED);
    uint32_t start = full * p->h.block_size;
    if (start == ntokens || is_private(h))
        return h;
    /* fold the partial tail [start, ntokens) piece by piece, as a block would be */
    uint32_t at = 0;
    bool priv = false;
    for (uint32_t i = 0; i < r->nsegs && at < ntokens; i++) {
        const wl_segment *sg = &r->segs[i];
        uint32_t s0 = at, s1 = at + sg->tokens;
        at = s1;
        if (s1 <= start)
            continue;
        uint32_t lo = s0 > start ? s0 : start, hi = s1 < ntokens ? s1 : ntokens;
        if (hi <= lo)
            continue;
        priv |= (sg->content_id & WL_CONTENT_PRIVATE) != 0;
        h = fold_piece(h, sg->content_id, lo - s0, hi - lo);
    }
    if (priv)
        return PRIVATE_TAG | sim_mix64(h ^ r->uid);
    h &= ~PRIVATE_TAG;
    return h != 0 ? h : 1;
}

uint32_t
sim_kvpool_shared_prefix_blocks(const sim_kvpool *p, const sim_request *r, uint32_t from)
{
    if (!p->h.prefix_caching)
        return 0;
    uint32_t n = from;
    while (n < r->kv.ncached && n < r->kv.nhashes && !is_private(r->kv.hashes[n]) &&
           map_get(p, r->kv.hashes[n]) != NIL)
        n++;
    return n;
}

/* The cached block holding R's block J (whose hash is computed), or NIL. */
static uint32_t
find_block(const sim_kvpool *p, const sim_request *r, uint32_t j)
{
    uint64_t h = r->kv.hashes[j];
    if (!is_private(h))
        return map_get(p, h);
    /* only R itself can hold it: where R's block J was before its last release */
    if (j < r->kv.prev_nblocks && p->b[r->kv.blocks[j]].hash == h)
        return r->kv.blocks[j];
    return NIL;
}

uint32_t
sim_kvpool_lookup(sim_kvpool *p, sim_request *r, bool count)
{
    uint32_t ntok = sim_request_num_tokens(r);
    if (count) {
        p->st.lookups++;
        p->st.queries += ntok;
    }
    if (!p->h.prefix_caching || ntok == 0)
        return 0;
    uint32_t maxb = (ntok - 1) / p->h.block_size;
    uint32_t n = 0;
    while (n < maxb) {
        if (n >= r->kv.nhashes)
            sim_kvpool_hash_blocks(p, r, n + 1 + (maxb - n - 1 < 15 ? maxb - n - 1 : 15));
        if (find_block(p, r, n) == NIL)
            break;
        n++;
    }
    if (count)
        p->st.hits += (uint64_t)n * p->h.block_size;
    return n;
}

static void
push_block(sim_kvseq *kv, uint32_t id)
{
    if (kv->nblocks == kv->cap) {
        kv->cap = kv->cap ? kv->cap * 2 : 16;
        kv->blocks = g_renew(uint32_t, kv->blocks, kv->cap);
    }
    kv->blocks[kv->nblocks++] = id;
}

/* The general case: hit blocks, new blocks, newly full blocks to cache (see
 * sim_kvpool_allocate in kvpool.h for the case that returns before it). */
bool
sim__kvpool_allocate_slow(sim_kvpool *p,
                          sim_request *r,
                          uint32_t num_new,
                          uint32_t num_lookahead,
                          uint32_t hit_blocks,
                          uint32_t watermark_blocks,
                          uint32_t max_model_len)
{
    sim_kvseq *kv = &r->kv;
    g_assert(hit_blocks == 0 || kv->nblocks == 0);
    uint64_t computed = (uint64_t)r->num_computed + (uint64_t)hit_blocks * p->h.block_size;
    uint64_t slots = computed + num_new + num_lookahead;
    if (max_model_len > 0 && slots > max_model_len)
        slots = max_model_len;
    /* need = ceil(slots / block_size) − have, dividing only when the held blocks do not cover
     * the slots: a decode step needs a new block once every block_size tokens, and this runs
     * for every scheduled request of every step */
    uint64_t have = (uint64_t)kv->nblocks + hit_blocks;
    uint32_t need = 0;
    if (slots > have * p->h.block_size)
        need = (uint32_t)((slots + p->h.block_size - 1) / p->h.block_size - have);
    /* Hit blocks that sit in the free queue leave it, so they count against free space. */
    uint32_t evictable_hits = 0;
    for (uint32_t j = 0; j < hit_blocks; j++) {
        uint32_t id = find_block(p, r, j);
        g_assert(id != NIL);
        if (p->b[id].ref == 0)
            evictable_hits++;
    }
    if ((uint64_t)need + evictable_hits + watermark_blocks > p->h.nfree) {
        p->st.alloc_fails++;
        return false;
    }
    for (uint32_t j = 0; j < hit_blocks; j++) {
        uint32_t id = find_block(p, r, j); /* before push_block overwrites blocks[j] */
        if (p->b[id].ref == 0)
            fq_remove(p, id);
        p->b[id].ref++;
        push_block(kv, id);
    }
    if (hit_blocks > 0)
        kv->ncached = hit_blocks;
    for (uint32_t k = 0; k < need; k++) {
        uint32_t id = fq_pop(p);
        p->b[id].ref = 1;
        push_block(kv, id);
    }
    if (p->h.prefix_caching) {
        /* cache_blocks(num_computed + num_new capped at num_tokens): full blocks only. The
         * test before the division: min(filled / block_size, nblocks) > ncached */
        uint64_t filled = computed + num_new;
        uint32_t ntok = sim_request_num_tokens(r);
        if (filled > ntok)
            filled = ntok;
        if (kv->nblocks > kv->ncached && filled >= (uint64_t)(kv->ncached + 1) * p->h.block_size) {
            uint32_t full = (uint32_t)(filled / p->h.block_size);
            if (full > kv->nblocks)
                full = kv->nblocks;
            sim_kvpool_hash_blocks(p, r, full);
            for (uint32_t j = kv->ncached; j < full; j++) {
                block *x = &p->b[kv->blocks[j]];
                g_assert(x->hash == 0);
                x->hash = kv->hashes[j];
                if (!is_private(x->hash))
                    map_put(p, x->hash, kv->blocks[j]);
            }
            kv->ncached = full;
        }
    }
    return true;
}

void
sim_kvpool_release(sim_kvpool *p, sim_request *r)
{
    sim_kvseq *kv = &r->kv;
    for (uint32_t k = kv->nblocks; k-- > 0;) {
        if (k >= FQ_PREFETCH) /* the blocks are scattered: fetch ahead of the walk */
            __builtin_prefetch(&p->b[kv->blocks[k - FQ_PREFETCH]]);
        block *x = &p->b[kv->blocks[k]];
        g_assert(x->ref > 0);
        if (--x->ref == 0)
            fq_append(p, kv->blocks[k]);
    }
    kv->prev_nblocks = kv->nblocks;
    kv->nblocks = 0;
    kv->ncached = 0;
}

bool
sim__kvpool_check(const sim_kvpool *p, sim_request *const *owners, size_t nowners)
{
    uint32_t *owned = g_new0(uint32_t, p->h.nblocks);
    for (size_t k = 0; k < nowners; k++)
        for (uint32_t j = 0; j < owners[k]->kv.nblocks; j++)
            owned[owners[k]->kv.blocks[j]]++;
    bool ok = true;
    uint32_t nfree = 0, cached = 0;
    for (uint32_t k = p->rhead; k != p->rtail; k++) {
        if (!fq_live(p, k))
            continue;
        uint32_t i = p->ring[k & p->rmask];
        if (++nfree > p->h.nblocks) {
            g_warning("kvpool: free queue broken at block %u", i);
            ok = false;
            break;
        }
        cached += p->b[i].hash != 0;
    }
    if (ok && (nfree != p->h.nfree || cached != p->cached_free)) {
        g_warning("kvpool: free count %u/%u cached %u/%u", nfree, p->h.nfree, cached,
                  p->cached_free);
        ok = false;
    }
    for (uint32_t i = 1; i < p->h.nblocks && ok; i++) {
        const block *x = &p->b[i];
        if (x->in_free == (x->ref > 0)) {
            g_warning("kvpool: block %u free=%d ref=%u", i, x->in_free, x->ref);
            ok = false;
        } else if (x->ref != owned[i]) {
            g_warning("kvpool: block %u ref %u but %u owners", i, x->ref, owned[i]);
            ok = false;
        } else if (x->hash != 0 && !is_private(x->hash)) {
            uint32_t t = map_get(p, x->hash);
            while (t != NIL && t != i)
                t = p->b[t].dup_next;
            if (t != i) {
                g_warning("kvpool: block %u hash not reachable from the map", i);
                ok = false;
            }
        }
    }
    uint32_t mc = 0;
    for (uint32_t s = 0; s <= p->mmask && ok; s++) {
        if (p->mkeys[s] == 0)
            continue;
        mc++;
        uint32_t id = p->mvals[s];
        if (id == 0 || id >= p->h.nblocks || p->b[id].hash != p->mkeys[s] ||
            map_get(p, p->mkeys[s]) != id) {
            g_warning("kvpool: map entry %u inconsistent", s);
            ok = false;
        }
    }
    if (ok && mc != p->mcount) {
        g_warning("kvpool: map count %u != %u", mc, p->mcount);
        ok = false;
    }
    g_free(owned);
    return ok;
}
