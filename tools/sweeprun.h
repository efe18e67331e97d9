/* tools/sweeprun.h: what `sweep` and `search` share: their settings schema (the run's settings
 * plus the sweep / search sections) and the options of an SLA-limit search (sweepopts.c), the
 * points and their checks (sweeppoints.c), and the parallel execution of points, each an
 * independent simulation through runner_run_e, with progress on stderr (sweeprun.c).
 *
 * Work is split into tasks: per point, the base task (seed, step times as modelled), one task
 * per extra replicate seed (seed + r) and, with an error band, two tasks with step times
 * scaled by 1 + band and 1 − band. Tasks run on -j worker threads that claim the next task
 * with an atomic counter; results land in each task's own slot and are read after the threads
 * are joined, so outputs do not depend on -j or on timing. (Not a GThreadPool: its queue
 * synchronises through futex-based GMutex, invisible to ThreadSanitizer, which would then
 * report false races; thread creation/join and atomics give TSan-visible ordering.) */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/opts.h"
#include "sim/config.h"
#include "sweep/axes.h"
#include "sweep/findmax.h"
#include "sweep/slo.h"
#include "timemodel/memory.h"

/* The sweep section (sweep.*): axes and the SLA-limit search. */
typedef struct sr_sweep_opts {
    char **axes;        /* sweep.axes / --sweep NAME=VALUES */
    char *find_max;     /* sweep.find_max / --find-max rate|concurrency; NULL = none */
    char **slo;         /* sweep.slo / --slo */
    double tolerance;   /* sweep.tolerance: relative width of the final bracket */
    double start;       /* sweep.find_max_start; NAN = a roofline estimate per point */
    double min, max;    /* sweep.find_max_min / find_max_max; NAN = defaults by load kind */
    int64_t replicates; /* sweep.replicates: seeds per point (find-max) */
    char *band;         /* sweep.band: auto | none | fraction */
    bool early_stop;    /* sweep.early_stop: stop probes that provably break an SLO */
} sr_sweep_opts;

/* The search section (search.*). */
typedef struct sr_search_opts {
    char **axes;         /* search.axes / --axis NAME=VALUES */
    int64_t gpus;        /* search.gpus / --gpus: GPU budget */
    char **price;        /* search.price / --price NAME=USD/h */
    char *prices;        /* search.prices / --prices FILE */
    bool estimate_prune; /* search.estimate_prune: drop configs whose estimate bounds break */
} sr_search_opts;

/* Command-line-only options of both commands. */
typedef struct sr_cli_opts {
    int64_t jobs;    /* --jobs / -j; unset = processors */
    char *shard;     /* --shard K/N */
    char *keep_runs; /* --keep-runs DIR */
} sr_cli_opts;

/* Everything `sweep` and `search` parse. cfg must stay first (its tables sit at offset 0). */
typedef struct sr_args {
    sim_config cfg;
    sr_sweep_opts sweep;
    sr_search_opts search;
    sr_cli_opts cli;
} sr_args;

/* Schema storage: the sweep, search and CLI tables, then the run's (time model, workload and
 * simulator tables; the simulator's reserved "sweep" and "search" rows are left out). */
enum { SR_MAX_TABLES = 12 }; /* sweep, search, execution + the run's tables */

typedef struct sr_schema {
    base_opt_table tables[SR_MAX_TABLES];
    base_opt sim_rows[64];
    base_opt_set set;
    base_opt_table help_tables[SR_MAX_TABLES];
    base_opt sweep_help_rows[16]; /* search's help: the sweep rows without --sweep */
    base_opt_set help; /* the command's own flags first; sweep's help leaves out search's */
} sr_schema;

void sr_schema_init(sr_schema *s, bool search);
/* Defaults, then --config files (JSON with every section), then flags; "-j N" / "-jN" are
 * accepted for --jobs. Positional arguments are errors. */
gboolean sr_args_parse(sr_args *a, const sr_schema *s, int argc, char **argv, GError **error);
void sr_args_clear(sr_args *a, const sr_schema *s);
/* The axis specs of AXES (sweep.axes or search.axes) as written: the flag parser splits list
 * settings at commas, so pieces without "=" are values of the axis before them and are joined
 * back ("max_num_seqs=64", "128" → "max_num_seqs=64,128"). transfer full (NULL-terminated). */
char **sr_axis_specs(char *const *axes);

/* ---- running points -------------------------------------------------------------------- */

typedef enum { SR_PLAIN, SR_FIND_RATE, SR_FIND_CONCURRENCY } sr_mode;

typedef struct sr_params {
    sr_mode mode;
    sw_slo slo;
    sw_findmax_params fm;
    bool start_auto;       /* no --find-max-start: each point starts at its estimate */
    bool early_stop;       /* stop probes that provably break an SLO (sr_points_prepare) */
    int replicates;        /* ≥ 1 */
    double band;           /* explicit band fraction; NAN = auto (calibration); < 0 = none */
    int jobs;              /* ≥ 1 */
    const char *keep_runs; /* NULL = keep nothing */
    bool progress;         /* progress line on stderr */
    const char *what;      /* "sweep" or "search" (progress text) */
} sr_params;

/* Resolves the SLA-limit options of A into P (mode, SLO, find-max parameters, replicates,
 * band) and the CLI options (jobs, keep-runs). One-line errors for bad values. */
gboolean sr_params_from_args(sr_params *p, const sr_args *a, GError **error);
/* The definition of P for the sweep id and the meta line. transfer full. */
json_t *sr_params_to_json(const sr_params *p);

