/* sim/cluster.h: one simulation of N replicas serving a workload (docs/design.md §2, §5b):
 *   workload stream ──next arrival──▶ ARRIVAL ──▶ gating (session / concurrency) ──▶ router
 *   (picks a replica) ──▶ the replica's API server (ingress) ──▶ ENQUEUE ──▶ DP load balancer
 *   (picks an engine core) ──▶ core.waiting; an idle engine gets a SCHEDULE event (late phase,
 *   so every arrival of the instant is seen) ──▶ scheduler plans ──▶ time model prices (per
 *   pipeline stage, max over lockstep DP ranks) ──▶ STEP_END when the output returns ──▶
 *   commit: tokens (through the API server's egress queue to the client), finished requests,
 *   KV release ──▶ observers.
 * An engine (one core, or the dp cores of a replica stepping in lockstep) keeps up to
 * max_batches steps in flight (vLLM's batch queue) and only plans when it becomes idle, right
 * after a launch, or when its oldest step's output returns (v1/engine/core.py run_busy_loop).
 * Arrivals are pulled lazily: only the next request of the stream is held, so memory is
 * O(requests in flight). Pools are the unit routing works on; today there is one pool;
 * prefill/decode pools will add a second routing hop and a KV transfer on hand-off without
 * changing cores or schedulers.
 * Ownership: the cluster owns replicas, requests and gating state; it borrows the engine,
 * workload source, time model, scheduler and router. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "sim/engine.h"
#include "sim/profile.h"
#include "sim/replica.h"
#include "sim/sched.h"
#include "timemodel/timemodel.h"
#include "workloads/workload.h"

typedef struct sim_cluster sim_cluster;

/* Most replicas a cluster may have: 4096 replicas of Llama-3.1-8B on H100s (27,552 KV blocks
 * each) already take about 6.5 GiB of KV pool arrays here (27,552 × 24 B + 65,536 × 16 B per
 * replica). */
#define SIM_CLUSTER_MAX_REPLICAS 4096
/* sim_cluster_new refuses a configuration whose replica state (replicas × sim_replica_state_bytes,
 * i.e. the KV pool arrays) would exceed this, naming the figure, instead of allocating it. */
#define SIM_CLUSTER_MAX_STATE_BYTES ((uint64_t)8 << 30)

/* Where requests come from: any iterator with wl_source_next's contract (1 request, 0 end,
 * -1 error). tools/ adapts a wl_source (workloads/); tests use arrays (sim_source_array). */
typedef struct sim_source {
    int (*next)(void *ctx, wl_request *out, GError **error);
    void *ctx;
    int64_t max_concurrency; /* from the workload (0 = open loop) */
    /* Staged closed-loop loads (inference-perf `concurrent` stages): requests of stage k are
     * capped at stage_caps[k] in flight, and stage k+1 starts sending only when every request of
     * stage k has ended. NULL = no staging. */
    const int64_t *stage_caps;
    uint32_t nstage_caps;
} sim_source;

/* A source over a borrowed array of requests (ids and order as given); A must outlive the run. */
typedef struct sim_array_source {
    const wl_request *reqs;
    size_t n;
    size_t cursor; /* next index; start at 0 */
} sim_array_source;

sim_source sim_source_array(sim_array_source *a);

/* One pool of identical vLLM replicas (docs/design.md §5b): everything a replica is made of —
 * parallel layout, engine behaviour, scheduler, KV cache size and time model — lives here, not
 * in the cluster, so prefill/decode disaggregation adds a second pool (its own hardware, time
 * model, parallelism and KV size) plus a transfer hop between them. Zero / NULL fields take the
 * defaults noted. */
/* What a pool's replicas do (docs/design.md §5c). */
typedef enum {
    SIM_POOL_MIXED = 0, /* prefill and decode on the same replica (co-located) */
    SIM_POOL_PREFILL,   /* runs prompts with max_tokens = 1, keeps the KV until it is pulled */
    SIM_POOL_DECODE,    /* pulls the KV of a prompt prefilled elsewhere, then decodes */
} sim_pool_role;

const char *sim_pool_role_name(sim_pool_role role);

typedef struct sim_pool_params {
    const char *name; /* for messages; NULL = "default" */
    sim_pool_role role;
    uint32_t nreplicas;             /* vLLM replicas (one `vllm serve` each) */
    uint32_t dp;                    /* engine cores (data-parallel ranks) per replica; 0 = 1 */
    uint32_t pp;                    /* pipeline stages per core; 0 = 1 */
    bool lockstep;                  /* the dp ranks step together with dummy batches (MoE
                                       models: vLLM DPEngineCoreProc); needs dp > 1 */
    sim_sched_params sched;         /* copied; async_scheduling, max_batches and
                                       cascade_attention are derived from ENGINE and pp */
    const sim_scheduler *scheduler; /* borrowed const */
    const sim_router *router;
    uint32_t num_blocks; /* per engine core, including the null block */
    uint32_t block_size;
    bool prefix_caching;
    const tm_timemodel *tm;              /* borrowed: prices a step (pp == 1) */
    const tm_timemodel *const *stage_tm; /* borrowed, pp > 1: stage s's layers + its send */
    double step_overhead_s;              /* added to every step (stage 0) */
    /* speculative decoding (sched.spec_tokens > 0; docs/speculative.md): prices one drafter
     * pass (tm_spec_draft_s adds the k passes of a step); NULL = no drafter on the GPU
     * (ngram). Needs pp == 1. borrowed */
    const tm_timemodel *draft_tm;
    sim_engine_params engine; /* engine loop and API server; all-zero = plain (sync, no API) */
    double overlap_weight;    /* prefix_affinity */
    /* KV transfer (prefill/decode pools): what one engine core's GPUs hold per token (all
     * its GPUs: per-GPU bytes × tp × pp, docs/domain.md §2.1) and how many GPUs (NICs) it
     * has; the model's layer count (descriptors, layer streaming) */
    double kv_bytes_per_token;
    uint32_t gpus_per_core; /* 0 = 1 */
    uint32_t layers;        /* 0 = 1 */
} sim_pool_params;

