/* timemodel/setup.h: the one entry point the simulator and the CLI use to get a time model
 * from the settings (tm_options): resolves model, hardware, dtypes, parallelism and
 * calibration, validates them (heads / KV heads / FFN by tp, layers by pp, experts by ep,
 * weights fit in GPU memory) with one-line TM_ERROR messages, and builds tm_timemodel values
 * and memory plans from the result.
 *
 * Typical use (simulator):
 *   g_autoptr(tm_setup) s = tm_setup_new(&cfg->tm, &error);
 *   if (step_overhead_us is set) tm_setup_params(s)->step_overhead_s = us * 1e-6;
 *   tm_memory_plan plan;  tm_setup_memory_plan(s, &args, &plan, &error);  → plan.num_gpu_blocks
 *   tm_timemodel *tm = tm_setup_timemodel(s);            (one per replica or shared, read-only)
 *   tm_batch_init(&b, tm_setup_dsa_topk(s));
 * Ownership: the setup owns model, hardware and params; tm_setup_timemodel returns a new
 * model (transfer full) that does not reference the setup. */
#pragma once

#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/calibration.h"
#include "timemodel/common.h"
#include "timemodel/hardware.h"
#include "timemodel/memory.h"
#include "timemodel/model.h"
#include "timemodel/options.h"
#include "timemodel/roofline.h"
#include "timemodel/timemodel.h"

typedef struct tm_setup tm_setup;

tm_setup *tm_setup_new(const tm_options *o, GError **error);
/* As tm_setup_new, but the weights need not fit in one GPU: MoE expert offload
 * (timemodel/hostbw.h) keeps part of them in host memory. */
tm_setup *tm_setup_new_offload(const tm_options *o, GError **error);
void tm_setup_free(tm_setup *s); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tm_setup, tm_setup_free)

const tm_model_spec *tm_setup_model(const tm_setup *s);
const tm_hardware *tm_setup_hardware(const tm_setup *s);
const tm_parallel *tm_setup_parallel(const tm_setup *s);
/* The resolved knobs (defaults, then calibration, then explicit options). Mutable until the
 * next tm_setup_timemodel call, e.g. to apply the simulator's --step-overhead-us. */
tm_roofline_params *tm_setup_params(tm_setup *s);
const tm_roofline_params *tm_setup_params_const(const tm_setup *s);
/* Name or path of the calibration in use; NULL when uncalibrated. */
const char *tm_setup_calibration(const tm_setup *s);

/* Cross-validated MAPE of step times recorded by the calibration in use (a fraction, e.g.
 * 0.059); NAN when uncalibrated or the file does not record it. */
double tm_setup_calibration_cv_mape(const tm_setup *s);

/* Which calibration a setup uses and how (docs/calibration.md §4). A calibration applies whole
 * on the hardware it states it was fitted on. On another GPU (a hardware preset or file based on
 * the calibrated preset, or an explicit --calibration fitted elsewhere) it is transferred: the
 * overheads, per-kernel floors and efficiency fractions apply, the link efficiency and the
 * measured all-reduce table (the calibrated system's links) do not. */
typedef struct tm_calib_use {
    const char *name;      /* calibration name or path; NULL = uncalibrated */
    const char *fitted_on; /* hardware it was fitted on (its "hardware"); NULL = not stated */
    const char *reason;    /* why this one / why none, a phrase */
    bool transferred;
} tm_calib_use;

const tm_calib_use *tm_setup_calibration_use(const tm_setup *s);
/* One line for run tables, summary.json and estimate: the calibration's name ("h100-sxm"),
 * with the transfer said ("h100-sxm (transferred: h100_gpu is based on h100-sxm; ...)"), or
 * "uncalibrated". Owned by S. */
const char *tm_setup_calibration_desc(const tm_setup *s);

/* A new roofline time model from the current params. transfer full. */
tm_timemodel *tm_setup_timemodel(const tm_setup *s);
/* The time model of pipeline stage STAGE (0 ≤ STAGE < pp) alone: its layers and send
 * (tm_roofline_params.pp_stage), the fixed and per-sequence step overheads on stage 0 and the
 * calibration's per-kernel floors for the stage's own kernels. With pp = 1 the same as
 * tm_setup_timemodel. transfer full. */
tm_timemodel *tm_setup_stage_timemodel(const tm_setup *s, int64_t stage);
/* The memory plan of one replica (see memory.h); FALSE with TM_ERROR_NO_FIT if it does not
 * fit (PLAN still filled). */
gboolean tm_setup_memory_plan(const tm_setup *s,
                              const tm_memory_args *args,
                              tm_memory_plan *plan,
                              GError **error);
/* vLLM defaults for this model and GPU: max_num_batched_tokens, max_num_seqs, block size
 * (64 for MLA), max_model_len (the model's max_position_embeddings). */
void tm_setup_vllm_defaults(const tm_setup *s, tm_vllm_defaults *d);
/* The per-query key cap for tm_batch_init: the DSA top-k, or for models with sliding-window
 * layers the window (the capped sums price those layers' attention); 0 for dense attention. */
uint32_t tm_setup_dsa_topk(const tm_setup *s);
/* Resolved description (model dims and parameter counts, hardware figures, parallelism,
 * dtypes, knobs) for summary.json / `estimate --json`. transfer full. */
json_t *tm_setup_to_json(const tm_setup *s);
