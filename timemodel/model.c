/* timemodel/model.c: Hugging Face config.json (and DeepSeek reference-code config) → model
 * spec with derived dims, layer pattern (dense vs MoE), parameter counts, KV bytes per token
 * and per-GPU weight bytes (docs/domain.md §2.1, §3.2–3.5).
 * Invariants after a successful parse: every size used as a divisor is > 0, heads % kv_heads
 * == 0, topk ≤ experts, moe_layers + dense_layers == layers ≤ TM_MAX_LAYERS. */
#include "timemodel/model.h"

#include <math.h>
#include <string.h>

#include "base/asset.h"
#include "base/json.h"
#include "base/match.h"
#include "timemodel/internal.h"

/* Bytes per token per layer of the DSA indexer key cache: fp8 keys + one fp32 scale per 128
 * values (docs/domain.md §2.1: 128 + 4 = 132 for index_head_dim 128). */
static double
indexer_key_bytes(const tm_model_spec *m)
{
    return (double)m->index_head_dim + 4.0 * (double)((m->index_head_dim + 127) / 128);
}

double
tm_model_mla_latent_bytes(const tm_model_spec *m, tm_dtype kv)
{
    if (m->index_topk > 0 && kv == TM_DTYPE_FP8) {
        /* fp8_ds_mla: fp8 latent + fp32 scale per 128 values + bf16 rope (656 B for V3.2) */
        return (double)m->kv_lora_rank + 4.0 * (double)((m->kv_lora_rank + 127) / 128) +
               2.0 * (double)m->qk_rope_head_dim;
    }
    return (double)(m->kv_lora_rank + m->qk_rope_head_dim) * tm_dtype_bytes(kv);
}

int64_t
tm_model_kv_heads_per_gpu(const tm_model_spec *m, int64_t tp)
{
    return m->kv_heads >= tp ? m->kv_heads / tp : 1;
}

static double
kv_bytes_per_layer(const tm_model_spec *m, tm_dtype kv, int64_t kv_heads)
{
    if (m->mla) {
        double b = tm_model_mla_latent_bytes(m, kv);
        if (m->index_topk > 0)
            b += indexer_key_bytes(m);
        return b;
    }
    return 2.0 * (double)kv_heads * (double)m->head_dim * tm_dtype_bytes(kv);
}

double
tm_model_kv_bytes_per_token(const tm_model_spec *m, tm_dtype kv)
{
    return (double)m->layers * kv_bytes_per_layer(m, kv, m->kv_heads);
}

uint32_t
tm_model_key_cap(const tm_model_spec *m)
{
    if (m->index_topk > 0)
        return (uint32_t)m->index_topk;
    return m->sliding_layers > 0 ? (uint32_t)m->sliding_window : 0u;
}

double
tm_model_kv_bytes_context_gpu(const tm_model_spec *m, tm_dtype kv, const tm_parallel *p, double ctx)
{
    double per = tm_model_kv_bytes_per_token_gpu(m, kv, p);
    if (m->sliding_layers <= 0)
        return per * ctx;
    double f = (double)m->sliding_layers / (double)m->layers;
    return per * ((1.0 - f) * ctx + f * fmin(ctx, (double)m->sliding_window));
}

