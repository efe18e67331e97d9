/* tools/cli.h: what every subcommand shares: the command table, error printing with exit
 * codes (0 ok, 1 runtime failure, 2 bad usage or bad input), help detection. */
#pragma once

#include <stdbool.h>

#include <glib.h>

#include "base/opts.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
    bool writes_outputs;                /* temporaries are removed on SIGINT/SIGTERM (base/io.h) */
    bool hidden; /* left out of `servesim --help` (still runs): commands not implemented yet */
} cli_command;

enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* Prints "servesim: MESSAGE" to stderr and returns CODE; frees ERROR. */
int cli_fail(GError *error, int code);
int cli_failf(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* True if ARGV contains --help or -h (before any "--"). */
bool cli_wants_help(int argc, char **argv);
/* Prints "usage: servesim SYNOPSIS", DESCRIPTION and the flags of SET (may be NULL). */
void cli_print_help(const char *synopsis, const char *description, const base_opt_set *set);
/* The same, leaving out the flags of SET named in SKIP (NULL-terminated, without "--"). */
void cli_print_help_except(const char *synopsis,
                           const char *description,
                           const base_opt_set *set,
                           const char *const *skip);
/* Prints the usage line to stderr and returns CLI_USAGE. */
/* V as a decimal integer in [LO, HI] into *OUT; false (OUT untouched) for anything else. */
bool cli_parse_int(const char *v, long lo, long hi, int *out);
int cli_usage_error(const char *synopsis, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The flags of a time-model subcommand (estimate, memory, calibrate): tm_options_table then
 * LOCAL, both at offset 0 of a struct that starts with a tm_options. Fills caller storage. */
void cli_tm_schema(base_opt_table tables[2], base_opt_set *set, const base_opt_table *local);

/* For subcommands not implemented yet: help on --help, else "not implemented yet", exit 2. */
int cli_not_yet(int argc, char **argv, const char *synopsis, const char *what);

/* Monotonic wall clock in seconds (benchmarks and progress only, never simulation). */
double cli_now_s(void);
/* CPU time of this process in seconds. */
double cli_cpu_s(void);
/* Peak resident set size of this process in bytes. */
long cli_peak_rss_bytes(void);

/* Subcommands (tools/cmd_*.c). */
int cmd_run(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_memory(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_analyze_dsa(int argc, char **argv); /* argv[1] == "dsa" */
int cmd_presets(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
