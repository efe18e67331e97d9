/* tools/cli.c: error printing, help, clocks. The only place (with main.c and the cmd_*.c
 * files) that prints errors: libraries return them through GError. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/match.h"
#include "timemodel/options.h"

/* An error is one line whatever text it quotes (a file's, a flag's): control bytes and
 * invalid UTF-8 are printed escaped. */
static void
print_error(const char *msg)
{
    g_autofree char *line = base_escape_text(msg, SIZE_MAX);
    fprintf(stderr, "servesim: %s\n", line);
}

int
cli_fail(GError *error, int code)
{
    print_error(error != NULL ? error->message : "unknown error");
    g_clear_error(&error);
    return code;
}

int
cli_failf(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    print_error(msg);
    return code;
}

bool
cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

void
cli_print_help(const char *synopsis, const char *description, const base_opt_set *set)
{
    cli_print_help_except(synopsis, description, set, NULL);
}

void
cli_print_help_except(const char *synopsis,
                      const char *description,
                      const base_opt_set *set,
                      const char *const *skip)
{
    GString *g = g_string_new(NULL);
    g_string_append_printf(g, "usage: servesim %s\n", synopsis);
    if (description != NULL)
        g_string_append_printf(g, "\n%s\n", description);
    if (set != NULL)
        base_opts_help_except(set, skip, g);
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
}

bool
cli_parse_int(const char *v, long lo, long hi, int *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi)
        return false;
    *out = (int)n;
    return true;
}

int
cli_usage_error(const char *synopsis, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("servesim: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: servesim %s\n", synopsis);
    return CLI_USAGE;
}

double
cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double
cli_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long
cli_peak_rss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024L; /* Linux reports KiB */
}

int
cli_not_yet(int argc, char **argv, const char *synopsis, const char *what)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis, what, NULL);
        return CLI_OK;
    }
    return cli_failf(CLI_USAGE, "%s: not implemented yet", argv[0]);
}

void
cli_tm_schema(base_opt_table tables[2], base_opt_set *set, const base_opt_table *local)
{
    tables[0] = tm_options_table;
    tables[1] = *local;
    *set = (base_opt_set){tables, 2};
}
