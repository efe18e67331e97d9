/* workloads/options.c: the workload rows of the settings schema. Flag names follow vLLM bench
 * (--request-rate is --rate here, --burstiness, --num-prompts is --num-requests,
 * --max-concurrency) and inference-perf (stages) where the concept exists. */
#include "workloads/options.h"

#include <stddef.h>

static const char *const formats[] = {"auto",     "azure",         "burstgpt", "mooncake",
                                      "sharegpt", "sharegpt-json", "jsonl",    "inference-perf",
                                      "servegen", "synthetic",     "spec",     NULL};
static const char *const arrivals[] = {"poisson", "gamma", "constant", NULL};
static const char *const over_length[] = {"pass", "clip", "reject", NULL};
static const char *const failed[] = {"skip", "prefill", NULL};
static const char *const modes[] = {"full", "per_user_turn", NULL};

#define O(field) offsetof(wl_options, field)

static const base_opt rows[] = {
    {"workload.source", "workload", BASE_OPT_STRING, O(source), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "FILE|NAME",
     "trace, workload spec, embedded name or 'synthetic' (default: embedded Azure "
     "conversation sample azure-conv-10min)"},
    {"workload.format", "workload-format", BASE_OPT_ENUM, O(format), "auto", formats, 0, 0, 0,
     "FMT", "force the input format instead of detecting it"},
    {"workload.spec", NULL, BASE_OPT_JSON, O(spec), NULL, NULL, 0, 0, BASE_OPT_NULLABLE, NULL,
     "inline workload spec (inference-perf data/load sections)"},
    {"workload.arrival", "arrival", BASE_OPT_ENUM, O(arrival), "poisson", arrivals, 0, 0, 0, "KIND",
     "synthetic arrival process"},
    {"workload.rate", "rate", BASE_OPT_DOUBLE, O(rate), NULL, NULL, WL_RATE_MIN, WL_RATE_MAX,
     BASE_OPT_NULLABLE, "REQ/S",
     "mean request rate (rescales traces, keeping their burst shape; synthetic: "
     "unset = all at t=0)"},
    {"workload.burstiness", "burstiness", BASE_OPT_DOUBLE, O(burstiness), "1", NULL, 1e-3, 1e3, 0,
     "X", "gamma arrival shape; 1 = Poisson, < 1 burstier"},
    {"workload.num_requests", "num-requests", BASE_OPT_INT, O(num_requests), NULL, NULL, 1,
     WL_MAX_REQUESTS, BASE_OPT_NULLABLE, "N", "number of synthetic requests (default 1000)"},
    {"workload.max_concurrency", "max-concurrency", BASE_OPT_INT, O(max_concurrency), NULL, NULL, 1,
     1e9, BASE_OPT_NULLABLE, "N", "cap on requests in flight (closed loop)"},
    {"workload.input_len", "input-len", BASE_OPT_STRING, O(input_len), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "DIST",
     "synthetic prompt lengths, e.g. fixed:512, uniform:100:2000, normal:M:SD, lognormal:M:SD, "
     "zipf:S:MAX, empirical:FILE (default fixed:1024)"},
    {"workload.output_len", "output-len", BASE_OPT_STRING, O(output_len), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "DIST", "synthetic output lengths (default fixed:128)"},
    {"workload.stages", "stages", BASE_OPT_JSON, O(stages), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "R:S,...", "synthetic load stages run back to back: rate R for S seconds each"},
    {"workload.clients", "clients", BASE_OPT_INT, O(clients), NULL, NULL, 1, 1e7, BASE_OPT_NULLABLE,
     "N",
     "synthetic closed loop: N clients, each sends its next request when "
     "its previous one completed (+ think time)"},
    {"workload.think_time", "think-time", BASE_OPT_STRING, O(think_time), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "DIST",
     "seconds a client/session waits after a reply, e.g. "
     "exponential:2 (default 0)"},
    {"workload.turns", "turns", BASE_OPT_STRING, O(turns), NULL, NULL, 0, 0, BASE_OPT_NULLABLE,
     "DIST", "synthetic multi-turn sessions: turns per session; --rate is then sessions/s"},
    {"workload.prefix_len", "prefix-len", BASE_OPT_INT, O(prefix_len), "0", NULL, 0, 1e7, 0, "N",
     "synthetic shared prefix (system prompt) tokens before each prompt"},
    {"workload.num_prefixes", "num-prefixes", BASE_OPT_INT, O(num_prefixes), "1", NULL, 1, 1e9, 0,
     "N", "number of distinct shared prefixes (picked uniformly)"},
    {"workload.time_scale", "time-scale", BASE_OPT_DOUBLE, O(time_scale), "1", NULL, 1e-9, 1e9, 0,
     "X", "multiply inter-arrival times"},
    {"workload.start_s", "start", BASE_OPT_DOUBLE, O(start_s), "0", NULL, 0, WL_MAX_TIME_S, 0, "S",
     "drop arrivals before this time; later arrivals are shifted to start at 0"},
    {"workload.duration_s", "duration", BASE_OPT_DOUBLE, O(duration_s), NULL, NULL, 0,
     WL_MAX_TIME_S, BASE_OPT_NULLABLE, "S", "keep arrivals within this window after --start"},
    {"workload.limit", "limit", BASE_OPT_INT, O(limit), NULL, NULL, 0, 1e15, BASE_OPT_NULLABLE, "N",
     "keep at most N requests"},
    {"workload.over_length", "over-length", BASE_OPT_ENUM, O(over_length), "pass", over_length, 0,
     0, 0, "POLICY",
     "requests longer than max_model_len: pass (the engine rejects them), clip, "
     "reject (drop here)"},
    {"workload.shuffle", "shuffle", BASE_OPT_BOOL, O(shuffle), "false", NULL, 0, 0, 0, NULL,
     "seeded shuffle of request contents, keeping arrival times"},
    {"workload.shuffle_window", "shuffle-window", BASE_OPT_INT, O(shuffle_window), "4096", NULL, 1,
     1e8, 0, "N", "requests held by the streaming shuffle"},
    {"workload.skip_bad_rows", "skip-bad-rows", BASE_OPT_BOOL, O(skip_bad_rows), "false", NULL, 0,
     0, 0, NULL, "count, report and skip malformed rows instead of failing"},
    {"workload.burstgpt_model", "burstgpt-model", BASE_OPT_STRING, O(burstgpt_model), NULL, NULL, 0,
     0, BASE_OPT_NULLABLE, "NAME", "BurstGPT: keep only rows of this Model (ChatGPT, GPT-4)"},
    {"workload.burstgpt_log_type", "burstgpt-log-type", BASE_OPT_STRING, O(burstgpt_log_type), NULL,
     NULL, 0, 0, BASE_OPT_NULLABLE, "TYPE",
     "BurstGPT: keep only this Log Type (conversation, api, or the exact text)"},
    {"workload.burstgpt_failed", "burstgpt-failed", BASE_OPT_ENUM, O(burstgpt_failed), "skip",
     failed, 0, 0, 0, "HOW",
     "BurstGPT failed requests (Response tokens 0): skip, or prefill "
     "(replay with 1 output token)"},
    {"workload.sharegpt_mode", "sharegpt-mode", BASE_OPT_ENUM, O(sharegpt_mode), "full", modes, 0,
     0, 0, "MODE", "ShareGPT conversations: full (one request each) or per_user_turn"},
    {"workload.bytes_per_token", "bytes-per-token", BASE_OPT_DOUBLE, O(bytes_per_token), "4", NULL,
     0.1, 1e3, 0, "X", "ShareGPT text: tokens = ceil(UTF-8 bytes / X) unless counts are given"},
    {"workload.servegen_dataset", "servegen-dataset", BASE_OPT_STRING, O(servegen_dataset), NULL,
     NULL, 0, 0, BASE_OPT_NULLABLE, "FILE",
     "ServeGen length PMFs (default: the trace's sibling *-dataset.json)"},
};

const base_opt_table wl_options_table = {"Workload", rows, G_N_ELEMENTS(rows), 0};
