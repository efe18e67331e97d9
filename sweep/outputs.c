/* sweep/outputs.c: result sets on disk: final files, shard files, the merge (see outputs.h).
 * One table of kinds says how each kind finalises its rows. Shard checks happen before any
 * output is opened. */
#include "sweep/outputs.h"

#include <inttypes.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "sweep/axes.h"
#include "sweep/search.h"

typedef gboolean (*finalize_fn)(const json_t *meta, GPtrArray *rows, GError **error);

static const struct {
    const char *kind;
    finalize_fn finalize; /* NULL: rows stay in point order, unchanged */
} kinds[] = {
    {"sweep", NULL},
    {"search", sw_search_finalize},
};

static gboolean
find_kind(const char *kind, finalize_fn *fn, const char *where, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        if (kind != NULL && strcmp(kinds[i].kind, kind) == 0) {
            *fn = kinds[i].finalize;
            return TRUE;
        }
    g_set_error(error, SW_ERROR, SW_ERROR_MERGE, "%s: unknown result kind '%s'", where,
                kind != NULL ? kind : "(none)");
    return FALSE;
}

static char *
compact(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    char *out = g_strdup(s != NULL ? s : "null");
    free(s);
    return out;
}

char *
sw_sweep_id(const json_t *definition)
{
    g_autofree char *s = compact(definition);
    g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
    return g_strndup(sha, 16);
}

json_t *
sw_meta_new(const char *kind, const json_t *definition, uint64_t npoints)
{
    json_t *m = json_object();
    json_object_set_new(m, "format", json_string(SW_FORMAT));
    json_object_set_new(m, "kind", json_string(kind));
    g_autofree char *id = sw_sweep_id(definition);
    json_object_set_new(m, "sweep_id", json_string(id));
    json_object_set_new(m, "points", json_integer((json_int_t)npoints));
    json_object_set_new(m, "definition", json_deep_copy(definition));
    return m;
}

char *
sw_csv_cell(const json_t *v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    switch (json_typeof(v)) {
    case JSON_NULL:
        return g_strdup("");
    case JSON_TRUE:
        return g_strdup("true");
    case JSON_FALSE:
        return g_strdup("false");
    case JSON_INTEGER:
        return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.10g", json_real_value(v)));
    case JSON_STRING: {
        const char *s = json_string_value(v);
        if (strpbrk(s, ",\"\n\r") == NULL)
            return g_strdup(s);
        GString *g = g_string_new("\"");
        for (const char *c = s; *c; c++) {
            if (*c == '"')
                g_string_append_c(g, '"');
            g_string_append_c(g, *c);
        }
        g_string_append_c(g, '"');
        return g_string_free(g, FALSE);
    }
    default: {
        /* nested values do not occur in rows; write them as JSON text, quoted */
        g_autofree char *s = compact(v);
        json_auto_t *str = json_string(s);
        return sw_csv_cell(str);
    }
    }
}

/* Dump + parse of every point: the final rows are computed from what a shard file holds. */
static GPtrArray *
roundtrip(const GPtrArray *points, GError **error)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    for (guint i = 0; i < points->len; i++) {
        g_autofree char *s = compact(points->pdata[i]);
        json_t *j = base_json_load_bytes("point", s, strlen(s), error);
        if (j == NULL) {
            g_ptr_array_free(rows, TRUE);
            return NULL;
        }
        g_ptr_array_add(rows, j);
    }
    return rows;
}

GPtrArray *
sw_outputs_finalize(const json_t *meta, const GPtrArray *points, GError **error)
{
    finalize_fn fn = NULL;
    if (!find_kind(json_string_value(json_object_get(meta, "kind")), &fn, "result set", error))
        return NULL;
    g_autoptr(GPtrArray) rows = roundtrip(points, error);
    if (rows == NULL)
        return NULL;
    if (fn != NULL && !fn(meta, rows, error))
        return NULL;
    return g_steal_pointer(&rows);
}

static void
write_jsonl(base_out *o, const json_t *meta, const GPtrArray *rows)
{
    g_autofree char *m = compact(meta);
    base_out_puts(o, m);
    base_out_puts(o, "\n");
    for (guint i = 0; i < rows->len; i++) {
        g_autofree char *s = compact(rows->pdata[i]);
        base_out_puts(o, s);
        base_out_puts(o, "\n");
    }
}

