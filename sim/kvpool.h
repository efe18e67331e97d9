/* sim/kvpool.h: the paged KV block pool with prefix caching, the mechanism of vLLM V1's
 * BlockPool / KVCacheManager (docs/domain.md §1.5–1.6):
 *   - fixed-size blocks with reference counts; block 0 is the reserved null block;
 *   - a free queue of ref-0 blocks in LRU order: allocation pops the head, a released
 *     sequence appends its blocks to the tail in reverse order (tail blocks are evicted first);
 *   - a hash → block map over the content chain (docs/design.md §4): only full blocks are hashed;
 *     a free block keeps its hash (evictable cached block) until it is reallocated (lazy
 *     eviction); several blocks may carry one hash (a recomputed block): the first inserted
 *     wins on lookup and the next takes over when it is evicted;
 *   - a prefix hit is capped at num_tokens − 1 tokens (the last prompt token is recomputed).
 * Requests own their block tables (sim_request.kv); the pool owns blocks and the map. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sim/request.h"

typedef struct sim_kvpool sim_kvpool;

typedef struct sim_kvpool_stats {
    uint64_t queries;     /* prefix lookups: Σ num_tokens looked up (vLLM's metric) */
    uint64_t hits;        /* Σ hit tokens */
    uint64_t lookups;     /* number of lookups */
    uint64_t evictions;   /* cached blocks whose hash was dropped on reallocation */
    uint64_t allocations; /* blocks taken from the free queue */
    uint64_t alloc_fails; /* allocate calls that did not fit */
} sim_kvpool_stats;

/* Most blocks one pool may have (its ring and map index with 32 bits, sized 2 × NUM_BLOCKS). */
#define SIM_KVPOOL_MAX_BLOCKS (UINT32_C(1) << 30)

/* NUM_BLOCKS includes the null block (usable = NUM_BLOCKS − 1), 2 ≤ NUM_BLOCKS ≤
 * SIM_KVPOOL_MAX_BLOCKS. */
sim_kvpool *sim_kvpool_new(uint32_t num_blocks, uint32_t block_size, bool prefix_caching);
/* Bytes sim_kvpool_new allocates for NUM_BLOCKS (fixed for the pool's life): the block array
 * plus the free-queue ring and the hash map, each sized to a power of two ≥ 2 × NUM_BLOCKS, so
 * 56 to 88 bytes per block. Lets callers refuse a configuration before allocating it. */
uint64_t sim_kvpool_state_bytes(uint32_t num_blocks);
void sim_kvpool_free(sim_kvpool *p); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_kvpool, sim_kvpool_free)

uint32_t sim_kvpool_block_size(const sim_kvpool *p);
uint32_t sim_kvpool_usable(const sim_kvpool *p);          /* num_blocks − 1 */
uint32_t sim_kvpool_num_free(const sim_kvpool *p);        /* blocks in the free queue */
uint32_t sim_kvpool_num_used(const sim_kvpool *p);        /* blocks with ref_cnt > 0 */
uint32_t sim_kvpool_num_cached_free(const sim_kvpool *p); /* free blocks still holding a hash */
bool sim_kvpool_prefix_caching(const sim_kvpool *p);
uint32_t sim_kvpool_block_ref(const sim_kvpool *p, uint32_t id); /* its ref_cnt */
sim_kvpool_stats sim_kvpool_get_stats(const sim_kvpool *p);

/* Makes sure R's chain hashes of its first NBLOCKS full blocks are computed (they depend only
 * on content and block size, so they survive preemption). NBLOCKS must not exceed the
 * request's full blocks of known tokens. */
void sim_kvpool_hash_blocks(const sim_kvpool *p, sim_request *r, uint32_t nblocks);

/* Longest cached prefix of R in blocks (find_longest_cache_hit), capped at
 * (num_tokens − 1) / block_size blocks. With COUNT, updates queries/hits statistics (vLLM counts
 * each admission lookup). Read-only otherwise (routers use it to score replicas). */
uint32_t sim_kvpool_lookup(sim_kvpool *p, sim_request *r, bool count);

/* Internal: the first members of every pool (kvpool.c), which the inline fast path of
 * sim_kvpool_allocate reads. */
typedef struct sim__kvpool_head {
    uint32_t nblocks, block_size;
    uint32_t nfree; /* blocks in the free queue */
    bool prefix_caching;
} sim__kvpool_head;

