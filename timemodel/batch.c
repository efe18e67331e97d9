/* timemodel/batch.c: closed forms for the batch summary (docs/domain.md §3.1, §3.5); adding
 * and removing sequences is inline in batch.h. */
#include "timemodel/batch.h"

#include <string.h>

void
tm_batch_init(tm_batch *b, uint32_t dsa_topk)
{
    memset(b, 0, sizeof *b);
    b->dsa_topk = dsa_topk;
    b->decode_max_q = 1;
}

double
tm_causal_pairs(uint64_t q, uint64_t c)
{
    return tm_causal_pairs_inline(q, c);
}

double
tm_sparse_pairs(uint64_t q, uint64_t c, uint64_t k)
{
    if (k == 0 || c + q <= k)
        return tm_causal_pairs(q, c); /* Σ (c+1 .. c+q) */
    if (c >= k)
        return (double)q * (double)k;
    /* positions c+1..k are uncapped, k+1..c+q capped at k */
    uint64_t m = k - c;
    return tm_causal_pairs(m, c) + (double)(q - m) * (double)k;
}
