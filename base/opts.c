/* base/opts.c: one description of every setting drives JSON loading, flags, help and
 * serialisation (see base/opts.h). Tables are small (tens of rows), so lookups are linear. */
#include "base/opts.h"

#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/json.h"
#include "base/match.h"

typedef struct {
    const base_opt *o;
    size_t base;
} row;

static row
find_path(const base_opt_set *set, const char *path)
{
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++)
            if (strcmp(set->tables[t].opts[i].path, path) == 0)
                return (row){&set->tables[t].opts[i], set->tables[t].base_offset};
    return (row){NULL, 0};
}

/* Length of a flag row's primary name ("tensor-parallel-size" of "tensor-parallel-size|-tp"). */
static size_t
primary_len(const char *f)
{
    const char *bar = strchr(f, '|');
    return bar != NULL ? (size_t)(bar - f) : strlen(f);
}

/* The row whose flag is spelled ARG[0..LEN) as typed, dashes included ("--max-num-seqs",
 * "-tp"): the primary name after "--", or one of the aliases listed after '|'. */
static row
find_flag(const base_opt_set *set, const char *arg, size_t len)
{
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const char *f = set->tables[t].opts[i].flag;
            if (f == NULL)
                continue;
            row r = {&set->tables[t].opts[i], set->tables[t].base_offset};
            size_t pl = primary_len(f);
            if (len == pl + 2 && strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, f, pl) == 0)
                return r;
            for (const char *a = strchr(f, '|'); a != NULL; a = strchr(a, '|')) {
                a++;
                size_t al = primary_len(a);
                if (al == len && strncmp(a, arg, len) == 0)
                    return r;
            }
        }
    return (row){NULL, 0};
}

const base_opt *
base_opts_find(const base_opt_set *set, const char *path, size_t *base_offset)
{
    row r = find_path(set, path);
    if (base_offset != NULL)
        *base_offset = r.base;
    return r.o;
}

static const char *
type_expect(const base_opt *o)
{
    switch (o->type) {
    case BASE_OPT_INT:
        return "an integer";
    case BASE_OPT_DOUBLE:
        return "a number";
    case BASE_OPT_BOOL:
        return "true or false";
    case BASE_OPT_STRING:
        return "a string";
    case BASE_OPT_ENUM:
        return "one of the listed names";
    case BASE_OPT_JSON:
        return "a JSON value";
    case BASE_OPT_STRV:
        return "a list of strings";
    }
    return "?";
}

static void
clear_value(const base_opt *o, void *p)
{
    switch (o->type) {
    case BASE_OPT_STRING:
    case BASE_OPT_ENUM:
        g_clear_pointer((char **)p, g_free);
        break;
    case BASE_OPT_JSON: {
        json_t **j = p;
        if (*j != NULL)
            json_decref(*j);
        *j = NULL;
        break;
    }
    case BASE_OPT_STRV:
        g_clear_pointer((char ***)p, g_strfreev);
        break;
    default:
        break;
    }
}

static void
set_unset(const base_opt *o, void *p)
{
    clear_value(o, p);
    switch (o->type) {
    case BASE_OPT_INT:
        *(int64_t *)p = BASE_OPT_UNSET_INT;
        break;
    case BASE_OPT_DOUBLE:
        *(double *)p = NAN;
        break;
    case BASE_OPT_BOOL:
        *(bool *)p = false;
        break;
    default:
        break;
    }
}

static gboolean
check_range(const base_opt *o, double v, const char *where, GError **error)
{
    if (o->min < o->max && (v < o->min || v > o->max)) {
        /* Counts in full (--replicas 1000001 is not "1e+06"), up to 2^53 where doubles are
         * still exact; reals and larger bounds in %g. */
        bool whole = o->type == BASE_OPT_INT && fabs(v) < 9e15 && fabs(o->max) < 9e15;
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    whole ? "%s: %.0f is out of range [%.0f, %.0f]"
                          : "%s: %g is out of range [%g, %g]",
                    where, v, o->min, o->max);
        return FALSE;
    }
    return TRUE;
}

