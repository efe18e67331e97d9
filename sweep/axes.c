/* sweep/axes.c: axis names resolved against the settings tables, value lists and ranges
 * expanded and validated with the flag parser itself, and the Cartesian grid (see axes.h).
 * Values are stored in a canonical text form (integers as integers, reals with 10 significant
 * digits, booleans as true/false), so outputs and the sweep id do not depend on spelling. */
#include "sweep/axes.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"

G_DEFINE_QUARK(sw - error - quark, sw_error)

#define MAX_POINTS      10000000u
#define MAX_AXIS_VALUES 1000000u

struct sw_grid {
    GPtrArray *axes; /* sw_axis *, owned */
};

/* Short names for the settings people sweep most, in the spelling of vLLM's and the
 * dashboards' column names. */
static const struct {
    const char *alias, *path;
} aliases[] = {
    {"tp", "parallelism.tensor_parallel_size"},  {"pp", "parallelism.pipeline_parallel_size"},
    {"dp", "parallelism.data_parallel_size"},    {"ep", "parallelism.enable_expert_parallel"},
    {"concurrency", "workload.max_concurrency"},
};

static void
axis_free(gpointer p)
{
    sw_axis *a = p;
    g_free(a->name);
    g_free(a->path);
    g_strfreev(a->values);
    g_free(a);
}

sw_grid *
sw_grid_new(void)
{
    sw_grid *g = g_new0(sw_grid, 1);
    g->axes = g_ptr_array_new_with_free_func(axis_free);
    return g;
}

void
sw_grid_free(sw_grid *g)
{
    if (g == NULL)
        return;
    g_ptr_array_free(g->axes, TRUE);
    g_free(g);
}

/* Why row O cannot vary per point, or NULL if it can. */
static const char *
not_an_axis(const base_opt *o)
{
    if (o->flags & BASE_OPT_NOT_IMPL)
        return "it is not implemented yet";
    if (o->flags & BASE_OPT_CLI_ONLY)
        return "it is a command option, not a run setting";
    if (g_str_has_prefix(o->path, "outputs."))
        return "outputs are per sweep (--output-dir; --keep-runs DIR keeps each point's)";
    if (o->type == BASE_OPT_JSON || o->type == BASE_OPT_STRV)
        return "its value is a list or a JSON document";
    return NULL;
}

static const char *
leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL ? dot + 1 : path;
}

const base_opt *
sw_axis_resolve(const base_opt_set *set, const char *name, const char **path, GError **error)
{
    const char *want = name;
    for (size_t i = 0; i < G_N_ELEMENTS(aliases); i++)
        if (strcmp(name, aliases[i].alias) == 0)
            want = aliases[i].path;
    g_autofree char *dashed = g_strdelimit(g_strdup(name), "_", '-');
    g_autofree char *underscored = g_strdelimit(g_strdup(name), "-", '_');
    const base_opt *hit = NULL, *leaf_hit = NULL;
    unsigned leaf_hits = 0;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free); /* owned copies */
    for (size_t t = 0; t < set->n; t++)
        for (size_t i = 0; i < set->tables[t].n; i++) {
            const base_opt *o = &set->tables[t].opts[i];
            if (o->flags & BASE_OPT_CLI_ONLY)
                continue;
            /* suggestions in the spelling the user used: paths if it has a dot, else leaves */
            const char *cand = strchr(name, '.') != NULL ? o->path : leaf(o->path);
            bool dup = false;
            for (guint k = 0; k < names->len && !dup; k++)
                dup = strcmp(names->pdata[k], cand) == 0;
            if (!dup)
                g_ptr_array_add(names, g_strdup(cand));
            if (hit == NULL &&
                (strcmp(o->path, want) == 0 || (o->flag != NULL && strcmp(o->flag, dashed) == 0)))
                hit = o;
            if (strcmp(leaf(o->path), underscored) == 0) {
                leaf_hit = o;
                leaf_hits++;
            }
        }
    if (hit == NULL && leaf_hits > 1) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "axis '%s' is ambiguous: name it by its JSON path", name);
        return NULL;
    }
    if (hit == NULL)
        hit = leaf_hit;
    if (hit == NULL) {
        for (size_t i = 0; i < G_N_ELEMENTS(aliases); i++)
            g_ptr_array_add(names, g_strdup(aliases[i].alias));
        g_ptr_array_add(names, NULL); /* base_suggest takes a NULL-terminated table */
        g_autofree char *close = base_suggest(name, (const char *const *)names->pdata);
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "unknown axis '%s'%s%s%s (an axis is a run setting: its JSON path, flag or "
                    "last path component)",
                    name, close ? " (did you mean " : "", close ? close : "", close ? "?)" : "");
        return NULL;
    }
    const char *why = not_an_axis(hit);
    if (why != NULL) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s cannot be an axis: %s", hit->path, why);
        return NULL;
    }
    *path = hit->path;
    return hit;
}

