/* schedulers/schedulers.h: the policies the simulator can be configured with, by name.
 * Replica schedulers: vllm (reference), sarathi, orca, static. Routers: round_robin,
 * least_loaded, prefix_affinity, random, free_kv. Tables are const; lookups return NULL if unknown.
 */
#pragma once

#include <stddef.h>

#include "sim/sched.h"

/* The vLLM release whose V1 scheduler the `vllm` policy follows. */
#define SCHED_VLLM_VERSION "0.11 (V1 engine: vllm/v1/core/sched/scheduler.py)"

const sim_scheduler *sched_find_scheduler(const char *name);
const sim_router *sched_find_router(const char *name);
/* NULL-terminated name lists (for help and suggestions). */
const char *const *sched_scheduler_names(void);
const char *const *sched_router_names(void);

/* The individual policies (also reachable through the tables). */
extern const sim_scheduler sched_vllm;
extern const sim_scheduler sched_sarathi;
extern const sim_scheduler sched_orca;
extern const sim_scheduler sched_static;
extern const sim_router sched_round_robin;
extern const sim_router sched_least_loaded;
extern const sim_router sched_prefix_affinity;
extern const sim_router sched_random;
extern const sim_router sched_free_kv;