double
tm_model_kv_bytes_per_token_gpu(const tm_model_spec *m, tm_dtype kv, const tm_parallel *p)
{
    int64_t k = tm_model_kv_heads_per_gpu(m, p->tp);
    /* the stage with the most layers binds (vLLM sizes one block count for all stages) */
    int64_t most = 0;
    for (int64_t s = 0; s < p->pp; s++) {
        int64_t n = tm_pp_stage_layers(m->layers, p->pp, s, NULL);
        most = n > most ? n : most;
    }
    return (double)most * kv_bytes_per_layer(m, kv, k);
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* First present, non-null key among KEYS (NULL-terminated); NULL if none. */
static const json_t *
find_key(const json_t *cfg, const char *const *keys, const char **which)
{
    for (size_t i = 0; keys[i] != NULL; i++) {
        const json_t *v = json_object_get(cfg, keys[i]);
        if (v != NULL && !json_is_null(v)) {
            *which = keys[i];
            return v;
        }
    }
    *which = keys[0];
    return NULL;
}

/* Largest value of any integer field (sizes, counts): far above any real model. */
#define MAX_FIELD 1e12

/* Reads an integer field. MIN is the smallest allowed value; REQUIRED fields without a
 * default are errors when absent. */
static gboolean
get_int(const json_t *cfg,
        const char *name,
        const char *const *keys,
        bool required,
        int64_t def,
        int64_t min,
        int64_t *out,
        GError **error)
{
    const char *key;
    const json_t *v = find_key(cfg, keys, &key);
    if (v == NULL) {
        if (required) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: missing %s", name, keys[0]);
            return FALSE;
        }
        *out = def;
        return TRUE;
    }
    double d;
    if (json_is_integer(v)) {
        d = (double)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        d = json_real_value(v); /* "dim": 94e18 is whole but outside int64: range first */
    } else {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s: expected an integer, got %s", name,
                    key, base_json_type_name(v));
        return FALSE;
    }
    if (d < (double)min || d > MAX_FIELD) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    fabs(d) < 1e15 ? "%s: %s: %.0f is out of range (must be %s, at most %g)"
                                   : "%s: %s: %g is out of range (must be %s, at most %g)",
                    name, key, d, min > 0 ? "positive" : "non-negative", MAX_FIELD);
        return FALSE;
    }
    *out = (int64_t)d; /* in [min, MAX_FIELD]: the cast is exact */
    return TRUE;
}

/* Dtype names a config may carry in torch_dtype / dtype: vLLM's table of torch names
 * (vllm/config/model.py _STR_DTYPE_TO_TORCH_DTYPE) and the DeepSeek reference code's. */
static const char *const config_dtypes[] = {"bfloat16", "float16", "float32", "float",
                                            "half",     "bf16",    "fp8",     NULL};

/* Fields read for their type only: the dtype the checkpoint is stored in (servesim takes the
 * dtype from --dtype) and rope_scaling (its factor changes nothing that is modelled), so that a
 * typo is an error instead of being ignored. */
