/* base/json.c: jansson wrappers that turn jansson's error struct into "FILE:LINE:COLUMN"
 * messages and fix the output format (indentation, key order, real precision). */
#include "base/json.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/io.h"
#include "base/match.h"

json_t *
base_json_load_bytes(const char *name, const void *data, size_t size, GError **error)
{
    json_error_t je;
    json_t *j = json_loadb(data, size, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        /* jansson quotes the input near the error, which may hold a newline or binary bytes */
        g_autofree char *text = base_escape_text(je.text, sizeof je.text);
        g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s:%d:%d: %s", name, je.line, je.column,
                    text);
        return NULL;
    }
    return j;
}

json_t *
base_json_load_file(const char *path, GError **error)
{
    g_autoptr(GBytes) b = base_file_read_all(path, error);
    if (b == NULL)
        return NULL;
    size_t n = 0;
    const void *p = g_bytes_get_data(b, &n);
    return base_json_load_bytes(path, p, n, error);
}

char *
base_json_dumps(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    char *out = g_strconcat(s != NULL ? s : "null", "\n", NULL);
    free(s);
    return out;
}

gboolean
base_json_write_file(const char *path, const json_t *j, GError **error)
{
    g_autofree char *s = base_json_dumps(j);
    return base_file_write_atomic(path, s, strlen(s), error);
}

json_t *
base_json_real(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(v);
}

json_t *
base_json_number(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9.0e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

const char *
base_json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}
