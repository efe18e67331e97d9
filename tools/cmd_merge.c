/* tools/cmd_merge.c: `servesim merge`: joins the shard files written by `sweep --shard K/N` or
 * `search --shard K/N` into the final KIND.csv and KIND.jsonl, byte for byte what the unsharded
 * run writes. Shards of different sweeps (sweep id), missing, duplicated or truncated shards
 * are refused with one line and nothing is written (sweep/outputs.h). */
#include <stdio.h>

#include "base/opts.h"
#include "sweep/outputs.h"
#include "tools/cli.h"

static const char synopsis[] = "merge [--output-dir DIR] SHARD.jsonl...";

typedef struct merge_args {
    char *output_dir;
    bool quiet;
} merge_args;

static const base_opt rows[] = {
    {"output_dir", "output-dir", BASE_OPT_STRING, offsetof(merge_args, output_dir), "servesim-out",
     NULL, 0, 0, BASE_OPT_CLI_ONLY, "DIR", "where the merged sweep/search .csv and .jsonl go"},
    {"quiet", "quiet", BASE_OPT_BOOL, offsetof(merge_args, quiet), "false", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, NULL, "print nothing on success"},
};
static const base_opt_table table = {"Merge", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

int
cmd_merge(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "Join the shard files of a sharded sweep or search (KIND.shard-K-of-N.jsonl,\n"
            "one per shard, in any order) into DIR/KIND.csv and DIR/KIND.jsonl: exactly\n"
            "the files the unsharded run writes. Refuses shards of different sweeps,\n"
            "a missing or duplicated shard and a shard with missing points.",
            &set);
        return CLI_OK;
    }
    merge_args a = {0};
    base_opts_defaults(&set, &a);
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    GError *err = NULL;
    int rc = CLI_OK;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, files, &err))
        rc = cli_fail(err, CLI_USAGE);
    else if (files->len == 0)
        rc = cli_usage_error(synopsis, "merge: no shard files given");
    else if (!sw_outputs_merge((const char *const *)files->pdata, files->len, a.output_dir, &err))
        rc = cli_fail(err, CLI_USAGE);
    else if (!a.quiet)
        printf("Merged %u shards into %s/\n", files->len, a.output_dir);
    base_opts_clear(&set, &a);
    return rc;
}
