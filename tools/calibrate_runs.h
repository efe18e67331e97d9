/* tools/calibrate_runs.h: `servesim calibrate --from-runs` (tools/calibrate_runs.c), called by
 * cmd_calibrate when its arguments hold --from-runs. */
#pragma once

int cmd_calibrate_runs(int argc, char **argv);
