/* timemodel/memory.h: the GPU memory plan of one replica (docs/domain.md §1.5): weights per GPU,
 * activation / workspace reserve, KV bytes per token per GPU, KV capacity in tokens and blocks
 * at a gpu_memory_utilization and block size, and how many requests of a given context fit.
 * It mirrors vLLM's sizing: num_gpu_blocks = floor((total·util − weights − activation peak −
 * non-torch memory) / (block_size · kv_bytes_per_token_per_gpu)); the count is the same on every
 * GPU of the replica, so it is the replica's pool size. Plain values, nothing to free. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/common.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"

/* Non-torch memory (CUDA context, NCCL and cuBLAS workspaces, CUDA graphs) reserved per GPU
 * on top of the activation peak [assume: calibrate]. */
#define TM_NON_TORCH_BYTES (0.75 * 1073741824.0)

typedef struct tm_memory_args {
    double gpu_memory_utilization;  /* (0, 1]; ≤ 0 means vLLM's 0.9 */
    int64_t block_size;             /* ≤ 0: 16, or 64 for MLA models (FlashMLA) */
    int64_t max_model_len;          /* ≤ 0: the model's max_position_embeddings */
    int64_t max_num_batched_tokens; /* ≤ 0: vLLM default for the GPU (tm_vllm_defaults) */
    int64_t max_num_seqs;           /* ≤ 0: vLLM default */
    int64_t context_len; /* tokens per request for max_concurrent; ≤ 0: max_model_len. Given
                          * (> 0) for a model with sliding-window layers, it also sizes the pool:
                          * those layers hold min(context, window) tokens of a request, so a
                          * token costs kv_bytes_context(C)/C; not given, they count at full
                          * context, as vLLM's own "GPU KV cache size" does */
    /* speculative decoding's drafter (timemodel/spec.h), sized out of the same budget as in
     * vLLM: its weights per GPU and its KV bytes per token per GPU (its layers share the
     * target's blocks); 0 = none */
    double drafter_weight_bytes;
    double drafter_kv_bytes_per_token;
    /* KV slots a running request holds beyond its tokens: speculative decoding's k lookahead
     * slots (vLLM allocate_slots(num_lookahead_tokens)); counted in max_concurrent */
    int64_t lookahead_tokens;
} tm_memory_args;

typedef struct tm_memory_plan {
    double gpu_bytes;                /* usable memory of one GPU */
    double budget_bytes;             /* gpu_bytes · utilization */
    double weight_bytes;             /* per GPU (worst pipeline stage), drafter included */
    double activation_bytes;         /* activation peak of a max_num_batched_tokens step */
    double non_torch_bytes;          /* TM_NON_TORCH_BYTES */
    double kv_bytes;                 /* budget left for the KV cache (may be negative) */
    double kv_bytes_per_token;       /* per GPU: what a block of the pool is sized by */
    double kv_bytes_per_token_all;   /* per GPU, every layer holding every token: vLLM's
                                      * "GPU KV cache size" basis */
    bool window_amortized;           /* sliding-window layers counted for CONTEXT_LEN-token requests
                                      * (they keep at most the window): only when context_len is given */
    double kv_bytes_per_token_model; /* whole model, all layers and heads */
    double gpu_memory_utilization;
    int64_t block_size;
    int64_t max_model_len;
    int64_t max_num_batched_tokens;
    int64_t max_num_seqs;
    int64_t context_len;
    int64_t num_gpu_blocks; /* per replica, including vLLM's reserved null block */
    int64_t kv_tokens;      /* num_gpu_blocks · block_size */
    int64_t max_concurrent; /* requests of context_len tokens that fit at once */
    bool fits;              /* weights + reserve fit and one max_model_len request fits */
    double shortfall_bytes; /* when !fits: how much memory is missing per GPU */
} tm_memory_plan;

/* vLLM's defaults that depend on the GPU and the model (docs/domain.md §1.2). */
typedef struct tm_vllm_defaults {
    int64_t max_num_batched_tokens; /* ≥ 70 GiB and not A100: 8192 (API server), else 2048 */
    int64_t max_num_seqs;           /* ≥ 70 GiB: 1024, else 256 */
    int64_t block_size;             /* 16; 64 for MLA (FlashMLA) */
    int64_t max_model_len;          /* max_position_embeddings */
} tm_vllm_defaults;

void tm_vllm_defaults_get(tm_vllm_defaults *d, const tm_model_spec *m, const tm_hardware *hw);

/* Computes the plan: linear layers at WEIGHTS, routed experts at EXPERTS (the same dtype
 * unless the quantization touches only the experts), KV cache at KV. Returns FALSE with
 * TM_ERROR_NO_FIT (message naming the shortfall in GB) when the weights and reserve exceed the
 * budget or one max_model_len request does not fit; PLAN is filled in either case. */
gboolean tm_memory_plan_compute(const tm_model_spec *m,
                                const tm_hardware *hw,
                                const tm_parallel *par,
                                tm_dtype weights,
                                tm_dtype experts,
                                tm_dtype kv,
                                const tm_memory_args *args,
                                tm_memory_plan *plan,
                                GError **error);

/* Activation peak of one forward step of TOKENS tokens with SEQS sampled sequences on one GPU
 * (largest live set of one layer plus fp32 logits and probabilities) [estimate]. */
double tm_memory_activation_bytes(const tm_model_spec *m,
                                  const tm_parallel *par,
                                  int64_t tokens,
                                  int64_t seqs);
