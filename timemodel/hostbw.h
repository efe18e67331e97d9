/* timemodel/hostbw.h: host-memory traffic of MoE expert offload and KV write-back
 * (docs/analysis.md §3–4). A GPU keeps `resident` experts of each MoE layer (the most popular
 * ones) in HBM; the others live in host memory. Over a refill window of W decode steps the
 * batch routes T = batch·W tokens through every MoE layer; each expert the window touches but
 * the GPU does not hold is fetched once (hot refill). Filling the resident set from nothing is
 * the cold refill. New tokens' KV may be written back to the host and offloaded KV read back.
 * Bytes cross two channels in series — the GPU's host link (PCIe, or NVLink-C2C on Grace
 * Hopper) and the host's DDR, which every GPU of the host shares — and the slower one bounds
 * the transfer. `analyze experts` inverts it: how many experts fit, how many can be loaded in
 * a budget, and whether the step time meets an SLA.
 * Expert popularity is Zipf with exponent `skew` (0 = uniform routing); a token includes
 * expert i with probability q_i = min(1, k·p_i), so uniform routing gives k/E as in
 * docs/domain.md §3.3, and a window touches it with probability 1 − (1 − q_i)^T.
 * Pure functions; plain values. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/common.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"

/* The MoE weights one GPU of a replica holds. */
typedef struct tm_moe_offload {
    int64_t experts;     /* routed experts per MoE layer (E) */
    int64_t topk;        /* experts per token (k) */
    double moe_layers;   /* MoE layers on this GPU (moe_layers / pp) */
    double expert_bytes; /* one routed expert of one layer (gate, up, down): this GPU's share,
                          * 3·h·I_e·b / (tp·dp) (whole experts under EP: the same share) */
} tm_moe_offload;

/* FALSE (TM_ERROR_INVALID naming the model) when M has no routed experts. */
gboolean tm_moe_offload_init(tm_moe_offload *e,
                             const tm_model_spec *m,
                             tm_dtype weights,
                             const tm_parallel *p,
                             GError **error);

/* Expected experts of one MoE layer that T tokens touch among experts [FROM, E) (FROM = the
 * resident count: the misses), with Zipf popularity of exponent SKEW. */
double tm_expert_touched(const tm_moe_offload *e, double skew, int64_t from, double tokens);

typedef enum {
    TM_CHANNEL_PCIE,
    TM_CHANNEL_C2C,
    TM_CHANNEL_DDR,
    TM_CHANNEL_COUNT,
} tm_channel;

const char *tm_channel_name(tm_channel c); /* "pcie", "c2c", "ddr" */

/* The host path of one GPU. */
typedef struct tm_host_path {
    tm_channel link;       /* TM_CHANNEL_PCIE or TM_CHANNEL_C2C */
    double link_bw;        /* B/s per direction */
    double ddr_bw;         /* B/s, shared by the host's GPUs, both directions */
    int64_t gpus_per_host; /* GPUs transferring at the same time through that DDR */
    double efficiency;     /* fraction of peak reached on both channels, (0, 1] */
} tm_host_path;

/* Fills PATH from HW and overrides (NAN = the hardware's figure; LINK "auto" picks C2C when
 * the hardware has it, else PCIe). A channel without a figure, a negative or zero bandwidth,
 * an efficiency outside (0, 1] are one-line errors naming the flag. */
gboolean tm_host_path_init(tm_host_path *path,
                           const tm_hardware *hw,
                           const char *link,
                           double pcie_gbps,
                           double c2c_gbps,
                           double ddr_gbps,
                           int64_t gpus_per_host,
                           double efficiency,
                           GError **error);

typedef struct tm_transfer {
    double h2d_bytes, d2h_bytes;
    double link_s;         /* max(h2d, d2h) / (link_bw·η): the link is full duplex */
    double ddr_s;          /* (h2d + d2h)·gpus_per_host / (ddr_bw·η) */
    double time_s;         /* max(link_s, ddr_s) */
    tm_channel bottleneck; /* the link or DDR */
} tm_transfer;

void tm_host_transfer(const tm_host_path *path, double h2d, double d2h, tm_transfer *t);

typedef struct tm_offload_params {
    int64_t batch;             /* sequences decoding together (tokens per step) */
    int64_t resident;          /* experts of each MoE layer held in HBM, [0, E] */
    double skew;               /* Zipf exponent of expert popularity, [0, 10] */
    double step_s;             /* one decode step without transfers (> 0) */
    double kv_bytes_per_token; /* per GPU */
    double kv_writeback;       /* fraction of new tokens' KV written to the host, [0, 1] */
    double kv_reload_tokens;   /* tokens of KV read back from the host per step, ≥ 0 */
} tm_offload_params;

/* One refill window of W steps. */
typedef struct tm_offload_window {
    int64_t steps;           /* W */
    double tokens;           /* batch·W */
    double misses_per_layer; /* experts fetched per MoE layer */
    double expert_bytes;     /* misses · MoE layers · expert bytes */
    double kv_write_bytes;   /* write-back (device to host) */
    double kv_read_bytes;    /* reload (host to device) */
    tm_transfer xfer;
    double compute_s;    /* W · step_s */
    double window_s;     /* max(compute, transfer): prefetch overlaps compute */
    double serial_s;     /* compute + transfer: nothing overlaps */
    double tokens_per_s; /* tokens / window_s */
    bool transfer_bound; /* transfer > compute */
} tm_offload_window;

/* Checks P against E (one-line errors naming the flag). */
gboolean
tm_offload_params_check(const tm_moe_offload *e, const tm_offload_params *p, GError **error);
void tm_offload_window_eval(const tm_moe_offload *e,
                            const tm_host_path *path,
                            const tm_offload_params *p,
                            int64_t steps,
                            tm_offload_window *w);

/* Cold refill: RESIDENT experts of every MoE layer loaded from the host at once. */
void tm_offload_cold(const tm_moe_offload *e,
                     const tm_host_path *path,
                     int64_t resident,
                     tm_transfer *t);

/* The inverse (`analyze experts`) for one window of STEPS steps. */
typedef struct tm_experts_answer {
    int64_t resident; /* the resident count evaluated */
    double budget_s;  /* load time allowed per window */
    double loadable;  /* experts (of one layer each) loadable within the budget */
    double loadable_per_layer;
    tm_offload_window w;  /* traffic and times at `resident` */
    double tpot_s;        /* window_s / steps */
    bool pass_budget;     /* transfer ≤ budget */
    bool pass_sla;        /* tpot ≤ SLA */
    int64_t min_resident; /* fewest resident experts that pass both; −1 if none */
} tm_experts_answer;

/* BUDGET_S NAN = steps · SLA (the whole window at the SLA: loads overlap compute). */
void tm_experts_answer_eval(const tm_moe_offload *e,
                            const tm_host_path *path,
                            const tm_offload_params *p,
                            int64_t steps,
                            double budget_s,
                            double tpot_sla_s,
                            tm_experts_answer *a);

/* Experts of each MoE layer that fit in FREE_BYTES of HBM (capped at E). */
int64_t tm_experts_fit(const tm_moe_offload *e, double free_bytes);
/* HBM left for routed experts on one GPU: usable memory · UTILIZATION − the weights that are
 * not routed experts − KV_BYTES − the activation peak of a BATCH-token step − the non-torch
 * reserve (timemodel/memory.h). May be negative. */
double tm_experts_free_bytes(const tm_model_spec *m,
                             const tm_hardware *hw,
                             const tm_parallel *p,
                             tm_dtype weights,
                             double utilization,
                             double kv_bytes,
                             int64_t batch);
