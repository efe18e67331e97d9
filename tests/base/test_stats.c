/* tests/base/test_stats.c: percentiles follow NumPy's linear interpolation; values below were
 * computed by hand from r = p/100·(n−1). */
#include <math.h>

#include <criterion/criterion.h>

#include "base/stats.h"

Test(stats, percentile_linear_interpolation_matches_numpy)
{
    double x[] = {15, 20, 35, 40, 50};
    /* numpy.percentile([15,20,35,40,50], 40) = 29 (r = 1.6: 20 + 0.6·15) */
    cr_expect_float_eq(base_percentile_sorted(x, 5, 40), 29.0, 1e-12);
    cr_expect_float_eq(base_percentile_sorted(x, 5, 50), 35.0, 1e-12);
    cr_expect_float_eq(base_percentile_sorted(x, 5, 0), 15.0, 1e-12);
    cr_expect_float_eq(base_percentile_sorted(x, 5, 100), 50.0, 1e-12);
    /* r = 0.99·4 = 3.96: 40 + 0.96·10 = 49.6 */
    cr_expect_float_eq(base_percentile_sorted(x, 5, 99), 49.6, 1e-12);
    cr_expect(isnan(base_percentile_sorted(x, 0, 50)));
}

Test(stats, summarize_sorts_and_uses_population_std)
{
    double x[] = {4, 1, 3, 2};
    base_summary s;
    base_summarize(x, 4, &s);
    cr_expect_eq(x[0], 1.0);
    cr_expect_float_eq(s.mean, 2.5, 1e-12);
    cr_expect_float_eq(s.std, sqrt(1.25), 1e-12); /* numpy.std([1,2,3,4]) */
    cr_expect_float_eq(s.p50, 2.5, 1e-12);
    cr_expect_float_eq(s.p90, 3.7, 1e-12);
    cr_expect_eq(s.min, 1.0);
    cr_expect_eq(s.max, 4.0);
}

Test(stats, welford_matches_two_pass)
{
    base_moments m = {0};
    double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (int i = 0; i < 8; i++)
        base_moments_add(&m, v[i]);
    cr_expect_float_eq(m.mean, 5.0, 1e-12);
    cr_expect_float_eq(base_moments_std(&m), 2.0, 1e-12);
    cr_expect_float_eq(base_moments_cv(&m), 0.4, 1e-12);
    cr_expect_eq(m.min, 2.0);
    cr_expect_eq(m.max, 9.0);
}
