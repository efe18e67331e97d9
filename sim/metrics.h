/* sim/metrics.h: serving metrics with vLLM bench's definitions (docs/domain.md §6), fed by the
 * observer payloads of sim/observe.h.
 *
 * Per request: TTFT = first_token − send, E2EL = finish − send, TPOT = (E2EL − TTFT)/(n_out − 1)
 * for n_out > 1 (excluded from the TPOT distribution otherwise, TPOT 0 for goodput), queueing
 * delay = first_scheduled − send. ITL = every gap between consecutive token chunks, pooled.
 * Only successful requests enter TTFT/TPOT/ITL/E2EL; failed requests count 0 output tokens.
 *
 * Memory is flat in the number of requests: each request record is appended to an unlinked
 * temporary file (56 bytes), and sim_metrics_finish computes EXACT linear-interpolated
 * percentiles of per-request metrics by radix selection over that file (a few sequential
 * passes, O(buckets) memory). Pooled ITL uses a log histogram with relative error ≤ 1/256
 * (0.39 %) on percentiles; its count, mean, min and max are exact. Step distributions (batch
 * size, tokens per step) use the same histogram (exact below 128). Under a cool-down, ITL gaps
 * are attributed by send-time slabs of cooldown/64: the one slab straddling the boundary is
 * included or not as a whole (per-request metrics are excluded exactly). docs/outputs.md
 * documents every definition and window.
 *
 * Ownership: sim_metrics owns its temporary file and histograms; the result returned by
 * sim_metrics_get_result is owned by the sim_metrics and lives until sim_metrics_free. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "sim/engine.h"
#include "sim/observe.h"

/* The percentiles every distribution carries, in this order (the inference-perf report needs
 * all of them; summary.json and vLLM's result use a subset). */
#define SIM_METRICS_NPCT 11
extern const double sim_metrics_pcts[SIM_METRICS_NPCT]; /* 0.1 1 5 10 25 50 75 90 95 99 99.9 */

enum {
    SIM_PCT_0_1 = 0,
    SIM_PCT_1,
    SIM_PCT_5,
    SIM_PCT_10,
    SIM_PCT_25,
    SIM_PCT_50,
    SIM_PCT_75,
    SIM_PCT_90,
    SIM_PCT_95,
    SIM_PCT_99,
    SIM_PCT_99_9,
};

/* A summarised distribution. Every field is NAN when n == 0. std is numpy's (ddof 0). Units are
 * those of the metric: nanoseconds for latencies, tokens for lengths, sequences for batch sizes. */
typedef struct sim_dist {
    uint64_t n;
    double mean, std, min, max;
    double pct[SIM_METRICS_NPCT]; /* at sim_metrics_pcts[] */
} sim_dist;

/* Goodput SLOs (vLLM --goodput): a request is good iff it meets every given bound (≤). */
typedef struct sim_slo {
    bool any;                         /* at least one bound given */
    double ttft_ms, tpot_ms, e2el_ms; /* NAN = not constrained */
} sim_slo;

/* Parses SPECS (NULL-terminated, may be NULL = no SLO): each string holds one or more
 * "ttft:MS", "tpot:MS", "e2el:MS" separated by commas or spaces. A metric given twice, an
 * unknown metric or a value that is not a finite number ≥ 0 is an error naming the spec. */
gboolean sim_slo_parse(const char *const *specs, sim_slo *out, GError **error);

/* Results over a set of requests (the whole run after warm-up/cool-down exclusion, or one
 * load stage). The window is [start_ns, end_ns] = first send → last finish (success or
 * failure) of the requests in the set; throughputs divide by its length (vLLM's benchmark
 * duration: start of sending to the last completion). */
