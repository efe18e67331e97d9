/* timemodel/calib_internal.h: what the files of the calibration corner share and nobody else
 * sees (timemodel/calib_import.h and calib_fit.h are the public side).
 *
 * Importers: one const format table (calib_import.c; rows tm__calib_fmt) lists every input
 * kind: its name, the header columns that recognise it, the columns it knows, where its
 * model / hardware metadata come from, and its importer. The importers live one file per
 * family (calib_user.c: measurements and steps CSVs and their predictions; calib_vidur.c;
 * calib_aic.c: aiconfigurator; calib_lss.c: LLMServingSim; calib_compose.c: steps composed from
 * operator tables) and share the importer state, cell readers, sample builders and peak time
 * models of calib_common.c.
 *
 * Fit: calib_fit.c (names, data set, prediction, JSON), calib_solve.c (NNLS and the linear
 * algebra of the diagnostics), calib_forms.c (the linear form's re-classification, the max
 * form's search, quality figures) and calib_fit_run.c (tm_calib_fit_run, phase by phase). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "base/csv.h"
#include "timemodel/batch.h"
#include "timemodel/calib_fit.h"
#include "timemodel/calib_import.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"
#include "timemodel/roofline.h"
#include "timemodel/setup.h"

/* ==== importers ============================================================================ */

/* A time model at peak (η = 1, no overheads, no overlap) for one shape or configuration: the
 * roofline's basis terms (docs/domain.md §4.2); or, for predictions, the calibrated one the
 * simulator would build. Cached per file in tm__calib_imp.peaks. */
typedef struct tm__calib_peak {
    tm_setup *setup; /* measurement / step rows: owns model and hardware */
    tm_model_spec m; /* shape and preset models of the tables */
    bool own_m;
    const tm_model_spec *model;
    const tm_hardware *hw;
    tm_timemodel *tm;                      /* at peak (or calibrated, for predictions) */
    double step_kernels[TM_OPCLASS_COUNT]; /* tm_roofline_step_kernels, by class */
    uint32_t topk;                         /* DSA top-k for tm_batch_init */
    tm_backend backend;                    /* link of its collectives */
} tm__calib_peak;

void tm__calib_peak_free(gpointer p);
/* η = 1, no overheads, no overlap: the roofline's basis terms (docs/domain.md §4.2). */
void tm__calib_peak_params(
    tm_roofline_params *p, const tm_hardware *hw, tm_parallel par, tm_dtype wd, tm_dtype kd);
/* Fills the step kernels and top-k of K once K->tm and K->model are set. */
void tm__calib_peak_finish(tm__calib_peak *k);

/* Where a table's model, hardware and TP come from when --model / --hardware are not given. */
typedef enum {
    TM__CALIB_META_NONE,   /* the flags, else the defaults */
    TM__CALIB_META_LSS,    /* LLMServingSim: meta.yaml above a tpN directory */
    TM__CALIB_META_LSS_V0, /* LLMServingSim v0: "Model_tpN_layers.csv" file names */
} tm__calib_meta;

typedef struct tm__calib_imp tm__calib_imp;

/* One row of the format table. Rows are tried in table order; the first whose header matches
 * wins. A row with ID TM_CALIB_FMT_AUTO recognises a table that is refused (REFUSED says why). */
typedef struct tm__calib_fmt {
    tm_calib_format id;
    const char *name;                /* --input-format NAME (NULL for refused rows) */
    const char *const *detect_all;   /* every one of these columns; NULL = no condition */
    const char *const *detect_any;   /* at least one of these; NULL = no condition */
    const char *const *known;        /* columns it reads or accepts (NULL-terminated) */
    const char *const *known_common; /* more known columns shared by a family, or NULL */
    const char *known_prefix;        /* columns with this prefix are known too, or NULL */
    tm__calib_meta meta;             /* how tm__calib_resolve_table finds the model */
    gboolean (*import)(tm__calib_imp *m, GError **error); /* reads M->c (or M->path) */
    const char *refused;                                  /* why the table is not imported */
} tm__calib_fmt;

/* The format table row of F (never NULL for a valid F other than AUTO). */
const tm__calib_fmt *tm__calib_format(tm_calib_format f);

typedef struct {
    size_t sample;
    GArray *y; /* double, seconds */
} tm__calib_merge;

