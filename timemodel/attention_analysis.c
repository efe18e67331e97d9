/* timemodel/attention_analysis.c: the FlashAttention-3-style component breakdown
 * (attention_analysis.h; formulas and their sources in docs/analysis.md §1).
 * Tile arithmetic: a work unit has `rows` query rows cut into Tr = ceil(rows/Br) query blocks
 * and keys cut into Tc = ceil(keys/Bc) key blocks. Query block i visits every key block
 * (non-causal) or those up to its last row's diagonal (causal, bottom-right aligned as in
 * FlashAttention ≥ 2.1: query token t of Nq sees keys 0 .. Nk − Nq + t). Tiles the mask
 * empties are skipped, tiles it cuts are computed whole — which is why the tensor-core work is
 * Br·Bc per visited tile, padding included, while the useful work is the (query, key) pairs
 * the mask keeps. Invariants: useful ≤ computed score elements; every time is ≥ 0. */
#include "timemodel/attention_analysis.h"

#include <math.h>
#include <string.h>

static const char *const comp_names[TM_ATTN_COMP_COUNT] = {
    "load_q", "load_k", "load_v", "qk", "softmax", "exp", "rescale", "pv", "store",
};
static const tm_unit comp_units[TM_ATTN_COMP_COUNT] = {
    TM_UNIT_MEMORY, TM_UNIT_MEMORY, TM_UNIT_MEMORY, TM_UNIT_TENSOR, TM_UNIT_ALU,
    TM_UNIT_SFU,    TM_UNIT_ALU,    TM_UNIT_TENSOR, TM_UNIT_MEMORY,
};
static const char *const unit_names[TM_UNIT_COUNT] = {"tensor", "sfu", "alu", "memory"};
static const char *const ops_names[TM_ATTN_OPS_COUNT] = {"qk", "softmax", "exp", "rescale", "pv"};

const char *
tm_attn_comp_name(tm_attn_comp c)
{
    g_return_val_if_fail(c < TM_ATTN_COMP_COUNT, "?");
    return comp_names[c];
}

const char *
tm_unit_name(tm_unit u)
{
    g_return_val_if_fail(u < TM_UNIT_COUNT, "?");
    return unit_names[u];
}

tm_unit
tm_attn_comp_unit(tm_attn_comp c)
{
    g_return_val_if_fail(c < TM_ATTN_COMP_COUNT, TM_UNIT_MEMORY);
    return comp_units[c];
}

const char *
tm_attn_ops_name(tm_attn_ops o)
{
    g_return_val_if_fail(o < TM_ATTN_OPS_COUNT, "?");
    return ops_names[o];
}

double
tm_attn_ops_default(tm_attn_ops o, int64_t head_dim)
{
    switch (o) {
    case TM_ATTN_OPS_QK:
    case TM_ATTN_OPS_PV:
        return 2.0 * (double)head_dim; /* one multiply-add per element of the d-long dot product */
    case TM_ATTN_OPS_SOFTMAX:
        return 4.0; /* max, scale-and-subtract FMA, row-sum add, convert P to 16 bits */
    case TM_ATTN_OPS_EXP:
        return 1.0; /* one exp2 per score (the log2(e)/sqrt(d) scale folds into the FMA) */
    case TM_ATTN_OPS_RESCALE:
        return 1.0; /* one multiply per output element per key block */
    default:
        return 0.0;
    }
}

static int64_t
gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int64_t
lcm64(int64_t a, int64_t b)
{
    return a / gcd64(a, b) * b;
}

static double
dtype_b(tm_dtype d)
{
    return tm_dtype_bytes(d);
}

/* Reduction depth of one MMA instruction in elements of D (k16 for 16-bit, k32 for fp8). */
static int64_t
k_elems(const tm_hardware *hw, tm_dtype d)
{
    return (int64_t)((double)hw->sm.mma.k_bytes / dtype_b(d));
}

/* Bc must be a multiple of the instruction's N (S = QKᵀ has Bc columns) and of its K (P·V
 * reduces over Bc). */
static int64_t
bc_granule(const tm_hardware *hw, tm_dtype d)
{
    return lcm64(hw->sm.mma.n, k_elems(hw, d));
}

