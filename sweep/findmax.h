/* sweep/findmax.h: the largest load (request rate or concurrency) at which a configuration
 * still meets its SLOs, by bracketing and bisection rather than a full grid (docs/domain.md §6,
 * "SLA-limit search"): probe a start load; while it passes, multiply the load by GROWTH until a
 * probe fails (or MAX is reached); if the start fails, divide until one passes (or MIN fails);
 * then bisect the bracket (geometric midpoints for rates, integer midpoints for concurrency)
 * until hi ≤ lo·(1 + rel_tol) (integers: also hi − lo ≤ 1). The search assumes the SLO
 * metrics are monotone in load; callers make probes deterministic (the same seed at every
 * load: common random numbers) so the simulated curve is. Pure: the probe is a callback. */
#pragma once

#include <stdbool.h>

#include <glib.h>

typedef enum {
    SW_FINDMAX_FOUND,       /* lo meets the SLOs, hi breaks them */
    SW_FINDMAX_NOT_REACHED, /* met up to MAX (or up to a probe that answered 2): limit ≥ lo */
    SW_FINDMAX_NONE,        /* MIN already breaks them: lo = 0 */
} sw_findmax_status;

typedef struct sw_findmax_params {
    double start;   /* first load probed (clamped to [min, max]) */
    double min;     /* > 0: lowest load probed */
    double max;     /* ≥ min: highest load probed */
    double growth;  /* > 1: bracketing factor (2 = doubling) */
    double rel_tol; /* > 0: stop when hi ≤ lo·(1 + rel_tol) */
    bool integer;   /* integer loads (concurrency) */
} sw_findmax_params;

/* Runs one probe at LOAD: 1 if the SLOs are met, 0 if not, −1 on error (ERROR set), 2 if they
 * are met and higher loads cannot change the outcome (e.g. a concurrency cap above the number
 * of requests): the search stops there with SW_FINDMAX_NOT_REACHED. */
typedef int (*sw_probe_fn)(void *ctx, double load, GError **error);

typedef struct sw_findmax_result {
    sw_findmax_status status;
    double lo;       /* largest load that met the SLOs (0 if none) */
    double hi;       /* smallest load that broke them (NAN if none) */
    unsigned probes; /* probes run */
} sw_findmax_result;

/* Runs the search. FALSE if a probe failed (ERROR set; OUT holds the bracket so far). */
gboolean sw_findmax_run(const sw_findmax_params *p,
                        sw_probe_fn probe,
                        void *ctx,
                        sw_findmax_result *out,
                        GError **error);
