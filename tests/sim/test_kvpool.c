/* tests/sim/test_kvpool.c: the block pool and prefix cache against scenarios worked out by
 * hand (block size 4 keeps the arithmetic small), then a random property test that runs the
 * invariant checker after every operation. */
#include <criterion/criterion.h>

#include "base/rng.h"
#include "sim/kvpool.h"
#include "sim/request.h"

static sim_request_pool *pool;

static void
setup(void)
{
    pool = sim_request_pool_new();
}

static void
teardown(void)
{
    sim_request_pool_free(pool);
}

TestSuite(kvpool, .init = setup, .fini = teardown, .timeout = 60);

/* A request whose prompt is the given segments (content id, tokens) pairs. */
static sim_request *
mk(uint64_t id, uint32_t out, int nseg, const wl_segment *segs)
{
    uint32_t p = 0;
    for (int i = 0; i < nseg; i++)
        p += segs[i].tokens;
    wl_request w = {.id = id,
                    .prompt_tokens = p,
                    .output_tokens = out,
                    .nsegments = (uint32_t)nseg,
                    .segments = segs,
                    .output_content_id = 1000 + id};
    return sim_request_pool_take(pool, &w);
}

static sim_request *
mk1(uint64_t id, uint64_t cid, uint32_t tokens)
{
    wl_segment s = {cid, tokens};
    return mk(id, 1, 1, &s);
}

/* allocate + advance num_computed like the scheduler does */
static bool
alloc(sim_kvpool *kv, sim_request *r, uint32_t n, uint32_t hits, uint32_t wm)
{
    if (!sim_kvpool_allocate(kv, r, n, hits, wm, 0))
        return false;
    r->num_computed += hits * sim_kvpool_block_size(kv) + n;
    return true;
}

static void
check(sim_kvpool *kv, sim_request **owners, size_t n)
{
    cr_assert(sim__kvpool_check(kv, owners, n));
}

Test(kvpool, lru_eviction_with_tail_first_release)
{
    sim_kvpool *kv = sim_kvpool_new(9, 4, true); /* null + 8 usable; free queue 1..8 */
    sim_request *a = mk1(1, 100, 10);
    cr_assert(alloc(kv, a, 10, 0, 0));
    /* ceil(10/4) = 3 blocks from the head: 1, 2, 3; floor(10/4) = 2 full blocks cached */
    cr_expect_eq(a->kv.nblocks, 3);
    cr_expect_eq(a->kv.blocks[0], 1);
    cr_expect_eq(a->kv.blocks[2], 3);
    cr_expect_eq(a->kv.ncached, 2);
    cr_expect_eq(sim_kvpool_num_free(kv), 5);
    check(kv, &a, 1);
    sim_kvpool_release(kv, a);
    /* released in reverse: queue is 4 5 6 7 8 3 2 1; blocks 1 and 2 still hold hashes */
    cr_expect_eq(sim_kvpool_num_free(kv), 8);
    cr_expect_eq(sim_kvpool_num_cached_free(kv), 2);
    check(kv, NULL, 0);
    sim_request *b = mk1(2, 200, 20);
    cr_assert(alloc(kv, b, 20, 0, 0)); /* takes 4..8: nothing cached evicted */
    cr_expect_eq(b->kv.blocks[0], 4);
    cr_expect_eq(sim_kvpool_get_stats(kv).evictions, 0);
    sim_request *c = mk1(3, 300, 8);
    cr_assert(alloc(kv, c, 8, 0, 0)); /* takes 3 (no hash), then 2 (A's second block) */
    cr_expect_eq(c->kv.blocks[0], 3);
    cr_expect_eq(c->kv.blocks[1], 2);
    cr_expect_eq(sim_kvpool_get_stats(kv).evictions, 1);
    /* A's first block (1) survived: same content finds exactly one block */
    sim_request *d = mk1(4, 100, 10);
    cr_expect_eq(sim_kvpool_lookup(kv, d, true), 1);
    sim_kvpool_stats st = sim_kvpool_get_stats(kv);
    cr_expect_eq(st.queries, 10);
    cr_expect_eq(st.hits, 4);
    sim_request *own[] = {b, c};
    check(kv, own, 2);
    sim_kvpool_release(kv, b);
    sim_kvpool_release(kv, c);
    sim_kvpool_free(kv);
}

