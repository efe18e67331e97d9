/* compare/compare.h: measured serving benchmarks set against servesim (docs/compare.md).
 *
 * 1. Read: cmp_read recognises an input from its content (a const table of kinds, like
 *    workloads/detect.c) and returns one cmp_result per benchmark point: the measured figures
 *    (cmp_metrics, per-request figures when the input has them) and what the input records
 *    about the run (model, hardware, engine settings, load, lengths, the requests themselves).
 * 2. Rebuild: cmp_rebuild turns a cmp_result into a servesim configuration and, when the
 *    requests are known one by one, an in-memory workload (wl_list), listing every assumption.
 *    It is a pure function of the result and the flags, so an optimiser can call it once and
 *    simulate the rebuilt run many times with changed time-model settings.
 * 3. Simulate (tools/ does it through tools/runner.c), collecting what the simulation did with
 *    a cmp_sim observer; cmp_mirror then gives the simulated figures with the input's own
 *    definitions (the simulated run is written in the input's format and read back by the
 *    same reader), so measured and simulated figures are like for like.
 * 4. Report: cmp_report_* (measured vs simulated, per-request errors, verdicts; text, JSON,
 *    CSV) and cmp_regress_* (two measured results: change per metric against the noise).
 *
 * Units: latencies in milliseconds, throughputs per second. NAN marks a figure the input does
 * not record. Errors are GError in domain CMP_ERROR with "FILE[:LINE]: why" messages.
 * Ownership: every returned object is transfer full; inputs are borrowed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "sim/config.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "workloads/workload.h"

#define CMP_ERROR (cmp_error_quark())
GQuark cmp_error_quark(void);

typedef enum {
    CMP_ERROR_KIND,     /* input of no known kind */
    CMP_ERROR_PARSE,    /* malformed input */
    CMP_ERROR_INVALID,  /* well-formed but unusable (no metric, unknown model, ...) */
    CMP_ERROR_IO,       /* cannot read */
    CMP_ERROR_UNMODELED /* the run used something servesim does not simulate */
} cmp_error_code;

/* ---- figures ---- */

typedef enum { CMP_TTFT, CMP_TPOT, CMP_ITL, CMP_E2E, CMP_NLAT } cmp_lat;

typedef enum { CMP_MEAN, CMP_P50, CMP_P90, CMP_P95, CMP_P99, CMP_NSTAT } cmp_stat;

typedef enum { CMP_REQ_RATE, CMP_OUT_TOKS, CMP_TOTAL_TOKS, CMP_NTPUT } cmp_tput;

extern const char *const cmp_lat_names[CMP_NLAT + 1];   /* "ttft", "tpot", "itl", "e2e" */
extern const char *const cmp_stat_names[CMP_NSTAT + 1]; /* "mean", "p50", ... */
extern const char *const cmp_tput_names[CMP_NTPUT + 1]; /* "requests_per_s", ... */

typedef struct cmp_metrics {
    double lat_ms[CMP_NLAT][CMP_NSTAT]; /* ms; NAN = not recorded */
    double tput[CMP_NTPUT];             /* req/s, output tok/s, total tok/s; NAN = not recorded */
    double completed, failed;           /* requests; NAN = not recorded */
} cmp_metrics;

void cmp_metrics_init(cmp_metrics *m); /* every figure NAN */
/* True if M holds at least one latency or throughput figure. */
bool cmp_metrics_any(const cmp_metrics *m);

/* Per-request figures, index = the input's request order. Arrays have n entries; a value the
 * request does not have is NAN (TPOT of a 1-token output, anything of a failed request). */
typedef struct cmp_reqs {
    size_t n;
    double *ttft_ms, *tpot_ms, *e2e_ms;
    double *send_s; /* send time from the first send (s); NULL = not recorded */
    uint32_t *input, *output;
    bool *ok;
    GArray *itl_ms; /* double: every gap between streamed chunks, pooled; NULL = not recorded */
} cmp_reqs;

cmp_reqs *cmp_reqs_new(size_t n, bool with_send, bool with_itl);
void cmp_reqs_free(cmp_reqs *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cmp_reqs, cmp_reqs_free)
/* vLLM bench's definitions (docs/domain.md §6) over R: TTFT / E2E over successful requests,
 * TPOT over those with > 1 output token, pooled ITL, NumPy linear percentiles; throughputs over
 * the window first send → last completion when send times are known. Fills the figures of M
 * that are still NAN (recorded aggregates win). */
void cmp_metrics_fill_from_reqs(cmp_metrics *m, const cmp_reqs *r);

/* ---- results ---- */

typedef struct cmp_kind cmp_kind; /* one row of the kinds table (kinds.c) */

