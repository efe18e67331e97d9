/* report/spec.c: small builders for Vega-Lite specs (the grammar the page's chart library
 * reads: data + mark + encoding + transforms, all JSON). Views compose them with jansson;
 * nothing here draws. Field names are escaped for Vega-Lite, which reads '.' and '[' in a
 * field name as nested access (sweep columns are named "workload.rate"). */
#include <string.h>

#include "report/internal.h"

/* Vega-Lite 6 (report/vendor/). Only a label: the page never fetches it. */
#define VL_SCHEMA "https://vega.github.io/schema/vega-lite/v6.json"
#define VL_WIDTH  460
#define VL_HEIGHT 240

json_t *
rp__vl_new(const char *data, int width, int height)
{
    json_t *s = json_object();
    json_object_set_new(s, "$schema", json_string(VL_SCHEMA));
    json_object_set_new(s, "width", json_integer(width > 0 ? width : VL_WIDTH));
    json_object_set_new(s, "height", json_integer(height > 0 ? height : VL_HEIGHT));
    if (data != NULL)
        json_object_set_new(s, "data", json_pack("{s:s}", "name", data));
    return s;
}

json_t *
rp__vl_layers(int width, int height, json_t *layers)
{
    json_t *s = rp__vl_new(NULL, width, height);
    json_object_set_new(s, "layer", layers);
    return s;
}

static char *
escape_field(const char *f)
{
    GString *g = g_string_new(NULL);
    for (const char *p = f; *p != '\0'; p++) {
        if (*p == '.' || *p == '[' || *p == ']' || *p == '\\')
            g_string_append_c(g, '\\');
        g_string_append_c(g, *p);
    }
    return g_string_free(g, FALSE);
}

json_t *
rp__vl_field(const char *shorthand, const char *title)
{
    /* "name:Q" → quantitative, :N nominal, :O ordinal, :T temporal; no suffix = quantitative */
    const char *colon = strrchr(shorthand, ':');
    const char *type = "quantitative";
    g_autofree char *name = NULL;
    if (colon != NULL && colon[1] != '\0' && colon[2] == '\0') {
        name = g_strndup(shorthand, (size_t)(colon - shorthand));
        switch (colon[1]) {
        case 'N':
            type = "nominal";
            break;
        case 'O':
            type = "ordinal";
            break;
        case 'T':
            type = "temporal";
            break;
        default:
            break;
        }
    } else {
        name = g_strdup(shorthand);
    }
    g_autofree char *esc = escape_field(name);
    json_t *o = json_object();
    json_object_set_new(o, "field", json_string(esc));
    json_object_set_new(o, "type", json_string(type));
    if (title != NULL)
        json_object_set_new(o, "title", json_string(title));
    return o;
}

void
rp__vl_log(json_t *channel)
{
    /* not "nice": a log domain rounded out to whole decades leaves most of the plot empty */
    json_object_set_new(channel, "scale", json_pack("{s:s, s:b}", "type", "log", "nice", 0));
}

json_t *
rp__vl_mark(const char *mark, bool points)
{
    json_t *m = json_pack("{s:s, s:b}", "type", mark, "tooltip", 1);
    if (points)
        json_object_set_new(m, "point", json_true());
    return m;
}

json_t *
rp__vl_tooltip(const char *const *pairs)
{
    json_t *a = json_array();
    for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
        json_array_append_new(a, rp__vl_field(pairs[i], pairs[i + 1]));
    return a;
}
