/* tools/compare_run.h: one simulation of a run rebuilt from a measured result, for `compare`
 * and for anything that simulates measured runs in a loop (an end-to-end calibration changes
 * run->cfg.tm between calls): rebuild once with cmp_rebuild, then call this as often as
 * needed. Errors come back as GError with the exit code (nothing is printed). */
#pragma once

#include "compare/compare.h"
#include "tools/runner.h"

/* Simulates RUN (rebuilt from M; its "auto" settings are resolved in place) with no outputs
 * and no table, and returns in *SIM the simulated figures in M's own definitions (transfer
 * full) and in *RR what the runner reports (may be NULL). Prints nothing: returns 0, or an exit
 * code (runner_run_e's, or 2 when the mirror fails) with ERROR set and *SIM NULL. */
int compare_simulate(
    const cmp_result *m, cmp_run *run, cmp_result **sim, runner_result *rr, GError **error);

/* Validates REST (the run flags and positionals left after a command's own options) with the
 * run settings table, and splits it: the positionals (measured results) into POS, the flags
 * into FLAGS (both borrow REST's strings), the --seed into *SEED. Returns 0, or the exit code
 * after printing the one-line usage error. */
int compare_split_run_args(GPtrArray *rest, GPtrArray *pos, GPtrArray *flags, uint64_t *seed);