/* The general case of sim_kvpool_allocate (same contract). */
bool sim__kvpool_allocate_slow(sim_kvpool *p,
                               sim_request *r,
                               uint32_t num_new,
                               uint32_t num_lookahead,
                               uint32_t hit_blocks,
                               uint32_t watermark_blocks,
                               uint32_t max_model_len);

/* vLLM allocate_slots: makes room for NUM_NEW tokens after R's num_computed tokens plus
 * HIT_BLOCKS leading cached blocks (only for a request holding no blocks). Fails without side
 * effects if the new blocks, plus hit blocks that must leave the free queue, plus
 * WATERMARK_BLOCKS exceed the free blocks. On success touches the hit blocks, allocates, and
 * caches the blocks filled up to min(computed + hits + NUM_NEW, num_tokens). The caller then
 * adds HIT_BLOCKS·block_size + NUM_NEW to num_computed. MAX_MODEL_LEN caps the slots.
 * NUM_LOOKAHEAD more slots are made beyond the new tokens (vLLM allocate_slots'
 * num_lookahead_tokens: room for the drafts speculative decoding proposes after this step);
 * lookahead slots are never hashed.
 * Inline: most calls schedule one more decode token of a running request, whose blocks already
 * hold the slot and in which no block becomes full; that case returns here without a call
 * (same result as the general path, which would find nothing to do). */
static inline bool
sim_kvpool_allocate_ahead(sim_kvpool *p,
                          sim_request *r,
                          uint32_t num_new,
                          uint32_t num_lookahead,
                          uint32_t hit_blocks,
                          uint32_t watermark_blocks,
                          uint32_t max_model_len)
{
    const sim__kvpool_head *h = (const sim__kvpool_head *)(const void *)p;
    const sim_kvseq *kv = &r->kv;
    if (hit_blocks == 0 && watermark_blocks <= h->nfree) {
        uint64_t filled = (uint64_t)r->num_computed + num_new;
        uint64_t slots = filled + num_lookahead;
        if (max_model_len > 0 && slots > max_model_len)
            slots = max_model_len;
        uint32_t ntok = sim_request_num_tokens(r);
        if (filled > ntok)
            filled = ntok;
        uint64_t bs = h->block_size;
        if (slots <= (uint64_t)kv->nblocks * bs &&
            (!h->prefix_caching || kv->nblocks <= kv->ncached ||
             filled < (uint64_t)(kv->ncached + 1) * bs))
            return true;
    }
    return sim__kvpool_allocate_slow(p, r, num_new, num_lookahead, hit_blocks, watermark_blocks,
                                     max_model_len);
}

/* sim_kvpool_allocate_ahead without lookahead. */
static inline bool
sim_kvpool_allocate(sim_kvpool *p,
                    sim_request *r,
                    uint32_t num_new,
                    uint32_t hit_blocks,
                    uint32_t watermark_blocks,
                    uint32_t max_model_len)
{
    return sim_kvpool_allocate_ahead(p, r, num_new, 0, hit_blocks, watermark_blocks, max_model_len);
}

/* Content key of R's first NTOKENS prompt tokens (NTOKENS ≤ prompt_tokens): the block chain
 * hash of its full blocks, with the tokens of a last partial block folded into the same
 * chain. Two requests get equal keys iff those tokens are the same content at the same
 * offsets (docs/design.md §4); private content gives a key no other request has. Used as the
 * DSA trace's prefix_key (docs/dsa.md). */
uint64_t sim_kvpool_prefix_key(const sim_kvpool *p, sim_request *r, uint32_t ntokens);
/* Number of R's leading cached blocks whose hash sits in the prefix-cache map, i.e. blocks other
 * requests can share (private blocks never do; 0 without prefix caching). Blocks below FROM are
 * taken as already checked (callers pass a previous answer while R keeps its blocks). */
uint32_t sim_kvpool_shared_prefix_blocks(const sim_kvpool *p, const sim_request *r, uint32_t from);

/* Releases every block R holds: ref counts drop; blocks reaching 0 go to the free-queue tail
 * in reverse order (docs/domain.md §1.6). Hashed blocks stay findable until reallocated. */
void sim_kvpool_release(sim_kvpool *p, sim_request *r);

/* Invariant walker: every usable block is free xor referenced; ref counts equal the number of
 * OWNERS holding the block; free-queue links and count are consistent; every map entry points
 * to a block carrying that hash; every hashed block is reachable from its hash's entry. Returns
 * false with a g_warning on violation. */
bool sim__kvpool_check(const sim_kvpool *p, sim_request *const *owners, size_t nowners);
