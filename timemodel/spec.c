/* timemodel/spec.c: the speculative-decoding config (vLLM's names + servesim's acceptance
 * model), acceptance presets, the drafter's model spec and the price of its passes
 * (docs/speculative.md). Validation messages are one line naming the key, so a bad
 * --speculative-config exits 2 with the setting in the message. */
#include "timemodel/spec.h"

#include <math.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "timemodel/common.h"

/* EAGLE-3's released heads predict over a reduced draft vocabulary of 32,000 tokens
 * (draft_vocab_size in their config.json). */
#define EAGLE3_DRAFT_VOCAB 32000

static const struct {
    const char *name;
    tm_spec_method m;
} methods[] = {
    {"draft_model", TM_SPEC_DRAFT_MODEL},
    {"eagle", TM_SPEC_EAGLE},
    {"eagle3", TM_SPEC_EAGLE3},
    {"mtp", TM_SPEC_MTP},
    {"ngram", TM_SPEC_NGRAM},
    /* vLLM's older spelling, normalised to mtp by its SpeculativeConfig */
    {"deepseek_mtp", TM_SPEC_MTP},
};

/* Leviathan, Kalman & Matias, "Fast Inference from Transformers via Speculative Decoding",
 * ICML 2023 (arXiv:2211.17192), Table 3: α (the mean per-token acceptance probability, E(β) in
 * the paper's §3.1) of target T5-XXL (11B) on WMT English-German translation with T5 drafts.
 * The paper's expected tokens per step, (1 − α^(γ+1)) / (1 − α) (its eq. 1), assumes the
 * tokens are accepted independently: position i is accepted with α^i, for any k. */
#define LEVIATHAN                                                                                  \
    "Leviathan, Kalman & Matias, ICML 2023 (arXiv:2211.17192) Table 3: per-token acceptance "      \
    "alpha of target T5-XXL on WMT EnDe with draft "
#define LEVIATHAN_IID                                                                              \
    "; position i accepted with alpha^i (the paper's i.i.d. assumption, its eq. 1)"

static const tm_spec_preset presets[] = {
    {.name = "deepseek-v3-mtp",
     .method = TM_SPEC_MTP,
     .k = 1,
     .accept = {0.875},
     .source = "DeepSeek-V3 technical report (arXiv:2412.19437) §5.4.3: the second token "
               "predicted by the MTP module is accepted 85-90 % of the time across generation "
               "topics; 0.875 is the middle of that range"},
    {.name = "deepseek-v3-mtp-low",
     .method = TM_SPEC_MTP,
     .k = 1,
     .accept = {0.85},
     .source = "DeepSeek-V3 technical report (arXiv:2412.19437) §5.4.3: low end of the 85-90 % "
               "range"},
    {.name = "deepseek-v3-mtp-high",
     .method = TM_SPEC_MTP,
     .k = 1,
     .accept = {0.90},
     .source = "DeepSeek-V3 technical report (arXiv:2412.19437) §5.4.3: high end of the 85-90 % "
               "range"},
    {.name = "t5-small-ende-t0",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.75,
     .source = LEVIATHAN "T5-small, argmax sampling (T=0): 0.75" LEVIATHAN_IID},
    {.name = "t5-base-ende-t0",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.80,
     .source = LEVIATHAN "T5-base, argmax sampling (T=0): 0.80" LEVIATHAN_IID},
    {.name = "t5-large-ende-t0",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.82,
     .source = LEVIATHAN "T5-large, argmax sampling (T=0): 0.82" LEVIATHAN_IID},
    {.name = "t5-small-ende-t1",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.62,
     .source = LEVIATHAN "T5-small, standard sampling (T=1): 0.62" LEVIATHAN_IID},
    {.name = "t5-base-ende-t1",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.68,
     .source = LEVIATHAN "T5-base, standard sampling (T=1): 0.68" LEVIATHAN_IID},
    {.name = "t5-large-ende-t1",
     .method = TM_SPEC_DRAFT_MODEL,
     .k = TM_SPEC_MAX_TOKENS,
     .alpha = 0.71,
     .source = LEVIATHAN "T5-large, standard sampling (T=1): 0.71" LEVIATHAN_IID},
};

size_t
tm_spec_preset_count(void)
{
    return G_N_ELEMENTS(presets);
}

