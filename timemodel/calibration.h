/* timemodel/calibration.h: fitted coefficients applied on top of the roofline (DOMAIN.md §4.2).
 *
 * File format (JSON object; every key optional except "format"):
 *   "format": "servesim-calibration/1"
 *   "model", "hardware": what it was fitted on (informational strings)
 *   "form": "linear" | "max"   which regression form was fitted (both map to the same knobs)
 *   "coefficients": {
 *       "beta0_s":      fixed step overhead (s)              → step_overhead_s
 *       "beta_compute": multiplier of Σ compute-bound F/P   → compute_eff = 1/β
 *       "beta_memory":  multiplier of Σ memory-bound B/W    → memory_eff  = 1/β
 *       "beta_comm":    multiplier of ideal communication   → comm_eff    = 1/β
 *       "beta_seq_s":   per scheduled sequence (s)          → per_seq_overhead_s }
 *   "overlap", "moe_imbalance": knobs of the same name
 *   "request_overhead_s", "per_output_token_s": request-level terms outside the step
 *   "fit", "notes", "sources": free-form (quality metrics, provenance), not interpreted
 * A multiplier ≤ 0 means "not identifiable from the data": that knob keeps its default.
 * Unknown keys are errors (typos must not silently do nothing). */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "timemodel/roofline.h"

#define TM_CALIBRATION_FORMAT "servesim-calibration/1"

typedef struct tm_calibration {
    char *name;             /* preset name or path */
    double step_overhead_s; /* NAN = not set, for every field below */
    double per_seq_overhead_s;
    double compute_eff, memory_eff, comm_eff;
    double overlap, moe_imbalance;
    double request_overhead_s, per_output_token_s;
} tm_calibration;

gboolean
tm_calibration_from_json(tm_calibration *c, const json_t *j, const char *name, GError **error);
/* A preset name (embedded "calibrations/<name>.json") or a path. */
gboolean tm_calibration_load(tm_calibration *c, const char *name_or_path, GError **error);
void tm_calibration_clear(tm_calibration *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_calibration, tm_calibration_clear)
/* Overrides the knobs C sets. */
void tm_calibration_apply(const tm_calibration *c, tm_roofline_params *p);
