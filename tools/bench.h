/* tools/bench.h: benchmark entry points (tools/bench_*.c); argv[0] is the benchmark name. */
#pragma once

int bench_evq(int argc, char **argv);
int bench_timemodel(int argc, char **argv);
int bench_workload(int argc, char **argv);
int bench_run(int argc, char **argv);
int bench_dsa(int argc, char **argv);
