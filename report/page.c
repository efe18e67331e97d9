/* report/page.c: the HTML page: the chart library (report/vendor/, embedded gzipped), the page
 * style and script (report/page.css, report/page.js) and the report document (report/
 * internal.h) inlined into one file, so it opens offline and can be mailed or attached.
 *
 * Inlining text into <script> is safe only if it cannot end the element early: the libraries
 * are checked for "</script" (a build problem if found), and '<' in the JSON document is
 * written as \u003c, which JSON.parse reads back as '<'. The output is a pure function of the
 * document and the binary: no dates, no paths other than the inputs'. */
#include <string.h>

#include "base/asset.h"
#include "report/internal.h"
#include "servesim_version.h"

/* In <head>, in dependency order (vega-lite needs vega, vega-embed both). */
static const char *const libraries[] = {"report/vega.min.js.gz", "report/vega-lite.min.js.gz",
                                        "report/vega-embed.min.js.gz", NULL};

static void
append_escaped_html(GString *g, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        switch (*p) {
        case '<':
            g_string_append(g, "&lt;");
            break;
        case '>':
            g_string_append(g, "&gt;");
            break;
        case '&':
            g_string_append(g, "&amp;");
            break;
        case '"':
            g_string_append(g, "&quot;");
            break;
        default:
            g_string_append_c(g, *p);
        }
    }
}

/* Appends asset NAME as the body of a <script> or <style> element. */
static gboolean
append_asset(GString *g, const char *name, GError **error)
{
    GError *e = NULL;
    g_autoptr(GBytes) b = base_asset_bytes(name, &e);
    if (b == NULL) {
        g_set_error(error, RP_ERROR, RP_ERROR_ASSET, "%s", e->message);
        g_error_free(e);
        return FALSE;
    }
    size_t n = 0;
    const char *s = g_bytes_get_data(b, &n);
    /* the vendored builds end in a source-map comment pointing at a file the page lacks */
    const char *sm = g_strrstr_len(s, (gssize)n, "\n//# sourceMappingURL=");
    if (sm != NULL)
        n = (size_t)(sm - s) + 1;
    g_autofree char *low = g_ascii_strdown(s, (gssize)n);
    if (strstr(low, "</script") != NULL || strstr(low, "</style") != NULL) {
        g_set_error(error, RP_ERROR, RP_ERROR_ASSET,
                    "embedded %s contains an end tag and cannot be inlined", name);
        return FALSE;
    }
    g_string_append_len(g, s, (gssize)n);
    return TRUE;
}

GString *
rp__page_render(const json_t *doc, GError **error)
{
    char *js = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (js == NULL) {
        g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "report document cannot be serialised");
        return NULL;
    }
    GString *g = g_string_sized_new(1200000 + strlen(js));
    g_string_append(g, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"generator\" content=\"servesim " SERVESIM_VERSION
                       " (" SERVESIM_GIT_DESCRIBE ")\">\n<title>");
    const char *title = json_string_value(json_object_get(doc, "title"));
    append_escaped_html(g, title != NULL ? title : "servesim report");
    g_string_append(g, "</title>\n<style>\n");
    gboolean ok = append_asset(g, "report/page.css", error);
    g_string_append(g, "</style>\n");
    for (size_t i = 0; ok && libraries[i] != NULL; i++) {
        g_string_append(g, "<script>\n");
        ok = append_asset(g, libraries[i], error);
        g_string_append(g, "\n</script>\n");
    }
    if (ok) {
        g_string_append(g, "</head>\n<body>\n<noscript>This report draws its charts with "
                           "JavaScript; the data are in the servesim-report element of the "
                           "page source.</noscript>\n<main id=\"report\"></main>\n"
                           "<script type=\"application/json\" id=\"servesim-report\">");
        for (const char *p = js; *p != '\0'; p++) {
            if (*p == '<')
                g_string_append(g, "\\u003c");
            else
                g_string_append_c(g, *p);
        }
        g_string_append(g, "</script>\n<script>\n");
        ok = append_asset(g, "report/page.js", error);
        g_string_append(g, "\n</script>\n</body>\n</html>\n");
    }
    free(js);
    if (!ok) {
        g_string_free(g, TRUE);
        return NULL;
    }
    return g;
}
