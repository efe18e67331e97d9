/* tools/cmd_calibrate.c: `servesim calibrate` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_calibrate(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "calibrate [FLAGS] INPUT...",
                   "Fit the roofline to measured timings by regression.");
}
