/* timemodel/roofline.c: per-operator roofline of one forward step (DOMAIN.md §3).
 *
 * Every per-GPU dimension is precomputed in tm_roofline_new, so an evaluation is a fixed list
 * of ~30 operators, each t = count·max(F·invP, B·invW), plus collectives and overheads: no
 * loop over sequences (the batch summary carries the sums), no allocation, one exp() for the
 * MoE distinct-expert count. The detailed rows are filled by the same code when asked for.
 * Layers are identical within a kind (attention in all L layers, dense MLP in Ld, MoE in Lm),
 * so an operator is priced for one layer and multiplied by its layer count; with pipeline
 * parallelism a step visits every stage in turn, so the step time is the sum over all layers
 * (plus the stage-to-stage sends), as DOMAIN.md §3.6 says. */
#include "timemodel/roofline.h"

#include <math.h>
#include <string.h>

typedef struct {
    tm_timemodel base;
    tm_roofline_params p;
    bool mla, dsa;
    double L, Ld, Lm;               /* attention / dense-MLP / MoE layers */
    double h, Hl, Kl, d, Il, V, Vl; /* per-GPU heads, KV heads, FFN, vocab slice */
    double nope, rope, vdim, qlora, r;
    double ih, id, key_b, latent_b; /* DSA indexer; MLA latent bytes per token */
    double E, k, log1m, Ie, Ie_loc, Ish_l, dp, G, ep, tp, pp;
    double bw, ba, bkv, bdisp; /* bytes per weight / activation / KV / dispatch element */
    double invPg, invPa, invPi, invPr, invW;
    double inv_link, lat;
} roofline;

static const char *const row_names[TM_ROW_COUNT] = {
    [TM_ROW_QKV] = "qkv",
    [TM_ROW_ATTENTION] = "attention",
    [TM_ROW_OPROJ] = "o-proj",
    [TM_ROW_MLP] = "mlp",
    [TM_ROW_MOE] = "moe",
    [TM_ROW_ROUTER] = "router",
    [TM_ROW_LMHEAD] = "lm-head",
    [TM_ROW_INDEXER] = "indexer",
    [TM_ROW_COLLECTIVES] = "collectives",
    [TM_ROW_OVERHEAD] = "overhead",
};

const char *
tm_row_name(tm_row_id r)
{
    return r < TM_ROW_COUNT ? row_names[r] : "?";
}

void
tm_roofline_params_defaults(tm_roofline_params *p, const tm_hardware *hw)
{
    memset(p, 0, sizeof *p);
    p->weight_dtype = TM_DTYPE_BF16;
    p->kv_dtype = TM_DTYPE_BF16;
    p->par = tm_parallel_make(1, 1, 1, false);
    p->backend = hw != NULL ? hw->default_backend : TM_BACKEND_NVLINK;
    p->compute_eff =
        hw != NULL && isfinite(hw->eff_compute) ? hw->eff_compute : TM_DEFAULT_COMPUTE_EFF;
    p->memory_eff = hw != NULL && isfinite(hw->eff_memory) ? hw->eff_memory : TM_DEFAULT_MEMORY_EFF;
    p->comm_eff = hw != NULL && isfinite(hw->eff_comm) ? hw->eff_comm : TM_DEFAULT_COMM_EFF;
    p->overlap = 0.0;
    p->moe_imbalance = 0.0;
    p->step_overhead_s = TM_DEFAULT_STEP_OVERHEAD_S;
    p->per_seq_overhead_s = TM_DEFAULT_PER_SEQ_OVERHEAD_S;
}

static inline void
gemm_work(double m, double n, double k, double b_w, double b_act, double *flops, double *bytes)
{
    *flops = 2.0 * m * n * k;
    *bytes = n * k * b_w + m * k * b_act + m * n * b_act;
}

void
tm_gemm_work(double m, double n, double k, double b_w, double b_act, double *flops, double *bytes)
{
    gemm_work(m, n, k, b_w, b_act, flops, bytes);
}

static inline double
touched_fraction(double log1m, double t)
{
    return -expm1(t * log1m); /* 1 − (1 − k/E)^t with log1m = log(1 − k/E) */
}

double
tm_moe_distinct_experts(double e, double k, double t)
{
    return e > 0 ? e * touched_fraction(log1p(-k / e), t) : 0.0;
}

/* ---- evaluation ------------------------------------------------------------------------- */

typedef struct {
    double total, comp, mem;
    tm_roofline_detail *d;
} acc;

