/* schedulers/registry.c: name → policy tables (const; tools/ wires policies by name). */
#include <string.h>

#include "schedulers/schedulers.h"

static const sim_scheduler *const schedulers[] = {&sched_vllm, &sched_sarathi, &sched_orca,
                                                  &sched_static};
static const sim_router *const routers[] = {&sched_round_robin, &sched_least_loaded,
                                            &sched_prefix_affinity, &sched_random, &sched_free_kv};
static const char *const scheduler_names[] = {"vllm", "sarathi", "orca", "static", NULL};
static const char *const router_names[] = {"round_robin", "least_loaded", "prefix_affinity",
                                           "random",      "free_kv",      NULL};

const sim_scheduler *
sched_find_scheduler(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(schedulers); i++)
        if (strcmp(schedulers[i]->name, name) == 0)
            return schedulers[i];
    return NULL;
}

const sim_router *
sched_find_router(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(routers); i++)
        if (strcmp(routers[i]->name, name) == 0)
            return routers[i];
    return NULL;
}

const char *const *
sched_scheduler_names(void)
{
    return scheduler_names;
}

const char *const *
sched_router_names(void)
{
    return router_names;
}
