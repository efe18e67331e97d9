/* tools/cmd_analyze_attention.c: `servesim analyze attention`: the FlashAttention-3-style
 * component breakdown (timemodel/attention_analysis.h, docs/analysis.md §1) of one attention
 * call, swept over head_dim and head count: per component its operations or bytes, its time on
 * the unit that runs it, the hot component, and the serial and overlapped totals. Shapes come
 * from --model unless --heads / --kv-heads / --head-dim say otherwise. One point prints the
 * component table; several print one row per point. --json / --csv. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "base/opts.h"
#include "timemodel/attention_analysis.h"
#include "timemodel/hardware.h"
#include "timemodel/model.h"
#include "tools/analyze.h"
#include "tools/cli.h"

static const char synopsis[] =
    "analyze attention [--model M] [--hardware H] [--phase prefill|decode] [--head-dim LIST] "
    "[--heads LIST] [--tile BRxBC] [--ops NAME=N,...] [--json|--csv]";

typedef struct attn_args {
    char *model;
    char *hardware;
    char *phase;
    char *dtype;
    char *head_dim; /* list */
    char *heads;    /* list */
    int64_t kv_heads;
    int64_t tp;
    int64_t seq_len;
    int64_t query_len;
    int64_t batch;
    char *tile;
    bool causal;
    bool pack_gqa;
    int64_t split_kv;
    char *ops;
    bool json;
    bool csv;
} attn_args;

static const char *const phases[] = {"prefill", "decode", NULL};
static const char *const dtypes[] = {"bf16", "fp16", "fp8", NULL};