static void
record(tm_roofline_detail *d,
       tm_row_id row,
       const char *name,
       double count,
       double flops,
       double bytes,
       double tc,
       double tm,
       double t)
{
    tm_row *rw = &d->rows[row];
    rw->flops += flops * count;
    rw->bytes += bytes * count;
    rw->compute_s += tc;
    rw->memory_s += tm;
    rw->time_s += t;
    if (d->n_ops < TM_MAX_OPS)
        d->ops[d->n_ops++] = (tm_op){name, row, count, flops, bytes, t};
}

static inline void
op(acc *a,
   tm_row_id row,
   const char *name,
   double count,
   double flops,
   double bytes,
   double invP,
   double invW)
{
    double tc = flops * invP * count, tm = bytes * invW * count;
    if (tc >= tm) {
        a->comp += tc;
        a->total += tc;
    } else {
        a->mem += tm;
        a->total += tm;
    }
    if (G_UNLIKELY(a->d != NULL))
        record(a->d, row, name, count, flops, bytes, tc, tm, tc >= tm ? tc : tm);
}

static inline void
gemm(acc *a,
     tm_row_id row,
     const char *name,
     double count,
     double m,
     double n,
     double k,
     double b_w,
     double b_act,
     double invP,
     double invW)
{
    double f, b;
    gemm_work(m, n, k, b_w, b_act, &f, &b);
    op(a, row, name, count, f, b, invP, invW);
}

/* Ring all-reduce of M bytes over N GPUs: 2(n−1)/n·M/(BW·η) plus one start-up latency
 * (DOMAIN.md §3.6; the latency is per collective because vLLM's custom all-reduce takes the
 * same ~4.5 µs for small messages on 2, 4 and 8 H100s, see hardware/h100-sxm.json). */
static inline double
allreduce(const roofline *r, double m, double n, double *sent)
{
    double v = 2.0 * (n - 1.0) / n * m;
    *sent += v;
    return v * r->inv_link + r->lat;
}

