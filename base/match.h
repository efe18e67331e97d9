/* base/match.h: name tables and "did you mean" suggestions for unknown names (models,
 * hardware, flags, keys).
 *
 * One convention for every table of names in the tree: a NULL-terminated array of const
 * strings,
 *     static const char *const fmt_names[] = {"a", "b", NULL};
 *     G_STATIC_ASSERT(BASE_STRV_N(fmt_names) == FMT_COUNT);   (when an enum indexes it)
 * walked with `for (i = 0; t[i] != NULL; i++)` or counted with BASE_STRV_N. The helpers below
 * take such tables as they are. GLib's g_strv_length / g_strjoinv take `gchar **`, so handing
 * them a const table needs a cast that drops const: use them only on GStrv we own (g_strsplit,
 * base_asset_list), and these helpers on tables. */
#pragma once

#include <stddef.h>

#include <glib.h>

/* Number of names in a NULL-terminated table declared as an array in scope. */
#define BASE_STRV_N(table) (G_N_ELEMENTS(table) - 1)

/* Number of names before the NULL. */
size_t base_strv_len(const char *const *v);
/* Index of S in V (exact match), or -1. */
int base_strv_index(const char *const *v, const char *s);
/* Index of S in V ignoring ASCII case, or -1. */
int base_strv_index_nocase(const char *const *v, const char *s);
/* The names joined with SEP (g_free it). */
char *base_strv_join(const char *const *v, const char *sep);

/* Input text made safe to quote in a one-line message (g_free it): control bytes, DEL and
 * bytes that are not valid UTF-8 become \xNN, valid UTF-8 is kept, and text past MAX bytes
 * is cut with "...". Binary input echoed raw would garble the terminal and the one line. */
char *base_escape_text(const char *s, size_t max);

/* V printed with PREC decimals into BUF (returned), or "n/a" when V is NaN or infinite: figures
 * that are 0/0 (a throughput with nothing in the window, the rate of one arrival) must never
 * reach a user as "nan" or "inf". Magnitudes from 1e15 print in %e form to fit. */
#define BASE_FIXED_LEN 48
const char *base_fixed(char buf[BASE_FIXED_LEN], double v, int prec);

/* Edit distance (Levenshtein, case-insensitive). */
size_t base_edit_distance(const char *a, const char *b);
/* Returns a g_malloc'd ", "-separated list of up to 5 of the NULL-terminated CANDIDATES close
 * to NAME (small edit distance, or containing NAME / contained in it, ignoring case and '-', '_',
 * '.'), best first; NULL if none is close. */
char *base_suggest(const char *name, const char *const *candidates);
