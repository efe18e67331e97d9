/* report/inputs.c: what each input is. The kind table below is the one registry of input
 * kinds: a row names the kind, the file that marks a directory as that kind, what it reads,
 * its detector and its view builder. Adding a kind is one row and one view file.
 *
 * An input is read once up front ("sniffed"): a JSON document whole, a JSON Lines file by its
 * first line, a CSV file by its header. Every detector looks at the sniff; exactly one kind
 * must claim it, or the report stops with "FILE: not a servesim output (...)" before any view
 * is built. */
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "report/internal.h"

G_DEFINE_QUARK(rp - error - quark, rp_error)

static const rp_kind kinds[] = {
    {"run", "summary.json",
     "a `servesim run` output directory (summary.json, requests.csv, steps, lifecycle report) or "
     "its summary.json / requests.csv",
     rp__detect_run, rp__build_run},
    {"estimate", NULL, "`servesim estimate --json` output", rp__detect_estimate,
     rp__build_estimate},
    {"scenarios", NULL, "`servesim estimate --scenarios` CSV", rp__detect_scenarios,
     rp__build_scenarios},
    {"sweep", "sweep.jsonl", "`servesim sweep` outputs (a directory or its sweep.jsonl)",
     rp__detect_sweep, rp__build_sweep},
    {"search", "search.jsonl", "`servesim search` outputs (a directory or its search.jsonl)",
     rp__detect_search, rp__build_search},
    {"dsa", NULL, "`servesim analyze dsa --json` summary", rp__detect_dsa, rp__build_dsa},
    {"compare", "compare.json",
     "`servesim compare` outputs (an --output-dir directory, its compare.json, or --json)",
     rp__detect_compare, rp__build_compare},
};

struct rp_ctx {
    GPtrArray *inputs; /* rp_input * */
    json_t *sections;  /* array */
};

size_t
rp__ctx_ninputs(const rp_ctx *ctx)
{
    return ctx->inputs->len;
}

const rp_input *
rp__ctx_input(const rp_ctx *ctx, size_t i)
{
    return g_ptr_array_index(ctx->inputs, i);
}

void
rp__ctx_add_section(rp_ctx *ctx, json_t *section)
{
    json_array_append_new(ctx->sections, section);
}

static void
input_free(rp_input *in)
{
    if (in == NULL)
        return;
    g_free(in->path);
    g_free(in->dir);
    json_decref(in->json);
    json_decref(in->first);
    g_strfreev(in->header);
    g_free(in);
}

/* Reads enough of PATH to tell what it is (see the file comment). */
static rp_input *
sniff(const char *path, GError **error)
{
    g_autoptr(base_lines) r = base_lines_open(path, error);
    if (r == NULL)
        return NULL;
    char *line;
    size_t len;
    if (!base_lines_next(r, &line, &len, error)) {
        if (error != NULL && *error == NULL)
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: empty file", path);
        return NULL;
    }
    rp_input *in = g_new0(rp_input, 1);
    in->path = g_strdup(path);
    in->dir = g_path_get_dirname(path);
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '{' || *p == '[') {
        json_error_t je;
        json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
        char *next;
        size_t nlen;
        bool more = j != NULL && base_lines_next(r, &next, &nlen, NULL);
        if (j != NULL && json_is_object(j) && more) {
            in->first = j; /* JSON Lines */
        } else {
            json_decref(j);
            /* a JSON document (maybe pretty-printed over many lines): read it whole */
            in->json = base_json_load_file(path, error);
            if (in->json == NULL) {
                input_free(in);
                return NULL;
            }
        }
        return in;
    }
    g_autofree char *copy = g_strndup(line, len);
    GPtrArray *h = g_ptr_array_new();
    char *fields[512];
    size_t nf = base_csv_split(copy, ',', fields, G_N_ELEMENTS(fields));
    for (size_t i = 0; i < nf && i < G_N_ELEMENTS(fields); i++)
        g_ptr_array_add(h, g_strstrip(g_strdup(fields[i])));
    g_ptr_array_add(h, NULL);
    in->header = (char **)g_ptr_array_free(h, FALSE);
    return in;
}

