/* report/section.c: the section documents views build (layout in report/internal.h) and the
 * JSON accessors they read source files with. Sections hold data columnar ("fields" once,
 * then rows of values) because a row-object per point would repeat every key; the page script
 * turns them into the row objects Vega-Lite reads. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/json.h"
#include "report/internal.h"

json_t *
rp__section_new(const char *kind, const char *title, const char *source)
{
    json_t *s = json_object();
    json_object_set_new(s, "kind", json_string(kind));
    json_object_set_new(s, "title", json_string(title));
    json_object_set_new(s, "source", source != NULL ? json_string(source) : json_null());
    json_object_set_new(s, "notes", json_array());
    json_object_set_new(s, "data", json_object());
    json_object_set_new(s, "tables", json_array());
    json_object_set_new(s, "charts", json_array());
    return s;
}

void
rp__section_note(json_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *t = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(s, "notes"), json_string(t));
}

json_t *
rp__section_data(json_t *s, const char *name, const char *const *fields)
{
    json_t *f = json_array();
    for (size_t i = 0; fields[i] != NULL; i++)
        json_array_append_new(f, json_string(fields[i]));
    json_t *rows = json_array();
    json_t *d = json_object();
    json_object_set_new(d, "fields", f);
    json_object_set_new(d, "rows", rows);
    json_object_set_new(json_object_get(s, "data"), name, d);
    return rows;
}

void
rp__section_table(json_t *s, const char *title, json_t *columns, json_t *rows)
{
    json_t *t = json_object();
    json_object_set_new(t, "title", json_string(title));
    json_object_set_new(t, "columns", columns);
    json_object_set_new(t, "rows", rows);
    json_array_append_new(json_object_get(s, "tables"), t);
}

void
rp__section_chart(json_t *s, const char *title, const char *note, json_t *spec)
{
    json_t *c = json_object();
    json_object_set_new(c, "title", json_string(title));
    json_object_set_new(c, "note", note != NULL ? json_string(note) : json_null());
    json_object_set_new(c, "spec", spec);
    json_array_append_new(json_object_get(s, "charts"), c);
}

json_t *
rp__get(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    while (cur != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, len);
        p += len;
        if (*p == '.')
            p++;
    }
    return (json_t *)(uintptr_t)cur; /* jansson's getters are not const-correct */
}

json_t *
rp__copy(const json_t *root, const char *path)
{
    json_t *v = rp__get(root, path);
    return v != NULL ? json_deep_copy(v) : json_null();
}

gboolean
rp__need_object(const json_t *root, const char *path, const char *file, GError **error)
{
    json_t *v = rp__get(root, path);
    if (json_is_object(v))
        return TRUE;
    g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: %s: expected an object, got %s", file, path,
                v != NULL ? base_json_type_name(v) : "nothing");
    return FALSE;
}

gboolean
rp__need_number(const json_t *root, const char *path, const char *file, GError **error)
{
    json_t *v = rp__get(root, path);
    if (json_is_number(v))
        return TRUE;
    g_set_error(error, RP_ERROR, RP_ERROR_INPUT, "%s: %s: expected a number, got %s", file, path,
                v != NULL ? base_json_type_name(v) : "nothing");
    return FALSE;
}

double
rp__num(const json_t *root, const char *path)
{
    json_t *v = rp__get(root, path);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

const char *
rp__str(const json_t *root, const char *path)
{
    return json_string_value(rp__get(root, path));
}