#define A(f) offsetof(attn_args, f)
static const base_opt rows[] = {
    {"model", "model", BASE_OPT_STRING, A(model), "llama-3.1-8b", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     "NAME|FILE", "model preset or config.json giving heads, KV heads and head_dim"},
    {"hardware", "hardware", BASE_OPT_STRING, A(hardware), "h100-sxm", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "NAME|FILE", "GPU preset or hardware JSON (needs its \"sm\" figures)"},
    {"phase", "phase", BASE_OPT_ENUM, A(phase), "prefill", phases, 0, 0, BASE_OPT_CLI_ONLY, "P",
     "prefill (queries = keys = --seq-len) or decode (--query-len new tokens per sequence)"},
    {"dtype", "dtype", BASE_OPT_ENUM, A(dtype), "bf16", dtypes, 0, 0, BASE_OPT_CLI_ONLY, "DTYPE",
     "Q, K, V element type"},
    {"head_dim", "head-dim", BASE_OPT_STRING, A(head_dim), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "LIST",
     "head dimensions to sweep (default: the model's)"},
    {"heads", "heads", BASE_OPT_STRING, A(heads), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "LIST",
     "query head counts to sweep (default: the model's)"},
    {"kv_heads", "kv-heads", BASE_OPT_INT, A(kv_heads), NULL, NULL, 1, 65536,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "N",
     "KV heads (default: the model's group size kept: heads / (model heads / model KV heads))"},
    {"tp", "tensor-parallel-size", BASE_OPT_INT, A(tp), "1", NULL, 1, 1024, BASE_OPT_CLI_ONLY, "N",
     "heads are split over N GPUs (KV heads replicated when fewer than N)"},
    {"seq_len", "seq-len", BASE_OPT_INT, A(seq_len), "4096", NULL, 1, 1e7, BASE_OPT_CLI_ONLY, "N",
     "prefill: tokens per sequence; decode: context (keys) per sequence"},
    {"query_len", "query-len", BASE_OPT_INT, A(query_len), "1", NULL, 1, 1e7, BASE_OPT_CLI_ONLY,
     "N", "decode: new tokens per sequence"},
    {"batch", "batch", BASE_OPT_INT, A(batch), "1", NULL, 1, 1e6, BASE_OPT_CLI_ONLY, "N",
     "sequences"},
    {"tile", "tile", BASE_OPT_STRING, A(tile), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "BRxBC",
     "query rows x key columns per CTA step (default: auto, docs/analysis.md §1)"},
    {"causal", "causal", BASE_OPT_BOOL, A(causal), "true", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "causal mask (bottom-right aligned)"},
    {"pack_gqa", "pack-gqa", BASE_OPT_BOOL, A(pack_gqa), "true", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     NULL, "decode: one CTA holds the query rows of every head sharing a KV head"},
    {"split_kv", "split-kv", BASE_OPT_INT, A(split_kv), "0", NULL, 0, 65536, BASE_OPT_CLI_ONLY, "N",
     "split the keys over N CTAs (0 = auto: decode fills the SMs once, prefill 1)"},
    {"ops", "ops", BASE_OPT_STRING, A(ops), NULL, NULL, 0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE,
     "NAME=N,...",
     "override operation counts: qk, pv (FLOPs per score), softmax (ALU ops per score), exp (SFU "
     "ops per score), rescale (ALU ops per output element per key block)"},
    {"json", "json", BASE_OPT_BOOL, A(json), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one JSON object"},
    {"csv", "csv", BASE_OPT_BOOL, A(csv), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print one CSV row per point and component"},
};
static const base_opt_table table = {"Attention", rows, G_N_ELEMENTS(rows), 0};

typedef struct point {
    tm_attn_params p;
    tm_attn_result r;
} point;

static const char *const ops_flag_names[] = {"qk", "softmax", "exp", "rescale", "pv", NULL};

/* The points of the sweep (head_dim × heads), validated. */
static GArray *
make_points(const attn_args *a, const tm_model_spec *m, const tm_hardware *hw, GError **error)
{
    bool dims_given = a->head_dim != NULL, heads_given = a->heads != NULL;
    if (m->mla && !(dims_given && a->kv_heads != BASE_OPT_UNSET_INT)) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--model %s: MLA attention is not the FlashAttention kernel this breakdown "
                    "models; give --head-dim and --kv-heads (and --heads) for an equivalent "
                    "GQA shape",
                    m->name);
        return NULL;
    }
    g_autoptr(GArray) dims = NULL, heads = NULL;
    if (dims_given) {
        if ((dims = an_parse_int_list("head-dim", a->head_dim, 1, 4096, error)) == NULL)
            return NULL;
    } else {
        dims = g_array_new(FALSE, FALSE, sizeof(int64_t));
        g_array_append_val(dims, m->head_dim);
    }
    if (heads_given) {
        if ((heads = an_parse_int_list("heads", a->heads, 1, 65536, error)) == NULL)
            return NULL;
    } else {
        heads = g_array_new(FALSE, FALSE, sizeof(int64_t));
        g_array_append_val(heads, m->heads);
    }
    if ((size_t)dims->len * heads->len > 4096) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--head-dim × --heads: %u × %u points, at most 4096", dims->len, heads->len);
        return NULL;
    }
    int64_t br = 0, bc = 0;
    if (a->tile != NULL && strcmp(a->tile, "auto") != 0) {
        int64_t t[2];
        if (!an_parse_dims("tile", a->tile, 2, 65536, t, error))
            return NULL;
        br = t[0];
        bc = t[1];
    }
    double ops[TM_ATTN_OPS_COUNT];
    for (int i = 0; i < TM_ATTN_OPS_COUNT; i++)
        ops[i] = NAN;
    if (a->ops != NULL && !an_parse_assignments("ops", a->ops, ops_flag_names, 0, 1e9, ops, error))
        return NULL;
    tm_dtype dt;
    if (!tm_dtype_parse(a->dtype, &dt, error))
        return NULL;
    int64_t group = m->heads / m->kv_heads;
    GArray *pts = g_array_new(FALSE, TRUE, sizeof(point));
    for (guint i = 0; i < dims->len; i++)
        for (guint j = 0; j < heads->len; j++) {
            point pt;
            memset(&pt, 0, sizeof pt);
            tm_attn_params *p = &pt.p;
            int64_t h = g_array_index(heads, int64_t, j);
            int64_t kv = a->kv_heads != BASE_OPT_UNSET_INT ? a->kv_heads
                         : heads_given                     ? (h % group == 0 ? h / group : -1)
                                                           : m->kv_heads;
            if (kv < 0) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "--heads %" G_GINT64_FORMAT
                            ": not a multiple of %s's group size %" G_GINT64_FORMAT
                            " (%" G_GINT64_FORMAT " heads per KV head); give --kv-heads",
                            h, m->name, group, group);
                g_array_free(pts, TRUE);
                return NULL;
            }
            if (h % a->tp != 0) {
                g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                            "--tensor-parallel-size %" G_GINT64_FORMAT
                            ": does not divide %" G_GINT64_FORMAT " heads",
                            a->tp, h);
                g_array_free(pts, TRUE);
                return NULL;
            }
            p->decode = strcmp(a->phase, "decode") == 0;
            p->causal = a->causal;
            p->batch = a->batch;
            p->heads = h / a->tp;
            p->kv_heads = kv >= a->tp ? kv / a->tp : 1;
            p->head_dim = g_array_index(dims, int64_t, i);
            p->seq_len = a->seq_len;
            p->query_len = a->query_len;
            p->br = br;
            p->bc = bc;
            p->pack_gqa = a->pack_gqa;
            p->splits = a->split_kv;
            p->dtype = dt;
            memcpy(p->ops, ops, sizeof ops);
            if (!tm_attn_analyze(hw, p, &pt.r, error)) {
                if (dims->len * heads->len > 1)
                    g_prefix_error(error,
                                   "head_dim %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " heads: ",
                                   p->head_dim, h);
                g_array_free(pts, TRUE);
                return NULL;
            }
            g_array_append_val(pts, pt);
        }
    return pts;
}

