/* report/run_data.h: a run's per-request and per-step files read into what the run view draws
 * (report/run_data.c): the sorted values of each distribution over the requests summary.json
 * describes, and time-weighted sums per time bucket. Memory: 8 bytes per request per
 * distribution (exact quantiles need every value), fixed per bucket otherwise. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "report/internal.h"

/* The distributions read from requests.csv. */
enum { RP_M_TTFT, RP_M_TPOT, RP_M_E2EL, RP_M_QUEUE, RP_M_PROMPT, RP_M_OUTPUT, RP_M_N };

/* Busy fraction over time is drawn per replica up to this many replicas. */
#define RP_MAX_REPLICA_LINES 8

typedef struct rp_vec {
    int64_t *v;
    size_t n, cap;
} rp_vec;

typedef struct rp_reqdata {
    rp_vec m[RP_M_N];        /* the summary's set: successful, inside the exclusion window */
    rp_buckets b;            /* over the replica window */
    double *queued, *qdiff;  /* Σ ns waiting (send → first scheduled) per bucket */
    double *serving, *sdiff; /* Σ ns in service (first scheduled → finish) */
    uint64_t *done, *failed; /* completions / failures by finish bucket */
    uint64_t rows, included;
} rp_reqdata;

typedef struct rp_stepdata {
    size_t nrep;
    double *running, *waiting, *kv; /* Σ value · ns per bucket (all replicas) */
    double *busy;               /* [replica][bucket] Σ busy ns (nrep ≤ RP_MAX_REPLICA_LINES) */
    double *busy_all;           /* Σ busy ns, all replicas */
    uint64_t *prefill, *decode; /* tokens by step-end bucket */
    uint64_t lines;
} rp_stepdata;

/* Buckets over the replica window [T0, T1) ns, zeroed sums. */
void rp__reqdata_init(rp_reqdata *d, int64_t t0, int64_t t1);
void rp__reqdata_clear(rp_reqdata *d);
/* Reads PATH (requests.csv, docs/outputs.md): every row into the time series, and the
 * successful requests sent in [WARM_END, COOL_START) into the distributions, sorted. Errors
 * read "FILE:LINE: column NAME: why"; a file without the columns of this version is
 * RP_ERROR_VERSION. */
gboolean rp__read_requests(
    const char *path, int64_t warm_end, int64_t cool_start, rp_reqdata *d, GError **error);

/* NREP replicas (summary.json replicas[]), buckets B. */
void rp__stepdata_init(rp_stepdata *s, const rp_buckets *b, size_t nrep);
void rp__stepdata_clear(rp_stepdata *s);
/* Reads PATH (steps.jsonl[.gz]) into S; errors read "FILE:LINE: why". */
gboolean rp__read_steps(const char *path, const rp_buckets *b, rp_stepdata *s, GError **error);