static double
smem_need(const tm_attn_params *p, int64_t br, int64_t bc)
{
    /* Q tile + two pipeline stages of K and V tiles (FA3's producer warp double-buffers) */
    return ((double)br + 4.0 * (double)bc) * (double)p->head_dim * dtype_b(p->dtype);
}

gboolean
tm_attn_auto_tile(
    const tm_hardware *hw, const tm_attn_params *p, int64_t *br, int64_t *bc, GError **error)
{
    int64_t g = bc_granule(hw, p->dtype);
    int64_t r = p->br;
    if (r <= 0) { /* auto: a whole number of MMA instructions */
        r = MAX(p->decode ? 64 : p->head_dim <= 64 ? 192 : 128, hw->sm.mma.m);
        r = (r + hw->sm.mma.m - 1) / hw->sm.mma.m * hw->sm.mma.m;
    }
    int64_t c = p->bc;
    if (c <= 0) {
        c = 0;
        for (int64_t x = (128 / g) * g; x >= g; x -= g)
            if (smem_need(p, r, x) <= hw->sm.smem_bytes) {
                c = x;
                break;
            }
        if (c == 0) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "--tile: no Bc fits: a %" G_GINT64_FORMAT "-row Q tile and two stages of "
                        "%" G_GINT64_FORMAT "-key K/V tiles at head_dim %" G_GINT64_FORMAT
                        " need %.0f KiB of shared memory; %s has %.0f KiB per SM",
                        r, g, p->head_dim, smem_need(p, r, g) / 1024.0, hw->name,
                        hw->sm.smem_bytes / 1024.0);
            return FALSE;
        }
    }
    *br = r;
    *bc = c;
    return TRUE;
}

static gboolean
check(const tm_hardware *hw, const tm_attn_params *p, int64_t br, int64_t bc, GError **error)
{
    const char *hn = hw->name;
    if (p->dtype != TM_DTYPE_BF16 && p->dtype != TM_DTYPE_FP16 && p->dtype != TM_DTYPE_FP8) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--dtype %s: attention runs in bf16, fp16 or fp8", tm_dtype_name(p->dtype));
        return FALSE;
    }
    if (hw->sm.tensor_flops_per_clock[p->dtype] <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--dtype %s: %s has no %s tensor-core rate",
                    tm_dtype_name(p->dtype), hn, tm_dtype_name(p->dtype));
        return FALSE;
    }
    if (p->batch < 1 || p->heads < 1 || p->kv_heads < 1 || p->head_dim < 1 || p->seq_len < 1 ||
        p->splits < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "batch, heads, kv heads, head_dim and seq_len must be ≥ 1, split-kv ≥ 0");
        return FALSE;
    }
    if (p->heads % p->kv_heads != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--kv-heads %" G_GINT64_FORMAT ": does not divide --heads %" G_GINT64_FORMAT,
                    p->kv_heads, p->heads);
        return FALSE;
    }
    if (p->decode && (p->query_len < 1 || p->query_len > p->seq_len)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--query-len %" G_GINT64_FORMAT ": must be in [1, seq_len = %" G_GINT64_FORMAT
                    "] (decode: new tokens against the context)",
                    p->query_len, p->seq_len);
        return FALSE;
    }
    int64_t ke = k_elems(hw, p->dtype), dg = lcm64(ke, hw->sm.mma.n);
    if (p->head_dim % dg != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--head-dim %" G_GINT64_FORMAT ": not a multiple of %" G_GINT64_FORMAT
                    " (QKᵀ reduces over head_dim in steps of the MMA depth k = %" G_GINT64_FORMAT
                    " %s elements on %s; P·V has head_dim columns in steps of n = %" G_GINT64_FORMAT
                    ")",
                    p->head_dim, dg, ke, tm_dtype_name(p->dtype), hn, hw->sm.mma.n);
        return FALSE;
    }
    if (br % hw->sm.mma.m != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--tile %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ": Br = %" G_GINT64_FORMAT
                    " is not a multiple of %" G_GINT64_FORMAT " (the MMA instruction's M on %s)",
                    br, bc, br, hw->sm.mma.m, hn);
        return FALSE;
    }
    int64_t g = bc_granule(hw, p->dtype);
    if (bc % g != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--tile %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ": Bc = %" G_GINT64_FORMAT
                    " is not a multiple of %" G_GINT64_FORMAT
                    " (Bc is QKᵀ's N, in steps of %" G_GINT64_FORMAT
                    ", and P·V's depth, in steps of k = %" G_GINT64_FORMAT " %s elements, on %s)",
                    br, bc, bc, g, hw->sm.mma.n, ke, tm_dtype_name(p->dtype), hn);
        return FALSE;
    }
    if (smem_need(p, br, bc) > hw->sm.smem_bytes) {
        g_set_error(
            error, TM_ERROR, TM_ERROR_INVALID,
            "--tile %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ": a Q tile and two stages of K/V "
            "tiles at head_dim %" G_GINT64_FORMAT " need %.0f KiB of shared memory; %s has "
            "%.0f KiB per SM",
            br, bc, p->head_dim, smem_need(p, br, bc) / 1024.0, hn, hw->sm.smem_bytes / 1024.0);
        return FALSE;
    }
    for (int o = 0; o < TM_ATTN_OPS_COUNT; o++)
        if (!isnan(p->ops[o]) && !(p->ops[o] >= 0 && p->ops[o] <= 1e9)) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "--ops %s=%g: must be in [0, 1e9]",
                        ops_names[o], p->ops[o]);
            return FALSE;
        }
    return TRUE;
}

