/* workloads/detect.c: which reader a file needs, decided from its content (never its name):
 *  - first non-blank character '[': ShareGPT conversations (JSON array);
 *  - a first line that is a JSON object: by its keys (hash_ids / timestamp+input_length:
 *    mooncake; input_toks / arrival_time_ns: jsonl; conversations: sharegpt-json; data / load:
 *    inference-perf; workload: spec; input_tokens inside a window: servegen dataset);
 *  - '{' without a one-line object: the whole (small) document, by the same keys;
 *  - otherwise a CSV header: TIMESTAMP+ContextTokens: azure; Timestamp+Request tokens:
 *    burstgpt; num_prefill_tokens: sharegpt (length table); no header, 6 fields with a
 *    distribution name in the 4th: servegen.
 * Gzip is inflated first (base_lines). */
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "workloads/internal.h"

static const char *
by_keys(json_t *o)
{
    if (!json_is_object(o))
        return NULL;
    if (json_object_get(o, "hash_ids") != NULL ||
        (json_object_get(o, "timestamp") != NULL && json_object_get(o, "input_length") != NULL))
        return "mooncake";
    if (json_object_get(o, "input_toks") != NULL || json_object_get(o, "arrival_time_ns") != NULL)
        return "jsonl";
    if (json_object_get(o, "conversations") != NULL)
        return "sharegpt-json";
    if (json_object_get(o, "data") != NULL || json_object_get(o, "load") != NULL)
        return "inference-perf";
    if (json_object_get(o, "workload") != NULL)
        return "spec";
    /* ServeGen dataset: {"0": {"input_tokens": "...", "output_tokens": "..."}, ...} */
    const char *k;
    const json_t *v;
    json_object_foreach(o, k, v) {
        if (json_is_object(v) && json_object_get(v, "input_tokens") != NULL)
            return "servegen";
        break;
    }
    return NULL;
}

static bool
is_servegen_row(char *line)
{
    char *f[8];
    size_t n = base_csv_split(line, ',', f, 8);
    double d;
    if (n != 6 || !base_parse_double(f[0], &d))
        return false;
    const char *dist = f[3];
    return *dist == '\0' || strcmp(dist, "Weibull") == 0 || strcmp(dist, "Gamma") == 0 ||
           strcmp(dist, "Exponential") == 0;
}

static bool
has_col(char **f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *c = g_strstrip(g_strdup(f[i]));
        if (strcmp(c, name) == 0)
            return true;
    }
    return false;
}

const char *
wl__detect(const wl__input *in, GError **error)
{
    g_autoptr(base_lines) l = wl__input_lines(in, error);
    if (l == NULL)
        return NULL;
    char *line = NULL;
    size_t len = 0;
    GError *e = NULL;
    do {
        if (!base_lines_next(l, &line, &len, &e)) {
            if (e != NULL)
                wl__propagate(error, e);
            else
                g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: empty file", in->name);
            return NULL;
        }
        line = g_strstrip(line);
    } while (*line == '\0');
    if (line[0] == '[')
        return "sharegpt-json";
    if (line[0] == '{') {
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        const char *f = by_keys(j);
        if (j != NULL)
            json_decref(j);
        if (f != NULL)
            return f;
        /* A multi-line document (a spec or a ServeGen dataset): parse it whole. */
        g_autoptr(GBytes) b = wl__input_bytes(in, error);
        if (b == NULL)
            return NULL;
        size_t n = 0;
        const void *p = g_bytes_get_data(b, &n);
        json_auto_t *doc = base_json_load_bytes(in->name, p, n, &e);
        if (doc == NULL) {
            wl__propagate(error, e);
            return NULL;
        }
        if ((f = by_keys(doc)) != NULL)
            return f;
        g_set_error(error, WL_ERROR, WL_ERROR_PARSE,
                    "%s: cannot detect the workload format of this JSON (expected Mooncake, "
                    "per-request JSONL, ShareGPT, an inference-perf spec or {\"workload\": ...}); "
                    "use --workload-format",
                    in->name);
        return NULL;
    }
    g_autofree char *copy = g_strdup(line), *probe = g_strdup(line);
    if (is_servegen_row(probe)) /* splits PROBE in place */
        return "servegen";
    char *f[64];
    size_t n =
        base_csv_split(line, strchr(line, ',') == NULL && strchr(line, '\t') ? '\t' : ',', f, 64);
    n = MIN(n, G_N_ELEMENTS(f));
    if (has_col(f, n, "TIMESTAMP") && has_col(f, n, "ContextTokens"))
        return "azure";
    if (has_col(f, n, "Timestamp") && has_col(f, n, "Request tokens"))
        return "burstgpt";
    if (has_col(f, n, "num_prefill_tokens"))
        return "sharegpt";
    g_autofree char *shown = base_escape_text(copy, 80);
    g_set_error(error, WL_ERROR, WL_ERROR_PARSE,
                "%s:%" G_GUINT64_FORMAT ": cannot detect the workload format from the first line "
                "'%s' (known: Azure, BurstGPT, ShareGPT/Vidur length CSV, ServeGen, Mooncake, "
                "JSONL, ShareGPT JSON, inference-perf); use --workload-format",
                in->name, base_lines_lineno(l), shown);
    return NULL;
}