Test(kvpool, hit_is_capped_at_num_tokens_minus_one_and_duplicates_stay_findable)
{
    sim_kvpool *kv = sim_kvpool_new(9, 4, true);
    sim_request *a = mk1(1, 7, 8);
    cr_assert(alloc(kv, a, 8, 0, 0)); /* 2 blocks, both full, both cached */
    cr_expect_eq(a->kv.ncached, 2);
    sim_kvpool_release(kv, a);
    sim_request *e = mk1(2, 7, 8);
    /* 100% cached but the last token must be recomputed: (8 − 1) / 4 = 1 block */
    uint32_t hit = sim_kvpool_lookup(kv, e, true);
    cr_expect_eq(hit, 1);
    cr_assert(alloc(kv, e, 4, hit, 0));
    cr_expect_eq(e->num_computed, 8);
    /* E recomputed block 1: a second block now carries A's block-1 hash */
    check(kv, &e, 1);
    sim_kvpool_release(kv, e);
    /* Worked by hand: A took blocks 1, 2 (hashes h0, h1) and released them (free queue
     * 3 4 5 6 7 8 2 1). E hit block 1, took block 3 for its recomputed block, which carries h1
     * too (map h1 → 2, then 3). E released: 4 5 6 7 8 2 3 1. */
    cr_expect_eq(e->kv.blocks[0], 1);
    cr_expect_eq(e->kv.blocks[1], 3);
    /* X takes six blocks: 4 5 6 7 8 and 2, evicting the first copy of h1. */
    sim_request *x = mk1(9, 999, 24);
    cr_assert(alloc(kv, x, 24, 0, 0));
    cr_expect_eq(x->kv.blocks[5], 2);
    cr_expect_eq(sim_kvpool_get_stats(kv).evictions, 1);
    check(kv, &x, 1);
    /* F = the same 8 tokens + 4 new (cap (12 − 1)/4 = 2): h0 → 1 and h1 → 3, the duplicate */
    wl_segment fs[] = {{7, 8}, {8, 4}};
    sim_request *f = mk(3, 1, 2, fs);
    cr_expect_eq(sim_kvpool_lookup(kv, f, false), 2);
    sim_kvpool_release(kv, x);
    sim_kvpool_free(kv);
}

Test(kvpool, shared_blocks_are_reference_counted)
{
    sim_kvpool *kv = sim_kvpool_new(17, 4, true);
    sim_request *a = mk1(1, 7, 8);
    cr_assert(alloc(kv, a, 8, 0, 0));
    wl_segment gs[] = {{7, 8}, {9, 1}};
    sim_request *g = mk(2, 1, 2, gs);
    /* cap (9 − 1)/4 = 2: both of A's blocks, which A still holds */
    uint32_t hit = sim_kvpool_lookup(kv, g, true);
    cr_expect_eq(hit, 2);
    cr_assert(alloc(kv, g, 1, hit, 0)); /* ceil(9/4) = 3 blocks: 2 shared + 1 new */
    cr_expect_eq(g->kv.nblocks, 3);
    cr_expect_eq(g->kv.blocks[0], a->kv.blocks[0]);
    cr_expect_eq(sim_kvpool_num_used(kv), 3);
    sim_request *own[] = {a, g};
    check(kv, own, 2);
    sim_kvpool_release(kv, a);
    /* still referenced by G: nothing returns to the free queue */
    cr_expect_eq(sim_kvpool_num_used(kv), 3);
    check(kv, &g, 1);
    sim_kvpool_release(kv, g);
    cr_expect_eq(sim_kvpool_num_used(kv), 0);
    check(kv, NULL, 0);
    sim_kvpool_free(kv);
}

Test(kvpool, failed_allocation_has_no_side_effects)
{
    sim_kvpool *kv = sim_kvpool_new(4, 4, true); /* 3 usable */
    sim_request *a = mk1(1, 5, 20);              /* needs 5 blocks */
    cr_expect(!alloc(kv, a, 20, 0, 0));
    cr_expect_eq(a->kv.nblocks, 0);
    cr_expect_eq(a->num_computed, 0);
    cr_expect_eq(sim_kvpool_num_free(kv), 3);
    cr_expect_eq(sim_kvpool_get_stats(kv).alloc_fails, 1);
    check(kv, NULL, 0);
    sim_kvpool_free(kv);
}

