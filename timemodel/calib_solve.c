/* timemodel/calib_solve.c: the small dense linear algebra of the calibration fit (P ≤ 15
 * terms): Cholesky on diagonally scaled normal equations, weighted NNLS by Lawson–Hanson's
 * active-set method (exact in a finite number of steps; tests/timemodel/test_calib_fit.c checks
 * it against enumerating every support), Jacobi eigenvalues, and the identifiability and
 * collinearity diagnostics built on them (dependent terms, condition number, VIFs). */
#include <math.h>
#include <string.h>

#include "timemodel/calib_internal.h"

#define P TM_TERM_COUNT

/* ---- small dense linear algebra (P ≤ 15) ------------------------------------------------ */

/* Solves G_SS β = b_S for the terms in IDX by Cholesky on the diagonally scaled system.
 * FALSE when the subset is (numerically) singular. */
bool
tm__calib_solve_subset(const tm__calib_normal *ne, const int *idx, int k, double *out)
{
    double a[P][P], y[P], sc[P];
    for (int i = 0; i < k; i++) {
        double gii = ne->g[idx[i]][idx[i]];
        if (!(gii > 0.0) || !isfinite(gii))
            return false;
        sc[i] = 1.0 / sqrt(gii);
    }
    for (int i = 0; i < k; i++) {
        y[i] = ne->b[idx[i]] * sc[i];
        for (int j = 0; j < k; j++)
            a[i][j] = ne->g[idx[i]][idx[j]] * sc[i] * sc[j];
    }
    /* in-place Cholesky: a = L Lᵀ (lower triangle) */
    for (int j = 0; j < k; j++) {
        double s = a[j][j];
        for (int m = 0; m < j; m++)
            s -= a[j][m] * a[j][m];
        if (s <= 1e-11)
            return false;
        a[j][j] = sqrt(s);
        for (int i = j + 1; i < k; i++) {
            double t = a[i][j];
            for (int m = 0; m < j; m++)
                t -= a[i][m] * a[j][m];
            a[i][j] = t / a[j][j];
        }
    }
    for (int i = 0; i < k; i++) {
        double t = y[i];
        for (int m = 0; m < i; m++)
            t -= a[i][m] * y[m];
        y[i] = t / a[i][i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double t = y[i];
        for (int m = i + 1; m < k; m++)
            t -= a[m][i] * y[m];
        y[i] = t / a[i][i];
    }
    for (int i = 0; i < k; i++)
        out[i] = y[i] * sc[i];
    return true;
}

/* Weighted SSE of BETA: rᵀWr − 2βᵀb + βᵀGβ. */
static double
sse_of(const tm__calib_normal *ne, const double *beta)
{
    double s = ne->rr;
    for (int a = 0; a < P; a++) {
        if (beta[a] == 0.0)
            continue;
        s -= 2.0 * beta[a] * ne->b[a];
        for (int b = 0; b < P; b++)
            s += beta[a] * ne->g[a][b] * beta[b];
    }
    return s;
}

/* Least squares restricted to the terms of SET: solves G_SS z = b_S. */
static bool
solve_set(const tm__calib_normal *ne, unsigned set, double *z)
{
    int idx[P], k = 0;
    for (int t = 0; t < P; t++)
        if (set & TM__CALIB_BIT(t))
            idx[k++] = t;
    double x[P];
    if (!tm__calib_solve_subset(ne, idx, k, x))
        return false;
    memset(z, 0, sizeof(double) * P);
    for (int i = 0; i < k; i++)
        z[idx[i]] = x[i];
    return true;
}

/* Weighted NNLS over the terms of MASK: Lawson & Hanson (1974, ch. 23) on the normal
 * equations. A term whose column is empty, or that would make the passive set singular
 * (exactly collinear with it), stays at 0. Returns the SSE. */
double
tm__calib_nnls_solve(const tm__calib_normal *ne, unsigned mask, double beta[P])
{
    double x[P] = {0}, z[P], w[P];
    unsigned passive = 0, avail = 0;
    double scale = 0.0;
    for (int t = 0; t < P; t++) {
        if ((mask & TM__CALIB_BIT(t)) && ne->g[t][t] > 0 && isfinite(ne->g[t][t]))
            avail |= TM__CALIB_BIT(t);
    }
    for (int outer = 0; outer < 4 * P; outer++) {
        /* gradient of −SSE/2, in units where each column has unit weighted norm */
        int best = -1;
        double bw = 0.0;
        for (int t = 0; t < P; t++) {
            if (!(avail & TM__CALIB_BIT(t)) || (passive & TM__CALIB_BIT(t)))
                continue;
            double g = ne->b[t];
            for (int u = 0; u < P; u++)
                g -= ne->g[t][u] * x[u];
            w[t] = g / sqrt(ne->g[t][t]);
            scale = fmax(scale, fabs(ne->b[t]) / sqrt(ne->g[t][t]));
            if (w[t] > bw) {
                bw = w[t];
                best = t;
            }
        }
        if (best < 0 || bw <= 1e-12 * scale)
            break;
        passive |= TM__CALIB_BIT(best);
        for (int inner = 0; inner < 4 * P; inner++) {
            if (!solve_set(ne, passive, z)) {
                /* collinear with the passive set: never a candidate again */
                passive &= ~TM__CALIB_BIT(best);
                avail &= ~TM__CALIB_BIT(best);
                break;
            }
            bool pos = true;
            for (int t = 0; t < P; t++)
                if ((passive & TM__CALIB_BIT(t)) && z[t] <= 0)
                    pos = false;
            if (pos) {
                memcpy(x, z, sizeof x);
                break;
            }
            double alpha = 1.0;
            for (int t = 0; t < P; t++)
                if ((passive & TM__CALIB_BIT(t)) && z[t] <= 0 && x[t] - z[t] > 0)
                    alpha = fmin(alpha, x[t] / (x[t] - z[t]));
            for (int t = 0; t < P; t++) {
                if (!(passive & TM__CALIB_BIT(t)))
                    continue;
                x[t] += alpha * (z[t] - x[t]);
                if (x[t] <= 1e-15 * fabs(z[t]) || x[t] <= 0) {
                    x[t] = 0.0;
                    passive &= ~TM__CALIB_BIT(t);
                }
            }
        }
    }
    memcpy(beta, x, sizeof x);
    return sse_of(ne, beta);
}

double
tm__calib_nnls_floor(const tm__calib_normal *ne, unsigned mask, unsigned floor, double beta[P])
{
    double d[P] = {0};
    bool any = false;
    for (int t = 0; t < P; t++)
        if ((mask & floor & TM__CALIB_BIT(t)) && ne->g[t][t] > 0 && isfinite(ne->g[t][t])) {
            d[t] = 1.0;
            any = true;
        }
    if (!any)
        return tm__calib_nnls_solve(ne, mask, beta);
    /* ‖r − Xβ‖² with β = d + γ is ‖(r − Xd) − Xγ‖²: b' = b − G d, rr' = rr − 2 bᵀd + dᵀG d */
    tm__calib_normal sh = *ne;
    double gd[P] = {0}, bd = 0.0, dgd = 0.0;
    for (int t = 0; t < P; t++) {
        for (int u = 0; u < P; u++)
            gd[t] += ne->g[t][u] * d[u];
        bd += ne->b[t] * d[t];
    }
    for (int t = 0; t < P; t++) {
        sh.b[t] = ne->b[t] - gd[t];
        dgd += d[t] * gd[t];
    }
    sh.rr = ne->rr - 2.0 * bd + dgd;
    tm__calib_nnls_solve(&sh, mask, beta);
    for (int t = 0; t < P; t++)
        beta[t] += d[t];
    return sse_of(ne, beta);
}

double
tm__calib_nnls(const double *g, const double *b, double rr, unsigned mask, double *beta)
{
    tm__calib_normal ne;
    memcpy(ne.g, g, sizeof ne.g);
    memcpy(ne.b, b, sizeof ne.b);
    ne.rr = rr;
    return tm__calib_nnls_solve(&ne, mask, beta);
}

/* Eigenvalues of a symmetric K×K matrix (cyclic Jacobi). */
static void
eigen_sym(double a[P][P], int k, double *ev)
{
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0;
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++)
                off += a[i][j] * a[i][j];
        if (off < 1e-30)
            break;
        for (int p = 0; p < k; p++) {
            for (int q = p + 1; q < k; q++) {
                if (fabs(a[p][q]) < 1e-300)
                    continue;
                double th = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int r = 0; r < k; r++) {
                    double arp = a[r][p], arq = a[r][q];
                    a[r][p] = c * arp - s * arq;
                    a[r][q] = s * arp + c * arq;
                }
                for (int r = 0; r < k; r++) {
                    double apr = a[p][r], aqr = a[q][r];
                    a[p][r] = c * apr - s * aqr;
                    a[q][r] = s * apr + c * aqr;
                }
            }
        }
    }
    for (int i = 0; i < k; i++)
        ev[i] = a[i][i];
}

