/* timemodel/calib_fit.h: regression calibration of the roofline (docs/domain.md §4.2).
 *
 * A sample is one measured time (an operator, a step, a sum of steps, a collective) together
 * with the roofline's basis terms for the same shape, priced at peak (every η = 1, no
 * overheads) by the roofline's own code (timemodel/calib_import.h builds them):
 *   - the operators: (F/P_peak, B/W_peak) and class (GEMM, attention, elementwise) of each, so
 *     that the fit can classify each operator as compute- or memory-bound under the current
 *     coefficients and re-classify;
 *   - the ideal communication time X (bandwidth part) and an offset (link start-up latencies,
 *     which the roofline adds unscaled);
 *   - multipliers of the additive terms: steps (β0), kernels of each class (βk), sequences (βs).
 * Model (linear form, docs/domain.md §4.2 with one (βk, βc, βm) triple per operator class):
 *   y = offset + β0·steps + βs·n + βx·X + Σ_class (βk·kernels + βc·C + βm·M)
 * where C / M sum the class's compute- / memory-bound operators; all β ≥ 0; weights 1/y²
 * (relative error). With shared classes every operator is in the GEMM class: the plain
 * y = β0 + βc·C + βm·M + βx·X + βs·n (+ βk·kernels) of docs/domain.md.
 * Max form: y = offset + β0·steps + βs·n + βx·X + Σ βk·kernels + max(βc·ΣF/P, βm·ΣB/W) with one
 * (βc, βm) over all operators. Both are fitted; the lower cross-validated MAPE wins.
 *
 * Ownership: a tm_calib_data owns its samples, operators and strings; a tm_calib_fit owns its
 * arrays and warnings. Nothing here prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/roofline.h"

typedef enum {
    TM_TERM_FIXED,      /* β0, seconds per step */
    TM_TERM_SEQ,        /* βs, seconds per scheduled sequence per step */
    TM_TERM_COMM,       /* βx, multiplier of ideal communication time */
    TM_TERM_KERNEL,     /* GEMM class: seconds per kernel */
    TM_TERM_COMPUTE,    /* GEMM class: multiplier of compute-bound F/P_peak */
    TM_TERM_MEMORY,     /* GEMM class: multiplier of memory-bound B/W_peak */
    TM_TERM_ATT_KERNEL, /* attention class */
    TM_TERM_ATT_COMPUTE,
    TM_TERM_ATT_MEMORY,
    TM_TERM_ELEM_KERNEL,  /* elementwise class */
    TM_TERM_ELEM_COMPUTE, /* (elementwise operators have no FLOPs: never exercised) */
    TM_TERM_ELEM_MEMORY,
    TM_TERM_MIXDEC_KERNEL,  /* decode attention in a mixed batch (TM_OPCLASS_MIXED_DECODE): */
    TM_TERM_MIXDEC_COMPUTE, /* no kernel of its own (never exercised), compute, memory */
    TM_TERM_MIXDEC_MEMORY,
    TM_TERM_MOE_KERNEL, /* routed-expert grouped GEMMs (TM_OPCLASS_MOE) */
    TM_TERM_MOE_COMPUTE,
    TM_TERM_MOE_MEMORY,
    TM_TERM_Q_KERNEL, /* weight GEMMs with quantised weights (TM_OPCLASS_GEMM_Q) */
    TM_TERM_Q_COMPUTE,
    TM_TERM_Q_MEMORY,
    TM_TERM_MOEQ_KERNEL, /* routed experts with quantised weights (TM_OPCLASS_MOE_Q) */
    TM_TERM_MOEQ_COMPUTE,
    TM_TERM_MOEQ_MEMORY,
    TM_TERM_ATT_ITEM,   /* seconds per (decoding sequence × KV head) per layer */
    TM_TERM_ATT_SERIAL, /* multiplier of one (sequence, KV head)'s KV bytes at peak bandwidth */
    TM_TERM_MOE_TOKEN,  /* seconds per distinct local expert touched per MoE layer */
    TM_TERM_COUNT,
} tm_calib_term;

/* The last term that belongs to an operator class (kernel, compute, memory per class). */
#define TM_TERM_CLASS_LAST TM_TERM_MOEQ_MEMORY

