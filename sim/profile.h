/* sim/profile.h: engine profiles — which vLLM release's engine-loop behaviour a simulation
 * reproduces (docs/domain.md §6b, docs/design.md §5b). A profile is one row of a const table,
 * picked by name (`--engine vllm-0.15`); the newest row is the default. It fixes what differs
 * between releases (async scheduling, cascade attention) and carries the defaults of the
 * API-server model and of data-parallel coordination, each with the source it comes from
 * (the rows in profile.c cite them). Every field a user can override is resolved into a
 * sim_engine_params (below) by the runner and echoed into summary.json.
 * Ownership: everything here is static const data. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

typedef struct sim_profile {
    const char *name;       /* "vllm-0.15" */
    const char *follows;    /* the vLLM snapshot it was read from */
    const char *summary;    /* one line for `servesim presets` */
    bool async_scheduling;  /* AsyncScheduler + two batches in flight (config/scheduler.py) */
    bool cascade_attention; /* scheduler counts common prefix blocks; FlashAttention may use them */
    /* API server (one asyncio loop per server process; docs/design.md §5b) */
    double api_ingress_latency_s;  /* send → engine, not occupying the loop */
    double api_ingress_s;          /* loop work per request */
    double api_per_prompt_token_s; /* loop work per prompt token (tokenization) */
    double api_per_output_token_s; /* loop work per streamed token (detokenize + SSE) */
    /* data parallelism (v1/engine/core_client.py, core.py) */
    double dp_lb_interval_s; /* how often the front-end's per-engine counts are refreshed */
    uint32_t dp_sync_steps;  /* lockstep ranks agree to stop only every N steps */
} sim_profile;

/* Profile names, oldest first, NULL-terminated (the --engine choices). */
extern const char *const sim_profile_name_list[];

/* The profiles, newest last; NULL-terminated name list for help and suggestions. */
const sim_profile *sim_profile_find(const char *name); /* NULL if unknown */
const sim_profile *sim_profile_default(void);          /* the newest */
const char *const *sim_profile_names(void);
size_t sim_profile_count(void);
const sim_profile *sim_profile_at(size_t i);

/* The engine behaviour of one pool, resolved from a profile and the overriding options. */
typedef struct sim_engine_params {
    const sim_profile *profile; /* borrowed (static) */
    bool async_scheduling;
    bool cascade_attention;
    uint32_t api_server_count; /* API server processes per replica (vLLM --api-server-count) */
    double api_ingress_latency_s;
    double api_ingress_s;
    double api_per_prompt_token_s;
    double api_per_output_token_s;
    double dp_lb_interval_s;
    uint32_t dp_sync_steps;
} sim_engine_params;

/* PARAMS from PROFILE with no override. */
void sim_engine_params_from_profile(sim_engine_params *params, const sim_profile *profile);
/* An engine with no API-server cost, synchronous scheduling and no cascade attention: what
 * the simulator did before profiles existed (tests whose times are computed by hand). */
void sim_engine_params_plain(sim_engine_params *params);
