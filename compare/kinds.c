/* compare/kinds.c: which reader an input needs, decided from its content (never its name
 * alone), like workloads/detect.c: one const table of kinds, each with its detection, reader
 * and mirror, tried in order:
 *   - inference-perf: a directory holding summary_lifecycle_metrics.json, or a lifecycle
 *     report (load_summary + successes), or config.yaml / the per-request file next to one;
 *   - llmservingsim: a directory holding requests.jsonl, or JSONL whose first object has
 *     queued_ts / first_token_ts;
 *   - vllm-bench: a JSON object with vLLM's figure keys (mean_ttft_ms, request_throughput, ...);
 *   - dashboard-csv: a CSV header with accelerator, model, TP and intended concurrency;
 *   - request-csv: a CSV header with input and output token columns and a latency column.
 * The probe reads the first non-blank line of a file (gzip inflated) and, when that line opens
 * a multi-line JSON document, the whole document. */
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "base/match.h"
#include "compare/internal.h"

static const cmp_kind *const kinds[] = {&cmp__kind_infperf,   &cmp__kind_lss,    &cmp__kind_vllm,
                                        &cmp__kind_dashboard, &cmp__kind_reqcsv, NULL};

const char *
cmp_kind_name(const cmp_kind *k)
{
    return k->name;
}

const char *
cmp_kind_what(const cmp_kind *k)
{
    return k->what;
}

const cmp_kind *const *
cmp_kinds(void)
{
    return kinds;
}

char *
cmp_kinds_list(void)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; kinds[i] != NULL; i++)
        g_string_append_printf(g, "%s%s (%s)", i ? "; " : "", kinds[i]->name, kinds[i]->what);
    return g_string_free(g, FALSE);
}

static void
probe_clear(cmp__probe *p)
{
    g_free(p->dir);
    g_free(p->file);
    g_free(p->first_line);
    json_decref(p->json);
    json_decref(p->first_json);
    g_strfreev(p->header);
}

/* Reads what detection needs of P->file. */
static gboolean
probe_file(cmp__probe *p, GError **error)
{
    GError *e = NULL;
    g_autoptr(base_lines) l = base_lines_open(p->file, &e);
    if (l == NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    char *line = NULL;
    size_t len = 0;
    do {
        if (!base_lines_next(l, &line, &len, &e)) {
            if (e != NULL)
                cmp__propagate(error, e);
            else
                cmp__error(error, CMP_ERROR_PARSE, "%s: empty file", p->file);
            return FALSE;
        }
        line = g_strstrip(line);
    } while (*line == '\0');
    p->first_line = g_strdup(line);
    if (line[0] == '{') {
        p->first_json = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (p->first_json == NULL) {
            /* a pretty-printed document: parse it whole (errors are the reader's to report) */
            p->json = base_json_load_file(p->file, NULL);
        }
        return TRUE;
    }
    char *f[128];
    g_autofree char *copy = g_strdup(line);
    char sep = strchr(copy, ',') == NULL && strchr(copy, '\t') != NULL ? '\t' : ',';
    size_t n = base_csv_split(copy, sep, f, G_N_ELEMENTS(f)); /* once: it splits in place */
    n = MIN(n, G_N_ELEMENTS(f));
    p->header = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++)
        p->header[i] = g_strstrip(g_strdup(f[i]));
    return TRUE;
}

gboolean
cmp_read(const char *path, const cmp_read_opts *opts, GPtrArray *results, GError **error)
{
    g_return_val_if_fail(path != NULL && opts != NULL && results != NULL, FALSE);
    cmp__probe p = {.path = path};
    gboolean ok = FALSE;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        p.is_dir = true;
        p.dir = g_strdup(path);
    } else if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        p.file = g_strdup(path);
        p.dir = g_path_get_dirname(path);
        if (!probe_file(&p, error))
            goto out;
    } else {
        cmp__error(error, CMP_ERROR_IO, "%s: no such file or directory", path);
        goto out;
    }
    const cmp_kind *kind = NULL;
    if (opts->kind != NULL) {
        for (size_t i = 0; kinds[i] != NULL && kind == NULL; i++)
            if (strcmp(kinds[i]->name, opts->kind) == 0)
                kind = kinds[i];
        if (kind == NULL) {
            g_autofree char *list = cmp_kinds_list();
            g_autofree char *shown = base_escape_text(opts->kind, 40);
            cmp__error(error, CMP_ERROR_KIND, "--kind: unknown kind '%s' (kinds: %s)", shown, list);
            goto out;
        }
    }
    for (size_t i = 0; kind == NULL && kinds[i] != NULL; i++)
        if (kinds[i]->detect(&p))
            kind = kinds[i];
    if (kind == NULL) {
        g_autofree char *list = cmp_kinds_list();
        if (p.is_dir)
            cmp__error(error, CMP_ERROR_KIND,
                       "%s: a directory without summary_lifecycle_metrics.json or requests.jsonl "
                       "(kinds: %s)",
                       path, list);
        else
            cmp__error(error, CMP_ERROR_KIND,
                       "%s:1: cannot tell what kind of benchmark result this is (kinds: %s); use "
                       "--kind",
                       path, list);
        goto out;
    }
    guint before = results->len;
    if (!kind->read(&p, opts, results, error)) {
        g_ptr_array_set_size(results, before);
        goto out;
    }
    if (results->len == before) {
        cmp__error(error, CMP_ERROR_INVALID, "%s: no benchmark point left to compare", path);
        goto out;
    }
    for (guint i = before; i < results->len; i++) {
        cmp_result *r = g_ptr_array_index(results, i);
        if (!cmp_metrics_any(&r->m)) {
            cmp__error(error, CMP_ERROR_INVALID,
                       "%s: no usable metric (no TTFT, TPOT, ITL, E2E or throughput figure; "
                       "%s)",
                       r->where,
                       r->m.completed == 0 ? "no request completed" : "nothing was recorded");
            g_ptr_array_set_size(results, before);
            goto out;
        }
    }
    ok = TRUE;
out:
    probe_clear(&p);
    return ok;
}
