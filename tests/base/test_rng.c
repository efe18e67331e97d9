/* tests/base/test_rng.c: sim_rng moments against their closed forms for fixed seeds, stream
 * independence, alias-table frequencies. Tolerances are ~5 standard errors, so a correct
 * sampler passes for essentially any seed and a biased one fails. */
#include <math.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/rng.h"

#define N 200000

typedef double (*draw_fn)(sim_rng *r, const double *p);

static void
moments(draw_fn f, const double *p, uint64_t seed, double *mean, double *var)
{
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double x = f(&r, p);
        s += x;
        s2 += x * x;
    }
    *mean = s / N;
    *var = s2 / N - *mean * *mean;
}

static void
check(draw_fn f, const double *p, double mu, double var, double var_rel_tol)
{
    double m, v;
    moments(f, p, 12345, &m, &v);
    double se = sqrt(var / N);
    cr_expect(fabs(m - mu) < 5 * se, "mean %.6f expected %.6f (se %.2g)", m, mu, se);
    cr_expect(fabs(v - var) < var_rel_tol * var, "var %.6f expected %.6f", v, var);
}

static double
d_uniform(sim_rng *r, const double *p)
{
    (void)p;
    return sim_rng_uniform(r);
}

static double
d_exp(sim_rng *r, const double *p)
{
    return sim_rng_exponential(r, p[0]);
}

static double
d_normal(sim_rng *r, const double *p)
{
    return sim_rng_normal(r, p[0], p[1]);
}

static double
d_lognormal(sim_rng *r, const double *p)
{
    return sim_rng_lognormal(r, p[0], p[1]);
}

static double
d_gamma(sim_rng *r, const double *p)
{
    return sim_rng_gamma(r, p[0], p[1]);
}

static double
d_geom(sim_rng *r, const double *p)
{
    return (double)sim_rng_geometric(r, p[0]);
}

static double
d_weibull(sim_rng *r, const double *p)
{
    return sim_rng_weibull(r, p[0], p[1]);
}

static double
d_zipf(sim_rng *r, const double *p)
{
    return (double)sim_rng_zipf(r, (uint64_t)p[0], p[1]);
}

Test(rng, uniform_has_mean_half_and_variance_one_twelfth)
{
    check(d_uniform, NULL, 0.5, 1.0 / 12, 0.02);
}

Test(rng, exponential_moments)
{
    double p[] = {2.0};
    check(d_exp, p, 0.5, 0.25, 0.05);
}

Test(rng, normal_moments)
{
    double p[] = {3.0, 2.0};
    check(d_normal, p, 3.0, 4.0, 0.03);
}

Test(rng, lognormal_moments)
{
    double p[] = {0.0, 0.5};
    double mu = exp(0.125), var = (exp(0.25) - 1) * exp(0.25);
    check(d_lognormal, p, mu, var, 0.08);
}

Test(rng, gamma_moments_shape_above_one)
{
    double p[] = {5.0, 0.5};
    check(d_gamma, p, 2.5, 1.25, 0.05);
}

Test(rng, gamma_moments_shape_below_one)
{
    double p[] = {0.3, 2.0};
    check(d_gamma, p, 0.6, 1.2, 0.1);
}

Test(rng, geometric_counts_trials_to_first_success)
{
    double p[] = {0.2};
    check(d_geom, p, 5.0, 20.0, 0.06);
    sim_rng r;
    sim_rng_init(&r, 1, SIM_STREAM_TEST);
    for (int i = 0; i < 1000; i++)
        cr_assert(sim_rng_geometric(&r, 0.5) >= 1);
}

Test(rng, weibull_moments)
{
    double p[] = {2.0, 1.0}; /* mean Γ(1.5) = √π/2, var 1 − π/4 */
    check(d_weibull, p, sqrt(G_PI) / 2, 1 - G_PI / 4, 0.04);
}

Test(rng, zipf_matches_exact_pmf)
{
    const uint64_t n = 100;
    const double s = 1.2;
    double z = 0, m1 = 0, m2 = 0;
    for (uint64_t k = 1; k <= n; k++) {
        double w = pow((double)k, -s);
        z += w;
        m1 += (double)k * w;
        m2 += (double)k * (double)k * w;
    }
    m1 /= z;
    m2 /= z;
    double p[] = {(double)n, s};
    check(d_zipf, p, m1, m2 - m1 * m1, 0.05);
    /* P(1) = 1/z */
    sim_rng r;
    sim_rng_init(&r, 7, SIM_STREAM_TEST);
    int ones = 0;
    for (int i = 0; i < N; i++) {
        uint64_t k = sim_rng_zipf(&r, n, s);
        cr_assert(k >= 1 && k <= n);
        ones += k == 1;
    }
    double p1 = 1.0 / z, se = sqrt(p1 * (1 - p1) / N);
    cr_expect(fabs((double)ones / N - p1) < 5 * se, "P(1) %.4f expected %.4f", (double)ones / N,
              p1);
}

