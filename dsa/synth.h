/* dsa/synth.h: the parametric synthesizer of DSA top-k selections (docs/domain.md §5.2). For
 * query position t (ctx = t + 1 keys) of a request at one layer it selects every position when
 * ctx ≤ k; otherwise attention sinks [0, n_sink), the recent window (t − w, t], and k − n_sink − w
 * "far" positions in [n_sink, t − w]: clusters of Geometric(mean m) consecutive positions whose
 * start distance d from t follows p(d) ∝ (d + d0)^−α, plus round(ρ·k) uniform noise positions.
 *
 * Far positions live in *units* (one cluster or one noise position, drawn together). Temporal
 * coherence: from one decode step to the next each unit is kept with probability γ (γ^Δ over
 * Δ steps); a dropped cluster moves to a new start with its length, a dropped noise position
 * is redrawn. Keeping and moving whole units rather than single positions gives the same
 * expected overlap γ while preserving the clusters' lengths in steady state (dropping single
 * positions would fragment every cluster within a few dozen steps and drift the block
 * statistics away from the parameters).
 *
 * Layer coherence: layers 0 .. independent_layers−1 draw independently; every later layer reuses
 * the previous layer's selection with probability λ (IndexCache-style reuse), decided once per
 * request, so layers form groups that share one *head* state.
 *
 * Randomness: each (request, head layer) has its own sim_rng stream derived from
 * SIM_STREAM_DSA, and the layer grouping its own, so a record's content does not depend on
 * which other requests, layers or steps are traced or sampled.
 *
 * Ownership: a dsa_head owns its unit array; scratch is caller-owned and reusable. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/rng.h"

typedef struct dsa_synth_params {
    char name[64];               /* preset name or file the parameters came from */
    uint32_t n_sink;             /* attention sinks [0, n_sink) */
    uint32_t window;             /* recent window (t − w, t] */
    double alpha;                /* distance exponent of cluster starts */
    double d0;                   /* distance offset of the power law */
    double cluster_mean;         /* m: mean cluster length (Geometric, ≥ 1) */
    double noise;                /* ρ: uniform positions as a fraction of k */
    double gamma;                /* temporal keep probability per step */
    double lambda;               /* probability a layer reuses the previous layer's selection */
    uint32_t independent_layers; /* leading layers that always draw independently */
} dsa_synth_params;

/* Presets: "clustered" (default: the §5.2 structure at the clustered end of its ranges, so a
 * step touches ≈ k/B blocks), "uniform" (k uniform picks, no locality: ≈ N_b(1−(1−k/ctx)^B)
 * blocks) and "domain" (docs/domain.md §5.2's starting values verbatim). FALSE if unknown. */
gboolean dsa_synth_preset(const char *name, dsa_synth_params *p);
/* Names of the presets (NULL-terminated, static). */
extern const char *const dsa_synth_preset_names[];
/* A preset name or a parameter file (JSON written by `analyze dsa --fit` or by hand: any subset
 * of the keys of dsa_synth_to_json on top of "base" (a preset, default "clustered")). */
gboolean dsa_synth_load(const char *name_or_path, dsa_synth_params *p, GError **error);
gboolean
dsa_synth_from_json(const json_t *j, const char *file, dsa_synth_params *p, GError **error);
/* {"name", "n_sink", "window", "alpha", "d0", "cluster_mean", "noise", "gamma", "lambda",
 * "independent_layers"}. transfer full. */
json_t *dsa_synth_to_json(const dsa_synth_params *p);
/* Checks ranges and that n_sink + window ≤ TOPK. */
gboolean dsa_synth_check(const dsa_synth_params *p, uint32_t topk, GError **error);

/* Which layer's state each layer uses: HEAD_OF[l] = l or an earlier layer (layer coherence),
 * for NLAYERS layers of request REQUEST_ID. Deterministic in (SEED, REQUEST_ID). */
void dsa_synth_layer_heads(const dsa_synth_params *p,
                           uint64_t seed,
                           uint64_t request_id,
                           uint32_t nlayers,
                           uint16_t *head_of);

typedef struct dsa_unit {
    uint32_t start, len; /* positions start .. start + len − 1 */
    bool noise;
} dsa_unit;

/* The far-selection state of one (request, head layer). */
typedef struct dsa_head {
    sim_rng rng;
    bool active;     /* holds a far set (ctx > k at the last step) */
    uint32_t t;      /* query position of the last step */
    dsa_unit *units; /* sorted by start, disjoint */
    uint32_t nunits, cap;
    uint32_t nfar, nnoise; /* positions in units; of them noise */
} dsa_head;

void dsa_head_init(dsa_head *h, uint64_t seed, uint64_t request_id, uint32_t layer);
void dsa_head_clear(dsa_head *h);

/* Reusable scratch for dsa_head_step (a bitmap of positions drawn in the current step). */
typedef struct dsa_synth_scratch {
    uint64_t *bits;
    uint32_t nwords;
    dsa_unit *fresh, *merged;
    uint32_t fresh_cap, merged_cap;
    uint32_t *touched; /* bitmap words set this step */
    uint32_t ntouched, touched_cap;
    uint32_t *lost; /* lengths of the clusters dropped this step */
    uint32_t nlost, lost_cap;
} dsa_synth_scratch;

void dsa_synth_scratch_clear(dsa_synth_scratch *s);

/* Advances H to query position T with top-k K: no-op if T equals the last step's; ctx ≤ K
 * drops the far set; else keeps each unit with probability γ^Δ (Δ = steps since the last
 * call; a fresh draw when inactive or T went backwards) and redraws to k − n_sink − w far
 * positions. */
void
dsa_head_step(dsa_head *h, const dsa_synth_params *p, uint32_t k, uint32_t t, dsa_synth_scratch *s);
/* Writes H's selection at its current step (ascending, distinct, ≤ K positions) to OUT and
 * returns the count (min(K, t + 1)). */
uint32_t
dsa_head_selection(const dsa_head *h, const dsa_synth_params *p, uint32_t k, uint32_t *out);
/* Synthetic indexer scores of the selection POS (N ascending) at query position T: 1 for sinks,
 * (d0 / (d + d0))^α at distance d = T − pos otherwise, i.e. the synthesizer's own selection
 * weight scaled to (0, 1]. They are not real indexer scores (docs/dsa.md). Writes SCORES (may be
 * NULL) and the min/mean/max. */
void dsa_synth_scores(const dsa_synth_params *p,
                      const uint32_t *pos,
                      uint32_t n,
                      uint32_t t,
                      double *scores,
                      double *min,
                      double *mean,
                      double *max);
