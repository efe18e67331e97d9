/* tools/runner.h: one complete simulation from a sim_config, shared by `run`, `sweep`,
 * `search` and `bench run`: resolve → memory plan → workload → cluster → metrics → outputs.
 * Errors are printed here (one line) and turned into exit codes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sim/cluster.h"
#include "sim/config.h"
#include "sim/metrics.h"
#include "workloads/workload.h"

typedef struct runner_flags {
    bool print_config;      /* print the resolved configuration and stop */
    bool check_invariants;  /* KV pool invariant walk after every step */
    bool progress;          /* progress line on stderr */
    bool no_outputs;        /* simulate and compute metrics, write no files (sweeps, bench) */
    bool quiet;             /* no table on stdout */
    double step_time_scale; /* step times × this (0 = 1, as modelled): SLA-limit error bands */
    /* Called with the engine before the run, to add observers; one may sim_engine_stop the
     * engine, which ends the run early (the metrics then cover what was simulated). */
    void (*on_engine)(void *ctx, sim_engine *e);
    void *on_engine_ctx;
    /* Simulate these requests instead of opening cfg->wl's source (`compare`: a measured run's
     * requests); cfg->wl's transforms and arrival settings still apply. NULL = cfg->wl. */
    const wl_list *requests;
    /* Called after a successful run while its full result (stages, replicas) is alive. */
    void (*on_result)(void *ctx, const sim_metrics_result *result);
    void *on_result_ctx;
} runner_flags;

/* What a caller may want back from a run (may be NULL). */
typedef struct runner_result {
    sim_metrics_result metrics; /* overall + copies of nothing else (stages/replicas dropped) */
    sim_cluster_stats cluster;
    uint64_t events;
    uint32_t num_gpu_blocks;
    double sim_seconds;   /* simulated time span */
    double busy_fraction; /* mean over replicas of the busy fraction */
    double kv_peak;       /* max over replicas of the peak KV block usage (fraction) */
} runner_result;

/* Resolves "auto" settings in CFG in place (scheduler limits, block size, max_model_len) and
 * runs. Returns a CLI exit code (0 ok, 1 runtime failure, 2 bad input). */
int runner_run(sim_config *cfg, const runner_flags *fl, runner_result *out);
/* The same, for callers that report errors themselves (sweep points on worker threads): prints
 * nothing on failure and returns the message in ERROR with the exit code. */
int runner_run_e(sim_config *cfg, const runner_flags *fl, runner_result *out, GError **error);
