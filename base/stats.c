/* base/stats.c: percentiles and moments. Sorting uses a total order on doubles (NaNs last)
 * so results do not depend on qsort's treatment of incomparable elements. */
#include "base/stats.h"

#include <math.h>
#include <stdlib.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

void
base_sort_doubles(double *x, size_t n)
{
    if (n > 1)
        qsort(x, n, sizeof *x, cmp_double);
}

double
base_percentile_sorted(const double *x, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0.0)
        return x[0];
    if (p >= 100.0)
        return x[n - 1];
    double r = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(r);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return x[lo] + (r - (double)lo) * (x[hi] - x[lo]);
}

void
base_summarize(double *x, size_t n, base_summary *s)
{
    s->n = n;
    if (n == 0) {
        s->mean = s->std = s->min = s->max = NAN;
        s->p50 = s->p90 = s->p95 = s->p99 = NAN;
        return;
    }
    base_sort_doubles(x, n);
    base_moments m = {0};
    for (size_t i = 0; i < n; i++)
        base_moments_add(&m, x[i]);
    s->mean = m.mean;
    s->std = base_moments_std(&m);
    s->min = x[0];
    s->max = x[n - 1];
    s->p50 = base_percentile_sorted(x, n, 50);
    s->p90 = base_percentile_sorted(x, n, 90);
    s->p95 = base_percentile_sorted(x, n, 95);
    s->p99 = base_percentile_sorted(x, n, 99);
}

void
base_moments_add(base_moments *m, double x)
{
    m->n++;
    if (m->n == 1) {
        m->mean = m->min = m->max = x;
        m->m2 = 0.0;
        return;
    }
    double d = x - m->mean;
    m->mean += d / (double)m->n;
    m->m2 += d * (x - m->mean);
    if (x < m->min)
        m->min = x;
    if (x > m->max)
        m->max = x;
}

double
base_moments_std(const base_moments *m)
{
    return m->n > 0 ? sqrt(m->m2 / (double)m->n) : (double)NAN;
}

double
base_moments_cv(const base_moments *m)
{
    return m->n > 0 && m->mean != 0.0 ? base_moments_std(m) / m->mean : (double)NAN;
}
