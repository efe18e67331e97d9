/* sim/config.c: the simulator's own settings rows and the composition of every module's
 * table into the sim_config schema. */
#include "sim/config.h"

#include <stddef.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "sim/cluster.h"
#include "sim/kvpool.h"
#include "sim/profile.h"

static const char *const routers[] = {"round_robin", "least_loaded", "prefix_affinity",
                                      "random",      "free_kv",      NULL};
static const char *const schedulers[] = {"vllm", "sarathi", "orca", "static", NULL};
static const char *const policies[] = {"fcfs", "priority", NULL};
static const char *const lockstep[] = {"auto", "on", "off", NULL};

/* KV-transfer links, figures per GPU and direction (docs/domain.md §2.2). Efficiencies are
 * llm-d-inference-sim's effective rates over the line rates of FACTS (IB 40/50, RoCE 20/25,
 * 100 GbE 10/12.5 GB/s: 0.8; NVLink 600 of 900 GB/s bidirectional: 0.667), setup latencies the
 * midpoints of its ranges (NVLink 0.1–0.5 ms, RDMA 0.5–2 ms, TCP 2–10 ms) [assume: midpoint].
 * No published per-descriptor cost: 0 [assume]. */
static const sim_link_preset link_presets[] = {
    {"nvlink", "NVLink 4 (H100 SXM), same node", 450e9, 0.667, 0.3e-3, 0,
     "450 GB/s per direction (NVIDIA H100 datasheet: 900 GB/s bidirectional); llm-d-inference-sim "
     "~600 GB/s effective; setup 0.1-0.5 ms"},
    {"ib-ndr-400", "InfiniBand NDR 400 Gb/s, one NIC per GPU", 50e9, 0.8, 1.25e-3, 0,
     "50 GB/s line rate; llm-d-inference-sim ~40 GB/s effective, RDMA setup 0.5-2 ms"},
    {"roce-200", "RoCE 200 Gb/s, one NIC per GPU", 25e9, 0.8, 1.25e-3, 0,
     "25 GB/s line rate; llm-d-inference-sim ~20 GB/s effective, RDMA setup 0.5-2 ms"},
    {"eth-100", "100 GbE TCP, one NIC per GPU", 12.5e9, 0.8, 6e-3, 0,
     "12.5 GB/s line rate; llm-d-inference-sim ~10 GB/s effective, TCP setup 2-10 ms"},
    {"pcie-gen5", "PCIe Gen5 x16 through host memory", 64e9, 0.8, 0.5e-3, 0,
     "~64 GB/s per direction (PCIe Gen5 x16); efficiency and setup [assume: as RDMA, lower "
     "setup]"},
};

const char *const sim_link_preset_names[] = {"nvlink",  "ib-ndr-400", "roce-200",
                                             "eth-100", "pcie-gen5",  NULL};

const sim_link_preset *
sim_link_preset_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(link_presets); i++)
        if (name != NULL && strcmp(link_presets[i].name, name) == 0)
            return &link_presets[i];
    return NULL;
}

const sim_link_preset *
sim_link_presets(size_t *n)
{
    *n = G_N_ELEMENTS(link_presets);
    return link_presets;
}

#define O(field) offsetof(sim_options, field)

