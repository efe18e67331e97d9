/* timemodel/calib_forms.c: the two regression forms of the calibration fit (docs/domain.md
 * §4.2, docs/calibration.md §2.1) and their quality figures.
 *   linear  y = o + β0·steps + βs·n + βx·X + Σ_class (βk·kernels + βc·C + βm·M): weighted NNLS
 *           on the normal equations, operators classified compute- or memory-bound at the
 *           ridge point, then fit → re-classify → refit until no operator changes;
 *   max     y = o + β0·steps + βs·n + βx·X + Σ βk·kernels + max(βc·ΣF/P, βm·ΣB/W): a log grid
 *           over (βc, βm) then nested golden sections, the additive terms by NNLS at each point.
 * Quality: MAPE, p90 / max APE (NumPy percentiles), weighted R², RMSE, per regime. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"
#include "timemodel/calib_internal.h"

#define P      TM_TERM_COUNT
#define NCLASS TM_OPCLASS_COUNT

/* ---- fitting context -------------------------------------------------------------------- */

const tm__calib_cls tm__calib_ridge = {{1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
                                       {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}};
G_STATIC_ASSERT(NCLASS == 7); /* the ridge initialiser lists every class */

static inline bool
compute_bound(const tm__calib_cls *cb, int k, const tm_calib_op *o)
{
    return cb->c[k] * o->compute_s >= cb->m[k] * o->memory_s;
}

/* Design row of sample J when operators are classified by CB. */
static void
design_row(const tm__calib_ctx *c, size_t j, const tm__calib_cls *cb, double x[P])
{
    const tm_calib_sample *s = &c->s[j];
    memset(x, 0, sizeof(double) * P);
    x[TM_TERM_FIXED] = s->steps;
    x[TM_TERM_SEQ] = s->seqs;
    x[TM_TERM_COMM] = s->comm_s;
    x[TM_TERM_ATT_ITEM] = s->att_items;
    x[TM_TERM_ATT_SERIAL] = s->att_serial_s;
    x[TM_TERM_MOE_TOKEN] = s->moe_token_s;
    for (int k = 0; k < NCLASS; k++)
        x[c->split ? TM_TERM_CLASS_KERNEL(k) : TM_TERM_KERNEL] += s->kernels[k];
    const tm_calib_op *o = c->ops + s->op_first;
    for (uint32_t i = 0; i < s->n_ops; i++) {
        int k = tm__calib_op_class(&o[i], c->split);
        if (compute_bound(cb, k, &o[i]))
            x[TM_TERM_CLASS_COMPUTE(k)] += o[i].compute_s;
        else
            x[TM_TERM_CLASS_MEMORY(k)] += o[i].memory_s;
    }
}

/* Normal equations over samples IDX[0..M) (all when IDX is NULL), each counted MULT[j] times
 * (1 when MULT is NULL). */
void
tm__calib_normal_build(const tm__calib_ctx *c,
                       const tm__calib_cls *cls,
                       const size_t *idx,
                       size_t m,
                       const double *mult,
                       tm__calib_normal *ne)
{
    memset(ne, 0, sizeof *ne);
    size_t cnt = idx != NULL ? m : c->n;
    for (size_t q = 0; q < cnt; q++) {
        size_t j = idx != NULL ? idx[q] : q;
        double w = c->w[j] * (mult != NULL ? mult[j] : 1.0);
        if (w == 0.0)
            continue;
        double x[P];
        design_row(c, j, cls, x);
        for (int a = 0; a < P; a++) {
            if (x[a] == 0.0)
                continue;
            double wx = w * x[a];
            ne->b[a] += wx * c->r[j];
            for (int b = a; b < P; b++)
                ne->g[a][b] += wx * x[b];
        }
        ne->rr += w * c->r[j] * c->r[j];
    }
    for (int a = 0; a < P; a++)
        for (int b = 0; b < a; b++)
            ne->g[a][b] = ne->g[b][a];
}

/* Classification coefficients after a fit: fitted values where positive, else the previous
 * ones (a clamped coefficient says nothing about the tm__calib_ridge point). */
static void
update_cls(const double *beta, tm__calib_cls *cb)
{
    for (int k = 0; k < NCLASS; k++) {
        if (beta[TM_TERM_CLASS_COMPUTE(k)] > 0)
            cb->c[k] = beta[TM_TERM_CLASS_COMPUTE(k)];
        if (beta[TM_TERM_CLASS_MEMORY(k)] > 0)
            cb->m[k] = beta[TM_TERM_CLASS_MEMORY(k)];
    }
}

/* Operators whose bound differs between CA and CB, over the samples IDX. */
static size_t
class_changes(const tm__calib_ctx *c,
              const size_t *idx,
              size_t m,
              const tm__calib_cls *ca,
              const tm__calib_cls *cb)
{
    size_t changes = 0, cnt = idx != NULL ? m : c->n;
    for (size_t q = 0; q < cnt; q++) {
        const tm_calib_sample *s = &c->s[idx != NULL ? idx[q] : q];
        const tm_calib_op *o = c->ops + s->op_first;
        for (uint32_t i = 0; i < s->n_ops; i++) {
            int k = tm__calib_op_class(&o[i], c->split);
            changes += compute_bound(ca, k, &o[i]) != compute_bound(cb, k, &o[i]);
        }
    }
    return changes;
}

/* Linear form with fit → re-classify → refit (docs/domain.md §4.2), starting at the tm__calib_ridge
 * point. */
void
tm__calib_fit_linear(const tm__calib_ctx *c,
                     const size_t *idx,
                     size_t m,
                     unsigned mask,
                     unsigned max_rounds,
                     tm__calib_linear *out)
{
    tm__calib_cls cls = tm__calib_ridge;
    memset(out, 0, sizeof *out);
    for (unsigned round = 1; round <= max_rounds; round++) {
        tm__calib_normal ne;
        tm__calib_normal_build(c, &cls, idx, m, NULL, &ne);
        tm__calib_nnls_floor(&ne, mask, c->floor, out->beta);
        out->cls = cls;
        out->rounds = round;
        tm__calib_cls next = cls;
        update_cls(out->beta, &next);
        if (class_changes(c, idx, m, &cls, &next) == 0) {
            out->settled = true;
            break;
        }
        cls = next;
    }
}

/* ---- max form ----------------------------------------------------------------------------- */

#define NREST (6 + NCLASS)

/* Compact per-sample rows for the 2-D search: w, r, C, M, rest design. */
typedef struct {
    double w, r, c, m;
    double x[NREST]; /* rest_terms */
} mrow;

/* x[0..3): fixed, seq, comm; x[3..3+NCLASS): kernels by class; then the additive shape
 * terms of decode attention and MoE. */
static const tm_calib_term rest_terms[NREST] = {
    TM_TERM_FIXED,      TM_TERM_SEQ,         TM_TERM_COMM,          TM_TERM_KERNEL,
    TM_TERM_ATT_KERNEL, TM_TERM_ELEM_KERNEL, TM_TERM_MIXDEC_KERNEL, TM_TERM_MOE_KERNEL,
    TM_TERM_Q_KERNEL,   TM_TERM_MOEQ_KERNEL, TM_TERM_ATT_ITEM,      TM_TERM_ATT_SERIAL,
    TM_TERM_MOE_TOKEN};
G_STATIC_ASSERT(NCLASS == 7); /* rest_terms lists one kernel term per class */

typedef struct {
    mrow *rows;
    size_t n;
    tm__calib_normal base; /* Gram of the rest terms (constant); b and rr filled per evaluation */
    unsigned mask;         /* rest terms allowed */
    unsigned floor;        /* terms held at β ≥ 1 */
    bool use_c, use_m;
    size_t evals;
} msearch;

static void
msearch_init(msearch *ms,
             const tm__calib_ctx *c,
             const size_t *idx,
             size_t m,
             const double *mult,
             unsigned mask)
{
    memset(ms, 0, sizeof *ms);
    size_t cnt = idx != NULL ? m : c->n;
    ms->rows = g_new(mrow, cnt);
    for (size_t q = 0; q < cnt; q++) {
        size_t j = idx != NULL ? idx[q] : q;
        double w = c->w[j] * (mult != NULL ? mult[j] : 1.0);
        if (w == 0.0)
            continue;
        const tm_calib_sample *s = &c->s[j];
        mrow *r = &ms->rows[ms->n++];
        r->w = w;
        r->r = c->r[j];
        r->c = c->ctot[j];
        r->m = c->mtot[j];
        r->x[0] = s->steps;
        r->x[1] = s->seqs;
        r->x[2] = s->comm_s;
        memset(r->x + 3, 0, sizeof(double) * NCLASS);
        for (int k = 0; k < NCLASS; k++)
            r->x[3 + (c->split ? k : 0)] += s->kernels[k];
        r->x[3 + NCLASS] = s->att_items;
        r->x[4 + NCLASS] = s->att_serial_s;
        r->x[5 + NCLASS] = s->moe_token_s;
        for (int a = 0; a < NREST; a++)
            for (int b = 0; b < NREST; b++)
                ms->base.g[rest_terms[a]][rest_terms[b]] += w * r->x[a] * r->x[b];
    }
    ms->mask = mask & TM__CALIB_REST_MASK;
    ms->floor = c->floor;
    ms->use_c = (mask & TM__CALIB_BIT(TM_TERM_COMPUTE)) != 0;
    ms->use_m = (mask & TM__CALIB_BIT(TM_TERM_MEMORY)) != 0;
}

static void
msearch_clear(msearch *ms)
{
    g_free(ms->rows);
}

/* SSE at (log βc, log βm); the rest terms by NNLS. */
static double
msearch_eval(msearch *ms, double lc, double lm, double beta[P])
{
    double bc = ms->use_c ? exp(lc) : 0.0, bm = ms->use_m ? exp(lm) : 0.0;
    /* held at β ≥ 1: below it the value is flat, so a tiny penalty per log unit below the bound
     * breaks the ties towards the bound (the grid and golden sections then stay off the flat) */
    double below = 0.0;
    if (ms->use_c && (ms->floor & TM__CALIB_BIT(TM_TERM_COMPUTE)) && bc < 1.0) {
        below -= lc;
        bc = 1.0;
    }
    if (ms->use_m && (ms->floor & TM__CALIB_BIT(TM_TERM_MEMORY)) && bm < 1.0) {
        below -= lm;
        bm = 1.0;
    }
    tm__calib_normal ne = ms->base;
    double b[NREST] = {0}, rr = 0.0;
    for (size_t j = 0; j < ms->n; j++) {
        const mrow *r = &ms->rows[j];
        double res = r->r - fmax(bc * r->c, bm * r->m);
        double wr = r->w * res;
        for (int a = 0; a < NREST; a++)
            b[a] += wr * r->x[a];
        rr += wr * res;
    }
    for (int a = 0; a < NREST; a++)
        ne.b[rest_terms[a]] = b[a];
    ne.rr = rr;
    ms->evals++;
    double sse = tm__calib_nnls_floor(&ne, ms->mask, ms->floor, beta) * (1.0 + 1e-9 * below);
    beta[TM_TERM_COMPUTE] = bc;
    beta[TM_TERM_MEMORY] = bm;
    return sse;
}

#define GOLD 0.6180339887498949

/* Minimises over LM ∈ [lo, hi] at fixed LC by golden-section search. */
static double
golden_m(msearch *ms, double lc, double lo, double hi, int iters, double *best_lm)
{
    double beta[P];
    double a = lo, b = hi;
    double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
    double f1 = msearch_eval(ms, lc, x1, beta), f2 = msearch_eval(ms, lc, x2, beta);
    for (int i = 0; i < iters; i++) {
        if (f1 <= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - GOLD * (b - a);
            f1 = msearch_eval(ms, lc, x1, beta);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + GOLD * (b - a);
            f2 = msearch_eval(ms, lc, x2, beta);
        }
    }
    *best_lm = f1 <= f2 ? x1 : x2;
    return fmin(f1, f2);
}

/* Minimises over LC ∈ [lo, hi] with the inner search over LM ∈ [mlo, mhi]. */
static double
golden_cm(
    msearch *ms, double lo, double hi, double mlo, double mhi, int iters, double *lc, double *lm)
{
    double a = lo, b = hi, m1, m2;
    double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
    double f1 = golden_m(ms, x1, mlo, mhi, iters, &m1), f2 = golden_m(ms, x2, mlo, mhi, iters, &m2);
    for (int i = 0; i < iters; i++) {
        if (f1 <= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            m2 = m1;
            x1 = b - GOLD * (b - a);
            f1 = golden_m(ms, x1, mlo, mhi, iters, &m1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            m1 = m2;
            x2 = a + GOLD * (b - a);
            f2 = golden_m(ms, x2, mlo, mhi, iters, &m2);
        }
    }
    *lc = f1 <= f2 ? x1 : x2;
    *lm = f1 <= f2 ? m1 : m2;
    return fmin(f1, f2);
}

#define GRID_HALF  6
#define GRID_RANGE 2.0794415416798357 /* ln 8 */

/* Full search: a log grid around (lc0, lm0), re-centred while the best point is on its edge,
 * then nested golden sections inside one grid cell of the best point. */
static void
fit_max_search(msearch *ms, double lc0, double lm0, double beta[P])
{
    double step = GRID_RANGE / GRID_HALF, tmp[P];
    double bc = lc0, bm = lm0, best = INFINITY;
    for (int recentre = 0; recentre < 4; recentre++) {
        int bi = 0, bj = 0;
        double cc = bc, cm = bm;
        for (int i = -GRID_HALF; i <= GRID_HALF; i++) {
            if (!ms->use_c && i != 0)
                continue;
            for (int j = -GRID_HALF; j <= GRID_HALF; j++) {
                if (!ms->use_m && j != 0)
                    continue;
                double f = msearch_eval(ms, cc + i * step, cm + j * step, tmp);
                if (f < best) {
                    best = f;
                    bi = i;
                    bj = j;
                    bc = cc + i * step;
                    bm = cm + j * step;
                }
            }
        }
        if (abs(bi) < GRID_HALF && abs(bj) < GRID_HALF)
            break;
    }
    double lc = bc, lm = bm;
    if (ms->use_c && ms->use_m) {
        golden_cm(ms, bc - step, bc + step, bm - step, bm + step, 16, &lc, &lm);
    } else if (ms->use_m) {
        golden_m(ms, bc, bm - step, bm + step, 20, &lm);
    } else if (ms->use_c) {
        /* search lc with lm unused: swap roles through the generic evaluator */
        double a = bc - step, b = bc + step;
        for (int it = 0; it < 40; it++) {
            double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
            if (msearch_eval(ms, x1, 0, tmp) <= msearch_eval(ms, x2, 0, tmp))
                b = x2;
            else
                a = x1;
        }
        lc = 0.5 * (a + b);
    }
    double f = msearch_eval(ms, lc, lm, beta);
    if (f > best) /* the refinement never loses to the grid */
        msearch_eval(ms, bc, bm, beta);
}

/* Local search (bootstrap replicates): alternating golden sections around (lc0, lm0). */
static void
fit_max_local(msearch *ms, double lc0, double lm0, double beta[P])
{
    double lc = lc0, lm = lm0, tmp[P], span = 0.35;
    for (int sweep = 0; sweep < 2; sweep++) {
        if (ms->use_m)
            golden_m(ms, lc, lm - span, lm + span, 12, &lm);
        if (ms->use_c) {
            double a = lc - span, b = lc + span;
            for (int it = 0; it < 12; it++) {
                double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
                if (msearch_eval(ms, x1, lm, tmp) <= msearch_eval(ms, x2, lm, tmp))
                    b = x2;
                else
                    a = x1;
            }
            lc = 0.5 * (a + b);
        }
        span *= 0.5;
    }
    msearch_eval(ms, lc, lm, beta);
}

void
tm__calib_fit_max(const tm__calib_ctx *c,
                  const size_t *idx,
                  size_t m,
                  unsigned mask,
                  const double *start,
                  double beta[P])
{
    msearch ms;
    msearch_init(&ms, c, idx, m, NULL, mask);
    double lc0 = start[TM_TERM_COMPUTE] > 0 ? log(start[TM_TERM_COMPUTE]) : 0.0;
    double lm0 = start[TM_TERM_MEMORY] > 0 ? log(start[TM_TERM_MEMORY]) : 0.0;
    fit_max_search(&ms, lc0, lm0, beta);
    msearch_clear(&ms);
}

void
tm__calib_fit_max_local(
    const tm__calib_ctx *c, const double *mult, unsigned mask, double lc0, double lm0, double *beta)
{
    msearch ms;
    msearch_init(&ms, c, NULL, 0, mult, mask);
    fit_max_local(&ms, lc0, lm0, beta);
    msearch_clear(&ms);
}

/* ---- quality ------------------------------------------------------------------------------ */

void
tm__calib_quality(const tm__calib_ctx *c, const double *pred, int regime, tm_calib_quality *q)
{
    memset(q, 0, sizeof *q);
    g_autofree double *ape = g_new(double, c->n > 0 ? c->n : 1);
    double sw = 0, swy = 0, sse = 0, sq = 0;
    size_t k = 0;
    for (size_t j = 0; j < c->n; j++) {
        if (regime >= 0 && (int)c->s[j].regime != regime)
            continue;
        if (!isfinite(pred[j]))
            continue;
        double y = c->s[j].measured_s, e = pred[j] - y;
        ape[k++] = fabs(e) / y;
        sw += c->w[j];
        swy += c->w[j] * y;
        sse += c->w[j] * e * e;
        sq += e * e;
    }
    q->n = k;
    if (k == 0) {
        q->r2 = q->mape = q->p90_ape = q->max_ape = q->rmse_s = NAN;
        return;
    }
    double mean_w = swy / sw, sst = 0, s = 0;
    for (size_t j = 0; j < c->n; j++) {
        if ((regime >= 0 && (int)c->s[j].regime != regime) || !isfinite(pred[j]))
            continue;
        double dy = c->s[j].measured_s - mean_w;
        sst += c->w[j] * dy * dy;
    }
    for (size_t i = 0; i < k; i++)
        s += ape[i];
    base_sort_doubles(ape, k);
    q->mape = s / (double)k;
    q->p90_ape = base_percentile_sorted(ape, k, 90);
    q->max_ape = ape[k - 1];
    q->r2 = sst > 0 ? 1.0 - sse / sst : (double)NAN;
    q->rmse_s = sqrt(sq / (double)k);
}