/* ---- output ------------------------------------------------------------------------------ */

enum { C_HD, C_H, C_KV, C_BR, C_BC, C_COMP, C_UNIT, C_OPS, C_TILE, C_HBM, C_US, C_SHARE, C_HOT };

static const an_col comp_cols[] = {
    {"head_dim", "head_dim", AN_NUM, 0},
    {"heads", "heads", AN_NUM, 0},
    {"kv_heads", "kv", AN_NUM, 0},
    {"br", "Br", AN_NUM, 0},
    {"bc", "Bc", AN_NUM, 0},
    {"component", "component", AN_STR, 0},
    {"unit", "unit", AN_STR, 0},
    {"gops", "Gops", AN_NUM, 3},
    {"tile_mb", "tile MB", AN_NUM, 2},
    {"hbm_mb", "HBM MB", AN_NUM, 2},
    {"time_us", "time us", AN_NUM, 2},
    {"share", "share %", AN_NUM, 1},
    {"hot", "hot", AN_STR, 0},
};

static void
comp_rows(an_table *t, const point *pt)
{
    const tm_attn_result *r = &pt->r;
    for (int k = 0; k < TM_ATTN_COMP_COUNT; k++) {
        const tm_attn_component *c = &r->comp[k];
        tm_unit u = tm_attn_comp_unit((tm_attn_comp)k);
        an_table_row(t);
        an_table_num(t, C_HD, (double)pt->p.head_dim);
        an_table_num(t, C_H, (double)pt->p.heads);
        an_table_num(t, C_KV, (double)pt->p.kv_heads);
        an_table_num(t, C_BR, (double)r->br);
        an_table_num(t, C_BC, (double)r->bc);
        an_table_str(t, C_COMP, tm_attn_comp_name((tm_attn_comp)k));
        an_table_str(t, C_UNIT, tm_unit_name(u));
        if (u != TM_UNIT_MEMORY)
            an_table_num(t, C_OPS, c->ops / 1e9);
        if (u == TM_UNIT_MEMORY) {
            an_table_num(t, C_TILE, c->tile_bytes / 1e6);
            an_table_num(t, C_HBM, c->hbm_bytes / 1e6);
        }
        an_table_num(t, C_US, c->time_s * 1e6);
        an_table_num(t, C_SHARE, 100.0 * c->time_s / r->serial_s);
        an_table_str(t, C_HOT, r->hot == (tm_attn_comp)k ? "*" : "");
    }
}

static const an_col sweep_cols[] = {
    {"head_dim", "head_dim", AN_NUM, 0},
    {"heads", "heads", AN_NUM, 0},
    {"kv_heads", "kv", AN_NUM, 0},
    {"tile", "tile", AN_STR, 0},
    {"load_q_us", "load_q", AN_NUM, 1},
    {"load_k_us", "load_k", AN_NUM, 1},
    {"load_v_us", "load_v", AN_NUM, 1},
    {"qk_us", "qk", AN_NUM, 1},
    {"softmax_us", "softmax", AN_NUM, 1},
    {"exp_us", "exp", AN_NUM, 1},
    {"rescale_us", "rescale", AN_NUM, 1},
    {"pv_us", "pv", AN_NUM, 1},
    {"store_us", "store", AN_NUM, 1},
    {"hot", "hot", AN_STR, 0},
    {"overlapped_us", "overlapped", AN_NUM, 1},
    {"serial_us", "serial", AN_NUM, 1},
};