static gboolean
check_typed_fields(const json_t *cfg, const char *name, int64_t layers, GError **error)
{
    static const char *const dtype_keys[] = {"torch_dtype", "dtype", NULL};
    for (size_t i = 0; dtype_keys[i] != NULL; i++) {
        const json_t *v = json_object_get(cfg, dtype_keys[i]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s: expected a string, got %s", name,
                        dtype_keys[i], base_json_type_name(v));
            return FALSE;
        }
        if (base_strv_index(config_dtypes, json_string_value(v)) < 0) {
            g_autofree char *shown = base_escape_text(json_string_value(v), 64);
            g_autofree char *list = base_strv_join(config_dtypes, ", ");
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: %s: unknown dtype '%s' (expected one of: %s)", name, dtype_keys[i],
                        shown, list);
            return FALSE;
        }
    }
    const json_t *rs = json_object_get(cfg, "rope_scaling");
    if (rs != NULL && !json_is_null(rs) && !json_is_object(rs)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: rope_scaling: expected an object or null, got %s", name,
                    base_json_type_name(rs));
        return FALSE;
    }
    const json_t *mo = json_object_get(cfg, "mlp_only_layers");
    if (mo != NULL && !json_is_null(mo)) {
        if (!json_is_array(mo)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        "%s: mlp_only_layers: expected a list of layer indices, got %s", name,
                        base_json_type_name(mo));
            return FALSE;
        }
        size_t i;
        const json_t *e;
        json_array_foreach(mo, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                json_integer_value(e) >= layers) {
                g_set_error(
                    error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: mlp_only_layers: element %zu is not a layer index in [0, %" G_GINT64_FORMAT
                    ")",
                    name, i, layers);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static const char *
get_str(const json_t *cfg, const char *key)
{
    const json_t *v = json_object_get(cfg, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void
count_params(tm_model_spec *m)
{
    tm_param_counts *c = &m->params;
    memset(c, 0, sizeof *c);
    double h = (double)m->hidden, L = (double)m->layers, H = (double)m->heads;
    double attn_layer, norms_layer = (double)m->norms_per_layer * h;
    if (m->mla) {
        double dqk = (double)(m->qk_nope_head_dim + m->qk_rope_head_dim);
        double r = (double)m->kv_lora_rank;
        double q = m->q_lora_rank > 0
                       ? h * (double)m->q_lora_rank + (double)m->q_lora_rank * H * dqk
                       : h * H * dqk;
        attn_layer = q + h * (r + (double)m->qk_rope_head_dim) +
                     r * H * (double)(m->qk_nope_head_dim + m->v_head_dim) +
                     H * (double)m->v_head_dim * h;
        norms_layer += r + (double)m->q_lora_rank; /* kv_a_layernorm, q_a_layernorm */
    } else {
        double d = (double)m->head_dim, K = (double)m->kv_heads;
        attn_layer = h * (H + 2.0 * K) * d + H * d * h;
        if (m->qkv_bias)
            attn_layer += (H + 2.0 * K) * d;
        if (m->o_bias)
            attn_layer += h;
        if (m->attn_sinks)
            attn_layer += H; /* gpt-oss: one sink logit per head */
        if (m->qk_norm)
            norms_layer += 2.0 * d; /* q_norm, k_norm */
    }
    double idx_layer = 0.0;
    if (m->index_topk > 0) {
        double qin = m->q_lora_rank > 0 ? (double)m->q_lora_rank : h;
        double ih = (double)m->index_heads, id = (double)m->index_head_dim;
        idx_layer = qin * ih * id + h * id + h * ih;
        norms_layer += 2.0 * id; /* indexer k_norm (LayerNorm weight + bias) */
    }
    double Lm = (double)m->moe_layers, Ld = (double)m->dense_layers;
    double expert = 3.0 * h * (double)m->expert_ffn;
    if (m->expert_bias)
        expert += 2.0 * (double)m->expert_ffn + h; /* gate_up and down biases */
    c->embed = (double)m->vocab * h;
    c->lm_head = m->tied_embeddings ? 0.0 : (double)m->vocab * h;
    c->attn = L * attn_layer;
    c->indexer = L * idx_layer;
    c->mlp = Ld * (3.0 * h * (double)m->ffn + (m->mlp_bias ? 2.0 * (double)m->ffn + h : 0.0));
    c->experts = Lm * (double)m->experts * expert;
    c->shared_experts = Lm * (double)m->shared_experts * 3.0 * h * (double)m->shared_ffn;
    c->router = Lm * (double)m->experts * (h + (m->router_bias ? 1.0 : 0.0));
    c->norms = L * norms_layer + h;
    double common = c->embed + c->lm_head + c->attn + c->indexer + c->mlp + c->shared_experts +
                    c->router + c->norms;
    c->total = common + c->experts;
    c->active = common + Lm * (double)m->topk * expert;
}

void
tm_model_count_params(tm_model_spec *m)
{
    count_params(m);
}

static gboolean
positive(const char *name, const char *what, int64_t v, GError **error)
{
    if (v <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: %s must be positive, got %" G_GINT64_FORMAT, name, what, v);
        return FALSE;
    }
    return TRUE;
}

gboolean
tm_model_spec_from_json(tm_model_spec *m, const json_t *cfg, const char *name, GError **error)
{
    g_return_val_if_fail(m != NULL && name != NULL, FALSE);
    memset(m, 0, sizeof *m);
    if (!json_is_object(cfg)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected a JSON object", name);
        return FALSE;
    }
    /* DeepSeek reference code (inference/config_*.json): dim, n_layers, n_heads, ... */
    bool native = json_object_get(cfg, "hidden_size") == NULL &&
                  json_object_get(cfg, "dim") != NULL && json_object_get(cfg, "n_layers") != NULL;
    const char *mt = get_str(cfg, "model_type");
    /* an architecture the loader does not understand is refused before any field is read */
    const tm__arch *arch = tm__model_arch_find(cfg, name, error);
    if (arch == NULL)
        return FALSE;
    m->name = g_strdup(name);
    m->arch = g_strdup(native ? "deepseek_native" : mt != NULL ? mt : "unknown");
    gboolean ok =
        get_int(cfg, name, KEYS("hidden_size", "dim"), true, 0, 1, &m->hidden, error) &&
        get_int(cfg, name, KEYS("num_hidden_layers", "n_layers"), true, 0, 1, &m->layers, error) &&
        get_int(cfg, name, KEYS("num_attention_heads", "n_heads"), true, 0, 1, &m->heads, error) &&
        get_int(cfg, name, KEYS("vocab_size"), true, 0, 1, &m->vocab, error);
    if (!ok)
        goto fail;
    if (m->layers > TM_MAX_LAYERS) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: %" G_GINT64_FORMAT " layers is more than servesim supports (%d)", name,
                    m->layers, TM_MAX_LAYERS);
        goto fail;
    }
    if (!check_typed_fields(cfg, name, m->layers, error) ||
        !tm__model_quant_parse(m, cfg, name, error))
        goto fail;
    const char *hk;
    bool has_head_dim = find_key(cfg, KEYS("head_dim"), &hk) != NULL;
    if (!get_int(cfg, name, KEYS("num_key_value_heads", "n_kv_heads"), false, m->heads, 1,
                 &m->kv_heads, error) ||
        !get_int(cfg, name, KEYS("head_dim"), false, m->hidden / m->heads, 1, &m->head_dim, error))
        goto fail;
    /* MLA */
    if (!get_int(cfg, name, KEYS("kv_lora_rank"), false, 0, 0, &m->kv_lora_rank, error) ||
        !get_int(cfg, name, KEYS("q_lora_rank"), false, 0, 0, &m->q_lora_rank, error))
        goto fail;
    m->mla = m->kv_lora_rank > 0;
    if (!m->mla && !has_head_dim && m->hidden % m->heads != 0) {
        /* head_dim = hidden / heads would silently round down (to 0 when heads > hidden). */
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: hidden_size %" G_GINT64_FORMAT
                    " is not divisible by num_attention_heads %" G_GINT64_FORMAT " (give head_dim)",
                    name, m->hidden, m->heads);
        goto fail;
    }
    if (m->mla) {
        if (!get_int(cfg, name, KEYS("qk_nope_head_dim"), true, 0, 1, &m->qk_nope_head_dim,
                     error) ||
            !get_int(cfg, name, KEYS("qk_rope_head_dim"), true, 0, 1, &m->qk_rope_head_dim,
                     error) ||
            !get_int(cfg, name, KEYS("v_head_dim"), true, 0, 1, &m->v_head_dim, error))
            goto fail;
        m->head_dim = m->qk_nope_head_dim + m->qk_rope_head_dim;
        m->kv_heads = m->heads; /* MLA expands the latent to every head */
    }
    /* multi-token prediction modules (DeepSeek-V3 MTP; speculative decoding method mtp) */
    if (!get_int(cfg, name, KEYS("num_nextn_predict_layers"), false, 0, 0, &m->nextn_layers, error))
        goto fail;
    /* DSA indexer */
    if (!get_int(cfg, name, KEYS("index_topk"), false, 0, 0, &m->index_topk, error))
        goto fail;
    if (m->index_topk > 0) {
        if (!m->mla) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: index_topk is set but the model has no MLA (kv_lora_rank)", name);
            goto fail;
        }
        if (!get_int(cfg, name, KEYS("index_n_heads"), true, 0, 1, &m->index_heads, error) ||
            !get_int(cfg, name, KEYS("index_head_dim"), true, 0, 1, &m->index_head_dim, error))
            goto fail;
    }
    /* MoE */
    if (!get_int(cfg, name, KEYS("n_routed_experts", "num_local_experts", "num_experts"), false, 0,
                 0, &m->experts, error))
        goto fail;
    int64_t inter = 0;
    if (!get_int(cfg, name, KEYS("intermediate_size", "inter_dim"), m->experts == 0, 0, 1, &inter,
                 error))
        goto fail;
    int64_t first_dense = 0, freq = 1, sparse_step = 1;
    if (m->experts > 0) {
        if (!get_int(cfg, name, KEYS("num_experts_per_tok", "n_activated_experts", "top_k"), true,
                     0, 1, &m->topk, error) ||
            !get_int(cfg, name, KEYS("moe_intermediate_size", "moe_inter_dim"), false, inter, 1,
                     &m->expert_ffn, error) ||
            !get_int(cfg, name, KEYS("n_shared_experts"), false, 0, 0, &m->shared_experts, error) ||
            !get_int(cfg, name, KEYS("first_k_dense_replace", "n_dense_layers"), false, 0, 0,
                     &first_dense, error) ||
            !get_int(cfg, name, KEYS("moe_layer_freq"), false, 1, 1, &freq, error) ||
            !get_int(cfg, name, KEYS("decoder_sparse_step"), false, 1, 1, &sparse_step, error))
            goto fail;
        if (m->expert_ffn <= 0) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: missing moe_intermediate_size", name);
            goto fail;
        }
        m->shared_ffn = m->expert_ffn;
        int64_t sh = 0;
        if (!get_int(cfg, name, KEYS("shared_expert_intermediate_size"), false, 0, 0, &sh, error))
            goto fail;
        if (sh > 0) { /* Qwen2-MoE: one shared expert of its own size */
            m->shared_experts = 1;
            m->shared_ffn = sh;
        }
        if (m->topk > m->experts) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: num_experts_per_tok %" G_GINT64_FORMAT " exceeds the %" G_GINT64_FORMAT
                        " experts",
                        name, m->topk, m->experts);
            goto fail;
        }
        const char *st = get_str(cfg, "topk_method");
        const char *sf = get_str(cfg, "score_func");
        m->router_bias = (st != NULL && strcmp(st, "noaux_tc") == 0) ||
                         (native && sf != NULL && strcmp(sf, "sigmoid") == 0);
    }
    const json_t *mlp_only = json_object_get(cfg, "mlp_only_layers");
    for (int64_t i = 0; i < m->layers; i++) {
        bool moe =
            m->experts > 0 && i >= first_dense && i % freq == 0 && (i + 1) % sparse_step == 0;
        size_t j;
        const json_t *e;
        json_array_foreach(mlp_only, j, e) {
            if (json_is_integer(e) && json_integer_value(e) == i)
                moe = false;
        }
        m->layer_is_moe[i] = moe;
        m->moe_layers += moe;
    }
    m->dense_layers = m->layers - m->moe_layers;
    m->ffn = m->dense_layers > 0 ? inter : 0;
    if (m->dense_layers > 0 && !positive(name, "intermediate_size", m->ffn, error))
        goto fail;
    if (!get_int(cfg, name, KEYS("max_position_embeddings", "max_seq_len", "seq_length"), !native,
                 163840, 1, &m->max_position_embeddings, error))
        goto fail;
    /* biases, norms, tying and sliding windows by model_type (model_arch.c) */
    if (!tm__model_arch_apply(m, arch, cfg, name, error))
        goto fail;
    if (m->heads % m->kv_heads != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: num_attention_heads %" G_GINT64_FORMAT
                    " is not divisible by num_key_value_heads %" G_GINT64_FORMAT,
                    name, m->heads, m->kv_heads);
        goto fail;
    }
    const char *td = get_str(cfg, "torch_dtype");
    if (td == NULL)
        td = get_str(cfg, "dtype");
    g_strlcpy(m->config_dtype, td != NULL ? td : "", sizeof m->config_dtype);
    count_params(m);
    return TRUE;
