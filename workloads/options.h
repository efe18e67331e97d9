/* workloads/options.h: settings that select and shape the request stream (source, format,
 * synthetic generator, transforms), described once as a base_opt table (base/opts.h).
 * Strings are owned (freed by base_opts_clear). docs/workloads.md explains every row. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/opts.h"

/* Ranges shared by the flags below, workload specs (stages) and the readers, so a value the
 * command line refuses is refused everywhere (docs/workloads.md "Input limits"). */
#define WL_RATE_MIN 1e-9 /* req/s: --rate, stage rates (a stage may also have rate 0: a pause) */
#define WL_RATE_MAX 1e9
/* Latest time (s) an arrival, a window bound, a stage end or a think time may reach: about
 * 127 years, so nanoseconds fit in int64_t with half the range left for the simulation to run
 * past the last arrival (2^63 ns is 292 years). */
#define WL_MAX_TIME_S  4e9
#define WL_MAX_TIME_NS INT64_C(4000000000000000000)
/* Most requests a generator may be asked for (--num-requests; Σ rate × duration of stages). */
#define WL_MAX_REQUESTS 1e12

typedef struct wl_options {
    char *source;            /* file path, embedded sample name, "synthetic", or NULL = default */
    char *format;            /* "auto" = detect from content */
    json_t *spec;            /* inline workload spec (inference-perf style), or NULL */
    char *arrival;           /* synthetic arrivals: poisson | gamma | constant */
    double rate;             /* target mean request rate (req/s); NAN = as the source says */
    double burstiness;       /* gamma shape; 1.0 = Poisson (vLLM bench semantics) */
    int64_t num_requests;    /* synthetic request count / cap; unset = source length */
    int64_t max_concurrency; /* in-flight cap (vLLM --max-concurrency); unset = none */
    char *input_len;         /* synthetic prompt length distribution, e.g. "fixed:512" */
    char *output_len;        /* synthetic output length distribution */
    json_t *stages;         /* load stages: [{rate, duration}] or "RATE:SECONDS,..."; NULL = none */
    int64_t clients;        /* closed-loop clients (each waits for its reply); unset = open loop */
    char *think_time;       /* think time distribution in seconds (sessions, clients) */
    char *turns;            /* synthetic multi-turn sessions: turns per session distribution */
    int64_t prefix_len;     /* synthetic shared prefix (system prompt) tokens; 0 = none */
    int64_t num_prefixes;   /* number of distinct shared prefixes */
    double time_scale;      /* multiply inter-arrival times */
    double start_s;         /* skip arrivals before this time (s, after scaling) */
    double duration_s;      /* keep arrivals within this window (s); NAN = all */
    int64_t limit;          /* keep at most this many requests; unset = all */
    char *over_length;      /* prompt + output > max_model_len: pass | clip | reject */
    bool shuffle;           /* seeded shuffle of request order (lengths), keeping arrival times */
    int64_t shuffle_window; /* requests held by the streaming shuffle */
    bool skip_bad_rows;     /* count and skip malformed rows instead of failing */
    char *burstgpt_model;   /* BurstGPT: keep only this Model (e.g. ChatGPT, GPT-4); NULL = all */
    char *burstgpt_log_type; /* BurstGPT: keep only this Log Type (conversation | api) */
    char *burstgpt_failed;   /* BurstGPT rows with Response tokens 0: skip | prefill */
    char *sharegpt_mode;     /* ShareGPT conversations: full | per_user_turn */
    double bytes_per_token;  /* ShareGPT text: token estimate = ceil(UTF-8 bytes / this) */
    char *servegen_dataset;  /* ServeGen length PMFs; NULL = sibling *-dataset.json */
} wl_options;

extern const base_opt_table wl_options_table;
