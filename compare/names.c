/* compare/names.c: what measured results call things, in servesim's terms: model names
 * (Hugging Face ids through the preset id table, then the id's last part with harmless
 * variant suffixes removed — never a quantised variant such as "-FP8", whose weights differ),
 * device and accelerator names (torch's device name, dashboard accelerators) and vLLM engine
 * arguments (dashboard runtime_args, LLMServingSim engine_kwargs) mapped to settings paths. */
#include <string.h>

#include "base/asset.h"
#include "base/csv.h"
#include "base/match.h"
#include "compare/internal.h"
#include "timemodel/model.h"

/* ---- models ---- */

static char *
preset_if_exists(const char *name)
{
    g_autofree char *asset = g_strdup_printf("models/%s.json", name);
    return base_asset_find(asset) != NULL ? g_strdup(name) : NULL;
}

char *
cmp__model_preset(const char *recorded)
{
    if (recorded == NULL || *recorded == '\0')
        return NULL;
    char *p = tm_model_resolve_preset(recorded);
    if (p != NULL)
        return p;
    /* "org/Name" or a local path: its last part, lower case, "Meta-" dropped. */
    const char *slash = strrchr(recorded, '/');
    g_autofree char *s = g_ascii_strdown(slash != NULL ? slash + 1 : recorded, -1);
    if (g_str_has_prefix(s, "meta-")) {
        char *t = g_strdup(s + 5);
        g_free(s);
        s = t;
    }
    if ((p = preset_if_exists(s)) != NULL)
        return p;
    /* Variants with the same architecture and weights format as the base preset. */
    static const char *const suffixes[] = {"-hf", "-chat", "-instruct", "-base", NULL};
    for (bool cut = true; cut;) {
        cut = false;
        for (size_t i = 0; suffixes[i] != NULL; i++)
            if (g_str_has_suffix(s, suffixes[i])) {
                s[strlen(s) - strlen(suffixes[i])] = '\0';
                if ((p = preset_if_exists(s)) != NULL)
                    return p;
                cut = true;
            }
    }
    return NULL;
}

/* ---- hardware ---- */