fail:
    tm_model_spec_clear(m);
    return FALSE;
}

void
tm_model_spec_clear(tm_model_spec *m)
{
    if (m == NULL)
        return;
    g_free(m->name);
    g_free(m->arch);
    memset(m, 0, sizeof *m);
}

char **
tm_model_preset_names(void)
{
    return base_asset_list("models/", ".json");
}

static bool
looks_like_path(const char *s)
{
    return strchr(s, '/') != NULL || g_str_has_suffix(s, ".json") || g_str_has_suffix(s, ".gz");
}

json_t *
tm__load_named_json(const char *dir, const char *kind, const char *name_or_path, GError **error)
{
    if (name_or_path == NULL || *name_or_path == '\0') {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "no %s given", kind);
        return NULL;
    }
    if (looks_like_path(name_or_path))
        return base_json_load_file(name_or_path, error);
    g_autofree char *lower = g_ascii_strdown(name_or_path, -1);
    g_autofree char *asset = g_strdup_printf("%s/%s.json", dir, lower);
    if (base_asset_find(asset) != NULL) {
        g_autoptr(GBytes) b = base_asset_bytes(asset, error);
        if (b == NULL)
            return NULL;
        gsize n;
        const void *data = g_bytes_get_data(b, &n);
        return base_json_load_bytes(asset, data, n, error);
    }
    g_autofree char *prefix = g_strdup_printf("%s/", dir);
    g_auto(GStrv) names = base_asset_list(prefix, ".json");
    g_autofree char *close = base_suggest(name_or_path, (const char *const *)names);
    g_autofree char *all = g_strjoinv(", ", names);
    g_autofree char *shown = base_escape_text(name_or_path, 80); /* a setting's text, one line */
    if (names[0] == NULL)
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                    "unknown %s '%s' (none is embedded; give a path to a JSON file)", kind, shown);
    else if (close != NULL)
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN, "unknown %s '%s' (did you mean %s?)", kind,
                    shown, close);
    else
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                    "unknown %s '%s' (known: %s; or give a path to a JSON file)", kind, shown, all);
    return NULL;
}

