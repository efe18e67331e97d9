/* timemodel/attention_analysis.h: a FlashAttention-3-style breakdown of one attention call
 * (arXiv:2407.08608, docs/analysis.md §1). The work is cut into Br × Bc tiles the way the
 * kernel cuts it: each CTA owns Br query rows of one head (or, in decode with packed GQA, the
 * query_len × group rows of one KV head) and walks the key blocks it may see (all of them, or
 * up to the diagonal when causal). Per component — loads of the Q/K/V tiles, S = QKᵀ, the
 * softmax bookkeeping, exp, the rescale of the running output, PV, the store — it counts
 * operations on the unit that executes them (tensor cores, SFU, FP32 ALU) or bytes moved, and
 * times them on the hardware's per-SM rates (tm_hardware.sm). Pure: no allocation, no
 * simulation; results are plain values. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "timemodel/common.h"
#include "timemodel/hardware.h"

typedef enum {
    TM_ATTN_LOAD_Q,
    TM_ATTN_LOAD_K,
    TM_ATTN_LOAD_V,
    TM_ATTN_QK,      /* S = Q·Kᵀ on the tensor cores */
    TM_ATTN_SOFTMAX, /* row max, scale-and-subtract, row sum, convert P (FP32 ALU) */
    TM_ATTN_EXP,     /* exp2 of every score and of every row's correction factor (SFU) */
    TM_ATTN_RESCALE, /* O ← O·exp(m_old − m_new) per key block, O/ℓ at the end (FP32 ALU) */
    TM_ATTN_PV,      /* O += P·V on the tensor cores */
    TM_ATTN_STORE,   /* O (and split-KV partials) back to memory */
    TM_ATTN_COMP_COUNT,
} tm_attn_comp;

typedef enum {
    TM_UNIT_TENSOR,
    TM_UNIT_SFU,
    TM_UNIT_ALU,
    TM_UNIT_MEMORY,
    TM_UNIT_COUNT,
} tm_unit;

const char *tm_attn_comp_name(tm_attn_comp c); /* "load_q", "qk", "exp", ... */
const char *tm_unit_name(tm_unit u);           /* "tensor", "sfu", "alu", "memory" */
tm_unit tm_attn_comp_unit(tm_attn_comp c);

/* The overridable operation counts (--ops NAME=N). */
typedef enum {
    TM_ATTN_OPS_QK,      /* FLOPs per score element (default 2·head_dim) */
    TM_ATTN_OPS_SOFTMAX, /* ALU ops per score element (default 4) */
    TM_ATTN_OPS_EXP,     /* SFU ops per score element (default 1) */
    TM_ATTN_OPS_RESCALE, /* ALU ops per output element per key block (default 1) */
    TM_ATTN_OPS_PV,      /* FLOPs per score element (default 2·head_dim) */
    TM_ATTN_OPS_COUNT,
} tm_attn_ops;

/* "qk", "softmax", "exp", "rescale", "pv"; index by tm_attn_ops. */
const char *tm_attn_ops_name(tm_attn_ops o);
/* The default count of O at HEAD_DIM (what docs/analysis.md §1 derives). */
double tm_attn_ops_default(tm_attn_ops o, int64_t head_dim);

typedef struct tm_attn_params {
    bool decode;       /* decode: query_len new tokens against seq_len keys; else prefill */
    bool causal;       /* bottom-right aligned causal mask */
    int64_t batch;     /* sequences */
    int64_t heads;     /* query heads (on this GPU) */
    int64_t kv_heads;  /* KV heads (on this GPU); heads % kv_heads == 0 */
    int64_t head_dim;  /* d */
    int64_t seq_len;   /* prefill: query = key length; decode: keys (context incl. new) */
    int64_t query_len; /* decode: new tokens per sequence (≥ 1, ≤ seq_len) */
    int64_t br, bc;    /* tile: query rows × key columns per CTA step; 0 = auto */
    bool pack_gqa;     /* decode: one CTA holds query_len × group rows of one KV head */
    int64_t splits;    /* split-KV partitions of the keys; 0 = auto (decode: enough to fill
                        * the SMs once, at most one per key block; prefill: 1) */
    tm_dtype dtype;    /* Q, K, V and O elements: bf16, fp16 or fp8 */
    double ops[TM_ATTN_OPS_COUNT]; /* NAN = default (tm_attn_ops_default) */
} tm_attn_params;

typedef struct tm_attn_component {
    double ops;        /* operations on its unit (FLOPs for qk/pv); 0 for memory */
    double tile_bytes; /* bytes moved between L2 and shared memory (every tile load/store) */
    double hbm_bytes;  /* compulsory HBM bytes (each element once) */
    double time_s;     /* ops / unit rate, or max(hbm/HBM bw, tile/L2 bw) */
} tm_attn_component;

typedef struct tm_attn_result {
    int64_t br, bc;         /* the tile used (auto resolved) */
    int64_t rows;           /* query rows per work unit (seq_len, or query_len·group) */
    int64_t units;          /* work units: batch·heads, or batch·kv_heads when packed */
    int64_t query_blocks;   /* ceil(rows / Br) per unit */
    int64_t key_blocks;     /* ceil(keys / Bc) per split */
    double tiles;           /* Br × Bc tiles computed, all units */
    double score_elements;  /* Br·Bc·tiles: what the tensor cores compute */
    double useful_elements; /* (query, key) pairs the mask keeps */
    int64_t splits;         /* resolved split-KV partitions */
    double ctas;            /* units · query_blocks · splits (a double: may pass 2^63) */
    int64_t busy_sms;       /* min(ctas, SMs) */
    double smem_bytes;      /* Q tile + 2 stages of K and V tiles */
    tm_attn_component comp[TM_ATTN_COMP_COUNT];
    double unit_s[TM_UNIT_COUNT]; /* Σ component times per unit */
    double serial_s;              /* Σ of every component (nothing overlaps) */
    double overlapped_s;          /* max over units (perfect FA3-style overlap) */
    tm_attn_comp hot;             /* component with the largest time */
    tm_unit bound;                /* unit with the largest Σ */
    double ops_used[TM_ATTN_OPS_COUNT];
} tm_attn_result;

/* Resolves the automatic tile (br/bc 0) for P on HW: Br = 64 in decode, 192 for
 * head_dim ≤ 64, else 128; Bc = the largest multiple of the MMA granule up to 128 whose Q tile
 * plus two stages of K and V tiles fit in shared memory. FALSE if even the smallest does not. */
gboolean tm_attn_auto_tile(
    const tm_hardware *hw, const tm_attn_params *p, int64_t *br, int64_t *bc, GError **error);

/* Analyses P on HW (which must have its sm figures). Bad input — a tile that is not a multiple
 * of the MMA instruction shape, a head_dim the instruction cannot take, heads not divisible by
 * KV heads, tiles that overflow shared memory, a dtype without a tensor rate — is a one-line
 * TM_ERROR naming the setting. */
gboolean
tm_attn_analyze(const tm_hardware *hw, const tm_attn_params *p, tm_attn_result *r, GError **error);
