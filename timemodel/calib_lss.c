/* timemodel/calib_lss.c: LLMServingSim's operator profiles (data/llmservingsim-profiles; model,
 * hardware and TP from meta.yaml and the tpN directory unless --model / --hardware say):
 *   lss-dense         dense.csv: one layer operator vs tokens;
 *   lss-per-sequence  per_sequence.csv: lm_head and sampler vs sampled sequences;
 *   lss-attention     attention.csv: one prefill chunk + n decodes, one layer;
 *   lss-v0-layers     the v0 profiler's per-layer table (separate q/k/v and gate/up GEMMs).
 * Each row is priced on the preset model the profile names (its own operators, per layer).
 * A whole profile directory composed into steps is calib_compose.c's. Times in µs (ns: v0). */
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"

/* ---- LLMServingSim ------------------------------------------------------------------------ */

static const struct {
    const char *layer, *op;
} lss_layers[] = {
    {"embedding", "embedding"},
    {"layernorm", "input-norm"},
    {"qkv_proj", "qkv"},
    {"o_proj", "o-proj"},
    {"gate_up_proj", "mlp.gate_up"},
    {"act_fn", "mlp.act"},
    {"down_proj", "mlp.down"},
    {"final_layernorm", "final-norm"},
    {"lm_head", "lm-head"},
    {"sampler", "sampler"},
    {"input_layernorm", "input-norm"},
    {"post_layernorm", "mlp.post-norm"},
};

static const char *
lss_op(const char *layer)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lss_layers); i++)
        if (strcmp(layer, lss_layers[i].layer) == 0)
            return lss_layers[i].op;
    return NULL;
}

/* dense.csv (layer vs tokens) and per_sequence.csv (layer vs sampled sequences). */
static gboolean
import_lss_layers(tm__calib_imp *m, bool per_seq, GError **error)
{
    int lc, nc, yc;
    if (!tm__calib_need_col(m, "layer", &lc, error) ||
        !tm__calib_need_col(m, per_seq ? "sequences" : "tokens", &nc, error) ||
        !tm__calib_need_col(m, "time_us", &yc, error))
        return FALSE;
    if (!tm__calib_resolve_table(m, true, error))
        return FALSE;
    tm__calib_peak *k = tm__calib_model_peak(m, error);
    if (k == NULL)
        return FALSE;
    g_autofree char *config = g_strdup_printf("%s tp=%" G_GINT64_FORMAT " %s", m->model_name, m->tp,
                                              per_seq ? "per-sequence" : "dense");
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        const char *layer = base_csv_field(m->c, (size_t)lc);
        const char *opname = lss_op(layer);
        if (opname == NULL) {
            g_autofree char *why = g_strdup_printf("%s rows (no roofline operator)", layer);
            tm__calib_skip(m, why);
            continue;
        }
        int64_t n;
        double y;
        if (!tm__calib_cell_int(m, nc, 1, &n, error) ||
            !tm__calib_cell_time(m, yc, 1e-6, &y, error))
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, k->topk);
        if (per_seq) {
            tm_batch_add_n(&b, (uint32_t)n, 1, 0, true);
        } else {
            tm_batch_add(&b, (uint64_t)n, 0, true);
        }
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        const tm_op *o = tm_roofline_find_op(&det, opname);
        if (o == NULL) {
            g_autofree char *why =
                g_strdup_printf("%s rows (no %s operator in %s)", layer, opname, m->model_name);
            tm__calib_skip(m, why);
            continue;
        }
        tm_calib_op op = tm__calib_op_of(o, true);
        tm__calib_sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0, 0, 0, 0, NULL, 0, 0, 0};
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT, layer, n);
        g_autofree char *desc =
            g_strdup_printf("%s %s=%" G_GINT64_FORMAT, layer, per_seq ? "sequences" : "tokens", n);
        tm__calib_add_sample(m, key, y, &op, 1, &sm, desc);
    }
    return more == 0;
}

