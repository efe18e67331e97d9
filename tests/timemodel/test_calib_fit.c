/* tests/timemodel/test_calib_fit.c: the regression behind `servesim calibrate`
 * (timemodel/calib_fit.h). Expected values never come from the code under test:
 *   - NNLS is checked against brute force (every support solved by this file's own Gaussian
 *     elimination) and the KKT conditions on random problems;
 *   - coefficients are recovered from synthetic data generated with known values and noise;
 *   - identifiability errors and warnings name the terms;
 *   - the calibration JSON loads back and maps β to the roofline's knobs as 1/β. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/rng.h"
#include "timemodel/calib_fit.h"
#include "timemodel/calibration.h"

#define P TM_TERM_COUNT

TestSuite(calib_fit, .timeout = 120);

/* ---- NNLS against brute force -------------------------------------------------------------- */

/* Solves A x = y (K×K, row-major) by Gaussian elimination with partial pivoting; false if
 * singular. */
static bool
gauss(double *a, double *y, int k)
{
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(a[r * k + c]) > fabs(a[piv * k + c]))
                piv = r;
        double scale = 0;
        for (int r = 0; r < k; r++)
            scale = fmax(scale, fabs(a[r * k + c]));
        if (fabs(a[piv * k + c]) <= 1e-12 * (scale > 0 ? scale : 1))
            return false;
        for (int j = 0; j < k; j++) {
            double t = a[c * k + j];
            a[c * k + j] = a[piv * k + j];
            a[piv * k + j] = t;
        }
        double t = y[c];
        y[c] = y[piv];
        y[piv] = t;
        for (int r = c + 1; r < k; r++) {
            double f = a[r * k + c] / a[c * k + c];
            for (int j = c; j < k; j++)
                a[r * k + j] -= f * a[c * k + j];
            y[r] -= f * y[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        for (int j = c + 1; j < k; j++)
            y[c] -= a[c * k + j] * y[j];
        y[c] /= a[c * k + c];
    }
    return true;
}

static double
sse_of(const double *g, const double *b, double rr, const double *beta)
{
    double s = rr;
    for (int i = 0; i < P; i++) {
        s -= 2 * beta[i] * b[i];
        for (int j = 0; j < P; j++)
            s += beta[i] * g[i * P + j] * beta[j];
    }
    return s;
}

/* Least SSE over every support within MASK whose least-squares solution is ≥ 0. */
static double
brute_force(const double *g, const double *b, double rr, unsigned mask, double *best_beta)
{
    double best = rr;
    memset(best_beta, 0, sizeof(double) * P);
    for (unsigned sub = mask; sub != 0; sub = (sub - 1) & mask) {
        int idx[P], k = 0;
        for (int t = 0; t < P; t++)
            if (sub & (1u << t))
                idx[k++] = t;
        double a[P * P], y[P];
        for (int i = 0; i < k; i++) {
            y[i] = b[idx[i]];
            for (int j = 0; j < k; j++)
                a[i * k + j] = g[idx[i] * P + idx[j]];
        }
        if (!gauss(a, y, k))
            continue;
        bool ok = true;
        double beta[P] = {0};
        for (int i = 0; i < k; i++) {
            ok &= y[i] >= -1e-12;
            beta[idx[i]] = fmax(y[i], 0.0);
        }
        if (!ok)
            continue;
        double s = sse_of(g, b, rr, beta);
        if (s < best) {
            best = s;
            memcpy(best_beta, beta, sizeof beta);
        }
    }
    return best;
}

