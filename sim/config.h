/* sim/config.h: the experiment configuration, one struct composed of each module's settings
 * (timemodel/options.h, workloads/options.h, and the simulator's own below). It is read from a
 * JSON file (--config FILE), overridden by flags, and serialised back fully resolved into
 * summary.json. Schema (JSON paths):
 *   seed
 *   model.{name,dtype,kv_cache_dtype}  hardware.name
 *   parallelism.{tensor,pipeline,data}_parallel_size, parallelism.enable_expert_parallel
 *   timemodel.{kind,calibration,compute_efficiency,memory_efficiency,comm_efficiency,overlap,
 *              comm_backend,moe_imbalance}
 *   cluster.{replicas,router,pools}      scheduler.{policy,max_num_seqs,max_num_batched_tokens,
 *   max_model_len,long_prefill_token_threshold,enable_chunked_prefill,scheduling_policy,
 *   chunk_size,batch_size,step_overhead_us}
 *   engine.{profile,api_server_count,api_ingress_latency_ms,api_ingress_us,
 *   api_per_prompt_token_us,api_per_output_token_us,dp_lockstep}
 *   speculative_config (vLLM's JSON: method, num_speculative_tokens, ...; docs/speculative.md)
 *   kv.{block_size,gpu_memory_utilization,num_gpu_blocks_override,enable_prefix_caching,watermark}
 *   workload.{...}  metrics.{goodput,warmup_s,cooldown_s}
 *   outputs.{dir,steps,perfetto,perfetto_max_steps,report,...}
 *   dsa.{trace,...,tiers.{...}} (dsa/options.h)
 *   pd.{pools,link,link_bandwidth_gbs,link_efficiency,link_setup_ms,link_per_descriptor_us,
 *       layer_streaming,prefill_router,decode_router,conditional_tokens,early_reject}
 *   sweep, search: read by those commands. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "base/opts.h"
#include "dsa/options.h"
#include "timemodel/options.h"
#include "workloads/options.h"

typedef struct sim_options {
    int64_t seed;
    /* cluster */
    int64_t replicas;
    char *router;
    json_t *pools; /* prefill/decode pools, docs/design.md §5c (tools/pd.c reads them) */
    /* scheduler */
    char *scheduler;      /* vllm | sarathi | orca | static */
    int64_t max_num_seqs; /* unset = vLLM default by GPU memory (docs/domain.md §1.2) */
    int64_t max_num_batched_tokens;
    int64_t max_model_len; /* unset = model's max_position_embeddings */
    int64_t long_prefill_token_threshold;
    bool enable_chunked_prefill;
    char *scheduling_policy; /* fcfs | priority */
    int64_t chunk_size;      /* sarathi chunk; unset = max_num_batched_tokens */
    int64_t batch_size;      /* static batching size; unset = max_num_seqs */
    double step_overhead_us; /* per-step CPU overhead; NAN = from calibration */
    /* engine (sim/profile.h) */
    char *engine;                   /* profile name */
    int64_t api_server_count;       /* API server processes per replica */
    double api_ingress_latency_ms;  /* NAN = calibration, else profile */
    double api_ingress_us;          /* NAN = profile */
    double api_per_prompt_token_us; /* NAN = profile */
    double api_per_output_token_us; /* NAN = calibration, else profile */
    char *dp_lockstep;              /* auto | on | off */
    json_t *speculative_config;     /* vLLM --speculative-config (timemodel/spec.h); NULL = off */
    /* kv */
    int64_t block_size; /* unset = 16 (64 for MLA models) */
    double gpu_memory_utilization;
    int64_t num_gpu_blocks_override;
    bool enable_prefix_caching;
    double watermark;
    /* metrics */
    char **goodput; /* "ttft:MS", "tpot:MS", "e2el:MS" */
    double warmup_s, cooldown_s;
    /* outputs */
    char *output_dir;
    bool write_steps;
    char *steps_file;
    char *perfetto;
    bool report;                /* report.html next to the outputs (report/report.h) */
    int64_t perfetto_max_steps; /* steps the Perfetto trace holds; more are counted, not written */
    bool quiet;
    /* prefill/decode disaggregation (docs/design.md §5c) */
    char *pd_pools; /* "P:D" */
    char *pd_link;
    double pd_link_bandwidth_gbs, pd_link_efficiency, pd_link_setup_ms, pd_link_per_descriptor_us;
    bool pd_layer_streaming;
    char *pd_prefill_router, *pd_decode_router;
    int64_t pd_conditional_tokens;
    bool pd_early_reject;
    json_t *sweep, *search; /* reserved sections */
} sim_options;

/* A KV-transfer link preset (docs/domain.md §2.2): per GPU and direction. */
typedef struct sim_link_preset {
    const char *name, *summary;
    double bandwidth_Bps, efficiency, setup_s, per_descriptor_s;
    const char *source;
} sim_link_preset;

extern const char *const sim_link_preset_names[]; /* NULL-terminated */
const sim_link_preset *sim_link_preset_find(const char *name);
const sim_link_preset *sim_link_presets(size_t *n);

extern const base_opt_table sim_options_table;

typedef struct sim_config {
    tm_options tm;
    wl_options wl;
    sim_options sim;
    dsa_options dsa;
} sim_config;

/* The composite schema of sim_config (every module's table at its offset). */
const base_opt_set *sim_config_schema(void);

void sim_config_init(sim_config *c);  /* defaults */
void sim_config_clear(sim_config *c); /* frees owned values */
void sim_config_copy(sim_config *dst, const sim_config *src);

/* Applies the JSON file PATH on top of C. */
gboolean sim_config_load_file(sim_config *c, const char *path, GError **error);
/* Applies ARGV: first every --config FILE and --dsa-tiers FILE (a tier JSON, dsa/options.h), in
 * order, then every other flag, so flags override the files wherever they appear. Non-flag
 * arguments go to POSITIONAL (may be NULL, then they are errors). */
gboolean sim_config_parse_args(sim_config *c,
                               const base_opt_set *schema,
                               int argc,
                               char **argv,
                               GPtrArray *positional,
                               GError **error);
/* Serialised configuration (all sections, in schema order). transfer full. */
json_t *sim_config_to_json(const sim_config *c);
