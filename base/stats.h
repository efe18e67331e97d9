/* base/stats.h: descriptive statistics with NumPy's definitions (docs/domain.md §6): linear-
 * interpolated percentiles, population mean, sample std (ddof 0, as numpy.std). */
#pragma once

#include <stddef.h>

void base_sort_doubles(double *x, size_t n);
/* Percentile P in [0,100] of sorted X (n > 0): r = p/100·(n−1),
 * x[⌊r⌋] + (r − ⌊r⌋)(x[⌈r⌉] − x[⌊r⌋]). Returns NAN for n == 0. */
double base_percentile_sorted(const double *x, size_t n, double p);

typedef struct base_summary {
    size_t n;
    double mean, std, min, max;
    double p50, p90, p95, p99;
} base_summary;

/* Sorts X in place and fills S (NANs for n == 0). std is numpy's (ddof = 0). */
void base_summarize(double *x, size_t n, base_summary *s);

/* Welford running moments, for values that are not kept. */
typedef struct base_moments {
    size_t n;
    double mean, m2, min, max;
} base_moments;

void base_moments_add(base_moments *m, double x);
double base_moments_std(const base_moments *m); /* population std (ddof = 0) */
double base_moments_cv(const base_moments *m);  /* std / mean */
