/* tools/bench_run.c: `servesim bench run`: the whole simulator's speed and memory. Workload:
 * Poisson arrivals with prompt and output lengths drawn from the embedded Azure 2023
 * conversation sample, on 4 replicas of Llama-3.1-8B / H100 SXM (least-loaded routing), at
 * 60 req/s, about 80 % of the 75 req/s those replicas sustain (measured: offered 80 req/s gives
 * 74.7 req/s with queueing growing). Each size runs in a forked child so its peak RSS is its
 * own; metrics and requests.csv are computed and written (to a temporary directory) as in a
 * normal run. Reports simulated requests and output tokens per CPU-second and peak RSS, with
 * the CPU model and the load average before and after (figures from a loaded machine are
 * lower: other processes share the cores and caches).
 * A second row runs DeepSeek-V3 (fp8) on 8×H200 as 8 data-parallel ranks with expert
 * parallelism: lockstep steps across ranks, dummy batches, the EP all-to-all (docs/design.md
 * §5b), at 15 req/s, about 80 % of the 19.3 req/s it sustains on the same lengths (measured:
 * offered 200 req/s gives 19.26 req/s). It sustained 42 req/s before the time-model merge
 * 7c5e820 (among its changes --dtype fp8 no longer halves the KV cache; with --kv-cache-dtype
 * fp8 the row sustains about 24 req/s); at the old 32 req/s its waiting queue grew all run
 * long, and the queued requests were the 99 MB peak RSS the row then showed.
 * With --pd, a prefill/decode row: 2 prefill + 6 decode Llama-3.1-8B / H100 replicas over the
 * InfiniBand NDR preset (docs/design.md §5c), at PD_RATE (≈ 80 % of what that split sustains
 * on these lengths; measured in the README), sizes PD_SIZES. */
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
    int64_t dp_ep_size;
    double dp_ep_rate;
    bool pd;
    char **pd_sizes;
    double pd_rate;
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
    {"dp_ep_size", "dp-ep-size", BASE_OPT_INT, offsetof(run_args, dp_ep_size), "200000", NULL, 0,
     1e9, BASE_OPT_CLI_ONLY, "N",
     "requests of the DeepSeek-V3 DP 8 + EP row on 8×H200 (0 skips it)"},
    {"dp_ep_rate", "dp-ep-rate", BASE_OPT_DOUBLE, offsetof(run_args, dp_ep_rate), "15", NULL, 1e-3,
     1e9, BASE_OPT_CLI_ONLY, "REQ/S", "arrival rate of that row (15 ≈ 80 % load)"},
    {"pd", "pd", BASE_OPT_BOOL, offsetof(run_args, pd), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     NULL, "add the prefill/decode row: 2 prefill + 6 decode Llama-3.1-8B / H100 replicas"},
    {"pd_sizes", "pd-sizes", BASE_OPT_STRV, offsetof(run_args, pd_sizes), "200000", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "N,...", "request counts of the prefill/decode row"},
    {"pd_rate", "pd-rate", BASE_OPT_DOUBLE, offsetof(run_args, pd_rate), "60", NULL, 1e-3, 1e9,
     BASE_OPT_CLI_ONLY, "REQ/S",
     "arrival rate of that row (60 ≈ 80 % of the 75 req/s a 2:6 split sustains: its 2 prefill "
     "replicas saturate first on these prompt-heavy lengths)"},
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

enum { ROW_LLAMA, ROW_DP_EP, ROW_PD };