static gboolean
check_choice(const base_opt *o, const char *s, const char *where, GError **error)
{
    if (o->choices == NULL)
        return TRUE;
    if (base_strv_index(o->choices, s) >= 0)
        return TRUE;
    g_autofree char *list = base_strv_join(o->choices, ", ");
    g_autofree char *shown = base_escape_text(s, 80);
    g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                "%s: unknown value '%s' (expected one of: %s)", where, shown, list);
    return FALSE;
}

/* Text form (flags, defaults). WHERE names the flag or path in messages. */
static gboolean
set_from_text(const base_opt *o, void *p, const char *s, const char *where, GError **error)
{
    /* S comes from a file or the command line: errors quote it escaped (one line) */
    if ((o->flags & BASE_OPT_NULLABLE) && (strcmp(s, "auto") == 0 || strcmp(s, "none") == 0) &&
        o->type != BASE_OPT_ENUM) {
        set_unset(o, p);
        return TRUE;
    }
    switch (o->type) {
    case BASE_OPT_INT: {
        int64_t v;
        double d;
        if (!base_parse_int64(s, &v)) {
            /* Accept 1e6-style integers for counts. */
            if (!base_parse_double(s, &d) || d != floor(d)) {
                g_autofree char *shown = base_escape_text(s, 80);
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "%s: expected an integer, got '%s'", where, shown);
                return FALSE;
            }
            if (!check_range(o, d, where, error))
                return FALSE;
            if (!base_double_to_int64(d, &v)) { /* 1e30 with no range of its own */
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: %g is out of range", where,
                            d);
                return FALSE;
            }
        }
        if (!check_range(o, (double)v, where, error))
            return FALSE;
        *(int64_t *)p = v;
        return TRUE;
    }
    case BASE_OPT_DOUBLE: {
        double v;
        if (!base_parse_double(s, &v)) {
            g_autofree char *shown = base_escape_text(s, 80);
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: expected a number, got '%s'",
                        where, shown);
            return FALSE;
        }
        if (!check_range(o, v, where, error))
            return FALSE;
        *(double *)p = v;
        return TRUE;
    }
    case BASE_OPT_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 ||
            strcmp(s, "on") == 0) {
            *(bool *)p = true;
            return TRUE;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0 ||
            strcmp(s, "off") == 0) {
            *(bool *)p = false;
            return TRUE;
        }
        {
            g_autofree char *shown = base_escape_text(s, 80);
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "%s: expected true or false, got '%s'", where, shown);
        }
        return FALSE;
    case BASE_OPT_ENUM:
        if ((o->flags & BASE_OPT_NULLABLE) && strcmp(s, "auto") == 0) {
            set_unset(o, p);
            return TRUE;
        }
        if (!check_choice(o, s, where, error))
            return FALSE;
        /* fall through */
    case BASE_OPT_STRING:
        clear_value(o, p);
        *(char **)p = g_strdup(s);
        return TRUE;
    case BASE_OPT_STRV: {
        /* Repeated flags append; commas separate several values in one flag. */
        char ***v = p;
        char **add = g_strsplit(s, ",", -1);
        guint n0 = *v != NULL ? g_strv_length(*v) : 0, n1 = g_strv_length(add);
        char **out = g_new0(char *, n0 + n1 + 1);
        for (guint i = 0; i < n0; i++)
            out[i] = (*v)[i];
        for (guint i = 0; i < n1; i++)
            out[n0 + i] = g_strstrip(add[i]);
        g_free(*v);
        g_free(add);
        *v = out;
        return TRUE;
    }
    case BASE_OPT_JSON: {
        json_error_t je;
        json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (j == NULL)
            j = json_string(s); /* a bare word is a JSON string */
        clear_value(o, p);
        *(json_t **)p = j;
        return TRUE;
    }
    }
    return FALSE;
}

