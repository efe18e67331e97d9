/* tools/runner.h: one complete simulation from a sim_config, shared by `run`, `sweep`,
 * `search` and `bench run`: resolve → memory plan → workload → cluster → metrics → outputs.
 * Errors are printed here (one line) and turned into exit codes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sim/cluster.h"
#include "sim/config.h"
#include "sim/metrics.h"
#include "timemodel/setup.h"
#include "timemodel/spec.h"
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

/* Speculative decoding (docs/speculative.md), as runner_run resolves it: parses SPEC_JSON
 * (--speculative-config) for SETUP's model, refuses what is not modelled (SCHEDULER other
 * than vllm/sarathi, NULL = not checked; pipeline parallelism; a draft TP the method cannot
 * have), sets MA's lookahead slots per request and, for a method with a drafter on the GPU,
 * adds the drafter's weights and KV bytes per token to MA and (DRAFT_TM non-NULL) builds the time
 * model of one drafter pass: the target's hardware, dtypes and efficiencies, no per-step overheads
 * (the passes run inside the target's step), tensor parallel as draft_tensor_parallel_size. The
 * caller clears SPEC (tm_spec_config_clear) either way. */
gboolean runner_spec_resolve(json_t *spec_json,
                             const char *scheduler,
                             const tm_setup *setup,
                             tm_spec_config *spec,
                             tm_timemodel **draft_tm,
                             tm_memory_args *ma,
                             GError **error);

/* Prints a one-line warning on stderr when SPEC has settings recorded but not simulated
 * (ngram prompt_lookup_min/max: their effect is only through the acceptance given). */
void runner_spec_warn(const tm_spec_config *spec);

/* What runner_run does to build a pool, for the decode pool of tools/pd.c: fill "auto"
 * scheduler and KV settings of CFG from vLLM's defaults for SETUP's model and GPU; resolve the
 * engine profile, API-server terms and DP lockstep. */
void runner_pool_defaults(sim_config *cfg, tm_setup *setup);
bool runner_pool_engine(const sim_config *cfg,
                        const tm_setup *setup,
                        const tm_timemodel *tm,
                        sim_engine_params *ep,
                        bool *lockstep,
                        GError **error);
