/* tools/cmd_run.c: `servesim run`: resolve the configuration (file + flags, then GPU- and
 * model-dependent defaults), size the KV cache from the memory plan, open the workload and the
 * outputs (failing before simulating if the output directory cannot be written), simulate,
 * then write summaries and print vLLM bench's table. With no arguments it simulates the
 * embedded default: Llama-3.1-8B on one H100, the first 10 minutes of the Azure 2023
 * conversation trace. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/config.h"
#include "sim/metrics.h"
#include "timemodel/setup.h"
#include "tools/cli.h"
#include "tools/runner.h"
#include "traces/outputs.h"
#include "workloads/workload.h"

static const char synopsis[] = "run [--config FILE] [FLAGS]";

int
cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "Simulate serving a workload and report TTFT/TPOT/ITL/E2E, throughput and goodput.\n"
            "Settings come from --config FILE (JSON) and flags; flags override the file.\n"
            "With no workload, the embedded Azure 2023 conversation sample (10 min) is used.\n"
            "Extra flags: --print-config (print the resolved configuration and exit),\n"
            "--check-invariants (walk the KV pools after every step; slow).",
            sim_config_schema());
        return CLI_OK;
    }
    runner_flags fl = {0};
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print-config") == 0)
            fl.print_config = true;
        else if (strcmp(argv[i], "--check-invariants") == 0)
            fl.check_invariants = true;
        else
            g_ptr_array_add(args, argv[i]);
    }
    sim_config cfg;
    sim_config_init(&cfg);
    GError *err = NULL;
    if (!sim_config_parse_args(&cfg, NULL, (int)args->len, (char **)args->pdata, NULL, &err)) {
        sim_config_clear(&cfg);
        return cli_fail(err, CLI_USAGE);
    }
    fl.progress = isatty(STDERR_FILENO) && !cfg.sim.quiet;
    int rc = runner_run(&cfg, &fl, NULL);
    sim_config_clear(&cfg);
    return rc;
}
