/* tests/dsa/test_select.c: block arithmetic (groups A/B) and the tier cost model (group C) on
 * small selections worked out by hand, so every figure below is counted on paper, not taken
 * from the code. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dsa/select.h"
#include "dsa/tiers.h"

TestSuite(select, .timeout = 30);

/* positions {0,1,2,15,16,17,40} at t = 50, blocks of 16:
 *   block 0 = {0,1,2,15} (4 tokens), block 1 = {16,17} (2), block 2 = {40} (1)
 *   offsets 50,49,48,35,34,33,10 → sorted 10,33,34,35,48,49,50: min 10, median 35, max 50
 *   token counts sorted 1,2,4: mean 7/3, p50 2, p95 = 2 + 0.9·(4 − 2) = 3.8 (r = 0.95·2)
 *   runs {0..2} {15..17} {40} = 3 */
static const uint32_t P7[] = {0, 1, 2, 15, 16, 17, 40};

Test(select, hand_worked_blocks_offsets_and_runs)
{
    uint32_t ids[7], tok[7], hist[17] = {0};
    dsa_sel_stats st;
    dsa_sel_summarize(P7, 7, 50, 16, ids, tok, hist, &st);
    cr_expect_eq(st.count, 7);
    cr_expect_eq(st.offset_min, 10);
    cr_expect_eq(st.offset_max, 50);
    cr_expect_float_eq(st.offset_p50, 35.0, 1e-12);
    cr_expect_eq(st.unique_blocks, 3);
    cr_expect_eq(ids[0], 0);
    cr_expect_eq(ids[1], 1);
    cr_expect_eq(ids[2], 2);
    cr_expect_eq(tok[0], 4);
    cr_expect_eq(tok[1], 2);
    cr_expect_eq(tok[2], 1);
    cr_expect_float_eq(st.tpb_mean, 7.0 / 3.0, 1e-12);
    cr_expect_float_eq(st.tpb_p50, 2.0, 1e-12);
    cr_expect_float_eq(st.tpb_p95, 3.8, 1e-12);
    cr_expect_eq(st.runs, 3);
    for (int i = 0; i < 17; i++)
        cr_expect_eq(hist[i], 0, "scratch left dirty at %d", i);
}

Test(select, even_count_median_interpolates_and_block_of_one_token)
{
    /* positions {3, 4} at t = 4: offsets 1, 0 → median 0.5; block size 1: 2 blocks of 1 */
    const uint32_t p[] = {3, 4};
    uint32_t ids[2], tok[2], hist[2] = {0};
    dsa_sel_stats st;
    dsa_sel_summarize(p, 2, 4, 1, ids, tok, hist, &st);
    cr_expect_float_eq(st.offset_p50, 0.5, 1e-12);
    cr_expect_eq(st.unique_blocks, 2);
    cr_expect_eq(st.runs, 1);
    cr_expect_float_eq(st.tpb_p95, 1.0, 1e-12);
}

Test(select, normalize_sorts_and_dedupes_captured_orders)
{
    const uint32_t p[] = {40, 2, 17, 2, 0};
    uint32_t scratch[5], n;
    const uint32_t *s = dsa_sel_normalize(p, 5, scratch, &n);
    cr_assert_eq(n, 4);
    const uint32_t want[] = {0, 2, 17, 40};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(s[i], want[i]);
    cr_expect_eq(dsa_sel_normalize(P7, 7, scratch, &n), P7, "sorted input is used in place");
}

Test(select, histogram_percentiles_match_numpy)
{
    /* values 1,1,2,5 → numpy.percentile: p50 = 1.5, p95 = 2 + 0.85·3 = 4.55 (r = 2.85) */
    uint64_t c[6] = {0, 2, 1, 0, 0, 1};
    cr_expect_float_eq(dsa_pct_hist(c, 6, 4, 50), 1.5, 1e-12);
    cr_expect_float_eq(dsa_pct_hist(c, 6, 4, 95), 4.55, 1e-12);
    const uint32_t x[] = {1, 1, 2, 5};
    cr_expect_float_eq(dsa_pct_sorted_u32(x, 4, 95), 4.55, 1e-12);
}