static const base_opt rows[] = {
    {"seed", "seed", BASE_OPT_INT, O(seed), "0", NULL, 0, 9.2e18, 0, "N",
     "random seed; same inputs and seed give byte-identical outputs"},
    {"cluster.replicas", "replicas", BASE_OPT_INT, O(replicas), "1", NULL, 1,
     SIM_CLUSTER_MAX_REPLICAS, 0, "N", "number of engine replicas (each TP×PP×DP GPUs)"},
    {"cluster.router", "router", BASE_OPT_ENUM, O(router), "round_robin", routers, 0, 0, 0,
     "POLICY", "how arrivals are assigned to replicas"},
    {"cluster.pools", NULL, BASE_OPT_JSON, O(pools), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, NULL,
     "prefill/decode pools: [{\"role\": \"prefill\", \"replicas\": N, <sections to "
     "override>}, {\"role\": \"decode\", ...}] (docs/design.md §5c)"},
    {"scheduler.policy", "scheduler", BASE_OPT_ENUM, O(scheduler), "vllm", schedulers, 0, 0, 0,
     "NAME", "replica scheduler"},
    {"scheduler.max_num_seqs", "max-num-seqs", BASE_OPT_INT, O(max_num_seqs), NULL, NULL, 1, 1e7,
     BASE_OPT_NULLABLE, "N", "max running requests per replica (vLLM default by GPU memory)"},
    {"scheduler.max_num_batched_tokens", "max-num-batched-tokens", BASE_OPT_INT,
     O(max_num_batched_tokens), NULL, NULL, 1, 1e9, BASE_OPT_NULLABLE, "N",
     "token budget per step (vLLM default by GPU memory)"},
    {"scheduler.max_model_len", "max-model-len", BASE_OPT_INT, O(max_model_len), NULL, NULL, 2, 1e9,
     BASE_OPT_NULLABLE, "N", "max prompt+output tokens per request (default: model's)"},
    {"scheduler.long_prefill_token_threshold", "long-prefill-token-threshold", BASE_OPT_INT,
     O(long_prefill_token_threshold), "0", NULL, 0, 1e9, 0, "N",
     "per-request cap on new tokens per step (0 = off)"},
    {"scheduler.enable_chunked_prefill", "enable-chunked-prefill", BASE_OPT_BOOL,
     O(enable_chunked_prefill), "true", NULL, 0, 0, 0, NULL, "split long prompts across steps"},
    {"scheduler.scheduling_policy", "scheduling-policy", BASE_OPT_ENUM, O(scheduling_policy),
     "fcfs", policies, 0, 0, 0, "NAME", "waiting-queue order"},
    {"scheduler.chunk_size", "chunk-size", BASE_OPT_INT, O(chunk_size), NULL, NULL, 1, 1e9,
     BASE_OPT_NULLABLE, "N", "sarathi: fixed prefill chunk"},
    {"scheduler.batch_size", "batch-size", BASE_OPT_INT, O(batch_size), NULL, NULL, 1, 1e7,
     BASE_OPT_NULLABLE, "N", "static: requests per batch"},
    {"scheduler.step_overhead_us", "step-overhead-us", BASE_OPT_DOUBLE, O(step_overhead_us), NULL,
     NULL, 0, 1e9, BASE_OPT_NULLABLE, "US",
     "CPU/scheduling overhead per step (default: calibration)"},
    {"engine.profile", "engine", BASE_OPT_ENUM, O(engine), "vllm-0.15", sim_profile_name_list, 0, 0,
     0, "NAME",
     "which vLLM release's engine loop to reproduce (async scheduling, cascade attention; "
     "`servesim presets`)"},
    {"engine.api_server_count", "api-server-count", BASE_OPT_INT, O(api_server_count), "1", NULL, 1,
     1024, 0, "N", "API server processes per replica (each one asyncio loop)"},
    {"engine.api_ingress_latency_ms", "api-ingress-latency-ms", BASE_OPT_DOUBLE,
     O(api_ingress_latency_ms), NULL, NULL, 0, 1e6, BASE_OPT_NULLABLE, "MS",
     "delay from a request's send to its engine (default: calibration, else the profile's "
     "15.6 ms)"},
    {"engine.api_ingress_us", "api-ingress-us", BASE_OPT_DOUBLE, O(api_ingress_us), NULL, NULL, 0,
     1e9, BASE_OPT_NULLABLE, "US", "API-server loop time per request (default: the profile's 0)"},
    {"engine.api_per_prompt_token_us", "api-per-prompt-token-us", BASE_OPT_DOUBLE,
     O(api_per_prompt_token_us), NULL, NULL, 0, 1e6, BASE_OPT_NULLABLE, "US",
     "API-server loop time per prompt token, tokenization (default: the profile's 0)"},
    {"engine.api_per_output_token_us", "api-per-output-token-us", BASE_OPT_DOUBLE,
     O(api_per_output_token_us), NULL, NULL, 0, 1e6, BASE_OPT_NULLABLE, "US",
     "API-server loop time per streamed token (default: calibration, else the profile's 46)"},
    {"engine.dp_lockstep", "dp-lockstep", BASE_OPT_ENUM, O(dp_lockstep), "auto", lockstep, 0, 0, 0,
     "MODE",
     "data-parallel ranks step together with dummy batches: auto = MoE models (as vLLM); on "
     "needs a MoE model, off a dense one"},
    {"speculative_config", "speculative-config", BASE_OPT_JSON, O(speculative_config), NULL, NULL,
     0, 0, BASE_OPT_NULLABLE, "JSON",
     "speculative decoding, vLLM's JSON: '{\"method\":\"eagle3\",\"num_speculative_tokens\":3,"
     "\"acceptance_rate\":0.7}' (methods draft_model, eagle, eagle3, mtp, ngram; "
     "docs/speculative.md)"},
    {"kv.block_size", "block-size", BASE_OPT_INT, O(block_size), NULL, NULL, 1, 65536,
     BASE_OPT_NULLABLE, "N", "tokens per KV block (default 16; 64 for MLA models)"},
    {"kv.gpu_memory_utilization", "gpu-memory-utilization", BASE_OPT_DOUBLE,
     O(gpu_memory_utilization), "0.9", NULL, 0.01, 1.0, 0, "X",
     "fraction of GPU memory for weights + activations + KV"},
    {"kv.num_gpu_blocks_override", "num-gpu-blocks-override", BASE_OPT_INT,
     O(num_gpu_blocks_override), NULL, NULL, 2, SIM_KVPOOL_MAX_BLOCKS, BASE_OPT_NULLABLE, "N",
     "use exactly N KV blocks per replica"},
    {"kv.enable_prefix_caching", "enable-prefix-caching", BASE_OPT_BOOL, O(enable_prefix_caching),
     "true", NULL, 0, 0, 0, NULL, "hash-based KV block reuse"},
    {"kv.watermark", "watermark", BASE_OPT_DOUBLE, O(watermark), "0", NULL, 0, 1, 0, "X",
     "fraction of blocks kept free when admitting"},
    {"metrics.goodput", "goodput", BASE_OPT_STRV, O(goodput), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_NARGS_PLUS, "KEY:MS",
     "goodput SLOs as in vLLM bench, KEY ttft, tpot or e2el: --goodput ttft:500 tpot:50 (or "
     "comma-separated, or the flag repeated)"},
    {"metrics.warmup_s", "warmup", BASE_OPT_DOUBLE, O(warmup_s), "0", NULL, 0, WL_MAX_TIME_S, 0,
     "S", "exclude requests arriving in the first S seconds"},
    {"metrics.cooldown_s", "cooldown", BASE_OPT_DOUBLE, O(cooldown_s), "0", NULL, 0, WL_MAX_TIME_S,
     0, "S", "exclude requests arriving in the last S seconds"},
    {"outputs.dir", "output-dir", BASE_OPT_STRING, O(output_dir), "servesim-out", NULL, 0, 0, 0,
     "DIR", "where summary.json, requests.csv, ... are written"},
    {"outputs.steps", "steps", BASE_OPT_BOOL, O(write_steps), "false", NULL, 0, 0, 0, NULL,
     "write steps.jsonl.gz (one line per engine step)"},
    {"outputs.steps_file", "steps-file", BASE_OPT_STRING, O(steps_file), "steps.jsonl.gz", NULL, 0,
     0, 0, "NAME", "file name of the step log inside the output dir (.gz = compressed)"},
    {"outputs.perfetto", "perfetto", BASE_OPT_STRING, O(perfetto), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "FILE", "write a Chrome/Perfetto trace of steps"},
    {"outputs.report", "report", BASE_OPT_BOOL, O(report), "false", NULL, 0, 0, 0, NULL,
     "also write report.html (charts of these outputs, as `servesim report DIR`)"},
    /* default = TR_PERFETTO_DEFAULT_MAX_STEPS (traces/writers.h; sim/ cannot include it) */
    {"outputs.perfetto_max_steps", "perfetto-max-steps", BASE_OPT_INT, O(perfetto_max_steps),
     "200000", NULL, 1, 1e12, 0, "N",
     "steps the Perfetto trace holds (UIs slow down past a few 100k); later ones are counted in "
     "its metadata and a warning is printed"},
    {"outputs.quiet", "quiet", BASE_OPT_BOOL, O(quiet), "false", NULL, 0, 0, 0, NULL,
     "do not print the summary table"},
    {"pd.pools", "pd", BASE_OPT_STRING, O(pd_pools), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, "P:D",
     "prefill/decode disaggregation: P prefill and D decode replicas of these settings "
     "(cluster.pools for per-pool settings)"},
    {"pd.link", "pd-link", BASE_OPT_ENUM, O(pd_link), "ib-ndr-400", sim_link_preset_names, 0, 0, 0,
     "NAME", "the link KV crosses, per GPU (`servesim presets`)"},
    {"pd.link_bandwidth_gbs", "pd-link-bandwidth", BASE_OPT_DOUBLE, O(pd_link_bandwidth_gbs), NULL,
     NULL, 0, 0, BASE_OPT_NULLABLE, "GB/S",
     "line rate per GPU and direction (default: the preset's)"},
    {"pd.link_efficiency", "pd-link-efficiency", BASE_OPT_DOUBLE, O(pd_link_efficiency), NULL, NULL,
     0, 0, BASE_OPT_NULLABLE, "X", "achieved fraction of the line rate (default: the preset's)"},
    {"pd.link_setup_ms", "pd-link-setup-ms", BASE_OPT_DOUBLE, O(pd_link_setup_ms), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "MS", "fixed latency per transfer (default: the preset's)"},
    {"pd.link_per_descriptor_us", "pd-link-per-descriptor-us", BASE_OPT_DOUBLE,
     O(pd_link_per_descriptor_us), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, "US",
     "latency per (layer, block) descriptor of a transfer (default: the preset's)"},
    {"pd.layer_streaming", "pd-layer-streaming", BASE_OPT_BOOL, O(pd_layer_streaming), "false",
     NULL, 0, 0, 0, NULL, "send KV layer by layer while the prompt is computed (Splitwise)"},
    {"pd.prefill_router", "pd-prefill-router", BASE_OPT_ENUM, O(pd_prefill_router), NULL, routers,
     0, 0, BASE_OPT_NULLABLE, "POLICY", "prefill-pool router (default: --router)"},
    {"pd.decode_router", "pd-decode-router", BASE_OPT_ENUM, O(pd_decode_router), "free_kv", routers,
     0, 0, 0, "POLICY", "decode-pool router"},
    {"pd.conditional_tokens", "pd-conditional-tokens", BASE_OPT_INT, O(pd_conditional_tokens), "0",
     NULL, 0, 1e9, 0, "N",
     "prefill on the decode replica when fewer prompt tokens than this are uncached there "
     "(llm-d / Dynamo; 0 = always disaggregate)"},
    {"pd.early_reject", "pd-early-reject", BASE_OPT_BOOL, O(pd_early_reject), "false", NULL, 0, 0,
     0, NULL, "reject at arrival when the decode replica is predicted full (Mooncake)"},
    {"sweep", NULL, BASE_OPT_JSON, O(sweep), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_NOT_IMPL, NULL, "load sweeps"},
    {"search", NULL, BASE_OPT_JSON, O(search), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE | BASE_OPT_NOT_IMPL, NULL, "configuration search"},
};

