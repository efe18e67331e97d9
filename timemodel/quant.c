/* timemodel/quant.c: a config's quantization_config, or vLLM's --quantization flag, → the dtype
 * of the quantised weights (docs/timemodel.md §2.3). vLLM reads quantization_config.quant_method
 * and loads the checkpoint with that method whatever --dtype says (vllm/config/model.py
 * _verify_quantization); servesim prices the methods whose weight width is known, refuses the
 * others by name, and refuses a name vLLM does not know. One table serves the config and the
 * flag, so the two cannot disagree on what a method means. */
#include <stdint.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "timemodel/internal.h"
#include "timemodel/model.h"

/* Methods that need the config's details: widths from bits / config_groups, or a variant. */
enum { Q_FIXED, Q_BITS, Q_GROUPS, Q_MODELOPT, Q_REFUSED };

/* vLLM's quantization methods (QUANTIZATION_METHODS, v0.11–v0.15) and how servesim reads each.
 * Q_REFUSED: vLLM knows it, but its weight width or which layers it touches is not in a form
 * servesim prices (a GGUF file, a codebook, an online method, FP4 with 16-value scales ...). */
static const struct {
    const char *method;
    int how;
    tm_dtype weights;  /* Q_FIXED */
    bool experts_only; /* only the routed experts are quantised */
    const char *why;   /* Q_REFUSED: the reason, in a few words */
} methods[] = {
    {"fp8", Q_FIXED, TM_DTYPE_FP8, false, NULL}, /* per-tensor or 128x128 block scales */
    {"fbgemm_fp8", Q_FIXED, TM_DTYPE_FP8, false, NULL},
    {"ptpc_fp8", Q_FIXED, TM_DTYPE_FP8, false, NULL},
    /* MXFP4 (OCP microscaling: 4-bit e2m1 + one e8m0 scale per 32 values): vLLM's Mxfp4Config
     * quantises the fused MoE layers only (gpt-oss: attention, router, embeddings bf16) */
    {"mxfp4", Q_FIXED, TM_DTYPE_MXFP4, true, NULL},
    {"awq", Q_BITS, TM_DTYPE_INT4, false, NULL}, /* vLLM's AWQ: 4-bit only */
    {"awq_marlin", Q_BITS, TM_DTYPE_INT4, false, NULL},
    {"gptq", Q_BITS, TM_DTYPE_INT4, false, NULL},
    {"gptq_marlin", Q_BITS, TM_DTYPE_INT4, false, NULL},
    {"compressed-tensors", Q_GROUPS, TM_DTYPE_COUNT, false, NULL},
    {"modelopt", Q_MODELOPT, TM_DTYPE_FP8, false, NULL},
    {"modelopt_fp4", Q_REFUSED, 0, false, "NVFP4 weights are not priced"},
    {"petit_nvfp4", Q_REFUSED, 0, false, "NVFP4 weights are not priced"},
    {"bitsandbytes", Q_REFUSED, 0, false, "its dequantising kernels are not priced"},
    {"gguf", Q_REFUSED, 0, false, "GGUF block formats are not priced"},
    {"aqlm", Q_REFUSED, 0, false, "codebook weights are not priced"},
    {"hqq", Q_REFUSED, 0, false, "its widths are per layer"},
    {"quark", Q_REFUSED, 0, false, "its widths are per layer"},
    {"torchao", Q_REFUSED, 0, false, "its widths are per layer"},
    {"inc", Q_REFUSED, 0, false, "its widths are per layer"},
    {"auto-round", Q_REFUSED, 0, false, "its widths are per layer"},
    {"moe_wna16", Q_REFUSED, 0, false, "its widths are per layer"},
    {"bitblas", Q_REFUSED, 0, false, "its kernels are not priced"},
    {"gptq_bitblas", Q_REFUSED, 0, false, "its kernels are not priced"},
    {"gptq_marlin_24", Q_REFUSED, 0, false, "2:4 sparse weights are not priced"},
    {"fp_quant", Q_REFUSED, 0, false, "its kernels are not priced"},
    {"deepspeedfp", Q_REFUSED, 0, false, "its kernels are not priced"},
    {"experts_int8", Q_REFUSED, 0, false, "an online method, not a checkpoint format"},
    {"rtn", Q_REFUSED, 0, false, "an online method, not a checkpoint format"},
    {"tpu_int8", Q_REFUSED, 0, false, "a TPU method"},
    {"ipex", Q_REFUSED, 0, false, "a CPU/XPU method"},
    {"cpu_awq", Q_REFUSED, 0, false, "a CPU method"},
};