typedef struct sim_scope_result {
    uint64_t sent;      /* requests in the set (successful + failed) */
    uint64_t completed; /* successful */
    uint64_t failed;
    int64_t start_ns, end_ns; /* window (0, 0 when the set is empty) */
    double duration_s;        /* (end − start) / 1e9 */
    int64_t first_send_ns, last_send_ns;
    double send_duration_s;        /* last send − first send */
    uint64_t input_tokens;         /* Σ prompt tokens of successful requests (vLLM total_input) */
    uint64_t output_tokens;        /* Σ output tokens of successful requests (failed count 0) */
    double request_throughput;     /* completed / duration (req/s); NAN if duration is 0 */
    double input_throughput;       /* input_tokens / duration (tok/s) */
    double output_throughput;      /* output_tokens / duration */
    double total_token_throughput; /* (input + output) / duration */
    uint64_t good;                 /* successful requests meeting every SLO (0 without SLO) */
    double goodput;                /* good / duration (req/s); NAN without SLO */
    uint64_t preemptions;          /* Σ over requests in the set */
    uint64_t prompt_tokens;        /* Σ prompt tokens, successful requests */
    uint64_t prefix_hit_tokens;    /* Σ prefix-cache hit tokens, successful requests */
    double prefix_hit_rate;        /* prefix_hit_tokens / prompt_tokens (NAN if 0 prompts) */
    double requested_rate;         /* stage's configured rate (req/s); NAN when unknown */
    double achieved_rate;          /* sent / send_duration (req/s) */
    /* distributions over successful requests (ns, tokens) */
    sim_dist ttft_ns, tpot_ns, itl_ns, e2el_ns, queue_ns;
    sim_dist ntpot_ns; /* e2el / output tokens (inference-perf normalized TPOT) */
    sim_dist prompt_len, output_len;
    /* over failed requests */
    sim_dist fail_latency_ns; /* finish (failure time) − send */
    sim_dist fail_prompt_len;
} sim_scope_result;

/* Per engine core (a replica's data-parallel rank; one per replica without DP), over the whole
 * run (no warm-up exclusion: steps mix requests). The window is the run's: [first send of any
 * request, max(end_ns given to finish, last finish)]. */
typedef struct sim_replica_result {
    uint32_t replica;
    uint32_t dp_rank;
    uint32_t core;        /* flat index (the key of the step and request records) */
    uint64_t steps;       /* including dummy ones */
    uint64_t dummy_steps; /* lockstep dummy batches (nothing scheduled on this rank) */
    int64_t busy_ns;      /* union of step intervals (steps overlap with pipeline parallelism) */
    double busy_fraction; /* busy_ns / run window: share of time a step was running, NOT load
                             (a light decode stream keeps a core busy) */
    double token_budget_fill;  /* load: mean tokens per step / max_num_batched_tokens (NAN when
                                  the budget is unknown) */
    double seq_slots_fill;     /* load: mean sequences per step / max_num_seqs (NAN: unknown) */
    sim_dist batch_size;       /* num_seqs per step (pct from a histogram: exact ≤ 127) */
    sim_dist tokens_per_step;  /* scheduled tokens per step (same) */
    double kv_usage_mean;      /* mean over steps of used / total blocks */
    double kv_usage_time_mean; /* mean weighted by step duration */
    double kv_usage_max;
    uint64_t preemptions; /* Σ num_preempted over steps */
    uint64_t requests;    /* requests that finished or failed here */
    uint64_t prompt_tokens, prefix_hit_tokens;
    double prefix_hit_rate;
} sim_replica_result;

/* Did arrivals outpace completions? Over every request (no warm-up exclusion), within the
 * arrival window [t0 = first send, t1 = last send], mid = (t0 + t1) / 2; in_system(t) = sent by
 * t − finished (successfully or not) by t. Overloaded iff the number in the system grew over the
 * second half of the window by more than 5 % of that half's arrivals and by more than noise:
 *   in_system(t1) − in_system(mid) > max(0.05 · A2, 3 · sqrt(A2 + in_system(mid))),
 * A2 = sends in (mid, t1]. A stable system's completions keep pace with its arrivals (Little:
 * in_system stays near rate × latency); an overloaded one's backlog grows by (λ − μ) per second.
 * docs/outputs.md "overload". */
typedef struct sim_load_check {
    bool valid;             /* ≥ 2 sends over a positive window; otherwise every field is 0/NAN */
    double window_s;        /* t1 − t0 */
    double arrival_rate;    /* (sends − 1) / window (req/s) */
    double completion_rate; /* requests finished in [t0, t1] / window (req/s) */
    uint64_t in_system_mid; /* in_system(mid) */
    uint64_t in_system_end; /* in_system(t1): at the last arrival */
    uint64_t arrivals_late; /* A2 */
    bool overloaded;
} sim_load_check;

/* Most draft positions the speculative-decoding results hold (= TM_SPEC_MAX_TOKENS). */
#define SIM_SPEC_MAX_TOKENS 16

