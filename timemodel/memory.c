/* timemodel/memory.c: vLLM-style KV capacity (docs/domain.md §1.5) and vLLM's GPU-dependent
 * scheduler defaults (docs/domain.md §1.2). The activation peak is an estimate of what vLLM's
 * profiling run measures (one step of max_num_batched_tokens tokens plus the sampler for
 * max_num_seqs sequences); docs/timemodel.md states the formula. */
#include "timemodel/memory.h"

#include <math.h>
#include <string.h>

#define GIB 1073741824.0

void
tm_vllm_defaults_get(tm_vllm_defaults *d, const tm_model_spec *m, const tm_hardware *hw)
{
    /* vllm/engine/arg_utils.py get_batch_defaults: ≥ 70 GiB and not A100 → 8192 / 1024 for
     * the API server; otherwise 2048 tokens; max_num_seqs 1024 on ≥ 70 GiB GPUs, else 256. */
    bool big = tm_hardware_memory_gib(hw) >= 70.0;
    d->max_num_batched_tokens = big && !hw->is_a100 ? 8192 : 2048;
    d->max_num_seqs = big ? 1024 : 256;
    d->block_size = m->mla ? 64 : 16;
    d->max_model_len = m->max_position_embeddings;
}

double
tm_memory_activation_bytes(const tm_model_spec *m,
                           const tm_parallel *par,
                           int64_t tokens,
                           int64_t seqs)
{
    double T = (double)tokens, h = (double)m->hidden, tp = (double)par->tp;
    double Hl = (double)m->heads / tp;
    double attn;
    if (m->mla)
        attn = T * Hl *
               (double)(2 * m->qk_nope_head_dim + 2 * m->qk_rope_head_dim + 2 * m->v_head_dim);
    else
        attn =
            T * ((Hl + 2.0 * (double)tm_model_kv_heads_per_gpu(m, par->tp)) * (double)m->head_dim +
                 Hl * (double)m->head_dim);
    double mlp = m->dense_layers > 0 ? T * 3.0 * (double)m->ffn / tp : 0.0;
    double moe = 0.0;
    if (m->moe_layers > 0) {
        double g = tp * (double)par->dp;
        double tg = T * (double)par->dp;
        double assign = par->ep > 1 ? tg * (double)m->topk / (double)par->ep : tg * (double)m->topk;
        double ie = par->ep > 1 ? (double)m->expert_ffn : (double)m->expert_ffn / g;
        moe = assign * (3.0 * ie + 2.0 * h) + T * (double)m->experts * 2.0; /* + fp32 router */
    }
    double layer = 2.0 * T * h + fmax(attn, fmax(mlp, moe));     /* residual + hidden + widest op */
    double logits = 2.0 * (double)seqs * (double)m->vocab * 4.0; /* fp32 logits + probs */
    return layer * 2.0 + logits;
}