static json_t *
point_json(const point *pt)
{
    const tm_attn_params *p = &pt->p;
    const tm_attn_result *r = &pt->r;
    json_t *o = json_object();
    json_object_set_new(o, "head_dim", json_integer(p->head_dim));
    json_object_set_new(o, "heads", json_integer(p->heads));
    json_object_set_new(o, "kv_heads", json_integer(p->kv_heads));
    json_object_set_new(o, "br", json_integer(r->br));
    json_object_set_new(o, "bc", json_integer(r->bc));
    json_object_set_new(o, "splits", json_integer(r->splits));
    json_object_set_new(o, "rows_per_unit", json_integer(r->rows));
    json_object_set_new(o, "units", json_integer(r->units));
    json_object_set_new(o, "query_blocks", json_integer(r->query_blocks));
    json_object_set_new(o, "key_blocks", json_integer(r->key_blocks));
    json_object_set_new(o, "tiles", base_json_real(r->tiles));
    json_object_set_new(o, "score_elements", base_json_real(r->score_elements));
    json_object_set_new(o, "useful_elements", base_json_real(r->useful_elements));
    json_object_set_new(o, "ctas", base_json_number(r->ctas));
    json_object_set_new(o, "busy_sms", json_integer(r->busy_sms));
    json_object_set_new(o, "smem_bytes", base_json_real(r->smem_bytes));
    json_t *ops = json_object();
    for (int i = 0; i < TM_ATTN_OPS_COUNT; i++)
        json_object_set_new(ops, tm_attn_ops_name((tm_attn_ops)i), base_json_real(r->ops_used[i]));
    json_object_set_new(o, "ops_per_unit", ops);
    json_t *comps = json_array();
    for (int k = 0; k < TM_ATTN_COMP_COUNT; k++) {
        const tm_attn_component *c = &r->comp[k];
        json_t *e = json_object();
        json_object_set_new(e, "component", json_string(tm_attn_comp_name((tm_attn_comp)k)));
        json_object_set_new(e, "unit",
                            json_string(tm_unit_name(tm_attn_comp_unit((tm_attn_comp)k))));
        json_object_set_new(e, "ops", base_json_real(c->ops));
        json_object_set_new(e, "tile_bytes", base_json_real(c->tile_bytes));
        json_object_set_new(e, "hbm_bytes", base_json_real(c->hbm_bytes));
        json_object_set_new(e, "time_us", base_json_real(c->time_s * 1e6));
        json_array_append_new(comps, e);
    }
    json_object_set_new(o, "components", comps);
    json_t *units = json_object();
    for (int u = 0; u < TM_UNIT_COUNT; u++)
        json_object_set_new(units, tm_unit_name((tm_unit)u), base_json_real(r->unit_s[u] * 1e6));
    json_object_set_new(o, "unit_us", units);
    json_object_set_new(o, "hot", json_string(tm_attn_comp_name(r->hot)));
    json_object_set_new(o, "bound", json_string(tm_unit_name(r->bound)));
    json_object_set_new(o, "overlapped_us", base_json_real(r->overlapped_s * 1e6));
    json_object_set_new(o, "serial_us", base_json_real(r->serial_s * 1e6));
    return o;
}

static void
print_rates(GString *g, const tm_hardware *hw, const point *pt)
{
    const tm_sm_spec *sm = &hw->sm;
    double k = (double)sm->count * sm->clock_hz;
    g_string_append_printf(
        g,
        "rates (%" G_GINT64_FORMAT " SMs at %.0f MHz): tensor %.1f TFLOP/s (%s), SFU %.2f Tops/s, "
        "FP32 %.1f Tops/s, HBM %.0f GB/s, L2 %.0f GB/s\n",
        sm->count, sm->clock_hz / 1e6, sm->tensor_flops_per_clock[pt->p.dtype] * k / 1e12,
        tm_dtype_name(pt->p.dtype), sm->sfu_ops_per_clock * k / 1e12,
        sm->fp32_ops_per_clock * k / 1e12, hw->mem_bw / 1e9, hw->l2_bw / 1e9);
}