/* Speculative decoding over every step of the run (no warm-up exclusion), with vLLM's
 * definitions (v1/spec_decode/metrics.py): a "draft" is one request's drafts verified in one
 * step. mean acceptance length = 1 + accepted / drafts; draft acceptance rate = accepted /
 * draft_tokens; per-position rate i = accepted_pos[i] / drafts. k = 0: off (all 0). */
typedef struct sim_spec_result {
    uint32_t k;
    uint64_t drafts;       /* (request, step) pairs that verified drafts */
    uint64_t draft_tokens; /* draft tokens verified */
    uint64_t accepted;     /* of those, accepted */
    uint64_t accepted_pos[SIM_SPEC_MAX_TOKENS];
    double draft_s; /* Σ over steps of the drafter's passes (s) */
    double step_s;  /* Σ over steps of the step times (s), for the drafter's share */
} sim_spec_result;

typedef struct sim_metrics_result {
    sim_scope_result overall;   /* after warm-up/cool-down exclusion */
    sim_load_check load;        /* over every request */
    uint64_t total_requests;    /* every request recorded */
    uint64_t excluded_requests; /* by warm-up/cool-down */
    double warmup_s, cooldown_s;
    int64_t warmup_end_ns;     /* requests with send < this are excluded */
    int64_t cooldown_start_ns; /* requests with send >= this are excluded (INT64_MAX: none) */
    int64_t run_start_ns, run_end_ns; /* window of the replica metrics */
    sim_slo slo;
    uint32_t nstages;
    const sim_scope_result *stages; /* every request sent in the stage, no exclusion */
    uint32_t nreplicas;
    const sim_replica_result *replicas; /* indexed by engine core (0..nreplicas−1) */
    uint64_t itl_cooldown_slab_ns;      /* ITL attribution granularity under cool-down (0: exact) */
    sim_spec_result spec;               /* speculative decoding (k 0: off) */
} sim_metrics_result;

typedef struct sim_metrics_params {
    const char *const *goodput; /* SLO specs (sim_slo_parse); NULL = none */
    double warmup_s;            /* exclude requests sent before this time (s from t = 0) */
    double cooldown_s;          /* exclude requests sent at or after (last send - S); 0 = off */
    uint32_t nstages;           /* load stages of the workload; 0 = no per-stage results */
    const double *stage_rates;  /* nstages configured rates (req/s), or NULL (unknown) */
    const char *spill_dir;      /* directory of the temporary file; NULL = g_get_tmp_dir() */
    uint32_t max_num_batched_tokens; /* per-step token budget, for token_budget_fill (0: none) */
    uint32_t max_num_seqs;           /* sequence slots, for seq_slots_fill (0: none) */
} sim_metrics_params;

typedef struct sim_metrics sim_metrics;

/* Validates P (SLO specs, warm-up/cool-down ≥ 0) and opens the temporary file. */
sim_metrics *sim_metrics_new(const sim_metrics_params *p, GError **error);
void sim_metrics_free(sim_metrics *m); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_metrics, sim_metrics_free)

/* Feeding. Hot paths (token, step) do no allocation. A request's tokens must be fed before its
 * record; stage ids ≥ nstages are counted in the overall results only. */
void sim_metrics_on_request(sim_metrics *m, const sim_request_record *r);
void sim_metrics_on_token(sim_metrics *m, const sim_token_event *t);
void sim_metrics_on_step(sim_metrics *m, const sim_step_record *s);
void sim_metrics_on_arrival(sim_metrics *m, const sim_arrival_event *a);
/* Subscribes M to SIM_TOPIC_{ARRIVAL,TOKEN,STEP_END,REQUEST_DONE} of E (M must outlive E's
 * runs). */
void sim_metrics_subscribe(sim_metrics *m, sim_engine *e);
/* Engine core CORE (flat index) fills its own budgets, not the params' (a pool whose scheduler
 * settings differ, docs/design.md §5c); 0 keeps the params' value. */
void sim_metrics_set_core_budget(sim_metrics *m,
                                 uint32_t core,
                                 uint32_t max_num_batched_tokens,
                                 uint32_t max_num_seqs);

/* Computes every result; END_NS is the simulation end (extends the replica window). Fails on
 * an I/O error of the temporary file. Call once; afterwards feeding is a bug. */
gboolean sim_metrics_finish(sim_metrics *m, int64_t end_ns, GError **error);
/* Valid after a successful sim_metrics_finish (NULL before). borrowed */
const sim_metrics_result *sim_metrics_get_result(const sim_metrics *m);
