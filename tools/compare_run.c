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

int
compare_split_run_args(GPtrArray *rest, GPtrArray *pos, GPtrArray *flags, uint64_t *seed)
{
    sim_config scratch;
    sim_config_init(&scratch);
    GError *err = NULL;
    gboolean ok =
        sim_config_parse_args(&scratch, NULL, (int)rest->len, (char **)rest->pdata, pos, &err);
    *seed = (uint64_t)scratch.sim.seed;
    sim_config_clear(&scratch);
    if (!ok)
        return cli_fail(err, CLI_USAGE);
    for (guint i = 0; i < rest->len; i++) {
        bool positional = false;
        for (guint k = 0; k < pos->len && !positional; k++)
            positional = rest->pdata[i] == pos->pdata[k];
        if (!positional)
            g_ptr_array_add(flags, rest->pdata[i]);
    }
    return CLI_OK;
}
