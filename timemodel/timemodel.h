/* timemodel/timemodel.h: the step-time interface the simulator prices batches with
 * (docs/design.md §6). A time model is a vtable + state; implementations: the roofline
 * (timemodel/roofline.h, calibrated or not), the linear step model below (BLIS-style
 * t = β0 + βp·prefill_tokens + βd·decode_tokens + ..., docs/domain.md §4.1), useful for tests whose
 * expected times are worked out by hand, and a wrapper that scales another model's step times.
 * Pricing must be O(1) in the batch size. Ownership: tm_timemodel_free releases everything the
 * model holds. */
#pragma once

#include <glib.h>

#include "timemodel/batch.h"

typedef struct tm_step_cost {
    double total_s;    /* what the step takes (the simulator advances by this) */
    double compute_s;  /* Σ over operators that are compute bound */
    double memory_s;   /* Σ over operators that are memory bound */
    double comm_s;     /* exposed communication (after overlap) */
    double overhead_s; /* fixed / per-sequence CPU overheads */
} tm_step_cost;

typedef struct tm_timemodel tm_timemodel;

typedef struct tm_timemodel_vtable {
    const char *name;
    /* Time of one forward step of batch B; fills DETAIL when non-NULL. */
    double (*step_s)(const tm_timemodel *self, const tm_batch *b, tm_step_cost *detail);
    void (*destroy)(tm_timemodel *self);
} tm_timemodel_vtable;

struct tm_timemodel {
    const tm_timemodel_vtable *vt;
    /* Per-request overheads outside the engine step (API server, tokenizer, detokenizer):
     * added to a request's client-visible times. 0 unless a calibration supplies them. */
    double request_overhead_s; /* before the first scheduling (queueing/tokenize) */
    double per_output_token_s; /* streaming/detokenize cost per output token */
};

static inline double
tm_step_s(const tm_timemodel *m, const tm_batch *b, tm_step_cost *detail)
{
    return m->vt->step_s(m, b, detail);
}

void tm_timemodel_free(tm_timemodel *m); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tm_timemodel, tm_timemodel_free)

/* Linear step model: t = fixed + per_prefill_token·prefill_tokens + per_decode·num_decode
 * + per_pair·(pairs_prefill + pairs_decode) + per_kv_token·(kv_prefill + kv_decode)
 * + per_seq·num_seqs (seconds). */
typedef struct tm_linear_coeffs {
    double fixed_s;
    double per_prefill_token_s;
    double per_decode_s;
    double per_pair_s;
    double per_kv_token_s;
    double per_seq_s;
} tm_linear_coeffs;

tm_timemodel *tm_linear_new(const tm_linear_coeffs *c);

/* A time model whose step times (and their split) are SCALE × INNER's; request-level
 * overheads are copied unchanged. `sweep --find-max` recomputes an SLA limit with step times
 * scaled by ± a calibration's cross-validated error to give the limit an error band. Takes
 * ownership of INNER. SCALE > 0. transfer full. */
tm_timemodel *tm_scaled_new(tm_timemodel *inner, double scale);