/* Terms of operator class C (tm_op_class): per kernel, compute, memory. */
#define TM_TERM_CLASS_KERNEL(c)  ((tm_calib_term)(TM_TERM_KERNEL + 3 * (int)(c)))
#define TM_TERM_CLASS_COMPUTE(c) ((tm_calib_term)(TM_TERM_COMPUTE + 3 * (int)(c)))
#define TM_TERM_CLASS_MEMORY(c)  ((tm_calib_term)(TM_TERM_MEMORY + 3 * (int)(c)))

/* "fixed", "seq", "comm", "kernel", "compute", "memory", "attn_kernel", "attn_compute",
 * "attn_memory", "elem_kernel", "elem_compute", "elem_memory", "mixdec_kernel",
 * "mixdec_compute", "mixdec_memory", "moe_kernel", "moe_compute", "moe_memory", "q_kernel",
 * "q_compute", "q_memory", "moeq_kernel", "moeq_compute", "moeq_memory", "attn_item",
 * "attn_serial", "moe_token". */
const char *tm_calib_term_name(tm_calib_term t);
/* Parses a comma-separated list of term names into a bit mask (1u << term). */
gboolean tm_calib_terms_parse(const char *list, unsigned *mask, GError **error);
/* True for terms whose coefficient is a multiplier (compute, memory, comm, attn_serial,
 * moe_token), false for the additive seconds (fixed, kernels, seq, attn_item). */
bool tm_calib_term_is_multiplier(tm_calib_term t);

typedef enum {
    TM_REGIME_PREFILL,    /* prefill-only steps, context attention */
    TM_REGIME_DECODE,     /* decode-only steps, generation attention */
    TM_REGIME_MIXED,      /* steps (or attention batches) with both */
    TM_REGIME_LINEAR,     /* token-count operators: GEMMs, norms, activation, lm-head, sampler */
    TM_REGIME_COLLECTIVE, /* all-reduce, all-gather, ... */
    TM_REGIME_COUNT,
} tm_calib_regime;

const char *tm_calib_regime_name(tm_calib_regime r); /* "prefill", ... "collectives" */

/* One operator of a sample, at peak. */
typedef struct tm_calib_op {
    double compute_s; /* F / P_peak */
    double memory_s;  /* B / W_peak */
    uint8_t cls;      /* tm_op_class (timemodel/roofline.h) */
} tm_calib_op;

typedef struct tm_calib_sample {
    double measured_s; /* y > 0 */
    double offset_s;   /* part of the roofline time no coefficient scales (link latencies) */
    double steps;      /* multiplier of β0 */
    double kernels[TM_OPCLASS_COUNT]; /* multipliers of the per-kernel terms, by class */
    double comm_s;       /* ideal communication time at peak link bandwidth (no latency) */
    double seqs;         /* multiplier of βs */
    double att_items;    /* multiplier of attn_item: Σ layers · decoding sequences × KV heads */
    double att_serial_s; /* multiplier of attn_serial: Σ layers · one item's KV bytes / peak BW */
    double moe_token_s;  /* multiplier of moe_expert: Σ MoE layers · local experts touched */
    uint32_t op_first;   /* index of its first operator in the data set's operator array */
    uint32_t n_ops;
    uint32_t config; /* configuration id (leave-one-configuration-out CV) */
    uint32_t source; /* input id */
    uint64_t line;   /* line of the source the sample comes from (first, if merged) */
    tm_calib_regime regime;
    const char *label; /* short description, e.g. "dense.csv:42 qkv_proj tokens=512" */
} tm_calib_sample;

typedef struct tm_calib_data tm_calib_data;

tm_calib_data *tm_calib_data_new(void);
void tm_calib_data_free(tm_calib_data *d); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tm_calib_data, tm_calib_data_free)

/* Appends a sample with N_OPS operators (copied). S->op_first and S->label are ignored; LABEL
 * is copied. Returns the sample's index. */
size_t tm_calib_data_add(tm_calib_data *d,
                         const tm_calib_sample *s,
                         const tm_calib_op *ops,
                         size_t n_ops,
                         const char *label);