/* Hugging Face ids per preset: the repositories whose config.json the preset is (or has the
 * same shape as: base and chat/instruct variants of one architecture, same context length).
 * timemodel/presets/ATTRIBUTION.md names the file each preset was copied from. */
static const struct {
    const char *preset;
    const char *ids[5];
} model_ids[] = {
    {"codellama-34b", {"codellama/CodeLlama-34b-Instruct-hf", "codellama/CodeLlama-34b-hf"}},
    {"deepseek-v2-lite", {"deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V2-Lite-Chat"}},
    {"deepseek-v3",
     {"deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-Base", "deepseek-ai/DeepSeek-V3-0324",
      "deepseek-ai/DeepSeek-R1"}},
    {"deepseek-v3.2", {"deepseek-ai/DeepSeek-V3.2"}},
    {"deepseek-v3.2-exp", {"deepseek-ai/DeepSeek-V3.2-Exp"}},
    {"llama-2-13b", {"meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-13b-chat-hf"}},
    {"llama-2-70b", {"meta-llama/Llama-2-70b-hf", "meta-llama/Llama-2-70b-chat-hf"}},
    {"llama-2-7b", {"meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf"}},
    {"llama-3.1-70b", {"meta-llama/Llama-3.1-70B", "meta-llama/Meta-Llama-3.1-70B"}},
    {"llama-3.1-70b-instruct",
     {"meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct"}},
    {"llama-3.1-8b", {"meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B"}},
    {"llama-3.1-8b-instruct",
     {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct"}},
    {"mistral-nemo-12b", {"mistralai/Mistral-Nemo-Instruct-2407"}},
    {"mixtral-8x7b", {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"}},
    /* the Qwen2.5 presets carry the Instruct configs' 32,768-token context (base: 131,072) */
    {"qwen2.5-14b", {"Qwen/Qwen2.5-14B-Instruct"}},
    {"qwen2.5-72b", {"Qwen/Qwen2.5-72B-Instruct"}},
    {"qwen2.5-7b", {"Qwen/Qwen2.5-7B-Instruct"}},
    {"qwen3-14b", {"Qwen/Qwen3-14B"}},
    {"qwen3-30b-a3b", {"Qwen/Qwen3-30B-A3B"}},
    {"qwen3-30b-a3b-instruct-2507", {"Qwen/Qwen3-30B-A3B-Instruct-2507"}},
    {"qwen3-32b", {"Qwen/Qwen3-32B"}},
    {"yi-34b", {"01-ai/Yi-34B", "01-ai/Yi-34B-Chat"}},
};

const char *const *
tm_model_preset_ids(const char *preset)
{
    static const char *const none[] = {NULL};
    for (size_t i = 0; preset != NULL && i < G_N_ELEMENTS(model_ids); i++)
        if (strcmp(model_ids[i].preset, preset) == 0)
            return model_ids[i].ids;
    return none;
}

char *
tm_model_resolve_preset(const char *name)
{
    if (name == NULL || *name == '\0')
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(model_ids); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(model_ids[i].ids) && model_ids[i].ids[k] != NULL; k++)
            if (g_ascii_strcasecmp(model_ids[i].ids[k], name) == 0)
                return g_strdup(model_ids[i].preset);
    if (strchr(name, '/') != NULL)
        return NULL;
    g_autofree char *lower = g_ascii_strdown(name, -1);
    g_autofree char *asset = g_strdup_printf("models/%s.json", lower);
    return base_asset_find(asset) != NULL ? g_steal_pointer(&lower) : NULL;
}

/* "org/name": what a Hugging Face id looks like (and a relative path could, too). */
static bool
looks_like_hf_id(const char *s)
{
    const char *slash = strchr(s, '/');
    return slash != NULL && slash != s && strchr(slash + 1, '/') == NULL && slash[1] != '\0' &&
           s[0] != '.' && !g_str_has_suffix(s, ".json") && !g_str_has_suffix(s, ".gz");
}

/* "unknown model 'ID' (did you mean ...?)" over preset names and ids. */
static void
unknown_id(const char *id, GError **error)
{
    /* owned copies, NULL-terminated (the ids are const data) */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) presets = tm_model_preset_names();
    for (size_t i = 0; presets[i] != NULL; i++)
        g_ptr_array_add(names, g_strdup(presets[i]));
    for (size_t i = 0; i < G_N_ELEMENTS(model_ids); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(model_ids[i].ids) && model_ids[i].ids[k] != NULL; k++)
            g_ptr_array_add(names, g_strdup(model_ids[i].ids[k]));
    g_ptr_array_add(names, NULL);
    g_autofree char *close = base_suggest(id, (const char *const *)names->pdata);
    if (close != NULL)
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                    "unknown model '%s' (did you mean %s? or give a path to its config.json)", id,
                    close);
    else
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                    "unknown model '%s' (not a file, and no embedded preset has that Hugging Face "
                    "id: see `servesim presets`; or give a path to its config.json)",
                    id);
}