static dsa_tiers
tiers(int64_t hot, int64_t local, bool block)
{
    dsa_tiers t = {.hot_buffer_tokens = hot,
                   .local_pool_tokens = local,
                   .block_granularity = block,
                   .block_size = 16,
                   .token_bytes = 656,
                   .index_key_bytes = 132};
    t.tier[DSA_TIER_HBM] = (dsa_tier_spec){3.35e12, 0.8, 0, 1};
    t.tier[DSA_TIER_LOCAL] = (dsa_tier_spec){64e9, 0.25, 1e-6, 64};
    t.tier[DSA_TIER_REMOTE] = (dsa_tier_spec){50e9, 0.8, 3e-6, 32};
    return t;
}

Test(select, everything_resident_is_one_hbm_gather)
{
    dsa_tiers t = tiers(-1, -1, false);
    dsa_tier_scratch s = {0};
    dsa_fetch f[DSA_NTIERS];
    dsa_tiers_serve(&t, NULL, P7, 7, 50, f, &s);
    cr_expect_eq(f[DSA_TIER_HBM].hit_blocks, 3);
    cr_expect_eq(f[DSA_TIER_HBM].bytes_read, 7 * 656);
    cr_expect_eq(f[DSA_TIER_HBM].read_ops, 3); /* three contiguous runs */
    cr_expect_float_eq(f[DSA_TIER_HBM].latency_us, 7 * 656 / (3.35e12 * 0.8) * 1e6, 1e-9);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read + f[DSA_TIER_REMOTE].bytes_read, 0);
    dsa_tier_scratch_clear(&s);
}

/* Hot buffer of 4 tokens, local pool = the 20 most recent tokens (positions ≥ 51 − 20 = 31),
 * t = 50, selection {0,1,2,15,16,17,40,48,49,50}. The buffer starts with {46..49} (primed).
 *   0,1,2,15,16,17 → remote (older than 31); 40 → local; 48, 49 → hits; 50 = current → HBM.
 *   ops: remote runs {0..2} {15..17} = 2; local {40} = 1; HBM {48..50} = 1
 *   blocks: 0 = {0,1,2,15} remote, 1 = {16,17} remote, 2 = {40} local, 3 = {48,49,50} HBM
 *   latency remote = 2·3/32 + 6·656/(50e9·0.8)·1e6 = 0.1875 + 0.0984 µs
 *   latency local  = 1·1/64 + 656/(64e9·0.25)·1e6 = 0.015625 + 0.041 µs
 * Then the buffer keeps the 4 most recent keys used in this step: {40, 48, 49, 50}. */
Test(select, hot_buffer_local_and_remote_hand_worked)
{
    const uint32_t p[] = {0, 1, 2, 15, 16, 17, 40, 48, 49, 50};
    dsa_tiers t = tiers(4, 20, false);
    dsa_hotbuf hb = {0};
    dsa_tier_scratch s = {0};
    dsa_fetch f[DSA_NTIERS];
    dsa_tiers_serve(&t, &hb, p, 10, 50, f, &s);
    cr_expect_eq(f[DSA_TIER_REMOTE].bytes_read, 6 * 656);
    cr_expect_eq(f[DSA_TIER_REMOTE].read_ops, 2);
    cr_expect_eq(f[DSA_TIER_REMOTE].hit_blocks, 2);
    cr_expect_float_eq(f[DSA_TIER_REMOTE].latency_us, 0.1875 + 0.0984, 1e-9);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read, 656);
    cr_expect_eq(f[DSA_TIER_LOCAL].read_ops, 1);
    cr_expect_eq(f[DSA_TIER_LOCAL].hit_blocks, 1);
    cr_expect_float_eq(f[DSA_TIER_LOCAL].latency_us, 0.015625 + 0.041, 1e-9);
    cr_expect_eq(f[DSA_TIER_HBM].bytes_read, 3 * 656);
    cr_expect_eq(f[DSA_TIER_HBM].read_ops, 1);
    cr_expect_eq(f[DSA_TIER_HBM].hit_blocks, 1);
    cr_assert_eq(hb.n, 4);
    const uint32_t want[] = {40, 48, 49, 50};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(hb.e[i].key, want[i]);
    /* next step t = 51 selects {0, 40, 49, 51}: 0 remote (0 < 32), 40 and 49 hits, 51 current */
    const uint32_t q[] = {0, 40, 49, 51};
    dsa_tiers_serve(&t, &hb, q, 4, 51, f, &s);
    cr_expect_eq(f[DSA_TIER_REMOTE].bytes_read, 656);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read, 0);
    cr_expect_eq(f[DSA_TIER_HBM].bytes_read, 3 * 656);
    cr_expect_eq(f[DSA_TIER_HBM].read_ops, 3); /* {40}, {49}, {51}: no two adjacent */
    /* LRU: 40 and 49 were used now, 0 and 51 are new: 4 keys fill the buffer, so the unused
     * 48 and 50 go. */
    const uint32_t want2[] = {0, 40, 49, 51};
    cr_assert_eq(hb.n, 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(hb.e[i].key, want2[i]);
    dsa_hotbuf_clear(&hb);
    dsa_tier_scratch_clear(&s);
}