static void
print_single(
    GString *g, const attn_args *a, const tm_model_spec *m, const tm_hardware *hw, const point *pt)
{
    const tm_attn_params *p = &pt->p;
    const tm_attn_result *r = &pt->r;
    g_string_append_printf(g, "attention: %s on %s (%s), %s, %s, %s\n", m->name, hw->name,
                           hw->display_name, a->phase, p->causal ? "causal" : "non-causal",
                           tm_dtype_name(p->dtype));
    if (p->decode)
        g_string_append_printf(g,
                               "shape: batch %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT
                               " new token(s) against %" G_GINT64_FORMAT " keys, ",
                               p->batch, p->query_len, p->seq_len);
    else
        g_string_append_printf(g,
                               "shape: batch %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT " tokens, ",
                               p->batch, p->seq_len);
    g_string_append_printf(g,
                           "%" G_GINT64_FORMAT " heads / %" G_GINT64_FORMAT
                           " KV heads per GPU, head_dim %" G_GINT64_FORMAT "\n",
                           p->heads, p->kv_heads, p->head_dim);
    g_string_append_printf(
        g,
        "tiles: Br×Bc %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
        " rows per CTA unit%s, %" G_GINT64_FORMAT " split(s); %.0f"
        " CTAs on %" G_GINT64_FORMAT " busy SMs; %.0f tiles, %.4g score elements "
        "(%.1f%% useful); shared memory %.0f of %.0f KiB\n",
        r->br, r->bc, r->rows, p->decode && p->pack_gqa ? " (GQA packed)" : "", r->splits, r->ctas,
        r->busy_sms, r->tiles, r->score_elements, 100.0 * r->useful_elements / r->score_elements,
        r->smem_bytes / 1024.0, hw->sm.smem_bytes / 1024.0);
    print_rates(g, hw, pt);
    g_string_append_c(g, '\n');
    static const an_col cols[] = {
        {"component", "component", AN_STR, 0}, {"unit", "unit", AN_STR, 0},
        {"gops", "Gops", AN_NUM, 3},           {"tile_mb", "tile MB", AN_NUM, 2},
        {"hbm_mb", "HBM MB", AN_NUM, 2},       {"time_us", "time us", AN_NUM, 2},
        {"share", "share %", AN_NUM, 1},       {"hot", "", AN_STR, 0},
    };
    g_autoptr(an_table) t = an_table_new(cols, G_N_ELEMENTS(cols));
    for (int k = 0; k < TM_ATTN_COMP_COUNT; k++) {
        const tm_attn_component *c = &r->comp[k];
        tm_unit u = tm_attn_comp_unit((tm_attn_comp)k);
        an_table_row(t);
        an_table_str(t, 0, tm_attn_comp_name((tm_attn_comp)k));
        an_table_str(t, 1, tm_unit_name(u));
        if (u != TM_UNIT_MEMORY) {
            an_table_num(t, 2, c->ops / 1e9);
            an_table_str(t, 3, "-");
            an_table_str(t, 4, "-");
        } else {
            an_table_str(t, 2, "-");
            an_table_num(t, 3, c->tile_bytes / 1e6);
            an_table_num(t, 4, c->hbm_bytes / 1e6);
        }
        an_table_num(t, 5, c->time_s * 1e6);
        an_table_num(t, 6, 100.0 * c->time_s / r->serial_s);
        an_table_str(t, 7, r->hot == (tm_attn_comp)k ? "<- hot" : "");
    }
    an_table_text(t, g, "  ");
    g_string_append_printf(
        g, "\nper unit: tensor %.2f us, SFU %.2f us, FP32 %.2f us, memory %.2f us\n",
        r->unit_s[TM_UNIT_TENSOR] * 1e6, r->unit_s[TM_UNIT_SFU] * 1e6, r->unit_s[TM_UNIT_ALU] * 1e6,
        r->unit_s[TM_UNIT_MEMORY] * 1e6);
    double mm = r->comp[TM_ATTN_QK].time_s + r->comp[TM_ATTN_PV].time_s;
    g_string_append_printf(g, "hot component: %s (%s); exp takes %.2f× the matmul (qk + pv) time\n",
                           tm_attn_comp_name(r->hot), tm_unit_name(tm_attn_comp_unit(r->hot)),
                           r->comp[TM_ATTN_EXP].time_s / mm);
    g_string_append_printf(
        g,
        "time: %.2f us overlapped (units run concurrently, FA3 pipelining; bound "
        "by %s), %.2f us serial\n",
        r->overlapped_s * 1e6, tm_unit_name(r->bound), r->serial_s * 1e6);
}

