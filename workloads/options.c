/* workloads/options.c: the workload rows of the settings schema. */
#include "workloads/options.h"

#include <stddef.h>

static const char *const formats[] = {"auto",     "azure",      "burstgpt",       "mooncake",
                                      "sharegpt", "sharegpt-json", "jsonl",       "inference-perf",
                                      "servegen", "synthetic",  NULL};
static const char *const arrivals[] = {"poisson", "gamma", "constant", NULL};

#define O(field) offsetof(wl_options, field)

static const base_opt rows[] = {
    {"workload.source", "workload", BASE_OPT_STRING, O(source), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "FILE|NAME", "trace or workload spec (default: embedded Azure conversation sample)"},
    {"workload.format", "workload-format", BASE_OPT_ENUM, O(format), "auto", formats, 0, 0, 0,
     "FMT", "force the input format instead of detecting it"},
    {"workload.spec", NULL, BASE_OPT_JSON, O(spec), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, NULL,
     "inline workload spec (inference-perf data/load sections)"},
    {"workload.arrival", "arrival", BASE_OPT_ENUM, O(arrival), "poisson", arrivals, 0, 0, 0, "KIND",
     "synthetic arrival process"},
    {"workload.rate", "rate", BASE_OPT_DOUBLE, O(rate), NULL, NULL, 1e-9, 1e9, BASE_OPT_NULLABLE,
     "REQ/S", "mean request rate (rescales traces, keeping their burst shape)"},
    {"workload.burstiness", "burstiness", BASE_OPT_DOUBLE, O(burstiness), "1", NULL, 1e-3, 1e3, 0,
     "X", "gamma arrival shape; 1 = Poisson, < 1 burstier"},
    {"workload.num_requests", "num-requests", BASE_OPT_INT, O(num_requests), NULL, NULL, 1, 1e12,
     BASE_OPT_NULLABLE, "N", "number of synthetic requests"},
    {"workload.max_concurrency", "max-concurrency", BASE_OPT_INT, O(max_concurrency), NULL, NULL, 1,
     1e9, BASE_OPT_NULLABLE, "N", "cap on requests in flight (closed loop)"},
    {"workload.input_len", "input-len", BASE_OPT_STRING, O(input_len), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "DIST", "synthetic prompt lengths, e.g. fixed:512, uniform:100:2000"},
    {"workload.output_len", "output-len", BASE_OPT_STRING, O(output_len), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "DIST", "synthetic output lengths"},
    {"workload.time_scale", "time-scale", BASE_OPT_DOUBLE, O(time_scale), "1", NULL, 1e-9, 1e9, 0,
     "X", "multiply inter-arrival times"},
    {"workload.start_s", "start", BASE_OPT_DOUBLE, O(start_s), "0", NULL, 0, 1e12, 0, "S",
     "drop arrivals before this time"},
    {"workload.duration_s", "duration", BASE_OPT_DOUBLE, O(duration_s), NULL, NULL, 0, 1e12,
     BASE_OPT_NULLABLE, "S", "keep arrivals within this window after --start"},
    {"workload.limit", "limit", BASE_OPT_INT, O(limit), NULL, NULL, 0, 1e15, BASE_OPT_NULLABLE, "N",
     "keep at most N requests"},
    {"workload.shuffle", "shuffle", BASE_OPT_BOOL, O(shuffle), "false", NULL, 0, 0, 0, NULL,
     "seeded shuffle of request contents"},
    {"workload.skip_bad_rows", "skip-bad-rows", BASE_OPT_BOOL, O(skip_bad_rows), "false", NULL, 0,
     0, 0, NULL, "count, report and skip malformed rows instead of failing"},
};

const base_opt_table wl_options_table = {"Workload", rows, G_N_ELEMENTS(rows), 0};
