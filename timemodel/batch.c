/* timemodel/batch.c: closed forms for the batch summary (docs/domain.md §3.1, §3.5). */
#include "timemodel/batch.h"

#include <string.h>

void
tm_batch_init(tm_batch *b, uint32_t dsa_topk)
{
    memset(b, 0, sizeof *b);
    b->dsa_topk = dsa_topk;
}

double
tm_causal_pairs(uint64_t q, uint64_t c)
{
    double dq = (double)q;
    return dq * (double)c + dq * (dq + 1.0) / 2.0;
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

/* Adds (SIGN > 0) or removes N identical sequences: every field is a sum over sequences. */
static void
apply(tm_batch *b, uint32_t n, uint64_t q, uint64_t c, bool samples, double sign_d)
{
    double sign = sign_d * (double)n;
    double dq = (double)q;
    double pairs = tm_causal_pairs(q, c);
    double kv = (double)(c + q);
    double sparse = b->dsa_topk > 0 ? tm_sparse_pairs(q, c, b->dsa_topk) : 0.0;
    uint32_t s = sign_d > 0 ? n : (uint32_t)0 - n; /* modular: adds or subtracts N */
    b->num_seqs += s;
    if (samples)
        b->num_sampled += s;
    b->tokens += sign * dq;
    if (q == 1) {
        b->num_decode += s;
        b->decode_tokens += sign * dq;
        b->pairs_decode += sign * pairs;
        b->kv_decode += sign * kv;
        b->sparse_decode += sign * sparse;
    } else {
        b->num_prefill += s;
        b->prefill_tokens += sign * dq;
        b->pairs_prefill += sign * pairs;
        b->kv_prefill += sign * kv;
        b->sparse_prefill += sign * sparse;
        b->sq_prefill += sign * dq * dq;
    }
}

void
tm_batch_add(tm_batch *b, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0)
        apply(b, 1, q, c, samples, 1.0);
}

void
tm_batch_add_n(tm_batch *b, uint32_t n, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0 && n > 0)
        apply(b, n, q, c, samples, 1.0);
}

void
tm_batch_remove(tm_batch *b, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0)
        apply(b, 1, q, c, samples, -1.0);
}
