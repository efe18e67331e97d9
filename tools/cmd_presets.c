/* tools/cmd_presets.c: `servesim presets` lists every embedded asset (models, hardware,
 * calibrations, sample traces) by the short name users type. */
#include <stdio.h>
#include <string.h>

#include "base/asset.h"
#include "tools/cli.h"

int
cmd_presets(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help("presets [--all]",
                       "List what is compiled into the binary. --all prints every asset path and "
                       "size.",
                       NULL);
        return CLI_OK;
    }
    bool all = argc > 1 && strcmp(argv[1], "--all") == 0;
    if (argc > 1 && !all)
        return cli_usage_error("presets [--all]", "unexpected argument '%s'", argv[1]);
    if (all) {
        for (size_t i = 0; i < base_asset_count(); i++) {
            const base_asset *a = base_asset_at(i);
            printf("%-60s %8zu bytes\n", a->name, a->size);
        }
        return CLI_OK;
    }
    /* Group by top-level directory: models/, hardware/, calibrations/, workloads/ ... */
    const char *last = NULL;
    size_t lastlen = 0;
    for (size_t i = 0; i < base_asset_count(); i++) {
        const char *n = base_asset_at(i)->name;
        if (g_str_has_prefix(n, "report/"))
            continue; /* the report page's library and script: nothing a user names (--all) */
        const char *slash = strchr(n, '/');
        size_t dl = slash != NULL ? (size_t)(slash - n) : 0;
        if (last == NULL || dl != lastlen || strncmp(n, last, dl) != 0) {
            printf("%s%.*s:\n", last != NULL ? "\n" : "", (int)dl, n);
            last = n;
            lastlen = dl;
        }
        /* strip the file type (".json", ".csv.gz"), not the dots of names like llama-3.1-8b */
        const char *shortname = slash != NULL ? slash + 1 : n;
        size_t len = strlen(shortname);
        const char *const exts[] = {".json", ".csv.gz", ".jsonl.gz", ".csv", ".jsonl", ".gz"};
        for (size_t k = 0; k < G_N_ELEMENTS(exts); k++)
            if (g_str_has_suffix(shortname, exts[k])) {
                len -= strlen(exts[k]);
                break;
            }
        printf("  %.*s\n", (int)len, shortname);
    }
    if (base_asset_count() == 0)
        printf("(nothing embedded)\n");
    return CLI_OK;
}
