/* fuzz/fuzz_pd_pools.c: the prefill/decode part of the experiment file (`cluster.pools`, the
 * `pd` section; tools/pd.c), which fuzz_config_json reaches only as opaque JSON: the pools'
 * entries with their per-pool overrides are checked and built when a run starts. The input is
 * the experiment file; `servesim run --config FILE` runs in-process (tools/ linked in, as for
 * fuzz_scenarios) twice: with --print-config (tool_pd_prepare, tool_pd_print_config) and as a
 * two-request synthetic run (tool_pd_complete: the decode pool's setup, memory plan, time model
 * and link; the cluster; the outputs). Flags pin the workload, so the file's own cannot make a
 * run long. The CLI must exit 0 or 2 (bad input), never 1 or crash; stdout and stderr go to
 * /dev/null around the call (sanitizer reports use fd 2). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "fuzz/fuzz.h"
#include "tools/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(const char *const *argv, int argc)
{
    static FILE *devnull;
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    FILE *out = stdout, *err = stderr;
    stdout = devnull;
    stderr = devnull;
    int rc = cmd_run(argc, (char **)(uintptr_t)argv);
    stdout = out;
    stderr = err;
    if (rc != CLI_OK && rc != CLI_USAGE) {
        fprintf(stderr, "fuzz: run %s exited %d\n", argv[3], rc);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *path = g_strdup(fz_file("experiment.json", data, size));
    g_autofree char *out = g_build_filename(fz_dir(), "out", NULL);
    const char *print[] = {"run", "--config", path, "--print-config", NULL};
    run(print, 4);
    const char *sim[] = {"run",
                         "--config",
                         path,
                         "--workload",
                         "synthetic",
                         "--rate",
                         "1",
                         "--num-requests",
                         "2",
                         "--input-len",
                         "fixed:64",
                         "--output-len",
                         "fixed:4",
                         "--quiet",
                         "--output-dir",
                         out,
                         NULL};
    run(sim, 16);
    return 0;
}