static void
write_csv(base_out *o, const GPtrArray *rows)
{
    if (rows->len == 0)
        return;
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)rows->pdata[0], key, v) {
        (void)v;
        json_auto_t *k = json_string(key);
        g_autofree char *c = sw_csv_cell(k);
        base_out_printf(o, "%s%s", first ? "" : ",", c);
        first = false;
    }
    base_out_puts(o, "\n");
    for (guint i = 0; i < rows->len; i++) {
        first = true;
        json_object_foreach((json_t *)rows->pdata[i], key, v) {
            g_autofree char *c = sw_csv_cell(v);
            base_out_printf(o, "%s%s", first ? "" : ",", c);
            first = false;
        }
        base_out_puts(o, "\n");
    }
}

static gboolean
write_final(const char *dir, const json_t *meta, const GPtrArray *rows, GError **error)
{
    const char *kind = json_string_value(json_object_get(meta, "kind"));
    if (!base_dir_ensure_writable(dir, error))
        return FALSE;
    g_autofree char *jn = g_strdup_printf("%s.jsonl", kind);
    g_autofree char *cn = g_strdup_printf("%s.csv", kind);
    g_autofree char *jp = g_build_filename(dir, jn, NULL);
    g_autofree char *cp = g_build_filename(dir, cn, NULL);
    g_autoptr(base_out) jo = base_out_open(jp, error);
    if (jo == NULL)
        return FALSE;
    g_autoptr(base_out) co = base_out_open(cp, error);
    if (co == NULL)
        return FALSE;
    write_jsonl(jo, meta, rows);
    write_csv(co, rows);
    return base_out_commit(jo, error) && base_out_commit(co, error);
}

gboolean
sw_outputs_write(const char *dir,
                 const json_t *meta,
                 const GPtrArray *points,
                 uint32_t shard_k,
                 uint32_t shard_n,
                 GError **error)
{
    if (shard_n == 0) {
        g_autoptr(GPtrArray) rows = sw_outputs_finalize(meta, points, error);
        return rows != NULL && write_final(dir, meta, rows, error);
    }
    if (!base_dir_ensure_writable(dir, error))
        return FALSE;
    json_auto_t *m = json_deep_copy(meta);
    g_autofree char *spec = g_strdup_printf("%" PRIu32 "/%" PRIu32, shard_k, shard_n);
    json_object_set_new(m, "shard", json_string(spec));
    g_autofree char *name =
        g_strdup_printf("%s.shard-%" PRIu32 "-of-%" PRIu32 ".jsonl",
                        json_string_value(json_object_get(meta, "kind")), shard_k, shard_n);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(base_out) o = base_out_open(path, error);
    if (o == NULL)
        return FALSE;
    write_jsonl(o, m, points);
    return base_out_commit(o, error);
}

/* ---- merge ------------------------------------------------------------------------------ */

typedef struct {
    char *file;
    json_t *meta;
    uint32_t k, n;
    GPtrArray *points; /* json_t * owned */
} shard;

static void
shard_free(gpointer p)
{
    shard *s = p;
    g_free(s->file);
    if (s->meta != NULL)
        json_decref(s->meta);
    if (s->points != NULL)
        g_ptr_array_free(s->points, TRUE);
    g_free(s);
}

static gboolean
read_shard(shard *s, GError **error)
{
    g_autoptr(base_lines) r = base_lines_open(s->file, error);
    if (r == NULL)
        return FALSE;
    char *line;
    size_t len;
    GError *e = NULL;
    s->points = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    while (base_lines_next(r, &line, &len, &e)) {
        g_autofree char *where = g_strdup_printf("%s:%" PRIu64, s->file, base_lines_lineno(r));
        json_t *j = base_json_load_bytes(where, line, len, error);
        if (j == NULL)
            return FALSE;
        if (s->meta == NULL) {
            s->meta = j;
            const char *fmt = json_string_value(json_object_get(j, "format"));
            const char *spec = json_string_value(json_object_get(j, "shard"));
            if (fmt == NULL || strcmp(fmt, SW_FORMAT) != 0) {
                g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                            "%s: not a servesim sweep/search output (format \"%s\" expected)",
                            where, SW_FORMAT);
                return FALSE;
            }
            if (spec == NULL) {
                g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                            "%s: not a shard (it is a complete result set: nothing to merge)",
                            where);
                return FALSE;
            }
            if (!sw_shard_parse(spec, &s->k, &s->n, error)) {
                g_prefix_error(error, "%s: ", where);
                return FALSE;
            }
            continue;
        }
        json_t *pi = json_object_get(j, "point");
        if (!json_is_integer(pi) || json_integer_value(pi) < 0 ||
            (uint64_t)json_integer_value(pi) % s->n != s->k - 1) {
            g_autofree char *what = json_is_integer(pi) ? g_strdup_printf("%" JSON_INTEGER_FORMAT,
                                                                          json_integer_value(pi))
                                                        : g_strdup("(no index)");
            json_decref(j);
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "%s: point %s does not belong to shard %" PRIu32 "/%" PRIu32, where, what,
                        s->k, s->n);
            return FALSE;
        }
        g_ptr_array_add(s->points, j);
    }
    if (e != NULL) {
        g_propagate_error(error, e);
        return FALSE;
    }
    if (s->meta == NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_MERGE, "%s: empty file", s->file);
        return FALSE;
    }
    return TRUE;
}

