/* timemodel/estimate_views.c: the multi-model comparison row and the overlap split
 * (estimate_views.h). The comparison prices exactly what `servesim estimate` prices for one
 * model (one prefill step of the whole batch, then output_len − 1 decode steps at growing
 * context), so a row equals the single-model figures (tested). Effective TFLOP/s are the
 * roofline's own FLOPs over its own time: what the model can use of the peak in that phase. */
#include "timemodel/estimate_views.h"

#include <string.h>

static double
sum_flops(const tm_roofline_detail *d)
{
    double f = 0.0;
    for (int i = 0; i < TM_ROW_COUNT; i++)
        f += d->rows[i].flops;
    return f;
}

void
tm_compare_price(const tm_setup *s, int64_t batch, int64_t in, int64_t out, tm_compare_row *r)
{
    memset(r, 0, sizeof *r);
    const tm_model_spec *m = tm_setup_model(s);
    const tm_parallel *p = tm_setup_parallel(s);
    const tm_roofline_params *kp = tm_setup_params_const(s);
    r->params_total = m->params.total;
    r->params_active = m->params.active;
    r->weight_bytes_gpu = tm_model_weight_bytes_gpu(m, kp->weight_dtype, p);
    r->kv_bytes_per_token = tm_model_kv_bytes_per_token(m, kp->kv_dtype);
    r->kv_bytes_per_token_gpu = tm_model_kv_bytes_per_token_gpu(m, kp->kv_dtype, p);
    g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
    uint32_t k = tm_setup_dsa_topk(s);
    tm_batch b;
    tm_roofline_detail d;
    tm_batch_init(&b, k);
    tm_batch_add_n(&b, (uint32_t)batch, (uint64_t)in, 0, true);
    r->prefill_s = tm_roofline_eval(tm, &b, &d);
    r->prefill_flops = sum_flops(&d);
    r->prefill_bottleneck = tm_roofline_bottleneck(&d);
    r->prefill_bound = d.rows[r->prefill_bottleneck].bound;
    r->prefill_tflops = r->prefill_flops / r->prefill_s / 1e12;
    double decode_s = 0.0;
    for (int64_t j = 0; j < out - 1; j++) {
        tm_batch_init(&b, k);
        tm_batch_add_n(&b, (uint32_t)batch, 1, (uint64_t)(in + j), true);
        decode_s += tm_step_s(tm, &b, NULL);
    }
    r->decode_bottleneck = TM_ROW_COUNT;
    r->decode_bound = "-";
    if (out > 1) {
        r->tpot_s = decode_s / (double)(out - 1);
        r->decode_tok_s = (double)(p->dp * batch) / r->tpot_s;
        tm_batch_init(&b, k);
        tm_batch_add_n(&b, (uint32_t)batch, 1, (uint64_t)(in + (out - 1) / 2), true);
        r->decode_step_s = tm_roofline_eval(tm, &b, &d);
        r->decode_flops = sum_flops(&d);
        r->decode_bottleneck = tm_roofline_bottleneck(&d);
        r->decode_bound = d.rows[r->decode_bottleneck].bound;
        r->decode_tflops = r->decode_flops / r->decode_step_s / 1e12;
    }
    tm_memory_args ma = {0};
    ma.gpu_memory_utilization = 0.9;
    ma.max_model_len = in + out;
    ma.context_len = in + out;
    tm_memory_plan plan;
    r->kv_fits = tm_setup_memory_plan(s, &ma, &plan, NULL) && plan.max_concurrent >= batch;
}

void
tm_overlap_view_get(const tm_roofline_detail *d, double phi, tm_overlap_view *v)
{
    memset(v, 0, sizeof *v);
    v->overhead_s = d->cost.overhead_s;
    v->work_s = d->cost.compute_s + d->cost.memory_s;
    v->comm_s = d->rows[TM_ROW_COLLECTIVES].comm_s;
    v->phi = phi;
    v->hidden_s = phi * v->comm_s;
    v->exposed_s = v->comm_s - v->hidden_s;
    v->step_s = v->overhead_s + v->work_s + v->exposed_s;
    v->serial_s = v->overhead_s + v->work_s + v->comm_s;
    v->ideal_s = v->overhead_s + v->work_s;
    v->overhidden = v->hidden_s > v->work_s;
}
