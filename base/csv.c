/* base/csv.c: CSV splitting and a header-aware row reader.
 * Rows are split in place in the line buffer of base_lines, so reading a row allocates nothing
 * once the field array has grown to the widest row. */
#include "base/csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/match.h"

size_t
base_csv_split(char *line, char sep, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *start = p;
        if (*p == '"') {
            /* Quoted field: unescape "" in place, stop at the closing quote. */
            char *w = p;
            start = w;
            p++;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            while (*p != '\0' && *p != sep)
                p++; /* garbage after closing quote is ignored */
            char *endp = p;
            int last = *p == '\0';
            *w = '\0';
            if (n < max)
                fields[n] = start;
            n++;
            if (last)
                return n;
            p = endp + 1;
            continue;
        }
        while (*p != '\0' && *p != sep)
            p++;
        int last = *p == '\0';
        *p = '\0';
        if (n < max)
            fields[n] = start;
        n++;
        if (last)
            return n;
        p++;
    }
}

size_t
base_csv_field_len(const char *s)
{
    size_t n = 0, quotes = 0;
    bool quote = false;
    for (const char *p = s; *p != '\0'; p++, n++) {
        quotes += *p == '"';
        quote |= *p == ',' || *p == '"' || *p == '\r' || *p == '\n';
    }
    return quote ? n + quotes + 2 : n;
}

char *
base_csv_field_write(char *dst, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        *dst++ = '"';
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            *dst++ = '"';
        *dst++ = *p;
    }
    if (quote)
        *dst++ = '"';
    return dst;
}

void
base_csv_put_field(GString *g, const char *s, bool first)
{
    if (!first)
        g_string_append_c(g, ',');
    size_t at = g->len, n = base_csv_field_len(s);
    g_string_set_size(g, at + n);
    base_csv_field_write(g->str + at, s);
}

void
base_csv_put_number(GString *g, double v, bool first)
{
    if (!first)
        g_string_append_c(g, ',');
    if (isfinite(v)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(g, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
    }
}

static const char *
skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool
only_blank(const char *s)
{
    return *skip_blank(s) == '\0';
}

bool
base_parse_int64(const char *s, int64_t *out)
{
    s = skip_blank(s);
    if (*s == '\0')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return false;
    if (*end == '.') {
        /* Accept "12.0" as an integer (traces written by pandas often do this). */
        char *e2 = end + 1;
        while (*e2 == '0')
            e2++;
        if (!only_blank(e2))
            return false;
        end = e2;
    }
    if (!only_blank(end))
        return false;
    *out = v;
    return true;
}

bool
base_double_to_int64(double d, int64_t *out)
{
    /* -2^63 is a double exactly; 2^63 is the first double above the range. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

bool
base_parse_double(const char *s, double *out)
{
    s = skip_blank(s);
    if (*s == '\0')
        return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1.0)
        return false;
    if (end == s || !only_blank(end) || !isfinite(v))
        return false;
    *out = v;
    return true;
}

struct base_csv {
    base_lines *lines;
    char sep;
    char **hdr; /* owned copies of header names (trimmed) */
    size_t ncols;
    char **fields;        /* borrowed pointers into the current line */
    size_t cap;           /* capacity of fields */
    size_t nfields;       /* fields in the current row */
    uint64_t header_line; /* line number of the header (blank lines may precede it) */
    bool pending;         /* no-header mode: the first line is the current row, not yet returned */
};

static void
store_fields(base_csv *c, char *line)
{
    /* 1 + separators is an upper bound on the field count (quoted separators only lower
     * it), so after this the split below can store every field. */
    size_t bound = 1;
    for (const char *p = line; (p = strchr(p, c->sep)) != NULL; p++)
        bound++;
    if (bound > c->cap) {
        c->cap = bound * 2;
        c->fields = g_renew(char *, c->fields, c->cap);
    }
    c->nfields = base_csv_split(line, c->sep, c->fields, c->cap);
}

base_csv *
base_csv_new_take(base_lines *lines, char sep, base_csv_flags flags, GError **error)
{
    /* c->lines is set only on success: on failure the caller still owns LINES. */
    g_autoptr(base_csv) c = g_new0(base_csv, 1);
    c->cap = 64;
    c->fields = g_new0(char *, c->cap);
    char *line = NULL;
    size_t len = 0;
    GError *e = NULL;
    /* Skip leading empty lines. */
    do {
        if (!base_lines_next(lines, &line, &len, &e)) {
            if (e != NULL)
                g_propagate_error(error, e);
            else
                g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s: empty file",
                            base_lines_name(lines));
            return NULL;
        }
    } while (only_blank(line));
    c->header_line = base_lines_lineno(lines); /* (base_lines drops a UTF-8 BOM) */
    if (sep == 0)
        sep = strchr(line, '\t') != NULL && strchr(line, ',') == NULL ? '\t' : ',';
    c->sep = sep;
    if (flags & BASE_CSV_NO_HEADER) {
        store_fields(c, line);
        c->ncols = c->nfields;
        c->hdr = g_new0(char *, c->ncols + 1);
        for (size_t i = 0; i < c->ncols; i++)
            c->hdr[i] = g_strdup_printf("%zu", i);
        /* The first line is data: keep it as the current row, marked for base_csv_next. */
        c->pending = true;
        c->lines = lines;
        return g_steal_pointer(&c);
    }
    store_fields(c, line);
    c->ncols = c->nfields;
    c->hdr = g_new0(char *, c->ncols + 1);
    for (size_t i = 0; i < c->ncols; i++)
        c->hdr[i] = g_strstrip(g_strdup(c->fields[i]));
    c->nfields = 0;
    c->lines = lines;
    return g_steal_pointer(&c);
}

