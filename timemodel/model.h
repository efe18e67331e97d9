/* timemodel/model.h: model architecture from a Hugging Face config.json (or the DeepSeek
 * reference-code config format): derived dimensions, MoE / MLA / DSA fields and parameter
 * counts (docs/domain.md §2.1, §3.2–3.5). Presets are embedded JSON files under
 * timemodel/presets/models/ (short names: `servesim presets`); any path to a config.json is
 * accepted too. Ownership: a tm_model_spec is a plain value owning only NAME and ARCH
 * (released by tm_model_spec_free). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/common.h"

#define TM_MAX_LAYERS 512

/* Parameter counts (elements, not bytes), whole model, summed over layers. */
typedef struct tm_param_counts {
    double embed;          /* input embedding V·h */
    double lm_head;        /* output projection V·h (0 when tied to the embedding) */
    double attn;           /* attention projections (+ biases), all layers */
    double indexer;        /* DSA lightning indexer projections, all layers */
    double mlp;            /* dense SwiGLU MLPs (dense layers only) */
    double experts;        /* routed experts, all MoE layers */
    double shared_experts; /* shared experts, all MoE layers */
    double router;         /* MoE gates */
    double norms;          /* RMSNorm/LayerNorm weights */
    double total;
    double active; /* parameters used per token (top-k routed experts) */
} tm_param_counts;

/* The checkpoint's weight quantization, from its quantization_config (timemodel/quant.c;
 * docs/timemodel.md §2.3). vLLM loads a quantised checkpoint with its method whatever the
 * model dtype, so these are the default weight dtype (tm_setup). */
typedef struct tm_model_quant {
    char method[32];   /* quant_method as vLLM names it; "" = not quantised */
    tm_dtype weights;  /* dtype of the quantised linear layers */
    bool experts_only; /* only the routed experts are quantised (MXFP4: gpt-oss) */
} tm_model_quant;

typedef struct tm_model_spec {
    char *name; /* preset name or file basename */
    char *arch; /* HF model_type ("llama", "deepseek_v3", ...) or "deepseek_native" */
    int64_t layers, hidden, heads, kv_heads, head_dim;
    int64_t ffn; /* dense MLP intermediate size (0 if every layer is MoE) */
    int64_t vocab;
    int64_t max_position_embeddings;
    bool tied_embeddings;
    bool qkv_bias; /* Qwen2-style biases on q, k, v */
    /* MoE (experts == 0: dense model) */
    int64_t experts, topk, shared_experts;
    int64_t expert_ffn;                  /* I_e */
    int64_t shared_ffn;                  /* I_sh per shared expert */
    int64_t moe_layers, dense_layers;    /* moe_layers + dense_layers == layers */
    uint8_t layer_is_moe[TM_MAX_LAYERS]; /* 1 where layer i has an MoE block */
    bool router_bias;                    /* DeepSeek-V3 noaux_tc score-correction bias */
    /* MLA (DeepSeek-V2/V3): mla true when kv_lora_rank > 0 */
    bool mla;
    int64_t q_lora_rank; /* 0: q projected directly from h */
    int64_t kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    /* DSA lightning indexer (DeepSeek-V3.2): index_topk 0 = dense attention */
    int64_t index_heads, index_head_dim, index_topk;
    /* Architecture traits (timemodel/model_arch.c, from model_type) */
    int norms_per_layer; /* RMSNorm weight vectors per layer: 2 (Gemma-2/3: 4) */
    bool qk_norm;        /* per-head q_norm / k_norm (Qwen3, Gemma-3) */
    bool o_bias;         /* o_proj bias (attention_bias in Llama-family and gpt-oss configs) */
    bool mlp_bias;       /* dense MLP biases (mlp_bias) */
    bool expert_bias;    /* experts' gate_up / down biases (gpt-oss) */
    bool attn_sinks;     /* one learned sink logit per head and layer (gpt-oss) */
    /* Sliding-window attention: a sliding layer attends to the last sliding_window tokens */
    int64_t sliding_window;                  /* 0 = every layer attends to the whole context */
    int64_t sliding_layers;                  /* how many layers slide */
    uint8_t layer_is_sliding[TM_MAX_LAYERS]; /* 1 where layer i slides */
    tm_model_quant quant;
    /* multi-token prediction (DeepSeek-V3 MTP) modules shipped with the weights:
     * num_nextn_predict_layers; 0 = none (speculative decoding method mtp needs them) */
    int64_t nextn_layers;
    tm_param_counts params;
    /* The config's torch_dtype ("dtype" in newer configs; "" = absent, which HF treats as
     * float32), which --dtype auto follows as vLLM does (docs/timemodel.md §2.3) */
    char config_dtype[16];
} tm_model_spec;

