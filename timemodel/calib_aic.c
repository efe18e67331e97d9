/* timemodel/calib_aic.c: aiconfigurator's measured kernel tables (ai-dynamo/aiconfigurator,
 * data/aiconfigurator-h100, -h200; latencies in ms):
 *   aic-gemm       one (m × k)·(k × n) GEMM per row, priced with tm_gemm_work;
 *   aic-attention  context (batch × isl prompts) and generation (batch decodes at `step`
 *                  cached tokens) attention, per-GPU heads, on a one-layer model of that shape;
 *   aic-allreduce  vLLM's custom all-reduce (CUDA-graph rows; eager rows skipped);
 *   aic-nccl       NCCL all_reduce, all_gather, reduce_scatter, alltoall.
 * Replicated rows of one shape are merged into their median. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"

/* ---- aiconfigurator ------------------------------------------------------------------------ */

/* Bytes per element of a dtype name as aiconfigurator writes them. */
static gboolean
dtype_cell(tm__calib_imp *m, int col, tm_dtype *d, double *bytes, GError **error)
{
    const char *s = base_csv_field(m->c, (size_t)col);
    if (g_ascii_strcasecmp(s, "float") == 0 || g_ascii_strcasecmp(s, "float32") == 0) {
        *d = TM_DTYPE_BF16;
        *bytes = 4.0;
        return TRUE;
    }
    if (g_ascii_strcasecmp(s, "fp8_block") == 0) {
        /* DeepSeek-style fp8 with a fp32 scale per 128×128 block (0.02 % of the bytes) */
        *d = TM_DTYPE_FP8;
        *bytes = 1.0;
        return TRUE;
    }
    GError *e = NULL;
    if (!tm_dtype_parse(s, d, &e)) {
        base_csv_set_error(m->c, col, error, "%s", e->message);
        g_error_free(e);
        return FALSE;
    }
    *bytes = tm_dtype_bytes(*d);
    return TRUE;
}

gboolean
tm__calib_import_aic_gemm(tm__calib_imp *m, GError **error)
{
    int mc, nc, kc, yc, dc;
    if (!tm__calib_need_col(m, "m", &mc, error) || !tm__calib_need_col(m, "n", &nc, error) ||
        !tm__calib_need_col(m, "k", &kc, error) || !tm__calib_need_col(m, "latency", &yc, error))
        return FALSE;
    dc = base_csv_col(m->c, "gemm_dtype");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t mm, nn, kk;
        double y, bw = 2.0;
        tm_dtype dt = TM_DTYPE_BF16;
        if (!tm__calib_cell_int(m, mc, 1, &mm, error) ||
            !tm__calib_cell_int(m, nc, 1, &nn, error) ||
            !tm__calib_cell_int(m, kc, 1, &kk, error) ||
            !tm__calib_cell_time(m, yc, 1e-3, &y, error) ||
            (dc >= 0 && !dtype_cell(m, dc, &dt, &bw, error)))
            return FALSE;
        double f, bytes;
        tm_gemm_work((double)mm, (double)nn, (double)kk, bw, 2.0, &f, &bytes);
        /* quantised weights are their own kernel family (TM_OPCLASS_GEMM_Q), as in the roofline */
        tm_calib_op op = {f / tm_hardware_gemm_flops(&m->hw, dt), bytes / m->hw.mem_bw,
                          tm_dtype_bytes(dt) < 2.0 ? TM_OPCLASS_GEMM_Q : TM_OPCLASS_GEMM};
        g_autofree char *config =
            g_strdup_printf("gemm n=%" G_GINT64_FORMAT " k=%" G_GINT64_FORMAT, nn, kk);
        g_autofree char *key =
            g_strdup_printf("%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d", mm,
                            nn, kk, (int)dt);
        g_autofree char *desc = g_strdup_printf("gemm m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT
                                                " k=%" G_GINT64_FORMAT " %s",
                                                mm, nn, kk, tm_dtype_name(dt));
        tm__calib_sample_meta sm = {
            TM_REGIME_LINEAR, config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL, 0, 0, 0};
        tm__calib_add_sample(m, key, y, &op, 1, &sm, desc);
    }
    return more == 0;
}

