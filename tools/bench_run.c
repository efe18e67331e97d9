/* tools/bench_run.c: `servesim bench run`: the whole simulator's speed and memory. Workload:
 * Poisson arrivals with prompt and output lengths drawn from the embedded Azure 2023
 * conversation sample, on 4 replicas of Llama-3.1-8B / H100 SXM (least-loaded routing), at
 * 60 req/s, about 80 % of the 75 req/s those replicas sustain (measured: offered 80 req/s gives
 * 74.7 req/s with queueing growing). Each size runs in a forked child so its peak RSS is its
 * own; metrics and requests.csv are computed and written (to a temporary directory) as in a
 * normal run. Reports simulated requests and output tokens per CPU-second and peak RSS. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "base/csv.h"
#include "base/opts.h"
#include "sim/config.h"
#include "tools/bench.h"
#include "tools/cli.h"
#include "tools/runner.h"

typedef struct {
    char **sizes;
    double rate;
    int64_t replicas;
    bool no_outputs;
} run_args;

static const base_opt rows[] = {
    {"sizes", "sizes", BASE_OPT_STRV, offsetof(run_args, sizes), "200000,2000000", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "N,...", "request counts, each simulated in its own process"},
    {"rate", "rate", BASE_OPT_DOUBLE, offsetof(run_args, rate), "60", NULL, 1e-3, 1e9,
     BASE_OPT_CLI_ONLY, "REQ/S", "arrival rate (60 ≈ 80 % load of 4 H100 replicas)"},
    {"replicas", "replicas", BASE_OPT_INT, offsetof(run_args, replicas), "4", NULL, 1,
     SIM_CLUSTER_MAX_REPLICAS, BASE_OPT_CLI_ONLY, "N", "replicas"},
    {"no_outputs", "no-outputs", BASE_OPT_BOOL, offsetof(run_args, no_outputs), "false", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, NULL, "skip writing requests.csv and the summaries"},
};
static const base_opt_table table = {"bench run", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

typedef struct {
    double cpu_s, wall_s;
    long rss;
    uint64_t requests, output_tokens, events, steps;
    double sim_s;
    int rc;
} child_result;

static child_result
run_child(uint64_t n, const run_args *a, const char *dir)
{
    child_result cr = {0};
    sim_config cfg;
    sim_config_init(&cfg);
    g_autofree char *num = g_strdup_printf("%" PRIu64, n);
    g_autofree char *rate = g_strdup_printf("%g", a->rate);
    g_autofree char *reps = g_strdup_printf("%" PRId64, a->replicas);
    g_autofree char *out_dir = g_strdup(dir);
    char *argv[] = {"--workload",     "synthetic",
                    "--num-requests", num,
                    "--rate",         rate,
                    "--input-len",    "empirical:azure-conv-10min",
                    "--output-len",   "empirical:azure-conv-10min",
                    "--replicas",     reps,
                    "--router",       "least_loaded",
                    "--output-dir",   out_dir,
                    "--seed",         "1",
                    "--quiet"};
    GError *err = NULL;
    if (!sim_config_parse_args(&cfg, NULL, G_N_ELEMENTS(argv), argv, NULL, &err)) {
        cr.rc = cli_fail(err, CLI_RUNTIME);
        sim_config_clear(&cfg);
        return cr;
    }
    runner_flags fl = {.no_outputs = a->no_outputs, .quiet = true};
    runner_result rr;
    double c0 = cli_cpu_s(), w0 = cli_now_s();
    cr.rc = runner_run(&cfg, &fl, &rr);
    cr.cpu_s = cli_cpu_s() - c0;
    cr.wall_s = cli_now_s() - w0;
    cr.rss = cli_peak_rss_bytes();
    if (cr.rc == CLI_OK) {
        cr.requests = rr.metrics.overall.completed + rr.metrics.overall.failed;
        cr.output_tokens = rr.metrics.overall.output_tokens;
        cr.events = rr.events;
        cr.steps = rr.cluster.steps;
        cr.sim_s = rr.sim_seconds;
    }
    sim_config_clear(&cfg);
    return cr;
}

int
bench_run(int argc, char **argv)
{
    run_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench run [--sizes N,...] [--rate R] [--replicas N]",
                       "Simulated requests per CPU-second and peak RSS of whole runs.", &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--sizes"))
            g_clear_pointer(&a.sizes, g_strfreev);
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    g_autofree char *dir = g_dir_make_tmp("servesim-bench-XXXXXX", NULL);
    printf("Llama-3.1-8B / H100 SXM x %" PRId64
           ", Poisson %.0f req/s, Azure conversation lengths\n",
           a.replicas, a.rate);
    printf("%10s %9s %9s %12s %14s %10s %10s %9s\n", "requests", "CPU s", "wall s", "req/CPU-s",
           "out tok/CPU-s", "steps", "sim s", "peak RSS");
    int rc = CLI_OK;
    for (size_t i = 0; a.sizes != NULL && a.sizes[i] != NULL; i++) {
        double nd;
        if (!base_parse_double(a.sizes[i], &nd) || nd < 1) {
            rc = cli_failf(CLI_USAGE, "bench run: --sizes: bad size '%s'", a.sizes[i]);
            break;
        }
        int fds[2];
        if (pipe(fds) != 0) {
            rc = cli_failf(CLI_RUNTIME, "bench run: pipe failed");
            break;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_result cr = run_child((uint64_t)nd, &a, dir);
            ssize_t w = write(fds[1], &cr, sizeof cr);
            _exit(w == (ssize_t)sizeof cr ? 0 : 1);
        }
        close(fds[1]);
        child_result cr = {.rc = CLI_RUNTIME};
        ssize_t got = read(fds[0], &cr, sizeof cr);
        close(fds[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        if (got != (ssize_t)sizeof cr || cr.rc != CLI_OK) {
            rc = cli_failf(CLI_RUNTIME, "bench run: the simulation of %s requests failed",
                           a.sizes[i]);
            break;
        }
        printf("%10" PRIu64 " %9.2f %9.2f %12.0f %14.0f %10" PRIu64 " %10.0f %6.1f MB\n",
               cr.requests, cr.cpu_s, cr.wall_s, (double)cr.requests / cr.cpu_s,
               (double)cr.output_tokens / cr.cpu_s, cr.steps, cr.sim_s, (double)cr.rss / 1e6);
        fflush(stdout);
    }
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "servesim: bench run: could not remove %s\n", dir);
    base_opts_clear(&set, &a);
    return rc;
}