static gboolean
set_from_json(const base_opt *o, void *p, const json_t *v, const char *where, GError **error)
{
    if (json_is_null(v)) {
        if (!(o->flags & BASE_OPT_NULLABLE)) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: expected %s, got null", where,
                        type_expect(o));
            return FALSE;
        }
        set_unset(o, p);
        return TRUE;
    }
    switch (o->type) {
    case BASE_OPT_INT:
        if (json_is_integer(v)) {
            int64_t x = json_integer_value(v);
            if (!check_range(o, (double)x, where, error))
                return FALSE;
            *(int64_t *)p = x;
            return TRUE;
        }
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
            double d = json_real_value(v);
            int64_t x;
            if (!check_range(o, d, where, error))
                return FALSE;
            if (!base_double_to_int64(d, &x)) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: %g is out of range", where,
                            d);
                return FALSE;
            }
            *(int64_t *)p = x;
            return TRUE;
        }
        break;
    case BASE_OPT_DOUBLE:
        if (json_is_number(v)) {
            double x = json_number_value(v);
            if (!check_range(o, x, where, error))
                return FALSE;
            *(double *)p = x;
            return TRUE;
        }
        break;
    case BASE_OPT_BOOL:
        if (json_is_boolean(v)) {
            *(bool *)p = json_is_true(v);
            return TRUE;
        }
        break;
    case BASE_OPT_STRING:
    case BASE_OPT_ENUM:
        if (json_is_string(v)) {
            if (o->type == BASE_OPT_ENUM && !check_choice(o, json_string_value(v), where, error))
                return FALSE;
            clear_value(o, p);
            *(char **)p = g_strdup(json_string_value(v));
            return TRUE;
        }
        break;
    case BASE_OPT_STRV:
        if (json_is_string(v)) {
            clear_value(o, p);
            char **out = g_new0(char *, 2);
            out[0] = g_strdup(json_string_value(v));
            *(char ***)p = out;
            return TRUE;
        }
        if (json_is_array(v)) {
            size_t n = json_array_size(v);
            char **out = g_new0(char *, n + 1);
            for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(v, i);
                if (!json_is_string(e)) {
                    g_strfreev(out);
                    g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                                "%s[%zu]: expected a string, got %s", where, i,
                                base_json_type_name(e));
                    return FALSE;
                }
                out[i] = g_strdup(json_string_value(e));
            }
            clear_value(o, p);
            *(char ***)p = out;
            return TRUE;
        }
        break;
    case BASE_OPT_JSON:
        clear_value(o, p);
        *(json_t **)p = json_deep_copy(v);
        return TRUE;
    }
    g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: expected %s, got %s", where,
                type_expect(o), base_json_type_name(v));
    return FALSE;
}

void
base_opts_defaults(const base_opt_set *set, void *obj)
{
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            void *p = base_opt_ptr(obj, set->tables[t].base_offset, o);
            set_unset(o, p);
            if (o->def != NULL) {
                GError *e = NULL;
                if (!set_from_text(o, p, o->def, o->path, &e))
                    g_error("bad default for %s: %s", o->path, e->message); /* a bug */
            }
        }
}

void
base_opts_clear(const base_opt_set *set, void *obj)
{
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            clear_value(o, base_opt_ptr(obj, set->tables[t].base_offset, o));
        }
}

void
base_opts_copy(const base_opt_set *set, void *dst, const void *src)
{
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            size_t b = set->tables[t].base_offset;
            void *d = base_opt_ptr(dst, b, o);
            const void *s = base_opt_cptr(src, b, o);
            switch (o->type) {
            case BASE_OPT_INT:
                *(int64_t *)d = *(const int64_t *)s;
                break;
            case BASE_OPT_DOUBLE:
                *(double *)d = *(const double *)s;
                break;
            case BASE_OPT_BOOL:
                *(bool *)d = *(const bool *)s;
                break;
            case BASE_OPT_STRING:
            case BASE_OPT_ENUM:
                *(char **)d = g_strdup(*(char *const *)s);
                break;
            case BASE_OPT_JSON:
                *(json_t **)d =
                    *(json_t *const *)s != NULL ? json_deep_copy(*(json_t *const *)s) : NULL;
                break;
            case BASE_OPT_STRV:
                *(char ***)d = g_strdupv(*(char **const *)s);
                break;
            }
        }
}

/* True if some JSON-visible row lives under PREFIX ("scheduler" for "scheduler.x"). */
static bool
is_section(const base_opt_set *set, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            if (!(o->flags & BASE_OPT_CLI_ONLY) && strncmp(o->path, prefix, n) == 0 &&
                o->path[n] == '.')
                return true;
        }
    return false;
}

