/* timemodel/model_arch.c: which config.json architectures the model loader understands, and
 * what each one's config means beyond the shared fields (timemodel/model.c reads those).
 *
 * One const table row per Hugging Face model_type: norms per layer, per-head q/k norms, the
 * biases attention_bias covers, the embedding tying default, gpt-oss's expert biases and
 * attention sinks, and the sliding-window rule. A model_type that is not in the table is
 * refused with the fields the loader would not understand named, never priced as if it were a
 * Llama (OPT-13B's non-gated ffn_dim would count 17.3 B parameters instead of 12.9 B). A
 * config without model_type (the DeepSeek reference format, servesim's own shape configs) is
 * read as a gated decoder unless it carries fields of another family.
 *
 * Sliding windows follow what vLLM and transformers do per family: layer_types when the config
 * lists them; Gemma-2 alternates (even layers slide); Gemma-3 slides except every
 * sliding_window_pattern-th layer; Qwen2/3 only with use_sliding_window, from
 * max_window_layers on; any other family applies a set sliding_window to every layer (vLLM's
 * ModelConfig.get_sliding_window, Mistral-7B-v0.1). */
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "timemodel/internal.h"
#include "timemodel/model.h"

typedef enum {
    SW_ALL,       /* sliding_window, when set, applies to every layer */
    SW_QWEN,      /* only with use_sliding_window: layers from max_window_layers on */
    SW_ALTERNATE, /* Gemma-2: even layers slide */
    SW_PATTERN,   /* Gemma-3: all but every sliding_window_pattern-th layer */
} sw_rule;

struct tm__arch {
    const char *model_type;
    int norms;            /* RMSNorm weight vectors per layer */
    bool qk_norm;         /* q_norm and k_norm of head_dim each */
    bool qkv_bias_always; /* Qwen2: q, k, v biases whatever attention_bias says */
    bool bias_covers_o;   /* attention_bias adds an o_proj bias too */
    bool tied_default;    /* tie_word_embeddings when the config does not say */
    bool expert_bias;     /* experts' gate_up and down biases (gpt-oss) */
    bool sinks;           /* one learned sink logit per head and layer (gpt-oss) */
    sw_rule sliding;
};

static const tm__arch archs[] = {
    /* model_type     norms qk_norm qkv_b  o_b    tied   e_bias sinks  sliding */
    {"llama", 2, false, false, true, false, false, false, SW_ALL},
    {"mistral", 2, false, false, true, false, false, false, SW_ALL},
    {"mixtral", 2, false, false, true, false, false, false, SW_ALL},
    {"qwen2", 2, false, true, false, false, false, false, SW_QWEN},
    {"qwen2_moe", 2, false, true, false, false, false, false, SW_QWEN},
    {"qwen3", 2, true, false, true, false, false, false, SW_QWEN},
    {"qwen3_moe", 2, true, false, true, false, false, false, SW_QWEN},
    {"deepseek_v2", 2, false, false, false, false, false, false, SW_ALL},
    {"deepseek_v3", 2, false, false, false, false, false, false, SW_ALL},
    {"deepseek_v32", 2, false, false, false, false, false, false, SW_ALL},
    {"gpt_oss", 2, false, false, true, false, true, true, SW_ALL},
    {"gemma2", 4, false, false, true, true, false, false, SW_ALTERNATE},
    {"gemma3_text", 4, true, false, true, true, false, false, SW_PATTERN},
};

/* A config without model_type: a gated decoder. */
static const tm__arch generic = {NULL, 2, false, false, true, false, false, false, SW_ALL};

/* Keys the loader reads (model.c, this file, setup.c's dtypes) or that change nothing servesim
 * prices (token ids, initialisation, dropout, rope and norm constants, logit soft-capping,
 * routing losses, provenance). Anything else in a config of an unknown model_type is named. */