static bool
is_number_type(const base_opt *o)
{
    return o->type == BASE_OPT_INT || o->type == BASE_OPT_DOUBLE;
}

static char *
format_number(const base_opt *o, double v)
{
    if (o->type == BASE_OPT_INT)
        return g_strdup_printf("%" PRId64, (int64_t)llround(v));
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.10g", v));
}

static gboolean
parse_number(const base_opt *o, const char *s, const char *where, double *v, GError **error)
{
    if (!base_parse_double(s, v) || !isfinite(*v)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: '%s' is not a number", where, s);
        return FALSE;
    }
    if (o->type == BASE_OPT_INT && *v != floor(*v)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: '%s' is not an integer", where, s);
        return FALSE;
    }
    return TRUE;
}

/* Appends the progression FIRST, FIRST ⊕ STEP, ... up to LAST (included when on it; a value
 * within 1e-9 relative of LAST counts as LAST). GEOMETRIC multiplies by STEP. */
static gboolean
progression(const base_opt *o,
            const char *where,
            double first,
            double step,
            bool geometric,
            double last,
            bool last_must_be_on,
            GPtrArray *out,
            GError **error)
{
    if (geometric ? !(step > 1.0) : !(step > 0.0)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    geometric ? "%s: the factor must be > 1" : "%s: the step must be > 0", where);
        return FALSE;
    }
    if (geometric && !(first > 0)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: a geometric range must start above 0",
                    where);
        return FALSE;
    }
    if (first > last) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: the range is empty (start %g is above stop %g)", where, first, last);
        return FALSE;
    }
    double tol = 1e-9 * fmax(fabs(last), 1e-300);
    double v = first;
    bool hit_last = false;
    for (guint k = 0; v <= last + tol; k++) {
        if (k >= MAX_AXIS_VALUES) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: more than %u values", where,
                        MAX_AXIS_VALUES);
            return FALSE;
        }
        if (fabs(v - last) <= tol) {
            v = last;
            hit_last = true;
        }
        g_ptr_array_add(out, format_number(o, v));
        /* computed from the start, not accumulated, so 0.1 steps do not drift */
        v = geometric ? first * pow(step, k + 1) : first + step * (k + 1);
    }
    if (last_must_be_on && !hit_last) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: %g is not on the progression before '...'", where, last);
        return FALSE;
    }
    return TRUE;
}

static gboolean
expand_range(const base_opt *o, const char *where, const char *text, GPtrArray *out, GError **error)
{
    g_auto(GStrv) p = g_strsplit(text, ":", -1);
    double a, b, step;
    bool geometric = p[2][0] == 'x' || p[2][0] == '*';
    if (!parse_number(o, g_strstrip(p[0]), where, &a, error) ||
        !parse_number(o, g_strstrip(p[1]), where, &b, error))
        return FALSE;
    if (!base_parse_double(geometric ? p[2] + 1 : p[2], &step) || !isfinite(step)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: bad step '%s' (N, or xF for ×F)", where,
                    p[2]);
        return FALSE;
    }
    if (!geometric && o->type == BASE_OPT_INT && step != floor(step)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: the step of an integer setting must "
                    "be an integer",
                    where);
        return FALSE;
    }
    return progression(o, where, a, step, geometric, b, false, out, error);
}

/* "a,b,...,z": the progression of the values before "..." continued to z. */
static gboolean
expand_ellipsis(const base_opt *o,
                const char *where,
                char **items,
                guint n,
                guint dots,
                GPtrArray *out,
                GError **error)
{
    if (!is_number_type(o)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: '...' needs a numeric setting", where);
        return FALSE;
    }
    if (dots < 2 || dots + 2 != n) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: write '...' after at least two values and before exactly one last "
                    "value (1,2,4,...,256)",
                    where);
        return FALSE;
    }
    g_autofree double *v = g_new(double, dots + 1);
    for (guint i = 0; i < dots; i++)
        if (!parse_number(o, items[i], where, &v[i], error))
            return FALSE;
    if (!parse_number(o, items[n - 1], where, &v[dots], error))
        return FALSE;
    double d = v[1] - v[0], r = v[0] != 0 ? v[1] / v[0] : (double)NAN;
    bool arith = true, geom = isfinite(r);
    for (guint i = 2; i < dots; i++) {
        arith &= fabs((v[i] - v[i - 1]) - d) <= 1e-9 * fmax(fabs(d), 1e-300);
        geom &= v[i - 1] != 0 && fabs(v[i] / v[i - 1] - r) <= 1e-9 * fabs(r);
    }
    if (dots == 2)
        geom = false; /* two values: a,b,... is arithmetic, as in mathematics */
    if (!arith && !geom) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "%s: the values before '...' are neither arithmetic nor geometric", where);
        return FALSE;
    }
    return progression(o, where, v[0], arith ? d : r, !arith, v[dots], true, out, error);
}