/* Priced names, for messages. */
#define PRICED                                                                                     \
    "fp8, fbgemm_fp8, ptpc_fp8, mxfp4, awq, gptq (4 or 8 bits), compressed-tensors (8-bit float, " \
    "8-bit or 4-bit int weights), modelopt FP8"

static int64_t
int_field(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The weight dtype of one compressed-tensors scheme's "weights" object; TM_DTYPE_COUNT when
 * servesim does not price it. */
static tm_dtype
ct_weights(const json_t *w)
{
    if (!json_is_object(w))
        return TM_DTYPE_COUNT;
    int64_t bits = int_field(w, "num_bits");
    const char *type = json_string_value(json_object_get(w, "type"));
    bool is_float = type != NULL && strcmp(type, "float") == 0;
    bool is_int = type == NULL || strcmp(type, "int") == 0;
    if (bits == 8 && is_float)
        return TM_DTYPE_FP8;
    if (bits == 8 && is_int)
        return TM_DTYPE_INT8;
    if (bits == 4 && is_int)
        return TM_DTYPE_INT4;
    return TM_DTYPE_COUNT;
}

/* compressed-tensors: every config group's weights scheme must be one priced width, the same
 * for all groups (a mixed checkpoint is not one dtype). */
static gboolean
compressed_tensors(const json_t *qc, const char *name, tm_model_quant *q, GError **error)
{
    json_t *groups = json_object_get(qc, "config_groups"); /* jansson's iterator is not const */
    const char *key;
    json_t *g;
    tm_dtype d = TM_DTYPE_COUNT;
    if (json_is_object(groups)) {
        json_object_foreach(groups, key, g) {
            tm_dtype x = ct_weights(json_object_get(g, "weights"));
            if (x == TM_DTYPE_COUNT) {
                g_autofree char *shown = base_escape_text(key, 64);
                g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                            "%s: quantization_config.config_groups.%s.weights: compressed-tensors "
                            "scheme not priced (priced: 8-bit float, 8-bit int, 4-bit int)",
                            name, shown);
                return FALSE;
            }
            if (d != TM_DTYPE_COUNT && x != d) {
                g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                            "%s: quantization_config.config_groups: groups of different weight "
                            "widths (%s and %s) are not priced",
                            name, tm_dtype_name(d), tm_dtype_name(x));
                return FALSE;
            }
            d = x;
        }
    }
    if (d == TM_DTYPE_COUNT) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: quantization_config: compressed-tensors without config_groups weights "
                    "(their num_bits and type give the weight dtype)",
                    name);
        return FALSE;
    }
    q->weights = d;
    return TRUE;
}

/* The row of METHOD; else a one-line error "WHERE: unknown quantization method ..." with the
 * close names, and SIZE_MAX. */
static size_t
find_method(const char *method, const char *where, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++)
        if (g_ascii_strcasecmp(methods[i].method, method) == 0)
            return i;
    const char *names[G_N_ELEMENTS(methods) + 1]; /* NULL-terminated for base_suggest */
    for (size_t k = 0; k < G_N_ELEMENTS(methods); k++)
        names[k] = methods[k].method;
    names[G_N_ELEMENTS(methods)] = NULL;
    g_autofree char *close = base_suggest(method, names);
    g_autofree char *shown = base_escape_text(method, 48);
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                "%s: unknown quantization method '%s' (%s%s%spriced: " PRICED ")", where, shown,
                close != NULL ? "did you mean " : "", close != NULL ? close : "",
                close != NULL ? "? " : "");
    return SIZE_MAX;
}

/* Row I refused: "WHERE 'METHOD': servesim cannot price this method (why; priced: ...)". */
static void
refuse(size_t i, const char *where, GError **error)
{
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                "%s '%s': servesim cannot price this method (%s; priced: " PRICED ")", where,
                methods[i].method, methods[i].why);
}

