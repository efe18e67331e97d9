/* tools/analyze_util.c: tables and flag parsers the analysis subcommands share (analyze.h).
 * A table is described once (key, header, kind, precision) and printed three ways, so the
 * text, CSV and JSON of a command cannot drift apart. Non-finite numbers print n/a (inf for
 * +∞, e.g. the intensity of a level that moves no bytes) and are null in JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/json.h"
#include "tools/analyze.h"

typedef struct cell {
    bool set;
    double v;
    char *s;
} cell;

struct an_table {
    const an_col *cols;
    size_t ncols;
    GArray *cells; /* cell, row-major */
};

an_table *
an_table_new(const an_col *cols, size_t ncols)
{
    an_table *t = g_new0(an_table, 1);
    t->cols = cols;
    t->ncols = ncols;
    t->cells = g_array_new(FALSE, TRUE, sizeof(cell));
    return t;
}

void
an_table_free(an_table *t)
{
    if (t == NULL)
        return;
    for (guint i = 0; i < t->cells->len; i++)
        g_free(g_array_index(t->cells, cell, i).s);
    g_array_free(t->cells, TRUE);
    g_free(t);
}

void
an_table_row(an_table *t)
{
    g_array_set_size(t->cells, t->cells->len + (guint)t->ncols);
}

static cell *
cur(an_table *t, size_t col)
{
    g_assert(t->cells->len >= t->ncols && col < t->ncols);
    return &g_array_index(t->cells, cell, t->cells->len - t->ncols + col);
}

void
an_table_num(an_table *t, size_t col, double v)
{
    g_assert(t->cols[col].kind == AN_NUM);
    cell *c = cur(t, col);
    c->set = true;
    c->v = v;
}

void
an_table_str(an_table *t, size_t col, const char *s)
{
    cell *c = cur(t, col);
    g_free(c->s);
    c->set = s != NULL;
    c->s = g_strdup(s);
}

static size_t
nrows(const an_table *t)
{
    return t->cells->len / t->ncols;
}

static const cell *
at(const an_table *t, size_t row, size_t col)
{
    return &g_array_index(t->cells, cell, row * t->ncols + col);
}

/* PREC < 0: 10 significant digits (CSV). */
static char *
format(const an_col *col, const cell *c, int prec)
{
    if (!c->set)
        return g_strdup("n/a");
    if (c->s != NULL || col->kind == AN_STR)
        return g_strdup(c->s != NULL ? c->s : "");
    if (isinf(c->v) && c->v > 0)
        return g_strdup("inf");
    if (!isfinite(c->v))
        return g_strdup("n/a");
    double v = c->v == 0.0 ? 0.0 : c->v; /* no "-0" */
    return prec < 0 ? g_strdup_printf("%.10g", v) : g_strdup_printf("%.*f", prec, v);
}

void
an_table_text(const an_table *t, GString *out, const char *indent)
{
    size_t n = nrows(t);
    g_autofree size_t *w = g_new0(size_t, t->ncols);
    GPtrArray *txt = g_ptr_array_new_with_free_func(g_free);
    for (size_t c = 0; c < t->ncols; c++)
        w[c] = g_utf8_strlen(t->cols[c].head, -1);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            char *s = format(&t->cols[c], at(t, r, c), t->cols[c].prec);
            w[c] = MAX(w[c], (size_t)g_utf8_strlen(s, -1));
            g_ptr_array_add(txt, s);
        }
    for (size_t r = 0; r <= n; r++) {
        GString *line = g_string_new(indent);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s =
                r == 0 ? t->cols[c].head : (const char *)txt->pdata[(r - 1) * t->ncols + c];
            size_t len = (size_t)g_utf8_strlen(s, -1), pad = w[c] - len;
            bool left = t->cols[c].kind == AN_STR;
            if (c > 0)
                g_string_append(line, "  ");
            if (!left)
                for (size_t k = 0; k < pad; k++)
                    g_string_append_c(line, ' ');
            g_string_append(line, s);
            if (left && c + 1 < t->ncols)
                for (size_t k = 0; k < pad; k++)
                    g_string_append_c(line, ' ');
        }
        while (line->len > 0 && line->str[line->len - 1] == ' ')
            g_string_truncate(line, line->len - 1);
        g_string_append_c(line, '\n');
        g_string_append(out, line->str);
        g_string_free(line, TRUE);
    }
    g_ptr_array_free(txt, TRUE);
}