const base_opt_table sim_options_table = {"Cluster, scheduler, KV cache, metrics, outputs", rows,
                                          G_N_ELEMENTS(rows), 0};

const base_opt_set *
sim_config_schema(void)
{
    /* The module tables placed at their offsets in sim_config. Filled once, then read-only. */
    static base_opt_table composed[4];
    static const base_opt_set set = {composed, 4};
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        composed[0] = tm_options_table;
        composed[0].base_offset = offsetof(sim_config, tm);
        composed[1] = wl_options_table;
        composed[1].base_offset = offsetof(sim_config, wl);
        composed[2] = sim_options_table;
        composed[2].base_offset = offsetof(sim_config, sim);
        composed[3] = dsa_options_table;
        composed[3].base_offset = offsetof(sim_config, dsa);
        g_once_init_leave(&once, 1);
    }
    return &set;
}

void
sim_config_init(sim_config *c)
{
    memset(c, 0, sizeof *c);
    base_opts_defaults(sim_config_schema(), c);
}

void
sim_config_clear(sim_config *c)
{
    base_opts_clear(sim_config_schema(), c);
}

void
sim_config_copy(sim_config *dst, const sim_config *src)
{
    memset(dst, 0, sizeof *dst);
    base_opts_copy(sim_config_schema(), dst, src);
}