gboolean
tm__calib_import_lss_attention(tm__calib_imp *m, GError **error)
{
    static const char *const names[] = {"prefill_chunk", "kv_prefill", "n_decode",
                                        "kv_decode",     "time_us",    NULL};
    int c[5];
    for (int i = 0; i < 5; i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    if (!tm__calib_resolve_table(m, true, error))
        return FALSE;
    tm__calib_peak *k = tm__calib_model_peak(m, error);
    if (k == NULL)
        return FALSE;
    g_autofree char *config =
        g_strdup_printf("%s tp=%" G_GINT64_FORMAT " attention", m->model_name, m->tp);
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[4];
        double y;
        for (int i = 0; i < 4; i++)
            if (!tm__calib_cell_int(m, c[i], 0, &v[i], error))
                return FALSE;
        if (!tm__calib_cell_time(m, c[4], 1e-6, &y, error))
            return FALSE;
        if (v[0] == 0 && v[2] == 0) {
            tm__calib_skip(m, "empty batch (no chunk, no decodes)");
            continue;
        }
        tm_batch b;
        tm_batch_init(&b, k->topk);
        if (v[0] > 0)
            tm_batch_add(&b, (uint64_t)v[0], (uint64_t)v[1], true);
        tm_batch_add_n(&b, (uint32_t)v[2], 1, (uint64_t)v[3], true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[4];
        bool pre, dec;
        size_t n = tm__calib_attention_ops(&det, ops, &pre, &dec);
        tm__calib_sample_meta sm = {
            tm__calib_att_regime(pre, dec), config, 1.0, 0, 0, 0, 0, NULL, 0, 0, 0};
        tm__calib_layer_terms(&det, &sm);
        g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                               "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                               v[0], v[1], v[2], v[3]);
        g_autofree char *desc =
            g_strdup_printf("attention chunk=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT
                            " decode=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
                            v[0], v[1], v[2], v[3]);
        tm__calib_add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

/* v0 profiler layers: separate q/k/v and gate/up GEMMs (priced with tm_gemm_work on the model's
 * per-GPU dimensions), norms, activation, attention without cache, lm-head over every token. */
gboolean
tm__calib_import_lss_v0(tm__calib_imp *m, GError **error)
{
    int lc, ic, kc, tc, yc;
    if (!tm__calib_need_col(m, "layer_name", &lc, error) ||
        !tm__calib_need_col(m, "input", &ic, error) ||
        !tm__calib_need_col(m, "kv_cache", &kc, error) ||
        !tm__calib_need_col(m, "tp_size", &tc, error) ||
        !tm__calib_need_col(m, "latency(ns)", &yc, error))
        return FALSE;
    if (!tm__calib_resolve_table(m, true, error))
        return FALSE;
    g_auto(tm_model_spec) sp = {0};
    if (!tm_model_spec_load(&sp, m->model_name, error)) {
        g_prefix_error(error, "%s: ", m->path);
        return FALSE;
    }
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t in, kv, tp;
        double y;
        if (!tm__calib_cell_int(m, ic, 1, &in, error) ||
            !tm__calib_cell_int(m, kc, 0, &kv, error) ||
            !tm__calib_cell_int(m, tc, 1, &tp, error) ||
            !tm__calib_cell_time(m, yc, 1e-9, &y, error))
            return FALSE;
        tm__calib_peak *k = tm__calib_model_peak_of(m, m->model_name, tp, error);
        if (k == NULL)
            return FALSE;
        const char *layer = base_csv_field(m->c, (size_t)lc);
        double h = (double)sp.hidden, d = (double)sp.head_dim, t = (double)tp;
        double hq = (double)sp.heads / t * d, hk = (double)tm_model_kv_heads_per_gpu(&sp, tp) * d;
        double ffn = (double)sp.ffn / t, vocab = (double)sp.vocab / t;

        const struct {
            const char *name;
            double n, k;
        } gemms[] = {{"q_proj", hq, h},     {"k_proj", hk, h},     {"v_proj", hk, h},
                     {"o_proj", h, hq},     {"gate_proj", ffn, h}, {"up_proj", ffn, h},
                     {"down_proj", h, ffn}, {"lm_head", vocab, h}};

        tm_calib_op ops[4];
        size_t n = 0;
        tm_calib_regime rg = TM_REGIME_LINEAR;
        tm__calib_sample_meta lt = {0}; /* shape terms of an attention row */
        for (size_t i = 0; i < G_N_ELEMENTS(gemms) && n == 0; i++) {
            if (strcmp(layer, gemms[i].name) != 0)
                continue;
            double f, bytes;
            tm_gemm_work((double)in, gemms[i].n, gemms[i].k, 2.0, 2.0, &f, &bytes);
            ops[n++] = (tm_calib_op){f / tm_hardware_gemm_flops(&m->hw, TM_DTYPE_BF16),
                                     bytes / m->hw.mem_bw, false};
        }
        if (n == 0) {
            tm_batch b;
            tm_batch_init(&b, k->topk);
            tm_batch_add(&b, (uint64_t)in, (uint64_t)kv, true);
            tm_roofline_detail det;
            tm_roofline_eval(k->tm, &b, &det);
            if (strcmp(layer, "attn") == 0) {
                bool pre, dec;
                n = tm__calib_attention_ops(&det, ops, &pre, &dec);
                rg = tm__calib_att_regime(pre, dec);
                tm__calib_layer_terms(&det, &lt);
            } else {
                const char *opname = lss_op(layer);
                const tm_op *o = opname != NULL ? tm_roofline_find_op(&det, opname) : NULL;
                if (o != NULL)
                    ops[n++] = tm__calib_op_of(o, true);
            }
        }
        if (n == 0) {
            g_autofree char *why = g_strdup_printf("%s rows (no roofline operator)", layer);
            tm__calib_skip(m, why);
            continue;
        }
        g_autofree char *config =
            g_strdup_printf("%s tp=%" G_GINT64_FORMAT " v0", m->model_name, tp);
        tm__calib_sample_meta sm = {rg, config, 1.0, 0, 0, 0, 0, NULL, 0, 0, 0};
        sm.att_items = lt.att_items;
        sm.att_serial_s = lt.att_serial_s;
        g_autofree char *key = g_strdup_printf(
            "%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT, layer, in, kv, tp);
        g_autofree char *desc = g_strdup_printf("%s input=%" G_GINT64_FORMAT " kv=%" G_GINT64_FORMAT
                                                " tp=%" G_GINT64_FORMAT,
                                                layer, in, kv, tp);
        tm__calib_add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

gboolean
tm__calib_import_lss_dense(tm__calib_imp *m, GError **error)
{
    return import_lss_layers(m, false, error);
}

gboolean
tm__calib_import_lss_per_sequence(tm__calib_imp *m, GError **error)
{
    return import_lss_layers(m, true, error);
}
