/* tests/cli/clirun.h: run the servesim binary and capture exit code, stdout and stderr. */
#pragma once

#include <glib.h>

typedef struct clirun {
    int code;  /* exit status */
    char *out; /* stdout (owned) */
    char *err; /* stderr (owned) */
} clirun;

/* Runs SERVESIM_BINARY with the NULL-terminated arguments. */
clirun clirun_exec(const char *first, ...) G_GNUC_NULL_TERMINATED;
clirun clirun_execv(const char *const *args);
void clirun_clear(clirun *r);