/* State of one importer run (one input, or one composed set of tables). */
struct tm__calib_imp {
    tm_calib_data *d;
    const tm_calib_import_opts *o;
    tm_calib_import_info *info;
    const tm__calib_fmt *fmt; /* the input's format row */
    base_csv *c;              /* the table being read */
    const char *path;
    char *base; /* basename of the table being read (sample labels) */
    uint32_t source;
    GHashTable *merge; /* shape key → tm__calib_merge */
    GHashTable *dups;  /* user formats: row key → line */
    GHashTable *skips; /* reason → count */
    GPtrArray *skip_order;
    GHashTable *peaks; /* key → tm__calib_peak */
    tm_hardware hw;
    bool hw_loaded;
    char *model_name; /* resolved model for the table formats */
    int64_t tp;       /* resolved tp for the table formats */
    bool various_model, various_hw;
    bool predicting; /* --predict: a scenarios CSV without measurements is fine */
};

void tm__calib_imp_init(tm__calib_imp *m,
                        tm_calib_data *d,
                        const tm_calib_import_opts *o,
                        tm_calib_import_info *info);
void tm__calib_imp_clear(tm__calib_imp *m);
/* Merges replicates and writes the skip reasons into the info. */
void tm__calib_imp_finish(tm__calib_imp *m);
/* Opens PATH as M's table and sets its format (FORCED, else detected from the header; a plain
 * scenarios CSV when M->predicting), then checks its columns (ignored ones listed in the info,
 * errors with --strict). */
gboolean
tm__calib_open_input(tm__calib_imp *m, const char *path, tm_calib_format forced, GError **error);

