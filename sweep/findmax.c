/* sweep/findmax.c: bracketing by a constant factor, then bisection (see findmax.h). Every
 * probe decision is a pure function of the previous answers, so the sequence of probed loads
 * is deterministic for deterministic probes. */
#include "sweep/findmax.h"

#include <math.h>

#define MAX_PROBES 400 /* a safety net: doubling 1e-9..1e9 and bisecting to 1e-6 takes < 200 */

static double
clamp(const sw_findmax_params *p, double x)
{
    if (p->integer)
        x = round(x);
    return fmin(fmax(x, p->min), p->max);
}

static bool
converged(const sw_findmax_params *p, double lo, double hi)
{
    if (p->integer && hi - lo <= 1.0)
        return true;
    /* with a bracket of (1 + tol)^(2^k), k geometric bisections land exactly on the tolerance:
     * allow the rounding of sqrt */
    return hi <= lo * (1.0 + p->rel_tol) * (1.0 + 1e-12);
}

static double
midpoint(const sw_findmax_params *p, double lo, double hi)
{
    if (p->integer)
        return floor((lo + hi) / 2.0);
    return sqrt(lo * hi);
}

gboolean
sw_findmax_run(const sw_findmax_params *p,
               sw_probe_fn probe,
               void *ctx,
               sw_findmax_result *out,
               GError **error)
{
    g_return_val_if_fail(p->min > 0 && p->max >= p->min && p->growth > 1 && p->rel_tol > 0, FALSE);
    *out = (sw_findmax_result){SW_FINDMAX_FOUND, 0.0, (double)NAN, 0};
    double x = clamp(p, p->start);
#define PROBE(load, verdict)                                                                       \
    do {                                                                                           \
        out->probes++;                                                                             \
        verdict = probe(ctx, (load), error);                                                       \
        if (verdict < 0)                                                                           \
            return FALSE;                                                                          \
    } while (0)
    int ok;
    PROBE(x, ok);
    if (ok) {
        out->lo = x;
        for (;;) {
            if (x >= p->max || ok == 2) {
                out->status = SW_FINDMAX_NOT_REACHED;
                return TRUE;
            }
            x = p->integer ? fmin(ceil(x * p->growth), p->max) : fmin(x * p->growth, p->max);
            PROBE(x, ok);
            if (!ok) {
                out->hi = x;
                break;
            }
            out->lo = x;
        }
    } else {
        out->hi = x;
        for (;;) {
            if (x <= p->min) {
                out->status = SW_FINDMAX_NONE;
                return TRUE;
            }
            x = p->integer ? fmax(floor(x / p->growth), p->min) : fmax(x / p->growth, p->min);
            PROBE(x, ok);
            if (ok) {
                out->lo = x;
                break;
            }
            out->hi = x;
        }
    }
    while (!converged(p, out->lo, out->hi) && out->probes < MAX_PROBES) {
        double mid = midpoint(p, out->lo, out->hi);
        if (mid <= out->lo || mid >= out->hi)
            break; /* no representable load strictly inside the bracket */
        PROBE(mid, ok);
        if (ok)
            out->lo = mid;
        else
            out->hi = mid;
    }
#undef PROBE
    return TRUE;
}