gboolean
tm_model_spec_load(tm_model_spec *m, const char *name_or_path, GError **error)
{
    if (name_or_path != NULL && g_file_test(name_or_path, G_FILE_TEST_IS_DIR)) {
        /* a downloaded snapshot directory, as vLLM accepts */
        g_autofree char *cfgpath = g_build_filename(name_or_path, "config.json", NULL);
        json_auto_t *cfg = base_json_load_file(cfgpath, error);
        return cfg != NULL && tm_model_spec_from_json(m, cfg, cfgpath, error);
    }
    if (name_or_path != NULL && !g_file_test(name_or_path, G_FILE_TEST_EXISTS)) {
        g_autofree char *preset = tm_model_resolve_preset(name_or_path);
        if (preset != NULL) {
            g_autofree char *asset = g_strdup_printf("models/%s.json", preset);
            g_autoptr(GBytes) b = base_asset_bytes(asset, error);
            if (b == NULL)
                return FALSE;
            gsize n;
            const void *data = g_bytes_get_data(b, &n);
            json_auto_t *cfg = base_json_load_bytes(asset, data, n, error);
            return cfg != NULL && tm_model_spec_from_json(m, cfg, preset, error);
        }
        if (looks_like_hf_id(name_or_path)) {
            unknown_id(name_or_path, error);
            return FALSE;
        }
    }
    json_auto_t *cfg = tm__load_named_json("models", "model", name_or_path, error);
    if (cfg == NULL)
        return FALSE;
    g_autofree char *base = g_path_get_basename(name_or_path);
    const char *name = looks_like_path(name_or_path) ? name_or_path : base;
    return tm_model_spec_from_json(m, cfg, name, error);
}