/* The link KV crosses from a prefill core to a decode core (docs/domain.md §2.2). Every engine
 * core has a port of gpus_per_core × bandwidth × efficiency bytes/s; the transfers in their
 * data phase share the ports max-min fairly (progressive filling over every port, recomputed
 * when one starts or ends; docs/design.md §5c), after setup_s + descriptors × per_descriptor_s
 * of fixed latency. */
typedef struct sim_link_params {
    const char *name;
    double bandwidth_Bps;    /* per GPU and direction, line rate */
    double efficiency;       /* achieved fraction of the line rate, (0, 1] */
    double setup_s;          /* per transfer */
    double per_descriptor_s; /* per (layer, block) descriptor */
    bool layer_streaming;    /* KV sent layer by layer while the prompt is computed */
} sim_link_params;

/* Prefill/decode disaggregation: pool (of sim_cluster_params) is the prefill pool. */
typedef struct sim_pd_params {
    bool enabled;
    sim_pool_params decode;
    sim_link_params link;
    /* prompts whose part not cached on the chosen decode replica is shorter than this are
     * prefilled there (llm-d / Dynamo conditional disaggregation); 0 = always disaggregate */
    uint32_t conditional_tokens;
    /* Mooncake early rejection: fail a request at arrival when its decode replica cannot hold
     * it (free blocks − blocks promised to requests on their way < its prompt + output) */
    bool early_reject;
} sim_pd_params;

typedef struct sim_cluster_params {
    sim_pool_params pool; /* the one pool (mixed), or the prefill pool with pd.enabled */
    sim_pd_params pd;
    uint64_t seed;
    int64_t max_concurrency;  /* 0 = open loop (or as the source says) */
    bool check_invariants;    /* walk the KV pools after every step (tests) */
    uint64_t max_state_bytes; /* 0 = SIM_CLUSTER_MAX_STATE_BYTES (tests set a smaller bound) */
} sim_cluster_params;

typedef struct sim_cluster_stats {
    uint64_t pulled; /* requests read from the workload */
    uint64_t sent;   /* sent by clients (after gating) */
    uint64_t finished;
    uint64_t failed;
    uint64_t steps;       /* engine-core steps over all cores (dummy ones included) */
    uint64_t dummy_steps; /* lockstep dummy batches (a DP rank with nothing to run) */
    uint64_t preemptions;
    int64_t first_send_ns, last_finish_ns;
    size_t peak_in_flight;
    /* prefill/decode */
    uint64_t transfers;      /* KV transfers completed */
    uint64_t local_prefills; /* conditional disaggregation: prefilled on the decode replica */
    uint64_t early_rejected; /* Mooncake-style rejections */
    uint64_t transfer_bytes; /* Σ bytes moved */
    uint64_t peak_transfers; /* most transfers in their data phase at once */
} sim_cluster_stats;

/* Validates parameters (one-line GError; among them the replica count and the up-front estimate
 * of replica state against max_state_bytes) and subscribes the cluster's handlers to E. */
sim_cluster *
sim_cluster_new(sim_engine *e, const sim_cluster_params *p, const sim_source *src, GError **error);
void sim_cluster_free(sim_cluster *c); /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sim_cluster, sim_cluster_free)

/* Runs until every request is finished (or HORIZON_NS). Returns FALSE if the workload failed
 * (bad row, truncated file), with ERROR set. */
gboolean sim_cluster_run(sim_cluster *c, sim_time horizon_ns, GError **error);

sim_cluster_stats sim_cluster_get_stats(const sim_cluster *c);
/* The first pool's parameters as resolved (derived engine fields filled in). borrowed */
const sim_pool_params *sim_cluster_pool(const sim_cluster *c);
/* Pools: 1 (mixed) or 2 (prefill, decode). Cores and replicas are numbered across pools:
 * pool i owns cores [core_base, core_base + ncores) and replicas [replica_base, …). */
uint32_t sim_cluster_npools(const sim_cluster *c);
const sim_pool_params *sim_cluster_pool_at(const sim_cluster *c, uint32_t i);
void sim_cluster_pool_range(const sim_cluster *c,
                            uint32_t i,
                            uint32_t *core_base,
                            uint32_t *ncores,
                            uint32_t *replica_base);
/* Engine cores of every pool (replicas × dp each), flat, pool-major then replica-major. */
uint32_t sim_cluster_ncores(const sim_cluster *c);
const sim_replica *sim_cluster_core(const sim_cluster *c, uint32_t i);
/* Port capacity of core I for KV transfers, bytes/s (0 without disaggregation). */
double sim_cluster_port_capacity(const sim_cluster *c, uint32_t i);
/* Requests allocated and not yet finished (0 after a complete run: nothing leaks). */
size_t sim_cluster_live_requests(const sim_cluster *c);