char *
cmp__hardware_preset(const char *recorded)
{
    if (recorded == NULL || *recorded == '\0')
        return NULL;
    g_autofree char *lower = g_ascii_strdown(recorded, -1);
    g_autofree char *asset = g_strdup_printf("hardware/%s.json", lower);
    if (base_asset_find(asset) != NULL)
        return g_steal_pointer(&lower);
    /* "NVIDIA GeForce RTX 4090" -> " rtx 4090 " (words separated by single blanks). */
    GString *g = g_string_new(" ");
    for (const char *c = lower; *c != '\0'; c++)
        g_string_append_c(g, (*c == '-' || *c == '_' || *c == '(' || *c == ')') ? ' ' : *c);
    g_string_append_c(g, ' ');
    g_autofree char *n = g_string_free(g, FALSE);
    static const char *const drop[] = {" nvidia ",   " geforce ", " amd ",
                                       " instinct ", " tesla ",   NULL};
    for (size_t i = 0; drop[i] != NULL; i++) {
        char *at;
        while ((at = strstr(n, drop[i])) != NULL)
            memmove(at, at + strlen(drop[i]) - 1, strlen(at + strlen(drop[i]) - 1) + 1);
    }

    static const struct {
        const char *word;  /* must appear, blank-delimited on the left */
        const char * not ; /* must not appear (NULL = no condition) */
        const char *preset;
    } rules[] = {
        {" rtx pro 6000", NULL, "rtx-pro-6000"},
        {" rtx 4090", NULL, "rtx4090"},
        {" 4090", NULL, "rtx4090"},
        {" rtx 3090", NULL, "rtx3090"},
        {" gh200", NULL, "gh200"},
        {" h200", NULL, "h200"},
        /* the PCIe and NVL parts have other clocks and bandwidth than the SXM preset */
        {" h100", " pcie", "h100-sxm"},
        {" b200", NULL, "b200"},
        {" a100", " 40gb", "a100-80gb"},
        {" a100", NULL, "a100-40gb"},
        {" l40s", NULL, "l40s"},
        {" mi300x", NULL, "mi300x"},
        {" tpu v6e", NULL, "tpu-v6e"},
        {" v6e", NULL, "tpu-v6e"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
        if (strstr(n, rules[i].word) == NULL)
            continue;
        if (strcmp(rules[i].preset, "h100-sxm") == 0 && strstr(n, " nvl") != NULL)
            return NULL;
        if (rules[i].not != NULL && strstr(n, rules[i].not ) != NULL) {
            if (strcmp(rules[i].preset, "h100-sxm") == 0)
                return NULL; /* H100 PCIe: no preset, do not guess */
            continue;
        }
        return g_strdup(rules[i].preset);
    }
    return NULL;
}

const char *
cmp__dtype(const char *vllm)
{
    if (vllm == NULL)
        return NULL;
    g_autofree char *s = g_ascii_strdown(vllm, -1);
    const char *t = g_str_has_prefix(s, "torch.") ? s + 6 : s;
    if (strcmp(t, "bfloat16") == 0 || strcmp(t, "bf16") == 0)
        return "bf16";
    if (strcmp(t, "float16") == 0 || strcmp(t, "half") == 0 || strcmp(t, "fp16") == 0)
        return "fp16";
    if (g_str_has_prefix(t, "fp8"))
        return "fp8";
    return NULL;
}

/* ---- vLLM engine arguments ---- */

typedef enum { A_INT, A_DOUBLE, A_BOOL, A_NOT_BOOL, A_STR, A_DTYPE, A_KV_DTYPE } arg_type;

static const struct {
    const char *name; /* vLLM's flag without dashes */
    const char *path; /* servesim settings path */
    arg_type type;
} engine_args[] = {
    {"tensor-parallel-size", "parallelism.tensor_parallel_size", A_INT},
    {"tp", "parallelism.tensor_parallel_size", A_INT},
    {"pipeline-parallel-size", "parallelism.pipeline_parallel_size", A_INT},
    {"pp", "parallelism.pipeline_parallel_size", A_INT},
    {"data-parallel-size", "parallelism.data_parallel_size", A_INT},
    {"dp", "parallelism.data_parallel_size", A_INT},
    {"enable-expert-parallel", "parallelism.enable_expert_parallel", A_BOOL},
    {"max-num-seqs", "scheduler.max_num_seqs", A_INT},
    {"max-num-batched-tokens", "scheduler.max_num_batched_tokens", A_INT},
    {"max-model-len", "scheduler.max_model_len", A_INT},
    {"long-prefill-token-threshold", "scheduler.long_prefill_token_threshold", A_INT},
    {"enable-chunked-prefill", "scheduler.enable_chunked_prefill", A_BOOL},
    {"no-enable-chunked-prefill", "scheduler.enable_chunked_prefill", A_NOT_BOOL},
    {"scheduling-policy", "scheduler.scheduling_policy", A_STR},
    {"block-size", "kv.block_size", A_INT},
    {"gpu-memory-utilization", "kv.gpu_memory_utilization", A_DOUBLE},
    {"num-gpu-blocks-override", "kv.num_gpu_blocks_override", A_INT},
    {"enable-prefix-caching", "kv.enable_prefix_caching", A_BOOL},
    {"no-enable-prefix-caching", "kv.enable_prefix_caching", A_NOT_BOOL},
    {"dtype", "model.dtype", A_DTYPE},
    {"kv-cache-dtype", "model.kv_cache_dtype", A_KV_DTYPE},
};

/* Arguments that name things servesim takes from elsewhere or that do not change timing. */
static const char *const harmless[] = {"model",
                                       "served-model-name",
                                       "port",
                                       "host",
                                       "seed",
                                       "trust-remote-code",
                                       "disable-log-requests",
                                       "disable-log-stats",
                                       "uvicorn-log-level",
                                       NULL};

static bool
parse_bool(const char *v, bool *out)
{
    if (v == NULL || g_ascii_strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
        g_ascii_strcasecmp(v, "yes") == 0) {
        *out = true;
        return true;
    }
    if (g_ascii_strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
        g_ascii_strcasecmp(v, "no") == 0) {
        *out = false;
        return true;
    }
    return false;
}

bool
cmp__engine_arg(json_t *settings, const char *name, const char *value, GError **error)
{
    g_autofree char *n = g_strdup(name);
    for (char *c = n; *c != '\0'; c++)
        if (*c == '_')
            *c = '-';
    for (size_t i = 0; i < G_N_ELEMENTS(engine_args); i++) {
        if (strcmp(engine_args[i].name, n) != 0)
            continue;
        const char *path = engine_args[i].path;
        g_autofree char *shown = base_escape_text(value != NULL ? value : "", 40);
        int64_t iv;
        double dv;
        bool bv;
        switch (engine_args[i].type) {
        case A_INT:
            if (value == NULL || !base_parse_int64(value, &iv) || iv < 0) {
                cmp__error(error, CMP_ERROR_PARSE, "%s: expected a whole number, got '%s'", n,
                           shown);
                return false;
            }
            cmp__set(settings, path, json_integer((json_int_t)iv));
            return true;
        case A_DOUBLE:
            if (value == NULL || !base_parse_double(value, &dv)) {
                cmp__error(error, CMP_ERROR_PARSE, "%s: expected a number, got '%s'", n, shown);
                return false;
            }
            cmp__set(settings, path, json_real(dv));
            return true;
        case A_BOOL:
        case A_NOT_BOOL:
            if (!parse_bool(value, &bv)) {
                cmp__error(error, CMP_ERROR_PARSE, "%s: expected true or false, got '%s'", n,
                           shown);
                return false;
            }
            cmp__set(settings, path, json_boolean(engine_args[i].type == A_BOOL ? bv : !bv));
            return true;
        case A_STR:
            cmp__set(settings, path, json_string(value != NULL ? value : ""));
            return true;
        case A_DTYPE:
        case A_KV_DTYPE: {
            if (value != NULL && strcmp(value, "auto") == 0) {
                if (engine_args[i].type == A_KV_DTYPE)
                    cmp__set(settings, path, json_string("auto"));
                return true;
            }
            const char *d = cmp__dtype(value);
            if (d == NULL) {
                cmp__error(error, CMP_ERROR_UNMODELED, "%s: dtype '%s' is not modelled", n, shown);
                return false;
            }
            cmp__set(settings, path, json_string(d));
            return true;
        }
        }
    }
    return false;
}

gboolean
cmp__engine_args(json_t *settings, const char *args, GPtrArray *ignored, GError **error)
{
    if (args == NULL)
        return TRUE;
    g_autofree char *text = g_strstrip(g_strdup(args));
    if (*text == '\0')
        return TRUE;
    /* Two spellings: "key: value; key: value" (the dashboards) and command-line flags. */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
    if (strstr(text, "--") == NULL) {
        g_auto(GStrv) items = g_strsplit_set(text, ";,", -1);
        for (char **it = items; *it != NULL; it++) {
            char *item = g_strstrip(*it);
            if (*item == '\0')
                continue;
            char *colon = strchr(item, ':');
            if (colon == NULL) {
                g_ptr_array_add(names, g_strdup(item));
                g_ptr_array_add(values, NULL);
                continue;
            }
            *colon = '\0';
            g_ptr_array_add(names, g_strdup(g_strstrip(item)));
            g_ptr_array_add(values, g_strdup(g_strstrip(colon + 1)));
        }
    } else {
        g_auto(GStrv) words = NULL;
        GError *e = NULL;
        if (!g_shell_parse_argv(text, NULL, &words, &e)) {
            g_autofree char *shown = base_escape_text(text, 60);
            cmp__error(error, CMP_ERROR_PARSE, "cannot split the engine arguments '%s'", shown);
            g_error_free(e);
            return FALSE;
        }
        for (char **w = words; *w != NULL; w++) {
            if (!g_str_has_prefix(*w, "--"))
                continue; /* a positional (the model of `vllm serve MODEL`) */
            char *eq = strchr(*w, '=');
            if (eq != NULL) {
                g_ptr_array_add(names, g_strndup(*w + 2, (gsize)(eq - *w - 2)));
                g_ptr_array_add(values, g_strdup(eq + 1));
            } else {
                g_ptr_array_add(names, g_strdup(*w + 2));
                bool has_value = w[1] != NULL && !g_str_has_prefix(w[1], "--");
                g_ptr_array_add(values, has_value ? g_strdup(*++w) : NULL);
            }
        }
    }
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        GError *e = NULL;
        if (cmp__engine_arg(settings, n, g_ptr_array_index(values, i), &e))
            continue;
        if (e != NULL) {
            g_propagate_error(error, e);
            return FALSE;
        }
        g_autofree char *dashed = g_strdup(n);
        for (char *c = dashed; *c != '\0'; c++)
            if (*c == '_')
                *c = '-';
        if (base_strv_index(harmless, dashed) < 0 && ignored != NULL)
            g_ptr_array_add(ignored, base_escape_text(n, 60));
    }
    return TRUE;
}