typedef struct sr_outcome {
    sw_findmax_result fm;
    bool have_lo, have_hi;
    sw_metrics lo, hi; /* find-max: metrics at the limit and at the first load that broke */
    int hi_binding;    /* find-max: the SLO term that broke at hi (−1: none) */
    bool hi_stopped;   /* the probe at hi stopped early (its metrics are partial) */
    sw_metrics m;      /* plain: the run's metrics */
    bool slo_ok;       /* plain: every SLO met (true without SLOs) */
    int binding;       /* plain: the term closest to (or furthest past) its bound; −1 */
    bool ran;          /* the task ran (band tasks are skipped without a band) */
} sr_outcome;

typedef struct sr_point {
    uint64_t index;  /* point number in the outputs */
    sim_config cfg;  /* its configuration (owned; sr_point_clear frees it) */
    char *label;     /* "rate=5, max_num_seqs=64" for messages (owned) */
    double band;     /* band fraction for this point; NAN = none (sr_point_resolve_band) */
    double start;    /* find-max start for this point; NAN = the sweep's (sr_point_estimate) */
    uint64_t nreq;   /* requests its workload sends whatever the load; 0 = unknown */
    sr_outcome *out; /* [replicates + 2] after sr_run: base, seeds 1.., slow, fast */
} sr_point;

void sr_point_clear(sr_point *pt);
/* PT = BASE with grid point GI of G applied (axes set through the run schema); INDEX is its
 * output number. The label lists the axis values. */
gboolean sr_point_init(sr_point *pt,
                       const sim_config *base,
                       const sw_grid *g,
                       uint64_t gi,
                       uint64_t index,
                       GError **error);
/* Checks that PT can be simulated: the time model resolves (the parallel layout divides the
 * model, the weights fit on a GPU) and the memory plan fits (unless num_gpu_blocks_override
 * sizes the KV cache). *NO_FIT (may be NULL) tells a memory shortfall from other errors;
 * PLAN (may be NULL) receives the memory plan. */
gboolean sr_point_check(const sr_point *pt, tm_memory_plan *plan, bool *no_fit, GError **error);
/* The base configuration as JSON for a sweep definition: every run setting except outputs.*
 * (which do not change results). transfer full. */
json_t *sr_base_json(const sim_config *base);
/* Sets PT->band from P (auto: the calibration's CV MAPE of PT's time model, NAN if none). */
gboolean sr_point_resolve_band(sr_point *pt, const sr_params *p, GError **error);

/* Mean prompt and output lengths of a workload (the first 100,000 requests). */
typedef struct sr_workload_stats {
    double prompt_mean, output_mean;
    uint64_t requests;
} sr_workload_stats;

/* Reads CFG's workload once for its mean lengths. */
gboolean sr_workload_stats_read(const sim_config *cfg, sr_workload_stats *out, GError **error);
/* Sets PT->start to a roofline estimate of the load PT sustains under P's SLOs, so the
 * bracketing starts near the limit: B = the largest batch whose decode step (at the mean
 * context) stays within 80 % of the tightest TPOT/ITL bound, capped by max_num_seqs and the
 * KV cache; rate = replicas · B / (output_mean · t_decode(B) + B · prompt_mean · t_prefill per
 * token); concurrency = replicas · B. Only the speed of the search depends on it (the limit is
 * where the SLOs break); it is a pure function of the point and WS, so shards agree. Leaves
 * PT->start NAN when the time model cannot be built. */
void sr_point_estimate(sr_point *pt, const sr_params *p, const sr_workload_stats *ws);

/* Before sr_run in find-max mode: reads BASE's workload once; sets each point's start (with
 * start_auto) and its request count NREQ when it cannot depend on the load or the point
 * (WORKLOAD_VARIES: some axis changes workload settings; and no warm-up, cool-down, time
 * window, start offset, stages or over-length rejection), which enables stopping a probe as
 * soon as an SLO is provably broken: with N requests, a p-th percentile over n ≤ N of them
 * exceeds B once N − ⌊p/100·(N − 1)⌋ values exceed B (x_⌊r⌋ > B, and that count does not
 * decrease with n); a mean exceeds B once the observed sum exceeds B·N. TTFT is known at the
 * first token, TPOT and E2EL at completion; ITL, goodput and failure bounds never stop a run. */
gboolean sr_points_prepare(const sr_params *p,
                           const sim_config *base,
                           bool workload_varies,
                           sr_point *points,
                           guint n,
                           GError **error);

/* Runs every task of POINTS. On failure (a simulation error) returns the exit code (1 or 2)
 * and the first error in point order in ERROR, prefixed by the point's label. */
int sr_run(const sr_params *p, sr_point *points, guint n, GError **error);

/* Row helpers. Axis value V of A as a typed JSON value (integer, real, boolean or string). */
json_t *sr_axis_value_json(const sw_axis *a, const char *v);
/* Appends the outcome columns of PT to ROW: plain (slo_met, binding, metrics) or find-max
 * (limit, its status, binding, bracket, probes, band, seeds, metrics at the limit). */
void sr_outcome_to_json(const sr_params *p, const sr_point *pt, json_t *row);
/* The same keys as sr_outcome_to_json, every value null (a configuration never simulated). */
void sr_null_outcome_to_json(const sr_params *p, json_t *row);
/* The limit load of a find-max point (0 when none) and its metrics (NULL when none). */
double sr_limit(const sr_point *pt, const sw_metrics **at);