gboolean
sim_config_load_file(sim_config *c, const char *path, GError **error)
{
    json_auto_t *root = base_json_load_file(path, error);
    if (root == NULL)
        return FALSE;
    return base_opts_load_json(sim_config_schema(), c, root, path, error);
}

gboolean
sim_config_parse_args(sim_config *c,
                      const base_opt_set *schema,
                      int argc,
                      char **argv,
                      GPtrArray *positional,
                      GError **error)
{
    /* Pass 1: config files, in order. Pass 2: everything else. */
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (; i < argc; i++)
                g_ptr_array_add(rest, argv[i]);
            break;
        }
        const char *file = NULL;
        bool tiers = strcmp(a, "--dsa-tiers") == 0 || g_str_has_prefix(a, "--dsa-tiers=");
        if (strcmp(a, "--config") == 0 || strcmp(a, "--dsa-tiers") == 0) {
            if (i + 1 >= argc) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: missing FILE", a);
                return FALSE;
            }
            file = argv[++i];
        } else if (g_str_has_prefix(a, "--config=") || tiers) {
            file = strchr(a, '=') + 1;
        }
        if (file != NULL && tiers) {
            json_auto_t *root = base_json_load_file(file, error);
            if (root == NULL || !dsa_options_load_tiers(&c->dsa, root, file, error))
                return FALSE;
            continue;
        }
        if (file != NULL) {
            if (!sim_config_load_file(c, file, error))
                return FALSE;
            continue;
        }
        g_ptr_array_add(rest, argv[i]);
    }
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    if (!base_opts_parse_args(schema != NULL ? schema : sim_config_schema(), c, (int)rest->len,
                              (char **)rest->pdata, pos, error))
        return FALSE;
    if (positional != NULL) {
        for (guint i = 0; i < pos->len; i++)
            g_ptr_array_add(positional, pos->pdata[i]);
    } else if (pos->len > 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "unexpected argument '%s'",
                    (const char *)pos->pdata[0]);
        return FALSE;
    }
    return TRUE;
}

json_t *
sim_config_to_json(const sim_config *c)
{
    return base_opts_to_json(sim_config_schema(), c);
}
