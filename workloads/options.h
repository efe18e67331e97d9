/* workloads/options.h: settings that select and shape the request stream (source, format,
 * synthetic generator, transforms), described once as a base_opt table (base/opts.h).
 * Strings are owned (freed by base_opts_clear). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/opts.h"

typedef struct wl_options {
    char *source;         /* file path, embedded sample name, or NULL = embedded default */
    char *format;         /* "auto" = detect from content */
    json_t *spec;         /* inline workload spec (inference-perf style), or NULL */
    char *arrival;        /* synthetic arrivals: poisson | gamma | constant */
    double rate;          /* target mean request rate (req/s); NAN = as the source says */
    double burstiness;    /* gamma shape; 1.0 = Poisson (vLLM bench semantics) */
    int64_t num_requests; /* synthetic request count / cap; unset = source length */
    int64_t max_concurrency; /* in-flight cap (vLLM --max-concurrency); unset = none */
    char *input_len;      /* synthetic prompt length distribution, e.g. "fixed:512" */
    char *output_len;     /* synthetic output length distribution */
    double time_scale;    /* multiply inter-arrival times */
    double start_s;       /* skip arrivals before this time (s, after scaling) */
    double duration_s;    /* keep arrivals within this window (s); NAN = all */
    int64_t limit;        /* keep at most this many requests; unset = all */
    bool shuffle;         /* seeded shuffle of request order (lengths), keeping arrival times */
    bool skip_bad_rows;   /* count and skip malformed rows instead of failing */
} wl_options;

extern const base_opt_table wl_options_table;