/* ---- diagnostics -------------------------------------------------------------------------- */

/* Terms of CAND (in tm__calib_term_priority order) that are linear combinations of earlier ones in
 * the weighted design NE: their Schur complement vanishes. Returns the mask of dependent terms. */
unsigned
tm__calib_dependent_terms(const tm__calib_normal *ne, unsigned cand)
{
    unsigned accepted = 0, dep = 0;
    for (int p = 0; p < P; p++) {
        tm_calib_term t = tm__calib_term_priority[p];
        if (!(cand & TM__CALIB_BIT(t)))
            continue;
        int idx[P], k = 0;
        for (int q = 0; q < P; q++)
            if (accepted & TM__CALIB_BIT(q))
                idx[k++] = q;
        idx[k++] = (int)t;
        double x[P];
        /* the subset with T is non-singular iff T adds a new direction */
        if (tm__calib_solve_subset(ne, idx, k, x))
            accepted |= TM__CALIB_BIT(t);
        else
            dep |= TM__CALIB_BIT(t);
    }
    return dep;
}

/* Walks CAND in priority order and keeps a term when fewer than LIMIT are kept yet and it is
 * well determined next to the kept ones: the part of its (scaled) column the kept columns do
 * not explain, 1 − R², is at least TOL (its VIF at most 1/TOL). Terms refused for being too
 * collinear go to *COLLINEAR, those refused for the LIMIT to *OVER. Returns the kept mask. */