Test(calib_fit, nnls_matches_brute_force_and_kkt)
{
    sim_rng rng;
    sim_rng_init(&rng, 7, SIM_STREAM_TEST);
    for (int trial = 0; trial < 400; trial++) {
        /* 1..7 active terms among the 15, 3..40 rows, columns of very different scales,
         * sometimes an exactly collinear pair, true β with negative entries so that the
         * constraint binds */
        unsigned mask = 0;
        int k = 1 + (int)sim_rng_below(&rng, 7);
        while (__builtin_popcount(mask) < k)
            mask |= 1u << sim_rng_below(&rng, P);
        int n = 3 + (int)sim_rng_below(&rng, 38);
        double g[P * P] = {0}, b[P] = {0}, rr = 0, scale[P], truth[P];
        for (int t = 0; t < P; t++) {
            scale[t] = pow(10.0, -6.0 + 6.0 * sim_rng_uniform(&rng));
            truth[t] = sim_rng_normal(&rng, 0.5, 1.0) / scale[t];
        }
        int twin = trial % 5 == 0 && k >= 2 ? (int)sim_rng_below(&rng, P) : -1;
        for (int r = 0; r < n; r++) {
            double x[P] = {0}, y = 0;
            for (int t = 0; t < P; t++)
                if (mask & (1u << t))
                    x[t] = scale[t] * sim_rng_uniform(&rng);
            if (twin >= 0 && (mask & (1u << twin))) {
                int other = -1;
                for (int t = 0; t < P; t++)
                    if ((mask & (1u << t)) && t != twin)
                        other = t;
                if (other >= 0)
                    x[twin] = 3.0 * x[other];
            }
            for (int t = 0; t < P; t++)
                y += x[t] * truth[t];
            y += sim_rng_normal(&rng, 0.0, 0.1);
            double w = 0.1 + sim_rng_uniform(&rng);
            for (int i = 0; i < P; i++) {
                b[i] += w * x[i] * y;
                for (int j = 0; j < P; j++)
                    g[i * P + j] += w * x[i] * x[j];
            }
            rr += w * y * y;
        }
        double beta[P], bf[P];
        double s = tm__calib_nnls(g, b, rr, mask, beta);
        double sb = brute_force(g, b, rr, mask, bf);
        cr_assert(fabs(s - sb) <= 1e-7 * fmax(rr, 1e-300) + 1e-12 * fabs(sb),
                  "trial %d: SSE %.12g vs brute force %.12g (rr %.3g)", trial, s, sb, rr);
        cr_expect(fabs(s - sse_of(g, b, rr, beta)) <= 1e-9 * fmax(rr, 1e-300), "trial %d", trial);
        /* KKT: feasible; zero gradient on the support, non-negative off it */
        for (int t = 0; t < P; t++) {
            cr_assert_geq(beta[t], 0.0, "trial %d", trial);
            if (!(mask & (1u << t))) {
                cr_assert_eq(beta[t], 0.0);
                continue;
            }
            double grad = -b[t];
            for (int u = 0; u < P; u++)
                grad += g[t * P + u] * beta[u];
            double unit = sqrt(g[t * P + t] * fmax(rr, 1e-300));
            if (beta[t] > 0)
                cr_expect(fabs(grad) <= 1e-6 * unit, "trial %d term %d grad %g", trial, t, grad);
            else
                cr_expect(grad >= -1e-6 * unit, "trial %d term %d grad %g", trial, t, grad);
        }
    }
}

/* ---- synthetic recovery -------------------------------------------------------------------- */

typedef struct {
    double beta[P];
} truth_t;

/* A "step": random operators of every class, some near the ridge so that their bound depends
 * on the coefficients, kernels, sequences; measured = the per-operator roofline with TRUTH,
 * times log-normal noise of SIGMA. */
