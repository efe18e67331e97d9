/* timemodel/calib_aic.c: aiconfigurator's measured kernel tables (ai-dynamo/aiconfigurator,
 * data/aiconfigurator-h100, -h200; latencies in ms):
 *   aic-gemm       one (m × k)·(k × n) GEMM per row, priced with tm_gemm_work;
 *   aic-attention  context (batch × isl prompts) and generation (batch decodes at `step`
 *                  cached tokens) attention, per-GPU heads, on a one-layer model of that shape;
 *   aic-allreduce  vLLM's custom all-reduce (CUDA-graph rows; eager rows skipped);
 *   aic-nccl       NCCL all_reduce, all_gather, reduce_scatter, alltoall.
 * Replicated rows of one shape are merged into their median. */
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
        tm_calib_op op = {f / tm_hardware_gemm_flops(&m->hw, dt), bytes / m->hw.mem_bw, false};
        g_autofree char *config =
            g_strdup_printf("gemm n=%" G_GINT64_FORMAT " k=%" G_GINT64_FORMAT, nn, kk);
        g_autofree char *key =
            g_strdup_printf("%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d", mm,
                            nn, kk, (int)dt);
        g_autofree char *desc = g_strdup_printf("gemm m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT
                                                " k=%" G_GINT64_FORMAT " %s",
                                                mm, nn, kk, tm_dtype_name(dt));
        tm__calib_sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL};
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
        for (int64_t i = 0; i < batch; i++)
            tm_batch_add(&b, context ? (uint64_t)isl : 1, (uint64_t)step, true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[4];
        bool pre, dec;
        size_t n = tm__calib_attention_ops(&det, ops, &pre, &dec);
        g_autofree char *config =
            g_strdup_printf("%s heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, opn, heads, kv);
        tm__calib_sample_meta sm = {
            context ? TM_REGIME_PREFILL : TM_REGIME_DECODE, config, 1.0, 0, 0, 0, 0, NULL};
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
            !tm__calib_cell_int(m, sc, 1, &elems, error) ||
            !tm__calib_cell_time(m, yc, 1e-3, &y, error) || !dtype_cell(m, dc, &dt, &eb, error))
            return FALSE;
        double bytes = (double)elems * eb;
        g_autofree char *config =
            g_strdup_printf("%s%s n=%" G_GINT64_FORMAT, nccl ? "nccl " : "custom ", opn, n);
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT "|%.0f|%s", opn, n, bytes,
                                               base_csv_field(m->c, (size_t)dc));
        tm__calib_add_collective(m, kind, opn, (double)n, bytes, m->hw.default_backend, y, config,
                                 key);
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
