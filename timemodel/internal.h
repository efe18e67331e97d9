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