/* Names valid directly under PREFIX (for suggestions). */
static GPtrArray *
children(const base_opt_set *set, const char *prefix)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    size_t n = prefix != NULL ? strlen(prefix) : 0;
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            if (o->flags & BASE_OPT_CLI_ONLY)
                continue;
            const char *rest = o->path;
            if (n > 0) {
                if (strncmp(o->path, prefix, n) != 0 || o->path[n] != '.')
                    continue;
                rest = o->path + n + 1;
            }
            const char *dot = strchr(rest, '.');
            char *name = dot != NULL ? g_strndup(rest, (size_t)(dot - rest)) : g_strdup(rest);
            bool dup = false;
            for (guint k = 0; k < out->len; k++)
                if (strcmp(out->pdata[k], name) == 0)
                    dup = true;
            if (dup)
                g_free(name);
            else
                g_ptr_array_add(out, name);
        }
    return out;
}

static gboolean
load_object(const base_opt_set *set,
            void *obj,
            json_t *node,
            const char *prefix,
            const char *file,
            GError **error)
{
    const char *key;
    json_t *v;
    json_object_foreach(node, key, v) {
        g_autofree char *path =
            prefix != NULL ? g_strdup_printf("%s.%s", prefix, key) : g_strdup(key);
        /* keys come from the file: control bytes in one would break the one-line message */
        g_autofree char *shown = base_escape_text(path, 200);
        g_autofree char *where = g_strdup_printf("%s: %s", file, shown);
        row r = find_path(set, path);
        if (r.o != NULL && !(r.o->flags & BASE_OPT_CLI_ONLY)) {
            if (r.o->flags & BASE_OPT_NOT_IMPL) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_NOT_IMPLEMENTED,
                            "%s: not implemented yet", where);
                return FALSE;
            }
            if (!set_from_json(r.o, base_opt_ptr(obj, r.base, r.o), v, where, error))
                return FALSE;
            continue;
        }
        if (is_section(set, path)) {
            if (json_is_object(v)) {
                if (!load_object(set, obj, v, path, file, error))
                    return FALSE;
                continue;
            }
            /* Shorthand: "model": "llama-3.1-8b" means "model": {"name": ...}. */
            g_autofree char *name_path = g_strdup_printf("%s.name", path);
            row nr = find_path(set, name_path);
            if (nr.o != NULL && json_is_string(v)) {
                if (!set_from_json(nr.o, base_opt_ptr(obj, nr.base, nr.o), v, where, error))
                    return FALSE;
                continue;
            }
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: expected an object, got %s",
                        where, base_json_type_name(v));
            return FALSE;
        }
        g_autoptr(GPtrArray) kids = children(set, prefix);
        g_ptr_array_add(kids, NULL); /* a NULL-terminated name table */
        g_autofree char *hint = base_suggest(key, (const char *const *)kids->pdata);
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: unknown key%s%s%s", where,
                    hint ? " (did you mean: " : "", hint ? hint : "", hint ? "?)" : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
base_opts_load_json(
    const base_opt_set *set, void *obj, json_t *root, const char *file, GError **error)
{
    if (!json_is_object(root)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "%s: expected a JSON object at top level, got %s", file,
                    base_json_type_name(root));
        return FALSE;
    }
    return load_object(set, obj, root, NULL, file, error);
}

gboolean
base_opts_set_string(
    const base_opt_set *set, void *obj, const char *path, const char *value, GError **error)
{
    row r = find_path(set, path);
    if (r.o == NULL) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: unknown setting", path);
        return FALSE;
    }
    return set_from_text(r.o, base_opt_ptr(obj, r.base, r.o), value, path, error);
}

