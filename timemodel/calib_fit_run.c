/* timemodel/calib_fit_run.c: tm_calib_fit_run (timemodel/calib_fit.h), phase by phase:
 *   1. exercised terms: which terms some sample moves, at the ridge point; the candidates,
 *      exactly collinear ones dropped, too few samples refused;
 *   2. folds: leave one configuration out, or k seeded random folds;
 *   3. both forms on all the data and cross-validated; the form choice (lower CV MAPE);
 *   4. term status under the chosen form (fitted, clamped, absent, dropped);
 *   5. diagnostics (condition number, VIFs, bootstrap intervals) and warnings.
 * Randomness (folds, bootstrap) comes from sim_rng streams SIM_STREAM_CALIB_FOLDS /
 * SIM_STREAM_CALIB_BOOTSTRAP, so a fit is deterministic for a seed. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/stats.h"
#include "timemodel/calib_internal.h"

#define P      TM_TERM_COUNT
#define NCLASS TM_OPCLASS_COUNT
#define BIT(t) TM__CALIB_BIT(t)

/* ---- shared by the phases ------------------------------------------------------------------ */

static void G_GNUC_PRINTF(2, 3) warn(tm_calib_fit *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(f->warnings, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* Predictions for the held-out samples of every fold. */
static void
cross_validate(const tm__calib_ctx *c,
               const uint32_t *fold,
               unsigned nfolds,
               unsigned mask,
               unsigned mmask,
               unsigned max_rounds,
               bool do_linear,
               bool do_max,
               double *pl,
               double *pm)
{
    g_autofree size_t *train = g_new(size_t, c->n);
    for (size_t j = 0; j < c->n; j++)
        pl[j] = pm[j] = NAN;
    for (unsigned f = 0; f < nfolds; f++) {
        size_t m = 0;
        for (size_t j = 0; j < c->n; j++)
            if (fold[j] != f)
                train[m++] = j;
        if (m == c->n || m == 0)
            continue;
        tm__calib_linear lf;
        tm__calib_fit_linear(c, train, m, mask, max_rounds, &lf);
        double bmax[P];
        if (do_max)
            tm__calib_fit_max(c, train, m, mmask, lf.beta, bmax);
        for (size_t j = 0; j < c->n; j++) {
            if (fold[j] != f)
                continue;
            if (do_linear)
                pl[j] = tm_calib_predict(c->d, &c->s[j], lf.beta, TM_CALIB_FORM_LINEAR, c->split);
            if (do_max)
                pm[j] = tm_calib_predict(c->d, &c->s[j], bmax, TM_CALIB_FORM_MAX, c->split);
        }
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
bootstrap(const tm__calib_ctx *c,
          const tm_calib_fit_opts *o,
          unsigned mask,
          unsigned mmask,
          tm_calib_fit *f,
          const tm__calib_linear *lf)
{
    unsigned B = o->bootstrap;
    for (int t = 0; t < P; t++)
        f->ci_lo[t] = f->ci_hi[t] = NAN;
    if (B == 0)
        return;
    sim_rng rng;
    sim_rng_init(&rng, o->seed, SIM_STREAM_CALIB_BOOTSTRAP);
    g_autofree double *mult = g_new(double, c->n);
    g_autofree double *draws = g_new(double, (size_t)B *P);
    for (unsigned b = 0; b < B; b++) {
        memset(mult, 0, sizeof(double) * c->n);
        for (size_t i = 0; i < c->n; i++)
            mult[sim_rng_below(&rng, c->n)] += 1.0;
        double beta[P];
        if (f->form == TM_CALIB_FORM_LINEAR) {
            tm__calib_normal ne;
            tm__calib_normal_build(c, &lf->cls, NULL, 0, mult, &ne);
            tm__calib_nnls_floor(&ne, mask, c->floor, beta);
        } else {
            double lc0 = f->beta[TM_TERM_COMPUTE] > 0 ? log(f->beta[TM_TERM_COMPUTE]) : 0.0;
            double lm0 = f->beta[TM_TERM_MEMORY] > 0 ? log(f->beta[TM_TERM_MEMORY]) : 0.0;
            tm__calib_fit_max_local(c, mult, mmask, lc0, lm0, beta);
        }
        for (int t = 0; t < P; t++)
            draws[(size_t)t * B + b] = beta[t];
    }
    for (int t = 0; t < P; t++) {
        if (f->status[t] == TM_TERM_ABSENT || f->status[t] == TM_TERM_DROPPED ||
            f->status[t] == TM_TERM_UNDETERMINED)
            continue;
        double *x = draws + (size_t)t * B;
        qsort(x, B, sizeof(double), cmp_double);
        f->ci_lo[t] = base_percentile_sorted(x, B, 2.5);
        f->ci_hi[t] = base_percentile_sorted(x, B, 97.5);
    }
}

/* ---- phase 1: exercised terms ------------------------------------------------------------ */

/* Fills the per-sample weights, residual targets and operator totals of C and returns the
 * terms some sample exercises. A compute (memory) term counts only when some operator of its
 * class is compute- (memory-) bound at the ridge point (all β = 1), where the fit starts: NE0
 * receives the normal equations there. *ANY_C / *ANY_M: some operator has F (B) at all. */
static unsigned
exercised_terms(tm__calib_ctx *c, tm__calib_normal *ne0, bool *any_c, bool *any_m)
{
    unsigned exercised = 0;
    *any_c = *any_m = false;
    for (size_t j = 0; j < c->n; j++) {
        const tm_calib_sample *s = &c->s[j];
        c->w[j] = 1.0 / (s->measured_s * s->measured_s);
        c->r[j] = s->measured_s - s->offset_s;
        c->ctot[j] = c->mtot[j] = 0.0;
        const tm_calib_op *op = c->ops + s->op_first;
        for (uint32_t i = 0; i < s->n_ops; i++) {
            c->ctot[j] += op[i].compute_s;
            c->mtot[j] += op[i].memory_s;
            int k = tm__calib_op_class(&op[i], c->split);
            if (op[i].compute_s > 0)
                exercised |= BIT(TM_TERM_CLASS_COMPUTE(k));
            if (op[i].memory_s > 0)
                exercised |= BIT(TM_TERM_CLASS_MEMORY(k));
            *any_c |= op[i].compute_s > 0;
            *any_m |= op[i].memory_s > 0;
        }
        for (int k = 0; k < NCLASS; k++)
            if (s->kernels[k] > 0)
                exercised |= BIT(c->split ? TM_TERM_CLASS_KERNEL(k) : TM_TERM_KERNEL);
        exercised |=
            (s->steps > 0 ? BIT(TM_TERM_FIXED) : 0) | (s->comm_s > 0 ? BIT(TM_TERM_COMM) : 0) |
            (s->seqs > 0 ? BIT(TM_TERM_SEQ) : 0) | (s->att_items > 0 ? BIT(TM_TERM_ATT_ITEM) : 0) |
            (s->att_serial_s > 0 ? BIT(TM_TERM_ATT_SERIAL) : 0) |
            (s->moe_token_s > 0 ? BIT(TM_TERM_MOE_TOKEN) : 0);
    }
    tm__calib_normal_build(c, &tm__calib_ridge, NULL, 0, NULL, ne0);
    for (int k = 0; k < NCLASS; k++) {
        if (!(ne0->g[TM_TERM_CLASS_COMPUTE(k)][TM_TERM_CLASS_COMPUTE(k)] > 0))
            exercised &= ~BIT(TM_TERM_CLASS_COMPUTE(k));
        if (!(ne0->g[TM_TERM_CLASS_MEMORY(k)][TM_TERM_CLASS_MEMORY(k)] > 0))
            exercised &= ~BIT(TM_TERM_CLASS_MEMORY(k));
    }
    return exercised;
}

/* The candidate terms (allowed and exercised) and, among them, DEP: those exactly collinear
 * with earlier ones at the ridge point; with the default terms and fewer samples than the
 * remaining candidates, UNDET: the ones the data cannot identify next to those that claim it
 * first (LOOSE: refused as too collinear, the rest for the sample count). Errors: a requested
 * term no sample exercises; fewer samples than the candidates of an explicit --terms. */
static gboolean
candidate_terms(const tm__calib_ctx *c,
                const tm_calib_fit_opts *o,
                unsigned exercised,
                const tm__calib_normal *ne0,
                unsigned *allowed_out,
                unsigned *cand_out,
                unsigned *dep_out,
                unsigned *undet_out,
                unsigned *loose_out,
                GError **error)
{
    unsigned allowed = o->terms != 0 ? o->terms : BIT(P) - 1;
    if (!o->split_classes)
        allowed &= ~TM__CALIB_CLASS_MASK;
    if (o->terms != 0 && (allowed & ~exercised) != 0) {
        g_autofree char *l = tm__calib_term_list(allowed & ~exercised);
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--terms: no sample exercises %s (drop it, or add samples that do)", l);
        return FALSE;
    }
    unsigned cand = allowed & exercised;
    int K = 0;
    for (int t = 0; t < P; t++)
        K += (cand >> t) & 1u;
    unsigned dep = tm__calib_dependent_terms(ne0, cand);
    *undet_out = *loose_out = 0;
    if (o->terms == 0 && c->n < (size_t)K) {
        /* the default terms: fit what the data identifies (terms in priority order, each well
         * determined next to the earlier ones, at least two samples per term), leave the rest
         * at their defaults; exactly collinear ones are among the refused */
        unsigned loose = 0, over = 0;
        int limit = c->n >= 4 ? (int)(c->n / 2) : 1;
        tm__calib_identifiable_terms(ne0, cand, limit, TM__CALIB_WELL_DETERMINED, &loose, &over);
        *undet_out = loose | over;
        *loose_out = loose;
        dep = 0;
    } else if (c->n < (size_t)K) {
        g_autofree char *all = tm__calib_term_list(cand);
        g_autofree char *bad = tm__calib_term_list(dep);
        g_set_error(
            error, TM_ERROR, TM_ERROR_INVALID,
            "too few samples: %zu sample%s cannot identify %d terms (%s); not identifiable: "
            "%s (add samples of other shapes, or restrict --terms)",
            c->n, c->n == 1 ? "" : "s", K, all, dep ? bad : "?");
        return FALSE;
    }
    *allowed_out = allowed;
    *cand_out = cand;
    *dep_out = dep;
    return TRUE;
}

/* ---- phase 2: folds ------------------------------------------------------------------------ */

/* Assigns every sample a fold: its configuration (leave one configuration out; k-fold with a
 * warning when there are fewer than two), or k seeded random folds. Returns the fold count. */
static unsigned
make_folds(const tm__calib_ctx *c, const tm_calib_fit_opts *o, tm_calib_fit *f, uint32_t *fold)
{
    size_t n = c->n, ncfg = tm_calib_data_n_configs(c->d);
    unsigned nfolds = 0;
    f->cv = o->cv;
    if (o->cv == TM_CALIB_CV_LOCO) {
        g_autofree uint32_t *map = g_new(uint32_t, ncfg + 1);
        for (size_t i = 0; i <= ncfg; i++)
            map[i] = UINT32_MAX;
        for (size_t j = 0; j < n; j++) {
            uint32_t cfg = c->s[j].config;
            if (cfg > ncfg)
                cfg = (uint32_t)ncfg;
            if (map[cfg] == UINT32_MAX)
                map[cfg] = nfolds++;
            fold[j] = map[cfg];
        }
        if (nfolds < 2) {
            warn(f,
                 "leave-one-configuration-out needs ≥ 2 configurations, the data has %u: "
                 "used %u-fold CV instead",
                 nfolds, o->folds >= 2 ? o->folds : 5);
            f->cv = TM_CALIB_CV_KFOLD;
        }
    }
    if (f->cv == TM_CALIB_CV_KFOLD) {
        nfolds = o->folds >= 2 ? o->folds : 5;
        if (nfolds > n)
            nfolds = (unsigned)n;
        g_autofree size_t *perm = g_new(size_t, n);
        for (size_t j = 0; j < n; j++)
            perm[j] = j;
        sim_rng rng;
        sim_rng_init(&rng, o->seed, SIM_STREAM_CALIB_FOLDS);
        sim_rng_shuffle(&rng, perm, n, sizeof *perm);
        for (size_t j = 0; j < n; j++)
            fold[perm[j]] = (uint32_t)(j % nfolds);
    }
    f->folds = nfolds;
    return nfolds;
}

/* ---- phase 3: both forms, cross-validated; the form choice ------------------------------- */

/* Fits the linear form (LF) and, unless --form linear, the max form on all the data,
 * cross-validates both, keeps the requested form or (auto) the one with the lower CV MAPE,
 * and fills the chosen form's coefficients, predictions and quality figures. */
static void
fit_forms(const tm__calib_ctx *c,
          const tm_calib_fit_opts *o,
          const uint32_t *fold,
          unsigned mask,
          unsigned mmask,
          tm_calib_fit *f,
          tm__calib_linear *lf)
{
    size_t n = c->n;
    unsigned max_rounds = o->max_rounds > 0 ? o->max_rounds : 5;
    tm__calib_fit_linear(c, NULL, 0, mask, max_rounds, lf);
    memcpy(f->beta_linear, lf->beta, sizeof lf->beta);
    f->rounds = lf->rounds;
    f->settled = lf->settled;
    bool do_linear = o->form != TM_CALIB_FORM_MAX, do_max = o->form != TM_CALIB_FORM_LINEAR;
    for (int t = 0; t < P; t++)
        f->beta_max[t] = NAN;
    if (do_max)
        tm__calib_fit_max(c, NULL, 0, mmask, lf->beta, f->beta_max);

    g_autofree double *pl = g_new(double, n);
    g_autofree double *pm = g_new(double, n);
    cross_validate(c, fold, f->folds, mask, mmask, max_rounds, do_linear, do_max, pl, pm);
    tm__calib_quality(c, pl, -1, &f->cv_linear);
    tm__calib_quality(c, pm, -1, &f->cv_max);
    if (o->form == TM_CALIB_FORM_AUTO)
        f->form = f->cv_max.mape < f->cv_linear.mape ? TM_CALIB_FORM_MAX : TM_CALIB_FORM_LINEAR;
    else
        f->form = o->form;
    memcpy(f->beta, f->form == TM_CALIB_FORM_MAX ? f->beta_max : f->beta_linear, sizeof f->beta);
    f->pred = g_new(double, n);
    f->cv_pred = g_memdup2(f->form == TM_CALIB_FORM_MAX ? pm : pl, sizeof(double) * n);
    g_autofree double *pa = g_new(double, n);
    for (size_t j = 0; j < n; j++) {
        f->pred[j] = tm_calib_predict(c->d, &c->s[j], f->beta, f->form, c->split);
        pa[j] = tm_calib_predict(c->d, &c->s[j], f->beta, TM_CALIB_FORM_LINEAR, c->split);
    }
    tm__calib_quality(c, f->pred, -1, &f->fit);
    tm__calib_quality(c, f->cv_pred, -1, &f->cv_q);
    tm__calib_quality(c, pa, -1, &f->applied);
    for (int rg = 0; rg < TM_REGIME_COUNT; rg++) {
        tm__calib_quality(c, f->pred, rg, &f->regime_fit[rg]);
        tm__calib_quality(c, f->cv_pred, rg, &f->regime_cv[rg]);
    }
}

/* ---- phase 3b: leave one configuration out ------------------------------------------------ */

#define LOCO_MAX_SAMPLES 5000

/* The chosen form's leave-one-configuration-out errors, overall and per configuration (the CV
 * predictions themselves under --cv loco, else one more cross-validation when the data is
 * small enough for it to be cheap). */
static void
loco_errors(const tm__calib_ctx *c,
            const tm_calib_fit_opts *o,
            unsigned mask,
            unsigned mmask,
            tm_calib_fit *f)
{
    size_t n = c->n, ncfg = tm_calib_data_n_configs(c->d);
    f->n_configs = ncfg;
    f->loco_config_mape = g_new(double, ncfg + 1);
    f->loco_config_n = g_new0(size_t, ncfg + 1);
    g_autofree uint32_t *fold = g_new(uint32_t, n);
    g_autofree uint32_t *map = g_new(uint32_t, ncfg + 1);
    unsigned nf = 0;
    for (size_t i = 0; i <= ncfg; i++) {
        map[i] = UINT32_MAX;
        f->loco_config_mape[i] = NAN;
    }
    for (size_t j = 0; j < n; j++) {
        uint32_t cfg = c->s[j].config <= ncfg ? c->s[j].config : (uint32_t)ncfg;
        if (map[cfg] == UINT32_MAX)
            map[cfg] = nf++;
        fold[j] = map[cfg];
    }
    /* one more fit per configuration: reported for tables up to LOCO_MAX_SAMPLES samples
     * (larger ones: --cv loco makes it the CV itself) */
    if (nf < 2 || (f->cv != TM_CALIB_CV_LOCO && n > LOCO_MAX_SAMPLES))
        return;
    g_autofree double *pl = g_new(double, n);
    g_autofree double *pm = g_new(double, n);
    const double *pred = f->cv_pred;
    if (f->cv != TM_CALIB_CV_LOCO) {
        bool lin = f->form == TM_CALIB_FORM_LINEAR;
        cross_validate(c, fold, nf, mask, mmask, o->max_rounds > 0 ? o->max_rounds : 5, lin, !lin,
                       pl, pm);
        pred = lin ? pl : pm;
    }
    tm__calib_quality(c, pred, -1, &f->loco);
    g_autofree double *sum = g_new0(double, ncfg + 1);
    for (size_t j = 0; j < n; j++) {
        uint32_t cfg = c->s[j].config <= ncfg ? c->s[j].config : (uint32_t)ncfg;
        double y = c->s[j].measured_s;
        if (!isfinite(pred[j]))
            continue;
        sum[cfg] += fabs(pred[j] - y) / y;
        f->loco_config_n[cfg]++;
    }
    for (size_t i = 0; i <= ncfg; i++)
        if (f->loco_config_n[i] > 0)
            f->loco_config_mape[i] = sum[i] / (double)f->loco_config_n[i];
}

/* ---- phase 4: term status ----------------------------------------------------------------- */

/* Status of each term under the chosen form: absent, fitted or clamped (a side of the max
 * form that no sample reaches is not identified); dropped terms stay dropped. */
static void
term_status(const tm__calib_ctx *c, unsigned mask, unsigned mmask, tm_calib_fit *f)
{
    unsigned used = f->form == TM_CALIB_FORM_MAX ? mmask : mask;
    for (int t = 0; t < P; t++) {
        if (f->status[t] == TM_TERM_DROPPED || f->status[t] == TM_TERM_UNDETERMINED)
            continue;
        if (!(used & BIT(t)))
            f->status[t] = TM_TERM_ABSENT;
        else
            f->status[t] = f->beta[t] > 0 ? TM_TERM_FITTED : TM_TERM_CLAMPED;
    }
    if (f->form == TM_CALIB_FORM_MAX) {
        size_t cside = 0, mside = 0;
        for (size_t j = 0; j < c->n; j++) {
            double cc = f->beta[TM_TERM_COMPUTE] * c->ctot[j];
            double mm = f->beta[TM_TERM_MEMORY] * c->mtot[j];
            cside += c->ctot[j] > 0 && cc >= mm;
            mside += c->mtot[j] > 0 && mm > cc;
        }
        if (f->status[TM_TERM_COMPUTE] == TM_TERM_FITTED && cside == 0)
            f->status[TM_TERM_COMPUTE] = TM_TERM_CLAMPED;
        if (f->status[TM_TERM_MEMORY] == TM_TERM_FITTED && mside == 0)
            f->status[TM_TERM_MEMORY] = TM_TERM_CLAMPED;
    }
}

/* ---- phase 5: warnings -------------------------------------------------------------------- */

/* Clamped terms, collinear terms (VIF > 10 among NONEMPTY), efficiencies above peak and an
 * unsettled classification, as plain sentences. */
static void
add_warnings(tm_calib_fit *f, unsigned nonempty)
{
    const char *const *names = tm__calib_term_names;
    for (int t = 0; t < P; t++) {
        if (f->status[t] != TM_TERM_CLAMPED)
            continue;
        if (f->form == TM_CALIB_FORM_MAX && (t == TM_TERM_COMPUTE || t == TM_TERM_MEMORY) &&
            f->beta[t] > 0)
            warn(f,
                 "%s: no sample is %s-bound under the fitted max form: not identifiable from "
                 "this data",
                 names[t], t == TM_TERM_COMPUTE ? "compute" : "memory");
        else
            warn(f,
                 "%s: clamped at 0 by the non-negativity constraint: not identifiable from "
                 "this data%s",
                 names[t],
                 tm_calib_term_is_multiplier((tm_calib_term)t)
                     ? " (the calibration leaves this efficiency at its default)"
                     : "");
    }
    GString *col = g_string_new(NULL);
    for (int t = 0; t < P; t++)
        if (isfinite(f->vif[t]) ? f->vif[t] > 10 : (nonempty & BIT(t)) != 0)
            g_string_append_printf(col, "%s%s (VIF %.1f)", col->len ? ", " : "", names[t],
                                   f->vif[t]);
    if (col->len > 0)
        warn(f,
             "collinear terms: %s; their coefficients trade off against each other (condition "
             "number %.0f): add samples that move them independently",
             col->str, f->cond);
    g_string_free(col, TRUE);
    for (int t = 0; t < P; t++) {
        if (!tm_calib_term_is_multiplier((tm_calib_term)t) || f->status[t] != TM_TERM_FITTED)
            continue;
        if (1.0 / f->beta[t] > 1.05)
            warn(f,
                 "%s: implied efficiency 1/β = %.2f is above 1: the data runs faster than the "
                 "peak figure allows (wrong peak in the hardware preset, L2-resident operands, "
                 "or overlap the roofline does not model)",
                 names[t], 1.0 / f->beta[t]);
    }
    if (!f->settled)
        warn(f, "the compute/memory classification of operators still changed after %u rounds",
             f->rounds);
}

/* ---- the fit ------------------------------------------------------------------------------- */

tm_calib_fit *
tm_calib_fit_run(const tm_calib_data *d, const tm_calib_fit_opts *o, GError **error)
{
    size_t n = tm_calib_data_size(d);
    if (n == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "no samples to fit");
        return NULL;
    }
    for (size_t j = 0; j < n; j++)
        g_return_val_if_fail(tm_calib_data_sample(d, j)->measured_s > 0, NULL);
    g_autofree double *w = g_new(double, n);
    g_autofree double *r = g_new(double, n);
    g_autofree double *ct = g_new(double, n);
    g_autofree double *mt = g_new(double, n);
    tm__calib_ctx c = {
        d, tm_calib_data_sample(d, 0), tm_calib_data_ops(d), n, o->split_classes, w, r, ct, mt, 0};
    /* efficiencies at most peak: every class's compute and memory multipliers and the link's */
    if (!o->allow_super_peak) {
        c.floor = BIT(TM_TERM_COMM);
        for (int k = 0; k < NCLASS; k++)
            c.floor |= BIT(TM_TERM_CLASS_COMPUTE(k)) | BIT(TM_TERM_CLASS_MEMORY(k));
    }

    /* exercised and candidate terms, identifiability at the ridge point */
    tm__calib_normal ne0;
    bool any_c, any_m;
    unsigned exercised = exercised_terms(&c, &ne0, &any_c, &any_m);
    unsigned allowed, cand, dep, undet, loose;
    if (!candidate_terms(&c, o, exercised, &ne0, &allowed, &cand, &dep, &undet, &loose, error))
        return NULL;

    g_autoptr(tm_calib_fit) f = g_new0(tm_calib_fit, 1);
    f->warnings = g_ptr_array_new_with_free_func(g_free);
    f->n = n;
    f->split_classes = o->split_classes;
    f->bootstrap = o->bootstrap;
    for (int t = 0; t < P; t++)
        f->status[t] = (cand & BIT(t)) ? TM_TERM_FITTED : TM_TERM_ABSENT;
    if (dep != 0) {
        g_autofree char *l = tm__calib_term_list(dep);
        warn(f,
             "%s cannot be told apart from the other terms in this data (exactly collinear): "
             "not identifiable, left out of the fit",
             l);
        for (int t = 0; t < P; t++)
            if (dep & BIT(t))
                f->status[t] = TM_TERM_DROPPED;
    }
    if (undet != 0) {
        unsigned kept = cand & ~dep & ~undet;
        int K1 = 0;
        for (int t = 0; t < P; t++)
            K1 += (cand >> t) & 1u;
        g_autofree char *k = tm__calib_term_list(kept);
        if (undet & ~loose) {
            g_autofree char *l = tm__calib_term_list(undet & ~loose);
            warn(f,
                 "too few samples: %zu samples for %d terms; fitted %s (at least two samples "
                 "per term; the roofline's own terms claim the data first); not fitted, left "
                 "at their defaults: %s",
                 n, K1, k, l);
        }
        if (loose != 0) {
            g_autofree char *l = tm__calib_term_list(loose);
            warn(f,
                 "%s: too collinear with %s in this data to be determined (1 - R² < %g): not "
                 "fitted, left at %s defaults",
                 l, k, TM__CALIB_WELL_DETERMINED, (loose & (loose - 1)) ? "their" : "its");
        }
        for (int t = 0; t < P; t++)
            if (undet & BIT(t))
                f->status[t] = TM_TERM_UNDETERMINED;
    }
    unsigned mask = cand & ~dep & ~undet;
    /* the max form: one (βc, βm) over all operators, plus the additive terms */
    unsigned mmask = (mask & TM__CALIB_REST_MASK) |
                     (any_c ? allowed & ~undet & BIT(TM_TERM_COMPUTE) : 0) |
                     (any_m ? allowed & ~undet & BIT(TM_TERM_MEMORY) : 0);

    g_autofree uint32_t *fold = g_new(uint32_t, n);
    make_folds(&c, o, f, fold);
    tm__calib_linear lf;
    fit_forms(&c, o, fold, mask, mmask, f, &lf);
    term_status(&c, mask, mmask, f);
    loco_errors(&c, o, mask, mmask, f);

    /* collinearity at the final classification, then the bootstrap intervals */
    tm__calib_normal nef;
    tm__calib_normal_build(&c, &lf.cls, NULL, 0, NULL, &nef);
    unsigned nonempty = 0;
    for (int t = 0; t < P; t++)
        if ((mask & BIT(t)) && nef.g[t][t] > 0)
            nonempty |= BIT(t);
    tm__calib_collinearity(&nef, nonempty, &f->cond, f->vif);
    bootstrap(&c, o, mask, mmask, f, &lf);

    add_warnings(f, nonempty);
    GString *peak = g_string_new(NULL);
    for (int t = 0; t < P; t++)
        if ((c.floor & BIT(t)) && f->status[t] == TM_TERM_FITTED && f->beta[t] == 1.0)
            g_string_append_printf(peak, "%s%s", peak->len ? ", " : "", tm__calib_term_names[t]);
    if (peak->len > 0)
        warn(f,
             "%s: held at peak (1/β = 1) by the physical bound; unbounded, the data would imply "
             "an efficiency above 1 (--allow-super-peak lifts the bound)",
             peak->str);
    g_string_free(peak, TRUE);
    return g_steal_pointer(&f);
}
