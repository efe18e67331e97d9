/* base/csv.h: a small, fast CSV reader on top of base_lines (plain or gzip input).
 * Fields are split in place (RFC 4180 quotes supported, "" unescaped); the separator is ','
 * or '\t', chosen from the header line unless forced. Field pointers are borrowed and valid
 * until the next base_csv_next. Errors read "FILE:LINE: column NAME: why". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "base/io.h"

/* Splits LINE in place into at most MAX fields; returns the number of fields the line has
 * (which may exceed MAX: extra fields are not stored). */
size_t base_csv_split(char *line, char sep, char **fields, size_t max);

/* Strict number parsing: the whole string (surrounding blanks allowed) must be a number. */
bool base_parse_int64(const char *s, int64_t *out);
bool base_parse_double(const char *s, double *out);
/* D as an int64_t when it is a whole number inside int64_t's range, checked before the cast (a
 * double outside the range has no defined conversion; 94e18 used to come back negative).
 * NaN and infinities are not integers. */
bool base_double_to_int64(double d, int64_t *out);

typedef struct base_csv base_csv;

typedef enum {
    BASE_CSV_HEADER = 0,    /* first line is a header (the default) */
    BASE_CSV_NO_HEADER = 1, /* no header: columns are addressed by index */
} base_csv_flags;

/* Opens PATH (or wraps an existing reader, taking ownership of it on success) and reads the header.
 * SEP 0 means detect ',' vs '\t' from the first line. Empty input is an error ("FILE: empty file").
 */
base_csv *base_csv_open(const char *path, char sep, base_csv_flags flags, GError **error);
base_csv *base_csv_new_take(base_lines *lines, char sep, base_csv_flags flags, GError **error);
void base_csv_free(base_csv *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(base_csv, base_csv_free)

/* Advances to the next non-empty row: returns 1 (a row), 0 (end of input) or -1 (error, with
 * *ERROR set), so a loop `while ((more = base_csv_next(c, e)) > 0)` ends in `more < 0` on a
 * failure and cannot report success after one. */
int base_csv_next(base_csv *c, GError **error);
size_t base_csv_nfields(const base_csv *c);              /* fields in the current row */
const char *base_csv_field(const base_csv *c, size_t i); /* "" when i is out of range */
uint64_t base_csv_lineno(const base_csv *c);
const char *base_csv_name(const base_csv *c);
char base_csv_sep(const base_csv *c);

/* Header access. base_csv_col returns the index of NAME (exact match after trimming blanks,
 * case-sensitive) or -1. */
size_t base_csv_ncols(const base_csv *c);
const char *base_csv_colname(const base_csv *c, size_t i);
int base_csv_col(const base_csv *c, const char *name);
/* Like base_csv_col but a missing column is an error "FILE: missing column NAME". */
int base_csv_require_col(const base_csv *c, const char *name, GError **error);

/* Typed cell access for the current row; on failure sets "FILE:LINE: column NAME: why". */
gboolean base_csv_get_double(const base_csv *c, int col, double *out, GError **error);
gboolean base_csv_get_int64(const base_csv *c, int col, int64_t *out, GError **error);

/* ---- writing: the one CSV field writer every CSV output uses ---- */

/* Bytes S takes as a CSV field: quoted (quotes doubled) when it holds ',', '"', CR or LF,
 * as is otherwise. */
size_t base_csv_field_len(const char *s);
/* Writes S as a CSV field at DST (room for base_csv_field_len(S) bytes; no NUL is added) and
 * returns the end. For writers that build lines in their own buffers. */
char *base_csv_field_write(char *dst, const char *s);
/* Appends S to G as a CSV field, preceded by ',' unless FIRST. */
void base_csv_put_field(GString *g, const char *s, bool first);
/* Appends V to G as a CSV field ("%.10g", C locale; empty when not finite), preceded by ','
 * unless FIRST. */
void base_csv_put_number(GString *g, double v, bool first);

/* Sets *ERROR to "FILE:LINE: column NAME: <message>" for the current row. */
void base_csv_set_error(const base_csv *c, int col, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
