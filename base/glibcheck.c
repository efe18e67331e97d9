/* base/glibcheck.c: instrumented copies of the GLib functions that walk a caller's
 * NULL-terminated string array (g_strv_contains, g_strv_length, g_strjoinv, g_strdupv), linked
 * into sanitizer and fuzzing builds only (CMakeLists.txt: SANITIZE / SERVESIM_FUZZ).
 *
 * Why: GLib itself is not instrumented, so when we hand it a counted table without its NULL
 * terminator, the read past the end happens inside GLib where AddressSanitizer cannot see it;
 * the sanitizer builds passed while the Release binary read whatever followed the table and
 * crashed. Defined in our own (instrumented) code, these copies take precedence over
 * libglib's for every call from servesim, and the walk past a table's end is a
 * global-buffer-overflow report. Same contracts as GLib 2.74's. */
#include <string.h>

#include <glib.h>

gboolean
g_strv_contains(const gchar *const *strv, const gchar *str)
{
    g_return_val_if_fail(strv != NULL, FALSE);
    g_return_val_if_fail(str != NULL, FALSE);
    for (; *strv != NULL; strv++)
        if (strcmp(str, *strv) == 0)
            return TRUE;
    return FALSE;
}

guint
g_strv_length(gchar **str_array)
{
    g_return_val_if_fail(str_array != NULL, 0);
    guint n = 0;
    while (str_array[n] != NULL)
        n++;
    return n;
}

gchar *
g_strjoinv(const gchar *separator, gchar **str_array)
{
    g_return_val_if_fail(str_array != NULL, NULL);
    if (separator == NULL)
        separator = "";
    GString *g = g_string_new(NULL);
    for (gchar **s = str_array; *s != NULL; s++) {
        if (s != str_array)
            g_string_append(g, separator);
        g_string_append(g, *s);
    }
    return g_string_free(g, FALSE);
}

gchar **
g_strdupv(gchar **str_array)
{
    if (str_array == NULL)
        return NULL;
    guint n = g_strv_length(str_array);
    gchar **out = g_new(gchar *, n + 1);
    for (guint i = 0; i < n; i++)
        out[i] = g_strdup(str_array[i]);
    out[n] = NULL;
    return out;
}