const tm_spec_preset *
tm_spec_preset_at(size_t i)
{
    return i < G_N_ELEMENTS(presets) ? &presets[i] : NULL;
}

const tm_spec_preset *
tm_spec_preset_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(presets); i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

void
tm_spec_preset_rates(const tm_spec_preset *p, double out[TM_SPEC_MAX_TOKENS])
{
    double a = 1.0;
    for (uint32_t i = 0; i < TM_SPEC_MAX_TOKENS; i++)
        out[i] = i >= p->k ? 0.0 : p->alpha > 0.0 ? (a *= p->alpha) : p->accept[i];
}

const char *
tm_spec_method_name(tm_spec_method m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++)
        if (methods[i].m == m)
            return methods[i].name;
    return "off";
}

void
tm_spec_config_clear(tm_spec_config *c)
{
    g_free(c->model);
    g_free(c->accept_source);
    memset(c, 0, sizeof *c);
}

bool
tm_spec_uses_lookahead(const tm_spec_config *c)
{
    return c->method != TM_SPEC_OFF && c->method != TM_SPEC_NGRAM;
}

bool
tm_spec_has_drafter(const tm_spec_config *c)
{
    return tm_spec_uses_lookahead(c);
}

double
tm_spec_mean_acceptance_length(const tm_spec_config *c)
{
    double s = 1.0;
    for (uint32_t i = 0; i < c->k; i++)
        s += c->accept[i];
    return s;
}

#define KEY "speculative_config"

/* Checks RATES[0..n) (in [0, 1], non-increasing); WHERE prefixes the messages. */
static gboolean
check_rates(const double *rates, uint32_t n, const char *where, const char *what, GError **error)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!(rates[i] >= 0.0 && rates[i] <= 1.0)) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s[%u] = %g is outside [0, 1]",
                        where, what, i, rates[i]);
            return FALSE;
        }
        if (i > 0 && rates[i] > rates[i - 1]) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: %s[%u] = %g exceeds %s[%u] = %g: a draft token counts only if every "
                        "earlier one was accepted, so the per-position rates cannot increase",
                        where, what, i, rates[i], what, i - 1, rates[i - 1]);
            return FALSE;
        }
    }
    return TRUE;
}

/* An array of K numbers into OUT. */
static gboolean
read_array(
    const json_t *a, uint32_t k, double *out, const char *where, const char *what, GError **error)
{
    if (json_array_size(a) != k) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: %s has %zu entries, num_speculative_tokens is %u (one per position)",
                    where, what, json_array_size(a), k);
        return FALSE;
    }
    for (uint32_t i = 0; i < k; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s[%u]: expected a number", where,
                        what, i);
            return FALSE;
        }
        out[i] = json_number_value(v);
    }
    return TRUE;
}

/* acceptance_rate: a number α (independent per token: accept[i] = α^(i+1)) or k per-position
 * rates. */
static gboolean
rates_from_json(tm_spec_config *c, const json_t *v, const char *where, GError **error)
{
    if (json_is_number(v)) {
        double a = json_number_value(v);
        if (!(a >= 0.0 && a <= 1.0)) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: acceptance_rate = %g is outside [0, 1]", where, a);
            return FALSE;
        }
        double p = 1.0;
        for (uint32_t i = 0; i < c->k; i++)
            c->accept[i] = p *= a;
        return TRUE;
    }
    if (!json_is_array(v)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: acceptance_rate: expected a number or an array of %u numbers", where,
                    c->k);
        return FALSE;
    }
    return read_array(v, c->k, c->accept, where, "acceptance_rate", error) &&
           check_rates(c->accept, c->k, where, "acceptance_rate", error);
}

/* An acceptance file: {"acceptance_rate": [...]} (per position, as vLLM logs it) or
 * {"accepted_tokens": [w0, ..., wk]} (weights of steps that accepted exactly j drafts: counts
 * or probabilities), optional "source". */
