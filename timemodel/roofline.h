/* timemodel/roofline.h: the roofline step-time model (docs/domain.md §3) as a tm_timemodel.
 *
 * For a batch summary (tm_batch) it prices every operator of one forward step on one GPU of
 * the replica: t_op = max(F/(P·η_c), B/(W·η_m)), summed over operators and layers, plus the
 * exposed part of communication (1−ω)·t_comm and the CPU overheads
 * (step_overhead + per_seq_overhead·num_seqs). Operators are grouped into component rows
 * (qkv, attention, o-proj, mlp, moe, router, lm-head, indexer, collectives, overhead).
 * The simulator's fast path (tm_step_s) and the detailed rows of `servesim estimate` are the
 * same function, tm_roofline_eval, called with or without a detail struct: O(1) in the number
 * of sequences, no allocation.
 * Ownership: tm_roofline_new copies everything it needs from its arguments. */
#pragma once

#include <stddef.h>

#include "timemodel/batch.h"
#include "timemodel/common.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"
#include "timemodel/timemodel.h"

/* Defaults of the knobs a calibration overrides (docs/timemodel.md explains each value). */
#define TM_DEFAULT_COMPUTE_EFF        0.70 /* η_c, fraction of peak dense FLOP/s */
#define TM_DEFAULT_MEMORY_EFF         0.70 /* η_m, fraction of peak HBM bandwidth */
#define TM_DEFAULT_COMM_EFF           0.75 /* η_x, fraction of peak link bandwidth */
#define TM_DEFAULT_STEP_OVERHEAD_S    126e-6
#define TM_DEFAULT_PER_SEQ_OVERHEAD_S 4e-6
/* Decode attention work per (sequence × KV head) per layer: 22 ns fitted on aiconfigurator's
 * generation-attention tables of both H100 (vLLM 0.14) and H200 (vLLM 0.24), data/ (the same
 * value on both; docs/timemodel.md §4.3). */
#define TM_DEFAULT_ATTN_ITEM_S 22e-9
/* vLLM's largest CUDA-graph capture size with its default max_num_seqs (≥ 256):
 * min(2·max_num_seqs, 512) (vllm/config/vllm.py, v0.15). */
#define TM_DEFAULT_CUDAGRAPH_MAX_TOKENS 512
/* One eagerly launched vLLM op: aiconfigurator's H100 custom all-reduce (vLLM 0.14, data/)
 * takes 4.3 µs replayed in a CUDA graph and 21.1 µs launched eagerly at 128 B–64 KiB; the
 * difference, 16.8 µs, is the launch. */
#define TM_DEFAULT_LAUNCH_EAGER_S 16.8e-6

/* Measured all-reduce latency by message size, per GPU count (a calibration's, e.g. vLLM's
 * custom all-reduce in CUDA graphs: one-shot then two-shot algorithms make it a step function
 * of the size, not α + bytes/BW). Points ascend in bytes; slot unused when n_gpus is 0. */
#define TM_AR_SLOTS      4
#define TM_AR_MAX_POINTS 48

typedef struct tm_allreduce_table {
    int n_gpus[TM_AR_SLOTS];
    int npts[TM_AR_SLOTS];
    double bytes[TM_AR_SLOTS][TM_AR_MAX_POINTS]; /* message size (bytes of the buffer) */
    double s[TM_AR_SLOTS][TM_AR_MAX_POINTS];     /* seconds */
} tm_allreduce_table;

/* The table's time for an M-byte all-reduce over N GPUs: log-log interpolation between
 * points, the first point's time below them (the latency floor), the last segment's slope
 * above them (the bandwidth regime). NAN when the table has no slot for N. */
double tm_allreduce_table_time(const tm_allreduce_table *t, double n, double m);

