/* timemodel/internal.h: helpers shared between the files of timemodel/ (not a public API). */
#pragma once

#include <glib.h>
#include <jansson.h>

/* Loads the embedded preset "<DIR>/<name>.json" (name lower-cased) or, when NAME_OR_PATH
 * looks like a path (contains '/', ends in .json/.gz), that file. Unknown names are
 * TM_ERROR_UNKNOWN errors listing close matches; KIND ("model", "hardware", "calibration")
 * names the thing in messages. transfer full. */
json_t *
tm__load_named_json(const char *dir, const char *kind, const char *name_or_path, GError **error);

typedef struct tm_model_spec tm_model_spec;
typedef struct tm_model_quant tm_model_quant;

typedef struct tm__arch tm__arch;

/* The architecture of CFG (its model_type's row, or a gated decoder when it has none). An
 * unknown model_type, or without one fields of another family, is an error naming what the
 * loader would not understand (timemodel/model_arch.c); NULL then. static */
const tm__arch *tm__model_arch_find(const json_t *cfg, const char *name, GError **error);
/* A's traits onto M (whose shared fields and MLA are parsed): norms, biases, tying,
 * sliding-window layers. */
gboolean tm__model_arch_apply(
    tm_model_spec *m, const tm__arch *a, const json_t *cfg, const char *name, GError **error);
/* The sliding-window layers of M under RULE (model_arch.c's sw_rule). */
gboolean
tm__model_sliding(tm_model_spec *m, const json_t *cfg, const char *name, int rule, GError **error);
/* M->quant from CFG's quantization_config (or the DeepSeek reference code's "dtype": "fp8").
 * An unknown method, or one servesim cannot price, is a one-line error naming it. */
gboolean
tm__model_quant_parse(tm_model_spec *m, const json_t *cfg, const char *name, GError **error);
/* vLLM's --quantization METHOD for a checkpoint quantised as CONFIG (method "" = not): Q is
 * CONFIG when METHOD matches it (or is its Marlin variant), else METHOD's weights as if the
 * checkpoint were quantised with it. A method that contradicts the config, is unknown, or
 * whose widths only a config states (gptq bits, compressed-tensors groups) is a one-line
 * error. */
gboolean
tm__quant_flag(const char *method, const tm_model_quant *config, tm_model_quant *q, GError **error);
