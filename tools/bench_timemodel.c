/* tools/bench_timemodel.c: `servesim bench timemodel`: nanoseconds per step-cost evaluation
 * (tm_step_s on the roofline, the simulator's fast path) for a dense model (Llama-3.1-8B),
 * an MoE (Mixtral-8x7B) and a DSA model (DeepSeek-V3.2), at batches of 1, 64 and 512
 * sequences. Batches mix decodes and one prefill chunk; a small ring of different batches is
 * cycled so the timing is not of one cached input. The cost must not grow with the batch
 * (the batch summary is O(1)); the target is ≤ 100 ns per evaluation. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/opts.h"
#include "base/rng.h"
#include "timemodel/setup.h"
#include "tools/bench.h"
#include "tools/cli.h"

typedef struct {
    int64_t evals;
    char *hardware;
} tm_bench_args;

static const base_opt rows[] = {
    {"evals", "evals", BASE_OPT_INT, offsetof(tm_bench_args, evals), "2000000", NULL, 1, 1e11,
     BASE_OPT_CLI_ONLY, "N", "evaluations timed per (model, batch)"},
    {"hardware", "hardware", BASE_OPT_STRING, offsetof(tm_bench_args, hardware), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "NAME",
     "hardware preset for every model (default: h100-sxm; h200 for DeepSeek-V3.2)"},
};
static const base_opt_table table = {"bench timemodel", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

#define RING 8

static const struct {
    const char *model, *dtype, *hardware;
    int64_t tp;
} cases[] = {{"llama-3.1-8b", "bf16", "h100-sxm", 1},
             {"mixtral-8x7b", "bf16", "h100-sxm", 2},
             {"deepseek-v3.2", "fp8", "h200", 8}}; /* 671 B fp8 needs > 80 GB per GPU at tp 8 */

static const int64_t batches[] = {1, 64, 512};

int
bench_timemodel(int argc, char **argv)
{
    tm_bench_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench timemodel [--evals N] [--hardware NAME]",
                       "ns per roofline step-cost evaluation for dense, MoE and DSA batches of "
                       "1, 64 and 512 sequences.",
                       &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    GError *err = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    printf("roofline step cost (tm_step_s), %" PRId64 " evaluations per cell, ns per evaluation\n",
           a.evals);
    printf("%-16s %-9s %3s %10s %10s %10s\n", "model", "hardware", "tp", "batch 1", "batch 64",
           "batch 512");
    int rc = CLI_OK;
    double sink = 0;
    for (size_t m = 0; m < G_N_ELEMENTS(cases) && rc == CLI_OK; m++) {
        tm_options o;
        memset(&o, 0, sizeof o);
        const base_opt_set ts = {&tm_options_table, 1};
        base_opts_defaults(&ts, &o);
        base_opts_set_string(&ts, &o, "model.name", cases[m].model, NULL);
        const char *hw = a.hardware != NULL ? a.hardware : cases[m].hardware;
        base_opts_set_string(&ts, &o, "hardware.name", hw, NULL);
        base_opts_set_string(&ts, &o, "model.dtype", cases[m].dtype, NULL);
        o.tp = cases[m].tp;
        tm_setup *s = tm_setup_new(&o, &err);
        base_opts_clear(&ts, &o);
        if (s == NULL) {
            rc = cli_fail(err, CLI_USAGE);
            break;
        }
        tm_timemodel *tm = tm_setup_timemodel(s);
        printf("%-16s %-9s %3" PRId64, cases[m].model, hw, cases[m].tp);
        for (size_t bi = 0; bi < G_N_ELEMENTS(batches); bi++) {
            sim_rng r;
            sim_rng_init(&r, 1, SIM_STREAM_TEST);
            tm_batch ring[RING];
            for (int k = 0; k < RING; k++) {
                tm_batch_init(&ring[k], tm_setup_dsa_topk(s));
                for (int64_t i = 0; i < batches[bi]; i++) {
                    bool chunk = i == 0 && batches[bi] > 1;
                    tm_batch_add(&ring[k], chunk ? 512 : 1, 100 + sim_rng_below(&r, 8000), true);
                }
            }
            double t0 = cli_now_s();
            for (int64_t e = 0; e < a.evals; e++)
                sink += tm_step_s(tm, &ring[e % RING], NULL);
            double ns = (cli_now_s() - t0) * 1e9 / (double)a.evals;
            printf(" %10.1f", ns);
            fflush(stdout);
        }
        printf("\n");
        tm_timemodel_free(tm);
        tm_setup_free(s);
    }
    if (sink == 42.0)
        fputs("", stdout); /* keep the loop observable */
    base_opts_clear(&set, &a);
    return rc;
}