static void
unknown_flag(const base_opt_set *set, const char *arg, size_t len, GError **error)
{
    /* Owned copies of the primary spellings (aliases after '|' are not suggested), NULL-terminated
     * for base_suggest. */
    g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func(g_free);
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const char *f = set->tables[t].opts[i].flag;
            if (f != NULL && !(set->tables[t].opts[i].flags & BASE_OPT_HIDDEN))
                g_ptr_array_add(flags, g_strndup(f, primary_len(f)));
        }
    g_ptr_array_add(flags, NULL);
    g_autofree char *name = g_strndup(arg, len);
    g_autofree char *hint = base_suggest(name, (const char *const *)flags->pdata);
    if (hint != NULL) {
        /* Prefix every suggestion with "--". */
        g_auto(GStrv) parts = g_strsplit(hint, ", ", -1);
        g_autofree char *joined = g_strjoinv(", --", parts);
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "unknown flag --%s (did you mean --%s?)",
                    name, joined);
    } else {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "unknown flag --%s", name);
    }
}

/* True for "-5", "-.5": a negative number, not an option. */
static bool
is_negative_number(const char *a)
{
    return a[0] == '-' && (g_ascii_isdigit(a[1]) || a[1] == '.');
}

gboolean
base_opts_parse_args(const base_opt_set *set,
                     void *obj,
                     int argc,
                     char **argv,
                     GPtrArray *positional,
                     GError **error)
{
    bool flags_done = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (!flags_done && strcmp(a, "--") == 0) {
            flags_done = true;
            continue;
        }
        if (flags_done || a[0] != '-' || a[1] == '\0' || is_negative_number(a)) {
            if (positional != NULL)
                g_ptr_array_add(positional, a);
            continue;
        }
        bool dashdash = a[1] == '-';
        const char *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        row r = find_flag(set, a, len);
        g_autofree char *where = g_strndup(a, len);
        if (r.o == NULL && !dashdash) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "unknown option %s", a);
            return FALSE;
        }
        if (r.o == NULL && len > 5 && strncmp(a, "--no-", 5) == 0) {
            g_autofree char *pos = g_strdup_printf("--%.*s", (int)(len - 5), a + 5);
            row nr = find_flag(set, pos, len - 3);
            if (nr.o != NULL && nr.o->type == BASE_OPT_BOOL && eq == NULL) {
                if (nr.o->flags & BASE_OPT_NOT_IMPL) {
                    g_set_error(error, BASE_ERROR, BASE_ERROR_NOT_IMPLEMENTED,
                                "%s: not implemented yet", where);
                    return FALSE;
                }
                *(bool *)base_opt_ptr(obj, nr.base, nr.o) = false;
                continue;
            }
        }
        if (r.o == NULL) {
            unknown_flag(set, a + 2, len - 2, error);
            return FALSE;
        }
        if (r.o->flags & BASE_OPT_NOT_IMPL) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_NOT_IMPLEMENTED, "%s: not implemented yet",
                        where);
            return FALSE;
        }
        const char *value;
        if (eq != NULL) {
            value = eq + 1;
        } else if (r.o->type == BASE_OPT_BOOL) {
            value = "true";
        } else {
            if (i + 1 >= argc) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "%s: missing value (%s)", where,
                            r.o->metavar ? r.o->metavar : type_expect(r.o));
                return FALSE;
            }
            value = argv[++i];
        }
        void *p = base_opt_ptr(obj, r.base, r.o);
        if (!set_from_text(r.o, p, value, where, error))
            return FALSE;
        /* nargs="+": "--goodput ttft:500 tpot:50" takes every following non-option word */
        while ((r.o->flags & BASE_OPT_NARGS_PLUS) && eq == NULL && i + 1 < argc &&
               argv[i + 1][0] != '-' && !flags_done)
            if (!set_from_text(r.o, p, argv[++i], where, error))
                return FALSE;
    }
    return TRUE;
}

static json_t *
value_json(const base_opt *o, const void *p)
{
    switch (o->type) {
    case BASE_OPT_INT: {
        int64_t v = *(const int64_t *)p;
        return v == BASE_OPT_UNSET_INT ? json_null() : json_integer(v);
    }
    case BASE_OPT_DOUBLE:
        return base_json_real(*(const double *)p);
    case BASE_OPT_BOOL:
        return json_boolean(*(const bool *)p);
    case BASE_OPT_STRING:
    case BASE_OPT_ENUM: {
        const char *s = *(char *const *)p;
        return s != NULL ? json_string(s) : json_null();
    }
    case BASE_OPT_JSON: {
        const json_t *j = *(json_t *const *)p;
        return j != NULL ? json_deep_copy(j) : json_null();
    }
    case BASE_OPT_STRV: {
        char **const v = *(char **const *)p;
        if (v == NULL)
            return json_null();
        json_t *a = json_array();
        for (size_t i = 0; v[i] != NULL; i++)
            json_array_append_new(a, json_string(v[i]));
        return a;
    }
    }
    return json_null();
}

