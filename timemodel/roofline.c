/* timemodel/roofline.c: per-operator roofline of one forward step (docs/domain.md §3).
 *
 * Every per-GPU dimension is precomputed in tm_roofline_new, so an evaluation is a fixed list
 * of ~30 operators, each t = count·max(F·invP, B·invW), plus collectives and overheads: no
 * loop over sequences (the batch summary carries the sums), no allocation, one exp() for the
 * MoE distinct-expert count. The detailed rows are filled by the same code when asked for.
 * Layers are identical within a kind (attention in all L layers, dense MLP in Ld, MoE in Lm),
 * so an operator is priced for one layer and multiplied by its layer count; with pipeline
 * parallelism a step visits every stage in turn, so the step time is the sum over all layers
 * (plus the stage-to-stage sends), as docs/domain.md §3.6 says. */
#include "timemodel/roofline.h"

#include <math.h>
#include <string.h>

#include "base/match.h"

/* A GEMM priced per row of its M dimension: F = m·f, B = w + m·a (tm_gemm_work at m = 0, 1). */
typedef struct {
    double f; /* 2·n·k */
    double w; /* weight bytes n·k·b_w */
    double a; /* activation bytes per row (k + n)·b_act */
} gemm_c;

/* One slot of a measured all-reduce table prepared for log-log interpolation: each
 * segment's log start, reciprocal log width and log rise, so that a lookup costs one log and
 * one exp (tm_allreduce_table_time computes the same expressions, bit for bit); and the time
 * of every token count up to AR_TOKENS (the model's all-reduces move tokens · h · b bytes), so
 * that most steps cost one load. */
#define AR_TOKENS 4096

typedef struct ar_curve {
    int np; /* 0: the table has no slot for this GPU count */
    double x[TM_AR_MAX_POINTS], y[TM_AR_MAX_POINTS];
    double lx[TM_AR_MAX_POINTS], ly[TM_AR_MAX_POINTS];       /* log x[i], log y[i] */
    double inv_dlx[TM_AR_MAX_POINTS], dly[TM_AR_MAX_POINTS]; /* segment (i−1, i) */
    double *by_tokens; /* [t]: the time of t · h · b bytes, t ≤ AR_TOKENS; NULL without a slot */
} ar_curve;

typedef struct {
    tm_timemodel base;
    tm_roofline_params p;
    bool mla, dsa, qlora;
    double L, Ld, Lm; /* attention / dense-MLP / MoE layers */
    double h, Hl, V, ba;
    gemm_c g_qkv, g_qa, g_qb, g_o, g_kvb, g_iq, g_ikw, g_gu, g_down, g_router, g_lm;
    /* dense attention: F = att_f·pairs; B = (kv + q)·att_kv + q·att_q */
    double att_f, att_kv, att_q;
    /* MLA MHA form: F = mha_f·pairs; B = kv·mha_kv + q·mha_q */
    double mha_f, mha_kv, mha_q;
    /* MLA absorbed form: fold F = abs_f·q, B = abs_w + q·abs_a; attention F = sp_f·pairs,
     * B = (read + q)·latent + q·sp_q */
    double abs_f, abs_w, abs_a, sp_f, sp_q, latent_b;
    /* DSA indexer scores: F = ix_f·pairs; B = (kv + T)·key_b + T·ix_q + 4·pairs */
    double ix_f, ix_q, key_b;
    /* elementwise bytes per token, per layer kind */
    double norm_b, act_b;
    /* MoE: assignments = T·assign_k; F = e_f·assign; B = e_w·frac + e_a·assign */
    double log1m, dp, assign_k, e_f, e_w, e_a, sh_f, sh_w, sh_a, G, ep, tp, pp, k, bdisp;
    double invPa, invPi, invPr, invW;
    double invWa;          /* attention kernels' bandwidth (attention memory efficiency) */
    double invWe;          /* elementwise operators' bandwidth (elementwise memory efficiency) */
    double invPam, invWam; /* decode attention in a mixed batch (TM_OPCLASS_MIXED_DECODE) */
    double invPm, invWm;   /* routed experts (TM_OPCLASS_MOE or _MOE_Q) */
    double invPw, invWw;   /* GEMMs of the model's weights (TM_OPCLASS_GEMM or _GEMM_Q) */
    tm_op_class cw, cm;    /* classes of weight GEMMs and routed experts (quantised or not) */
    double inv_link, lat;
    bool first, last; /* pipeline stage holds the embedding / the lm-head (both when whole) */
    double pp_sends;  /* stage-to-stage sends in the step: pp − 1 whole, 1 or 0 per stage */
    double pp_net;    /* of which cross a node boundary (priced on the network link) */
    double inv_net, lat_net;
    /* shape-aware decode attention (GQA / MHA): items = num_decode · Kl; one item's KV bytes
     * per cached token = kvh_b; extra time per layer = item_s·items + ser·(mean item bytes) */
    double Kl, kvh_b, item_s, ser, inv_peak_w;
    double moe_tok; /* moe_token / peak bandwidth · h · b_act: per token entering the kernel */
    /* sliding-window layers (GQA / MHA): their share of layers; their attention takes the
     * batch's window-capped sums (tm_batch.sparse_*, the cap being the window) */
    double f_slide;
    double graph_max, launch_s, k_step; /* CUDA graphs: capture limit, eager launch, kernels */
    ar_curve ar_tp, ar_g;  /* the measured all-reduce over tp and over tp·dp GPUs, if any */
    const ar_curve *ar_gp; /* &ar_g, or &ar_tp when tp·dp = tp */
} roofline;

