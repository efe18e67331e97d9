/* tools/bench_search.c: `servesim bench search` and `servesim bench sweep`.
 *   search: a 1,050-configuration SLA-limited search (Llama-3.1-8B and Llama-3.1-70B on H100
 *           SXM, TP 1/2/4/8 × replicas within 8 GPUs × 7 max_num_seqs × 5
 *           max_num_batched_tokens) over the embedded 10-minute Azure conversation window
 *           (2,867 requests), --find-max rate under TTFT p99 ≤ 500 ms and TPOT p99 ≤ 50 ms:
 *           configurations/s and where the time goes (pruning, simulation, outputs).
 *   sweep:  the same 24-point rate sweep with -j 1, 2, 4 and the core count: points/s and
 *           speed-up (thread scaling; the outputs are identical, tests/cli/test_sweep.c).
 * Both run the real commands in-process, writing to a temporary directory. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/opts.h"
#include "tools/bench.h"
#include "tools/cli.h"

typedef struct {
    int64_t jobs;
    double tolerance;
} search_args;

static const base_opt search_rows[] = {
    {"jobs", "jobs", BASE_OPT_INT, offsetof(search_args, jobs), NULL, NULL, 1, 4096,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N", "threads (default: cores)"},
    {"tolerance", "tolerance", BASE_OPT_DOUBLE, offsetof(search_args, tolerance), "0.05", NULL,
     1e-4, 1, BASE_OPT_CLI_ONLY, "X", "find-max bracket width"},
};
static const base_opt_table search_table = {"bench search", search_rows, G_N_ELEMENTS(search_rows),
                                            0};
static const base_opt_set search_set = {&search_table, 1};

static void
remove_dir(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "servesim: bench: could not remove %s\n", dir);
}

int
bench_search(int argc, char **argv)
{
    search_args a = {0};
    base_opts_defaults(&search_set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench search [--jobs N] [--tolerance X]",
                       "A 1,050-configuration SLA-limited search: configurations/s, where time "
                       "goes.",
                       &search_set);
        return CLI_OK;
    }
    GError *err = NULL;
    if (!base_opts_parse_args(&search_set, &a, argc - 1, argv + 1, NULL, &err))
        return cli_fail(err, CLI_USAGE);
    int jobs = a.jobs != BASE_OPT_UNSET_INT ? (int)a.jobs : (int)g_get_num_processors();
    g_autofree char *dir = g_dir_make_tmp("servesim-bench-search-XXXXXX", NULL);
    g_autofree char *j = g_strdup_printf("%d", jobs);
    g_autofree char *tol = g_strdup_printf("%g", a.tolerance);
    const char *args[] = {"search",
                          "--axis",
                          "model=llama-3.1-8b,llama-3.1-70b",
                          "--gpus",
                          "8",
                          "--axis",
                          "max_num_seqs=16,32,64,128,256,512,1024",
                          "--axis",
                          "max_num_batched_tokens=512,1024,2048,4096,8192",
                          "--find-max",
                          "rate",
                          "--slo",
                          "ttft_p99:500,tpot_p99:50",
                          "--band",
                          "none",
                          "--tolerance",
                          tol,
                          "--output-dir",
                          dir,
                          "--quiet",
                          "-j",
                          j};
    printf("search: Llama-3.1-8B and Llama-3.1-70B on H100 SXM, TP 1/2/4/8 x replicas within 8 "
           "GPUs x 7 max_num_seqs x 5 max_num_batched_tokens,\n"
           "10-minute Azure conversation window (2,867 requests), --find-max rate under "
           "ttft_p99:500,tpot_p99:50, tolerance %g, -j %d\n",
           a.tolerance, jobs);
    fflush(stdout);
    search_stats st = {0};
    double w0 = cli_now_s();
    int rc = cmd_search_stats((int)G_N_ELEMENTS(args), (char **)(uintptr_t)args, &st);
    double wall = cli_now_s() - w0;
    remove_dir(dir);
    if (rc != CLI_OK)
        return rc;
    printf("%u configurations: %u simulated, %u rejected before simulating; %llu simulations "
           "(%.1f per simulated configuration)\n",
           st.configs, st.simulated, st.configs - st.simulated, st.runs,
           st.simulated > 0 ? (double)st.runs / st.simulated : 0.0);
    printf("wall %.1f s = prune %.2f s + simulate %.1f s + outputs %.2f s; CPU %.1f s\n", wall,
           st.prune_s, st.simulate_s, st.output_s, st.cpu_s);
    printf("%.1f configurations/s, %.1f simulations/s, %.1f ms CPU per simulation\n",
           st.configs / wall, (double)st.runs / wall,
           st.runs > 0 ? st.cpu_s * 1e3 / (double)st.runs : 0.0);
    return CLI_OK;
}

int
bench_sweep(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench sweep",
                       "Points/s of a 24-point rate sweep (embedded Azure window) with -j 1, 2, 4 "
                       "and the core count.",
                       NULL);
        return CLI_OK;
    }
    if (argc > 1)
        return cli_failf(CLI_USAGE, "bench sweep: takes no arguments");
    int cores = (int)g_get_num_processors();
    int js[4] = {1, 2, 4, cores};
    int n = cores > 4 ? 4 : 3;
    printf("sweep: --sweep rate=1:24:1 over the 10-minute Azure conversation window (2,867 "
           "requests per point), %d cores\n",
           cores);
    printf("%6s %9s %9s %10s %9s\n", "-j", "wall s", "CPU s", "points/s", "speed-up");
    double base = 0;
    for (int i = 0; i < n; i++) {
        g_autofree char *dir = g_dir_make_tmp("servesim-bench-sweep-XXXXXX", NULL);
        g_autofree char *j = g_strdup_printf("%d", js[i]);
        const char *args[] = {"sweep", "--sweep", "rate=1:24:1", "--output-dir",
                              dir,     "--quiet", "-j",          j};
        double w0 = cli_now_s(), c0 = cli_cpu_s();
        int rc = cmd_sweep((int)G_N_ELEMENTS(args), (char **)(uintptr_t)args);
        double wall = cli_now_s() - w0, cpu = cli_cpu_s() - c0;
        remove_dir(dir);
        if (rc != CLI_OK)
            return rc;
        if (i == 0)
            base = wall;
        printf("%6d %9.2f %9.2f %10.1f %9.2f\n", js[i], wall, cpu, 24 / wall, base / wall);
        fflush(stdout);
    }
    return CLI_OK;
}