typedef struct tm_roofline_params {
    tm_dtype weight_dtype;
    tm_dtype kv_dtype;
    bool experts_own_dtype; /* routed experts at expert_dtype (else at weight_dtype) */
    tm_dtype expert_dtype;  /* an experts-only quantization: MXFP4 gpt-oss */
    tm_parallel par;
    tm_backend backend;        /* link used by TP/EP/PP collectives */
    double compute_eff;        /* η_c in (0, ∞); 1 = peak */
    double memory_eff;         /* η_m */
    double comm_eff;           /* η_x */
    double overlap;            /* ω in [0, 1]: share of communication hidden under compute */
    double moe_imbalance;      /* ≥ 0: most loaded expert gets (1 + x)·mean tokens */
    double step_overhead_s;    /* fixed CPU/launch cost per step */
    double per_seq_overhead_s; /* per scheduled sequence per step */
    double request_overhead_s; /* copied to tm_timemodel.request_overhead_s */
    double per_output_token_s; /* copied to tm_timemodel.per_output_token_s */
    double attn_compute_eff;   /* η_c of attention kernels; NAN = compute_eff */
    double attn_memory_eff;    /* η_m of attention kernels; NAN = memory_eff */
    double elem_memory_eff;    /* η_m of elementwise operators; NAN = memory_eff */
    double mixdec_compute_eff; /* decode attention in mixed batches; NAN = attention's */
    double mixdec_memory_eff;
    double moe_compute_eff; /* η_c of the routed-expert grouped GEMMs; NAN = compute_eff */
    double moe_memory_eff;  /* η_m of the routed-expert grouped GEMMs; NAN = memory_eff */
    double q_compute_eff;   /* weight GEMMs with quantised weights (TM_OPCLASS_GEMM_Q); NAN = the
                             * 16-bit GEMMs' */
    double q_memory_eff;
    double moeq_compute_eff; /* routed experts with quantised weights; NAN = the 16-bit MoE's */
    double moeq_memory_eff;
    /* Shape-aware decode attention and MoE (docs/timemodel.md §4.3): GQA/MHA decode attention costs
     * max(F/P, B/W) + attn_item_s · (sequences × KV heads) + attn_serial · b/W per layer,
     * b = KV bytes of one (sequence, KV head) (the mean): a paged decode kernel has work per
     * (sequence, KV head) that bandwidth does not hide, and one such item is read by a few
     * SMs only, so few long items leave the GPU idle. */
    double attn_item_s; /* seconds per (sequence × KV head) per layer */
    double attn_serial; /* multiplier of one item's bytes at peak bandwidth (0 = off) */
    double moe_token;   /* multiplier of the hidden-state bytes of every token entering an MoE
                         * layer's fused kernel, at peak bandwidth (0 = off) */
    /* CUDA graphs (docs/timemodel.md §4.4, vLLM FULL_AND_PIECEWISE): a pure-decode step of at
     * most cudagraph_max_tokens tokens replays a full graph; a mixed one that small replays
     * piecewise graphs with the attention kernels launched eagerly; a larger step runs eager.
     * An eagerly launched kernel costs launch_eager_s of CPU time, exposed when the launches
     * outlast the GPU work they overlap. */
    double cudagraph_max_tokens; /* min(2·max_num_seqs, 512) in vLLM; 0 = enforce_eager */
    double launch_eager_s;       /* CPU cost of one eager kernel launch; 0 = off */
    /* Cascade attention (vLLM v0.11–v0.17 FlashAttention backend): the KV of the prefix common
     * to every sequence of a step (tm_batch.common_prefix_tokens) is read once per step when it is
     * at least cascade_min_prefix tokens and the step has cascade_min_seqs sequences; 0 = off. */
    double cascade_min_prefix, cascade_min_seqs;
    /* measured all-reduce latencies (a calibration's); the TP and MoE all-reduces over a GPU
     * count it has are priced from it instead of α + bytes/(BW·η) */
    tm_allreduce_table allreduce;
    /* Pipeline stage priced (docs/design.md §5b): -1 (the default) = a whole step, every
     * stage in turn plus the sends between them (what `estimate` shows); s in [0, pp) = only
     * stage s: its share of the layers (tm_pp_stage_layers), the embedding on the first stage,
     * final norm, lm-head, sampler and logits gather on the last, the send to the next stage on
     * the others. step_overhead_s and per_seq_overhead_s apply as given: the caller splits them
     * between stages (tm_setup_stage_timemodel). */
    int32_t pp_stage;
} tm_roofline_params;

/* "bf16", or "bf16 (experts mxfp4)" when the routed experts have their own dtype. transfer
 * full */
char *tm_roofline_weights_name(const tm_roofline_params *p);

/* The dtype P's routed experts are stored in. */
static inline tm_dtype
tm_roofline_expert_dtype(const tm_roofline_params *p)
{
    return p->experts_own_dtype ? p->expert_dtype : p->weight_dtype;
}