static double
eval(const roofline *r, const tm_batch *b, tm_roofline_detail *d, tm_step_cost *cost)
{
    if (d != NULL)
        memset(d, 0, sizeof *d);
    if (b->num_seqs == 0 || b->tokens <= 0) {
        if (cost != NULL)
            memset(cost, 0, sizeof *cost);
        return 0.0;
    }
    acc a = {0.0, 0.0, 0.0, d};
    const double T = b->tokens, S = b->num_sampled, Tp = b->prefill_tokens, Td = b->decode_tokens;
    const double L = r->L, h = r->h, Hl = r->Hl, ba = r->ba, bw = r->bw;

    /* qkv: input norm (fused residual add: read x and residual, write both) + projections */
    op(&a, TM_ROW_QKV, "input-norm", L, 0.0, 4.0 * T * h * ba, r->invPa, r->invW);
    if (!r->mla) {
        gemm(&a, TM_ROW_QKV, "qkv", L, T, (Hl + 2.0 * r->Kl) * r->d, h, bw, ba, r->invPg, r->invW);
    } else if (r->qlora > 0) {
        /* fused q_a + kv_a (replicated on every TP rank), then q_b (heads split) */
        gemm(&a, TM_ROW_QKV, "q-a+kv-a", L, T, r->qlora + r->r + r->rope, h, bw, ba, r->invPg,
             r->invW);
        gemm(&a, TM_ROW_QKV, "q-b", L, T, Hl * (r->nope + r->rope), r->qlora, bw, ba, r->invPg,
             r->invW);
    } else {
        gemm(&a, TM_ROW_QKV, "kv-a", L, T, r->r + r->rope, h, bw, ba, r->invPg, r->invW);
        gemm(&a, TM_ROW_QKV, "q", L, T, Hl * (r->nope + r->rope), h, bw, ba, r->invPg, r->invW);
    }

    /* attention (DOMAIN.md §3.2, §3.4, §3.5) */
    if (!r->mla) {
        double kvb = 2.0 * r->Kl * r->d * r->bkv; /* K+V bytes per token per layer */
        if (Tp > 0)
            op(&a, TM_ROW_ATTENTION, "attention.prefill", L, 4.0 * r->d * Hl * b->pairs_prefill,
               (b->kv_prefill + Tp) * kvb + Tp * 2.0 * Hl * r->d * ba, r->invPa, r->invW);
        if (Td > 0)
            op(&a, TM_ROW_ATTENTION, "attention.decode", L, 4.0 * r->d * Hl * b->pairs_decode,
               (b->kv_decode + Td) * kvb + Td * 2.0 * Hl * r->d * ba, r->invPa, r->invW);
    } else {
        if (!r->dsa && Tp > 0) {
            /* MHA form: expand the latent of every attended token with kv_b, then attend */
            gemm(&a, TM_ROW_ATTENTION, "attention.kv-b-expand", L, b->kv_prefill,
                 Hl * (r->nope + r->vdim), r->r, bw, ba, r->invPg, r->invW);
            op(&a, TM_ROW_ATTENTION, "attention.prefill", L,
               2.0 * Hl * (r->nope + r->rope + r->vdim) * b->pairs_prefill,
               b->kv_prefill * (Hl * (r->nope + r->vdim) + r->rope) * ba +
                   Tp * Hl * (r->nope + r->rope + r->vdim) * ba + Tp * r->latent_b,
               r->invPa, r->invW);
        }
        /* absorbed (MQA) form: decode class, and every query under DSA */
        double tq = r->dsa ? T : Td;
        if (tq > 0) {
            op(&a, TM_ROW_ATTENTION, "attention.absorb", L,
               2.0 * tq * Hl * r->r * (r->nope + r->vdim),
               r->r * Hl * (r->nope + r->vdim) * bw +
                   tq * Hl * (r->nope + 2.0 * r->r + r->vdim) * ba,
               r->invPa, r->invW);
            double pairs, read;
            if (r->dsa) {
                pairs = b->sparse_prefill + b->sparse_decode;
                /* a chunk's queries gather overlapping keys: at most its Σ(c+q) distinct ones */
                read = fmin(b->sparse_prefill, b->kv_prefill) + b->sparse_decode;
            } else {
                pairs = b->pairs_decode;
                read = b->kv_decode;
            }
            op(&a, TM_ROW_ATTENTION, r->dsa ? "attention.sparse" : "attention.decode", L,
               2.0 * Hl * (2.0 * r->r + r->rope) * pairs,
               (read + tq) * r->latent_b + tq * Hl * (2.0 * r->r + r->rope) * ba, r->invPa,
               r->invW);
        }
    }

    /* DSA lightning indexer (replicated on every TP rank) */
    if (r->dsa) {
        gemm(&a, TM_ROW_INDEXER, "indexer.q", L, T, r->ih * r->id, r->qlora > 0 ? r->qlora : h, bw,
             ba, r->invPg, r->invW);
        gemm(&a, TM_ROW_INDEXER, "indexer.k+w", L, T, r->id + r->ih, h, bw, ba, r->invPg, r->invW);
        double pairs = b->pairs_prefill + b->pairs_decode;
        /* read every cached key, write the new ones, read fp8 queries, write fp32 logits */
        op(&a, TM_ROW_INDEXER, "indexer.scores", L, 2.0 * r->ih * r->id * pairs,
           (b->kv_prefill + b->kv_decode + T) * r->key_b + T * r->ih * r->id + 4.0 * pairs,
           r->invPi, r->invW);
    }

    gemm(&a, TM_ROW_OPROJ, "o-proj", L, T, h, Hl * (r->mla ? r->vdim : r->d), bw, ba, r->invPg,
         r->invW);

    if (r->Ld > 0) {
        op(&a, TM_ROW_MLP, "mlp.post-norm", r->Ld, 0.0, 4.0 * T * h * ba, r->invPa, r->invW);
        gemm(&a, TM_ROW_MLP, "mlp.gate_up", r->Ld, T, 2.0 * r->Il, h, bw, ba, r->invPg, r->invW);
        op(&a, TM_ROW_MLP, "mlp.act", r->Ld, 0.0, 3.0 * T * r->Il * ba, r->invPa, r->invW);
        gemm(&a, TM_ROW_MLP, "mlp.down", r->Ld, T, h, r->Il, bw, ba, r->invPg, r->invW);
    }
    double moe_comm = 0.0, sent = 0.0, ep_s = 0.0, tp_s = 0.0;
    if (r->Lm > 0) {
        op(&a, TM_ROW_MOE, "moe.post-norm", r->Lm, 0.0, 4.0 * T * h * ba, r->invPa, r->invW);
        gemm(&a, TM_ROW_ROUTER, "router", r->Lm, T, r->E, h, 2.0, ba, r->invPr, r->invW);
        /* distinct experts among Tg tokens of the MoE group (DOMAIN.md §3.3) */
        double tg = T * r->dp;
        double frac = touched_fraction(r->log1m, tg);
        double local_experts = r->ep > 1 ? r->E / r->ep : r->E;
        double assign = r->ep > 1 ? tg * r->k / r->ep : tg * r->k;
        op(&a, TM_ROW_MOE, "moe.experts", r->Lm,
           6.0 * assign * h * r->Ie_loc * (1.0 + r->p.moe_imbalance),
           bw * 3.0 * h * r->Ie_loc * local_experts * frac +
               assign * (2.0 * h + 6.0 * r->Ie_loc) * ba,
           r->invPg, r->invW);
        if (r->Ish_l > 0)
            op(&a, TM_ROW_MOE, "moe.shared", r->Lm, 6.0 * T * h * r->Ish_l,
               bw * 3.0 * h * r->Ish_l + T * (2.0 * h + 6.0 * r->Ish_l) * ba, r->invPg, r->invW);
        /* MoE communication per layer */
        if (r->ep > 1) {
            double f = (r->ep - 1.0) / r->ep;
            double v = T * r->k * h * (r->bdisp + ba) * f; /* dispatch + combine */
            sent += v * r->Lm;
            ep_s = r->Lm * (v * r->inv_link + 2.0 * r->lat);
            if (r->tp > 1) {
                double s1 = 0.0;
                moe_comm = allreduce(r, T * h * ba, r->tp, &s1);
                sent += s1 * r->Lm;
                tp_s += moe_comm * r->Lm;
            }
        } else if (r->G > 1) {
            double s1 = 0.0;
            moe_comm = allreduce(r, tg * h * ba, r->G, &s1);
            sent += s1 * r->Lm;
            tp_s += moe_comm * r->Lm;
        }
    }

    /* lm-head: embedding gather, final norm over all T, logits for the S sampling positions,
     * sampler over the full vocabulary (fp32 logits written and read) */
    op(&a, TM_ROW_LMHEAD, "embedding", 1.0, 0.0, 2.0 * T * h * ba, r->invPa, r->invW);
    op(&a, TM_ROW_LMHEAD, "final-norm", 1.0, 0.0, 3.0 * T * h * ba, r->invPa, r->invW);
    if (S > 0) {
        gemm(&a, TM_ROW_LMHEAD, "lm-head", 1.0, S, r->Vl, h, 2.0, ba, r->invPr, r->invW);
        op(&a, TM_ROW_LMHEAD, "sampler", 1.0, 0.0, 2.0 * S * r->V * 4.0, r->invPa, r->invW);
    }

    /* collectives (DOMAIN.md §3.6) */
    double logits_s = 0.0, pp_s = 0.0;
    if (r->tp > 1) {
        double s1 = 0.0;
        double one = allreduce(r, T * h * ba, r->tp, &s1);
        tp_s += one * (L + r->Ld);
        sent += s1 * (L + r->Ld);
        if (S > 0) {
            double v = (r->tp - 1.0) / r->tp * S * r->V * ba; /* logits all-gather */
            sent += v;
            logits_s = v * r->inv_link + r->lat;
        }
    }
    if (r->pp > 1) {
        double v = T * h * ba;
        sent += v * (r->pp - 1.0);
        pp_s = (r->pp - 1.0) * (v * r->inv_link + r->lat);
    }
    double comm = tp_s + ep_s + pp_s + logits_s;
    double exposed = (1.0 - r->p.overlap) * comm;
    double over = r->p.step_overhead_s + r->p.per_seq_overhead_s * (double)b->num_seqs;
    double total = a.total + exposed + over;
    if (cost != NULL)
        *cost = (tm_step_cost){total, a.comp, a.mem, exposed, over};
    if (d != NULL) {
        d->cost = (tm_step_cost){total, a.comp, a.mem, exposed, over};
        d->tp_allreduce_s = tp_s;
        d->ep_alltoall_s = ep_s;
        d->pp_send_s = pp_s;
        d->logits_gather_s = logits_s;
        tm_row *c = &d->rows[TM_ROW_COLLECTIVES];
        c->bytes = sent;
        c->comm_s = comm;
        c->time_s = exposed;
        tm_row *o = &d->rows[TM_ROW_OVERHEAD];
        o->time_s = over;
        for (int i = 0; i < TM_ROW_COUNT; i++) {
            tm_row *rw = &d->rows[i];
            if (i == TM_ROW_COLLECTIVES)
                rw->bound = comm > 0 ? "comm" : "-";
            else if (i == TM_ROW_OVERHEAD)
                rw->bound = over > 0 ? "overhead" : "-";
            else if (rw->time_s <= 0)
                rw->bound = "-";
            else
                rw->bound = rw->compute_s >= rw->memory_s ? "compute" : "memory";
        }
    }
    return total;
}