const char *cmp_kind_name(const cmp_kind *k);
const char *cmp_kind_what(const cmp_kind *k);
/* The kinds, in detection order (NULL-terminated). */
const cmp_kind *const *cmp_kinds(void);
/* "vllm-bench (vllm bench serve --save-result JSON), inference-perf (...), ..." g_free it. */
char *cmp_kinds_list(void);

/* What a result records about the run; NULL / NAN / BASE_OPT_UNSET_INT = not recorded. */
typedef struct cmp_record {
    char *model;    /* as recorded: Hugging Face id, preset name or path */
    char *hardware; /* as recorded: device or accelerator name */
    char *engine;   /* as recorded: "vLLM 0.19.0", "vLLM-0.10.1" */
    /* Settings the input fixes, as a servesim configuration document (sim/config.h paths,
     * e.g. {"scheduler": {"max_num_seqs": 256}, "workload": {"max_concurrency": 64}}); never
     * model or hardware (they are mapped by cmp_rebuild). Owned, never NULL. */
    json_t *settings;
    /* A servesim export's own settings (its vllm_bench_result.json "servesim_config" or the
     * summary.json next to its lifecycle reports): the run is rebuilt from them alone. */
    json_t *servesim;
    /* The requests one by one (lengths, send times when recorded, content when known), in
     * send order; NULL when the workload is described by settings alone. */
    wl_list *requests;
    /* requests[i] is measured request req_index[i] (n = wl_list_len); NULL when requests is. */
    size_t *req_index;
    GPtrArray *assumed; /* char *: what the reader had to assume to describe the run */
    /* Why the run cannot be simulated as recorded (NULL = it can), and the flag that lifts it
     * when given (NULL = none): e.g. a ramped request rate, unless --rate is given. */
    char *unmodeled;
    const char *unmodeled_unless; /* static settings path, e.g. "workload.rate" */
    /* Nothing records how requests were sent (no send times, rate or concurrency): cmp_rebuild
     * then needs --rate, --max-concurrency, --clients or --stages. */
    bool load_unknown;
} cmp_record;

typedef struct cmp_result {
    const cmp_kind *kind;
    char *where;      /* "FILE" or "FILE:LINE" (a CSV row): prefix of every message */
    char *label;      /* short description for tables */
    cmp_metrics m;    /* measured (or, from cmp_mirror, simulated) figures */
    cmp_reqs *reqs;   /* per-request figures, NULL when the input has none */
    cmp_record rec;   /* what the run was */
    GPtrArray *notes; /* char *: how the figures were read (e.g. "TPOT derived from E2E") */
    json_t *doc;      /* kind-specific: the document the figures came from (for cmp_mirror) */
} cmp_result;