static const char *const understood[] = {
    /* shapes (model.c) */
    "hidden_size", "dim", "num_hidden_layers", "n_layers", "num_attention_heads", "n_heads",
    "vocab_size", "num_key_value_heads", "n_kv_heads", "head_dim", "kv_lora_rank", "q_lora_rank",
    "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "index_topk", "index_n_heads",
    "index_head_dim", "n_routed_experts", "num_local_experts", "num_experts", "intermediate_size",
    "inter_dim", "num_experts_per_tok", "n_activated_experts", "top_k", "experts_per_token",
    "moe_intermediate_size", "moe_inter_dim", "n_shared_experts", "first_k_dense_replace",
    "n_dense_layers", "moe_layer_freq", "decoder_sparse_step", "shared_expert_intermediate_size",
    "topk_method", "score_func", "mlp_only_layers", "max_position_embeddings", "max_seq_len",
    "seq_length", "tie_word_embeddings", "attention_bias", "mlp_bias", "model_type", "torch_dtype",
    "dtype", "quantization_config", "rope_scaling",
    /* sliding windows (this file) */
    "sliding_window", "use_sliding_window", "max_window_layers", "layer_types",
    "sliding_window_pattern",
    /* no effect on shapes or costs */
    "_servesim_source", "architectures", "attention_dropout", "auto_map", "aux_loss_alpha",
    "bos_token_id", "eos_token_id", "pad_token_id", "ep_size", "hidden_act", "hidden_activation",
    "initializer_range", "n_expert_groups", "n_group", "n_limited_groups", "topk_group",
    "norm_topk_prob", "num_nextn_predict_layers", "output_router_logits", "pretraining_tp",
    "rms_norm_eps", "rope_theta", "route_scale", "routed_scaling_factor", "router_aux_loss_coef",
    "scale_fmt", "scoring_func", "seq_aux", "transformers_version", "use_cache",
    "query_pre_attn_scalar", "final_logit_softcapping", "attn_logit_softcapping", "swiglu_limit",
    "initial_context_length", "rope_local_base_freq", "cache_implementation", "attn_implementation",
    "use_bidirectional_attention", NULL};

/* Fields of other families that mean a different layer layout (non-gated MLPs, LayerNorm
 * with biases, projected embeddings, parallel blocks, ALiBi): a config without model_type that
 * has one is not read as a gated decoder. */
static const char *const foreign[] = {"ffn_dim",
                                      "word_embed_proj_dim",
                                      "n_inner",
                                      "n_embd",
                                      "n_layer",
                                      "n_head",
                                      "d_model",
                                      "do_layer_norm_before",
                                      "enable_bias",
                                      "activation_function",
                                      "parallel_attn",
                                      "new_decoder_architecture",
                                      "alibi",
                                      "multi_query",
                                      "n_positions",
                                      "layer_norm_epsilon",
                                      "rotary_pct",
                                      "use_parallel_residual",
                                      NULL};

/* "a, b, c" of the keys of CFG that are not in ALLOWED (or, when ONLY is set, that are in
 * ONLY), in the config's order, at most 6; NULL when none. */
static char *
list_keys(const json_t *cfg, const char *const *allowed, const char *const *only)
{
    GString *g = g_string_new(NULL);
    int n = 0;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(uintptr_t)cfg, k, v) {
        bool pick = only != NULL ? base_strv_index(only, k) >= 0 : base_strv_index(allowed, k) < 0;
        if (!pick)
            continue;
        if (n++ < 6)
            g_string_append_printf(g, "%s%s", g->len ? ", " : "", k);
    }
    if (n > 6)
        g_string_append_printf(g, ", ... (%d in all)", n);
    return g_string_free(g, g->len == 0);
}

const tm__arch *
tm__model_arch_find(const json_t *cfg, const char *name, GError **error)
{
    const json_t *mt = json_object_get(cfg, "model_type");
    const tm__arch *a = NULL;
    if (mt == NULL || json_is_null(mt)) {
        g_autofree char *bad = list_keys(cfg, NULL, foreign);
        if (bad != NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: no model_type, and fields of another architecture the loader does "
                        "not understand: %s (give a config of a supported model_type)",
                        name, bad);
            return NULL;
        }
        a = &generic;
    } else if (!json_is_string(mt)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: model_type: expected a string, got %s",
                    name, base_json_type_name(mt));
        return NULL;
    } else {
        for (size_t i = 0; i < G_N_ELEMENTS(archs) && a == NULL; i++)
            if (strcmp(archs[i].model_type, json_string_value(mt)) == 0)
                a = &archs[i];
    }
    if (a == NULL) {
        const char *names[G_N_ELEMENTS(archs) + 1];
        for (size_t i = 0; i < G_N_ELEMENTS(archs); i++)
            names[i] = archs[i].model_type;
        names[G_N_ELEMENTS(archs)] = NULL;
        g_autofree char *all = base_strv_join(names, ", ");
        /* the other family's layout fields say most; else whatever is not understood */
        g_autofree char *bad = list_keys(cfg, NULL, foreign);
        if (bad == NULL)
            bad = list_keys(cfg, understood, NULL);
        g_autofree char *shown = base_escape_text(json_string_value(mt), 64);
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: model_type '%s' is not an architecture servesim understands%s%s%s "
                    "(supported: %s)",
                    name, shown, bad ? " (fields it would not understand: " : "", bad ? bad : "",
                    bad ? ")" : "", all);
        return NULL;
    }
    return a;
}