Test(select, lru_evicts_the_least_recently_used_first)
{
    /* capacity 3 tokens: step 1 (t = 10) uses {1, 2}: buffer primed {7, 8, 9} then holds the
     * most recent three of {1, 2, 10} ∪ unused {7, 8, 9}: 1, 2, 10 used now → {1, 2, 10}. Step 2
     * (t = 11) uses {2}: new 11; evict the older of the unused {1 (step 1), 10 (step 1)}: equal
     * stamps → lower key first → 1 goes → {2, 10, 11}. */
    dsa_tiers t = tiers(3, -1, false);
    dsa_hotbuf hb = {0};
    dsa_tier_scratch s = {0};
    dsa_fetch f[DSA_NTIERS];
    const uint32_t a[] = {1, 2};
    dsa_tiers_serve(&t, &hb, a, 2, 10, f, &s);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read, 2 * 656);
    cr_assert_eq(hb.n, 3);
    cr_expect(hb.e[0].key == 1 && hb.e[1].key == 2 && hb.e[2].key == 10);
    const uint32_t b[] = {2};
    dsa_tiers_serve(&t, &hb, b, 1, 11, f, &s);
    cr_expect_eq(f[DSA_TIER_HBM].bytes_read, 656);
    cr_assert_eq(hb.n, 3);
    cr_expect(hb.e[0].key == 2 && hb.e[1].key == 10 && hb.e[2].key == 11, "%u %u %u", hb.e[0].key,
              hb.e[1].key, hb.e[2].key);
    dsa_hotbuf_clear(&hb);
    dsa_tier_scratch_clear(&s);
}

Test(select, block_granularity_fetches_whole_blocks)
{
    /* no hot buffer, everything local: blocks 0, 1, 2 fetched whole: 3·16·656 bytes, 3 ops;
     * with the indexer keys offloaded too: 3·16·(656 + 132) */
    dsa_tiers t = tiers(0, -1, true);
    dsa_hotbuf hb = {0};
    dsa_tier_scratch s = {0};
    dsa_fetch f[DSA_NTIERS];
    dsa_tiers_serve(&t, &hb, P7, 7, 50, f, &s);
    cr_expect_eq(f[DSA_TIER_LOCAL].hit_blocks, 3);
    cr_expect_eq(f[DSA_TIER_LOCAL].read_ops, 3);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read, 3 * 16 * 656);
    cr_expect_eq(f[DSA_TIER_HBM].bytes_read, 0);
    cr_expect_eq(hb.n, 0, "a zero-size buffer holds nothing");
    t.index_keys_offloaded = true;
    dsa_tiers_serve(&t, &hb, P7, 7, 50, f, &s);
    cr_expect_eq(f[DSA_TIER_LOCAL].bytes_read, 3 * 16 * (656 + 132));
    dsa_hotbuf_clear(&hb);
    dsa_tier_scratch_clear(&s);
}