static void
make_steps(tm_calib_data *d, const truth_t *tr, int n, double sigma, uint64_t seed, bool max_form)
{
    sim_rng rng;
    sim_rng_init(&rng, seed, SIM_STREAM_TEST + 1);
    for (int j = 0; j < n; j++) {
        tm_calib_op ops[12];
        int nops = 0;
        tm_calib_sample s = {0};
        s.steps = 1.0;
        s.seqs = (double)(1 + sim_rng_below(&rng, 256));
        int ng = 1 + (int)sim_rng_below(&rng, 4), na = (int)sim_rng_below(&rng, 3),
            ne = (int)sim_rng_below(&rng, 4);
        double scale = pow(10.0, -4.0 + 3.0 * sim_rng_uniform(&rng));
        for (int i = 0; i < ng; i++) {
            /* arithmetic intensity around the ridge: tc/tm in [0.25, 4] */
            double tm = scale * (0.2 + sim_rng_uniform(&rng));
            ops[nops++] = (tm_calib_op){tm * pow(4.0, 2.0 * sim_rng_uniform(&rng) - 1.0), tm,
                                        TM_OPCLASS_GEMM};
        }
        for (int i = 0; i < na; i++) {
            double tm = scale * (0.05 + 0.5 * sim_rng_uniform(&rng));
            ops[nops++] = (tm_calib_op){tm * 3.0 * sim_rng_uniform(&rng), tm, TM_OPCLASS_ATTENTION};
        }
        for (int i = 0; i < ne; i++)
            ops[nops++] =
                (tm_calib_op){0.0, scale * 0.05 * sim_rng_uniform(&rng), TM_OPCLASS_ELEMENTWISE};
        s.kernels[TM_OPCLASS_GEMM] = ng * 10;
        s.kernels[TM_OPCLASS_ATTENTION] = na * 10;
        s.kernels[TM_OPCLASS_ELEMENTWISE] = ne * 10;
        s.regime = TM_REGIME_MIXED;
        s.config = tm_calib_data_config_id(d, j % 2 ? "a" : "b");
        double y = tr->beta[TM_TERM_FIXED] + tr->beta[TM_TERM_SEQ] * s.seqs;
        double c = 0, m = 0;
        for (int k = 0; k < TM_OPCLASS_COUNT; k++)
            y += tr->beta[TM_TERM_CLASS_KERNEL(k)] * s.kernels[k];
        for (int i = 0; i < nops; i++) {
            int k = ops[i].cls;
            c += ops[i].compute_s;
            m += ops[i].memory_s;
            if (!max_form)
                y += fmax(tr->beta[TM_TERM_CLASS_COMPUTE(k)] * ops[i].compute_s,
                          tr->beta[TM_TERM_CLASS_MEMORY(k)] * ops[i].memory_s);
        }
        if (max_form)
            y += fmax(tr->beta[TM_TERM_COMPUTE] * c, tr->beta[TM_TERM_MEMORY] * m);
        s.measured_s = y * exp(sim_rng_normal(&rng, 0.0, sigma));
        tm_calib_data_add(d, &s, ops, (size_t)nops, "synthetic");
    }
}

static truth_t
split_truth(void)
{
    truth_t t = {{0}};
    t.beta[TM_TERM_FIXED] = 150e-6;
    t.beta[TM_TERM_SEQ] = 5e-6;
    t.beta[TM_TERM_KERNEL] = 3e-6;
    t.beta[TM_TERM_COMPUTE] = 1.4;
    t.beta[TM_TERM_MEMORY] = 1.1;
    t.beta[TM_TERM_ATT_KERNEL] = 8e-6;
    t.beta[TM_TERM_ATT_COMPUTE] = 1.8;
    t.beta[TM_TERM_ATT_MEMORY] = 1.3;
    t.beta[TM_TERM_ELEM_KERNEL] = 2e-6;
    t.beta[TM_TERM_ELEM_MEMORY] = 0.9;
    return t;
}

