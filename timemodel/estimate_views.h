/* timemodel/estimate_views.h: two views of the roofline that `servesim estimate` prints
 * (docs/analysis.md §5): one model's row of the multi-model comparison (`--model A,B,C`: the
 * same scenario and hardware, weights, KV per token, prefill and decode time, effective
 * TFLOP/s), and the compute/communication overlap split of one step (`--overlap φ`). Both are
 * pure functions of a resolved setup (timemodel/setup.h) or of a step's roofline detail. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/roofline.h"
#include "timemodel/setup.h"

typedef struct tm_compare_row {
    double params_total, params_active; /* parameters (elements) */
    double weight_bytes_gpu;            /* per GPU */
    double kv_bytes_per_token;          /* whole model */
    double kv_bytes_per_token_gpu;
    double prefill_s;      /* one step prefilling batch × input_len tokens (TTFT, no queue) */
    double prefill_flops;  /* per GPU */
    double tpot_s;         /* mean of the output_len − 1 decode steps (0 if none) */
    double decode_flops;   /* per GPU, the decode step at the mean context */
    double decode_step_s;  /* that step */
    double prefill_tflops; /* effective: prefill_flops / prefill_s / 1e12, per GPU */
    double decode_tflops;  /* decode_flops / decode_step_s / 1e12, per GPU */
    double decode_tok_s;   /* per replica: dp · batch / tpot */
    tm_row_id prefill_bottleneck, decode_bottleneck; /* decode: TM_ROW_COUNT when none */
    const char *prefill_bound, *decode_bound;        /* that row's bound ("memory", ...) */
    bool kv_fits; /* the batch's full contexts fit in the KV cache at 0.9 utilization */
} tm_compare_row;

/* Prices BATCH × IN prompt tokens and OUT output tokens (the first from the prefill) with S. */
void tm_compare_price(const tm_setup *s, int64_t batch, int64_t in, int64_t out, tm_compare_row *r);

typedef struct tm_overlap_view {
    double overhead_s; /* CPU / launch overheads (and calibration floors) */
    double work_s;     /* GPU kernels: Σ per-operator roofline times */
    double comm_s;     /* raw communication (collectives), before overlap */
    double phi;        /* fraction of comm_s hidden under work_s, [0, 1] */
    double hidden_s;   /* φ · comm_s */
    double exposed_s;  /* (1 − φ) · comm_s */
    double step_s;     /* overhead + work + exposed: the roofline's step at ω = φ */
    double serial_s;   /* φ = 0 */
    double ideal_s;    /* φ = 1 */
    bool overhidden;   /* hidden_s > work_s: more is hidden than there is compute to hide it */
} tm_overlap_view;

/* Splits D (a step priced at any ω) at overlap PHI. */
void tm_overlap_view_get(const tm_roofline_detail *d, double phi, tm_overlap_view *v);
