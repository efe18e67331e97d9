/* tests/cli/clirun.c: spawn helper for end-to-end CLI tests. */
#include "clirun.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/wait.h>

clirun
clirun_execv(const char *const *args)
{
    GPtrArray *argv =
        g_ptr_array_new_with_free_func(g_free); /* owned copies: spawn wants char ** */
    g_ptr_array_add(argv, g_strdup(SERVESIM_BINARY));
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    clirun r = {0};
    int status = 0;
    GError *err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                      &status, &err)) {
        r.code = -1;
        r.err = g_strdup(err->message);
        g_error_free(err);
    } else {
        r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    g_ptr_array_free(argv, TRUE);
    return r;
}

clirun
clirun_exec(const char *first, ...)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        g_ptr_array_add(a, g_strdup(s));
    va_end(ap);
    g_ptr_array_add(a, NULL);
    clirun r = clirun_execv((const char *const *)a->pdata);
    g_ptr_array_free(a, TRUE);
    return r;
}

void
clirun_clear(clirun *r)
{
    g_free(r->out);
    g_free(r->err);
    r->out = r->err = NULL;
}