cmp_result *cmp_result_new(const cmp_kind *kind, const char *where);
void cmp_result_free(cmp_result *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cmp_result, cmp_result_free)
void cmp_result_note(cmp_result *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void cmp_result_assume(cmp_result *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

typedef struct cmp_read_opts {
    const char *kind;    /* force a kind by name; NULL = detect from the content */
    bool keep_going;     /* CSV rows that cannot be used are skipped and counted */
    uint64_t seed;       /* for the content of a dataset a run names (LLMServingSim) */
    uint64_t *skipped;   /* out (may be NULL): rows skipped under keep_going */
    GPtrArray *warnings; /* out (may be NULL): char *, "FILE:LINE: why" of each skipped row */
} cmp_read_opts;

/* Reads PATH (a file, or a results directory) into RESULTS (cmp_result *, appended). An input
 * of no known kind is CMP_ERROR_KIND naming the kinds; a result without a usable figure is
 * CMP_ERROR_INVALID ("FILE: no usable metric ..."). */
gboolean cmp_read(const char *path, const cmp_read_opts *opts, GPtrArray *results, GError **error);

/* ---- rebuild ---- */

/* A run rebuilt from a measured result, ready for tools/runner.c. */
typedef struct cmp_run {
    sim_config cfg;          /* every setting (record, then flags), "auto" left to resolve */
    const wl_list *requests; /* borrowed from the result: simulate these, or NULL = cfg.wl */
    const size_t *req_index; /* borrowed: simulated request i is measured req_index[i] */
    GPtrArray *assumptions;  /* char *: every setting that was not recorded, and its value */
    GPtrArray *overrides;    /* char *: recorded settings a flag replaced */
    GPtrArray *unrecorded;   /* char *: paths of key settings nothing recorded (the
                                report prints the value the simulation used) */
    char *model, *hardware;  /* the presets (or paths) chosen, for the report */
} cmp_run;

void cmp_run_clear(cmp_run *run);

/* Rebuilds the run of M: servesim defaults, then what M records (model and hardware names
 * mapped to presets: Hugging Face ids, device names such as "NVIDIA GeForce RTX 4090"), then
 * the flags ARGV[0..ARGC) (run's flags, sim_config_parse_args; a flag wins over the record and
 * the override is listed). Errors: "WHERE: model 'X' is not a preset ... (pass --model)",
 * unmodelled features (P/D pods, ramp-up rates), a load that nothing records. */
gboolean cmp_rebuild(const cmp_result *m, int argc, char **argv, cmp_run *out, GError **error);

/* ---- what the simulation did ---- */

typedef struct cmp_sim cmp_sim;

/* WANT_CHUNKS: keep every token chunk time per request (vLLM --save-detailed itls,
 * inference-perf per-request token times). */
cmp_sim *cmp_sim_new(bool want_chunks);
void cmp_sim_free(cmp_sim *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cmp_sim, cmp_sim_free)
/* Subscribes S to E's REQUEST_DONE and TOKEN topics (runner_flags.on_engine). */
void cmp_sim_subscribe(void *s, sim_engine *e);
/* Keeps the reports of the finished run (runner_flags.on_result). */
void cmp_sim_finished(void *s, const sim_metrics_result *r);
/* True once cmp_sim_finished ran. */
bool cmp_sim_done(const cmp_sim *s);

/* The simulated counterpart of MEASURED: the simulation written in MEASURED's format (same
 * keys, same per-request files) and read back by the same reader. Per-request figures follow
 * RUN's req_index (simulated request i ↔ measured request req_index[i]). */
cmp_result *
cmp_mirror(const cmp_result *measured, const cmp_run *run, const cmp_sim *sim, GError **error);

/* ---- reports ---- */

/* Pass line of METRIC (cmp_lat; CMP_NLAT = throughput) in % of the measured value, judged on
 * the mean (else the median): TTFT 15 % (the TTFT error BLIS and its calibration tool accept,
 * docs/domain.md §4.2), everything else 10 % (§4.2's per-step target). */
double cmp_threshold_pct(int metric);

typedef struct cmp_comparison cmp_comparison;

/* Measured M against simulated S of RUN (all borrowed: they must outlive the comparison);
 * NUM_GPU_BLOCKS (the KV capacity the simulation used) goes into the report. Same inputs, same
 * report, byte for byte (no timings). */
cmp_comparison *
cmp_compare(const cmp_result *m, const cmp_result *s, const cmp_run *run, uint32_t num_gpu_blocks);
void cmp_comparison_free(cmp_comparison *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cmp_comparison, cmp_comparison_free)
/* Worst verdict: 0 every judged metric passes, 1 one fails (for exit codes / scripts). */
int cmp_comparison_failures(const cmp_comparison *c);
/* True when the requests were matched one to one (per-request errors and
 * cmp_report_requests_csv rows exist). */
bool cmp_comparison_has_requests(const cmp_comparison *c);

/* The format string of compare's JSON documents (--json, compare.json of --output-dir): a
 * reader (servesim report) refuses any other. Bumped when a key changes meaning or goes. */
#define CMP_JSON_FORMAT "servesim-compare/1"

void cmp_report_text(GString *out, const cmp_comparison *c);
json_t *cmp_report_json(const cmp_comparison *c);
/* CSV rows (header first when HEADER): where,kind,metric,stat,unit,measured,simulated,diff,
 * error_pct,threshold_pct,verdict. */
void cmp_report_csv(GString *out, const cmp_comparison *c, bool header);
/* Matched requests: where,index,input_tokens,output_tokens, measured and simulated TTFT, TPOT,
 * E2E (ms). */
void cmp_report_requests_csv(GString *out, const cmp_comparison *c, bool header);

/* ---- version regression: two measured results ---- */

typedef struct cmp_regression cmp_regression;

/* A (baseline) against B. Noise: with per-request figures on both sides, a seeded bootstrap
 * (BOOT resamples of each run's requests) gives the 95 % interval of each relative change;
 * otherwise the noise is unknown and said so. Workload differences are listed as warnings. */
cmp_regression *cmp_regress(const cmp_result *a, const cmp_result *b, uint64_t seed, int boot);
void cmp_regression_free(cmp_regression *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cmp_regression, cmp_regression_free)
void cmp_regress_text(GString *out, const cmp_regression *r);
json_t *cmp_regress_json(const cmp_regression *r);
void cmp_regress_csv(GString *out, const cmp_regression *r, bool header);
/* A key naming a benchmark point's configuration (model, hardware, TP, replicas, lengths,
 * load), for pairing the rows of two dashboard CSVs. g_free it. */
char *cmp_result_point_key(const cmp_result *r);
