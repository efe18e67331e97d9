/* timemodel/calibration.h: fitted coefficients applied on top of the roofline (docs/domain.md
 * §4.2).
 *
 * File format (JSON object; every key optional except "format"):
 *   "format": "servesim-calibration/1"
 *   "model", "hardware": what it was fitted on (informational strings)
 *   "form": "linear" | "max"   which regression form was fitted (both map to the same knobs)
 *   "coefficients": {
 *       "beta0_s":            fixed step overhead (s)              → step_overhead_s
 *       "beta_compute":       multiplier of Σ compute-bound F/P    → compute_eff = 1/β
 *       "beta_memory":        multiplier of Σ memory-bound B/W     → memory_eff  = 1/β
 *       "beta_attn_compute",  the same for attention kernels       → attn_compute_eff,
 *       "beta_attn_memory":                                        → attn_memory_eff
 *       "beta_elem_memory":   the same for elementwise operators   → elem_memory_eff
 *       "beta_mixdec_compute", decode attention in mixed batches   → mixdec_compute_eff,
 *       "beta_mixdec_memory":                                      → mixdec_memory_eff
 *       "beta_comm":          multiplier of ideal communication    → comm_eff    = 1/β
 *       "beta_seq_s":         per scheduled sequence (s)           → per_seq_overhead_s
 *       "beta_kernel_s", "beta_attn_kernel_s", "beta_elem_kernel_s": per kernel of the GEMM,
 *                             attention and elementwise classes (s) → step_overhead_s += Σ β·
 *                             kernels of that class in a decode step of the model
 *                             (tm_roofline_step_kernels; setup.c) }
 *   "overlap", "moe_imbalance": knobs of the same name
 *   "request_overhead_s", "per_output_token_s": request-level terms outside the step
 *   "fit", "notes", "sources": free-form (quality metrics, provenance), not interpreted
 * A multiplier ≤ 0 (or null) means "not identifiable from the data": that knob keeps its default;
 * a missing or null additive term keeps its default too. Unknown keys are errors (typos must not
 * silently do nothing). `servesim calibrate` writes these files (docs/calibration.md); the
 * shipped ones are embedded as "calibrations/<hardware>.json" and used by default for their
 * hardware (timemodel/setup.c); the name "none" means no calibration. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "timemodel/roofline.h"

#define TM_CALIBRATION_FORMAT "servesim-calibration/1"
#define TM_CALIBRATION_NONE   "none" /* --calibration none: uncalibrated defaults */

typedef struct tm_calibration {
    char *name;             /* preset name or path */
    double step_overhead_s; /* NAN = not set, for every field below */
    double per_seq_overhead_s;
    double compute_eff, memory_eff, comm_eff;
    double attn_compute_eff, attn_memory_eff, elem_memory_eff;
    double mixdec_compute_eff, mixdec_memory_eff;
    double kernel_s[TM_OPCLASS_COUNT]; /* per kernel, by class; setup.c folds them into
                                        * step_overhead_s for the model */
    double overlap, moe_imbalance;
    double request_overhead_s, per_output_token_s;
} tm_calibration;

gboolean tm_calibration_from_json(tm_calibration *c, json_t *j, const char *name, GError **error);
/* A preset name (embedded "calibrations/<name>.json") or a path. */
gboolean tm_calibration_load(tm_calibration *c, const char *name_or_path, GError **error);
void tm_calibration_clear(tm_calibration *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_calibration, tm_calibration_clear)
/* Overrides the knobs C sets (all but kernel_s, which needs the model). */
void tm_calibration_apply(const tm_calibration *c, tm_roofline_params *p);