Test(rng, below_is_unbiased_and_in_range)
{
    sim_rng r;
    sim_rng_init(&r, 3, SIM_STREAM_TEST);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t k = sim_rng_below(&r, 7);
        cr_assert(k < 7);
        counts[k]++;
    }
    for (int k = 0; k < 7; k++)
        cr_expect(fabs(counts[k] - 10000.0) < 5 * sqrt(10000 * 6.0 / 7), "bucket %d: %d", k,
                  counts[k]);
}

Test(rng, alias_frequencies_follow_weights)
{
    double w[] = {1, 2, 3, 4, 0};
    sim_alias *a = sim_alias_new(w, 5);
    cr_assert_not_null(a);
    sim_rng r;
    sim_rng_init(&r, 11, SIM_STREAM_TEST);
    int c[5] = {0};
    for (int i = 0; i < N; i++)
        c[sim_alias_draw(a, &r)]++;
    for (int k = 0; k < 5; k++) {
        double p = w[k] / 10.0, se = sqrt(p * (1 - p) / N) + 1e-12;
        cr_expect(fabs((double)c[k] / N - p) <= 5 * se, "k=%d freq %.4f p %.4f", k,
                  (double)c[k] / N, p);
    }
    cr_expect_eq(c[4], 0);
    sim_alias_free(a);
    double bad[] = {-1, 2};
    cr_expect_null(sim_alias_new(bad, 2));
    double zero[] = {0, 0};
    cr_expect_null(sim_alias_new(zero, 2));
}

Test(rng, streams_are_independent_of_each_others_use)
{
    sim_rng a1, a2, b;
    sim_rng_init(&a1, 99, 1);
    sim_rng_init(&a2, 99, 1);
    sim_rng_init(&b, 99, 2);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_rng_u64(&a1);
        /* interleave arbitrary use of another stream */
        for (int k = 0; k < i % 5; k++)
            (void)sim_rng_normal(&b, 0, 1);
        cr_assert_eq(x, sim_rng_u64(&a2));
    }
}

Test(rng, different_streams_and_seeds_differ_and_are_uncorrelated)
{
    sim_rng a, b, c;
    sim_rng_init(&a, 5, 1);
    sim_rng_init(&b, 5, 2);
    sim_rng_init(&c, 6, 1);
    double sab = 0, sac = 0;
    int same = 0;
    for (int i = 0; i < N; i++) {
        double x = sim_rng_uniform(&a) - 0.5, y = sim_rng_uniform(&b) - 0.5,
               z = sim_rng_uniform(&c) - 0.5;
        sab += x * y;
        sac += x * z;
        same += x == y;
    }
    double se = (1.0 / 12) / sqrt(N); /* sd of the product mean */
    cr_expect(fabs(sab / N) < 5 * se);
    cr_expect(fabs(sac / N) < 5 * se);
    cr_expect_eq(same, 0);
}

Test(rng, known_first_outputs_are_stable)
{
    /* Pin the stream construction so outputs stay byte-identical across versions: the values
     * below are xoshiro256** from the documented seeding (recomputed independently via the
     * splitmix64 reference constants in this test). */
    uint64_t sm = 0;
    uint64_t seedmix = sim_splitmix64(&sm); /* sim_mix64(0) */
    cr_assert_eq(seedmix, sim_mix64(0));
    cr_assert_eq(sim_mix64(0), UINT64_C(0xE220A8397B1DCDAF)); /* splitmix64 reference value */
    /* xoshiro256** from state {1,2,3,4}: rotl(2·5, 7)·9 = 11520 (reference implementation). */
    sim_rng r = {{1, 2, 3, 4}, 0, false};
    cr_assert_eq(sim_rng_u64(&r), UINT64_C(11520));
    cr_assert_eq(sim_rng_u64(&r), UINT64_C(0));
}

Test(rng, shuffle_is_a_permutation)
{
    int v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i;
    sim_rng r;
    sim_rng_init(&r, 1, 1);
    sim_rng_shuffle(&r, v, 100, sizeof v[0]);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[v[i]]++;
        moved += v[i] != i;
    }
    for (int i = 0; i < 100; i++)
        cr_assert_eq(seen[i], 1);
    cr_expect_gt(moved, 50);
}
