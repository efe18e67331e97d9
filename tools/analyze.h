/* tools/analyze.h: what the analysis subcommands share (tools/analyze_util.c): a small table
 * printed as aligned text, CSV or a JSON array of objects from one description, parsers for
 * the list, tile and NAME=N flags, and the subcommand entry points (`servesim analyze NAME`,
 * one file each; tools/cmd_analyze.c dispatches). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

/* Subcommands: argv[0] is "analyze", argv[1] the analysis name. */
int cmd_analyze_attention(int argc, char **argv);
int cmd_analyze_mma(int argc, char **argv);
int cmd_analyze_hostbw(int argc, char **argv);
int cmd_analyze_experts(int argc, char **argv);

/* ---- output tables ----------------------------------------------------------------------- */

typedef enum { AN_NUM, AN_STR } an_kind;

typedef struct an_col {
    const char *key;  /* JSON key and CSV header */
    const char *head; /* text header */
    an_kind kind;
    int prec; /* digits after the point in text (CSV and JSON keep 10 significant digits) */
} an_col;

typedef struct an_table an_table;

an_table *an_table_new(const an_col *cols, size_t ncols);
void an_table_free(an_table *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(an_table, an_table_free)
/* Starts a row; cells not set stay empty (n/a, JSON null). */
void an_table_row(an_table *t);
void an_table_num(an_table *t, size_t col, double v); /* non-finite: n/a (inf: "inf"), null */
/* Any column may hold a string (e.g. "-" in a numeric column): printed as is, a JSON string. */
void an_table_str(an_table *t, size_t col, const char *s);
/* Aligned columns, every line starting with INDENT. */
void an_table_text(const an_table *t, GString *out, const char *indent);
void an_table_csv(const an_table *t, GString *out); /* header + rows */
json_t *an_table_json(const an_table *t);           /* array of objects. transfer full */

/* ---- flag values ------------------------------------------------------------------------- */

/* "64,128,256" → positive integers in [LO, HI]; FLAG names the setting in errors. */
GArray *an_parse_int_list(const char *flag, const char *s, int64_t lo, int64_t hi, GError **error);
/* "AxB" (N = 2) or "AxBxC" (N = 3), each in [1, HI]. */
gboolean
an_parse_dims(const char *flag, const char *s, int n, int64_t hi, int64_t *out, GError **error);
/* "name=N,name=N" against the NULL-terminated NAMES: VALUES[i] set (others untouched). */
gboolean an_parse_assignments(const char *flag,
                              const char *s,
                              const char *const *names,
                              double lo,
                              double hi,
                              double *values,
                              GError **error);
