/* tests/testutil.h: small helpers shared by every test suite (header-only). */
#pragma once

#include <unistd.h>

#include <glib.h>

/* Writes TEXT to a new temporary file whose name ends in SUFFIX (".json", ".csv", ...) and
 * returns its path (g_free it; the caller removes the file if it cares). */
static inline char *
tu_tmp_file(const char *suffix, const char *text)
{
    g_autofree char *tmpl = g_strdup_printf("servesim-test-XXXXXX%s", suffix);
    char *path = NULL;
    int fd = g_file_open_tmp(tmpl, &path, NULL);
    g_assert(fd >= 0);
    close(fd);
    g_file_set_contents(path, text, -1, NULL);
    return path;
}