static gboolean
rates_from_file(tm_spec_config *c, const char *path, GError **error)
{
    json_error_t je;
    json_auto_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        g_autofree char *shown = base_escape_text(je.text, 160); /* quotes the input: one line */
        if (je.line > 0)
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s:%d: %s", path, je.line, shown);
        else
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        "%s: %s (speculative_config.acceptance_file)", path, shown);
        return FALSE;
    }
    if (!json_is_object(root)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected a JSON object", path);
        return FALSE;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "acceptance_rate") != 0 && strcmp(key, "accepted_tokens") != 0 &&
            strcmp(key, "source") != 0) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        "%s: unknown key '%s' (expected acceptance_rate or accepted_tokens, and "
                        "source)",
                        path, key);
            return FALSE;
        }
    }
    const json_t *rates = json_object_get(root, "acceptance_rate");
    const json_t *dist = json_object_get(root, "accepted_tokens");
    if ((rates == NULL) == (dist == NULL)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: give exactly one of acceptance_rate (per position) and accepted_tokens "
                    "(weights of 0..k accepted drafts)",
                    path);
        return FALSE;
    }
    if (rates != NULL) {
        if (!json_is_array(rates)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: acceptance_rate: expected an array",
                        path);
            return FALSE;
        }
        return read_array(rates, c->k, c->accept, path, "acceptance_rate", error) &&
               check_rates(c->accept, c->k, path, "acceptance_rate", error);
    }
    if (!json_is_array(dist) || json_array_size(dist) != c->k + 1) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: accepted_tokens: expected an array of %u weights (steps that accepted "
                    "0..%u drafts)",
                    path, c->k + 1, c->k);
        return FALSE;
    }
    double w[TM_SPEC_MAX_TOKENS + 1], sum = 0.0;
    for (uint32_t j = 0; j <= c->k; j++) {
        const json_t *x = json_array_get(dist, j);
        w[j] = json_is_number(x) ? json_number_value(x) : (double)NAN;
        if (!(w[j] >= 0.0) || !isfinite(w[j])) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: accepted_tokens[%u]: expected a finite number >= 0", path, j);
            return FALSE;
        }
        sum += w[j];
    }
    if (!(sum > 0.0)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: accepted_tokens: the weights sum to 0",
                    path);
        return FALSE;
    }
    /* P(position i accepted) = P(at least i accepted) */
    double tail = 0.0;
    for (uint32_t j = c->k; j >= 1; j--) {
        tail += w[j];
        c->accept[j - 1] = tail / sum > 1.0 ? 1.0 : tail / sum;
    }
    return TRUE;
}

static gboolean
spec_int(const json_t *v, const char *name, int64_t min, int64_t max, int64_t *out, GError **error)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ".%s: expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                    name, min, max);
        return FALSE;
    }
    *out = json_integer_value(v);
    return TRUE;
}

static const char *const known_keys[] = {"method",
                                         "num_speculative_tokens",
                                         "model",
                                         "draft_tensor_parallel_size",
                                         "prompt_lookup_min",
                                         "prompt_lookup_max",
                                         "acceptance_rate",
                                         "acceptance_file",
                                         "acceptance_preset",
                                         NULL};