unsigned
tm__calib_identifiable_terms(const tm__calib_normal *ne,
                             unsigned cand,
                             int limit,
                             double tol,
                             unsigned *collinear,
                             unsigned *over)
{
    unsigned kept = 0;
    int nk = 0;
    *collinear = *over = 0;
    for (int p = 0; p < P; p++) {
        tm_calib_term t = tm__calib_term_priority[p];
        if (!(cand & TM__CALIB_BIT(t)))
            continue;
        if (!(ne->g[t][t] > 0)) {
            *collinear |= TM__CALIB_BIT(t);
            continue;
        }
        if (nk >= limit) {
            *over |= TM__CALIB_BIT(t);
            continue;
        }
        /* 1 − R² of T on the kept columns: (g_tt − g_tK G_KK⁻¹ g_Kt) / g_tt */
        double resid = 1.0;
        if (nk > 0) {
            int idx[P], k = 0;
            tm__calib_normal u = *ne;
            for (int q = 0; q < P; q++)
                if (kept & TM__CALIB_BIT(q)) {
                    idx[k++] = q;
                    u.b[q] = ne->g[q][t];
                }
            double x[P];
            if (!tm__calib_solve_subset(&u, idx, k, x)) {
                resid = 0.0;
            } else {
                double proj = 0.0;
                for (int i = 0; i < k; i++)
                    proj += ne->g[t][idx[i]] * x[i];
                resid = (ne->g[t][t] - proj) / ne->g[t][t];
            }
        }
        if (resid >= tol) {
            kept |= TM__CALIB_BIT(t);
            nk++;
        } else {
            *collinear |= TM__CALIB_BIT(t);
        }
    }
    return kept;
}

char *
tm__calib_term_list(unsigned mask)
{
    GString *g = g_string_new(NULL);
    for (int p = 0; p < P; p++) {
        tm_calib_term t = tm__calib_term_priority[p];
        if (mask & TM__CALIB_BIT(t))
            g_string_append_printf(g, "%s%s", g->len ? ", " : "", tm__calib_term_names[t]);
    }
    return g_string_free(g, FALSE);
}

/* Condition number and uncentered VIFs of the weighted design restricted to MASK. */
void
tm__calib_collinearity(const tm__calib_normal *ne, unsigned mask, double *cond, double *vif)
{
    int idx[P], k = 0;
    for (int t = 0; t < P; t++) {
        vif[t] = NAN;
        if (mask & TM__CALIB_BIT(t))
            idx[k++] = t;
    }
    *cond = NAN;
    if (k == 0)
        return;
    double a[P][P], sc[P];
    for (int i = 0; i < k; i++)
        sc[i] = 1.0 / sqrt(ne->g[idx[i]][idx[i]]);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            a[i][j] = ne->g[idx[i]][idx[j]] * sc[i] * sc[j];
    double ev[P], e[P][P];
    memcpy(e, a, sizeof e);
    eigen_sym(e, k, ev);
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < k; i++) {
        lo = fmin(lo, ev[i]);
        hi = fmax(hi, ev[i]);
    }
    *cond = lo > 0 ? sqrt(hi / lo) : (double)INFINITY;
    /* VIF_j = (A⁻¹)_jj: solve A z = e_j */
    for (int j = 0; j < k; j++) {
        tm__calib_normal u;
        memset(&u, 0, sizeof u);
        for (int p = 0; p < k; p++)
            for (int q = 0; q < k; q++)
                u.g[p][q] = a[p][q];
        u.b[j] = 1.0;
        int id2[P];
        for (int p = 0; p < k; p++)
            id2[p] = p;
        double z[P];
        vif[idx[j]] = tm__calib_solve_subset(&u, id2, k, z) ? z[j] : (double)INFINITY;
    }
}
