/* tools/bench.h: benchmark entry points (tools/bench_*.c); argv[0] is the benchmark name. */
#pragma once

int bench_evq(int argc, char **argv);
int bench_timemodel(int argc, char **argv);
int bench_workload(int argc, char **argv);
int bench_run(int argc, char **argv);
int bench_dsa(int argc, char **argv);
int bench_search(int argc, char **argv);
int bench_sweep(int argc, char **argv);

/* Where a search's time went (filled by cmd_search_stats). */
typedef struct search_stats {
    double prune_s;          /* wall: grid, budget, memory plans, gap and estimate checks */
    double simulate_s;       /* wall: the simulations (find-max probes) */
    double output_s;         /* wall: rows, ranking, Pareto, files */
    double cpu_s;            /* process CPU time over the whole search */
    unsigned configs;        /* configurations within the budget */
    unsigned simulated;      /* configurations simulated */
    unsigned long long runs; /* simulations run (probes) */
} search_stats;

/* `servesim search` with statistics (ST may be NULL). */
int cmd_search_stats(int argc, char **argv, search_stats *st);