/* ---- latency column names ---- */

bool
cmp__latency_col(const char *name, bool with_stat, cmp_lat *lat, int *stat, double *to_ms)
{
    g_autofree char *s = g_ascii_strdown(name, -1);
    g_strstrip(s);
    for (char *c = s; *c != '\0'; c++)
        if (*c == ' ' || *c == '-')
            *c = '_';

    /* unit suffix */
    static const struct {
        const char *suffix;
        double to_ms;
    } units[] = {{"_ms", 1},        {"_msec", 1},  {"_s", 1e3},    {"_sec", 1e3},
                 {"_seconds", 1e3}, {"_us", 1e-3}, {"_usec", 1e-3}};

    *to_ms = 1; /* latencies are in milliseconds unless the name says otherwise */
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
        if (g_str_has_suffix(s, units[i].suffix)) {
            s[strlen(s) - strlen(units[i].suffix)] = '\0';
            *to_ms = units[i].to_ms;
            break;
        }
    *stat = -1;
    if (with_stat) {
        static const struct {
            const char *suffix;
            int stat;
        } stats[] = {{"_mean", CMP_MEAN}, {"_avg", CMP_MEAN}, {"_median", CMP_P50},
                     {"_p50", CMP_P50},   {"_p90", CMP_P90},  {"_p95", CMP_P95},
                     {"_p99", CMP_P99}};

        for (size_t i = 0; i < G_N_ELEMENTS(stats) && *stat < 0; i++)
            if (g_str_has_suffix(s, stats[i].suffix)) {
                s[strlen(s) - strlen(stats[i].suffix)] = '\0';
                *stat = stats[i].stat;
            }
        if (*stat < 0)
            return false;
    }

    static const struct {
        const char *name;
        cmp_lat lat;
    } names[] = {
        {"ttft", CMP_TTFT},
        {"time_to_first_token", CMP_TTFT},
        {"first_token_latency", CMP_TTFT},
        {"tpot", CMP_TPOT},
        {"time_per_output_token", CMP_TPOT},
        {"itl", CMP_ITL},
        {"inter_token_latency", CMP_ITL},
        {"e2e", CMP_E2E},
        {"e2el", CMP_E2E},
        {"e2e_latency", CMP_E2E},
        {"end_to_end_latency", CMP_E2E},
        {"request_latency", CMP_E2E},
        {"latency", CMP_E2E},
        {"total_latency", CMP_E2E},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *lat = names[i].lat;
            return true;
        }
    return false;
}
