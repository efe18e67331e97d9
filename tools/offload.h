/* tools/offload.h: what `analyze host-bandwidth` and `analyze experts` share
 * (tools/offload.c): their flags (the time model's, with mixtral-8x7b as the default model,
 * plus batch, residency, skew, windows, host channels), and the resolution of those flags
 * into a MoE offload description, a host path and per-window parameters
 * (timemodel/hostbw.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/hostbw.h"
#include "timemodel/options.h"
#include "timemodel/setup.h"

typedef struct offload_args {
    tm_options tm; /* first: tm_options_table offsets apply as they are */
    int64_t batch;
    int64_t context_len;
    int64_t resident; /* BASE_OPT_UNSET_INT = as many as fit */
    double skew;
    char *windows;
    double step_ms; /* NAN = the roofline's decode step */
    double kv_writeback;
    double kv_reload_tokens;
    char *host_link;
    double pcie_gbps, c2c_gbps, ddr_gbps; /* NAN = the hardware's */
    int64_t gpus_per_host;                /* BASE_OPT_UNSET_INT = the hardware's */
    double host_efficiency;
    double gpu_memory_utilization;
    double budget_ms;   /* experts: NAN = steps × SLA */
    double tpot_sla_ms; /* experts */
    bool json;
    bool csv;
} offload_args;

typedef struct offload_ctx {
    tm_setup *setup; /* owned */
    tm_moe_offload e;
    tm_host_path path;
    tm_offload_params p;
    GArray *windows;         /* int64_t steps, owned */
    int64_t resident_fit;    /* experts per layer that fit in HBM */
    double free_bytes;       /* HBM left for routed experts */
    double kv_reserve_bytes; /* batch × context KV kept in HBM */
    bool step_from_roofline;
} offload_ctx;

void offload_ctx_clear(offload_ctx *c);

/* Parses ARGV (argv[0] "analyze", argv[1] the analysis), resolves the context and calls RUN;
 * prints errors and returns the exit code. EXPERTS adds the budget / SLA flags. */
int offload_main(int argc,
                 char **argv,
                 bool experts,
                 const char *synopsis,
                 const char *description,
                 int (*run)(const offload_args *a, const offload_ctx *c));

/* "pcie 64 GB/s per direction, DDR 614.4 GB/s shared by 8 GPUs, efficiency 1.00" etc. */
void offload_describe(GString *g, const offload_args *a, const offload_ctx *c);
/* The description as JSON fields added to O. */
void offload_describe_json(json_t *o, const offload_args *a, const offload_ctx *c);