gboolean
tm__calib_import_aic_attention(tm__calib_imp *m, GError **error)
{
    static const char *const names[] = {"batch_size", "isl",  "num_heads", "num_key_value_heads",
                                        "head_dim",   "step", "latency",   "op_name",
                                        NULL};
    int c[BASE_STRV_N(names)];
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    int kvc = base_csv_col(m->c, "kv_cache_dtype"), bwc = base_csv_col(m->c, "beam_width");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        const char *opn = base_csv_field(m->c, (size_t)c[7]);
        bool context = strcmp(opn, "context_attention") == 0;
        if (!context && strcmp(opn, "generation_attention") != 0) {
            base_csv_set_error(m->c, c[7], error,
                               "expected context_attention or generation_attention, got '%s'", opn);
            return FALSE;
        }
        int64_t v[6];
        for (size_t i = 0; i < 6; i++)
            if (!tm__calib_cell_int(m, c[i], i == 5 ? 0 : 1, &v[i], error))
                return FALSE;
        double y;
        if (!tm__calib_cell_time(m, c[6], 1e-3, &y, error))
            return FALSE;
        int64_t beam = 1;
        if (bwc >= 0 && !tm__calib_cell_int_def(m, bwc, 1, 1, &beam, error))
            return FALSE;
        if (beam != 1) {
            tm__calib_skip(m, "beam_width > 1");
            continue;
        }
        tm_dtype kvd = TM_DTYPE_BF16;
        double kvb;
        if (kvc >= 0 && !dtype_cell(m, kvc, &kvd, &kvb, error))
            return FALSE;
        int64_t batch = v[0], isl = v[1], heads = v[2], kv = v[3], d = v[4], step = v[5];
        if (heads % kv != 0) {
            base_csv_set_error(m->c, c[3], error,
                               "%" G_GINT64_FORMAT " heads are not a multiple "
                               "of %" G_GINT64_FORMAT " KV heads",
                               heads, kv);
            return FALSE;
        }
        tm__calib_peak *k = tm__calib_shape_peak(m, "aic-attention", heads * d, heads, kv, d, 1024,
                                                 1024, 1, kvd, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add_n(&b, (uint32_t)batch, context ? (uint64_t)isl : 1, (uint64_t)step, true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[4];
        bool pre, dec;
        size_t n = tm__calib_attention_ops(&det, ops, &pre, &dec);
        g_autofree char *config =
            g_strdup_printf("%s heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, opn, heads, kv);
        tm__calib_sample_meta sm = {
            context ? TM_REGIME_PREFILL : TM_REGIME_DECODE, config, 1.0, 0, 0, 0, 0, NULL, 0, 0, 0};
        tm__calib_layer_terms(&det, &sm);
        g_autofree char *key =
            g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                            "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d",
                            context, batch, isl, heads, kv, d, step, (int)kvd);
        g_autofree char *desc = g_strdup_printf("%s batch=%" G_GINT64_FORMAT
                                                " isl=%" G_GINT64_FORMAT " step=%" G_GINT64_FORMAT
                                                " heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                                opn, batch, isl, step, heads, kv);
        tm__calib_add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

static gboolean
import_aic_comm(tm__calib_imp *m, bool nccl, GError **error)
{
    int gc, sc, yc, oc, dc, kc;
    if (!tm__calib_need_col(m, "num_gpus", &gc, error) ||
        !tm__calib_need_col(m, "message_size", &sc, error) ||
        !tm__calib_need_col(m, "latency", &yc, error) ||
        !tm__calib_need_col(m, "op_name", &oc, error) ||
        !tm__calib_need_col(m, nccl ? "nccl_dtype" : "allreduce_dtype", &dc, error))
        return FALSE;
    kc = base_csv_col(m->c, "kernel_source");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        if (!nccl && kc >= 0 && strstr(base_csv_field(m->c, (size_t)kc), "eager") != NULL) {
            /* vLLM captures its decode steps in CUDA graphs; eager rows add Python launch
             * overhead the step model does not want */
            tm__calib_skip(m, "eager-mode custom all-reduce (CUDA-graph rows are used)");
            continue;
        }
        const char *opn = base_csv_field(m->c, (size_t)oc);
        tm_collective kind;
        if (!tm__calib_collective_kind(opn, &kind)) {
            base_csv_set_error(m->c, oc, error, "unknown collective '%s'", opn);
            return FALSE;
        }
        int64_t n, elems;
        double y, eb;
        tm_dtype dt;
        if (!tm__calib_cell_int(m, gc, 2, &n, error) ||
            !tm__calib_cell_size(m, sc, 1, &elems, error) ||
            !tm__calib_cell_time(m, yc, 1e-3, &y, error) || !dtype_cell(m, dc, &dt, &eb, error))
            return FALSE;
        double bytes = (double)elems * eb;
        g_autofree char *config =
            g_strdup_printf("%s%s n=%" G_GINT64_FORMAT, nccl ? "nccl " : "custom ", opn, n);
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT "|%.0f|%s", opn, n, bytes,
                                               base_csv_field(m->c, (size_t)dc));
        tm__calib_add_collective(m, kind, opn, (double)n, bytes, m->hw.default_backend, y, config,
                                 key);
        if (!nccl && kind == TM_COLL_ALL_REDUCE && m->d != NULL)
            tm_calib_data_add_allreduce(m->d, (double)n, bytes, y);
    }
    return more == 0;
}

gboolean
tm__calib_import_aic_allreduce(tm__calib_imp *m, GError **error)
{
    return import_aic_comm(m, false, error);
}

gboolean
tm__calib_import_aic_nccl(tm__calib_imp *m, GError **error)
{
    return import_aic_comm(m, true, error);
}

/* MoE rows: one layer's routed experts in vLLM's fused-MoE kernel for num_tokens tokens (all
 * the tokens entering the layer on this GPU) on moe_tp_size × moe_ep_size GPUs. Priced with
 * tm_moe_work, the roofline's own expression: a GPU holds num_experts / ep experts, each
 * sliced inter_size / tp, and gets num_tokens · topk / ep assignments. Balanced routing
 * spreads them over min(local experts, assignments) distinct experts; power-law rows are
 * skipped (the roofline routes uniformly and has no distinct-expert count for them), and so
 * are rows faster than the roofline at peak allows (their benchmark routed to fewer experts
 * than balanced routing does, e.g. DeepSeek's group-limited top-4 of 8 groups on H200). */
gboolean
tm__calib_import_aic_moe(tm__calib_imp *m, GError **error)
{
    static const char *const names[] = {"moe_dtype", "num_tokens",  "hidden_size", "inter_size",
                                        "topk",      "num_experts", "moe_tp_size", "moe_ep_size",
                                        "latency",   NULL};

    enum { DT, TOK, HID, INTER, TOPK, NEXP, TPC, EPC, LAT, N };

    G_STATIC_ASSERT(BASE_STRV_N(names) == N);
    int c[N];
    for (size_t i = 0; i < N; i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    int dc = base_csv_col(m->c, "distribution");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[N];
        for (int i = TOK; i <= EPC; i++)
            if (!tm__calib_cell_int(m, c[i], 1, &v[i], error))
                return FALSE;
        double y, bw;
        tm_dtype dt;
        if (!tm__calib_cell_time(m, c[LAT], 1e-3, &y, error) ||
            !dtype_cell(m, c[DT], &dt, &bw, error))
            return FALSE;
        const char *dist = dc >= 0 ? base_csv_field(m->c, (size_t)dc) : "balanced";
        if (strcmp(dist, "balanced") != 0) {
            g_autofree char *why = g_strdup_printf("%s routing (balanced rows are used)", dist);
            tm__calib_skip(m, why);
            continue;
        }
        int64_t T = v[TOK], h = v[HID], ie = v[INTER], k = v[TOPK], E = v[NEXP], tp = v[TPC],
                ep = v[EPC];
        if (k > E || E % ep != 0 || ie % tp != 0) {
            tm__calib_row_error(m, error,
                                "topk %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                                " experts on tp %" G_GINT64_FORMAT " × ep %" G_GINT64_FORMAT
                                " (inter_size %" G_GINT64_FORMAT ") is not a valid split",
                                k, E, tp, ep, ie);
            return FALSE;
        }
        double assign = (double)T * (double)k / (double)ep;
        double local = (double)(E / ep), distinct = fmin(local, assign);
        double f, bytes;
        tm_moe_work((double)h, (double)(ie / tp), distinct, assign, bw, 2.0, &f, &bytes);
        tm_calib_op op = {f / tm_hardware_gemm_flops(&m->hw, dt), bytes / m->hw.mem_bw,
                          tm_dtype_bytes(dt) < 2.0 ? TM_OPCLASS_MOE_Q : TM_OPCLASS_MOE};
        if (y < fmax(op.compute_s, op.memory_s)) {
            tm__calib_skip(m, "rows faster than the roofline at peak (routed to fewer experts "
                              "than balanced routing touches)");
            continue;
        }
        g_autofree char *config =
            g_strdup_printf("moe h=%" G_GINT64_FORMAT " I=%" G_GINT64_FORMAT " E=%" G_GINT64_FORMAT
                            " k=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT " ep=%" G_GINT64_FORMAT,
                            h, ie, E, k, tp, ep);
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT "|%d", config, T, (int)dt);
        g_autofree char *desc = g_strdup_printf("moe tokens=%" G_GINT64_FORMAT " %s %s", T,
                                                tm_dtype_name(dt), config + 4);
        tm__calib_sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0, 0, 0, 0, NULL, 0, 0, 0};
        sm.moe_token_s = (double)T * (double)h * 2.0 / m->hw.mem_bw;
        tm__calib_add_sample(m, key, y, &op, 1, &sm, desc);
    }
    return more == 0;
}