static gboolean
parse(tm_spec_config *c, json_t *j, const tm_model_spec *target, GError **error)
{
    if (!json_is_object(j)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    KEY ": expected a JSON object such as "
                        "'{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":"
                        "0.7}'");
        return FALSE;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (!g_strv_contains(known_keys, key)) {
            GString *known = g_string_new(NULL);
            for (size_t i = 0; known_keys[i] != NULL; i++)
                g_string_append_printf(known, "%s%s", i > 0 ? ", " : "", known_keys[i]);
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        KEY ": unknown or unmodelled key '%s' (known: %s)", key, known->str);
            g_string_free(known, TRUE);
            return FALSE;
        }
    }
    const json_t *m = json_object_get(j, "method");
    if (m == NULL || !json_is_string(m)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    KEY ".method: required, one of draft_model, eagle, eagle3, mtp, ngram");
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++)
        if (strcmp(json_string_value(m), methods[i].name) == 0)
            c->method = methods[i].m;
    if (c->method == TM_SPEC_OFF) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ".method: unknown method '%s' (known: draft_model, eagle, eagle3, mtp, "
                        "ngram)",
                    json_string_value(m));
        return FALSE;
    }
    if (c->method == TM_SPEC_MTP && target != NULL && target->nextn_layers <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ".method: mtp needs multi-token-prediction layers, and %s has none "
                        "(num_nextn_predict_layers is absent or 0)",
                    target->name);
        return FALSE;
    }
    const json_t *kv = json_object_get(j, "num_speculative_tokens");
    int64_t k = 0;
    if (kv != NULL && !json_is_null(kv)) {
        if (!json_is_integer(kv) || json_integer_value(kv) < 1 ||
            json_integer_value(kv) > TM_SPEC_MAX_TOKENS) {
            g_autofree char *got = json_dumps(kv, JSON_ENCODE_ANY);
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        KEY ".num_speculative_tokens: %s is not an integer in [1, %d]",
                        got != NULL ? got : "?", TM_SPEC_MAX_TOKENS);
            return FALSE;
        }
        k = json_integer_value(kv);
    } else if (c->method == TM_SPEC_MTP && target != NULL) {
        /* vLLM: num_speculative_tokens defaults to the model's num_nextn_predict_layers */
        k = target->nextn_layers < TM_SPEC_MAX_TOKENS ? target->nextn_layers : TM_SPEC_MAX_TOKENS;
    } else {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    KEY ".num_speculative_tokens: required for method %s (an integer in [1, %d])",
                    tm_spec_method_name(c->method), TM_SPEC_MAX_TOKENS);
        return FALSE;
    }
    c->k = (uint32_t)k;
    const json_t *mv = json_object_get(j, "model");
    if (mv != NULL && !json_is_null(mv)) {
        if (!json_is_string(mv)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, KEY ".model: expected a string");
            return FALSE;
        }
        if (c->method == TM_SPEC_MTP || c->method == TM_SPEC_NGRAM) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        KEY ".model: method %s has no separate draft model",
                        tm_spec_method_name(c->method));
            return FALSE;
        }
        c->model = g_strdup(json_string_value(mv));
    } else if (c->method == TM_SPEC_DRAFT_MODEL) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    KEY ".model: required for method draft_model (a preset or a config.json)");
        return FALSE;
    }
    const json_t *tv = json_object_get(j, "draft_tensor_parallel_size");
    if (tv != NULL && !json_is_null(tv) &&
        !spec_int(tv, "draft_tensor_parallel_size", 1, 1024, &c->draft_tp, error))
        return FALSE;
    const json_t *lmin = json_object_get(j, "prompt_lookup_min");
    const json_t *lmax = json_object_get(j, "prompt_lookup_max");
    if ((lmin != NULL || lmax != NULL) && c->method != TM_SPEC_NGRAM) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ": prompt_lookup_min/max apply to method ngram only");
        return FALSE;
    }
    if ((lmin != NULL && !spec_int(lmin, "prompt_lookup_min", 1, 1 << 20, &c->lookup_min, error)) ||
        (lmax != NULL && !spec_int(lmax, "prompt_lookup_max", 1, 1 << 20, &c->lookup_max, error)))
        return FALSE;

    /* acceptance: exactly one source, or the method's default preset */
    const json_t *ar = json_object_get(j, "acceptance_rate");
    const json_t *af = json_object_get(j, "acceptance_file");
    const json_t *ap = json_object_get(j, "acceptance_preset");
    int given = (ar != NULL) + (af != NULL) + (ap != NULL);
    if (given > 1) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ": give one of acceptance_rate, acceptance_file and acceptance_preset");
        return FALSE;
    }
    if (ar != NULL) {
        if (!rates_from_json(c, ar, KEY, error))
            return FALSE;
        c->accept_source = g_strdup("acceptance_rate");
        return TRUE;
    }
    if (af != NULL) {
        if (!json_is_string(af)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        KEY ".acceptance_file: expected a file name");
            return FALSE;
        }
        if (!rates_from_file(c, json_string_value(af), error))
            return FALSE;
        c->accept_source = g_strdup_printf("file %s", json_string_value(af));
        return TRUE;
    }
    const char *pname = NULL;
    if (ap != NULL) {
        if (!json_is_string(ap)) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        KEY ".acceptance_preset: expected a preset name");
            return FALSE;
        }
        pname = json_string_value(ap);
    } else if (c->method == TM_SPEC_MTP) {
        pname = "deepseek-v3-mtp";
    } else {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    KEY ": no acceptance model for method %s: give acceptance_rate (a per-token "
                        "rate or %u per-position rates, as vLLM logs them), acceptance_file or "
                        "acceptance_preset",
                    tm_spec_method_name(c->method), c->k);
        return FALSE;
    }
    const tm_spec_preset *p = tm_spec_preset_find(pname);
    if (p == NULL) {
        GString *names = g_string_new(NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(presets); i++)
            g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", presets[i].name);
        g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                    KEY ".acceptance_preset: unknown preset '%s' (known: %s)", pname, names->str);
        g_string_free(names, TRUE);
        return FALSE;
    }
    if (p->method != c->method || p->k < c->k) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    KEY ".acceptance_preset: %s publishes %u position(s) for method %s; this "
                        "config has method %s with num_speculative_tokens %u (give "
                        "acceptance_rate for the others)",
                    p->name, p->k, tm_spec_method_name(p->method), tm_spec_method_name(c->method),
                    c->k);
        return FALSE;
    }
    tm_spec_preset_rates(p, c->accept);
    c->accept_source = g_strdup_printf("preset %s", p->name);
    return TRUE;
}