Test(calib_fit, linear_form_recovers_known_coefficients)
{
    truth_t tr = split_truth();
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    make_steps(d, &tr, 3000, 0.01, 11, false);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 100;
    o.allow_super_peak = true; /* elem_memory's truth is 0.9: its warning is checked below */
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_eq(f->form, TM_CALIB_FORM_LINEAR);
    /* the true ratio βc/βm = 1.27 differs from the ridge point: operators must move */
    cr_expect_geq(f->rounds, 2);
    cr_expect(f->settled);
    static const tm_calib_term check[] = {
        TM_TERM_FIXED,       TM_TERM_SEQ,        TM_TERM_KERNEL,
        TM_TERM_COMPUTE,     TM_TERM_MEMORY,     TM_TERM_ATT_KERNEL,
        TM_TERM_ATT_COMPUTE, TM_TERM_ATT_MEMORY, TM_TERM_ELEM_MEMORY};
    int covered = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(check); i++) {
        tm_calib_term t = check[i];
        double want = tr.beta[t], got = f->beta[t];
        cr_expect_eq(f->status[t], TM_TERM_FITTED, "%s", tm_calib_term_name(t));
        cr_expect(fabs(got - want) <= 0.05 * want, "%s: %g vs true %g", tm_calib_term_name(t), got,
                  want);
        cr_expect(f->ci_lo[t] <= got && got <= f->ci_hi[t], "%s", tm_calib_term_name(t));
        covered += f->ci_lo[t] <= want && want <= f->ci_hi[t];
    }
    /* 95 % intervals: most of the nine cover the truth */
    cr_expect_geq(covered, 7, "%d of 9 intervals cover the truth", covered);
    /* 1 % log-normal noise: MAPE ≈ 0.8 % */
    cr_expect_lt(f->cv_q.mape, 0.012, "CV MAPE %g", f->cv_q.mape);
    cr_expect_gt(f->fit.r2, 0.99);
    cr_expect_eq(f->cv_q.n, 3000);
    cr_expect(isfinite(f->cond) && f->cond >= 1.0);
    /* efficiencies are 1/β and reported only up to 1.05 */
    const char *why = NULL;
    cr_expect(fabs(tm_calib_fit_efficiency(f, TM_TERM_COMPUTE, &why) -
                   1 / f->beta[TM_TERM_COMPUTE]) < 1e-12);
    cr_expect_null(why);
    double e = tm_calib_fit_efficiency(f, TM_TERM_ELEM_MEMORY, &why);
    cr_expect(isnan(e) && why != NULL && strstr(why, "faster than peak") != NULL);
    bool warned = false;
    for (guint i = 0; i < f->warnings->len; i++)
        warned |= strstr(f->warnings->pdata[i], "elem_memory: implied efficiency") != NULL;
    cr_expect(warned, "efficiency > 1 is a warning");
}

Test(calib_fit, max_form_wins_on_step_level_max_data)
{
    truth_t tr = {{0}};
    tr.beta[TM_TERM_FIXED] = 400e-6;
    tr.beta[TM_TERM_COMPUTE] = 1.6;
    tr.beta[TM_TERM_MEMORY] = 1.2;
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    make_steps(d, &tr, 1500, 0.005, 12, true);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.split_classes = false;
    o.terms = (1u << TM_TERM_FIXED) | (1u << TM_TERM_COMPUTE) | (1u << TM_TERM_MEMORY);
    o.bootstrap = 20;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_eq(f->form, TM_CALIB_FORM_MAX, "CV linear %g max %g", f->cv_linear.mape,
                 f->cv_max.mape);
    cr_expect_lt(f->cv_max.mape, f->cv_linear.mape);
    for (int t = 0; t < P; t++)
        if (tr.beta[t] > 0)
            cr_expect(fabs(f->beta[t] - tr.beta[t]) <= 0.02 * tr.beta[t], "%s: %g vs %g",
                      tm_calib_term_name((tm_calib_term)t), f->beta[t], tr.beta[t]);
    cr_expect_lt(f->cv_q.mape, 0.006, "CV MAPE %g (linear %g)", f->cv_q.mape, f->cv_linear.mape);
}

/* ---- identifiability ----------------------------------------------------------------------- */

static void
add_simple(tm_calib_data *d, double y, double tc, double tm, double steps, double kernels)
{
    tm_calib_op op = {tc, tm, TM_OPCLASS_GEMM};
    tm_calib_sample s = {0};
    s.measured_s = y;
    s.steps = steps;
    s.kernels[0] = kernels;
    s.regime = TM_REGIME_LINEAR;
    tm_calib_data_add(d, &s, &op, 1, "s");
}