/* Replaces the measured time of sample I (merging replicated measurements). */
void tm_calib_data_set_measured(tm_calib_data *d, size_t i, double measured_s);
/* A measured all-reduce (vLLM custom all-reduce in CUDA graphs) of BYTES over GPUS GPUs taking
 * SECONDS: kept besides the samples, for the calibration's all-reduce table. */
void tm_calib_data_add_allreduce(tm_calib_data *d, double gpus, double bytes, double seconds);
/* The measured all-reduces as a table (replicates merged into their median, sizes ascending,
 * up to TM_AR_SLOTS GPU counts and TM_AR_MAX_POINTS sizes each); FALSE when there are none. */
gboolean tm_calib_data_allreduce_table(const tm_calib_data *d, tm_allreduce_table *t);
/* Interned ids for configuration keys and input names (first use gets the next id). */
uint32_t tm_calib_data_config_id(tm_calib_data *d, const char *key);
uint32_t tm_calib_data_source_id(tm_calib_data *d, const char *name);
const char *tm_calib_data_config_name(const tm_calib_data *d, uint32_t id);
const char *tm_calib_data_source_name(const tm_calib_data *d, uint32_t id);
size_t tm_calib_data_n_configs(const tm_calib_data *d);

size_t tm_calib_data_size(const tm_calib_data *d);
const tm_calib_sample *tm_calib_data_sample(const tm_calib_data *d, size_t i);
/* All operators; never NULL (a valid base for op_first even when there are none). */
const tm_calib_op *tm_calib_data_ops(const tm_calib_data *d);

typedef enum {
    TM_CALIB_FORM_AUTO, /* fit both, keep the lower CV MAPE */
    TM_CALIB_FORM_LINEAR,
    TM_CALIB_FORM_MAX,
} tm_calib_form;

const char *tm_calib_form_name(tm_calib_form f); /* "auto", "linear", "max" */

typedef enum {
    TM_CALIB_CV_KFOLD, /* k random folds of samples */
    TM_CALIB_CV_LOCO,  /* leave one configuration out */
} tm_calib_cv;

typedef struct tm_calib_fit_opts {
    unsigned terms; /* mask of allowed terms; 0 = every term some sample exercises */
    tm_calib_form form;
    bool split_classes; /* GEMM, attention and elementwise operators get their own terms */
    tm_calib_cv cv;
    unsigned folds;      /* k for TM_CALIB_CV_KFOLD (≥ 2) */
    unsigned bootstrap;  /* replicates for the 95 % intervals; 0 = none */
    uint64_t seed;       /* sim_rng seed (folds, bootstrap) */
    unsigned max_rounds; /* fit → re-classify → refit rounds of the linear form */
    /* Efficiencies may exceed 1 (β < 1 for the compute, memory and link multipliers); by
     * default they are held at most at peak, β ≥ 1 (docs/calibration.md §2.2). */
    bool allow_super_peak;
} tm_calib_fit_opts;

/* form auto, every term, split classes, 5-fold CV, 200 bootstrap replicates, seed 1, 5 rounds,
 * efficiencies at most 1. */
void tm_calib_fit_opts_defaults(tm_calib_fit_opts *o);

typedef struct tm_calib_quality {
    size_t n;
    double r2;      /* weighted (weights 1/y²): 1 − Σw(y−ŷ)²/Σw(y−ȳ_w)² */
    double mape;    /* mean |ŷ − y|/y */
    double p90_ape; /* NumPy-style percentile */
    double max_ape;
    double rmse_s;
} tm_calib_quality;

typedef enum {
    TM_TERM_ABSENT,       /* not allowed, or no sample exercises it */
    TM_TERM_FITTED,       /* coefficient > 0 */
    TM_TERM_CLAMPED,      /* the non-negativity constraint put it at 0: not identifiable */
    TM_TERM_DROPPED,      /* exactly collinear with other terms in this data: not identifiable */
    TM_TERM_UNDETERMINED, /* too few samples (or too collinear) to fit next to the terms that
                           * claim the data first: not fitted, its knob keeps its default */
} tm_term_status;