static const char *const row_names[] = {
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
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(row_names) == TM_ROW_COUNT);

const char *
tm_row_name(tm_row_id r)
{
    return r < TM_ROW_COUNT ? row_names[r] : "?";
}

char *
tm_roofline_weights_name(const tm_roofline_params *p)
{
    if (!p->experts_own_dtype || p->expert_dtype == p->weight_dtype)
        return g_strdup(tm_dtype_name(p->weight_dtype));
    return g_strdup_printf("%s (experts %s)", tm_dtype_name(p->weight_dtype),
                           tm_dtype_name(p->expert_dtype));
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
    p->attn_compute_eff = p->attn_memory_eff = p->elem_memory_eff = NAN;
    p->mixdec_compute_eff = p->mixdec_memory_eff = NAN;
    p->moe_compute_eff = p->moe_memory_eff = NAN;
    p->q_compute_eff = p->q_memory_eff = p->moeq_compute_eff = p->moeq_memory_eff = NAN;
    p->attn_item_s = TM_DEFAULT_ATTN_ITEM_S;
    p->attn_serial = 0.0;
    p->moe_token = 0.0;
    p->cudagraph_max_tokens = TM_DEFAULT_CUDAGRAPH_MAX_TOKENS;
    p->launch_eager_s = TM_DEFAULT_LAUNCH_EAGER_S;
    p->cascade_min_prefix = 256.0; /* vLLM v0.11 use_cascade_attention */
    p->cascade_min_seqs = 8.0;
    p->step_overhead_s = TM_DEFAULT_STEP_OVERHEAD_S;
    p->per_seq_overhead_s = TM_DEFAULT_PER_SEQ_OVERHEAD_S;
    p->pp_stage = -1;
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

void
tm_moe_work(
    double h, double ie, double d, double a, double b_w, double b_act, double *flops, double *bytes)
{
    *flops = 6.0 * h * ie * a;
    *bytes = b_w * 3.0 * h * ie * d + a * (2.0 * h + 6.0 * ie) * b_act;
}

static inline double
touched_fraction(double log1m, double t)
{
    return 1.0 - exp(t * log1m); /* 1 − (1 − k/E)^t with log1m = log(1 − k/E) */
}

double
tm_moe_distinct_experts(double e, double k, double t)
{
    return e > 0 ? e * touched_fraction(log1p(-k / e), t) : 0.0;
}

/* ---- evaluation ------------------------------------------------------------------------- */

typedef struct {
    double comp, mem; /* Σ times of compute-bound / memory-bound operators */
    tm_roofline_detail *d;
} acc;

static void
record(tm_roofline_detail *d,
       tm_row_id row,
       const char *name,
       tm_op_class cls,
       double count,
       double flops,
       double bytes,
       double tc,
       double tm)
{
    tm_row *rw = &d->rows[row];
    double t = tc >= tm ? tc : tm;
    rw->flops += flops * count;
    rw->bytes += bytes * count;
    rw->compute_s += tc;
    rw->memory_s += tm;
    rw->time_s += t;
    if (d->n_ops < TM_MAX_OPS)
        d->ops[d->n_ops++] = (tm_op){name, row, cls, count, flops, bytes, tc, tm, t};
}

/* t = count·max(F·invP, B·invW), booked as compute- or memory-bound (branch-free). */
static inline void
op_c(acc *a,
     tm_row_id row,
     const char *name,
     tm_op_class cls,
     double count,
     double flops,
     double bytes,
     double invP,
     double invW)
{
    double tc = flops * invP * count, tm = bytes * invW * count;
    bool cb = tc >= tm;
    a->comp += cb ? tc : 0.0;
    a->mem += cb ? 0.0 : tm;
    if (G_UNLIKELY(a->d != NULL))
        record(a->d, row, name, cls, count, flops, bytes, tc, tm);
}

/* Time added to the operator recorded last (an additive term of §4.3, which no efficiency
 * scales): booked as memory-side time. */
static inline void
extra(acc *a, double t)
{
    a->mem += t;
    if (G_UNLIKELY(a->d != NULL) && a->d->n_ops > 0) {
        tm_op *o = &a->d->ops[a->d->n_ops - 1];
        o->time_s += t;
        a->d->rows[o->row].time_s += t;
        a->d->rows[o->row].memory_s += t;
    }
}

/* A GEMM-class operator (GEMMs, DSA indexer scores). */
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
    op_c(a, row, name, TM_OPCLASS_GEMM, count, flops, bytes, invP, invW);
}

/* An operator with no arithmetic worth counting (norms, activation, sampler): memory bound. */
static inline void
mem_op(acc *a, tm_row_id row, const char *name, double count, double bytes, double invW)
{
    double tm = bytes * invW * count;
    a->mem += tm;
    if (G_UNLIKELY(a->d != NULL))
        record(a->d, row, name, TM_OPCLASS_ELEMENTWISE, count, 0.0, bytes, 0.0, tm);
}

static inline void
gemm(acc *a,
     tm_row_id row,
     const char *name,
     double count,
     double m,
     const gemm_c *g,
     double invP,
     double invW)
{
    op(a, row, name, count, m * g->f, g->w + m * g->a, invP, invW);
}

