/* tests/sweep/test_pareto.c: Pareto fronts against a brute-force definition (no other point at
 * least as good in both objectives and better in one) on seeded random sets with many ties,
 * plus hand-checked small cases. */
#include <math.h>

#include <criterion/criterion.h>

#include "base/rng.h"
#include "sweep/pareto.h"

static bool
better_or_equal(double x, double y, bool maximize)
{
    return maximize ? x >= y : x <= y;
}

static bool
strictly_better(double x, double y, bool maximize)
{
    return maximize ? x > y : x < y;
}

static void
brute(size_t n, sw_objective a, sw_objective b, const bool *el, bool *front)
{
    for (size_t i = 0; i < n; i++) {
        front[i] = el[i] && !isnan(a.v[i]) && !isnan(b.v[i]);
        for (size_t j = 0; j < n && front[i]; j++) {
            if (j == i || !el[j] || isnan(a.v[j]) || isnan(b.v[j]))
                continue;
            if (better_or_equal(a.v[j], a.v[i], a.maximize) &&
                better_or_equal(b.v[j], b.v[i], b.maximize) &&
                (strictly_better(a.v[j], a.v[i], a.maximize) ||
                 strictly_better(b.v[j], b.v[i], b.maximize)))
                front[i] = false;
        }
    }
}

Test(pareto, matches_brute_force_on_random_sets_with_ties)
{
    sim_rng r;
    sim_rng_init(&r, 7, SIM_STREAM_TEST);
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + sim_rng_below(&r, 40);
        double a[40], b[40];
        bool el[40], f[40], g[40];
        for (size_t i = 0; i < n; i++) {
            a[i] = (double)(sim_rng_below(&r, 8)); /* few values: many ties */
            b[i] = (double)(sim_rng_below(&r, 8));
            if (sim_rng_below(&r, 10) == 0)
                b[i] = NAN;
            el[i] = sim_rng_below(&r, 6) != 0;
        }
        for (int mode = 0; mode < 4; mode++) {
            sw_objective oa = {a, mode & 1}, ob = {b, (mode >> 1) & 1};
            sw_pareto_front(n, oa, ob, el, f);
            brute(n, oa, ob, el, g);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(f[i], g[i], "trial %d mode %d point %zu (%g, %g)", trial, mode, i,
                             a[i], b[i]);
        }
    }
}

Test(pareto, throughput_against_latency_by_hand)
{
    /* (tok/s per GPU, TTFT p99 ms): B dominates A; C and D trade off; E duplicates D */
    double tput[] = {100, 120, 200, 90, 90};
    double ttft[] = {300, 250, 400, 100, 100};
    bool f[5];
    sw_pareto_front(5, (sw_objective){tput, true}, (sw_objective){ttft, false}, NULL, f);
    cr_expect_not(f[0]);
    cr_expect(f[1]);
    cr_expect(f[2]);
    cr_expect(f[3]);
    cr_expect(f[4]);
}
