/* tools/cmd_memory.c: `servesim memory`: the GPU memory plan of one replica
 * (timemodel/memory.h, docs/domain.md §1.5): weights per GPU, activation and non-torch reserve, KV
 * bytes per token, KV capacity in tokens and blocks, and how many requests of a context
 * length fit. A model that does not fit is a one-line error naming the shortfall (exit 2).
 * With --speculative-config (docs/speculative.md) the drafter's weights and KV layers come out
 * of the same budget and each request holds k lookahead slots, as `run` sizes them. */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/opts.h"
#include "timemodel/setup.h"
#include "timemodel/spec.h"
#include "tools/cli.h"
#include "tools/runner.h"

static const char synopsis[] = "memory [--model M] [--hardware H] [--tensor-parallel-size N] "
                               "[--gpu-memory-utilization X] [--max-model-len N] "
                               "[--speculative-config JSON] [--json]";

typedef struct memory_args {
    tm_options tm; /* first: tm_options_table offsets apply as they are */
    double gpu_memory_utilization;
    int64_t max_model_len;
    int64_t block_size;
    int64_t max_num_batched_tokens;
    int64_t max_num_seqs;
    int64_t context_len;
    json_t *speculative_config; /* vLLM's --speculative-config; NULL = off */
    bool json;
} memory_args;