gboolean
tm_attn_analyze(const tm_hardware *hw, const tm_attn_params *p, tm_attn_result *r, GError **error)
{
    g_return_val_if_fail(hw != NULL && p != NULL && r != NULL, FALSE);
    memset(r, 0, sizeof *r);
    if (!tm_hardware_require_sm(hw, "analyze attention", error))
        return FALSE;
    int64_t br, bc;
    if (!tm_attn_auto_tile(hw, p, &br, &bc, error) || !check(hw, p, br, bc, error))
        return FALSE;
    const int64_t d = p->head_dim, group = p->heads / p->kv_heads;
    const double b = dtype_b(p->dtype);
    const int64_t nq = p->decode ? p->query_len : p->seq_len, nk = p->seq_len;
    const int64_t per_token_rows = p->decode && p->pack_gqa ? group : 1;
    const int64_t rows = nq * per_token_rows;
    const int64_t units = p->batch * (p->decode && p->pack_gqa ? p->kv_heads : p->heads);
    const int64_t tr = (rows + br - 1) / br, tc = (nk + bc - 1) / bc, offset = nk - nq;
    if (p->splits > tc) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--split-kv %" G_GINT64_FORMAT ": more splits than the %" G_GINT64_FORMAT
                    " key blocks of %" G_GINT64_FORMAT " keys",
                    p->splits, tc, nk);
        return FALSE;
    }
    if (tr > 10000000) { /* the causal walk below is one step per query block */
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%" G_GINT64_FORMAT " query rows per unit make %" G_GINT64_FORMAT
                    " query blocks of %" G_GINT64_FORMAT " (at most 1e7)",
                    rows, tr, br);
        return FALSE;
    }
    /* auto: prefill never splits; decode splits the keys until the CTAs fill the SMs once */
    int64_t splits = p->splits;
    if (splits == 0)
        splits = p->decode ? CLAMP((hw->sm.count + units * tr - 1) / (units * tr), 1, tc) : 1;
    /* per unit: tiles visited and keys loaded, summed over query blocks */
    double tiles_u = 0, keys_u = 0;
    for (int64_t i = 0; i < tr; i++) {
        int64_t last_row = MIN((i + 1) * br, rows) - 1;
        int64_t blocks = tc;
        if (p->causal) {
            int64_t visible = offset + last_row / per_token_rows + 1; /* keys of the last row */
            blocks = MIN(tc, (visible + bc - 1) / bc);
        }
        tiles_u += (double)blocks;
        keys_u += (double)MIN(blocks * bc, nk);
    }
    double useful_u = p->causal ? (double)rows * (double)(offset + 1) +
                                      (double)per_token_rows * (double)nq * (double)(nq - 1) / 2.0
                                : (double)rows * (double)nk;
    const double U = (double)units;
    r->br = br;
    r->bc = bc;
    r->rows = rows;
    r->units = units;
    r->query_blocks = tr;
    r->key_blocks = tc;
    r->tiles = tiles_u * U;
    r->score_elements = r->tiles * (double)br * (double)bc;
    r->useful_elements = useful_u * U;
    r->splits = splits;
    r->ctas = (double)units * (double)tr * (double)splits;
    r->busy_sms = r->ctas < (double)hw->sm.count ? (int64_t)r->ctas : hw->sm.count;
    r->smem_bytes = smem_need(p, br, bc);
    for (int o = 0; o < TM_ATTN_OPS_COUNT; o++)
        r->ops_used[o] = isnan(p->ops[o]) ? tm_attn_ops_default((tm_attn_ops)o, d) : p->ops[o];

    const double el = r->score_elements, D = (double)d;
    tm_attn_component *c = r->comp;
    c[TM_ATTN_QK].ops = r->ops_used[TM_ATTN_OPS_QK] * el;
    c[TM_ATTN_PV].ops = r->ops_used[TM_ATTN_OPS_PV] * el;
    c[TM_ATTN_SOFTMAX].ops = r->ops_used[TM_ATTN_OPS_SOFTMAX] * el;
    /* plus one exp per row per visited tile: the correction factor exp(m_old − m_new) */
    c[TM_ATTN_EXP].ops = r->ops_used[TM_ATTN_OPS_EXP] * el + (double)br * r->tiles;
    /* per tile O·correction, then O/ℓ once per query block */
    c[TM_ATTN_RESCALE].ops = r->ops_used[TM_ATTN_OPS_RESCALE] * (double)br * D * r->tiles +
                             (double)br * D * (double)tr * U * (double)splits;
    /* loads: every CTA loads its Q rows (once per split) and every visited K/V tile */
    const double q_hbm = (double)p->batch * (double)p->heads * (double)nq * D * b;
    const double kv_hbm = (double)p->batch * (double)p->kv_heads * (double)nk * D * b;
    c[TM_ATTN_LOAD_Q].hbm_bytes = q_hbm;
    c[TM_ATTN_LOAD_Q].tile_bytes = U * (double)rows * D * b * (double)splits;
    c[TM_ATTN_LOAD_K].hbm_bytes = c[TM_ATTN_LOAD_V].hbm_bytes = kv_hbm;
    c[TM_ATTN_LOAD_K].tile_bytes = c[TM_ATTN_LOAD_V].tile_bytes = U * keys_u * D * b;
    /* store: O; with split-KV each split also writes an fp32 partial O and its row LSE, which
     * the combine kernel reads back */
    double o_bytes = U * (double)rows * D * b;
    if (splits > 1)
        o_bytes += 2.0 * U * (double)rows * (D + 1.0) * 4.0 * (double)splits;
    c[TM_ATTN_STORE].hbm_bytes = c[TM_ATTN_STORE].tile_bytes = o_bytes;

    const double sms = (double)r->busy_sms, clk = hw->sm.clock_hz;
    const double rate[TM_UNIT_COUNT] = {
        [TM_UNIT_TENSOR] = hw->sm.tensor_flops_per_clock[p->dtype] * clk * sms,
        [TM_UNIT_SFU] = hw->sm.sfu_ops_per_clock * clk * sms,
        [TM_UNIT_ALU] = hw->sm.fp32_ops_per_clock * clk * sms,
    };
    r->hot = TM_ATTN_LOAD_Q;
    for (int k = 0; k < TM_ATTN_COMP_COUNT; k++) {
        tm_unit u = comp_units[k];
        if (u == TM_UNIT_MEMORY)
            c[k].time_s = MAX(c[k].hbm_bytes / hw->mem_bw, c[k].tile_bytes / hw->l2_bw);
        else
            c[k].time_s = c[k].ops / rate[u];
        r->unit_s[u] += c[k].time_s;
        r->serial_s += c[k].time_s;
        if (c[k].time_s > c[r->hot].time_s)
            r->hot = (tm_attn_comp)k;
    }
    r->bound = TM_UNIT_TENSOR;
    for (int u = 0; u < TM_UNIT_COUNT; u++)
        if (r->unit_s[u] > r->unit_s[r->bound])
            r->bound = (tm_unit)u;
    r->overlapped_s = r->unit_s[r->bound];
    return TRUE;
}
