/* tests/timemodel/test_batch.c: the batch summary's closed forms against brute-force sums
 * (docs/domain.md §3.1, §3.5), and add/remove symmetry. */
#include <criterion/criterion.h>

#include "base/rng.h"
#include "timemodel/batch.h"

static double
brute_causal(uint64_t q, uint64_t c)
{
    double s = 0;
    for (uint64_t j = 1; j <= q; j++)
        s += (double)(c + j); /* query at position c+j sees c+j keys */
    return s;
}

static double
brute_sparse(uint64_t q, uint64_t c, uint64_t k)
{
    double s = 0;
    for (uint64_t x = c + 1; x <= c + q; x++)
        s += (double)(k == 0 || x < k ? x : k);
    return s;
}

Test(batch, closed_forms_match_brute_force)
{
    sim_rng r;
    sim_rng_init(&r, 7, SIM_STREAM_TEST);
    for (int i = 0; i < 3000; i++) {
        uint64_t q = 1 + sim_rng_below(&r, i % 3 == 0 ? 8 : 5000);
        uint64_t c = sim_rng_below(&r, i % 2 ? 300 : 9000);
        uint64_t k = i % 5 == 0 ? 0 : 1 + sim_rng_below(&r, 4096);
        cr_assert_eq(tm_causal_pairs(q, c), brute_causal(q, c), "q=%lu c=%lu", q, c);
        cr_assert_eq(tm_sparse_pairs(q, c, k), brute_sparse(q, c, k), "q=%lu c=%lu k=%lu", q, c, k);
    }
    /* edges: chunk ends exactly at k, starts exactly at k */
    cr_expect_eq(tm_sparse_pairs(10, 2038, 2048), brute_sparse(10, 2038, 2048));
    cr_expect_eq(tm_sparse_pairs(10, 2048, 2048), 10.0 * 2048);
    cr_expect_eq(tm_sparse_pairs(1, 0, 2048), 1.0);
}

Test(batch, add_then_remove_is_empty)
{
    tm_batch b;
    tm_batch_init(&b, 2048);
    tm_batch_add(&b, 512, 100, false);
    tm_batch_add(&b, 1, 5000, true);
    tm_batch_add(&b, 1, 10, true);
    cr_expect_eq(b.num_seqs, 3);
    cr_expect_eq(b.num_prefill, 1);
    cr_expect_eq(b.num_decode, 2);
    cr_expect_eq(b.num_sampled, 2);
    cr_expect_eq(b.tokens, 514);
    cr_expect_eq(b.pairs_decode, 5001.0 + 11.0);
    cr_expect_eq(b.sparse_decode, 2048.0 + 11.0);
    cr_expect_eq(b.kv_prefill, 612.0);
    tm_batch_remove(&b, 1, 5000, true);
    tm_batch_remove(&b, 512, 100, false);
    tm_batch_remove(&b, 1, 10, true);
    cr_expect_eq(b.num_seqs, 0);
    cr_expect_eq(b.tokens, 0);
    cr_expect_eq(b.pairs_prefill + b.pairs_decode + b.sparse_prefill + b.sparse_decode, 0);
}

/* N identical sequences at once: 3 chunks of q = 4 on c = 10 cached tokens have
 * 3·(4·10 + 4·5/2) = 150 causal pairs, 3·14 = 42 KV tokens and 3·16 = 48 Σq². */
Test(batch, add_n_is_n_identical_adds)
{
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 3, 4, 10, true);
    cr_expect_eq(b.num_seqs, 3);
    cr_expect_eq(b.num_prefill, 3);
    cr_expect_eq(b.num_sampled, 3);
    cr_expect_eq(b.tokens, 12.0);
    cr_expect_eq(b.pairs_prefill, 150.0);
    cr_expect_eq(b.kv_prefill, 42.0);
    cr_expect_eq(b.sq_prefill, 48.0);
    tm_batch_add_n(&b, 0, 4, 10, true); /* nothing */
    cr_expect_eq(b.num_seqs, 3);
}
