/* sweep/pareto.h: Pareto fronts over two objectives (throughput per GPU vs a latency, cost vs
 * latency). A point is on the front when no other eligible point is at least as good in both
 * objectives and strictly better in one; points with a missing (NAN) objective are not
 * eligible. Equal points are all on the front. O(n log n): sort by the first objective, sweep
 * the second. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_objective {
    const double *v; /* n values */
    bool maximize;   /* larger is better (throughput); else smaller is better (latency, cost) */
} sw_objective;

/* FRONT[i] = point i is on the front of (A, B) among the points with ELIGIBLE[i] (NULL = all). */
void sw_pareto_front(size_t n, sw_objective a, sw_objective b, const bool *eligible, bool *front);
