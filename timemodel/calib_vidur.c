/* timemodel/calib_vidur.c: Vidur's profiling tables (microsoft/vidur, data/vidur-profiling):
 *   vidur-mlp        mlp.csv: the linear layers (QKV, O, gate+up, act, down) vs tokens and TP,
 *                    one operator sample per row and operator, priced on a one-layer model of
 *                    the row's shape;
 *   vidur-attention  attention.csv: prefill and decode attention batches;
 *   vidur-network    all_reduce.csv / send_recv.csv: collectives (beyond a node: the network).
 * Times are medians in milliseconds (time_stats.OP.median). */
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"

/* ---- Vidur --------------------------------------------------------------------------------- */

static const struct {
    const char *vidur, *op;
} vidur_ops[] = {
    {"attn_pre_proj", "qkv"}, {"attn_post_proj", "o-proj"},  {"mlp_up_proj", "mlp.gate_up"},
    {"mlp_act", "mlp.act"},   {"mlp_down_proj", "mlp.down"},
};

gboolean
tm__calib_import_vidur_mlp(tm__calib_imp *m, GError **error)
{
    static const char *const shape[] = {"n_embd",
                                        "n_head",
                                        "n_kv_head",
                                        "n_expanded_embd",
                                        "vocab_size",
                                        "num_tokens",
                                        "num_tensor_parallel_workers",
                                        NULL};
    int sc[BASE_STRV_N(shape)], oc[G_N_ELEMENTS(vidur_ops)];
    for (size_t i = 0; i < BASE_STRV_N(shape); i++)
        if (!tm__calib_need_col(m, shape[i], &sc[i], error))
            return FALSE;
    int gated = base_csv_col(m->c, "use_gated_mlp");
    for (size_t i = 0; i < G_N_ELEMENTS(vidur_ops); i++) {
        g_autofree char *name = g_strdup_printf("time_stats.%s.median", vidur_ops[i].vidur);
        oc[i] = base_csv_col(m->c, name);
    }
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[BASE_STRV_N(shape)];
        for (size_t i = 0; i < BASE_STRV_N(shape); i++)
            if (!tm__calib_cell_int(m, sc[i], 1, &v[i], error))
                return FALSE;
        if (gated >= 0 && g_ascii_strcasecmp(base_csv_field(m->c, (size_t)gated), "true") != 0) {
            tm__calib_skip(m, "use_gated_mlp False (the roofline's MLP is SwiGLU)");
            continue;
        }
        int64_t h = v[0], heads = v[1], kv = v[2], ffn = v[3], vocab = v[4], tokens = v[5],
                tp = v[6];
        g_autofree char *kind = g_strdup_printf("%s", m->base);
        tm__calib_peak *k = tm__calib_shape_peak(m, kind, h, heads, kv, h / heads, ffn, vocab, tp,
                                                 TM_DTYPE_BF16, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add(&b, (uint64_t)tokens, 0, true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        g_autofree char *config = g_strdup_printf("%s tp=%" G_GINT64_FORMAT, m->base, tp);
        for (size_t i = 0; i < G_N_ELEMENTS(vidur_ops); i++) {
            if (oc[i] < 0 || tm__calib_cell_empty(m, oc[i]))
                continue;
            double y;
            if (!tm__calib_cell_time(m, oc[i], 1e-3, &y, error))
                return FALSE;
            const tm_op *o = tm_roofline_find_op(&det, vidur_ops[i].op);
            g_assert(o != NULL);
            tm_calib_op op = tm__calib_op_of(o, true);
            tm__calib_sample_meta sm = {
                TM_REGIME_LINEAR, config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL, 0, 0, 0};
            g_autofree char *key =
                g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                vidur_ops[i].vidur, h, heads, ffn, tokens, tp);
            g_autofree char *desc =
                g_strdup_printf("%s tokens=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                vidur_ops[i].vidur, tokens, tp);
            tm__calib_add_sample(m, key, y, &op, 1, &sm, desc);
        }
    }
    return more == 0;
}

gboolean
tm__calib_import_vidur_attention(tm__calib_imp *m, GError **error)
{
    static const char *const names[] = {
        "n_embd",     "n_q_head",           "n_kv_head",     "num_tensor_parallel_workers",
        "batch_size", "prefill_chunk_size", "kv_cache_size", "is_prefill",
        NULL};
    int c[BASE_STRV_N(names)];
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    int yp = base_csv_col(m->c, "time_stats.attn_prefill.median");
    int yd = base_csv_col(m->c, "time_stats.attn_decode.median");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[7];
        for (size_t i = 0; i < 7; i++)
            if (!tm__calib_cell_int(m, c[i], i == 5 || i == 6 ? 0 : 1, &v[i], error))
                return FALSE;
        bool prefill = g_ascii_strcasecmp(base_csv_field(m->c, (size_t)c[7]), "true") == 0;
        int ycol = prefill ? yp : yd;
        if (ycol < 0 || tm__calib_cell_empty(m, ycol)) {
            tm__calib_skip(m, prefill ? "prefill row without time_stats.attn_prefill.median"
                                      : "decode row without time_stats.attn_decode.median");
            continue;
        }
        double y;
        if (!tm__calib_cell_time(m, ycol, 1e-3, &y, error))
            return FALSE;
        int64_t h = v[0], heads = v[1], kv = v[2], tp = v[3], batch = v[4], chunk = v[5],
                ctx = v[6];
        if (prefill && chunk < 1) {
            base_csv_set_error(m->c, c[5], error, "must be ≥ 1 on a prefill row");
            return FALSE;
        }
        tm__calib_peak *k = tm__calib_shape_peak(m, "vidur-attention", h, heads, kv, h / heads, h,
                                                 1024 * tp, tp, TM_DTYPE_BF16, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, 0);
        /* kv_cache_size counts the chunk's own tokens on prefill rows */
        tm_batch_add_n(&b, (uint32_t)batch, prefill ? (uint64_t)chunk : 1,
                       (uint64_t)(prefill ? (ctx > chunk ? ctx - chunk : 0) : ctx), true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[4];
        bool pre, dec;
        size_t n = tm__calib_attention_ops(&det, ops, &pre, &dec);
        g_autofree char *config = g_strdup_printf("attention heads=%" G_GINT64_FORMAT
                                                  "/%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                                  heads, kv, tp);
        tm__calib_sample_meta sm = {
            tm__calib_att_regime(pre, dec), config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL, 0, 0, 0};
        tm__calib_layer_terms(&det, &sm);
        g_autofree char *key =
            g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                            "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                            prefill, heads, kv, tp, batch, chunk, ctx);
        g_autofree char *desc = g_strdup_printf(
            "%s batch=%" G_GINT64_FORMAT " chunk=%" G_GINT64_FORMAT " kv=%" G_GINT64_FORMAT,
            prefill ? "attn_prefill" : "attn_decode", batch, chunk, ctx);
        tm__calib_add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

gboolean
tm__calib_import_vidur_network(tm__calib_imp *m, GError **error)
{
    int cc, nc, sc, dc;
    if (!tm__calib_need_col(m, "collective", &cc, error) ||
        !tm__calib_need_col(m, "num_workers", &nc, error) ||
        !tm__calib_need_col(m, "size", &sc, error))
        return FALSE;
    dc = base_csv_col(m->c, "devices_per_node");
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        const char *coll = base_csv_field(m->c, (size_t)cc);
        tm_collective kind;
        if (!tm__calib_collective_kind(coll, &kind)) {
            base_csv_set_error(m->c, cc, error, "unknown collective '%s'", coll);
            return FALSE;
        }
        g_autofree char *ycol_name = g_strdup_printf("time_stats.%s.median", coll);
        int yc = base_csv_col(m->c, ycol_name);
        if (yc < 0) {
            tm__calib_row_error(m, error, "missing column %s for collective %s", ycol_name, coll);
            return FALSE;
        }
        int64_t n, bytes, dpn = INT64_MAX;
        double y;
        if (!tm__calib_cell_int(m, nc, 2, &n, error) ||
            !tm__calib_cell_size(m, sc, 1, &bytes, error) ||
            (dc >= 0 && !tm__calib_cell_int(m, dc, 1, &dpn, error)) ||
            !tm__calib_cell_time(m, yc, 1e-3, &y, error))
            return FALSE;
        /* more workers than GPUs per node: the collective crosses the network */
        bool net = n > dpn;
        tm_backend be = net ? TM_BACKEND_NVLINK : m->hw.default_backend;
        const tm_link *l = net ? &m->hw.network : tm_hardware_link(&m->hw, be);
        if (net) {
            /* the network link has no tm_backend: price it directly */
            double x = l->bw > 0 ? tm_collective_bytes(kind, (double)n, (double)bytes) / l->bw : 0;
            g_autofree char *config = g_strdup_printf("%s n=%" G_GINT64_FORMAT " network", coll, n);
            g_autofree char *key =
                g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|net", coll, n, bytes);
            tm__calib_sample_meta sm = {
                TM_REGIME_COLLECTIVE, config, 0.0, x, l->latency_s, 0.0, 0.0, NULL, 0, 0, 0};
            g_autofree char *desc = g_strdup_printf(
                "%s n=%" G_GINT64_FORMAT " bytes=%" G_GINT64_FORMAT " network", coll, n, bytes);
            tm__calib_add_sample(m, key, y, NULL, 0, &sm, desc);
            continue;
        }
        g_autofree char *config = g_strdup_printf("%s n=%" G_GINT64_FORMAT, coll, n);
        g_autofree char *key =
            g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT, coll, n, bytes);
        tm__calib_add_collective(m, kind, coll, (double)n, (double)bytes, be, y, config, key);
    }
    return more == 0;
}