char **
sw_values_expand(const base_opt *o, const char *where, const char *values, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *text = g_strstrip(g_strdup(values));
    if (*text == '\0') {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: no values", where);
        return NULL;
    }
    bool range = is_number_type(o) && strchr(text, ',') == NULL;
    if (range) {
        unsigned colons = 0;
        for (const char *c = text; *c; c++)
            colons += *c == ':';
        range = colons == 2;
    }
    if (range) {
        if (!expand_range(o, where, text, out, error))
            return NULL;
    } else {
        g_auto(GStrv) items = g_strsplit(text, ",", -1);
        guint n = g_strv_length(items), dots = n;
        for (guint i = 0; i < n; i++) {
            g_strstrip(items[i]);
            if (*items[i] == '\0') {
                g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: empty value in '%s'", where,
                            values);
                return NULL;
            }
            if (strcmp(items[i], "...") == 0) {
                if (dots != n) {
                    g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: '...' given twice", where);
                    return NULL;
                }
                dots = i;
            }
        }
        if (dots != n) {
            if (!expand_ellipsis(o, where, items, n, dots, out, error))
                return NULL;
        } else {
            for (guint i = 0; i < n; i++)
                g_ptr_array_add(out, g_strdup(items[i]));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* The canonical text form of the value at P (row O), as applied. */
static char *
canonical(const base_opt *o, const void *p)
{
    switch (o->type) {
    case BASE_OPT_INT: {
        int64_t v = *(const int64_t *)p;
        return v == BASE_OPT_UNSET_INT ? g_strdup("auto") : g_strdup_printf("%" PRId64, v);
    }
    case BASE_OPT_DOUBLE: {
        double v = *(const double *)p;
        if (isnan(v))
            return g_strdup("auto");
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.10g", v));
    }
    case BASE_OPT_BOOL:
        return g_strdup(*(const bool *)p ? "true" : "false");
    default: {
        const char *s = *(char *const *)p;
        return g_strdup(s != NULL ? s : "auto");
    }
    }
}

static gboolean
add_axis(sw_grid *g, sw_axis *a, GError **error)
{
    for (guint i = 0; i < g->axes->len; i++) {
        const sw_axis *b = g->axes->pdata[i];
        if (strcmp(b->path, a->path) == 0) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "axis %s given twice (as '%s' and '%s')",
                        a->path, b->name, a->name);
            axis_free(a);
            return FALSE;
        }
    }
    uint64_t n = sw_grid_npoints(g) * a->nvalues;
    if (n > MAX_POINTS) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "the grid has %" PRIu64 " points, more than %u: split it into several sweeps",
                    n, MAX_POINTS);
        axis_free(a);
        return FALSE;
    }
    g_ptr_array_add(g->axes, a);
    return TRUE;
}

gboolean
sw_grid_add_as(sw_grid *g,
               const base_opt_set *set,
               void *scratch,
               const char *name,
               const char *setting,
               const char *values,
               GError **error)
{
    const char *path = NULL;
    const base_opt *o = sw_axis_resolve(set, setting, &path, error);
    if (o == NULL)
        return FALSE;
    g_autofree char *where = g_strdup_printf("axis %s", name);
    g_auto(GStrv) raw = sw_values_expand(o, where, values, error);
    if (raw == NULL)
        return FALSE;
    size_t base = 0;
    base_opts_find(set, path, &base);
    g_autoptr(GPtrArray) vals = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; raw[i] != NULL; i++) {
        GError *e = NULL;
        if (!base_opts_set_string(set, scratch, path, raw[i], &e)) {
            g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: %s", where, e->message);
            g_error_free(e);
            return FALSE;
        }
        char *c = canonical(o, base_opt_ptr(scratch, base, o));
        for (guint k = 0; k < vals->len; k++)
            if (strcmp(vals->pdata[k], c) == 0) {
                g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "%s: value %s appears twice", where,
                            c);
                g_free(c);
                return FALSE;
            }
        g_ptr_array_add(vals, c);
    }
    sw_axis *a = g_new0(sw_axis, 1);
    a->name = g_strdup(name);
    a->path = g_strdup(path);
    a->opt = o;
    a->nvalues = vals->len;
    g_ptr_array_add(vals, NULL);
    a->values = (char **)g_ptr_array_free(g_steal_pointer(&vals), FALSE);
    return add_axis(g, a, error);
}

