/* dsa/fit.h: estimates the synthesizer's parameters (dsa/synth.h) from a trace, captured or
 * simulated, in two streaming passes over its records (docs/dsa.md "Fitting"):
 *   pass 1: k (the largest selection), sinks and window: n_sink = the longest prefix of
 *           positions 0, 1, … selected in ≥ 90 % of sparse records (ctx > k), window = the
 *           longest run of offsets 0, 1, … selected in ≥ 90 % of them;
 *   pass 2: on the far positions (neither sink nor window): runs of consecutive positions give
 *           the cluster length (m = E[run | run ≥ 2] − 1, geometric lengths) and the noise
 *           (singletons beyond the clusters' own); the start distances of runs ≥ 2 give α and
 *           d0 by maximum likelihood of the truncated power law (per record truncation
 *           [w + 1, t − n_sink], d0 on a grid); consecutive records of one (request, layer)
 *           give γ (mean far-set overlap, γ^Δ for gaps of Δ steps); records of one step at
 *           layers l−1 and l−2 give λ = (1 − O₂)/(1 − O₁) − 1 (O₁, O₂ mean far-set overlaps at
 *           layer distance 1 and 2; exact when non-reused layers overlap by a constant).
 * Records only need group A (positions, seq_len_current) and identity fields. */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "dsa/record.h"
#include "dsa/synth.h"

typedef struct dsa_fit dsa_fit;

/* INDEPENDENT_LAYERS: leading layers that never reuse (not identifiable from overlaps; taken
 * as given, default 3). */
dsa_fit *dsa_fit_new(uint32_t independent_layers);
void dsa_fit_free(dsa_fit *f); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(dsa_fit, dsa_fit_free)

void dsa_fit_pass1(dsa_fit *f, const dsa_record *r);
/* Ends pass 1; FALSE if no record had more keys than its selection (nothing to fit). */
gboolean dsa_fit_end_pass1(dsa_fit *f, GError **error);
void dsa_fit_pass2(dsa_fit *f, const dsa_record *r);
/* The fitted parameters (name "fit") and a report: what each estimate rests on (counts) and
 * which could not be estimated (kept from the "clustered" preset). transfer full REPORT. */
void dsa_fit_finish(dsa_fit *f, dsa_synth_params *p, json_t **report);
