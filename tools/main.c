/* tools/main.c: the `servesim` binary: dispatch to a subcommand by name. */
#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "servesim_version.h"
#include "tools/cli.h"

/* Fields after the function: writes_outputs (temporaries removed on signals), hidden (left out of
 * --help; a command not implemented yet would set it). Every command is implemented now. */
static const cli_command commands[] = {
    {"run", "simulate serving a workload and report TTFT/TPOT/ITL/E2E, throughput, goodput",
     cmd_run, true, false},
    {"estimate", "roofline latency and throughput of one scenario or a scenarios CSV", cmd_estimate,
     true, false},
    {"memory", "GPU memory plan: weights, activations, KV capacity", cmd_memory, false, false},
    {"calibrate", "fit the time model to measured GPU timings", cmd_calibrate, true, false},
    {"compare", "simulate a measured benchmark and report the error; compare two versions",
     cmd_compare, true, false},
    {"sweep", "grids of runs over any setting; SLA limits (max rate or concurrency under SLOs)",
     cmd_sweep, true, false},
    {"search", "rank deployments (hardware, TP, replicas, ...) for a GPU budget under SLOs",
     cmd_search, true, false},
    {"merge", "join the shard files of a sharded sweep or search", cmd_merge, true, false},
    {"analyze", "workload traces; attention, MMA tiles, host bandwidth, expert offload",
     cmd_analyze, false, false},
    {"report", "one self-contained HTML page of charts from servesim outputs", cmd_report, true,
     false},
    {"presets", "list embedded models, hardware, calibrations and sample traces", cmd_presets,
     false, false},
    {"bench", "measure servesim's own speed and memory", cmd_bench, true, false},
};

static void
print_help(FILE *f)
{
    fprintf(f, "usage: servesim COMMAND [FLAGS...]   (servesim COMMAND --help for flags)\n\n"
               "servesim simulates LLM inference serving (vLLM-style continuous batching, paged\n"
               "KV cache with prefix caching, multi-replica routing) on a roofline time model\n"
               "calibrated against real GPU timings.\n\ncommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!commands[i].hidden)
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  --version  print the version\n  --help     this text\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("servesim %s (%s)\n", SERVESIM_VERSION, SERVESIM_GIT_DESCRIBE);
        return CLI_OK;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strcmp(name, commands[i].name) == 0) {
            if (commands[i].writes_outputs)
                base_tmp_cleanup_on_signals();
            return commands[i].main(argc - 1, argv + 1);
        }
    fprintf(stderr, "servesim: unknown command '%s'\n", name);
    print_help(stderr);
    return CLI_USAGE;
}