/* ---- parallel checks and per-GPU weights ----------------------------------------------- */

static gboolean
divides(const char *flag, int64_t n, const char *what, int64_t v, GError **error)
{
    if (v % n != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "%s %" G_GINT64_FORMAT " does not divide %s %" G_GINT64_FORMAT, flag, n, what,
                    v);
        return FALSE;
    }
    return TRUE;
}

gboolean
tm_model_check_parallel(const tm_model_spec *m, const tm_parallel *p, GError **error)
{
    const char *tpf = "--tensor-parallel-size";
    if (!divides(tpf, p->tp, "num_attention_heads", m->heads, error))
        return FALSE;
    if (!m->mla) {
        if (m->kv_heads >= p->tp) {
            if (!divides(tpf, p->tp, "num_key_value_heads", m->kv_heads, error))
                return FALSE;
        } else if (p->tp % m->kv_heads != 0) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                        "%s %" G_GINT64_FORMAT
                        " is not a multiple of num_key_value_heads %" G_GINT64_FORMAT
                        " (KV heads are replicated only when tp is a multiple)",
                        tpf, p->tp, m->kv_heads);
            return FALSE;
        }
    }
    if (m->dense_layers > 0 && !divides(tpf, p->tp, "intermediate_size", m->ffn, error))
        return FALSE;
    if (p->pp > m->layers) {
        /* vLLM's get_pp_indices would leave a stage without layers */
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "--pipeline-parallel-size %" G_GINT64_FORMAT
                    " exceeds num_hidden_layers %" G_GINT64_FORMAT " (a stage would hold no layer)",
                    p->pp, m->layers);
        return FALSE;
    }
    if (m->experts > 0) {
        if (p->ep > 1) {
            g_autofree char *f = g_strdup_printf("expert parallel size (tp×dp)");
            if (!divides(f, p->ep, "the routed experts", m->experts, error))
                return FALSE;
        } else if (!divides("tensor×data parallel size", p->tp * p->dp, "moe_intermediate_size",
                            m->expert_ffn, error)) {
            return FALSE;
        }
        if (m->shared_experts > 0 &&
            !divides(tpf, p->tp, "the shared expert size", m->shared_ffn, error))
            return FALSE;
    }
    return TRUE;
}