/* Parses a config object. NAME is used in messages ("NAME: num_attention_heads: ...") and
 * stored as the spec's name. Missing required fields, wrong types and absurd values (zero
 * heads, heads not divisible by KV heads, negative sizes) are errors. */
gboolean
tm_model_spec_from_json(tm_model_spec *m, const json_t *cfg, const char *name, GError **error);
/* NAME_OR_PATH: a preset short name (embedded), a Hugging Face model id of a preset
 * ("meta-llama/Llama-3.1-8B-Instruct", case-insensitive; tm_model_preset_ids), or a path to a
 * config.json or to a directory holding one. An existing file or directory wins over an id.
 * Unknown names and ids list close matches. */
gboolean tm_model_spec_load(tm_model_spec *m, const char *name_or_path, GError **error);
/* The embedded preset that NAME (a preset short name or a Hugging Face id, any case) stands
 * for; NULL if none. Does not look at the file system. transfer full */
char *tm_model_resolve_preset(const char *name);
/* The Hugging Face ids that resolve to PRESET, NULL-terminated (empty for none). static */
const char *const *tm_model_preset_ids(const char *preset);
/* Recomputes M's parameter counts from its dimensions (after deriving one spec from another,
 * e.g. a speculative-decoding drafter). */
void tm_model_count_params(tm_model_spec *m);
void tm_model_spec_clear(tm_model_spec *m);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_model_spec, tm_model_spec_clear)

/* The per-query key cap of M's capped attention sums (tm_batch.dsa_topk): the DSA top-k, or
 * the sliding window when some layers slide (a model never has both: the loader refuses
 * sliding windows with MLA); 0 for dense attention. */
uint32_t tm_model_key_cap(const tm_model_spec *m);
/* KV-cache bytes one GPU holds for one sequence of CTX tokens: full-attention layers keep
 * every token, sliding-window layers at most the window (vLLM frees their blocks outside it).
 * Equals CTX · tm_model_kv_bytes_per_token_gpu when no layer slides. */
double tm_model_kv_bytes_context_gpu(const tm_model_spec *m,
                                     tm_dtype kv,
                                     const tm_parallel *p,
                                     double ctx);

/* Short names of the embedded model presets, sorted. Free with g_strfreev. */
char **tm_model_preset_names(void);

/* KV-cache bytes per token, whole model (all layers, all heads): docs/domain.md §2.1.
 * MHA/GQA 2·L·K·d·b; MLA L·(r_kv + d_rope)·b; DSA with an fp8 cache uses the 656-byte
 * fp8_ds_mla latent plus the 132-byte indexer key per layer. */
double tm_model_kv_bytes_per_token(const tm_model_spec *m, tm_dtype kv);
/* The same for one GPU of a replica: KV heads split over tp (replicated when K < tp), MLA
 * latents replicated on every TP rank, layers split over pp. */
double tm_model_kv_bytes_per_token_gpu(const tm_model_spec *m, tm_dtype kv, const tm_parallel *p);
/* Latent bytes per token per layer of an MLA cache (656 for the DSA fp8 format). */
double tm_model_mla_latent_bytes(const tm_model_spec *m, tm_dtype kv);
/* KV heads held by one GPU: K/tp, or 1 when K < tp (replicated). */
int64_t tm_model_kv_heads_per_gpu(const tm_model_spec *m, int64_t tp);

/* Checks that P can shard M (heads and KV heads by tp, FFN sizes by tp, layers by pp, experts
 * by ep). One-line TM_ERROR_PARALLEL message naming the numbers. */
gboolean tm_model_check_parallel(const tm_model_spec *m, const tm_parallel *p, GError **error);

/* Weight bytes held by one GPU: linear layers at WEIGHTS, embeddings / lm-head / norms /
 * router at 2 bytes (vLLM keeps them in the activation dtype), split per P. */
double tm_model_weight_bytes_gpu(const tm_model_spec *m, tm_dtype weights, const tm_parallel *p);
/* The same with the routed experts at EXPERTS (an experts-only quantization: MXFP4 gpt-oss). */
double tm_model_weight_bytes_split_gpu(const tm_model_spec *m,
                                       tm_dtype weights,
                                       tm_dtype experts,
                                       const tm_parallel *p);