/* A GEMM of the model's (possibly quantised) weights: its class and efficiencies follow the
 * weight dtype (TM_OPCLASS_GEMM_Q for 8 bits or fewer). */
static inline void
wgemm(acc *a,
      const roofline *r,
      tm_row_id row,
      const char *name,
      double count,
      double m,
      const gemm_c *g)
{
    op_c(a, row, name, r->cw, count, m * g->f, g->w + m * g->a, r->invPw, r->invWw);
}

static gemm_c
gemm_const(double n, double k, double b_w, double b_act)
{
    double f0, b0, f1, b1;
    gemm_work(0.0, n, k, b_w, b_act, &f0, &b0);
    gemm_work(1.0, n, k, b_w, b_act, &f1, &b1);
    return (gemm_c){f1, b0, b1 - b0};
}

/* Ring all-reduce of M bytes over N GPUs: 2(n−1)/n·M/(BW·η) plus one start-up latency
 * (docs/domain.md §3.6; the latency is per collective because vLLM's custom all-reduce takes the
 * same ~4.5 µs for small messages on 2, 4 and 8 H100s, see hardware/h100-sxm.json). */
/* The slot of T for N GPUs; -1 if none. */
static int
ar_slot(const tm_allreduce_table *t, double n)
{
    for (int k = 0; k < TM_AR_SLOTS; k++)
        if (t->n_gpus[k] != 0 && (double)t->n_gpus[k] == n && t->npts[k] >= 1)
            return k;
    return -1;
}

/* Above the last point: its time plus the last segment's slope (the bandwidth regime). */
static inline double
ar_above(const double *x, const double *y, int np, double m)
{
    double slope = np > 1 ? (y[np - 1] - y[np - 2]) / (x[np - 1] - x[np - 2]) : 0.0;
    return y[np - 1] + fmax(0.0, slope) * (m - x[np - 1]);
}

double
tm_allreduce_table_time(const tm_allreduce_table *t, double n, double m)
{
    int k = ar_slot(t, n);
    if (k < 0)
        return NAN;
    const double *x = t->bytes[k], *y = t->s[k];
    int np = t->npts[k];
    if (m <= x[0] || np == 1)
        return y[0];
    if (m >= x[np - 1])
        return ar_above(x, y, np, m);
    int i = 1;
    while (x[i] < m)
        i++;
    double f = (log(m) - log(x[i - 1])) * (1.0 / log(x[i] / x[i - 1]));
    return exp(log(y[i - 1]) + f * log(y[i] / y[i - 1]));
}

static inline double ar_curve_time(const ar_curve *c, double m);

/* C for N GPUs of T, with the times of messages of t · H · BA bytes tabulated. */
static void
ar_curve_init(ar_curve *c, const tm_allreduce_table *t, double n, double h, double ba)
{
    memset(c, 0, sizeof *c);
    int k = ar_slot(t, n);
    if (k < 0)
        return;
    c->np = t->npts[k];
    for (int i = 0; i < c->np; i++) {
        c->x[i] = t->bytes[k][i];
        c->y[i] = t->s[k][i];
        c->lx[i] = log(c->x[i]);
        c->ly[i] = log(c->y[i]);
        if (i > 0) {
            c->inv_dlx[i] = 1.0 / log(c->x[i] / c->x[i - 1]);
            c->dly[i] = log(c->y[i] / c->y[i - 1]);
        }
    }
    c->by_tokens = g_new(double, AR_TOKENS + 1);
    c->by_tokens[0] = c->y[0];
    for (int tok = 1; tok <= AR_TOKENS; tok++) /* m formed as allreduce() forms it */
        c->by_tokens[tok] = ar_curve_time(c, (double)tok * h * ba);
}

/* tm_allreduce_table_time of C's slot, with the logs of the points precomputed. */
static inline double
ar_curve_time(const ar_curve *c, double m)
{
    const double *x = c->x;
    int np = c->np;
    if (m <= x[0] || np == 1)
        return c->y[0];
    if (m >= x[np - 1])
        return ar_above(x, c->y, np, m);
    int lo = 0, hi = np - 1; /* x[lo] < m <= x[hi]: the first point at or above m is hi */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x[mid] < m)
            lo = mid;
        else
            hi = mid;
    }
    int i = hi;
    double f = (log(m) - c->lx[i - 1]) * c->inv_dlx[i];
    return exp(c->ly[i - 1] + f * c->dly[i]);
}

/* The last table lookup of a step (the MoE and the attention/MLP all-reduces of one step
 * usually move the same bytes over the same GPUs). */
typedef struct {
    const ar_curve *c;
    double m, t;
} ar_memo;

/* The all-reduce of TOKENS · h · b bytes over the N GPUs of C: from the measured table when it
 * has N (TABLE_S then accumulates it), else ring 2(n−1)/n·M/(BW·η) plus one start-up
 * latency. */