Test(kvpool, evictable_hits_and_watermark_count_against_free_blocks)
{
    sim_kvpool *kv = sim_kvpool_new(5, 4, true); /* 4 usable */
    sim_request *a = mk1(1, 7, 8);
    cr_assert(alloc(kv, a, 8, 0, 0));
    sim_kvpool_release(kv, a); /* 4 free, 2 of them cached */
    wl_segment hs[] = {{7, 8}, {11, 5}};
    sim_request *h = mk(2, 1, 2, hs); /* 13 tokens: cap 3 blocks, 2 cached */
    uint32_t hit = sim_kvpool_lookup(kv, h, true);
    cr_expect_eq(hit, 2);
    /* ceil(13/4) = 4 blocks: 2 hits (leaving the free queue) + 2 new = 4 <= 4 free, but a
     * watermark of 1 block makes it 5 > 4 */
    cr_expect(!alloc(kv, h, 5, hit, 1));
    cr_expect_eq(sim_kvpool_num_free(kv), 4);
    cr_expect_eq(h->kv.nblocks, 0);
    cr_assert(alloc(kv, h, 5, hit, 0));
    cr_expect_eq(sim_kvpool_num_free(kv), 0);
    cr_expect_eq(sim_kvpool_get_stats(kv).evictions, 0, "hits were touched, not evicted");
    check(kv, &h, 1);
    sim_kvpool_release(kv, h);
    sim_kvpool_free(kv);
}

Test(kvpool, prefix_caching_off_hashes_nothing)
{
    sim_kvpool *kv = sim_kvpool_new(9, 4, false);
    sim_request *a = mk1(1, 7, 8);
    cr_assert(alloc(kv, a, 8, 0, 0));
    sim_kvpool_release(kv, a);
    sim_request *b = mk1(2, 7, 8);
    cr_expect_eq(sim_kvpool_lookup(kv, b, true), 0);
    cr_expect_eq(sim_kvpool_num_cached_free(kv), 0);
    sim_kvpool_free(kv);
}

Test(kvpool, output_tokens_extend_the_chain_so_the_next_turn_hits)
{
    /* Turn 1: prompt S(6) + Q1(2) = 8, generates 8 tokens (output id 1001). Turn 2's prompt is
     * S + Q1 + A1(8) + Q2(3): its first 4 blocks equal turn 1's blocks (16 tokens known). */
    sim_kvpool *kv = sim_kvpool_new(33, 4, true);
    wl_segment t1[] = {{50, 6}, {51, 2}};
    sim_request *a = mk(1, 8, 2, t1);
    cr_assert(alloc(kv, a, 8, 0, 0));
    for (int i = 0; i < 8; i++) { /* decode: each step adds one known token, computes one */
        a->num_output++;
        if (i < 7)
            cr_assert(alloc(kv, a, 1, 0, 0));
    }
    /* num_tokens 16, computed 15: blocks 0..2 full and cached (block 3 holds 3 computed) */
    cr_expect_eq(a->kv.ncached, 3);
    sim_kvpool_release(kv, a);
    wl_segment t2[] = {{50, 6}, {51, 2}, {1001, 8}, {52, 3}};
    sim_request *b = mk(2, 1, 4, t2);
    cr_expect_eq(sim_kvpool_lookup(kv, b, true), 3);
    sim_kvpool_free(kv);
}

Test(kvpool, random_operations_keep_invariants)
{
    sim_kvpool *kv = sim_kvpool_new(65, 4, true);
    sim_rng rng;
    sim_rng_init(&rng, 77, SIM_STREAM_TEST);

    enum { N = 12 };

    sim_request *live[N] = {0};
    wl_segment segs[N][2];
    uint64_t id = 1;
    for (int op = 0; op < 20000; op++) {
        int k = (int)sim_rng_below(&rng, N);
        if (live[k] == NULL) {
            /* a shared prefix from a small set + a private suffix */
            segs[k][0] =
                (wl_segment){1 + sim_rng_below(&rng, 3), (uint32_t)(4 + sim_rng_below(&rng, 12))};
            uint64_t priv = sim_rng_below(&rng, 2) ? WL_CONTENT_PRIVATE : 0;
            segs[k][1] = (wl_segment){(100 + id) | priv, (uint32_t)(1 + sim_rng_below(&rng, 20))};
            live[k] = mk(id++, 1 + (uint32_t)sim_rng_below(&rng, 30), 2, segs[k]);
        }
        sim_request *r = live[k];
        uint32_t ntok = sim_request_num_tokens(r);
        uint32_t dice = (uint32_t)sim_rng_below(&rng, 10);
        if (dice < 6 && r->num_computed < ntok) {
            uint32_t hits =
                r->kv.nblocks == 0 && r->num_computed == 0 ? sim_kvpool_lookup(kv, r, true) : 0;
            uint32_t left = ntok - r->num_computed - hits * 4;
            uint32_t n = 1 + (uint32_t)sim_rng_below(&rng, left);
            alloc(kv, r, n, hits, (uint32_t)sim_rng_below(&rng, 2));
        } else if (dice < 8 && r->num_computed == ntok && r->num_output < r->output_target) {
            r->num_output++; /* a sampled token */
        } else {
            sim_kvpool_release(kv, r); /* finish or preempt */
            if (dice == 9) {
                sim_request_pool_give(pool, r);
                live[k] = NULL;
            } else {
                r->num_computed = 0;
            }
        }
        sim_request *own[N];
        size_t no = 0;
        for (int i = 0; i < N; i++)
            if (live[i] != NULL)
                own[no++] = live[i];
        if (!sim__kvpool_check(kv, own, no))
            cr_assert_fail("invariant broken at op %d", op);
    }
    for (int i = 0; i < N; i++)
        if (live[i] != NULL)
            sim_kvpool_release(kv, live[i]);
    cr_expect_eq(sim_kvpool_num_used(kv), 0);
    cr_expect_gt(sim_kvpool_get_stats(kv).hits, 0);
    cr_expect_gt(sim_kvpool_get_stats(kv).evictions, 0);
    sim_kvpool_free(kv);
}