/* MLA and DSA module rows: one whole attention module of a DeepSeek layer (q_a / kv_a, q_b,
 * kv_b, the attention kernels, DSA's lightning indexer, o_proj) for batch_size prompts of isl
 * tokens (context) or batch_size decodes at step cached tokens (generation), with num_heads
 * heads per GPU. Priced on the preset the row names (deepseek-ai/DeepSeek-V3 → deepseek-v3,
 * or --model) at TP = its heads / num_heads, weights gemm_type and cache kv_cache_dtype: the
 * sample holds the roofline's operators of those rows for one layer, so the fit's GEMM and
 * attention classes (and their per-kernel floors) learn the module. */
static gboolean
module_dtype(tm__calib_imp *m, int col, tm_dtype *out, GError **error)
{
    double unused;
    return dtype_cell(m, col, out, &unused, error);
}

gboolean
tm__calib_import_aic_module(tm__calib_imp *m, GError **error)
{
    static const char *const names[] = {"op_name", "model",   "num_heads", "batch_size",     "isl",
                                        "step",    "latency", "gemm_type", "kv_cache_dtype", NULL};

    enum { OP, MODEL, HEADS, BATCH, ISL, STEP, LAT, GEMM, KV, N };

    G_STATIC_ASSERT(BASE_STRV_N(names) == N);
    int c[N];
    for (size_t i = 0; i < N; i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    static const tm_row_id rows[] = {TM_ROW_QKV, TM_ROW_ATTENTION, TM_ROW_INDEXER, TM_ROW_OPROJ};
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        const char *opn = base_csv_field(m->c, (size_t)c[OP]);
        bool context = g_str_has_suffix(opn, "_context_module");
        if (!context && !g_str_has_suffix(opn, "_generation_module")) {
            base_csv_set_error(m->c, c[OP], error,
                               "expected a *_context_module or *_generation_module, got '%s'", opn);
            return FALSE;
        }
        int64_t v[N];
        for (int i = HEADS; i <= STEP; i++)
            if (!tm__calib_cell_int(m, c[i], i == STEP ? 0 : 1, &v[i], error))
                return FALSE;
        double y;
        tm_dtype wd, kd;
        if (!tm__calib_cell_time(m, c[LAT], 1e-3, &y, error) ||
            !module_dtype(m, c[GEMM], &wd, error) || !module_dtype(m, c[KV], &kd, error))
            return FALSE;
        g_autofree char *name = NULL;
        if (m->o->tm->model != NULL) {
            name = g_strdup(m->o->tm->model);
        } else {
            const char *id = base_csv_field(m->c, (size_t)c[MODEL]);
            const char *slash = strrchr(id, '/');
            name = g_ascii_strdown(slash != NULL ? slash + 1 : id, -1);
        }
        g_auto(tm_model_spec) probe = {0};
        GError *e = NULL;
        if (!tm_model_spec_load(&probe, name, &e)) {
            tm__calib_row_error(m, error, "model %s: %s (pass --model)", name, e->message);
            g_error_free(e);
            return FALSE;
        }
        if (!probe.mla || probe.heads % v[HEADS] != 0) {
            tm__calib_row_error(m, error,
                                "model %s has %s%" G_GINT64_FORMAT
                                " heads: no TP degree gives %" G_GINT64_FORMAT " per GPU",
                                name, probe.mla ? "" : "no MLA, ", probe.heads, v[HEADS]);
            return FALSE;
        }
        int64_t tp = probe.heads / v[HEADS];
        if (!context && (probe.index_topk > 0) != g_str_has_prefix(opn, "dsa")) {
            tm__calib_row_error(m, error, "%s rows need a model %s a DSA indexer (%s)", opn,
                                probe.index_topk > 0 ? "without" : "with", name);
            return FALSE;
        }
        tm__calib_peak *k = tm__calib_model_peak_dt(m, name, tp, wd, kd, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, k->topk);
        tm_batch_add_n(&b, (uint32_t)v[BATCH], context ? (uint64_t)v[ISL] : 1, (uint64_t)v[STEP],
                       true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[TM_MAX_OPS];
        size_t n = 0;
        double kern[TM_OPCLASS_COUNT] = {0};
        for (size_t i = 0; i < det.n_ops; i++) {
            const tm_op *o = &det.ops[i];
            bool in = false;
            for (size_t r = 0; r < G_N_ELEMENTS(rows); r++)
                in |= o->row == rows[r];
            if (!in || o->cls == TM_OPCLASS_ELEMENTWISE)
                continue; /* the layer's input norm is outside the module */
            ops[n++] = tm__calib_op_of(o, true);
            kern[o->cls] += 1.0;
        }
        g_autofree char *config = g_strdup_printf("%s %s tp=%" G_GINT64_FORMAT " %s/%s kv", opn,
                                                  name, tp, tm_dtype_name(wd), tm_dtype_name(kd));
        g_autofree char *key =
            g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                            config, v[BATCH], v[ISL], v[STEP]);
        g_autofree char *desc =
            g_strdup_printf("%s heads=%" G_GINT64_FORMAT " batch=%" G_GINT64_FORMAT
                            " isl=%" G_GINT64_FORMAT " step=%" G_GINT64_FORMAT " %s",
                            opn, v[HEADS], v[BATCH], v[ISL], v[STEP], tm_dtype_name(wd));
        tm__calib_sample_meta sm = {
            context ? TM_REGIME_PREFILL : TM_REGIME_DECODE, config, 0.0, 0, 0, 0, 0, kern, 0, 0, 0};
        tm__calib_add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}