json_t *
base_opts_to_json(const base_opt_set *set, const void *obj)
{
    json_t *root = json_object();
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            if (o->flags & (BASE_OPT_CLI_ONLY | BASE_OPT_NOT_IMPL))
                continue;
            g_auto(GStrv) parts = g_strsplit(o->path, ".", -1);
            json_t *node = root;
            guint np = g_strv_length(parts);
            for (guint k = 0; k + 1 < np; k++) {
                json_t *child = json_object_get(node, parts[k]);
                if (child == NULL) {
                    child = json_object();
                    json_object_set_new(node, parts[k], child);
                }
                node = child;
            }
            json_object_set_new(node, parts[np - 1],
                                value_json(o, base_opt_cptr(obj, set->tables[t].base_offset, o)));
        }
    return root;
}

static bool
skipped(const char *flag, const char *const *skip)
{
    size_t pl = primary_len(flag);
    for (; skip != NULL && *skip != NULL; skip++)
        if (strlen(*skip) == pl && strncmp(flag, *skip, pl) == 0)
            return true;
    return false;
}

void
base_opts_help(const base_opt_set *set, GString *out)
{
    base_opts_help_except(set, NULL, out);
}

void
base_opts_help_except(const base_opt_set *set, const char *const *skip, GString *out)
{
    for (size_t t = 0; t < set->n; t++) {
        bool any = false;
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            if (o->flag == NULL || (o->flags & BASE_OPT_HIDDEN) || skipped(o->flag, skip))
                continue;
            if (!any && set->tables[t].title != NULL)
                g_string_append_printf(out, "\n%s:\n", set->tables[t].title);
            any = true;
            g_autofree char *left = NULL;
            int pl = (int)primary_len(o->flag);
            g_auto(GStrv) alias = g_strsplit(o->flag + pl, "|", -1); /* "", aliases... */
            g_autofree char *aliases = g_strjoinv(", ", alias);      /* ", -tp" */
            const char *metavar = o->metavar                   ? o->metavar
                                  : o->type == BASE_OPT_INT    ? "N"
                                  : o->type == BASE_OPT_DOUBLE ? "X"
                                                               : "S";
            if (o->type == BASE_OPT_BOOL)
                left = g_strdup_printf("--[no-]%.*s%s", pl, o->flag, aliases);
            else if (o->flags & BASE_OPT_NARGS_PLUS)
                left =
                    g_strdup_printf("--%.*s%s %s [%s ...]", pl, o->flag, aliases, metavar, metavar);
            else
                left = g_strdup_printf("--%.*s%s %s", pl, o->flag, aliases, metavar);
            g_string_append_printf(out, "  %-34s %s", left, o->help ? o->help : "");
            if (o->choices != NULL) {
                g_autofree char *list = base_strv_join(o->choices, "|");
                g_string_append_printf(out, " (%s)", list);
            }
            if (o->def != NULL)
                g_string_append_printf(out, " [default: %s]", o->def);
            else if (o->flags & BASE_OPT_NULLABLE)
                g_string_append(out, " [default: auto]");
            if (o->flags & BASE_OPT_NOT_IMPL)
                g_string_append(out, " (not implemented yet)");
            g_string_append_c(out, '\n');
        }
    }
}

bool
base_opts_is_set(const base_opt_set *set, const void *obj, const char *path)
{
    row r = find_path(set, path);
    if (r.o == NULL)
        return false;
    const void *p = base_opt_cptr(obj, r.base, r.o);
    switch (r.o->type) {
    case BASE_OPT_INT:
        return *(const int64_t *)p != BASE_OPT_UNSET_INT;
    case BASE_OPT_DOUBLE:
        return !isnan(*(const double *)p);
    case BASE_OPT_BOOL:
        return true;
    default:
        return *(void *const *)p != NULL;
    }
}