/* Found by fuzz/fuzz_calib_vidur on a real Vidur all_reduce.csv alone: a data set of
 * collectives has no operators, and the fit computed ops + op_first on a NULL array (UBSan:
 * "applying zero offset to null pointer"). */
Test(calib_fit, collectives_alone_have_an_operator_base_and_fit)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    cr_assert_not_null(tm_calib_data_ops(d));
    /* y = 2·X + 10 µs offset, X = 1, 2, ..., 8 µs: β_comm = 2 exactly */
    for (int i = 1; i <= 8; i++) {
        tm_calib_sample s = {0};
        s.comm_s = i * 1e-6;
        s.offset_s = 10e-6;
        s.measured_s = 2 * s.comm_s + s.offset_s;
        s.regime = TM_REGIME_COLLECTIVE;
        tm_calib_data_add(d, &s, NULL, 0, "all_reduce");
    }
    cr_assert_not_null(tm_calib_data_ops(d));
    tm_calib_fit_opts fo;
    tm_calib_fit_opts_defaults(&fo);
    fo.bootstrap = 0;
    fo.terms = 1u << TM_TERM_COMM;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &fo, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_float_eq(f->beta[TM_TERM_COMM], 2.0, 1e-9);
}

Test(calib_fit, too_few_samples_name_the_terms)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    /* 2 samples, 4 terms exercised: fixed, kernel, compute, memory */
    add_simple(d, 1e-3, 2e-4, 1e-4, 1, 3);
    add_simple(d, 2e-3, 1e-4, 9e-4, 1, 5);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    /* terms asked for explicitly: refused, naming the ones the data cannot identify */
    o.terms = (1u << TM_TERM_FIXED) | (1u << TM_TERM_KERNEL) | (1u << TM_TERM_COMPUTE) |
              (1u << TM_TERM_MEMORY);
    GError *err = NULL;
    tm_calib_fit *f = tm_calib_fit_run(d, &o, &err);
    cr_assert_null(f);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "too few samples: 2 samples cannot identify 4 terms") != NULL,
              "%s", err->message);
    /* compute and memory claim the two samples first; the overheads are left */
    cr_expect(strstr(err->message, "not identifiable: fixed, kernel") != NULL, "%s", err->message);
    g_clear_error(&err);
    tm_calib_fit_free(f);
}

Test(calib_fit, too_few_samples_fit_the_identifiable_terms)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    /* the same 2 samples with the default terms: fewer than 4 samples leave one term (at
     * least two samples per term), the first in priority order: compute */
    add_simple(d, 1e-3, 2e-4, 1e-4, 1, 3);
    add_simple(d, 2e-3, 1e-4, 9e-4, 1, 5);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 0;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_neq(f->status[TM_TERM_COMPUTE], TM_TERM_UNDETERMINED);
    cr_expect_neq(f->status[TM_TERM_COMPUTE], TM_TERM_ABSENT);
    cr_expect_eq(f->status[TM_TERM_MEMORY], TM_TERM_UNDETERMINED);
    cr_expect_eq(f->status[TM_TERM_FIXED], TM_TERM_UNDETERMINED);
    bool said = false;
    for (guint i = 0; i < f->warnings->len; i++)
        said |= strstr(f->warnings->pdata[i], "too few samples: 2 samples for ") != NULL &&
                strstr(f->warnings->pdata[i], "left at their defaults: memory") != NULL;
    cr_expect(said, "the warning says which terms were kept and why");
    /* the calibration leaves out what was not fitted: those knobs keep their defaults */
    json_auto_t *j = tm_calib_fit_to_json(f, d, NULL, NULL, NULL);
    json_t *co = json_object_get(j, "coefficients");
    cr_expect_null(json_object_get(co, "beta_memory"));
    cr_expect_null(json_object_get(co, "beta0_s"));
    cr_expect_not_null(json_object_get(co, "beta_compute"));
}

