/* tools/compare_run.h: one simulation of a run rebuilt from a measured result, for `compare`
 * and for anything that simulates measured runs in a loop (an end-to-end calibration changes
 * run->cfg.tm between calls): rebuild once with cmp_rebuild, then call this as often as
 * needed. Errors are printed by the runner (one line) and returned as CLI exit codes. */
#pragma once

#include "compare/compare.h"
#include "tools/runner.h"

/* Simulates RUN (rebuilt from M; its "auto" settings are resolved in place) with no outputs
 * and no table, and returns in *SIM the simulated figures in M's own definitions (transfer
 * full) and in *RR what the runner reports (may be NULL). Returns 0, or the runner's exit code
 * (then *SIM is NULL), or 2 with ERROR set when the mirror fails. */
int compare_simulate(
    const cmp_result *m, cmp_run *run, cmp_result **sim, runner_result *rr, GError **error);