static double
roofline_step(const tm_timemodel *self, const tm_batch *b, tm_step_cost *detail)
{
    return eval((const roofline *)(const void *)self, b, NULL, detail);
}

static void
roofline_destroy(tm_timemodel *self)
{
    g_free(self);
}

static const tm_timemodel_vtable roofline_vt = {"roofline", roofline_step, roofline_destroy};

bool
tm_is_roofline(const tm_timemodel *tm)
{
    return tm != NULL && tm->vt == &roofline_vt;
}

double
tm_roofline_eval(const tm_timemodel *tm, const tm_batch *b, tm_roofline_detail *detail)
{
    g_return_val_if_fail(tm_is_roofline(tm), 0.0);
    return eval((const roofline *)(const void *)tm, b, detail, NULL);
}

tm_row_id
tm_roofline_bottleneck(const tm_roofline_detail *d)
{
    tm_row_id best = TM_ROW_OVERHEAD;
    double t = -1.0;
    for (int i = 0; i < TM_ROW_COUNT; i++) {
        if (d->rows[i].time_s > t) {
            t = d->rows[i].time_s;
            best = (tm_row_id)i;
        }
    }
    return best;
}

const tm_op *
tm_roofline_find_op(const tm_roofline_detail *d, const char *name)
{
    for (size_t i = 0; i < d->n_ops; i++)
        if (strcmp(d->ops[i].name, name) == 0)
            return &d->ops[i];
    return NULL;
}

