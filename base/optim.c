/* base/optim.c: bounded Nelder–Mead (see optim.h). Standard coefficients (reflection 1,
 * expansion 2, contraction ½, shrink ½; Lagarias et al. 1998's ordering rules) with every
 * trial point projected onto the box, so the search never asks for a value outside it. Ties
 * keep the earlier vertex first (a stable insertion sort), which makes the run deterministic. */
#include "base/optim.h"

#include <math.h>
#include <string.h>

#define MAXV (BASE_NM_MAX_DIM + 1)

typedef struct {
    int n;
    const double *lo, *hi;
    base_nm_fn fn;
    void *ctx;
    int evals, max_evals;
    bool aborted;
} nm;

static void
project(const nm *s, double *x)
{
    for (int i = 0; i < s->n; i++)
        x[i] = fmin(fmax(x[i], s->lo[i]), s->hi[i]);
}

static double
eval(nm *s, double *x)
{
    project(s, x);
    double f = (double)INFINITY;
    s->evals++;
    if (!s->fn(x, s->ctx, &f)) {
        s->aborted = true;
        return (double)INFINITY;
    }
    return isnan(f) ? (double)INFINITY : f;
}

/* Orders the vertices by value, stable (insertion sort on ≤ 17 entries). */
static void
order(int m, double v[MAXV][BASE_NM_MAX_DIM], double *f, int n)
{
    for (int i = 1; i < m; i++) {
        double fi = f[i], vi[BASE_NM_MAX_DIM];
        memcpy(vi, v[i], sizeof(double) * (size_t)n);
        int j = i - 1;
        while (j >= 0 && f[j] > fi) {
            f[j + 1] = f[j];
            memcpy(v[j + 1], v[j], sizeof(double) * (size_t)n);
            j--;
        }
        f[j + 1] = fi;
        memcpy(v[j + 1], vi, sizeof(double) * (size_t)n);
    }
}

bool
base_nm_minimize(int n,
                 double *x,
                 const double *lo,
                 const double *hi,
                 const base_nm_opts *o,
                 base_nm_fn fn,
                 void *ctx,
                 base_nm_result *res)
{
    nm s = {n, lo, hi, fn, ctx, 0, o->max_evals, false};
    double v[MAXV][BASE_NM_MAX_DIM], f[MAXV];
    bool converged = false;
    if (n < 1 || n > BASE_NM_MAX_DIM) {
        res->f = (double)INFINITY;
        res->evals = 0;
        res->converged = false;
        return false;
    }
    memcpy(v[0], x, sizeof(double) * (size_t)n);
    f[0] = eval(&s, v[0]);
    for (int i = 0; i < n && !s.aborted; i++) {
        memcpy(v[i + 1], v[0], sizeof(double) * (size_t)n);
        double up = v[0][i] + o->step;
        v[i + 1][i] = up <= hi[i] ? up : v[0][i] - o->step;
        f[i + 1] = eval(&s, v[i + 1]);
    }
    while (!s.aborted) {
        order(n + 1, v, f, n);
        /* convergence: values flat, or the simplex collapsed onto the best vertex */
        double spread = 0.0;
        for (int i = 1; i <= n; i++)
            for (int k = 0; k < n; k++)
                spread = fmax(spread, fabs(v[i][k] - v[0][k]));
        if ((isfinite(f[n]) && f[n] - f[0] <= o->ftol) || spread <= o->xtol) {
            converged = true;
            break;
        }
        if (s.evals >= s.max_evals)
            break;
        double c[BASE_NM_MAX_DIM] = {0}, xr[BASE_NM_MAX_DIM], xe[BASE_NM_MAX_DIM],
               xc[BASE_NM_MAX_DIM];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
                c[k] += v[i][k] / n;
        for (int k = 0; k < n; k++)
            xr[k] = c[k] + (c[k] - v[n][k]);
        double fr = eval(&s, xr);
        if (s.aborted)
            break;
        if (fr < f[0]) {
            for (int k = 0; k < n; k++)
                xe[k] = c[k] + 2.0 * (xr[k] - c[k]);
            double fe = eval(&s, xe);
            bool take_e = fe < fr;
            memcpy(v[n], take_e ? xe : xr, sizeof(double) * (size_t)n);
            f[n] = take_e ? fe : fr;
            continue;
        }
        if (fr < f[n - 1]) {
            memcpy(v[n], xr, sizeof(double) * (size_t)n);
            f[n] = fr;
            continue;
        }
        /* contraction: outside when the reflection improved on the worst, else inside */
        bool outside = fr < f[n];
        for (int k = 0; k < n; k++)
            xc[k] = outside ? c[k] + 0.5 * (xr[k] - c[k]) : c[k] + 0.5 * (v[n][k] - c[k]);
        double fc = eval(&s, xc);
        if (s.aborted)
            break;
        if (fc < (outside ? fr : f[n])) {
            memcpy(v[n], xc, sizeof(double) * (size_t)n);
            f[n] = fc;
            continue;
        }
        for (int i = 1; i <= n && !s.aborted; i++) {
            for (int k = 0; k < n; k++)
                v[i][k] = v[0][k] + 0.5 * (v[i][k] - v[0][k]);
            f[i] = eval(&s, v[i]);
        }
    }
    order(n + 1, v, f, n);
    memcpy(x, v[0], sizeof(double) * (size_t)n);
    res->f = f[0];
    res->evals = s.evals;
    res->converged = converged;
    return !s.aborted;
}