typedef struct tm_calib_fit {
    tm_calib_form form; /* the chosen one (linear or max) */
    tm_calib_cv cv;
    unsigned folds; /* folds actually used */
    unsigned bootstrap;
    double beta[TM_TERM_COUNT];                        /* chosen form, fitted on all samples */
    double ci_lo[TM_TERM_COUNT], ci_hi[TM_TERM_COUNT]; /* 95 % bootstrap; NAN without */
    tm_term_status status[TM_TERM_COUNT];
    double vif[TM_TERM_COUNT]; /* uncentered VIF of the weighted design; NAN if absent */
    double cond;               /* condition number of the weighted, column-scaled design */
    double beta_linear[TM_TERM_COUNT], beta_max[TM_TERM_COUNT];
    unsigned rounds; /* re-classification rounds of the linear form */
    bool settled;    /* the classification stopped changing */
    bool split_classes;
    tm_calib_quality fit, cv_q;         /* chosen form: in-sample, cross-validated */
    tm_calib_quality cv_linear, cv_max; /* both forms, cross-validated */
    tm_calib_quality applied;           /* in-sample, priced the roofline's way */
    tm_calib_quality regime_fit[TM_REGIME_COUNT], regime_cv[TM_REGIME_COUNT];
    size_t n;
    /* Leave one configuration out (each configuration predicted by a fit on the others),
     * whatever the CV kind, when the data has ≥ 2 configurations and (unless the CV is this
     * one) at most 5,000 samples: loco.n = 0 otherwise. */
    tm_calib_quality loco;
    size_t n_configs;         /* entries of loco_config_mape / _n (configuration ids) */
    double *loco_config_mape; /* MAPE of each held-out configuration; NAN = no sample */
    size_t *loco_config_n;
    double *pred;        /* [n] in-sample predictions of the chosen form, seconds */
    double *cv_pred;     /* [n] cross-validated predictions of the chosen form */
    GPtrArray *warnings; /* plain sentences (char *) */
} tm_calib_fit;

/* Fits D. When the data cannot identify every exercised term (fewer samples than terms), the
 * identifiable subset is chosen (terms in priority order, each well determined next to the
 * earlier ones, at most one per sample); the others are TM_TERM_UNDETERMINED, with a warning
 * saying which and why. Errors (TM_ERROR_INVALID): no samples; a requested term no sample
 * exercises; fewer samples than the terms an explicit O->terms asks for (the message names
 * the terms that cannot be identified). transfer full. */
tm_calib_fit *tm_calib_fit_run(const tm_calib_data *d, const tm_calib_fit_opts *o, GError **error);
void tm_calib_fit_free(tm_calib_fit *f); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tm_calib_fit, tm_calib_fit_free)

/* Prediction of sample S with coefficients BETA in form FORM (SPLIT: each operator class has
 * its own coefficients, else the GEMM-class ones apply to every operator). Linear form: each
 * operator takes the larger of βc·F/P and βm·B/W, i.e. exactly what the roofline computes with
 * η = 1/β. */
double tm_calib_predict(const tm_calib_data *d,
                        const tm_calib_sample *s,
                        const double *beta,
                        tm_calib_form form,
                        bool split);

/* Implied efficiency 1/β of a multiplier term, or NAN when it is not reportable; WHY (may be
 * NULL) receives a static explanation then ("not identifiable (clamped at 0)", ...). An
 * efficiency is reported only if 0 < 1/β ≤ 1.05. */
double tm_calib_fit_efficiency(const tm_calib_fit *f, tm_calib_term t, const char **why);

/* The calibration JSON (format of timemodel/calibration.h): coefficients of the chosen form
 * (terms not in the data are left out, so the knob keeps its default), "fit" with the quality
 * figures, and SOURCES (stolen, may be NULL) as "sources". MODEL / HARDWARE are informational
 * strings (may be NULL). transfer full. */
json_t *tm_calib_fit_to_json(const tm_calib_fit *f,
                             const tm_calib_data *d,
                             const char *model,
                             const char *hardware,
                             json_t *sources);

/* Module-private (tests): weighted NNLS on normal equations, the solver the fit uses.
 * G is TM_TERM_COUNT × TM_TERM_COUNT row-major (Σ w x xᵀ), B = Σ w x y, RR = Σ w y²; only the
 * terms in MASK may be non-zero. Fills BETA[TM_TERM_COUNT] and returns the weighted SSE. */
double tm__calib_nnls(const double *g, const double *b, double rr, unsigned mask, double *beta);