Test(calib_fit, efficiencies_stay_at_most_peak_unless_allowed)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    /* compute-bound samples measured at half their F/P: 1/β = 2, faster than peak */
    for (int i = 1; i <= 6; i++)
        add_simple(d, 0.5 * i * 1e-3, i * 1e-3, 1e-6, 0, 0);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 0;
    o.terms = 1u << TM_TERM_COMPUTE;
    o.form = TM_CALIB_FORM_LINEAR;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_eq(f->beta[TM_TERM_COMPUTE], 1.0, "held at peak: %g", f->beta[TM_TERM_COMPUTE]);
    bool said = false;
    for (guint i = 0; i < f->warnings->len; i++)
        said |= strstr(f->warnings->pdata[i], "compute: held at peak") != NULL;
    cr_expect(said);
    o.allow_super_peak = true;
    g_autoptr(tm_calib_fit) g = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(g);
    cr_expect_float_eq(g->beta[TM_TERM_COMPUTE], 0.5, 1e-9);
}

Test(calib_fit, exactly_collinear_terms_are_dropped_with_a_warning)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    sim_rng rng;
    sim_rng_init(&rng, 3, SIM_STREAM_TEST);
    for (int i = 0; i < 40; i++) {
        double tm = 1e-4 * (1 + sim_rng_uniform(&rng));
        /* every sample launches exactly 7 kernels per step: kernel ∝ fixed */
        add_simple(d, 2e-4 + 1.2 * tm, 0.0, tm, 1, 7);
    }
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 0;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_eq(f->status[TM_TERM_KERNEL], TM_TERM_DROPPED);
    cr_expect_eq(f->status[TM_TERM_COMPUTE], TM_TERM_ABSENT); /* never compute-bound */
    cr_expect(fabs(f->beta[TM_TERM_FIXED] - 2e-4) < 1e-9, "%g", f->beta[TM_TERM_FIXED]);
    cr_expect(fabs(f->beta[TM_TERM_MEMORY] - 1.2) < 1e-6, "%g", f->beta[TM_TERM_MEMORY]);
    cr_assert_geq(f->warnings->len, 1);
    cr_expect(strstr(f->warnings->pdata[0], "kernel cannot be told apart") != NULL, "%s",
              (const char *)f->warnings->pdata[0]);
}

Test(calib_fit, a_clamped_term_is_reported_not_identifiable)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    sim_rng rng;
    sim_rng_init(&rng, 4, SIM_STREAM_TEST);
    for (int i = 0; i < 60; i++) {
        double tm = 1e-4 * (1 + 3 * sim_rng_uniform(&rng));
        double steps = 1 + (double)sim_rng_below(&rng, 4);
        /* y = 1.3·M − 10 µs per step: the unconstrained fixed term is −10 µs, so the
         * non-negative one is 0 */
        add_simple(d, 1.3 * tm * steps - 1e-5 * steps, 0.0, tm * steps, steps, 0);
    }
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 0;
    GError *err = NULL;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, &err);
    cr_assert_not_null(f, "%s", err ? err->message : "");
    cr_expect_eq(f->status[TM_TERM_FIXED], TM_TERM_CLAMPED);
    cr_expect_eq(f->beta[TM_TERM_FIXED], 0.0);
    bool warned = false;
    for (guint i = 0; i < f->warnings->len; i++)
        warned |= strstr(f->warnings->pdata[i], "fixed: clamped at 0") != NULL;
    cr_expect(warned);
}

Test(calib_fit, requested_terms_must_be_exercised)
{
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    for (int i = 1; i <= 10; i++)
        add_simple(d, 1e-4 * i, 0.0, 1e-4 * i, 1, 0);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    cr_assert(tm_calib_terms_parse("memory,comm", &o.terms, NULL));
    GError *err = NULL;
    tm_calib_fit *f = tm_calib_fit_run(d, &o, &err);
    cr_assert_null(f);
    cr_expect(strstr(err->message, "no sample exercises comm") != NULL, "%s", err->message);
    g_clear_error(&err);
    cr_expect_not(tm_calib_terms_parse("memory,bogus", &o.terms, &err));
    cr_expect(strstr(err->message, "unknown term 'bogus'") != NULL, "%s", err->message);
    g_clear_error(&err);
}

