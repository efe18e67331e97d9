/* timemodel/batch.h: the batch summary a scheduler accumulates while planning a step
 * (docs/design.md §5, docs/domain.md §3.1), so that pricing a step is O(1) in the number of
 * sequences.
 *
 * Per scheduled sequence i: q_i new tokens this step, c_i tokens already in the KV cache before
 * the step. Causal (query, key) pairs P_i = q_i·c_i + q_i(q_i+1)/2 (decode: c_i + 1).
 * Sequences with q_i <= decode_max_q (1; 1 + k under speculative decoding) are "decode class"
 * (vLLM's MLA backends pick the absorbed form by query length, and treat a verify of 1 + k
 * tokens as decode), others "prefill class" (MHA form). Sums are doubles: exact below 2^53. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct tm_batch {
    uint32_t num_seqs;     /* sequences scheduled this step */
    uint32_t num_prefill;  /* prefill class: q > 1 */
    uint32_t num_decode;   /* decode class: q <= decode_max_q */
    uint32_t num_sampled;  /* S: sequences that produce a token (logits computed) */
    double tokens;         /* T = Σ q */
    double prefill_tokens; /* Σ q, prefill class */
    double decode_tokens;  /* Σ q, decode class (= num_decode without speculative decoding) */
    double pairs_prefill;  /* Σ P_i, prefill class */
    double pairs_decode;   /* Σ P_i, decode class */
    double kv_prefill;     /* Σ (c_i + q_i), prefill class: KV tokens attention reads */
    double kv_decode;      /* Σ (c_i + q_i), decode class */
    double sparse_prefill; /* DSA: Σ over query positions of min(topk, ctx), prefill class */
    double sparse_decode;  /* same, decode class */
    double sq_prefill;     /* Σ q_i², prefill class (Vidur's chunk collapse) */
    uint32_t dsa_topk;     /* per-query key cap of the sparse sums: the DSA indexer's top-k, or
                            * the window of a model's sliding-window layers; 0 = none */
    uint32_t decode_max_q; /* longest query priced as decode: 1 (tm_batch_init), 1 + k with
                              speculative decoding (set after init, before adding) */
    double spec_tokens;    /* draft tokens verified this step (Σ over sequences, set by the
                              simulator): the target computes logits for them too */
    /* Set by the simulator, not by tm_batch_add (0 = not known): */
    double common_prefix_tokens; /* cascade attention: KV tokens every sequence of the step
                                  * shares (vLLM's common_prefix_len, a multiple of the block
                                  * size, capped by the least num_computed of the step); 0
                                  * when the engine profile has no cascade attention */
    double moe_group_tokens;     /* tokens entering the MoE layers of the whole expert group
                                  * this step (Σ over the DP ranks stepping in lockstep);
                                  * 0 = this batch's tokens × dp (every rank alike) */
} tm_batch;

/* Empties B; DSA_TOPK 0 for dense-attention models. */
void tm_batch_init(tm_batch *b, uint32_t dsa_topk);

/* Σ_{x=c+1}^{c+q} min(k, x): sparse-attention pairs of a chunk (each query at position c+j
 * sees c+j keys, of which the indexer keeps min(k, c+j)). k == 0 means dense (no cap). */
double tm_sparse_pairs(uint64_t q, uint64_t c, uint64_t k);
/* q·c + q(q+1)/2 */
double tm_causal_pairs(uint64_t q, uint64_t c);

static inline double
tm_causal_pairs_inline(uint64_t q, uint64_t c)
{
    double dq = (double)q;
    return dq * (double)c + dq * (dq + 1.0) / 2.0;
}

/* Adds (SIGN_D 1.0) or removes (−1.0) N identical sequences: every field is a sum over
 * sequences, so N of them cost one update. Inline because the scheduler calls it for every
 * sequence of every step. */
static inline void
tm__batch_apply(tm_batch *b, uint32_t n, uint64_t q, uint64_t c, bool samples, double sign_d)
{
    double sign = sign_d * (double)n;
    uint32_t s = sign_d > 0 ? n : (uint32_t)0 - n; /* modular: adds or subtracts N */
    b->num_seqs += s;
    if (samples)
        b->num_sampled += s;
    if (q == 1) {
        /* the decode class, nearly every call: q·c + q(q+1)/2 and c + q are both c + 1, and
         * sign · q is sign (the same doubles as the general expressions, c < 2^53) */
        double c1 = (double)(c + 1);
        double sparse = b->dsa_topk > 0 ? tm_sparse_pairs(1, c, b->dsa_topk) : 0.0;
        b->tokens += sign;
        b->num_decode += s;
        b->decode_tokens += sign;
        b->pairs_decode += sign * c1;
        b->kv_decode += sign * c1;
        b->sparse_decode += sign * sparse;
        return;
    }
    double dq = (double)q;
    double pairs = tm_causal_pairs_inline(q, c);
    double kv = (double)(c + q);
    double sparse = b->dsa_topk > 0 ? tm_sparse_pairs(q, c, b->dsa_topk) : 0.0;
    b->tokens += sign * dq;
    if (q <= b->decode_max_q) {
        /* speculative decoding: a verify of 1 + k tokens is priced as decode */
        b->num_decode += s;
        b->decode_tokens += sign * dq;
        b->pairs_decode += sign * pairs;
        b->kv_decode += sign * kv;
        b->sparse_decode += sign * sparse;
        return;
    }
    b->num_prefill += s;
    b->prefill_tokens += sign * dq;
    b->pairs_prefill += sign * pairs;
    b->kv_prefill += sign * kv;
    b->sparse_prefill += sign * sparse;
    b->sq_prefill += sign * dq * dq;
}

/* Adds one sequence with Q > 0 new tokens on top of C cached ones; SAMPLES if it emits a
 * token this step (its chunk reaches the end of its known tokens). */
static inline void
tm_batch_add(tm_batch *b, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0)
        tm__batch_apply(b, 1, q, c, samples, 1.0);
}

/* Adds N identical sequences in O(1) (the same sums as N calls of tm_batch_add). */
static inline void
tm_batch_add_n(tm_batch *b, uint32_t n, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0 && n > 0)
        tm__batch_apply(b, n, q, c, samples, 1.0);
}

/* Removes a sequence previously added with the same arguments (a scheduler that drops a
 * planned request when preempting it). */
static inline void
tm_batch_remove(tm_batch *b, uint64_t q, uint64_t c, bool samples)
{
    if (q > 0)
        tm__batch_apply(b, 1, q, c, samples, -1.0);
}