gboolean
tm__model_arch_apply(
    tm_model_spec *m, const tm__arch *a, const json_t *cfg, const char *name, GError **error)
{
    m->norms_per_layer = a->norms;
    m->qk_norm = a->qk_norm;
    const json_t *ab = json_object_get(cfg, "attention_bias");
    bool attn_bias = json_is_true(ab);
    m->qkv_bias = attn_bias || a->qkv_bias_always;
    m->o_bias = attn_bias && a->bias_covers_o;
    m->mlp_bias = json_is_true(json_object_get(cfg, "mlp_bias"));
    m->expert_bias = a->expert_bias;
    m->attn_sinks = a->sinks;
    const json_t *tie = json_object_get(cfg, "tie_word_embeddings");
    m->tied_embeddings = json_is_boolean(tie) ? json_is_true(tie) : a->tied_default;
    if (a->expert_bias)
        m->router_bias = true; /* gpt-oss's router is a Linear with a bias */
    return tm__model_sliding(m, cfg, name, a->sliding, error);
}

/* A non-negative integer field, or DEF when absent / null. */
static gboolean
int_field(
    const json_t *cfg, const char *key, int64_t def, int64_t *out, const char *name, GError **error)
{
    const json_t *v = json_object_get(cfg, key);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return TRUE;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: %s: expected an integer in [0, 1e9], got %s", name, key,
                    base_json_type_name(v));
        return FALSE;
    }
    *out = json_integer_value(v);
    return TRUE;
}

gboolean
tm__model_sliding(tm_model_spec *m, const json_t *cfg, const char *name, int rule, GError **error)
{
    int64_t w = 0;
    if (!int_field(cfg, "sliding_window", 0, &w, name, error))
        return FALSE;
    const json_t *lt = json_object_get(cfg, "layer_types");
    memset(m->layer_is_sliding, 0, sizeof m->layer_is_sliding);
    m->sliding_layers = 0;
    m->sliding_window = 0;
    if (lt != NULL && !json_is_null(lt)) {
        if (!json_is_array(lt) || (int64_t)json_array_size(lt) != m->layers) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: layer_types: expected a list of %" G_GINT64_FORMAT
                        " layer kinds (one per layer)",
                        name, m->layers);
            return FALSE;
        }
        size_t i;
        const json_t *e;
        json_array_foreach(lt, i, e) {
            const char *k = json_is_string(e) ? json_string_value(e) : "";
            if (strcmp(k, "sliding_attention") == 0) {
                m->layer_is_sliding[i] = 1;
            } else if (strcmp(k, "full_attention") != 0) {
                g_autofree char *shown = base_escape_text(k, 32);
                g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                            "%s: layer_types[%zu]: '%s' is not a layer kind servesim models "
                            "(full_attention, sliding_attention)",
                            name, i, shown);
                return FALSE;
            }
        }
    } else if (w > 0) {
        int64_t from = 0, pattern = 6;
        const json_t *use = json_object_get(cfg, "use_sliding_window");
        switch ((sw_rule)rule) {
        case SW_QWEN:
            if (!json_is_true(use))
                return TRUE; /* Qwen2/3 configs carry a window they do not use */
            if (!int_field(cfg, "max_window_layers", 0, &from, name, error))
                return FALSE;
            for (int64_t i = from; i < m->layers; i++)
                m->layer_is_sliding[i] = 1;
            break;
        case SW_ALTERNATE:
            for (int64_t i = 0; i < m->layers; i += 2)
                m->layer_is_sliding[i] = 1;
            break;
        case SW_PATTERN:
            if (!int_field(cfg, "sliding_window_pattern", 6, &pattern, name, error))
                return FALSE;
            if (pattern < 1)
                pattern = 1;
            for (int64_t i = 0; i < m->layers; i++)
                m->layer_is_sliding[i] = (i + 1) % pattern != 0;
            break;
        case SW_ALL:
            for (int64_t i = 0; i < m->layers; i++)
                m->layer_is_sliding[i] = 1;
            break;
        }
    }
    for (int64_t i = 0; i < m->layers; i++)
        m->sliding_layers += m->layer_is_sliding[i];
    if (m->sliding_layers > 0 && w <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: layer_types has sliding_attention layers but sliding_window is not set",
                    name);
        return FALSE;
    }
    if (m->sliding_layers > 0 && m->mla) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: sliding-window attention with MLA is not modelled (sliding_window)", name);
        return FALSE;
    }
    m->sliding_window = m->sliding_layers > 0 ? w : 0;
    return TRUE;
}