gboolean
sw_grid_add(sw_grid *g, const base_opt_set *set, void *scratch, const char *spec, GError **error)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "axis '%s': expected NAME=VALUES (e.g. rate=2:40:2 or max_num_seqs=64,128)",
                    spec);
        return FALSE;
    }
    g_autofree char *name = g_strstrip(g_strndup(spec, (size_t)(eq - spec)));
    return sw_grid_add_as(g, set, scratch, name, name, eq + 1, error);
}

char *
sw_setting_text(const base_opt_set *set, const void *obj, const char *path)
{
    size_t base = 0;
    const base_opt *o = base_opts_find(set, path, &base);
    return o != NULL ? canonical(o, base_opt_cptr(obj, base, o)) : NULL;
}

gboolean
sw_grid_add_virtual(sw_grid *g, const char *name, const char *const *values, GError **error)
{
    g_return_val_if_fail(values != NULL && values[0] != NULL, FALSE);
    sw_axis *a = g_new0(sw_axis, 1);
    a->name = g_strdup(name);
    a->path = g_strdup(name);
    a->nvalues = base_strv_len(values);
    a->values = g_new0(char *, a->nvalues + 1);
    for (guint i = 0; i < a->nvalues; i++)
        a->values[i] = g_strdup(values[i]);
    return add_axis(g, a, error);
}

guint
sw_grid_naxes(const sw_grid *g)
{
    return g->axes->len;
}

const sw_axis *
sw_grid_axis(const sw_grid *g, guint i)
{
    g_return_val_if_fail(i < g->axes->len, NULL);
    return g->axes->pdata[i];
}

const sw_axis *
sw_grid_find(const sw_grid *g, const char *path)
{
    for (guint i = 0; i < g->axes->len; i++) {
        const sw_axis *a = g->axes->pdata[i];
        if (strcmp(a->path, path) == 0)
            return a;
    }
    return NULL;
}

uint64_t
sw_grid_npoints(const sw_grid *g)
{
    uint64_t n = 1;
    for (guint i = 0; i < g->axes->len; i++)
        n *= ((const sw_axis *)g->axes->pdata[i])->nvalues;
    return n;
}

const char *
sw_grid_value(const sw_grid *g, uint64_t i, guint a)
{
    g_return_val_if_fail(a < g->axes->len && i < sw_grid_npoints(g), NULL);
    /* row-major: divide by the sizes of the axes after A */
    for (guint k = g->axes->len; k-- > a + 1;)
        i /= ((const sw_axis *)g->axes->pdata[k])->nvalues;
    const sw_axis *ax = g->axes->pdata[a];
    return ax->values[i % ax->nvalues];
}

gboolean
sw_grid_apply(const sw_grid *g, const base_opt_set *set, void *obj, uint64_t i, GError **error)
{
    for (guint a = 0; a < g->axes->len; a++) {
        const sw_axis *ax = g->axes->pdata[a];
        if (ax->opt == NULL)
            continue;
        if (!base_opts_set_string(set, obj, ax->path, sw_grid_value(g, i, a), error))
            return FALSE;
    }
    return TRUE;
}

json_t *
sw_grid_to_json(const sw_grid *g)
{
    json_t *arr = json_array();
    for (guint a = 0; a < g->axes->len; a++) {
        const sw_axis *ax = g->axes->pdata[a];
        json_t *vals = json_array();
        for (guint k = 0; k < ax->nvalues; k++)
            json_array_append_new(vals, json_string(ax->values[k]));
        json_t *o = json_object();
        json_object_set_new(o, "axis", json_string(ax->path));
        json_object_set_new(o, "values", vals);
        json_array_append_new(arr, o);
    }
    return arr;
}

gboolean
sw_shard_parse(const char *spec, uint32_t *k, uint32_t *n, GError **error)
{
    int64_t a = 0, b = 0;
    g_auto(GStrv) p = g_strsplit(spec, "/", -1);
    if (g_strv_length(p) != 2 || !base_parse_int64(p[0], &a) || !base_parse_int64(p[1], &b)) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID, "--shard %s: expected K/N, e.g. 2/8", spec);
        return FALSE;
    }
    if (b < 1 || b > 1000000 || a < 1 || a > b) {
        g_set_error(error, SW_ERROR, SW_ERROR_INVALID,
                    "--shard %s: K must be between 1 and N (N between 1 and 1000000)", spec);
        return FALSE;
    }
    *k = (uint32_t)a;
    *n = (uint32_t)b;
    return TRUE;
}
