/* base/asset.h: files compiled into the binary (model configs, hardware presets, calibrations,
 * sample traces). Modules register them in CMake with servesim_add_asset(NAME FILE); names are
 * paths like "models/llama-3.1-8b.json". The table is sorted by name and immutable. */
#pragma once

#include <stddef.h>

#include <glib.h>

typedef struct base_asset {
    const char *name;          /* e.g. "hardware/h100-sxm.json" */
    const unsigned char *data; /* raw bytes as stored (gzip stays compressed); NUL-terminated */
    size_t size;               /* bytes, excluding the terminating NUL */
} base_asset;

size_t base_asset_count(void);
const base_asset *base_asset_at(size_t i);
/* Exact name lookup; NULL if absent. */
const base_asset *base_asset_find(const char *name);
/* Contents of NAME, inflated if gzip. transfer full. */
GBytes *base_asset_bytes(const char *name, GError **error);
/* Names under DIR ("models/") with that prefix and SUFFIX (".json") stripped, sorted:
 * the short names users type. Free with g_strfreev. */
char **base_asset_list(const char *dir, const char *suffix);