Test(kvpool, private_content_is_found_only_by_its_own_request)
{
    sim_kvpool *kv = sim_kvpool_new(12, 4, true); /* 11 usable, free queue 1..11 */
    wl_segment ps = {42 | WL_CONTENT_PRIVATE, 12};
    sim_request *a = mk(1, 5, 1, &ps);
    cr_assert(alloc(kv, a, 12, 0, 0)); /* blocks 1 2 3, all full, tagged (not in the map) */
    cr_expect_eq(a->kv.ncached, 3);
    check(kv, &a, 1);
    /* preemption: release (queue 4..11 3 2 1), computed back to 0; its own blocks are found
     * again, capped at (12 − 1)/4 = 2 */
    sim_kvpool_release(kv, a);
    a->num_computed = 0;
    cr_expect_eq(sim_kvpool_lookup(kv, a, true), 2);
    /* another request with the same (private) content id shares nothing */
    sim_request *b = mk(2, 5, 1, &ps);
    cr_expect_eq(sim_kvpool_lookup(kv, b, true), 0);
    cr_assert(alloc(kv, b, 12, 0, 0)); /* 4 5 6 */
    sim_request *c = mk1(3, 77, 28);
    cr_assert(alloc(kv, c, 28, 0, 0)); /* 7 8 9 10 11, then A's 3 and 2 */
    cr_expect_eq(c->kv.blocks[6], 2);
    sim_kvpool_release(kv, c);
    cr_expect_eq(sim_kvpool_lookup(kv, a, false), 1, "only A's first block kept its tag");
    cr_assert(alloc(kv, a, 8, 1, 0)); /* re-admitted with that hit */
    cr_expect_eq(a->kv.blocks[0], 1);
    sim_request *own[] = {a, b};
    check(kv, own, 2);
    sim_kvpool_release(kv, a);
    sim_kvpool_release(kv, b);
    sim_kvpool_free(kv);
}

/* The up-front estimate is what sim_kvpool_new allocates: per block a 24-byte entry (3 × u32,
 * a bool, a u64 hash), plus a ring of u32 and a map of u64 keys + u32 values, each of the
 * power of two ≥ 2 × blocks (1000 blocks: 2048 entries = 8 KiB + 24 KiB). */
Test(kvpool, state_bytes_estimate_counts_every_array)
{
    uint64_t arrays = 1000 * 24 + 2048 * 4 + 2048 * (8 + 4); /* 56768 */
    uint64_t got = sim_kvpool_state_bytes(1000);
    cr_expect(got >= arrays && got < arrays + 256, "%" G_GUINT64_FORMAT, got);
    /* 1024 blocks: 2 × 1024 is already a power of two */
    uint64_t a2 = 1024 * 24 + 2048 * 16;
    cr_expect(sim_kvpool_state_bytes(1024) - a2 == got - arrays, "same fixed part");
    /* 1025 blocks: the tables double */
    uint64_t a3 = 1025 * 24 + 4096 * 16;
    cr_expect(sim_kvpool_state_bytes(1025) - a3 == got - arrays);
    /* The largest pool: 2^30 blocks, 24 + 2 × 16 bytes each = 56 GiB (no 32-bit overflow). */
    uint64_t big = sim_kvpool_state_bytes(SIM_KVPOOL_MAX_BLOCKS);
    cr_expect(big - (got - arrays) == (UINT64_C(1) << 30) * 56, "%" G_GUINT64_FORMAT, big);
}
