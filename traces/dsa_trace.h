/* traces/dsa_trace.h: the DeepSeek-V3.2 DSA observer of a simulation (docs/dsa.md). On every
 * planned step (SIM_TOPIC_STEP_PLANNED) it synthesizes, for each decode request and each
 * needed layer, the indexer's top-k selection (dsa/synth.h), serves it from the KV tiers
 * (dsa/tiers.h), reads the request's prefix-cache state from the replica's KV pool (the same
 * hash chain, sim/kvpool.h), and
 *   - writes one dsa_topk record per (decode step, request, traced layer) to
 *     trace_steps.jsonl[.gz] (docs/formats/dsa-trace.md), sampled and filtered as configured;
 *   - with kv_offload, adds the step's exposed fetch latency (all layers, all decode requests,
 *     tiers other than HBM, times 1 − overlap) to the step's time.
 * A decode step is a planned chunk of one token at a position past the prompt (query position
 * t = num_computed, seq_len_current = t + 1, step_idx = t − prompt_tokens). Prefill chunks
 * read their context from HBM (not priced by the offload what-if).
 *
 * Ownership: the tracer owns its state and output file; payloads are borrowed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "dsa/options.h"
#include "dsa/synth.h"
#include "dsa/tiers.h"
#include "sim/engine.h"
#include "timemodel/common.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"

typedef struct tr_dsa_params {
    char *trace_path;       /* NULL = no records (offload only) */
    uint32_t topk, nlayers; /* the model's index_topk and layers */
    uint8_t *traced;        /* nlayers flags: layers recorded */
    double sample_rate;
    int64_t max_requests; /* record only ids below; < 0 = all */
    uint32_t block_size;  /* trace block (tokens) */
    uint32_t prefix_key_tokens;
    bool store_scores;
    dsa_synth_params synth;
    dsa_tiers tiers;
    bool offload;
    uint64_t seed;
} tr_dsa_params;

/* Resolves O for model M on hardware HW with KV dtype KV: layers, selection preset or file,
 * tiers (null bandwidths from HW, bytes from M). OUTPUT_DIR locates the trace file (NULL = no
 * records even with dsa.trace). Errors name the setting. */
gboolean tr_dsa_params_resolve(tr_dsa_params *p,
                               const dsa_options *o,
                               const tm_model_spec *m,
                               const tm_hardware *hw,
                               tm_dtype kv,
                               const char *output_dir,
                               uint64_t seed,
                               GError **error);
void tr_dsa_params_clear(tr_dsa_params *p);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tr_dsa_params, tr_dsa_params_clear)

typedef struct tr_dsa tr_dsa;

/* Opens the trace (under a temporary name) if P asks for one. P is copied. */
tr_dsa *tr_dsa_open(const tr_dsa_params *p, GError **error);
/* SIM_TOPIC_STEP_PLANNED and SIM_TOPIC_REQUEST_DONE. */
void tr_dsa_subscribe(tr_dsa *d, sim_engine *e);
/* Renames the trace into place. */
gboolean tr_dsa_commit(tr_dsa *d, GError **error);
/* summary.json's "dsa" section: the resolved selection and tiers, the trace summary
 * (dsa/summary.h) and the offload figures. transfer full. */
json_t *tr_dsa_summary_json(const tr_dsa *d);
uint64_t tr_dsa_records(const tr_dsa *d);
void tr_dsa_free(tr_dsa *d); /* NULL is a no-op; deletes an uncommitted trace */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tr_dsa, tr_dsa_free)
