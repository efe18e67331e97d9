/* sim/profile.c: the engine profiles (see profile.h). Sources of each value:
 *   async_scheduling   vLLM config/scheduler.py: `async_scheduling: bool = False` at be22bb6f
 *                      (≈ v0.11); `= None`, resolved to True unless an incompatible feature is
 *                      on (config/vllm.py), at d6416fdd (≈ v0.15; vLLM PR #27614).
 *   cascade_attention  v1/core/sched/scheduler.py counts the blocks common to all running
 *                      requests in both snapshots; FlashAttention's use_cascade_attention
 *                      decides per step (off by default only from vLLM PR #36318, after 0.17).
 *   api_ingress_latency_s  BLIS trained-physics α0 ≈ 15.6 ms per request between the client
 *                      and the first scheduling (docs/domain.md §4.1), taken as a pure delay:
 *                      it was fitted against end-to-end TTFT, so it also holds whatever the
 *                      fitted step model missed [assume].
 *   api_per_output_token_s  BLIS α2 ≈ 46 µs per output token (docs/domain.md §4.1), charged as
 *                      work on the API server's single asyncio loop [assume: all of it is loop
 *                      work — detokenization and SSE framing run there, v1/engine/
 *                      output_processor.py and the serving layer].
 *   api_ingress_s, api_per_prompt_token_s  0 [assume]: no published figure isolates the
 *                      loop's per-request and per-prompt-token cost; set them to model a
 *                      tokenizer-bound front end.
 *   dp_lb_interval_s   0.1 s: v1/engine/core_client.py, DPLBAsyncMPClient ("stats updates from
 *                      the coordinator (which happen every 100ms)").
 *   dp_sync_steps      32: v1/engine/core.py, DPEngineCoreProc._has_global_unfinished_reqs
 *                      ("only perform finish-sync all-reduce every 32 steps"). */
#include "sim/profile.h"

#include "base/match.h"

#define BLIS_ALPHA0_S 15.6e-3
#define BLIS_ALPHA2_S 46e-6

static const sim_profile profiles[] = {
    {
        .name = "vllm-0.11",
        .follows = "vLLM main be22bb6f (2025-10-01, ≈ v0.11.0)",
        .summary = "synchronous scheduling (one batch in flight, pp with pipeline parallelism)",
        .async_scheduling = false,
        .cascade_attention = true,
        .api_ingress_latency_s = BLIS_ALPHA0_S,
        .api_ingress_s = 0.0,
        .api_per_prompt_token_s = 0.0,
        .api_per_output_token_s = BLIS_ALPHA2_S,
        .dp_lb_interval_s = 0.1,
        .dp_sync_steps = 32,
    },
    {
        .name = "vllm-0.15",
        .follows = "vLLM main d6416fdd (2026-01-31, ≈ v0.15)",
        .summary = "async scheduling (two batches in flight; joins at step N+2)",
        .async_scheduling = true,
        .cascade_attention = true,
        .api_ingress_latency_s = BLIS_ALPHA0_S,
        .api_ingress_s = 0.0,
        .api_per_prompt_token_s = 0.0,
        .api_per_output_token_s = BLIS_ALPHA2_S,
        .dp_lb_interval_s = 0.1,
        .dp_sync_steps = 32,
    },
};

const char *const sim_profile_name_list[] = {"vllm-0.11", "vllm-0.15", NULL};
G_STATIC_ASSERT(G_N_ELEMENTS(profiles) == BASE_STRV_N(sim_profile_name_list));

const sim_profile *
sim_profile_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(profiles); i++)
        if (g_str_equal(profiles[i].name, name))
            return &profiles[i];
    return NULL;
}

const sim_profile *
sim_profile_default(void)
{
    return &profiles[G_N_ELEMENTS(profiles) - 1];
}

const char *const *
sim_profile_names(void)
{
    return sim_profile_name_list;
}

size_t
sim_profile_count(void)
{
    return G_N_ELEMENTS(profiles);
}

const sim_profile *
sim_profile_at(size_t i)
{
    return i < G_N_ELEMENTS(profiles) ? &profiles[i] : NULL;
}

void
sim_engine_params_from_profile(sim_engine_params *params, const sim_profile *p)
{
    *params = (sim_engine_params){
        .profile = p,
        .async_scheduling = p->async_scheduling,
        .cascade_attention = p->cascade_attention,
        .api_server_count = 1,
        .api_ingress_latency_s = p->api_ingress_latency_s,
        .api_ingress_s = p->api_ingress_s,
        .api_per_prompt_token_s = p->api_per_prompt_token_s,
        .api_per_output_token_s = p->api_per_output_token_s,
        .dp_lb_interval_s = p->dp_lb_interval_s,
        .dp_sync_steps = p->dp_sync_steps,
    };
}

void
sim_engine_params_plain(sim_engine_params *params)
{
    *params = (sim_engine_params){
        .profile = NULL,
        .async_scheduling = false,
        .cascade_attention = false,
        .api_server_count = 1,
        .dp_lb_interval_s = 0.0,
        .dp_sync_steps = 1,
    };
}