static inline double
allreduce(const roofline *r,
          const ar_curve *c,
          ar_memo *memo,
          double tokens,
          double n,
          double *sent,
          double *table_s)
{
    double m = tokens * r->h * r->ba;
    double v = tm_collective_bytes(TM_COLL_ALL_REDUCE, n, m);
    *sent += v;
    if (G_UNLIKELY(c->np > 0)) {
        double t;
        if (tokens <= AR_TOKENS && tokens == (double)(int)tokens) {
            t = c->by_tokens[(int)tokens];
        } else if (memo->c == c && memo->m == m) {
            t = memo->t;
        } else {
            t = ar_curve_time(c, m);
            *memo = (ar_memo){c, m, t};
        }
        *table_s += t;
        return t;
    }
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
    acc a = {0.0, 0.0, d};
    ar_memo memo = {NULL, 0.0, 0.0};
    /* logits: one per sampling sequence, plus one per verified draft token */
    const double T = b->tokens, S = b->num_sampled + b->spec_tokens, Tp = b->prefill_tokens,
                 Td = b->decode_tokens;
    const double L = r->L, h = r->h, ba = r->ba;

    /* qkv: input norm (fused residual add: read x and residual, write both) + projections */
    mem_op(&a, TM_ROW_QKV, "input-norm", L, T * r->norm_b, r->invWe);
    if (!r->mla) {
        wgemm(&a, r, TM_ROW_QKV, "qkv", L, T, &r->g_qkv);
    } else {
        /* q_lora models: fused q_a + kv_a (replicated on every TP rank), then q_b (heads
         * split); otherwise kv_a, and q straight from h */
        wgemm(&a, r, TM_ROW_QKV, r->qlora ? "q-a+kv-a" : "kv-a", L, T, &r->g_qa);
        wgemm(&a, r, TM_ROW_QKV, r->qlora ? "q-b" : "q", L, T, &r->g_qb);
    }

    /* attention (docs/domain.md §3.2, §3.4, §3.5) */
    if (!r->mla) {
        /* per-layer work: full layers take every causal pair, sliding ones the window's (a
         * decode reads min(window, c+1) keys; a chunk at most all of its keys) */
        double pp = b->pairs_prefill, kp = b->kv_prefill, pd = b->pairs_decode, kd = b->kv_decode;
        /* cascade attention: the common prefix read once for the whole step (vLLM v0.11:
         * ≥ 256 tokens, ≥ 8 sequences, no sliding window); FLOPs unchanged */
        double P = b->common_prefix_tokens;
        if (P > 0 && P >= r->p.cascade_min_prefix && (double)b->num_seqs >= r->p.cascade_min_seqs &&
            r->p.cascade_min_prefix > 0 && r->f_slide == 0) {
            if (Td > 0) {
                kd -= (Td - 1.0) * P;
                kp -= (double)b->num_prefill * P;
            } else {
                kp -= ((double)b->num_prefill - 1.0) * P;
            }
        }
        if (r->f_slide > 0 && b->dsa_topk > 0) { /* no cap given: priced as full layers */
            double f = r->f_slide, g = 1.0 - f;
            pp = g * pp + f * b->sparse_prefill;
            kp = g * kp + f * fmin(b->kv_prefill, b->sparse_prefill);
            pd = g * pd + f * b->sparse_decode;
            kd = g * kd + f * b->sparse_decode;
        }
        if (Tp > 0)
            op_c(&a, TM_ROW_ATTENTION, "attention.prefill", TM_OPCLASS_ATTENTION, L, r->att_f * pp,
                 (kp + Tp) * r->att_kv + Tp * r->att_q, r->invPa, r->invWa);
        if (Td > 0) {
            op_c(&a, TM_ROW_ATTENTION, "attention.decode",
                 Tp > 0 ? TM_OPCLASS_MIXED_DECODE : TM_OPCLASS_ATTENTION, L, r->att_f * pd,
                 (kd + Td) * r->att_kv + Td * r->att_q, Tp > 0 ? r->invPam : r->invPa,
                 Tp > 0 ? r->invWam : r->invWa);
            /* work per (sequence, KV head), and the one-item bandwidth limit (§4.3) */
            double items = Td * r->Kl, item_b = kd / Td * r->kvh_b;
            extra(&a, L * (r->item_s * items + r->ser * item_b));
            if (G_UNLIKELY(d != NULL)) {
                d->att_items += L * items;
                d->att_serial_s += L * item_b * r->inv_peak_w;
            }
        }
    } else {
        if (!r->dsa && Tp > 0) {
            /* MHA form: expand the latent of every attended token with kv_b, then attend */
            wgemm(&a, r, TM_ROW_ATTENTION, "attention.kv-b-expand", L, b->kv_prefill, &r->g_kvb);
            op_c(&a, TM_ROW_ATTENTION, "attention.prefill", TM_OPCLASS_ATTENTION, L,
                 r->mha_f * b->pairs_prefill, b->kv_prefill * r->mha_kv + Tp * r->mha_q, r->invPa,
                 r->invWa);
        }
        /* absorbed (MQA) form: decode class, and every query under DSA */
        double tq = r->dsa ? T : Td;
        if (tq > 0) {
            op_c(&a, TM_ROW_ATTENTION, "attention.absorb", TM_OPCLASS_ATTENTION, L, r->abs_f * tq,
                 r->abs_w + tq * r->abs_a, r->invPa, r->invWa);
            double pairs, read;
            if (r->dsa) {
                pairs = b->sparse_prefill + b->sparse_decode;
                /* a chunk's queries gather overlapping keys: at most its Σ(c+q) distinct ones */
                read = (b->sparse_prefill < b->kv_prefill ? b->sparse_prefill : b->kv_prefill) +
                       b->sparse_decode;
            } else {
                pairs = b->pairs_decode;
                read = b->kv_decode;
            }
            op_c(&a, TM_ROW_ATTENTION, r->dsa ? "attention.sparse" : "attention.decode",
                 TM_OPCLASS_ATTENTION, L, r->sp_f * pairs, (read + tq) * r->latent_b + tq * r->sp_q,
                 r->invPa, r->invWa);
        }
    }

    /* DSA lightning indexer (replicated on every TP rank) */
    if (r->dsa) {
        wgemm(&a, r, TM_ROW_INDEXER, "indexer.q", L, T, &r->g_iq);
        wgemm(&a, r, TM_ROW_INDEXER, "indexer.k+w", L, T, &r->g_ikw);
        double pairs = b->pairs_prefill + b->pairs_decode;
        /* read every cached key, write the new ones, read fp8 queries, write fp32 logits */
        op(&a, TM_ROW_INDEXER, "indexer.scores", L, r->ix_f * pairs,
           (b->kv_prefill + b->kv_decode + T) * r->key_b + T * r->ix_q + 4.0 * pairs, r->invPi,
           r->invW);
    }

    wgemm(&a, r, TM_ROW_OPROJ, "o-proj", L, T, &r->g_o);

    if (r->Ld > 0) {
        mem_op(&a, TM_ROW_MLP, "mlp.post-norm", r->Ld, T * r->norm_b, r->invWe);
        wgemm(&a, r, TM_ROW_MLP, "mlp.gate_up", r->Ld, T, &r->g_gu);
        mem_op(&a, TM_ROW_MLP, "mlp.act", r->Ld, T * r->act_b, r->invWe);
        wgemm(&a, r, TM_ROW_MLP, "mlp.down", r->Ld, T, &r->g_down);
    }
    double moe_comm = 0.0, sent = 0.0, ep_s = 0.0, tp_s = 0.0;
    double table_s = 0.0, n_table = 0.0; /* all-reduces priced from the measured table */
    if (r->Lm > 0) {
        mem_op(&a, TM_ROW_MOE, "moe.post-norm", r->Lm, T * r->norm_b, r->invWe);
        gemm(&a, TM_ROW_ROUTER, "router", r->Lm, T, &r->g_router, r->invPr, r->invW);
        /* distinct experts among Tg tokens of the MoE group (docs/domain.md §3.3): the
         * simulator gives the lockstep DP ranks' total; otherwise every rank is taken alike */
        double tg = b->moe_group_tokens > 0 ? b->moe_group_tokens : T * r->dp;
        double frac = touched_fraction(r->log1m, tg);
        double assign = tg / r->dp * r->assign_k;
        op_c(&a, TM_ROW_MOE, "moe.experts", r->cm, r->Lm, r->e_f * assign,
             r->e_w * frac + r->e_a * assign, r->invPm, r->invWm);
        /* routing, sorting and gathering every token that enters the fused-MoE kernel (all
         * Tg tokens of the group: vLLM's default EP all-gathers them), §4.3 */
        extra(&a, r->Lm * r->moe_tok * tg);
        if (G_UNLIKELY(d != NULL))
            d->moe_token_s += r->Lm * tg * h * ba * r->inv_peak_w;
        if (r->sh_f > 0)
            op_c(&a, TM_ROW_MOE, "moe.shared", r->cw, r->Lm, T * r->sh_f, r->sh_w + T * r->sh_a,
                 r->invPw, r->invWw);
        /* MoE communication per layer */
        if (r->ep > 1) {
            /* dispatch + combine: a rank sends its own tokens' k copies and receives its
             * experts' share of the group's; the all-to-all lasts as long as the larger */
            double tr = T > tg / r->dp ? T : tg / r->dp;
            double v =
                tm_collective_bytes(TM_COLL_ALL_TO_ALL, r->ep, tr * r->k * h * (r->bdisp + ba));
            sent += v * r->Lm;
            ep_s = r->Lm * (v * r->inv_link + 2.0 * r->lat);
            if (r->tp > 1) {
                double s1 = 0.0, tab1 = 0.0;
                moe_comm = allreduce(r, &r->ar_tp, &memo, T, r->tp, &s1, &tab1);
                sent += s1 * r->Lm;
                tp_s += moe_comm * r->Lm;
                table_s += tab1 * r->Lm;
                n_table += tab1 > 0 ? r->Lm : 0.0;
            }
        } else if (r->G > 1) {
            double s1 = 0.0, tab1 = 0.0;
            moe_comm = allreduce(r, r->ar_gp, &memo, tg, r->G, &s1, &tab1);
            sent += s1 * r->Lm;
            tp_s += moe_comm * r->Lm;
            table_s += tab1 * r->Lm;
            n_table += tab1 > 0 ? r->Lm : 0.0;
        }
    }

    /* lm-head: embedding gather, final norm over all T, logits for the S sampling positions,
     * sampler over the full vocabulary (fp32 logits written and read) */
    if (r->first)
        mem_op(&a, TM_ROW_LMHEAD, "embedding", 1.0, 2.0 * T * h * ba, r->invWe);
    if (r->last)
        mem_op(&a, TM_ROW_LMHEAD, "final-norm", 1.0, 3.0 * T * h * ba, r->invWe);
    if (S > 0 && r->last) {
        gemm(&a, TM_ROW_LMHEAD, "lm-head", 1.0, S, &r->g_lm, r->invPr, r->invW);
        mem_op(&a, TM_ROW_LMHEAD, "sampler", 1.0, 2.0 * S * r->V * 4.0, r->invWe);
    }

    /* collectives (docs/domain.md §3.6) */
    double logits_s = 0.0, pp_s = 0.0;
    if (r->tp > 1) {
        double s1 = 0.0;
        double tab1 = 0.0;
        double one = allreduce(r, &r->ar_tp, &memo, T, r->tp, &s1, &tab1);
        table_s += tab1 * (L + r->Ld);
        n_table += tab1 > 0 ? L + r->Ld : 0.0;
        tp_s += one * (L + r->Ld);
        sent += s1 * (L + r->Ld);
        if (S > 0 && r->last) {
            double v = tm_collective_bytes(TM_COLL_ALL_GATHER, r->tp, S * r->V * ba); /* logits */
            sent += v;
            logits_s = v * r->inv_link + r->lat;
        }
    }
    if (r->pp_sends > 0) {
        double v = tm_collective_bytes(TM_COLL_SEND_RECV, 2.0, T * h * ba);
        sent += v * r->pp_sends;
        pp_s = (r->pp_sends - r->pp_net) * (v * r->inv_link + r->lat) +
               r->pp_net * (v * r->inv_net + r->lat_net);
    }
    double comm = tp_s + ep_s + pp_s + logits_s;
    double exposed = (1.0 - r->p.overlap) * comm;
    double over = r->p.step_overhead_s + r->p.per_seq_overhead_s * (double)b->num_seqs;
    /* eagerly launched kernels: none in a full-graph decode step, the attention kernels of a
     * piecewise one, every kernel beyond the capture size; exposed when the launches outlast
     * the GPU work */
    if (r->launch_s > 0) {
        double eager = T > r->graph_max ? r->k_step + (Tp > 0 ? L : 0.0) : Tp > 0 ? L : 0.0;
        double idle = eager * r->launch_s - (a.comp + a.mem + exposed);
        over += idle > 0.0 ? idle : 0.0;
    }
    double total = a.comp + a.mem + exposed + over;
    if (cost != NULL)
        *cost = (tm_step_cost){total, a.comp, a.mem, exposed, over};
    if (d != NULL) {
        d->cost = (tm_step_cost){total, a.comp, a.mem, exposed, over};
        d->tp_allreduce_s = tp_s;
        d->ep_alltoall_s = ep_s;
        d->pp_send_s = pp_s;
        d->logits_gather_s = logits_s;
        /* the same branches as above, counting start-ups */
        double n = 0.0;
        if (r->tp > 1)
            n += (L + r->Ld) + (S > 0 && r->last ? 1.0 : 0.0);
        if (r->Lm > 0 && r->ep > 1)
            n += r->Lm * (2.0 + (r->tp > 1 ? 1.0 : 0.0));
        else if (r->Lm > 0 && r->G > 1)
            n += r->Lm;
        n += r->pp_sends;
        d->collectives = n;
        d->comm_latency_s = (n - n_table) * r->lat;
        d->comm_table_s = table_s;
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
    roofline *r = (roofline *)(void *)self;
    g_free(r->ar_tp.by_tokens);
    g_free(r->ar_g.by_tokens);
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

double
tm_roofline_step_kernels(const tm_timemodel *tm, double *per_class)
{
    g_return_val_if_fail(tm_is_roofline(tm), 0.0);
    const roofline *r = (const roofline *)(const void *)tm;
    tm_batch b;
    tm_batch_init(&b, r->dsa ? 1u : 0u);
    tm_batch_add(&b, 1, 1, true);
    tm_roofline_detail d;
    eval(r, &b, &d, NULL);
    return tm_roofline_kernels(&d, per_class);
}

double
tm_roofline_kernels(const tm_roofline_detail *d, double *per_class)
{
    double k[TM_OPCLASS_COUNT] = {0};
    for (size_t i = 0; i < d->n_ops; i++)
        k[d->ops[i].cls] += d->ops[i].count;
    if (per_class != NULL)
        memcpy(per_class, k, sizeof k);
    double t = 0.0;
    for (int c = 0; c < TM_OPCLASS_COUNT; c++)
        t += k[c];
    return t;
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
    double tp = (double)par->tp, dp = (double)par->dp, ep = (double)par->ep;
    double h = (double)m->hidden, Hl = (double)m->heads / tp;
    double Kl = (double)tm_model_kv_heads_per_gpu(m, par->tp), d = (double)m->head_dim;
    double bw = tm_dtype_bytes(p->weight_dtype), ba = 2.0, bkv = tm_dtype_bytes(p->kv_dtype);
    tm_dtype edt = tm_roofline_expert_dtype(p);
    double be = tm_dtype_bytes(edt);
    double nope = (double)m->qk_nope_head_dim, rope = (double)m->qk_rope_head_dim;
    double vd = (double)m->v_head_dim, rk = (double)m->kv_lora_rank, ql = (double)m->q_lora_rank;
    double Il = (double)m->ffn / tp;
    r->tp = tp;
    r->pp = (double)par->pp;
    r->dp = dp;
    r->ep = ep;
    r->G = tp * dp;
    r->mla = m->mla;
    r->dsa = m->index_topk > 0;
    r->qlora = m->q_lora_rank > 0;
    r->L = (double)m->layers;
    r->Ld = (double)m->dense_layers;
    r->Lm = (double)m->moe_layers;
    r->first = r->last = true;
    r->f_slide = (double)m->sliding_layers / (double)m->layers; /* the stage's share below */
    r->pp_sends = (double)par->pp - 1.0;
    /* ranks are laid out stage after stage (tp GPUs each) from the first GPU of a node: the send
     * after stage s leaves the node when (s + 1)·tp is a multiple of gpus_per_node */
    int64_t gpn = hw->gpus_per_node > 0 ? hw->gpus_per_node : 8;
    for (int64_t st = 0; st + 1 < par->pp; st++)
        if (((st + 1) * par->tp) % gpn == 0)
            r->pp_net += (p->pp_stage < 0 || p->pp_stage == st) ? 1.0 : 0.0;
    if (p->pp_stage >= 0 && par->pp > 1) {
        /* one stage: its layers, MoE or dense as the model says layer by layer */
        int64_t lo = 0;
        int64_t n = tm_pp_stage_layers(m->layers, par->pp, p->pp_stage, &lo);
        int64_t moe = 0, slide = 0;
        for (int64_t i = lo; i < lo + n; i++) {
            moe += m->layer_is_moe[i] ? 1 : 0;
            slide += m->layer_is_sliding[i] ? 1 : 0;
        }
        r->f_slide = n > 0 ? (double)slide / (double)n : 0.0;
        r->L = (double)n;
        r->Ld = (double)(n - moe);
        r->Lm = (double)moe;
        r->first = p->pp_stage == 0;
        r->last = p->pp_stage == par->pp - 1;
        r->pp_sends = r->last ? 0.0 : 1.0;
    }
    r->h = h;
    r->Hl = Hl;
    r->V = (double)m->vocab;
    r->ba = ba;
    /* GEMMs: (n, k) of each projection on one GPU */
    r->g_qkv = gemm_const((Hl + 2.0 * Kl) * d, h, bw, ba);
    r->g_qa = gemm_const((r->qlora ? ql : 0.0) + rk + rope, h, bw, ba);
    r->g_qb = gemm_const(Hl * (nope + rope), r->qlora ? ql : h, bw, ba);
    r->g_kvb = gemm_const(Hl * (nope + vd), rk, bw, ba);
    r->g_o = gemm_const(h, Hl * (m->mla ? vd : d), bw, ba);
    double ih = (double)m->index_heads, id = (double)m->index_head_dim;
    r->g_iq = gemm_const(ih * id, r->qlora ? ql : h, bw, ba);
    r->g_ikw = gemm_const(id + ih, h, bw, ba);
    r->g_gu = gemm_const(2.0 * Il, h, bw, ba);
    r->g_down = gemm_const(h, Il, bw, ba);
    r->g_router = gemm_const((double)m->experts, h, 2.0, ba); /* gates stay in bf16 */
    r->g_lm = gemm_const(r->V / tp, h, 2.0, ba);              /* vocab-parallel, bf16 */
    /* dense attention: QKᵀ + PV = 4·d·H per pair; K+V of every attended token, q and o */
    r->att_f = 4.0 * d * Hl;
    r->att_kv = 2.0 * Kl * d * bkv;
    r->att_q = 2.0 * Hl * d * ba;
    /* MLA (docs/domain.md §3.4) */
    r->latent_b = m->mla ? tm_model_mla_latent_bytes(m, p->kv_dtype) : 0.0;
    r->mha_f = 2.0 * Hl * (nope + rope + vd);
    r->mha_kv = (Hl * (nope + vd) + rope) * ba;
    r->mha_q = Hl * (nope + rope + vd) * ba + r->latent_b; /* q, o and the new latent written */
    r->abs_f = 2.0 * Hl * rk * (nope + vd);
    r->abs_w = rk * Hl * (nope + vd) * bw;
    r->abs_a = Hl * (nope + 2.0 * rk + vd) * ba;
    r->sp_f = 2.0 * Hl * (2.0 * rk + rope);
    r->sp_q = Hl * (2.0 * rk + rope) * ba;
    /* DSA indexer (docs/domain.md §3.5): fp8 keys + fp32 scale per 128 values */
    r->ix_f = 2.0 * ih * id;
    r->ix_q = ih * id;
    r->key_b = id + 4.0 * ceil(id / 128.0);
    r->norm_b = 4.0 * h * ba;
    r->act_b = 3.0 * Il * ba;
    /* MoE (docs/domain.md §3.3): EP holds E/ep whole experts and gets T·dp·k/ep assignments;
     * without EP every GPU holds 1/(tp·dp) of each expert and sees all T·dp·k assignments */
    double E = (double)m->experts, Ie = (double)m->expert_ffn;
    double ie_loc = par->ep > 1 ? Ie : Ie / r->G;
    double local_experts = par->ep > 1 ? E / ep : E;
    r->k = (double)m->topk;
    r->log1m = m->experts > 0 ? log1p(-r->k / E) : 0.0;
    r->assign_k = par->ep > 1 ? dp * r->k / ep : dp * r->k;
    double f1, b0, b1, unused;
    tm_moe_work(h, ie_loc, local_experts, 0.0, be, ba, &unused, &b0); /* weights: all touched */
    tm_moe_work(h, ie_loc, 0.0, 1.0, be, ba, &f1, &b1);               /* one assignment */
    r->e_f = f1 * (1.0 + p->moe_imbalance);
    r->e_w = b0;
    r->e_a = b1;
    double ish = (double)(m->shared_experts * m->shared_ffn) / tp;
    r->sh_f = 6.0 * h * ish;
    r->sh_w = bw * 3.0 * h * ish;
    r->sh_a = (2.0 * h + 6.0 * ish) * ba;
    r->bdisp = p->weight_dtype == TM_DTYPE_FP8 ? 1.0 : ba; /* FP8 dispatch (DeepEP) */
    double ec = p->compute_eff, em = p->memory_eff, ex = p->comm_eff;
    double bf16 = hw->peak_flops[TM_DTYPE_BF16];
    double fp8 = hw->peak_flops[TM_DTYPE_FP8] > 0 ? hw->peak_flops[TM_DTYPE_FP8] : bf16;
    /* attention kernels have their own efficiencies when set (a split calibration) */
    double eca =
        isfinite(p->attn_compute_eff) && p->attn_compute_eff > 0 ? p->attn_compute_eff : ec;
    double ema = isfinite(p->attn_memory_eff) && p->attn_memory_eff > 0 ? p->attn_memory_eff : em;
    r->invPa = 1.0 / (bf16 * eca);
    r->invPi = 1.0 / (fp8 * ec);
    r->invPr = 1.0 / (bf16 * ec);
    r->invW = 1.0 / (hw->mem_bw * em);
    r->invWa = 1.0 / (hw->mem_bw * ema);
    double eme = isfinite(p->elem_memory_eff) && p->elem_memory_eff > 0 ? p->elem_memory_eff : em;
    r->invWe = 1.0 / (hw->mem_bw * eme);
    double ecm =
        isfinite(p->mixdec_compute_eff) && p->mixdec_compute_eff > 0 ? p->mixdec_compute_eff : eca;
    double emm =
        isfinite(p->mixdec_memory_eff) && p->mixdec_memory_eff > 0 ? p->mixdec_memory_eff : ema;
    r->invPam = 1.0 / (bf16 * ecm);
    r->invWam = 1.0 / (hw->mem_bw * emm);
    /* quantised weights (8 bits or fewer) are their own kernel families: their efficiencies
     * when a calibration has them, else the 16-bit ones' */
    bool quant = tm_dtype_bytes(p->weight_dtype) < 2.0, equant = be < 2.0;
    r->cw = quant ? TM_OPCLASS_GEMM_Q : TM_OPCLASS_GEMM;
    r->cm = equant ? TM_OPCLASS_MOE_Q : TM_OPCLASS_MOE;
#define EFF(field, fallback) (isfinite(p->field) && p->field > 0 ? p->field : (fallback))
    double ecw = quant ? EFF(q_compute_eff, ec) : ec, emw = quant ? EFF(q_memory_eff, em) : em;
    double ecx = EFF(moe_compute_eff, ec), emx = EFF(moe_memory_eff, em);
    if (equant) {
        ecx = EFF(moeq_compute_eff, ecx);
        emx = EFF(moeq_memory_eff, emx);
    }
#undef EFF
    r->invPw = 1.0 / (tm_hardware_gemm_flops(hw, p->weight_dtype) * ecw);
    r->invWw = 1.0 / (hw->mem_bw * emw);
    r->invPm = 1.0 / (tm_hardware_gemm_flops(hw, edt) * ecx);
    r->invWm = 1.0 / (hw->mem_bw * emx);
    r->Kl = m->mla ? 0.0 : Kl;
    if (m->mla)
        r->f_slide = 0.0;
    r->kvh_b = 2.0 * d * bkv;
    r->inv_peak_w = 1.0 / hw->mem_bw;
    r->item_s = isfinite(p->attn_item_s) && p->attn_item_s > 0 ? p->attn_item_s : 0.0;
    r->ser = isfinite(p->attn_serial) && p->attn_serial > 0 ? p->attn_serial / hw->mem_bw : 0.0;
    r->moe_tok =
        isfinite(p->moe_token) && p->moe_token > 0 ? p->moe_token * h * ba / hw->mem_bw : 0.0;
    const tm_link *l = tm_hardware_link(hw, p->backend);
    r->inv_link = l->bw > 0 ? 1.0 / (l->bw * ex) : 0.0;
    r->lat = l->latency_s;
    r->inv_net = hw->network.bw > 0 ? 1.0 / (hw->network.bw * ex) : r->inv_link;
    r->lat_net = hw->network.bw > 0 ? hw->network.latency_s : r->lat;
    ar_curve_init(&r->ar_tp, &p->allreduce, tp, h, ba);
    if (r->G != tp)
        ar_curve_init(&r->ar_g, &p->allreduce, r->G, h, ba);
    r->ar_gp = r->G == tp ? &r->ar_tp : &r->ar_g;
    /* kernels of a decode step (eager steps launch them all), counted before launches are
     * priced so that the count does not depend on them */
    r->graph_max = p->cudagraph_max_tokens;
    r->launch_s = 0.0;
    r->k_step = tm_roofline_step_kernels(&r->base, NULL);
    r->launch_s = isfinite(p->launch_eager_s) && p->launch_eager_s > 0 ? p->launch_eager_s : 0.0;
    return &r->base;
}
