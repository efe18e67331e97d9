/* base/optim.h: a bounded, deterministic Nelder–Mead simplex search for small derivative-free
 * problems (`calibrate --from-runs` fits ≤ 8 parameters, each evaluation a full simulation).
 * The caller chooses the coordinates (log-scaled parameters, say); the search stays inside the
 * box [lo, hi] by projecting every trial point onto it. No randomness: the same start, box and
 * options give the same sequence of evaluations. */
#pragma once

#include <stdbool.h>

#define BASE_NM_MAX_DIM 16

/* Objective at X (n coordinates). Returns false to abort the search (the evaluation failed);
 * otherwise stores the value in *F (smaller is better; +inf is allowed). */
typedef bool (*base_nm_fn)(const double *x, void *ctx, double *f);

typedef struct base_nm_opts {
    int max_evals; /* evaluation budget (≥ n + 1) */
    double step;   /* initial simplex edge, in the caller's coordinates, per axis */
    double ftol;   /* stop when max f − min f over the simplex ≤ ftol */
    double xtol;   /* ... or when every vertex is within xtol of the best on every axis */
} base_nm_opts;

typedef struct base_nm_result {
    double f;       /* best value found */
    int evals;      /* evaluations used */
    bool converged; /* a tolerance was met (false: the budget ran out) */
} base_nm_result;

/* Minimises FN over the box [LO, HI] (n ≤ BASE_NM_MAX_DIM axes, lo < hi) from X, which
 * receives the best point. The initial simplex is X plus O->step along each axis (minus, where
 * plus leaves the box). Returns false if FN aborted (X then holds the best point so far). */
bool base_nm_minimize(int n,
                      double *x,
                      const double *lo,
                      const double *hi,
                      const base_nm_opts *o,
                      base_nm_fn fn,
                      void *ctx,
                      base_nm_result *res);
