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
 *       "beta_moe_compute",   routed-expert grouped GEMMs          → moe_compute_eff,
 *       "beta_moe_memory":                                         → moe_memory_eff
 *       "beta_q_compute", "beta_q_memory", "beta_moeq_compute", "beta_moeq_memory": the same
 *                             for GEMMs and experts with quantised weights → q_*, moeq_* effs
 *       "beta_attn_item_s":   per decoding (sequence × KV head) per layer (s) → attn_item_s
 *       "beta_attn_serial":   one such item's bytes at peak bandwidth → attn_serial
 *       "beta_moe_token":     tokens' hidden bytes per MoE layer at peak bandwidth → moe_token
 *       "beta_comm":          multiplier of ideal communication    → comm_eff    = 1/β
 *       "beta_seq_s":         per scheduled sequence (s)           → per_seq_overhead_s
 *       "beta_kernel_s", "beta_attn_kernel_s", "beta_elem_kernel_s", "beta_moe_kernel_s",
 *       "beta_q_kernel_s", "beta_moeq_kernel_s": per kernel of the GEMM, attention,
 *                             elementwise, MoE and quantised-weight classes (s)
 *                             → step_overhead_s += Σ β·
 *                             kernels of that class in a decode step of the model
 *                             (tm_roofline_step_kernels; setup.c) }
 *   "overlap", "moe_imbalance": knobs of the same name
 *   "request_overhead_s", "per_output_token_s": request-level terms outside the step
 *   "allreduce_table": {"N": [[bytes, seconds], ...], ...}  measured all-reduce latencies by
 *                             GPU count and message size, ascending (calibrate writes the
 *                             custom all-reduce rows it read): the TP and MoE all-reduces over
 *                             N GPUs are priced from them (tm_allreduce_table_time)
 *   "fit", "notes", "sources": free-form (quality metrics, provenance), not interpreted, except
 *                             "fit"."cv_mape" (cross-validated mean absolute percentage error of
 *                             step times, a fraction) which `sweep --find-max` uses as the
 *                             time model's error band
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
    char *hardware;         /* what it states it was fitted on ("hardware"), or NULL */
    double step_overhead_s; /* NAN = not set, for every field below */
    double per_seq_overhead_s;
    double compute_eff, memory_eff, comm_eff;
    double attn_compute_eff, attn_memory_eff, elem_memory_eff;
    double mixdec_compute_eff, mixdec_memory_eff;
    double moe_compute_eff, moe_memory_eff;
    double q_compute_eff, q_memory_eff, moeq_compute_eff, moeq_memory_eff;
    double attn_item_s, attn_serial, moe_token;
    double kernel_s[TM_OPCLASS_COUNT]; /* per kernel, by class; setup.c folds them into
                                        * step_overhead_s for the model */
    double overlap, moe_imbalance;
    double request_overhead_s, per_output_token_s;
    double cv_mape; /* fit.cv_mape, a fraction; NAN when the file does not record it */
    tm_allreduce_table allreduce; /* "allreduce_table"; no slot used when absent */
} tm_calibration;

gboolean tm_calibration_from_json(tm_calibration *c, json_t *j, const char *name, GError **error);
/* A preset name (embedded "calibrations/<name>.json") or a path. */
gboolean tm_calibration_load(tm_calibration *c, const char *name_or_path, GError **error);
/* The document itself (a preset name or a path), unchecked: for tools that write a changed
 * copy (`calibrate --from-runs`). transfer full; NULL with ERROR set. */
json_t *tm_calibration_load_json(const char *name_or_path, GError **error);
void tm_calibration_clear(tm_calibration *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_calibration, tm_calibration_clear)
/* Overrides the knobs C sets (all but kernel_s, which needs the model). */
void tm_calibration_apply(const tm_calibration *c, tm_roofline_params *p);
