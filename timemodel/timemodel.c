/* timemodel/timemodel.c: the time-model vtable plumbing, the linear step model and the
 * step-time scaling wrapper. */
#include "timemodel/timemodel.h"

void
tm_timemodel_free(tm_timemodel *m)
{
    if (m != NULL)
        m->vt->destroy(m);
}

typedef struct {
    tm_timemodel base;
    tm_linear_coeffs c;
} linear_model;

static double
linear_step(const tm_timemodel *self, const tm_batch *b, tm_step_cost *detail)
{
    const tm_linear_coeffs *c = &((const linear_model *)(const void *)self)->c;
    double work = c->per_prefill_token_s * b->prefill_tokens + c->per_decode_s * b->num_decode +
                  c->per_pair_s * (b->pairs_prefill + b->pairs_decode) +
                  c->per_kv_token_s * (b->kv_prefill + b->kv_decode);
    double over = c->fixed_s + c->per_seq_s * b->num_seqs;
    if (detail != NULL)
        *detail = (tm_step_cost){work + over, work, 0.0, 0.0, over};
    return work + over;
}

static void
linear_destroy(tm_timemodel *self)
{
    g_free(self);
}

static const tm_timemodel_vtable linear_vt = {"linear", linear_step, linear_destroy};

tm_timemodel *
tm_linear_new(const tm_linear_coeffs *c)
{
    linear_model *m = g_new0(linear_model, 1);
    m->base.vt = &linear_vt;
    m->c = *c;
    return &m->base;
}

typedef struct {
    tm_timemodel base;
    tm_timemodel *inner; /* owned */
    double scale;
} scaled_model;

static double
scaled_step(const tm_timemodel *self, const tm_batch *b, tm_step_cost *detail)
{
    const scaled_model *m = (const scaled_model *)(const void *)self;
    double t = m->scale * tm_step_s(m->inner, b, detail);
    if (detail != NULL) {
        detail->total_s = t;
        detail->compute_s *= m->scale;
        detail->memory_s *= m->scale;
        detail->comm_s *= m->scale;
        detail->overhead_s *= m->scale;
    }
    return t;
}

static void
scaled_destroy(tm_timemodel *self)
{
    scaled_model *m = (scaled_model *)(void *)self;
    tm_timemodel_free(m->inner);
    g_free(m);
}

static const tm_timemodel_vtable scaled_vt = {"scaled", scaled_step, scaled_destroy};

tm_timemodel *
tm_scaled_new(tm_timemodel *inner, double scale)
{
    g_return_val_if_fail(inner != NULL && scale > 0, NULL);
    scaled_model *m = g_new0(scaled_model, 1);
    m->base.vt = &scaled_vt;
    m->base.request_overhead_s = inner->request_overhead_s;
    m->base.per_output_token_s = inner->per_output_token_s;
    m->inner = inner;
    m->scale = scale;
    return &m->base;
}
