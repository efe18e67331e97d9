/* tools/cmd_search.c: `servesim search` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_search(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "search [FLAGS]", "Search TP/DP/PD configurations.");
}
