/* dsa/tiers.h: the KV-tier cost model of one DSA selection (group C of
 * docs/formats/dsa-trace.md; docs/domain.md §5.4). Each selected token is served by HBM when it
 * sits in the request's per-layer hot buffer (an LRU of recently used tokens or blocks,
 * SGLang-HiSparse style), else by the local pool (host DRAM over PCIe) when it is among the
 * request's most recent local_pool tokens, else by the remote pool (RDMA). Per tier:
 *   latency = ops·α/Q + bytes/(BW·η)
 * with ops = contiguous runs of the tier's tokens (token granularity) or its blocks (block
 * granularity), and bytes = tokens·(token_bytes [+ index_key_bytes]) or blocks·B·token_bytes.
 * The current token (offset 0) was just computed on the GPU and is always an HBM hit.
 *
 * Ownership: a dsa_hotbuf owns its arrays; everything else is plain values. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "dsa/options.h"

typedef enum {
    DSA_TIER_HBM,
    DSA_TIER_LOCAL,
    DSA_TIER_REMOTE,
    DSA_NTIERS,
} dsa_tier;

/* "hbm", "local_pool", "remote_pool": the keys of kv_fetch. */
extern const char *const dsa_tier_names[DSA_NTIERS];

/* Group C of one record, per tier. */
typedef struct dsa_fetch {
    uint64_t hit_blocks; /* touched blocks with at least one token served by the tier */
    uint64_t bytes_read;
    uint64_t read_ops;
    double latency_us;
    uint32_t batch_size; /* decode requests in the engine step */
} dsa_fetch;

typedef struct dsa_tier_spec {
    double bw;          /* B/s */
    double efficiency;  /* η */
    double latency_s;   /* α per operation */
    double queue_depth; /* Q */
} dsa_tier_spec;

/* The resolved tier design. */
typedef struct dsa_tiers {
    dsa_tier_spec tier[DSA_NTIERS];
    int64_t hot_buffer_tokens; /* −1 = everything resident in HBM */
    int64_t local_pool_tokens; /* −1 = unlimited (no remote pool) */
    bool block_granularity;
    uint32_t block_size; /* trace block (tokens) */
    double token_bytes, index_key_bytes;
    bool index_keys_offloaded;
    double overlap; /* fraction of fetch latency hidden behind compute */
} dsa_tiers;

/* Figures of the hardware that fill null bandwidths (B/s) and of the model that fill null byte
 * sizes. */
typedef struct dsa_tier_defaults {
    double hbm_bw, pcie_bw, network_bw;
    double token_bytes, index_key_bytes;
} dsa_tier_defaults;

/* Resolves O's tier rows with D into T. Errors name the setting (hot_buffer_tokens must be an
 * integer ≥ 0 or "all", ...). */
gboolean dsa_tiers_resolve(const dsa_options *o,
                           const dsa_tier_defaults *d,
                           uint32_t block_size,
                           dsa_tiers *t,
                           GError **error);
/* The resolved design as JSON (for summary.json). transfer full. */
json_t *dsa_tiers_to_json(const dsa_tiers *t);

/* One resident key (a token position, or a block id at block granularity) and the step it was
 * last used in (key and stamp side by side: a hit reads one and writes the other). */
typedef struct dsa_hot_entry {
    uint32_t key, stamp;
} dsa_hot_entry;

/* Per-(request, layer) hot buffer. */
typedef struct dsa_hotbuf {
    dsa_hot_entry *e; /* sorted by key */
    uint32_t n, cap;
    uint32_t clock; /* steps seen */
    bool primed;
} dsa_hotbuf;

void dsa_hotbuf_clear(dsa_hotbuf *h);

/* Scratch reused across calls. */
typedef struct dsa_tier_scratch {
    uint32_t *miss;
    uint32_t cap;
    dsa_hot_entry *e;
    uint32_t kcap;
    uint64_t *sel; /* (stamp << 32 | key) candidates for eviction */
    uint32_t scap;
} dsa_tier_scratch;

void dsa_tier_scratch_clear(dsa_tier_scratch *s);

/* Serves the selection POS (N ascending positions) at query position T: classifies each token,
 * fills F[tier] (batch_size left 0), then updates HB (NULL, or a design with everything
 * resident: all HBM; a zero-capacity buffer holds nothing). The buffer is primed on first use with
 * the most recent tokens before T (what stays on the GPU after prefill [assume]). */
void dsa_tiers_serve(const dsa_tiers *tc,
                     dsa_hotbuf *hb,
                     const uint32_t *pos,
                     uint32_t n,
                     uint32_t t,
                     dsa_fetch f[DSA_NTIERS],
                     dsa_tier_scratch *s);

/* latency_us of one tier for OPS operations and BYTES bytes. */
double dsa_tier_latency_us(const dsa_tier_spec *s, uint64_t ops, uint64_t bytes);
