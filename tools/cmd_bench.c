/* tools/cmd_bench.c: `servesim bench NAME|all`: servesim's own speed and memory. Benchmarks
 * print figures; they never assert (timing is not a test). */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/bench.h"
#include "tools/cli.h"

static const struct {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char **argv);
} benches[] = {
    {"evq", "event queue hold model vs GLib GSequence", bench_evq},
    {"timemodel", "ns per step-cost evaluation (dense, MoE, DSA)", bench_timemodel},
    {"workload", "trace reader rows/s and peak RSS", bench_workload},
    {"run", "simulated requests per CPU-second, peak RSS", bench_run},
};

static void
help(void)
{
    printf("usage: servesim bench NAME|all [FLAGS]\n\nbenchmarks:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(benches); i++)
        printf("  %-10s %s\n", benches[i].name, benches[i].summary);
    printf("\n`servesim bench NAME --help` lists a benchmark's flags.\n");
}

int
cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help();
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "all") == 0) {
        int worst = CLI_OK;
        for (size_t i = 0; i < G_N_ELEMENTS(benches); i++) {
            printf("== bench %s ==\n", benches[i].name);
            fflush(stdout);
            /* Each benchmark in its own process: memory one leaves behind (a 1e6-event heap)
             * must not count in the next one's peak RSS. */
            pid_t pid = fork();
            if (pid == 0) {
                char name[64];
                g_strlcpy(name, benches[i].name, sizeof name);
                char *sub[] = {name, NULL};
                int code = benches[i].fn(1, sub);
                fflush(stdout);
                _exit(code);
            }
            int status = 0;
            int rc = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
                         ? WEXITSTATUS(status)
                         : CLI_RUNTIME;
            if (rc > worst)
                worst = rc;
            printf("\n");
        }
        return worst;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(benches); i++)
        if (strcmp(argv[1], benches[i].name) == 0)
            return benches[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "servesim: bench: unknown benchmark '%s'\n", argv[1]);
    help();
    return CLI_USAGE;
}