/* Defaults: bf16 weights and KV, tp = pp = dp = 1, hardware's default backend, efficiencies
 * from HW when it sets them else the TM_DEFAULT_* values (attention kernels: the same), ω = 0,
 * no imbalance, whole step (pp_stage −1). */
void tm_roofline_params_defaults(tm_roofline_params *p, const tm_hardware *hw);

typedef enum {
    TM_ROW_QKV,
    TM_ROW_ATTENTION,
    TM_ROW_OPROJ,
    TM_ROW_MLP,
    TM_ROW_MOE,
    TM_ROW_ROUTER,
    TM_ROW_LMHEAD,
    TM_ROW_INDEXER,
    TM_ROW_COLLECTIVES,
    TM_ROW_OVERHEAD,
    TM_ROW_COUNT,
} tm_row_id;

const char *tm_row_name(tm_row_id r); /* "qkv", "attention", "o-proj", ... */

typedef struct tm_row {
    double flops;      /* per GPU, whole step (all layers) */
    double bytes;      /* HBM bytes (collectives: bytes sent per GPU) */
    double compute_s;  /* Σ F/(P·η_c) */
    double memory_s;   /* Σ B/(W·η_m) */
    double comm_s;     /* raw communication time (collectives row) */
    double time_s;     /* contribution to the step: Σ per-operator max; (1−ω)·comm; overhead */
    const char *bound; /* "compute", "memory", "comm", "overhead" or "-" (empty row) */
} tm_row;

#define TM_MAX_OPS 40

/* What an operator's time is made of, for calibration (timemodel/calib_fit.h): each class has
 * its own efficiencies (tm_roofline_params) and, in a calibration, its own per-kernel floor. */
typedef enum {
    TM_OPCLASS_GEMM,         /* GEMMs (weights), MoE experts, DSA indexer scores */
    TM_OPCLASS_ATTENTION,    /* attention kernels and the MLA absorbed-form fold */
    TM_OPCLASS_ELEMENTWISE,  /* norms, activation, embedding gather, sampler (bytes only) */
    TM_OPCLASS_MIXED_DECODE, /* GQA decode attention in a batch that also holds prefill tokens:
                              * vLLM runs both in one varlen kernel, without the split-KV decode
                              * path, ~2x slower per byte on the LLMServingSim RTX 4090 table */
    TM_OPCLASS_MOE,          /* routed experts: vLLM's fused (grouped-GEMM) MoE kernel, far from
                              * the GEMM roofline at a few tokens per expert (aiconfigurator
                              * MoE tables: ~50 µs for one decode token on 8 experts, TP 8) */
    TM_OPCLASS_GEMM_Q,       /* weight GEMMs with quantised (8-bit or less) weights: scale and
                              * dequantisation kernels make them a different kernel family
                              * (aiconfigurator H200 fp8_block GEMMs: ~56 µs floor vs ~3 µs) */
    TM_OPCLASS_MOE_Q,        /* routed experts with quantised weights (fp8_block MoE on H200:
                              * 31 % of the fp8 peak when compute bound vs 73 % for bf16) */
    TM_OPCLASS_COUNT,
} tm_op_class;

/* One operator of one layer (times are for all COUNT layers). */
typedef struct tm_op {
    const char *name; /* e.g. "qkv", "mlp.gate_up", "attention.decode" */
    tm_row_id row;
    tm_op_class cls;
    double count;     /* layers it runs in */
    double flops;     /* one layer */
    double bytes;     /* one layer */
    double compute_s; /* count·F/(P·η_c) */
    double memory_s;  /* count·B/(W·η_m) */
    double time_s;    /* count·max(compute, memory) */
} tm_op;

typedef struct tm_roofline_detail {
    tm_row rows[TM_ROW_COUNT];
    tm_step_cost cost;
    double tp_allreduce_s; /* raw (before overlap) parts of the collectives row */
    double ep_alltoall_s;
    double pp_send_s;
    double logits_gather_s;
    double collectives; /* collective operations in the step (each pays the link latency) */
    /* Multipliers of the additive terms of docs/timemodel.md §4.3 (all layers): what
     * attn_item_s, attn_serial and moe_token multiply (calibration basis). */
    double att_items;      /* Σ layers · decoding sequences × KV heads per GPU (GQA / MHA) */
    double att_serial_s;   /* Σ layers · KV bytes of one (sequence, KV head) / peak bandwidth */
    double moe_token_s;    /* Σ MoE layers · tokens entering the fused-MoE kernel · h · b_act /
                            * peak bandwidth */
    double comm_latency_s; /* their start-up latencies: the part of the raw collectives time
                            * that does not scale with bandwidth (comm_eff) */
    double comm_table_s;   /* raw time of the all-reduces priced from the measured table (no
                            * part of it scales with comm_eff either) */
    size_t n_ops;
    tm_op ops[TM_MAX_OPS];
} tm_roofline_detail;