static void
print_sweep(GString *g,
            const attn_args *a,
            const tm_model_spec *m,
            const tm_hardware *hw,
            const GArray *pts)
{
    const point *p0 = &g_array_index(pts, point, 0);
    g_string_append_printf(g,
                           "attention sweep: %s on %s, %s, %s, %s, batch %" G_GINT64_FORMAT
                           ", %s %" G_GINT64_FORMAT "; time per component in us\n",
                           m->name, hw->name, a->phase, p0->p.causal ? "causal" : "non-causal",
                           tm_dtype_name(p0->p.dtype), p0->p.batch,
                           p0->p.decode ? "context" : "seq_len", p0->p.seq_len);
    print_rates(g, hw, p0);
    g_string_append_c(g, '\n');
    g_autoptr(an_table) t = an_table_new(sweep_cols, G_N_ELEMENTS(sweep_cols));
    for (guint i = 0; i < pts->len; i++) {
        const point *pt = &g_array_index(pts, point, i);
        an_table_row(t);
        an_table_num(t, 0, (double)pt->p.head_dim);
        an_table_num(t, 1, (double)pt->p.heads);
        an_table_num(t, 2, (double)pt->p.kv_heads);
        g_autofree char *tile =
            g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, pt->r.br, pt->r.bc);
        an_table_str(t, 3, tile);
        for (int k = 0; k < TM_ATTN_COMP_COUNT; k++)
            an_table_num(t, 4 + (size_t)k, pt->r.comp[k].time_s * 1e6);
        an_table_str(t, 13, tm_attn_comp_name(pt->r.hot));
        an_table_num(t, 14, pt->r.overlapped_s * 1e6);
        an_table_num(t, 15, pt->r.serial_s * 1e6);
    }
    an_table_text(t, g, "  ");
}

int
cmd_analyze_attention(int argc, char **argv)
{
    const base_opt_set set = {&table, 1};
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "FlashAttention-3-style breakdown of one attention call (docs/analysis.md §1): per\n"
            "component (Q/K/V tile loads, QKᵀ, softmax, exp, rescale, PV, store) its tensor-core,\n"
            "SFU or FP32 operations or its bytes, its time on the hardware's per-SM rates, the\n"
            "hot component, and the overlapped (FA3 pipelining) and serial totals. Comma lists\n"
            "in --head-dim and --heads sweep the shape, one row per point.",
            &set);
        return CLI_OK;
    }
    attn_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(&set, &a);
    GError *err = NULL;
    int rc = CLI_OK;
    g_auto(tm_model_spec) m = {0};
    g_auto(tm_hardware) hw = {0};
    g_autoptr(GArray) pts = NULL;
    if (!base_opts_parse_args(&set, &a, argc - 2, argv + 2, NULL, &err)) {
        rc = cli_fail(err, CLI_USAGE);
        goto out;
    }
    if (a.json && a.csv) {
        rc = cli_usage_error(synopsis, "--json and --csv are exclusive");
        goto out;
    }
    if (!tm_model_spec_load(&m, a.model, &err) || !tm_hardware_load(&hw, a.hardware, &err) ||
        (pts = make_points(&a, &m, &hw, &err)) == NULL) {
        rc = cli_fail(err, CLI_USAGE);
        goto out;
    }
    GString *g = g_string_new(NULL);
    if (a.json) {
        json_auto_t *o = json_object();
        json_object_set_new(o, "model", json_string(m.name));
        json_object_set_new(o, "hardware", json_string(hw.name));
        json_object_set_new(o, "phase", json_string(a.phase));
        json_object_set_new(o, "causal", json_boolean(a.causal));
        json_object_set_new(o, "dtype", json_string(a.dtype));
        json_object_set_new(o, "batch", json_integer(a.batch));
        json_object_set_new(o, "seq_len", json_integer(a.seq_len));
        if (strcmp(a.phase, "decode") == 0)
            json_object_set_new(o, "query_len", json_integer(a.query_len));
        json_t *arr = json_array();
        for (guint i = 0; i < pts->len; i++)
            json_array_append_new(arr, point_json(&g_array_index(pts, point, i)));
        json_object_set_new(o, "points", arr);
        g_autofree char *s = base_json_dumps(o);
        g_string_append(g, s);
    } else if (a.csv) {
        g_autoptr(an_table) t = an_table_new(comp_cols, G_N_ELEMENTS(comp_cols));
        for (guint i = 0; i < pts->len; i++)
            comp_rows(t, &g_array_index(pts, point, i));
        an_table_csv(t, g);
    } else if (pts->len == 1) {
        print_single(g, &a, &m, &hw, &g_array_index(pts, point, 0));
    } else {
        print_sweep(g, &a, &m, &hw, pts);
    }
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
out:
    base_opts_clear(&set, &a);
    return rc;
}
