/* tools/bench_timemodel.c: placeholder until the module it measures lands (see the issues). */
#include <stdio.h>

#include "tools/bench.h"
#include "tools/cli.h"

int
bench_timemodel(int argc, char **argv)
{
    (void)argc;
    return cli_failf(CLI_USAGE, "bench %s: not implemented yet", argv[0]);
}
