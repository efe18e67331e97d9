/* sweep/pareto.c: two-objective Pareto front by sorting on the first objective and sweeping
 * the second (see pareto.h). Objectives are turned into "smaller is better" by negation. */
#include "sweep/pareto.h"

#include <math.h>
#include <stdlib.h>

#include <glib.h>

typedef struct {
    double a, b; /* both minimised */
    size_t i;
} item;

static int
by_a_then_b(const void *x, const void *y)
{
    const item *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

void
sw_pareto_front(size_t n, sw_objective a, sw_objective b, const bool *eligible, bool *front)
{
    item *it = g_new(item, n > 0 ? n : 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        front[i] = false;
        double x = a.v[i], y = b.v[i];
        if ((eligible != NULL && !eligible[i]) || isnan(x) || isnan(y))
            continue;
        it[m++] = (item){a.maximize ? -x : x, b.maximize ? -y : y, i};
    }
    qsort(it, m, sizeof *it, by_a_then_b);
    /* Walking in increasing a (ties by increasing b), a point is dominated iff some earlier
     * point has b strictly smaller, or an earlier point with a strictly smaller a has b equal.
     * Track the best b seen among strictly smaller a (best_prev) and within the current a
     * group (the group's first point has the group's smallest b). */
    double best_prev = (double)INFINITY; /* min b over points with a strictly smaller */
    size_t k = 0;
    while (k < m) {
        size_t g = k;
        double group_min = it[k].b;
        while (g < m && it[g].a == it[k].a)
            g++;
        for (size_t j = k; j < g; j++) {
            /* dominated by a point with smaller a and b ≤ ours, or by one in our group with a
             * strictly smaller b */
            bool dominated = best_prev <= it[j].b || group_min < it[j].b;
            front[it[j].i] = !dominated;
        }
        if (group_min < best_prev)
            best_prev = group_min;
        k = g;
    }
    g_free(it);
}