tm_timemodel *
tm_roofline_new(const tm_model_spec *m, const tm_hardware *hw, const tm_roofline_params *p)
{
    g_return_val_if_fail(m != NULL && hw != NULL && p != NULL, NULL);
    roofline *r = g_new0(roofline, 1);
    r->base.vt = &roofline_vt;
    r->base.request_overhead_s = p->request_overhead_s;
    r->base.per_output_token_s = p->per_output_token_s;
    r->p = *p;
    const tm_parallel *par = &p->par;
    r->tp = (double)par->tp;
    r->pp = (double)par->pp;
    r->dp = (double)par->dp;
    r->ep = (double)par->ep;
    r->G = r->tp * r->dp;
    r->mla = m->mla;
    r->dsa = m->index_topk > 0;
    r->L = (double)m->layers;
    r->Ld = (double)m->dense_layers;
    r->Lm = (double)m->moe_layers;
    r->h = (double)m->hidden;
    r->Hl = (double)m->heads / r->tp;
    r->Kl = (double)tm_model_kv_heads_per_gpu(m, par->tp);
    r->d = (double)m->head_dim;
    r->Il = (double)m->ffn / r->tp;
    r->V = (double)m->vocab;
    r->Vl = r->V / r->tp;
    r->nope = (double)m->qk_nope_head_dim;
    r->rope = (double)m->qk_rope_head_dim;
    r->vdim = (double)m->v_head_dim;
    r->qlora = (double)m->q_lora_rank;
    r->r = (double)m->kv_lora_rank;
    r->ih = (double)m->index_heads;
    r->id = (double)m->index_head_dim;
    r->key_b = r->id + 4.0 * ceil(r->id / 128.0);
    r->latent_b = m->mla ? tm_model_mla_latent_bytes(m, p->kv_dtype) : 0.0;
    r->E = (double)m->experts;
    r->k = (double)m->topk;
    r->log1m = m->experts > 0 ? log1p(-r->k / r->E) : 0.0;
    r->Ie = (double)m->expert_ffn;
    r->Ie_loc = par->ep > 1 ? r->Ie : r->Ie / r->G;
    r->Ish_l = (double)(m->shared_experts * m->shared_ffn) / r->tp;
    r->bw = tm_dtype_bytes(p->weight_dtype);
    r->ba = 2.0;
    r->bkv = tm_dtype_bytes(p->kv_dtype);
    r->bdisp = p->weight_dtype == TM_DTYPE_FP8 ? 1.0 : r->ba; /* FP8 dispatch (DeepEP) */
    double ec = p->compute_eff, em = p->memory_eff, ex = p->comm_eff;
    double bf16 = hw->peak_flops[TM_DTYPE_BF16];
    double fp8 = hw->peak_flops[TM_DTYPE_FP8] > 0 ? hw->peak_flops[TM_DTYPE_FP8] : bf16;
    r->invPg = 1.0 / (tm_hardware_gemm_flops(hw, p->weight_dtype) * ec);
    r->invPa = 1.0 / (bf16 * ec);
    r->invPi = 1.0 / (fp8 * ec);
    r->invPr = 1.0 / (bf16 * ec);
    r->invW = 1.0 / (hw->mem_bw * em);
    const tm_link *l = tm_hardware_link(hw, p->backend);
    r->inv_link = l->bw > 0 ? 1.0 / (l->bw * ex) : 0.0;
    r->lat = l->latency_s;
    return &r->base;
}
