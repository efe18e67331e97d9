/* tests/base/test_optim.c: the bounded Nelder–Mead finds the minima of functions whose minima
 * are known in closed form (a shifted quadratic, Rosenbrock's valley at (1, 1)), respects its
 * box (a minimum outside it is found on the boundary), is deterministic, and stops when the
 * objective aborts. */
#include <math.h>

#include <criterion/criterion.h>

#include "base/optim.h"

typedef struct {
    int calls;
    double seen_lo[4], seen_hi[4];
    int abort_at;
} probe;

static bool
quad(const double *x, void *ctx, double *f)
{
    probe *p = ctx;
    p->calls++;
    for (int i = 0; i < 3; i++) {
        p->seen_lo[i] = fmin(p->seen_lo[i], x[i]);
        p->seen_hi[i] = fmax(p->seen_hi[i], x[i]);
    }
    if (p->abort_at > 0 && p->calls >= p->abort_at)
        return false;
    /* minimum 0 at (1, -2, 0.5) */
    *f = (x[0] - 1) * (x[0] - 1) + 3 * (x[1] + 2) * (x[1] + 2) + 10 * (x[2] - 0.5) * (x[2] - 0.5);
    return true;
}

static bool
rosenbrock(const double *x, void *ctx, double *f)
{
    (void)ctx;
    *f = 100 * pow(x[1] - x[0] * x[0], 2) + pow(1 - x[0], 2);
    return true;
}

Test(optim, quadratic_minimum_found)
{
    double x[3] = {0, 0, 0}, lo[3] = {-5, -5, -5}, hi[3] = {5, 5, 5};
    probe p = {.seen_lo = {9, 9, 9}, .seen_hi = {-9, -9, -9}};
    base_nm_opts o = {.max_evals = 400, .step = 0.5, .ftol = 1e-12, .xtol = 1e-7};
    base_nm_result r;
    cr_assert(base_nm_minimize(3, x, lo, hi, &o, quad, &p, &r));
    cr_expect(r.converged);
    cr_expect_float_eq(x[0], 1.0, 1e-3);
    cr_expect_float_eq(x[1], -2.0, 1e-3);
    cr_expect_float_eq(x[2], 0.5, 1e-3);
    cr_expect_lt(r.f, 1e-6);
    cr_expect_eq(r.evals, p.calls);
    cr_expect_leq(r.evals, 400);
}

Test(optim, rosenbrock_valley)
{
    double x[2] = {-1.2, 1.0}, lo[2] = {-3, -3}, hi[2] = {3, 3};
    base_nm_opts o = {.max_evals = 2000, .step = 0.5, .ftol = 1e-14, .xtol = 1e-9};
    base_nm_result r;
    cr_assert(base_nm_minimize(2, x, lo, hi, &o, rosenbrock, NULL, &r));
    cr_expect_float_eq(x[0], 1.0, 1e-3);
    cr_expect_float_eq(x[1], 1.0, 2e-3);
}

Test(optim, stays_in_the_box_and_finds_the_boundary_minimum)
{
    /* the minimum (1, -2, 0.5) is outside x1 ≥ -1: the box's best is (1, -1, 0.5) */
    double x[3] = {0, 0, 0}, lo[3] = {-5, -1, -5}, hi[3] = {5, 5, 5};
    probe p = {.seen_lo = {9, 9, 9}, .seen_hi = {-9, -9, -9}};
    base_nm_opts o = {.max_evals = 500, .step = 0.5, .ftol = 1e-12, .xtol = 1e-8};
    base_nm_result r;
    cr_assert(base_nm_minimize(3, x, lo, hi, &o, quad, &p, &r));
    cr_expect_geq(p.seen_lo[1], -1.0);
    cr_expect_float_eq(x[1], -1.0, 1e-6);
    cr_expect_float_eq(x[0], 1.0, 1e-2);
    cr_expect_float_eq(r.f, 3.0, 1e-3);
}

Test(optim, deterministic_and_budgeted)
{
    double a[3] = {0, 0, 0}, b[3] = {0, 0, 0}, lo[3] = {-5, -5, -5}, hi[3] = {5, 5, 5};
    probe p = {.seen_lo = {9, 9, 9}, .seen_hi = {-9, -9, -9}};
    base_nm_opts o = {.max_evals = 20, .step = 0.5, .ftol = 0, .xtol = 0};
    base_nm_result ra, rb;
    cr_assert(base_nm_minimize(3, a, lo, hi, &o, quad, &p, &ra));
    cr_assert(base_nm_minimize(3, b, lo, hi, &o, quad, &p, &rb));
    cr_expect(!ra.converged);
    cr_expect_eq(ra.evals, rb.evals);
    /* a shrink may use up to n evaluations past the budget check */
    cr_expect_leq(ra.evals, 20 + 3);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(a[i], b[i]);
}

Test(optim, abort_stops_the_search)
{
    double x[3] = {0, 0, 0}, lo[3] = {-5, -5, -5}, hi[3] = {5, 5, 5};
    probe p = {.seen_lo = {9, 9, 9}, .seen_hi = {-9, -9, -9}, .abort_at = 7};
    base_nm_opts o = {.max_evals = 400, .step = 0.5, .ftol = 1e-12, .xtol = 1e-7};
    base_nm_result r;
    cr_expect(!base_nm_minimize(3, x, lo, hi, &o, quad, &p, &r));
    cr_expect_eq(p.calls, 7);
}