gboolean
tm_spec_config_parse(tm_spec_config *c, json_t *j, const tm_model_spec *target, GError **error)
{
    memset(c, 0, sizeof *c);
    if (!parse(c, j, target, error)) {
        tm_spec_config_clear(c);
        return FALSE;
    }
    for (uint32_t i = c->k; i < TM_SPEC_MAX_TOKENS; i++)
        c->accept[i] = 0.0;
    return TRUE;
}

/* Copies the strings of SRC into DST (a plain-value copy made by the caller). */
static void
own_strings(tm_model_spec *dst, const char *name)
{
    dst->name = g_strdup(name);
    dst->arch = g_strdup(dst->arch);
}

/* EAGLE's head first projects the concatenated features to the hidden size: an (m·h)×h GEMM
 * per token, m = 2 (EAGLE: embedding + last hidden state) or 3 (EAGLE-3: low, middle and
 * high features). The model spec has no such operator, so it is priced as extra MLP width
 * with the same weights and FLOPs: a SwiGLU MLP holds 3·h·ffn weights, so ffn grows by
 * m·h/3, rounded to a multiple of 128 (tensor-parallel friendly; within 2 % of the GEMM). */
static void
add_fusion(const tm_spec_config *c, tm_model_spec *m)
{
    if (c->method != TM_SPEC_EAGLE && c->method != TM_SPEC_EAGLE3)
        return;
    int64_t mult = c->method == TM_SPEC_EAGLE3 ? 3 : 2;
    int64_t extra = (mult * m->hidden / 3 + 64) / 128 * 128;
    if (m->ffn > 0)
        m->ffn += extra;
}

gboolean
tm_spec_drafter_spec(const tm_spec_config *c,
                     const tm_model_spec *target,
                     tm_model_spec *out,
                     GError **error)
{
    memset(out, 0, sizeof *out);
    if (c->model != NULL) {
        if (!tm_model_spec_load(out, c->model, error)) {
            g_prefix_error(error, KEY ".model: ");
            return FALSE;
        }
        add_fusion(c, out);
        tm_model_count_params(out);
        return TRUE;
    }
    g_return_val_if_fail(c->method != TM_SPEC_DRAFT_MODEL, FALSE);
    *out = *target;
    g_autofree char *name =
        g_strdup_printf("%s %s drafter", target->name, tm_spec_method_name(c->method));
    own_strings(out, name);
    memset(out->layer_is_moe, 0, sizeof out->layer_is_moe);
    memset(out->layer_is_sliding, 0, sizeof out->layer_is_sliding);
    out->sliding_layers = 0;
    out->sliding_window = 0; /* the drafter's layer attends to the whole context */
    out->layers = 1;
    if (c->method == TM_SPEC_MTP) {
        /* DeepSeek-V3's MTP module: one transformer block like the main model's MoE layers
         * (MLA attention + MoE), sharing embedding and output head; vLLM runs it k times */
        bool moe = target->experts > 0;
        out->layer_is_moe[0] = moe;
        out->moe_layers = moe ? 1 : 0;
        out->dense_layers = moe ? 0 : 1;
        tm_model_count_params(out);
        return TRUE;
    }
    /* EAGLE / EAGLE-3 head: one dense Llama-style decoder layer of the target's width; a MoE
     * target's head gets an MLP as wide as its active experts (docs/speculative.md) */
    if (out->ffn <= 0)
        out->ffn = target->expert_ffn * target->topk + target->shared_ffn * target->shared_experts;
    out->experts = out->topk = out->shared_experts = 0;
    out->expert_ffn = out->shared_ffn = 0;
    out->moe_layers = 0;
    out->dense_layers = 1;
    out->router_bias = false;
    if (out->mla) {
        out->mla = false;
        out->q_lora_rank = out->kv_lora_rank = 0;
        out->kv_heads = out->heads;
        out->head_dim =
            target->v_head_dim > 0 ? target->v_head_dim : target->hidden / target->heads;
        out->qk_nope_head_dim = out->qk_rope_head_dim = out->v_head_dim = 0;
    }
    out->index_heads = out->index_head_dim = out->index_topk = 0;
    out->nextn_layers = 0;
    if (c->method == TM_SPEC_EAGLE3)
        out->vocab = EAGLE3_DRAFT_VOCAB;
    add_fusion(c, out);
    tm_model_count_params(out);
    return TRUE;
}