/* A roofline time model for M on HW with P (validated by the caller: tm_setup_new checks the
 * parallel layout). transfer full. */
tm_timemodel *
tm_roofline_new(const tm_model_spec *m, const tm_hardware *hw, const tm_roofline_params *p);
/* True if TM was made by tm_roofline_new. */
bool tm_is_roofline(const tm_timemodel *tm);
/* Step time of B in seconds; fills DETAIL (rows, operators, cost split) when non-NULL.
 * The same code as tm_step_s on a roofline. An empty batch costs 0. */
double tm_roofline_eval(const tm_timemodel *tm, const tm_batch *b, tm_roofline_detail *detail);
/* Kernels of a step as the roofline counts them: Σ count over its operators (collectives not
 * included: their start-up is the link latency). PER_CLASS (may be NULL) receives the counts by
 * tm_op_class. The calibration's per-kernel floors multiply these (timemodel/calib_fit.h). */
double tm_roofline_kernels(const tm_roofline_detail *d, double *per_class);
/* tm_roofline_kernels of a one-sequence decode step of TM: the kernel counts a calibration's
 * per-kernel floors are charged for on every step (timemodel/setup.c). */
double tm_roofline_step_kernels(const tm_timemodel *tm, double *per_class);
/* The row with the largest time (the step's bottleneck component). */
tm_row_id tm_roofline_bottleneck(const tm_roofline_detail *d);
/* Looks up an operator by name in DETAIL; NULL if absent. */
const tm_op *tm_roofline_find_op(const tm_roofline_detail *d, const char *name);

/* Expected distinct experts touched by T tokens routed top-K among E experts with uniform,
 * independent routing: E·(1 − (1 − K/E)^T) (docs/domain.md §3.3). The roofline uses the same
 * expression (through log1p/expm1 for accuracy). */
double tm_moe_distinct_experts(double e, double k, double t);

/* Collective operations priced by the roofline (docs/domain.md §3.6, ring algorithms). */
typedef enum {
    TM_COLL_ALL_REDUCE,
    TM_COLL_ALL_GATHER,
    TM_COLL_REDUCE_SCATTER,
    TM_COLL_ALL_TO_ALL,
    TM_COLL_SEND_RECV,
} tm_collective;

/* Bytes each GPU sends in collective K of an M-byte buffer over N GPUs: all-reduce 2(n−1)/n·M;
 * all-gather, reduce-scatter and all-to-all (n−1)/n·M (M = the whole gathered / scattered
 * buffer, nccl-tests' convention); send/recv M. Time = bytes/(BW·η_x) + one link latency.
 * The roofline prices its collectives with it. */
static inline double
tm_collective_bytes(tm_collective k, double n, double m)
{
    switch (k) {
    case TM_COLL_ALL_REDUCE:
        return 2.0 * (n - 1.0) / n * m;
    case TM_COLL_SEND_RECV:
        return m;
    default:
        return (n - 1.0) / n * m;
    }
}

/* The routed-expert work of one MoE layer on one GPU: A token assignments to D distinct
 * experts whose FFN slice has IE columns (gate, up, down): F = 6·h·IE·A, bytes = the D
 * experts' weights b_w·3·h·IE·D + per assignment (2h + 6·IE)·b_act (token in and out,
 * gate/up/activation intermediates). The roofline's moe.experts operator is priced with it
 * (D from uniform routing), and so are aiconfigurator's MoE rows (D from their routing). */
void tm_moe_work(double h,
                 double ie,
                 double d,
                 double a,
                 double b_w,
                 double b_act,
                 double *flops,
                 double *bytes);

/* A GEMM of an M×K activation by a K×N weight: F = 2MNK, bytes = N·K·b_w (weights read once)
 * + M·K·b_act (input) + M·N·b_act (output). Every GEMM of the roofline is priced with it. */
void
tm_gemm_work(double m, double n, double k, double b_w, double b_act, double *flops, double *bytes);