base_csv *
base_csv_open(const char *path, char sep, base_csv_flags flags, GError **error)
{
    base_lines *l = base_lines_open(path, error);
    if (l == NULL)
        return NULL;
    base_csv *c = base_csv_new_take(l, sep, flags, error);
    if (c == NULL)
        base_lines_free(l);
    return c;
}

void
base_csv_free(base_csv *c)
{
    if (c == NULL)
        return;
    base_lines_free(c->lines);
    g_strfreev(c->hdr);
    g_free(c->fields);
    g_free(c);
}

int
base_csv_next(base_csv *c, GError **error)
{
    if (c->pending) {
        c->pending = false;
        return 1;
    }
    char *line = NULL;
    size_t len = 0;
    for (;;) {
        GError *e = NULL;
        if (!base_lines_next(c->lines, &line, &len, &e)) {
            if (e == NULL)
                return 0;
            g_propagate_error(error, e);
            return -1;
        }
        if (!only_blank(line))
            break;
    }
    store_fields(c, line);
    return 1;
}

size_t
base_csv_nfields(const base_csv *c)
{
    return c->nfields;
}

const char *
base_csv_field(const base_csv *c, size_t i)
{
    size_t n = base_csv_nfields(c);
    return i < n && i < c->cap ? c->fields[i] : "";
}

uint64_t
base_csv_lineno(const base_csv *c)
{
    return base_lines_lineno(c->lines);
}

const char *
base_csv_name(const base_csv *c)
{
    return base_lines_name(c->lines);
}

char
base_csv_sep(const base_csv *c)
{
    return c->sep;
}

size_t
base_csv_ncols(const base_csv *c)
{
    return c->ncols;
}

const char *
base_csv_colname(const base_csv *c, size_t i)
{
    return i < c->ncols ? c->hdr[i] : "";
}

int
base_csv_col(const base_csv *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->hdr[i], name) == 0)
            return (int)i;
    return -1;
}

int
base_csv_require_col(const base_csv *c, const char *name, GError **error)
{
    int i = base_csv_col(c, name);
    if (i < 0)
        g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE,
                    "%s:%" G_GUINT64_FORMAT ": missing column %s", base_csv_name(c), c->header_line,
                    name);
    return i;
}

void
base_csv_set_error(const base_csv *c, int col, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, BASE_ERROR, BASE_ERROR_PARSE, "%s:%" G_GUINT64_FORMAT ": column %s: %s",
                base_csv_name(c), base_csv_lineno(c),
                col >= 0 ? base_csv_colname(c, (size_t)col) : "?", msg);
}

/* The cell COL of the current row, or NULL with *ERROR set when the row is too short. */
static const char *
cell(const base_csv *c, int col, GError **error)
{
    if (col < 0 || (size_t)col >= base_csv_nfields(c)) {
        base_csv_set_error(c, col, error, "missing value (row has %zu fields)",
                           base_csv_nfields(c));
        return NULL;
    }
    return base_csv_field(c, (size_t)col);
}

gboolean
base_csv_get_double(const base_csv *c, int col, double *out, GError **error)
{
    const char *s = cell(c, col, error);
    if (s == NULL)
        return FALSE;
    if (!base_parse_double(s, out)) {
        g_autofree char *e = base_escape_text(s, 64);
        base_csv_set_error(c, col, error, "not a number: '%s'", e);
        return FALSE;
    }
    return TRUE;
}

gboolean
base_csv_get_int64(const base_csv *c, int col, int64_t *out, GError **error)
{
    const char *s = cell(c, col, error);
    if (s == NULL)
        return FALSE;
    if (!base_parse_int64(s, out)) {
        g_autofree char *e = base_escape_text(s, 64);
        base_csv_set_error(c, col, error, "not an integer: '%s'", e);
        return FALSE;
    }
    return TRUE;
}