#define A(f) offsetof(memory_args, f)
static const base_opt rows[] = {
    {"gpu_memory_utilization", "gpu-memory-utilization", BASE_OPT_DOUBLE, A(gpu_memory_utilization),
     "0.9", NULL, 0.01, 1.0, BASE_OPT_CLI_ONLY, "X",
     "fraction of GPU memory for weights + activations + KV"},
    {"max_model_len", "max-model-len", BASE_OPT_INT, A(max_model_len), NULL, NULL, 2, 1e9,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "max prompt+output tokens per request (default: the model's max_position_embeddings)"},
    {"block_size", "block-size", BASE_OPT_INT, A(block_size), NULL, NULL, 1, 65536,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N", "tokens per KV block (default 16; 64 for MLA)"},
    {"max_num_batched_tokens", "max-num-batched-tokens", BASE_OPT_INT, A(max_num_batched_tokens),
     NULL, NULL, 1, 1e9, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "tokens of the profiling step that sizes the activation reserve (default: vLLM's)"},
    {"max_num_seqs", "max-num-seqs", BASE_OPT_INT, A(max_num_seqs), NULL, NULL, 1, 1e7,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N", "sequences sampled in the profiling step"},
    {"context_len", "context-len", BASE_OPT_INT, A(context_len), NULL, NULL, 1, 1e9,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "tokens per request for 'max concurrent requests' (default: max model len)"},
    {"speculative_config", "speculative-config", BASE_OPT_JSON, A(speculative_config), NULL, NULL,
     0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "JSON",
     "speculative decoding as `run` takes it: the drafter's weights and KV layers share the "
     "budget, each request holds k lookahead slots (docs/speculative.md)"},
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object"},
};
static const base_opt_table local = {"Memory", rows, G_N_ELEMENTS(rows), 0};

#define GIB 1073741824.0

static int64_t
or_zero(int64_t v)
{
    return v == BASE_OPT_UNSET_INT ? 0 : v;
}

static int
run(const memory_args *a)
{
    GError *err = NULL;
    g_autoptr(tm_setup) s = tm_setup_new(&a->tm, &err);
    if (s == NULL)
        return cli_fail(err, CLI_USAGE);
    tm_memory_args m = {.gpu_memory_utilization = a->gpu_memory_utilization,
                        .block_size = or_zero(a->block_size),
                        .max_model_len = or_zero(a->max_model_len),
                        .max_num_batched_tokens = or_zero(a->max_num_batched_tokens),
                        .max_num_seqs = or_zero(a->max_num_seqs),
                        .context_len = or_zero(a->context_len)};
    g_auto(tm_spec_config) spec = {0};
    if (a->speculative_config != NULL && !json_is_null(a->speculative_config)) {
        /* memory does not depend on acceptance: without an acceptance key, 0 stands in for the
         * check run makes (a copy; the user's JSON is left as given) */
        json_auto_t *sj = json_deep_copy(a->speculative_config);
        if (json_is_object(sj) && json_object_get(sj, "acceptance_rate") == NULL &&
            json_object_get(sj, "acceptance_file") == NULL &&
            json_object_get(sj, "acceptance_preset") == NULL)
            json_object_set_new(sj, "acceptance_rate", json_real(0.0));
        if (!runner_spec_resolve(sj, "vllm", s, &spec, NULL, &m, &err))
            return cli_fail(err, CLI_USAGE);
        runner_spec_warn(&spec);
    }
    tm_memory_plan p;
    if (!tm_setup_memory_plan(s, &m, &p, &err))
        return cli_fail(err, CLI_USAGE);
    const tm_model_spec *mo = tm_setup_model(s);
    const tm_hardware *hw = tm_setup_hardware(s);
    const tm_parallel *par = tm_setup_parallel(s);
    const tm_roofline_params *kp = tm_setup_params_const(s);
    if (a->json) {
        json_auto_t *o = json_object();
        json_object_set_new(o, "model", json_string(mo->name));
        json_object_set_new(o, "hardware", json_string(hw->name));
        json_object_set_new(o, "tensor_parallel_size", json_integer(par->tp));
        json_object_set_new(o, "pipeline_parallel_size", json_integer(par->pp));
        json_object_set_new(o, "data_parallel_size", json_integer(par->dp));
        json_object_set_new(o, "expert_parallel_size", json_integer(par->ep));
        json_object_set_new(o, "dtype", json_string(tm_dtype_name(kp->weight_dtype)));
        if (kp->experts_own_dtype)
            json_object_set_new(o, "expert_dtype", json_string(tm_dtype_name(kp->expert_dtype)));
        json_object_set_new(o, "kv_cache_dtype", json_string(tm_dtype_name(kp->kv_dtype)));
        json_object_set_new(o, "gpu_memory_utilization", base_json_real(p.gpu_memory_utilization));
        json_object_set_new(o, "gpu_memory_gib", base_json_real(p.gpu_bytes / GIB));
        json_object_set_new(o, "budget_gib", base_json_real(p.budget_bytes / GIB));
        json_object_set_new(o, "weights_gib", base_json_real(p.weight_bytes / GIB));
        json_object_set_new(o, "activation_gib", base_json_real(p.activation_bytes / GIB));
        json_object_set_new(o, "non_torch_gib", base_json_real(p.non_torch_bytes / GIB));
        json_object_set_new(o, "kv_cache_gib", base_json_real(p.kv_bytes / GIB));
        json_object_set_new(o, "kv_bytes_per_token_per_gpu",
                            base_json_number(p.kv_bytes_per_token));
        json_object_set_new(o, "kv_bytes_per_token_model",
                            base_json_number(p.kv_bytes_per_token_model));
        json_object_set_new(o, "block_size", json_integer(p.block_size));
        json_object_set_new(o, "num_gpu_blocks", json_integer(p.num_gpu_blocks));
        json_object_set_new(o, "kv_tokens", json_integer(p.kv_tokens));
        json_object_set_new(o, "max_model_len", json_integer(p.max_model_len));
        json_object_set_new(o, "max_num_batched_tokens", json_integer(p.max_num_batched_tokens));
        json_object_set_new(o, "max_num_seqs", json_integer(p.max_num_seqs));
        json_object_set_new(o, "context_len", json_integer(p.context_len));
        json_object_set_new(o, "max_concurrent_requests", json_integer(p.max_concurrent));
        json_object_set_new(o, "sliding_window", json_integer(mo->sliding_window));
        json_object_set_new(o, "sliding_layers", json_integer(mo->sliding_layers));
        json_object_set_new(o, "kv_window_amortized", json_boolean(p.window_amortized));
        json_object_set_new(o, "parameters_total", base_json_number(mo->params.total));
        json_object_set_new(o, "parameters_active", base_json_number(mo->params.active));
        if (spec.k > 0) {
            json_t *sj = json_object();
            json_object_set_new(sj, "method", json_string(tm_spec_method_name(spec.method)));
            json_object_set_new(sj, "num_speculative_tokens", json_integer(spec.k));
            json_object_set_new(sj, "drafter_weights_gib",
                                base_json_real(m.drafter_weight_bytes / GIB));
            json_object_set_new(sj, "drafter_kv_bytes_per_token_per_gpu",
                                base_json_number(m.drafter_kv_bytes_per_token));
            json_object_set_new(sj, "lookahead_slots", json_integer(m.lookahead_tokens));
            json_object_set_new(o, "speculative", sj);
        }
        g_autofree char *txt = base_json_dumps(o);
        fputs(txt, stdout);
        return CLI_OK;
    }
    g_autofree char *wname = tm_roofline_weights_name(kp);
    printf("memory plan: %s on %s, tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT
           " dp=%" G_GINT64_FORMAT " ep=%" G_GINT64_FORMAT ", %s weights, %s KV cache\n",
           mo->name, hw->name, par->tp, par->pp, par->dp, par->ep, wname,
           tm_dtype_name(kp->kv_dtype));
    printf("parameters: %.2f B total, %.2f B active per token\n\n", mo->params.total / 1e9,
           mo->params.active / 1e9);
    printf("  %-46s %12.2f GiB\n", "GPU memory (usable, per GPU)", p.gpu_bytes / GIB);
    g_autofree char *b =
        g_strdup_printf("budget at gpu_memory_utilization %.2f", p.gpu_memory_utilization);
    printf("  %-46s %12.2f GiB\n", b, p.budget_bytes / GIB);
    printf("  %-46s %12.2f GiB\n", spec.k > 0 ? "weights (drafter included)" : "weights",
           p.weight_bytes / GIB);
    g_autofree char *act =
        g_strdup_printf("activation peak (%" G_GINT64_FORMAT " tokens, %" G_GINT64_FORMAT " seqs)",
                        p.max_num_batched_tokens, p.max_num_seqs);
    printf("  %-46s %12.2f GiB\n", act, p.activation_bytes / GIB);
    printf("  %-46s %12.2f GiB\n", "non-torch reserve (CUDA context, NCCL, graphs)",
           p.non_torch_bytes / GIB);
    printf("  %-46s %12.2f GiB\n", "KV cache", p.kv_bytes / GIB);
    printf("  %-46s %12.0f B   (whole model %.0f B)\n", "KV bytes per token per GPU",
           p.kv_bytes_per_token, p.kv_bytes_per_token_model);
    printf("  %-46s %12" G_GINT64_FORMAT " tokens\n", "block size", p.block_size);
    printf("  %-46s %12" G_GINT64_FORMAT "\n", "KV blocks per replica (num_gpu_blocks)",
           p.num_gpu_blocks);
    printf("  %-46s %12" G_GINT64_FORMAT " tokens\n", "KV capacity", p.kv_tokens);
    printf("  %-46s %12" G_GINT64_FORMAT " tokens\n", "max model len", p.max_model_len);
    g_autofree char *mc =
        g_strdup_printf("max concurrent requests of %" G_GINT64_FORMAT " tokens", p.context_len);
    printf("  %-46s %12" G_GINT64_FORMAT "\n", mc, p.max_concurrent);
    if (spec.k > 0)
        printf("\nspeculative decoding (%s, k = %u): drafter weights %.2f GiB and KV %.0f B per "
               "token per GPU are included above; each request holds %" G_GINT64_FORMAT
               " lookahead slot(s), counted in the concurrency\n",
               tm_spec_method_name(spec.method), spec.k, m.drafter_weight_bytes / GIB,
               m.drafter_kv_bytes_per_token, m.lookahead_tokens);
    if (mo->sliding_layers > 0)
        printf("\n%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " layers use a %" G_GINT64_FORMAT
               "-token sliding window; %s\n",
               mo->sliding_layers, mo->layers, mo->sliding_window,
               p.window_amortized
                   ? "they hold at most the window of each request, counted for requests of "
                     "--context-len tokens"
                   : "counted at full context here, as vLLM's \"GPU KV cache size\" does; give "
                     "--context-len to count them for your requests");
    return CLI_OK;
}

int
cmd_memory(int argc, char **argv)
{
    base_opt_table tables[2];
    base_opt_set schema_set;
    cli_tm_schema(tables, &schema_set, &local);
    const base_opt_set *set = &schema_set;
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis,
                       "GPU memory plan of one replica (vLLM's sizing): weights per GPU, "
                       "activation and workspace reserve, KV bytes per token, KV capacity in "
                       "tokens and blocks, max concurrent requests. Exit 2 with the shortfall "
                       "in GB when the model does not fit.",
                       set);
        return CLI_OK;
    }
    memory_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(set, &a);
    GError *err = NULL;
    int rc;
    if (!base_opts_parse_args(set, &a, argc - 1, argv + 1, NULL, &err))
        rc = cli_fail(err, CLI_USAGE);
    else
        rc = run(&a);
    base_opts_clear(set, &a);
    return rc;
}
