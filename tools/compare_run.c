/* tools/compare_run.c: a rebuilt run simulated through tools/runner.c with the compare
 * collector attached (see compare_run.h). */
#include "tools/compare_run.h"

#include "tools/cli.h"

int
compare_simulate(
    const cmp_result *m, cmp_run *run, cmp_result **sim, runner_result *rr, GError **error)
{
    *sim = NULL;
    g_autoptr(cmp_sim) col = cmp_sim_new(true);
    runner_flags fl = {.no_outputs = true,
                       .quiet = true,
                       .on_engine = cmp_sim_subscribe,
                       .on_engine_ctx = col,
                       .requests = run->requests,
                       .on_result = cmp_sim_finished,
                       .on_result_ctx = col};
    runner_result local;
    int rc = runner_run_e(&run->cfg, &fl, rr != NULL ? rr : &local, error);
    if (rc != CLI_OK)
        return rc;
    *sim = cmp_mirror(m, run, col, error);
    return *sim != NULL ? CLI_OK : CLI_USAGE;
}
