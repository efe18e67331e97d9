/* tools/cmd_run.c: `servesim run`. Reads the experiment configuration (--config FILE, then
 * flags) and, until the simulator lands, can print the resolved configuration. */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "sim/config.h"
#include "tools/cli.h"

static const char synopsis[] = "run [--config FILE] [FLAGS]";

int
cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis,
                       "Simulate serving a workload. Settings come from --config FILE (JSON) and\n"
                       "flags; flags override the file. --print-config prints the resolved\n"
                       "configuration as JSON and exits.",
                       sim_config_schema());
        return CLI_OK;
    }
    bool print_config = false;
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print-config") == 0)
            print_config = true;
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
    int rc = CLI_OK;
    if (print_config) {
        json_auto_t *j = sim_config_to_json(&cfg);
        g_autofree char *s = base_json_dumps(j);
        fputs(s, stdout);
    } else {
        rc = cli_failf(CLI_USAGE, "run: not implemented yet (the configuration is valid; "
                                  "--print-config shows it)");
    }
    sim_config_clear(&cfg);
    return rc;
}
