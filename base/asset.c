/* base/asset.c: lookup in the generated, name-sorted asset table (servesim_assets.c). */
#include "base/asset.h"

#include <string.h>

#include "base/error.h"
#include "base/io.h"

/* Defined by the generated file (cmake/servesim.cmake, base/embedgen.c). */
extern const base_asset base__assets[];
extern const size_t base__asset_count;

size_t
base_asset_count(void)
{
    return base__asset_count;
}

const base_asset *
base_asset_at(size_t i)
{
    return i < base__asset_count ? &base__assets[i] : NULL;
}

const base_asset *
base_asset_find(const char *name)
{
    size_t lo = 0, hi = base__asset_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(base__assets[mid].name, name);
        if (c == 0)
            return &base__assets[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

GBytes *
base_asset_bytes(const char *name, GError **error)
{
    const base_asset *a = base_asset_find(name);
    if (a == NULL) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_IO, "%s: no such embedded asset", name);
        return NULL;
    }
    return base_bytes_maybe_gunzip(name, a->data, a->size, error);
}

char **
base_asset_list(const char *dir, const char *suffix)
{
    GPtrArray *out = g_ptr_array_new();
    size_t dl = strlen(dir);
    for (size_t i = 0; i < base__asset_count; i++) {
        const char *n = base__assets[i].name;
        if (strncmp(n, dir, dl) != 0 || !g_str_has_suffix(n, suffix))
            continue;
        g_ptr_array_add(out, g_strndup(n + dl, strlen(n) - dl - strlen(suffix)));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}