/* Finds the one kind that claims IN; *ERROR explains when none does or one refuses it. */
static gboolean
classify(rp_input *in, GError **error)
{
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        int m = kinds[k].detect(in, error);
        if (m < 0)
            return FALSE;
        if (m > 0) {
            in->kind = &kinds[k];
            return TRUE;
        }
    }
    g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                "%s: not a servesim output (the report reads run output directories, summary.json, "
                "requests.csv, estimate --json, estimate --scenarios CSV, sweep/search outputs, "
                "analyze dsa --json, compare outputs)",
                in->path);
    return FALSE;
}

/* A directory holds one or more kinds (by their dir_file); a file is one input. */
static gboolean
add_input(GPtrArray *out, const char *path, GError **error)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        size_t found = 0;
        for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
            if (kinds[k].dir_file == NULL)
                continue;
            g_autofree char *f = g_build_filename(path, kinds[k].dir_file, NULL);
            if (!g_file_test(f, G_FILE_TEST_EXISTS))
                continue;
            rp_input *in = sniff(f, error);
            if (in == NULL)
                return FALSE;
            g_free(in->dir);
            in->dir = g_strdup(path);
            if (!classify(in, error)) {
                input_free(in);
                return FALSE;
            }
            g_ptr_array_add(out, in);
            found++;
        }
        if (found == 0) {
            g_set_error(error, RP_ERROR, RP_ERROR_INPUT,
                        "%s: no servesim outputs in this directory (looked for summary.json, "
                        "sweep.jsonl, search.jsonl, compare.json)",
                        path);
            return FALSE;
        }
        return TRUE;
    }
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: no such file or directory", path);
        return FALSE;
    }
    rp_input *in = sniff(path, error);
    if (in == NULL)
        return FALSE;
    if (!classify(in, error)) {
        input_free(in);
        return FALSE;
    }
    g_ptr_array_add(out, in);
    return TRUE;
}

/* Reads and classifies every input, then builds every view into CTX->sections. */
static gboolean
build_all(rp_ctx *ctx, const char *const *inputs, size_t n, GError **error)
{
    for (size_t i = 0; i < n; i++)
        if (!add_input(ctx->inputs, inputs[i], error))
            return FALSE;
    for (guint i = 0; i < ctx->inputs->len; i++) {
        const rp_input *in = g_ptr_array_index(ctx->inputs, i);
        if (!in->kind->build(ctx, in, error))
            return FALSE;
    }
    return TRUE;
}

GString *
rp_report_render(const char *const *inputs, size_t n, const rp_params *p, GError **error)
{
    g_return_val_if_fail(n > 0, NULL);
    rp_ctx ctx = {g_ptr_array_new_with_free_func((GDestroyNotify)input_free), json_array()};
    GString *page = NULL;
    if (build_all(&ctx, inputs, n, error)) {
        json_auto_t *doc = json_object();
        json_object_set_new(doc, "format", json_string("servesim-report/1"));
        json_object_set_new(
            doc, "title",
            json_string(p != NULL && p->title != NULL ? p->title : "servesim report"));
        json_t *ins = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(ins, json_string(inputs[i]));
        json_object_set_new(doc, "inputs", ins);
        json_object_set(doc, "sections", ctx.sections);
        page = rp__page_render(doc, error);
    }
    g_ptr_array_free(ctx.inputs, TRUE);
    json_decref(ctx.sections);
    return page;
}

gboolean
rp_report_write(
    const char *const *inputs, size_t n, const rp_params *p, const char *path, GError **error)
{
    GString *page = rp_report_render(inputs, n, p, error);
    if (page == NULL)
        return FALSE;
    gboolean ok = base_file_write_atomic(path, page->str, page->len, error);
    g_string_free(page, TRUE);
    return ok;
}

char *
rp_report_kinds_help(void)
{
    GString *g = g_string_new(NULL);
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
        g_string_append_printf(g, "  %-10s %s\n", kinds[k].name, kinds[k].what);
    return g_string_free(g, FALSE);
}
