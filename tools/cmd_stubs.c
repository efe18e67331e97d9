/* tools/cmd_stubs.c: subcommands whose implementation lands in later issues. Each prints its
 * help on --help and otherwise says "not implemented yet" and exits 2. Delete an entry here
 * when its cmd_*.c file lands. */
#include "tools/cli.h"

static int
not_yet(int argc, char **argv, const char *synopsis, const char *what)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis, what, NULL);
        return CLI_OK;
    }
    return cli_failf(CLI_USAGE, "%s: not implemented yet", argv[0]);
}

int
cmd_estimate(int argc, char **argv)
{
    return not_yet(argc, argv, "estimate [FLAGS]",
                   "Roofline latency and throughput for one scenario or a scenarios CSV.");
}

int
cmd_memory(int argc, char **argv)
{
    return not_yet(argc, argv, "memory [FLAGS]", "GPU memory plan and KV capacity.");
}

int
cmd_calibrate(int argc, char **argv)
{
    return not_yet(argc, argv, "calibrate [FLAGS] INPUT...",
                   "Fit the roofline to measured timings by regression.");
}

int
cmd_sweep(int argc, char **argv)
{
    return not_yet(argc, argv, "sweep [FLAGS]", "Sweep load or concurrency to find SLA limits.");
}

int
cmd_search(int argc, char **argv)
{
    return not_yet(argc, argv, "search [FLAGS]", "Search TP/DP/PD configurations.");
}

int
cmd_analyze(int argc, char **argv)
{
    return not_yet(argc, argv, "analyze workload FILE", "First look at a workload trace.");
}
