/* dsa/replay.h: recomputes group C (kv_fetch) of a trace's records for another tier design
 * without re-simulating (`servesim analyze dsa --replay-tiers`). Records of each (request,
 * layer) must come in step order; each pair keeps its own hot buffer, as in the simulation. A
 * trace sampled in steps lets the buffers see only the sampled steps: such gaps are counted and
 * reported, since hits are then approximate. Memory is bounded: when more than
 * DSA_REPLAY_MAX_PAIRS pairs are live, those idle longest are dropped (they restart cold). */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "dsa/record.h"
#include "dsa/tiers.h"

#define DSA_REPLAY_MAX_PAIRS 16384

typedef struct dsa_replay dsa_replay;

/* T is copied; its block_size is taken from each record. */
dsa_replay *dsa_replay_new(const dsa_tiers *t);
void dsa_replay_free(dsa_replay *r); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dsa_replay, dsa_replay_free)

/* Replaces REC's kv_fetch (batch_size kept) by the replayed tiers'. */
void dsa_replay_record(dsa_replay *r, dsa_record *rec);
/* {"tiers", "records", "step_gaps", "restarted_pairs"}. transfer full. */
json_t *dsa_replay_json(const dsa_replay *r);
