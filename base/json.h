/* base/json.h: JSON loading with positioned errors and deterministic writing.
 * Loading rejects duplicate keys; syntax errors read "FILE:LINE:COLUMN: message". */
#pragma once

#include <glib.h>
#include <jansson.h>

/* Loads a JSON document from PATH (plain or gzip). transfer full. */
json_t *base_json_load_file(const char *path, GError **error);
/* Loads from memory; NAME is used in messages. transfer full. */
json_t *base_json_load_bytes(const char *name, const void *data, size_t size, GError **error);

/* Dumps with 2-space indentation, keys in insertion order, reals with 10 significant digits
 * (so 0.1 prints as 0.1). Returns a g_malloc'd string ending in "\n". */
char *base_json_dumps(const json_t *j);
/* Writes base_json_dumps(J) to PATH atomically. */
gboolean base_json_write_file(const char *path, const json_t *j, GError **error);

/* A JSON real, or null if V is not finite (NaN/inf are not JSON). transfer full. */
json_t *base_json_real(double v);
/* json_integer, or null if V is not finite. */
json_t *base_json_number(double v);

/* Human name of a JSON type ("object", "integer", ...). */
const char *base_json_type_name(const json_t *j);