Test(calib_fit, folds_and_bootstrap_are_seeded)
{
    truth_t tr = split_truth();
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    make_steps(d, &tr, 400, 0.05, 13, false);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 30;
    g_autoptr(tm_calib_fit) a = tm_calib_fit_run(d, &o, NULL);
    g_autoptr(tm_calib_fit) b = tm_calib_fit_run(d, &o, NULL);
    o.seed = 2;
    g_autoptr(tm_calib_fit) c = tm_calib_fit_run(d, &o, NULL);
    cr_assert(a && b && c);
    cr_expect_eq(a->cv_q.mape, b->cv_q.mape);
    cr_expect_eq(a->ci_lo[TM_TERM_COMPUTE], b->ci_lo[TM_TERM_COMPUTE]);
    cr_expect_neq(a->cv_q.mape, c->cv_q.mape);
    cr_expect_eq(a->beta[TM_TERM_COMPUTE], c->beta[TM_TERM_COMPUTE]); /* all-data fit */
    /* leave-one-configuration-out: the two configurations "a" and "b" */
    o.cv = TM_CALIB_CV_LOCO;
    g_autoptr(tm_calib_fit) l = tm_calib_fit_run(d, &o, NULL);
    cr_assert_not_null(l);
    cr_expect_eq(l->cv, TM_CALIB_CV_LOCO);
    cr_expect_eq(l->folds, 2);
}

/* ---- the calibration JSON ------------------------------------------------------------------- */

Test(calib_fit, json_loads_back_as_knobs)
{
    truth_t tr = split_truth();
    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    make_steps(d, &tr, 600, 0.01, 14, false);
    tm_calib_fit_opts o;
    tm_calib_fit_opts_defaults(&o);
    o.bootstrap = 10;
    g_autoptr(tm_calib_fit) f = tm_calib_fit_run(d, &o, NULL);
    cr_assert_not_null(f);
    json_auto_t *j = tm_calib_fit_to_json(f, d, "m", "h", json_pack("[s]", "synthetic"));
    cr_expect_str_eq(json_string_value(json_object_get(j, "form")), "linear");
    json_t *co = json_object_get(j, "coefficients");
    cr_expect_null(json_object_get(co, "beta_comm")); /* not in the data: left out */
    cr_expect(fabs(json_real_value(json_object_get(json_object_get(j, "fit"), "cv_mape")) -
                   f->cv_q.mape) < 1e-12);
    g_auto(tm_calibration) c = {0};
    GError *err = NULL;
    cr_assert(tm_calibration_from_json(&c, j, "fit.json", &err), "%s", err ? err->message : "");
    cr_expect(fabs(c.compute_eff - 1 / f->beta[TM_TERM_COMPUTE]) < 1e-9);
    cr_expect(fabs(c.memory_eff - 1 / f->beta[TM_TERM_MEMORY]) < 1e-9);
    cr_expect(fabs(c.attn_compute_eff - 1 / f->beta[TM_TERM_ATT_COMPUTE]) < 1e-9);
    cr_expect(fabs(c.elem_memory_eff - 1 / f->beta[TM_TERM_ELEM_MEMORY]) < 1e-9);
    cr_expect(fabs(c.step_overhead_s - f->beta[TM_TERM_FIXED]) < 1e-12);
    cr_expect(fabs(c.kernel_s[TM_OPCLASS_ATTENTION] - f->beta[TM_TERM_ATT_KERNEL]) < 1e-12);
    cr_expect(isnan(c.comm_eff));
    tm_roofline_params p;
    tm_roofline_params_defaults(&p, NULL);
    tm_calibration_apply(&c, &p);
    cr_expect_eq(p.comm_eff, TM_DEFAULT_COMM_EFF); /* not identified: the default stays */
}