double
tm_model_weight_bytes_gpu(const tm_model_spec *m, tm_dtype weights, const tm_parallel *p)
{
    return tm_model_weight_bytes_split_gpu(m, weights, weights, p);
}

double
tm_model_weight_bytes_split_gpu(const tm_model_spec *m,
                                tm_dtype weights,
                                tm_dtype experts_dt,
                                const tm_parallel *p)
{
    double bw = tm_dtype_bytes(weights), be = tm_dtype_bytes(experts_dt), b16 = 2.0;
    double tp = (double)p->tp, h = (double)m->hidden, Hl = (double)m->heads / tp;
    /* per layer, one GPU */
    double attn;
    if (m->mla) {
        double dqk = (double)(m->qk_nope_head_dim + m->qk_rope_head_dim);
        double r = (double)m->kv_lora_rank;
        double q = m->q_lora_rank > 0
                       ? h * (double)m->q_lora_rank + (double)m->q_lora_rank * Hl * dqk
                       : h * Hl * dqk;
        attn = q + h * (r + (double)m->qk_rope_head_dim) +
               r * Hl * (double)(m->qk_nope_head_dim + m->v_head_dim) +
               Hl * (double)m->v_head_dim * h;
    } else {
        double kl = (double)tm_model_kv_heads_per_gpu(m, p->tp), d = (double)m->head_dim;
        attn = h * (Hl + 2.0 * kl) * d + Hl * d * h;
        if (m->qkv_bias)
            attn += (Hl + 2.0 * kl) * d;
    }
    double idx = m->params.indexer / (double)m->layers; /* replicated on every TP rank */
    double norms = (m->params.norms - h) / (double)m->layers;
    double mlp = 3.0 * h * (double)m->ffn / tp;
    double expert = 3.0 * h * (double)m->expert_ffn * be;
    if (m->expert_bias)
        expert += (2.0 * (double)m->expert_ffn + h) * b16; /* gate_up and down biases */
    double experts = p->ep > 1 ? (double)(m->experts / p->ep) * expert
                               : (double)m->experts * expert / (tp * (double)p->dp);
    double shared = (double)m->shared_experts * 3.0 * h * (double)m->shared_ffn / tp;
    double router = (double)m->experts * h;
    double emb = (double)m->vocab * h / tp; /* vocab-parallel */
    double worst = 0.0;
    for (int64_t s = 0; s < p->pp; s++) {
        double bytes = 0.0;
        int64_t lo = 0, n = tm_pp_stage_layers(m->layers, p->pp, s, &lo);
        for (int64_t i = lo; i < lo + n; i++) {
            bytes += (attn + idx) * bw + norms * b16;
            if (m->layer_is_moe[i])
                bytes += experts + shared * bw + router * b16;
            else
                bytes += mlp * bw;
        }
        if (s == 0)
            bytes += emb * b16;
        if (s == p->pp - 1) {
            if (!m->tied_embeddings || p->pp > 1)
                bytes += emb * b16;
            bytes += h * b16; /* final norm */
        }
        worst = MAX(worst, bytes);
    }
    return worst;
}
