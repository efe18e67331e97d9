/* base/match.c: NULL-terminated name tables (length, lookup, join), edit distance and
 * close-name suggestions. Suggestion order is deterministic: by score, then by position in the
 * candidate table. */
#include "base/match.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

size_t
base_strv_len(const char *const *v)
{
    size_t n = 0;
    while (v[n] != NULL)
        n++;
    return n;
}

int
base_strv_index(const char *const *v, const char *s)
{
    for (int i = 0; v[i] != NULL; i++)
        if (strcmp(v[i], s) == 0)
            return i;
    return -1;
}

int
base_strv_index_nocase(const char *const *v, const char *s)
{
    for (int i = 0; v[i] != NULL; i++)
        if (g_ascii_strcasecmp(v[i], s) == 0)
            return i;
    return -1;
}

char *
base_strv_join(const char *const *v, const char *sep)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; v[i] != NULL; i++) {
        if (i > 0)
            g_string_append(g, sep);
        g_string_append(g, v[i]);
    }
    return g_string_free(g, FALSE);
}

const char *
base_fixed(char buf[BASE_FIXED_LEN], double v, int prec)
{
    if (!isfinite(v))
        snprintf(buf, BASE_FIXED_LEN, "n/a");
    else
        snprintf(buf, BASE_FIXED_LEN, fabs(v) < 1e15 ? "%.*f" : "%.*e", prec, v);
    return buf;
}

char *
base_escape_text(const char *s, size_t max)
{
    GString *g = g_string_new(NULL);
    const char *p = s;
    while (*p != '\0') {
        if ((size_t)(p - s) >= max) {
            g_string_append(g, "...");
            break;
        }
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            const char *end = NULL;
            /* one valid UTF-8 character? */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (n > 1 && strnlen(p, n) == n && g_utf8_validate(p, (gssize)n, &end)) {
                g_string_append_len(g, p, (gssize)n);
                p += n;
                continue;
            }
        }
        if (c < 0x20 || c == 0x7F || c >= 0x80)
            g_string_append_printf(g, "\\x%02X", c);
        else
            g_string_append_c(g, (char)c);
        p++;
    }
    return g_string_free(g, FALSE);
}

size_t
base_edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    g_autofree size_t *row = g_new(size_t, nb + 1);
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static char *
squash(const char *s)
{
    GString *g = g_string_new(NULL);
    for (; *s; s++)
        if (*s != '-' && *s != '_' && *s != '.' && *s != ' ')
            g_string_append_c(g, (char)tolower((unsigned char)*s));
    return g_string_free(g, FALSE);
}

typedef struct {
    size_t score;
    size_t index;
} cand;

static int
cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

char *
base_suggest(const char *name, const char *const *candidates)
{
    size_t n = base_strv_len(candidates);
    g_autofree char *sq = squash(name);
    size_t len = strlen(sq);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    g_autofree cand *c = g_new(cand, n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        g_autofree char *cs = squash(candidates[i]);
        size_t d = base_edit_distance(sq, cs);
        if (len >= 3 && (strstr(cs, sq) != NULL || (strlen(cs) >= 3 && strstr(sq, cs) != NULL)))
            d = d < 1 ? d : 1;
        if (d <= limit)
            c[m++] = (cand){d, i};
    }
    if (m == 0)
        return NULL;
    qsort(c, m, sizeof *c, cand_cmp);
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < m && i < 5; i++)
        g_string_append_printf(g, "%s%s", i ? ", " : "", candidates[c[i].index]);
    return g_string_free(g, FALSE);
}