void
an_table_csv(const an_table *t, GString *out)
{
    for (size_t c = 0; c < t->ncols; c++)
        base_csv_put_field(out, t->cols[c].key, c == 0);
    g_string_append_c(out, '\n');
    for (size_t r = 0; r < nrows(t); r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const cell *x = at(t, r, c);
            g_autofree char *s = x->set ? format(&t->cols[c], x, -1) : g_strdup("");
            if (strcmp(s, "n/a") == 0)
                s[0] = '\0';
            base_csv_put_field(out, s, c == 0);
        }
        g_string_append_c(out, '\n');
    }
}

json_t *
an_table_json(const an_table *t)
{
    json_t *arr = json_array();
    for (size_t r = 0; r < nrows(t); r++) {
        json_t *o = json_object();
        for (size_t c = 0; c < t->ncols; c++) {
            const cell *x = at(t, r, c);
            json_t *v = !x->set        ? json_null()
                        : x->s != NULL ? json_string(x->s)
                                       : base_json_real(x->v);
            json_object_set_new(o, t->cols[c].key, v);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

GArray *
an_parse_int_list(const char *flag, const char *s, int64_t lo, int64_t hi, GError **error)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
    g_auto(GStrv) parts = g_strsplit(s != NULL ? s : "", ",", -1);
    for (char **p = parts; *p != NULL; p++) {
        g_autofree char *item = g_strstrip(g_strdup(*p));
        int64_t v;
        if (!base_parse_int64(item, &v) || v < lo || v > hi) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "--%s %s: '%s' is not an integer in [%" G_GINT64_FORMAT
                        ", %" G_GINT64_FORMAT "]",
                        flag, s, item, lo, hi);
            g_array_free(a, TRUE);
            return NULL;
        }
        g_array_append_val(a, v);
    }
    if (a->len == 0 || a->len > 4096) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID, "--%s: expected 1 to 4096 values", flag);
        g_array_free(a, TRUE);
        return NULL;
    }
    return a;
}

gboolean
an_parse_dims(const char *flag, const char *s, int n, int64_t hi, int64_t *out, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(s != NULL ? s : "", "x", -1);
    gboolean ok = g_strv_length(parts) == (guint)n;
    for (int i = 0; ok && i < n; i++)
        ok = base_parse_int64(parts[i], &out[i]) && out[i] >= 1 && out[i] <= hi;
    if (!ok)
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--%s %s: expected %s, each an integer in [1, %" G_GINT64_FORMAT "]", flag,
                    s != NULL ? s : "", n == 2 ? "AxB" : "MxNxK", hi);
    return ok;
}

gboolean
an_parse_assignments(const char *flag,
                     const char *s,
                     const char *const *names,
                     double lo,
                     double hi,
                     double *values,
                     GError **error)
{
    g_auto(GStrv) parts = g_strsplit(s != NULL ? s : "", ",", -1);
    for (char **p = parts; *p != NULL; p++) {
        const char *eq = strchr(*p, '=');
        g_autofree char *name = eq != NULL ? g_strndup(*p, (gsize)(eq - *p)) : g_strdup(*p);
        int idx = -1;
        for (int i = 0; names[i] != NULL; i++)
            if (strcmp(names[i], name) == 0)
                idx = i;
        double v;
        if (idx < 0) {
            GString *list = g_string_new(NULL);
            for (int i = 0; names[i] != NULL; i++)
                g_string_append_printf(list, "%s%s", i > 0 ? ", " : "", names[i]);
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "--%s %s: unknown component '%s' (expected %s)", flag, s, name, list->str);
            g_string_free(list, TRUE);
            return FALSE;
        }
        if (eq == NULL || !base_parse_double(eq + 1, &v) || !(v >= lo && v <= hi)) {
            g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                        "--%s %s: %s needs a number in [%g, %g]", flag, s, name, lo, hi);
            return FALSE;
        }
        values[idx] = v;
    }
    return TRUE;
}