/* ---- rows and cells ---- */
/* True if S is in the NULL-terminated list L (NULL = empty). */
bool tm__calib_in_list(const char *const *l, const char *s);
/* Counts a skipped row under REASON (reported in the order first seen). */
void tm__calib_skip(tm__calib_imp *m, const char *reason);
/* "FILE:LINE: message" for the current row. */
void tm__calib_row_error(tm__calib_imp *m, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
bool tm__calib_cell_empty(const tm__calib_imp *m, int col);
gboolean tm__calib_cell_double(tm__calib_imp *m, int col, double *out, GError **error);
/* An integer cell ≥ MIN. */
/* Upper bounds of the integer cells of the vendor tables, far above any measured table
 * (batch ≤ 2048, tokens and contexts ≤ 131,072, messages ≤ 512 MiB): they keep shape
 * products (heads × head_dim, ...) within int64 and the sequences of a row within the
 * uint32 of tm_batch_add_n. */
#define TM__CALIB_MAX_COUNT 100000000LL        /* shapes, tokens, contexts, sequences, GPUs */
#define TM__CALIB_MAX_SIZE  1000000000000000LL /* message bytes or elements */
/* A count or shape cell: MIN ≤ value ≤ TM__CALIB_MAX_COUNT. */
gboolean tm__calib_cell_int(tm__calib_imp *m, int col, int64_t min, int64_t *out, GError **error);
/* A message size (bytes or elements): MIN ≤ value ≤ TM__CALIB_MAX_SIZE. */
gboolean tm__calib_cell_size(tm__calib_imp *m, int col, int64_t min, int64_t *out, GError **error);
/* An integer cell, or DEF when the column is absent or the cell empty. */
gboolean tm__calib_cell_int_def(
    tm__calib_imp *m, int col, int64_t def, int64_t min, int64_t *out, GError **error);
/* A count cell in [0, MAX] (DEF when absent or empty): bounds the work a row can ask for. */
gboolean tm__calib_cell_count(
    tm__calib_imp *m, int col, int64_t def, int64_t max, int64_t *out, GError **error);
/* A measured time (SCALE converts the cell's unit to seconds): a number > 0. */
gboolean
tm__calib_cell_time(tm__calib_imp *m, int col, double scale, double *out_s, GError **error);
gboolean tm__calib_need_col(tm__calib_imp *m, const char *name, int *out, GError **error);

/* ---- samples ---- */
typedef struct {
    tm_calib_regime regime;
    const char *config;
    double kernels; /* operator samples: kernels launched (of the class of their operators) */
    double comm_s, offset_s, steps, seqs;
    const double *class_kernels; /* step samples: kernels by class (overrides KERNELS) */
    double att_items, att_serial_s, moe_token_s; /* tm_calib_sample's shape-term multipliers */
} tm__calib_sample_meta;

/* An operator of a roofline detail as a calibration operator (per layer: divided by its
 * layer count). */
tm_calib_op tm__calib_op_of(const tm_op *o, bool per_layer);
/* Adds an operator-level sample, or merges it into an earlier one with the same KEY (NULL:
 * never merged). DESC labels it after "FILE:LINE". */
void tm__calib_add_sample(tm__calib_imp *m,
                          const char *key,
                          double y_s,
                          const tm_calib_op *ops,
                          size_t n,
                          const tm__calib_sample_meta *sm,
                          const char *desc);
/* Replicated measurements of one shape become their median. */
void tm__calib_finish_merges(tm__calib_imp *m);

/* Σ over the steps of a sample (prefill step, decode steps, one measured step). */
typedef struct {
    const char *names[TM_MAX_OPS];
    tm_calib_op ops[TM_MAX_OPS];
    size_t n;
    double comm_s, offset_s, steps, seqs;
    double att_items, att_serial_s, moe_token_s;
    double kernels[TM_OPCLASS_COUNT];
    bool has_prefill, has_decode;
} tm__calib_stepacc;

/* What a step sample's measurement covers of communication: everything the roofline prices,
 * or none (single-GPU profiles of a TP shard; composed steps, which add their measured
 * all-reduces as an offset). */
typedef enum { TM__CALIB_COMM_ALL, TM__CALIB_COMM_NONE } tm__calib_comm;

/* Adds one step of batch B priced by K; operators named in EXCLUDE (NULL-terminated, may be
 * NULL) are left out (the measurement does not cover them). Kernels: those of a decode step
 * (what tm_setup charges every step) minus the excluded ones. */
void tm__calib_stepacc_add(tm__calib_stepacc *a,
                           const tm__calib_peak *k,
                           const tm_batch *b,
                           const char *const *exclude,
                           tm__calib_comm cm);
void tm__calib_stepacc_scale(tm__calib_stepacc *a, double f);
void tm__calib_add_step_sample(
    tm__calib_imp *m, double y_s, const tm__calib_stepacc *a, const char *config, const char *desc);

/* ---- peak time models and table metadata ---- */
/* A one-layer model of the given per-replica shape (the vendor tables give shapes, not
 * models), cached under KIND and the shape. */
tm__calib_peak *tm__calib_shape_peak(tm__calib_imp *m,
                                     const char *kind,
                                     int64_t h,
                                     int64_t heads,
                                     int64_t kv,
                                     int64_t d,
                                     int64_t ffn,
                                     int64_t vocab,
                                     int64_t tp,
                                     tm_dtype kvd,
                                     GError **error);
/* A preset model NAME at TP (bf16 weights and KV), cached. */
tm__calib_peak *
tm__calib_model_peak_of(tm__calib_imp *m, const char *name, int64_t tp, GError **error);
/* The same with weight dtype WD and KV-cache dtype KD. */
tm__calib_peak *tm__calib_model_peak_dt(
    tm__calib_imp *m, const char *name, int64_t tp, tm_dtype wd, tm_dtype kd, GError **error);
/* tm__calib_model_peak_of the resolved model and TP. */
tm__calib_peak *tm__calib_model_peak(tm__calib_imp *m, GError **error);
/* Loads the hardware (--hardware, else the table's metadata, else the default) and, when
 * NEED_MODEL, resolves the model and TP (--model, else the metadata M->fmt->meta names). */
gboolean tm__calib_resolve_table(tm__calib_imp *m, bool need_model, GError **error);
/* The attention operators of a detail, per layer; *PRE / *DEC: prefill / decode ones seen. */
size_t tm__calib_attention_ops(const tm_roofline_detail *d, tm_calib_op *out, bool *pre, bool *dec);
tm_calib_regime tm__calib_att_regime(bool pre, bool dec);
/* The shape-term multipliers of one layer of D's decode attention and MoE experts
 * (tm_roofline_detail.att_items, ... divided by their layer counts) into SM. */
void tm__calib_layer_terms(const tm_roofline_detail *d, tm__calib_sample_meta *sm);
/* A collective sample: bandwidth part scaled by βx, the link latency as a fixed offset (the
 * roofline adds it unscaled), no kernel. */
void tm__calib_add_collective(tm__calib_imp *m,
                              tm_collective kind,
                              const char *kname,
                              double n,
                              double bytes,
                              tm_backend link,
                              double y,
                              const char *config,
                              const char *key);
/* Collective names of the tables (all_reduce, allgather, ...). */
gboolean tm__calib_collective_kind(const char *s, tm_collective *out);

/* ---- importers (one per format; calib_<family>.c) ---- */
gboolean tm__calib_import_measurements(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_steps(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_vidur_mlp(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_vidur_attention(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_vidur_network(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_gemm(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_attention(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_allreduce(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_nccl(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_moe(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_aic_module(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_lss_dense(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_lss_per_sequence(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_lss_attention(tm__calib_imp *m, GError **error);
gboolean tm__calib_import_lss_v0(tm__calib_imp *m, GError **error);
/* An LLMServingSim profile directory M->path composed into steps (calib_compose.c). */
gboolean tm__calib_compose_profile(tm__calib_imp *m, GError **error);
/* Vidur mlp.csv + aiconfigurator attention (+ all-reduce) composed into steps. */
gboolean tm__calib_compose_tables(tm__calib_imp *m,
                                  const char *mlp,
                                  const char *const *attention,
                                  size_t n_att,
                                  const char *allreduce,
                                  GError **error);

/* ==== fit ================================================================================== */

#define TM__CALIB_BIT(t) (1u << (t))
/* Terms of the max form besides (βc, βm): every additive term and the link. */
#define TM__CALIB_REST_MASK                                                                        \
    (TM__CALIB_BIT(TM_TERM_FIXED) | TM__CALIB_BIT(TM_TERM_SEQ) | TM__CALIB_BIT(TM_TERM_COMM) |     \
     TM__CALIB_BIT(TM_TERM_KERNEL) | TM__CALIB_BIT(TM_TERM_ATT_KERNEL) |                           \
     TM__CALIB_BIT(TM_TERM_ELEM_KERNEL) | TM__CALIB_BIT(TM_TERM_MIXDEC_KERNEL) |                   \
     TM__CALIB_BIT(TM_TERM_MOE_KERNEL) | TM__CALIB_BIT(TM_TERM_Q_KERNEL) |                         \
     TM__CALIB_BIT(TM_TERM_MOEQ_KERNEL) | TM__CALIB_BIT(TM_TERM_ATT_ITEM) |                        \
     TM__CALIB_BIT(TM_TERM_ATT_SERIAL) | TM__CALIB_BIT(TM_TERM_MOE_TOKEN))
/* Terms of the operator classes other than GEMM (split classes only). */
#define TM__CALIB_CLASS_MASK                                                                       \
    (((TM__CALIB_BIT(TM_TERM_CLASS_LAST + 1) - 1) >> TM_TERM_ATT_KERNEL) << TM_TERM_ATT_KERNEL)

/* Names of the terms, NULL-terminated (calib_fit.c). */
extern const char *const tm__calib_term_names[];
/* Order in which terms claim the data when ranks are counted (too few samples, exact
 * collinearity): the roofline's own terms first, overheads last. */
extern const tm_calib_term tm__calib_term_priority[TM_TERM_COUNT];

/* The class whose coefficients an operator takes (every operator is GEMM-class when the
 * classes are shared). */
static inline int
tm__calib_op_class(const tm_calib_op *o, bool split)
{
    return split && o->cls < TM_OPCLASS_COUNT ? o->cls : 0;
}

/* ---- normal equations and their solvers (calib_solve.c) ---- */
typedef struct {
    double g[TM_TERM_COUNT][TM_TERM_COUNT]; /* Σ w x xᵀ */
    double b[TM_TERM_COUNT];                /* Σ w x r */
    double rr;                              /* Σ w r² */
} tm__calib_normal;

/* Solves G_SS β = b_S for the terms in IDX[0..K) by Cholesky on the diagonally scaled system.
 * FALSE when the subset is (numerically) singular. */
bool tm__calib_solve_subset(const tm__calib_normal *ne, const int *idx, int k, double *out);
/* Weighted NNLS over the terms of MASK (Lawson–Hanson); returns the SSE. */
double tm__calib_nnls_solve(const tm__calib_normal *ne, unsigned mask, double beta[TM_TERM_COUNT]);
/* The same with the terms of FLOOR held at β ≥ 1 (β = 1 + γ, γ ≥ 0 by NNLS on the shifted
 * normal equations). */
double tm__calib_nnls_floor(const tm__calib_normal *ne,
                            unsigned mask,
                            unsigned floor,
                            double beta[TM_TERM_COUNT]);
/* Terms of CAND (in priority order) that are linear combinations of earlier ones in NE. */
unsigned tm__calib_dependent_terms(const tm__calib_normal *ne, unsigned cand);
/* 1 − R² below which a term is too collinear to be determined next to the kept ones (VIF
 * above 1000), when the data cannot identify every term. */
#define TM__CALIB_WELL_DETERMINED 1e-3
/* The largest well-determined subset of CAND in priority order, at most LIMIT terms, each with
 * 1 − R² ≥ TOL against the earlier ones; the refused ones in *COLLINEAR / *OVER (the limit). */
unsigned tm__calib_identifiable_terms(const tm__calib_normal *ne,
                                      unsigned cand,
                                      int limit,
                                      double tol,
                                      unsigned *collinear,
                                      unsigned *over);
/* The names of the terms in MASK, in priority order, comma-separated. transfer full */
char *tm__calib_term_list(unsigned mask);
/* Condition number and uncentered VIFs of the weighted design restricted to MASK. */
void tm__calib_collinearity(const tm__calib_normal *ne, unsigned mask, double *cond, double *vif);

/* ---- fitting context, the two forms and quality (calib_forms.c) ---- */
typedef struct {
    const tm_calib_data *d;
    const tm_calib_sample *s;
    const tm_calib_op *ops;
    size_t n;
    bool split;
    double *w;      /* 1/y² */
    double *r;      /* y − offset */
    double *ctot;   /* Σ F/P over the sample's operators (max form) */
    double *mtot;   /* Σ B/W */
    unsigned floor; /* terms held at β ≥ 1 (efficiencies at most peak) */
} tm__calib_ctx;

/* Classification coefficients: (βc, βm) of each operator class. */
typedef struct {
    double c[TM_OPCLASS_COUNT], m[TM_OPCLASS_COUNT];
} tm__calib_cls;

/* Every operator classified at the ridge point (all β = 1), where the fit starts. */
extern const tm__calib_cls tm__calib_ridge;

/* Normal equations over samples IDX[0..M) (all when IDX is NULL), each counted MULT[j] times
 * (1 when MULT is NULL), with operators classified by CLS. */
void tm__calib_normal_build(const tm__calib_ctx *c,
                            const tm__calib_cls *cls,
                            const size_t *idx,
                            size_t m,
                            const double *mult,
                            tm__calib_normal *ne);

typedef struct {
    double beta[TM_TERM_COUNT];
    tm__calib_cls cls; /* classification the final fit used */
    unsigned rounds;
    bool settled;
} tm__calib_linear;

/* Linear form with fit → re-classify → refit (docs/domain.md §4.2), starting at the ridge. */
void tm__calib_fit_linear(const tm__calib_ctx *c,
                          const size_t *idx,
                          size_t m,
                          unsigned mask,
                          unsigned max_rounds,
                          tm__calib_linear *out);
/* Max form over samples IDX (all when NULL), starting from START's (βc, βm). */
void tm__calib_fit_max(const tm__calib_ctx *c,
                       const size_t *idx,
                       size_t m,
                       unsigned mask,
                       const double *start,
                       double beta[TM_TERM_COUNT]);
/* Max form refitted on the samples weighted by MULT by a local search around (lc0, lm0) =
 * the logs of the full fit's (βc, βm) (bootstrap replicates). */
void tm__calib_fit_max_local(const tm__calib_ctx *c,
                             const double *mult,
                             unsigned mask,
                             double lc0,
                             double lm0,
                             double *beta);
/* Quality of predictions PRED over the samples of REGIME (−1: all). */
void tm__calib_quality(const tm__calib_ctx *c, const double *pred, int regime, tm_calib_quality *q);