static gint
by_point(gconstpointer a, gconstpointer b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "point"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "point"));
    return (x > y) - (x < y);
}

gboolean
sw_outputs_merge(const char *const *files, guint nfiles, const char *dir, GError **error)
{
    if (nfiles == 0) {
        g_set_error(error, SW_ERROR, SW_ERROR_MERGE, "merge: no shard files given");
        return FALSE;
    }
    g_autoptr(GPtrArray) shards = g_ptr_array_new_with_free_func(shard_free);
    for (guint i = 0; i < nfiles; i++) {
        shard *s = g_new0(shard, 1);
        s->file = g_strdup(files[i]);
        g_ptr_array_add(shards, s);
        if (!read_shard(s, error))
            return FALSE;
    }
    const shard *s0 = shards->pdata[0];
    const char *id0 = json_string_value(json_object_get(s0->meta, "sweep_id"));
    json_int_t total = json_integer_value(json_object_get(s0->meta, "points"));
    g_autofree bool *seen = g_new0(bool, s0->n + 1);
    for (guint i = 0; i < shards->len; i++) {
        const shard *s = shards->pdata[i];
        const char *id = json_string_value(json_object_get(s->meta, "sweep_id"));
        if (id == NULL || id0 == NULL || strcmp(id, id0) != 0) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "%s: sweep id %s differs from %s's %s: these shards come from different "
                        "sweeps (definitions or inputs differ)",
                        s->file, id ? id : "(none)", s0->file, id0 ? id0 : "(none)");
            return FALSE;
        }
        if (s->n != s0->n) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "%s: shard %" PRIu32 "/%" PRIu32 " of a split into %" PRIu32
                        " shards, but %s is of a split into %" PRIu32,
                        s->file, s->k, s->n, s->n, s0->file, s0->n);
            return FALSE;
        }
        if (seen[s->k]) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "%s: shard %" PRIu32 "/%" PRIu32 " given twice", s->file, s->k, s->n);
            return FALSE;
        }
        seen[s->k] = true;
        /* exactly this shard's points: i ≡ k − 1 (mod n), i < total */
        uint64_t expect =
            total > (json_int_t)(s->k - 1) ? ((uint64_t)total - (s->k - 1) + s->n - 1) / s->n : 0;
        if (s->points->len != expect) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "%s: shard %" PRIu32 "/%" PRIu32 " holds %u points, expected %" PRIu64
                        " (an interrupted or truncated shard?)",
                        s->file, s->k, s->n, s->points->len, expect);
            return FALSE;
        }
    }
    for (uint32_t k = 1; k <= s0->n; k++)
        if (!seen[k]) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE,
                        "shard %" PRIu32 "/%" PRIu32 " is missing (got %u of %" PRIu32 " files)", k,
                        s0->n, shards->len, s0->n);
            return FALSE;
        }
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    for (guint i = 0; i < shards->len; i++) {
        const shard *s = shards->pdata[i];
        for (guint k = 0; k < s->points->len; k++)
            g_ptr_array_add(all, s->points->pdata[k]);
    }
    g_ptr_array_sort(all, by_point);
    for (guint i = 0; i < all->len; i++)
        if (json_integer_value(json_object_get(all->pdata[i], "point")) != (json_int_t)i) {
            g_set_error(error, SW_ERROR, SW_ERROR_MERGE, "point %u is missing or duplicated", i);
            return FALSE;
        }
    json_auto_t *meta = json_deep_copy(s0->meta);
    json_object_del(meta, "shard");
    g_autoptr(GPtrArray) rows = sw_outputs_finalize(meta, all, error);
    return rows != NULL && write_final(dir, meta, rows, error);
}