gboolean
tm__model_quant_parse(tm_model_spec *m, const json_t *cfg, const char *name, GError **error)
{
    tm_model_quant *q = &m->quant;
    memset(q, 0, sizeof *q);
    /* the DeepSeek reference code's config: "dtype": "fp8" = its fp8 block-quantised release */
    const json_t *dt = json_object_get(cfg, "dtype");
    if (json_object_get(cfg, "quantization_config") == NULL && json_is_string(dt) &&
        strcmp(json_string_value(dt), "fp8") == 0) {
        g_strlcpy(q->method, "fp8", sizeof q->method);
        q->weights = TM_DTYPE_FP8;
        return TRUE;
    }
    const json_t *qc = json_object_get(cfg, "quantization_config");
    if (qc == NULL || json_is_null(qc))
        return TRUE;
    if (!json_is_object(qc)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: quantization_config: expected an object, got %s", name,
                    base_json_type_name(qc));
        return FALSE;
    }
    const json_t *mv = json_object_get(qc, "quant_method");
    if (!json_is_string(mv)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: quantization_config.quant_method: expected a string (the method vLLM "
                    "loads the checkpoint with), got %s",
                    name, mv == NULL ? "nothing" : base_json_type_name(mv));
        return FALSE;
    }
    g_autofree char *where = g_strdup_printf("%s: quantization_config.quant_method", name);
    size_t i = find_method(json_string_value(mv), where, error);
    if (i == SIZE_MAX)
        return FALSE;
    g_strlcpy(q->method, methods[i].method, sizeof q->method);
    q->weights = methods[i].weights;
    q->experts_only = methods[i].experts_only;
    switch (methods[i].how) {
    case Q_FIXED:
        return TRUE;
    case Q_BITS: {
        int64_t bits = int_field(qc, "bits");
        if (bits == 0)
            bits = int_field(qc, "w_bit"); /* AutoAWQ's key */
        bool awq = g_str_has_prefix(q->method, "awq");
        if (bits == 4 || (!awq && bits == 8)) {
            q->weights = bits == 4 ? TM_DTYPE_INT4 : TM_DTYPE_INT8;
            return TRUE;
        }
        if (bits == 0)
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: quantization_config: %s without bits (the weight width, %s)", name,
                        q->method, awq ? "4" : "4 or 8");
        else
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: quantization_config: %s with bits %" G_GINT64_FORMAT
                        " is not priced (%s)",
                        name, q->method, bits, awq ? "4" : "4 or 8");
        return FALSE;
    }
    case Q_GROUPS:
        return compressed_tensors(qc, name, q, error);
    case Q_MODELOPT: {
        const char *algo = json_string_value(json_object_get(qc, "quant_algo"));
        if (algo == NULL || g_ascii_strcasecmp(algo, "FP8") == 0)
            return TRUE;
        g_autofree char *a = base_escape_text(algo, 32);
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: quantization_config: modelopt quant_algo '%s' is not priced (FP8 is)",
                    name, a);
        return FALSE;
    }
    default:
        refuse(i, where, error);
        return FALSE;
    }
}

/* vLLM lets a Marlin method override the checkpoint's own (awq → awq_marlin, gptq →
 * gptq_marlin: the same weights on other kernels, priced alike); any other difference is its
 * "does not match" error (vllm/config/model.py _verify_quantization). */
static bool
compatible(const char *flag, const char *config)
{
    if (g_ascii_strcasecmp(flag, config) == 0)
        return true;
    size_t n = strlen(config);
    return g_ascii_strncasecmp(flag, config, n) == 0 &&
           g_ascii_strcasecmp(flag + n, "_marlin") == 0;
}

gboolean
tm__quant_flag(const char *method, const tm_model_quant *config, tm_model_quant *q, GError **error)
{
    size_t i = find_method(method, "--quantization", error);
    if (i == SIZE_MAX)
        return FALSE;
    if (config->method[0] != '\0') {
        if (!compatible(method, config->method)) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "--quantization %s does not match the model config's "
                        "quantization_config (%s)",
                        methods[i].method, config->method);
            return FALSE;
        }
        *q = *config; /* the checkpoint states the widths */
        return TRUE;
    }
    /* no quantization_config: the method as if applied to this model's weights (vLLM
     * quantises online for fp8; servesim prices the others' checkpoints alike) */
    memset(q, 0, sizeof *q);
    g_strlcpy(q->method, methods[i].method, sizeof q->method);
    q->weights = methods[i].weights;
    q->experts_only = methods[i].experts_only;
    switch (methods[i].how) {
    case Q_FIXED:
    case Q_MODELOPT: /* a modelopt checkpoint without its config: FP8, the priced algorithm */
        return TRUE;
    case Q_BITS:
        if (g_str_has_prefix(q->method, "awq"))
            return TRUE; /* vLLM's AWQ is 4-bit only */
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--quantization %s: the bit width comes from the checkpoint's "
                    "quantization_config (bits 4 or 8), which this model's config does not state; "
                    "give --dtype int4 or --dtype int8 instead",
                    q->method);
        return FALSE;
    case Q_GROUPS:
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--quantization %s: the weight widths come from the checkpoint's "
                    "quantization_config (config_groups), which this model's config does not "
                    "state; give --dtype fp8, int8 or int4 instead",
                    q->method);
        return FALSE;
    default:
        refuse(i, "--quantization", error);
        return FALSE;
    }
}