double
tm_spec_drafter_weight_bytes_gpu(const tm_spec_config *c,
                                 const tm_model_spec *drafter,
                                 tm_dtype weights,
                                 const tm_parallel *p)
{
    double bytes = tm_model_weight_bytes_gpu(drafter, weights, p);
    /* the vocabulary-parallel embedding / head as tm_model_weight_bytes_gpu counts them
     * (2 bytes per element, once when tied) */
    double emb = (double)drafter->vocab * (double)drafter->hidden / (double)p->tp * 2.0;
    int shared = 0;
    if (c->method == TM_SPEC_MTP || c->method == TM_SPEC_EAGLE)
        shared = drafter->tied_embeddings ? 1 : 2;
    else if (c->method == TM_SPEC_EAGLE3)
        shared = 1;
    bytes -= shared * emb;
    return bytes > 0.0 ? bytes : 0.0;
}

double
tm_spec_draft_s(const tm_timemodel *draft,
                uint32_t k,
                const tm_batch *step,
                const tm_batch *propose,
                tm_step_cost *detail)
{
    if (detail != NULL)
        memset(detail, 0, sizeof *detail);
    if (draft == NULL || k == 0 || step->num_seqs == 0)
        return 0.0;
    /* first pass: every token of the step (the drafter keeps its own KV of the prompt), one
     * logit row per sampling sequence */
    tm_batch first = *step;
    first.spec_tokens = 0;
    tm_step_cost c1, c2;
    double t = tm_step_s(draft, &first, &c1);
    memset(&c2, 0, sizeof c2);
    double t2 = 0.0;
    if (k > 1 && propose != NULL && propose->num_seqs > 0)
        t2 = tm_step_s(draft, propose, &c2) * (double)(k - 1);
    if (detail != NULL) {
        double m = (double)(k - 1);
        detail->total_s = t + t2;
        detail->compute_s = c1.compute_s + m * c2.compute_s;
        detail->memory_s = c1.memory_s + m * c2.memory_s;
        detail->comm_s = c1.comm_s + m * c2.comm_s;
        detail->overhead_s = c1.overhead_s + m * c2.overhead_s;
    }
    return t + t2;
}

json_t *
tm_spec_config_to_json(const tm_spec_config *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(tm_spec_method_name(c->method)));
    json_object_set_new(o, "num_speculative_tokens", json_integer(c->k));
    json_object_set_new(o, "model", c->model != NULL ? json_string(c->model) : json_null());
    json_object_set_new(o, "draft_tensor_parallel_size",
                        c->draft_tp > 0 ? json_integer(c->draft_tp) : json_null());
    json_object_set_new(o, "lookahead_slots", json_integer(tm_spec_uses_lookahead(c) ? c->k : 0));
    json_t *a = json_array();
    for (uint32_t i = 0; i < c->k; i++)
        json_array_append_new(a, base_json_real(c->accept[i]));
    json_object_set_new(o, "acceptance_rate_per_position", a);
    json_object_set_new(o, "acceptance_source",
                        json_string(c->accept_source != NULL ? c->accept_source : "?"));
    json_object_set_new(o, "expected_acceptance_length",
                        base_json_real(tm_spec_mean_acceptance_length(c)));
    return o;
}