/* ROW: the Llama replicas, the DeepSeek-V3 DP 8 + EP row or the prefill/decode row. */
static child_result
run_child(uint64_t n, const run_args *a, const char *dir, int row)
{
    bool dp_ep = row == ROW_DP_EP;
    child_result cr = {0};
    sim_config cfg;
    sim_config_init(&cfg);
    g_autofree char *num = g_strdup_printf("%" PRIu64, n);
    g_autofree char *rate = g_strdup_printf("%g", dp_ep           ? a->dp_ep_rate
                                                  : row == ROW_PD ? a->pd_rate
                                                                  : a->rate);
    g_autofree char *reps = g_strdup_printf("%" PRId64, a->replicas);
    g_autofree char *out_dir = g_strdup(dir);
    char *common[] = {"--workload",     "synthetic",
                      "--num-requests", num,
                      "--rate",         rate,
                      "--input-len",    "empirical:azure-conv-10min",
                      "--output-len",   "empirical:azure-conv-10min",
                      "--output-dir",   out_dir,
                      "--seed",         "1",
                      "--quiet"};
    char *llama[] = {"--replicas", reps, "--router", "least_loaded"};
    char *dsv3[] = {"--model",
                    "deepseek-v3",
                    "--hardware",
                    "h200",
                    "--dtype",
                    "fp8",
                    "--data-parallel-size",
                    "8",
                    "--enable-expert-parallel"};
    GPtrArray *args = g_ptr_array_new();
    for (size_t i = 0; i < G_N_ELEMENTS(common); i++)
        g_ptr_array_add(args, common[i]);
    char *pd[] = {"--pd", "2:6", "--pd-link", "ib-ndr-400", "--router", "least_loaded"};
    if (row == ROW_PD)
        for (size_t i = 0; i < G_N_ELEMENTS(pd); i++)
            g_ptr_array_add(args, pd[i]);
    else
        for (size_t i = 0; i < (dp_ep ? G_N_ELEMENTS(dsv3) : G_N_ELEMENTS(llama)); i++)
            g_ptr_array_add(args, dp_ep ? dsv3[i] : llama[i]);
    GError *err = NULL;
    gboolean parsed =
        sim_config_parse_args(&cfg, NULL, (int)args->len, (char **)args->pdata, NULL, &err);
    g_ptr_array_free(args, TRUE);
    if (!parsed) {
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

/* First field of /proc/loadavg (1-minute load), or "?" where there is none. Speed figures are
 * only comparable at a known load: other processes share the cores and the caches. */
static char *
load_1min(void)
{
    g_autofree char *s = NULL;
    if (!g_file_get_contents("/proc/loadavg", &s, NULL, NULL))
        return g_strdup("?");
    return g_strndup(s, strcspn(s, " "));
}

/* "model name" of /proc/cpuinfo and the online CPUs, e.g. "Intel(R) Xeon(R) Processor, 2 CPUs". */
static char *
machine(void)
{
    g_autofree char *s = NULL;
    g_autofree char *model = NULL;
    if (g_file_get_contents("/proc/cpuinfo", &s, NULL, NULL)) {
        const char *m = strstr(s, "model name");
        const char *c = m != NULL ? strchr(m, ':') : NULL;
        if (c != NULL)
            model = g_strstrip(g_strndup(c + 1, strcspn(c + 1, "\n")));
    }
    return g_strdup_printf("%s, %u CPUs", model != NULL ? model : "unknown CPU",
                           g_get_num_processors());
}

/* One size in a forked child (its peak RSS is its own); prints the row (and the header first
 * when HEADER). */
static int
run_row(uint64_t n, const run_args *a, const char *dir, int row, bool header)
{
    if (header)
        printf("%10s %9s %9s %12s %14s %10s %10s %9s\n", "requests", "CPU s", "wall s", "req/CPU-s",
               "out tok/CPU-s", "steps", "sim s", "peak RSS");
    int fds[2];
    if (pipe(fds) != 0)
        return cli_failf(CLI_RUNTIME, "bench run: pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_result cr = run_child(n, a, dir, row);
        ssize_t w = write(fds[1], &cr, sizeof cr);
        _exit(w == (ssize_t)sizeof cr ? 0 : 1);
    }
    close(fds[1]);
    child_result cr = {.rc = CLI_RUNTIME};
    ssize_t got = read(fds[0], &cr, sizeof cr);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof cr || cr.rc != CLI_OK)
        return cli_failf(CLI_RUNTIME, "bench run: the simulation of %" PRIu64 " requests failed",
                         n);
    printf("%10" PRIu64 " %9.2f %9.2f %12.0f %14.0f %10" PRIu64 " %10.0f %6.1f MB\n", cr.requests,
           cr.cpu_s, cr.wall_s, (double)cr.requests / cr.cpu_s, (double)cr.output_tokens / cr.cpu_s,
           cr.steps, cr.sim_s, (double)cr.rss / 1e6);
    fflush(stdout);
    return CLI_OK;
}

int
bench_run(int argc, char **argv)
{
    run_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench run [--sizes N,...] [--rate R] [--replicas N] [--dp-ep-size N] "
                       "[--pd [--pd-sizes N,...] [--pd-rate R]]",
                       "Simulated requests per CPU-second and peak RSS of whole runs.", &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--sizes"))
            g_clear_pointer(&a.sizes, g_strfreev);
        else if (g_str_has_prefix(argv[i], "--pd-sizes"))
            g_clear_pointer(&a.pd_sizes, g_strfreev);
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    g_autofree char *dir = g_dir_make_tmp("servesim-bench-XXXXXX", NULL);
    printf("Llama-3.1-8B / H100 SXM x %" PRId64
           ", Poisson %.0f req/s, Azure conversation lengths\n",
           a.replicas, a.rate);
    g_autofree char *mach = machine();
    g_autofree char *load0 = load_1min();
    printf("machine: %s; 1-minute load average at start: %s\n", mach, load0);
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && a.sizes != NULL && a.sizes[i] != NULL; i++) {
        double nd;
        if (!base_parse_double(a.sizes[i], &nd) || nd < 1) {
            rc = cli_failf(CLI_USAGE, "bench run: --sizes: bad size '%s'", a.sizes[i]);
            break;
        }
        rc = run_row((uint64_t)nd, &a, dir, ROW_LLAMA, i == 0);
    }
    if (rc == CLI_OK && a.dp_ep_size > 0) {
        printf("\nDeepSeek-V3 fp8 / 8 x H200, data parallel 8 + expert parallel (lockstep), "
               "Poisson %.0f req/s, Azure conversation lengths\n",
               a.dp_ep_rate);
        rc = run_row((uint64_t)a.dp_ep_size, &a, dir, ROW_DP_EP, true);
    }
    for (size_t i = 0; rc == CLI_OK && a.pd && a.pd_sizes != NULL && a.pd_sizes[i] != NULL; i++) {
        double nd;
        if (!base_parse_double(a.pd_sizes[i], &nd) || nd < 1) {
            rc = cli_failf(CLI_USAGE, "bench run: --pd-sizes: bad size '%s'", a.pd_sizes[i]);
            break;
        }
        if (i == 0)
            printf("\nLlama-3.1-8B / H100 SXM, prefill/decode 2:6 over InfiniBand NDR 400, "
                   "Poisson %.0f req/s, Azure conversation lengths\n",
                   a.pd_rate);
        rc = run_row((uint64_t)nd, &a, dir, ROW_PD, i == 0);
    }
    g_autofree char *load1 = load_1min();
    printf("1-minute load average at end: %s\n", load1);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "servesim: bench run: could not remove %s\n", dir);
    base_opts_clear(&set, &a);
    return rc;
}
