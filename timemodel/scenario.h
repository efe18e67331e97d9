/* timemodel/scenario.h: one reader for scenario CSV rows, shared by `servesim estimate
 * --scenarios` and `servesim calibrate` (measurements rows and --predict), so both read a row
 * the same way and price it the same way.
 *
 * A row is one configuration (tp, dp, pp, model, hardware, dtype, kv_cache_dtype; an absent
 * column or empty cell takes the command's value) and one shape:
 *   batch_per_gpu  sequences of one DP rank prefilled together, then decoded together;
 *   seq_len        prompt tokens per sequence;
 *   decode_tokens  decode steps after the prefill (step j sees seq_len + j cached tokens);
 *   grad_accum     micro-batches run back to back (gradient accumulation's meaning): the
 *                  row's prefill and decode times cover grad_accum identical batches, so they
 *                  are grad_accum × one batch's times; per-step figures (TPOT) and tokens/s
 *                  do not change. Default 1.
 * Every count is range-checked (TM_SCENARIO_MAX_*), so pricing a row is bounded work and no
 * sum overflows. Errors read "FILE:LINE: column NAME: why". */
#pragma once

#include <stdint.h>

#include <glib.h>

#include "base/csv.h"
#include "timemodel/batch.h"
#include "timemodel/model.h"
#include "timemodel/options.h"
#include "timemodel/timemodel.h"

/* Ranges of the shape columns (the same as the CLI flags --batch, --input-len, ...). */
#define TM_SCENARIO_MAX_BATCH      10000000  /* batch_per_gpu */
#define TM_SCENARIO_MAX_SEQ_LEN    100000000 /* seq_len */
#define TM_SCENARIO_MAX_DECODE     100000000 /* decode_tokens */
#define TM_SCENARIO_MAX_GRAD_ACCUM 1000000   /* grad_accum */
#define TM_SCENARIO_MAX_PARALLEL   65536     /* tp, dp, pp */

typedef enum {
    TM_SC_TP,
    TM_SC_DP,
    TM_SC_PP,
    TM_SC_MODEL,
    TM_SC_HARDWARE,
    TM_SC_DTYPE,
    TM_SC_KV_DTYPE,
    TM_SC_BATCH,
    TM_SC_SEQ_LEN,
    TM_SC_DECODE,
    TM_SC_GRAD_ACCUM,
    TM_SC_COUNT,
} tm_scenario_col;

/* Column names, indexed by tm_scenario_col, NULL-terminated. */
extern const char *const tm_scenario_cols[];

/* Column index of each tm_scenario_col in a CSV's header (-1 when absent). */
typedef struct tm_scenario_layout {
    int col[TM_SC_COUNT];
} tm_scenario_layout;

typedef struct tm_scenario {
    int64_t batch;         /* batch_per_gpu */
    int64_t seq_len;       /* prompt tokens */
    int64_t decode_tokens; /* decode steps */
    int64_t grad_accum;    /* micro-batches back to back */
} tm_scenario;

/* What an absent column or empty cell means. */
typedef struct tm_scenario_defaults {
    const tm_options *tm; /* borrowed: tp, dp, pp, model, hardware, dtype, kv_cache_dtype */
    tm_scenario shape;    /* batch, seq_len, decode_tokens, grad_accum */
} tm_scenario_defaults;

void tm_scenario_layout_get(const base_csv *c, tm_scenario_layout *l);

/* Reads the current row of C: O (zeroed by the caller; clear it with base_opts_clear on
 * tm_options_table whatever the result) gets D's options then the row's configuration cells,
 * S the row's shape. FALSE with "FILE:LINE: column NAME: why" on a bad cell. */
gboolean tm_scenario_read(const base_csv *c,
                          const tm_scenario_layout *l,
                          const tm_scenario_defaults *d,
                          tm_options *o,
                          tm_scenario *s,
                          GError **error);

/* S must fit the context of model M: seq_len + decode_tokens ≤ max_position_embeddings (the
 * max_model_len vLLM would run it with). That is also what keeps a row's O(decode_tokens)
 * pricing short: the column ranges alone allow 1e8 decode steps. FALSE with
 * "FILE:LINE: column decode_tokens: ..." (or seq_len) otherwise. */
gboolean tm_scenario_check_context(const base_csv *c,
                                   const tm_scenario_layout *l,
                                   const tm_scenario *s,
                                   const tm_model_spec *m,
                                   GError **error);

/* The prefill step of S (batch prompts of seq_len tokens), and its decode step J. */
void tm_scenario_prefill_batch(tm_batch *b, uint32_t dsa_topk, const tm_scenario *s);
void tm_scenario_decode_batch(tm_batch *b, uint32_t dsa_topk, const tm_scenario *s, int64_t j);

/* Predicted times of S on TM, both × grad_accum: the prefill step, and the sum of the
 * decode_tokens decode steps. */
void tm_scenario_price(const tm_timemodel *tm,
                       uint32_t dsa_topk,
                       const tm_scenario *s,
                       double *prefill_s,
                       double *decode_s);