gboolean
tm_memory_plan_compute(const tm_model_spec *m,
                       const tm_hardware *hw,
                       const tm_parallel *par,
                       tm_dtype weights,
                       tm_dtype experts,
                       tm_dtype kv,
                       const tm_memory_args *args,
                       tm_memory_plan *plan,
                       GError **error)
{
    g_return_val_if_fail(m != NULL && hw != NULL && par != NULL && plan != NULL, FALSE);
    tm_vllm_defaults def;
    tm_vllm_defaults_get(&def, m, hw);
    tm_memory_args a = args != NULL ? *args : (tm_memory_args){0};
    memset(plan, 0, sizeof *plan);
    plan->gpu_memory_utilization = a.gpu_memory_utilization > 0 ? a.gpu_memory_utilization : 0.9;
    plan->block_size = a.block_size > 0 ? a.block_size : def.block_size;
    plan->max_model_len = a.max_model_len > 0 ? a.max_model_len : def.max_model_len;
    plan->max_num_batched_tokens =
        a.max_num_batched_tokens > 0 ? a.max_num_batched_tokens : def.max_num_batched_tokens;
    plan->max_num_seqs = a.max_num_seqs > 0 ? a.max_num_seqs : def.max_num_seqs;
    plan->context_len = a.context_len > 0 ? a.context_len : plan->max_model_len;
    plan->gpu_bytes = hw->memory_bytes;
    plan->budget_bytes = plan->gpu_bytes * plan->gpu_memory_utilization;
    plan->weight_bytes =
        tm_model_weight_bytes_split_gpu(m, weights, experts, par) + a.drafter_weight_bytes;
    plan->activation_bytes =
        tm_memory_activation_bytes(m, par, plan->max_num_batched_tokens, plan->max_num_seqs);
    plan->non_torch_bytes = TM_NON_TORCH_BYTES;
    plan->kv_bytes =
        plan->budget_bytes - plan->weight_bytes - plan->activation_bytes - plan->non_torch_bytes;
    plan->kv_bytes_per_token_all = tm_model_kv_bytes_per_token_gpu(m, kv, par);
    plan->kv_bytes_per_token = plan->kv_bytes_per_token_all;
    if (m->sliding_layers > 0 && a.context_len > 0) {
        double c = (double)a.context_len;
        plan->kv_bytes_per_token = tm_model_kv_bytes_context_gpu(m, kv, par, c) / c;
        plan->window_amortized = true;
    }
    plan->kv_bytes_per_token_all += a.drafter_kv_bytes_per_token;
    plan->kv_bytes_per_token += a.drafter_kv_bytes_per_token;
    plan->kv_bytes_per_token_model = tm_model_kv_bytes_per_token(m, kv);
    double block_bytes = (double)plan->block_size * plan->kv_bytes_per_token;
    if (plan->kv_bytes <= 0) {
        plan->shortfall_bytes = -plan->kv_bytes;
        g_set_error(error, TM_ERROR, TM_ERROR_NO_FIT,
                    "%s does not fit on %s with tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT
                    ": weights %.2f GiB + activations %.2f GiB + reserve %.2f GiB per GPU exceed "
                    "%.2f GiB (%.0f%% of %.2f GiB); short by %.2f GB",
                    m->name, hw->name, par->tp, par->pp, plan->weight_bytes / GIB,
                    plan->activation_bytes / GIB, plan->non_torch_bytes / GIB,
                    plan->budget_bytes / GIB, plan->gpu_memory_utilization * 100.0,
                    plan->gpu_bytes / GIB, plan->shortfall_bytes / 1e9);
        return FALSE;
    }
    plan->num_gpu_blocks = (int64_t)floor(plan->kv_bytes / block_bytes);
    plan->kv_tokens = plan->num_gpu_blocks * plan->block_size;
    int64_t per_req =
        (plan->context_len + a.lookahead_tokens + plan->block_size - 1) / plan->block_size;
    int64_t usable = plan->num_gpu_blocks > 0 ? plan->num_gpu_blocks - 1 : 0; /* null block */
    plan->max_concurrent = per_req > 0 ? usable / per_req : 0;
    /* one max_model_len request: its sliding-window layers hold the window only; a drafter's
     * layers hold every token (their bytes share the target's blocks) */
    double mml = (double)plan->max_model_len;
    int64_t need = (int64_t)ceil(
        (tm_model_kv_bytes_context_gpu(m, kv, par, mml) + a.drafter_kv_bytes_per_token * mml) /
        block_bytes);
    if (need > usable) {
        plan->shortfall_bytes = (double)(need - usable) * block_bytes;
        g_set_error(error, TM_ERROR, TM_ERROR_NO_FIT,
                    "one request of --max-model-len %" G_GINT64_FORMAT
                    " needs %.2f GiB of KV cache "
                    "per GPU but only %.2f GiB are left after weights and activations on %s; short "
                    "by %.2f GB (lower --max-model-len or raise --gpu-memory-utilization / "
                    "--tensor-parallel-size)",
                    plan->max_model_len, (double)need * block_bytes / GIB,
                    (double)usable * block_bytes / GIB, hw->name, plan->shortfall_bytes / 1e9);
        return FALSE;
    }
    plan->fits = true;
    return TRUE;
}
