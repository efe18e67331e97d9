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
    bool print_config;     /* print the resolved configuration and stop */
    bool check_invariants; /* KV pool invariant walk after every step */
    bool progress;         /* progress line on stderr */
    bool no_outputs;       /* simulate and compute metrics, write no files (sweeps, bench) */
    bool quiet;            /* no table on stdout */
} runner_flags;

/* What a caller may want back from a run (may be NULL). */
typedef struct runner_result {
    sim_metrics_result metrics; /* overall + copies of nothing else (stages/replicas dropped) */
    sim_cluster_stats cluster;
    uint64_t events;
    uint32_t num_gpu_blocks;
    double sim_seconds; /* simulated time span */
} runner_result;

/* Resolves "auto" settings in CFG in place (scheduler limits, block size, max_model_len) and
 * runs. Returns a CLI exit code (0 ok, 1 runtime failure, 2 bad input). */
int runner_run(sim_config *cfg, const runner_flags *fl, runner_result *out);

/* Extra wiring for callers that bring their own requests or watch the run (`compare`). */
typedef struct runner_hooks {
    /* Simulate these requests instead of opening cfg->wl's source; cfg->wl's transforms and
     * arrival settings (rate, burstiness, max_concurrency) still apply. NULL = cfg->wl. */
    const wl_list *requests;
    /* Called once the engine exists, before the first event (subscribe observers here). */
    void (*subscribe)(void *ctx, sim_engine *e);
    /* Called after a successful run while its full result (stages, replicas) is alive. */
    void (*finished)(void *ctx, const sim_metrics_result *result);
    void *ctx;
} runner_hooks;

/* runner_run with HOOKS (may be NULL). */
int runner_run_ex(sim_config *cfg,
                  const runner_flags *fl,
                  const runner_hooks *hooks,
                  runner_result *out);
