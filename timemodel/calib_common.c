/* timemodel/calib_common.c: what every calibration importer uses (calib_internal.h): the
 * importer state and its skip / merge bookkeeping, cell readers whose errors name the file,
 * line and column, sample builders (operator samples, summed steps, collectives), the peak time
 * models samples are priced with, and where a table's model and hardware come from.
 *
 * Every sample is priced with the roofline at peak: a peak time model (η = 1, no overheads,
 * no overlap) is built per shape or configuration and cached per file; operators, layers and
 * steps come from tm_roofline_eval's detail (per-operator F/P and B/W), bare GEMMs from
 * tm_gemm_work, collectives from tm_collective_bytes and the hardware's link. A step sample
 * also carries the kernel count the calibrated roofline charges per step
 * (tm_roofline_step_kernels), so that a fitted per-kernel term means the same thing in the fit
 * and in tm_setup. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/match.h"
#include "base/stats.h"
#include "timemodel/calib_internal.h"

bool
tm__calib_in_list(const char *const *l, const char *s)
{
    for (; l != NULL && *l != NULL; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

/* ---- peak time models ------------------------------------------------------------------- */

void
tm__calib_peak_free(gpointer p)
{
    tm__calib_peak *k = p;
    tm_timemodel_free(k->tm);
    if (k->own_m)
        tm_model_spec_clear(&k->m);
    tm_setup_free(k->setup);
    g_free(k);
}

/* η = 1, no overheads, no overlap: the roofline's basis terms (docs/domain.md §4.2). */
void
tm__calib_peak_params(
    tm_roofline_params *p, const tm_hardware *hw, tm_parallel par, tm_dtype wd, tm_dtype kd)
{
    tm_roofline_params_defaults(p, hw);
    p->compute_eff = p->memory_eff = p->comm_eff = 1.0;
    p->attn_compute_eff = p->attn_memory_eff = NAN;
    p->step_overhead_s = p->per_seq_overhead_s = 0.0;
    p->overlap = 0.0;
    p->moe_imbalance = 0.0;
    p->attn_item_s = p->attn_serial = p->moe_token = 0.0; /* multipliers, fitted */
    p->launch_eager_s = 0.0;                              /* an overhead, not a basis term */
    p->weight_dtype = wd;
    p->kv_dtype = kd;
    p->par = par;
}

void
tm__calib_peak_finish(tm__calib_peak *k)
{
    tm_roofline_step_kernels(k->tm, k->step_kernels);
    k->topk = tm_model_key_cap(k->model);
}

/* ---- importer state ----------------------------------------------------------------------- */

static void
merge_free(gpointer p)
{
    tm__calib_merge *e = p;
    g_array_free(e->y, TRUE);
    g_free(e);
}

void
tm__calib_imp_clear(tm__calib_imp *m)
{
    g_free(m->base);
    if (m->merge != NULL)
        g_hash_table_destroy(m->merge);
    if (m->dups != NULL)
        g_hash_table_destroy(m->dups);
    if (m->skips != NULL)
        g_hash_table_destroy(m->skips);
    if (m->skip_order != NULL)
        g_ptr_array_free(m->skip_order, TRUE);
    if (m->peaks != NULL)
        g_hash_table_destroy(m->peaks);
    if (m->hw_loaded)
        tm_hardware_clear(&m->hw);
    g_free(m->model_name);
    base_csv_free(m->c);
}

void
tm__calib_skip(tm__calib_imp *m, const char *reason)
{
    m->info->skipped++;
    gpointer key = NULL, v = NULL;
    if (!g_hash_table_lookup_extended(m->skips, reason, &key, &v)) {
        char *r = g_strdup(reason);
        g_ptr_array_add(m->skip_order, r);
        g_hash_table_insert(m->skips, r, GUINT_TO_POINTER(1));
    } else {
        /* the stored key (our copy) stays the key */
        g_hash_table_insert(m->skips, key, GUINT_TO_POINTER(GPOINTER_TO_UINT(v) + 1));
    }
}

void
tm__calib_row_error(tm__calib_imp *m, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s:%" G_GUINT64_FORMAT ": %s",
                base_csv_name(m->c), base_csv_lineno(m->c), msg);
}

bool
tm__calib_cell_empty(const tm__calib_imp *m, int col)
{
    if (col < 0)
        return true;
    const char *s = base_csv_field(m->c, (size_t)col);
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

gboolean
tm__calib_cell_double(tm__calib_imp *m, int col, double *out, GError **error)
{
    return base_csv_get_double(m->c, col, out, error);
}

static gboolean
cell_range(tm__calib_imp *m, int col, int64_t min, int64_t max, int64_t *out, GError **error)
{
    if (!base_csv_get_int64(m->c, col, out, error))
        return FALSE;
    if (*out < min || *out > max) {
        base_csv_set_error(m->c, col, error,
                           "must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                           ", got %" G_GINT64_FORMAT,
                           min, max, *out);
        return FALSE;
    }
    return TRUE;
}

gboolean
tm__calib_cell_int(tm__calib_imp *m, int col, int64_t min, int64_t *out, GError **error)
{
    return cell_range(m, col, min, TM__CALIB_MAX_COUNT, out, error);
}

gboolean
tm__calib_cell_size(tm__calib_imp *m, int col, int64_t min, int64_t *out, GError **error)
{
    return cell_range(m, col, min, TM__CALIB_MAX_SIZE, out, error);
}

/* An integer cell, or DEF when the column is absent or the cell empty. */
gboolean
tm__calib_cell_int_def(
    tm__calib_imp *m, int col, int64_t def, int64_t min, int64_t *out, GError **error)
{
    if (tm__calib_cell_empty(m, col)) {
        *out = def;
        return TRUE;
    }
    return tm__calib_cell_int(m, col, min, out, error);
}

/* A count cell in [0, MAX] (DEF when absent or empty): bounds the work a row can ask for. */
gboolean
tm__calib_cell_count(
    tm__calib_imp *m, int col, int64_t def, int64_t max, int64_t *out, GError **error)
{
    if (tm__calib_cell_empty(m, col)) {
        *out = def;
        return TRUE;
    }
    if (!cell_range(m, col, 0, INT64_MAX, out, error))
        return FALSE;
    if (*out > max) {
        base_csv_set_error(m->c, col, error,
                           "must be at most %" G_GINT64_FORMAT ", got %" G_GINT64_FORMAT, max,
                           *out);
        return FALSE;
    }
    return TRUE;
}

/* A measured time (SCALE converts the cell's unit to seconds): a number > 0. */
gboolean
tm__calib_cell_time(tm__calib_imp *m, int col, double scale, double *out_s, GError **error)
{
    double v;
    if (!tm__calib_cell_double(m, col, &v, error))
        return FALSE;
    if (!(v > 0)) {
        base_csv_set_error(m->c, col, error, "must be > 0 (a measured time), got %g", v);
        return FALSE;
    }
    *out_s = v * scale;
    return TRUE;
}

gboolean
tm__calib_need_col(tm__calib_imp *m, const char *name, int *out, GError **error)
{
    *out = base_csv_require_col(m->c, name, error);
    return *out >= 0;
}

/* ---- samples ------------------------------------------------------------------------------ */

tm_calib_op
tm__calib_op_of(const tm_op *o, bool per_layer)
{
    double k = per_layer && o->count > 0 ? o->count : 1.0;
    return (tm_calib_op){o->compute_s / k, o->memory_s / k, (uint8_t)o->cls};
}

/* Adds an operator-level sample, or merges it into an earlier one with the same KEY. */
void
tm__calib_add_sample(tm__calib_imp *m,
                     const char *key,
                     double y_s,
                     const tm_calib_op *ops,
                     size_t n,
                     const tm__calib_sample_meta *sm,
                     const char *desc)
{
    if (key != NULL) {
        tm__calib_merge *e = g_hash_table_lookup(m->merge, key);
        if (e != NULL) {
            g_array_append_val(e->y, y_s);
            m->info->replicates++;
            return;
        }
    }
    tm_calib_sample s = {0};
    s.measured_s = y_s;
    s.offset_s = sm->offset_s;
    s.steps = sm->steps;
    if (sm->class_kernels != NULL)
        memcpy(s.kernels, sm->class_kernels, sizeof s.kernels);
    else if (n > 0)
        s.kernels[ops[0].cls] = sm->kernels;
    s.comm_s = sm->comm_s;
    s.seqs = sm->seqs;
    s.att_items = sm->att_items;
    s.att_serial_s = sm->att_serial_s;
    s.moe_token_s = sm->moe_token_s;
    s.config = tm_calib_data_config_id(m->d, sm->config);
    s.source = m->source;
    s.line = m->c != NULL ? base_csv_lineno(m->c) : 0;
    s.regime = sm->regime;
    g_autofree char *label =
        s.line > 0 ? g_strdup_printf("%s:%" G_GUINT64_FORMAT " %s", m->base, s.line, desc)
                   : g_strdup_printf("%s %s", m->base, desc);
    size_t i = tm_calib_data_add(m->d, &s, ops, n, label);
    m->info->samples++;
    if (key != NULL) {
        tm__calib_merge *e = g_new0(tm__calib_merge, 1);
        e->sample = i;
        e->y = g_array_new(FALSE, FALSE, sizeof(double));
        g_array_append_val(e->y, y_s);
        g_hash_table_insert(m->merge, g_strdup(key), e);
    }
}

/* Replicated measurements of one shape become their median. */
void
tm__calib_finish_merges(tm__calib_imp *m)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->merge);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        tm__calib_merge *e = v;
        if (e->y->len < 2)
            continue;
        double *y = (double *)(void *)e->y->data;
        base_sort_doubles(y, e->y->len);
        tm_calib_data_set_measured(m->d, e->sample, base_percentile_sorted(y, e->y->len, 50));
    }
}

/* Adds one step of batch B priced by K; operators named in EXCLUDE (NULL-terminated, may be
 * NULL) are left out (the measurement does not cover them). Kernels: those of a decode step
 * (what tm_setup charges every step) minus the excluded ones. */
void
tm__calib_stepacc_add(tm__calib_stepacc *a,
                      const tm__calib_peak *k,
                      const tm_batch *b,
                      const char *const *exclude,
                      tm__calib_comm cm)
{
    tm_roofline_detail det;
    tm_roofline_eval(k->tm, b, &det);
    for (int c = 0; c < TM_OPCLASS_COUNT; c++)
        a->kernels[c] += k->step_kernels[c];
    for (size_t i = 0; i < det.n_ops; i++) {
        const tm_op *o = &det.ops[i];
        if (tm__calib_in_list(exclude, o->name)) {
            a->kernels[o->cls] -= o->count;
            continue;
        }
        size_t j = 0;
        while (j < a->n && strcmp(a->names[j], o->name) != 0)
            j++;
        if (j == a->n) {
            if (a->n == TM_MAX_OPS)
                continue;
            a->names[a->n] = o->name;
            a->ops[a->n] = (tm_calib_op){0.0, 0.0, (uint8_t)o->cls};
            a->n++;
        }
        a->ops[j].compute_s += o->compute_s;
        a->ops[j].memory_s += o->memory_s;
    }
    if (cm == TM__CALIB_COMM_ALL) {
        a->comm_s +=
            fmax(0.0, det.rows[TM_ROW_COLLECTIVES].comm_s - det.comm_latency_s - det.comm_table_s);
        a->offset_s += det.comm_latency_s + det.comm_table_s;
    }
    a->steps += 1.0;
    a->seqs += b->num_seqs;
    a->att_items += det.att_items;
    a->att_serial_s += det.att_serial_s;
    a->moe_token_s += det.moe_token_s;
    a->has_prefill |= b->num_prefill > 0;
    a->has_decode |= b->num_decode > 0;
}

void
tm__calib_stepacc_scale(tm__calib_stepacc *a, double f)
{
    for (size_t i = 0; i < a->n; i++) {
        a->ops[i].compute_s *= f;
        a->ops[i].memory_s *= f;
    }
    a->comm_s *= f;
    a->offset_s *= f;
    a->att_items *= f;
    a->att_serial_s *= f;
    a->moe_token_s *= f;
    a->steps *= f;
    for (int c = 0; c < TM_OPCLASS_COUNT; c++)
        a->kernels[c] *= f;
    a->seqs *= f;
}

void
tm__calib_add_step_sample(
    tm__calib_imp *m, double y_s, const tm__calib_stepacc *a, const char *config, const char *desc)
{
    tm__calib_sample_meta sm = {0};
    sm.regime = a->has_prefill && a->has_decode ? TM_REGIME_MIXED
                : a->has_prefill                ? TM_REGIME_PREFILL
                                                : TM_REGIME_DECODE;
    sm.config = config;
    sm.comm_s = a->comm_s;
    sm.offset_s = a->offset_s;
    sm.steps = a->steps;
    sm.seqs = a->seqs;
    sm.att_items = a->att_items;
    sm.att_serial_s = a->att_serial_s;
    sm.moe_token_s = a->moe_token_s;
    sm.class_kernels = a->kernels;
    tm__calib_add_sample(m, NULL, y_s, a->ops, a->n, &sm, desc);
}

/* ---- table formats: shapes, hardware, metadata ------------------------------------------ */

/* NAME lower-cased without '-', '_' and blanks. */
static char *
squash(const char *name)
{
    GString *g = g_string_new(NULL);
    for (const char *p = name; *p; p++)
        if (*p != '-' && *p != '_' && *p != ' ')
            g_string_append_c(g, g_ascii_tolower(*p));
    return g_string_free(g, FALSE);
}

static gboolean
load_hardware(tm__calib_imp *m, const char *meta_hw, GError **error)
{
    const char *name = m->o->tm->hardware;
    g_autofree char *mapped = NULL;
    if (name == NULL && meta_hw != NULL) {
        /* LLMServingSim names (RTX4090, RTXPRO6000) vs presets (rtx4090, rtx-pro-6000) */
        g_auto(GStrv) presets = tm_hardware_preset_names();
        g_autofree char *want = squash(meta_hw);
        for (char **p = presets; *p != NULL && mapped == NULL; p++) {
            g_autofree char *have = squash(*p);
            if (strcmp(have, want) == 0)
                mapped = g_strdup(*p);
        }
        if (mapped == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_UNKNOWN,
                        "%s: meta.yaml hardware '%s' is not a preset; pass --hardware", m->path,
                        meta_hw);
            return FALSE;
        }
        name = mapped;
    }
    if (name == NULL)
        name = TM_CALIB_DEFAULT_HARDWARE;
    if (!tm_hardware_load(&m->hw, name, error)) {
        g_prefix_error(error, "%s: ", m->path);
        return FALSE;
    }
    m->hw_loaded = true;
    m->info->hardware = g_strdup_printf(
        "%s%s", name, m->o->tm->hardware == NULL && meta_hw == NULL ? " (default)" : "");
    return TRUE;
}

/* A one-layer model of the given per-replica shape (the vendor tables give shapes, not
 * models). */
tm__calib_peak *
tm__calib_shape_peak(tm__calib_imp *m,
                     const char *kind,
                     int64_t h,
                     int64_t heads,
                     int64_t kv,
                     int64_t d,
                     int64_t ffn,
                     int64_t vocab,
                     int64_t tp,
                     tm_dtype kvd,
                     GError **error)
{
    g_autofree char *key = g_strdup_printf(
        "%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
        "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d",
        kind, h, heads, kv, d, ffn, vocab, tp, (int)kvd);
    tm__calib_peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    json_t *cfg =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "hidden_size", (json_int_t)h,
                  "num_hidden_layers", (json_int_t)1, "num_attention_heads", (json_int_t)heads,
                  "num_key_value_heads", (json_int_t)kv, "head_dim", (json_int_t)d,
                  "intermediate_size", (json_int_t)ffn, "vocab_size", (json_int_t)vocab,
                  "max_position_embeddings", (json_int_t)1048576);
    k = g_new0(tm__calib_peak, 1);
    GError *e = NULL;
    gboolean ok = tm_model_spec_from_json(&k->m, cfg, kind, &e);
    json_decref(cfg);
    if (!ok) {
        tm__calib_row_error(m, error, "%s", e->message);
        g_error_free(e);
        g_free(k);
        return NULL;
    }
    k->own_m = true;
    k->model = &k->m;
    k->hw = &m->hw;
    tm_roofline_params p;
    tm__calib_peak_params(&p, &m->hw, tm_parallel_make(tp, 1, 1, false), TM_DTYPE_BF16, kvd);
    k->tm = tm_roofline_new(&k->m, &m->hw, &p);
    k->backend = p.backend;
    tm__calib_peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    return k;
}

/* A preset model at the resolved tp (LLMServingSim tables). */
tm__calib_peak *
tm__calib_model_peak_of(tm__calib_imp *m, const char *name, int64_t tp, GError **error)
{
    return tm__calib_model_peak_dt(m, name, tp, TM_DTYPE_BF16, TM_DTYPE_BF16, error);
}

tm__calib_peak *
tm__calib_model_peak_dt(
    tm__calib_imp *m, const char *name, int64_t tp, tm_dtype wd, tm_dtype kd, GError **error)
{
    g_autofree char *key =
        wd == TM_DTYPE_BF16 && kd == TM_DTYPE_BF16
            ? g_strdup_printf("model|%s|%" G_GINT64_FORMAT, name, tp)
            : g_strdup_printf("model|%s|%" G_GINT64_FORMAT "|%d|%d", name, tp, (int)wd, (int)kd);
    tm__calib_peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    k = g_new0(tm__calib_peak, 1);
    if (!tm_model_spec_load(&k->m, name, error)) {
        g_prefix_error(error, "%s: ", m->path);
        g_free(k);
        return NULL;
    }
    k->own_m = true;
    k->model = &k->m;
    k->hw = &m->hw;
    tm_parallel par = tm_parallel_make(tp, 1, 1, false);
    if (!tm_model_check_parallel(&k->m, &par, error)) {
        g_prefix_error(error, "%s: ", m->path);
        tm__calib_peak_free(k);
        return NULL;
    }
    tm_roofline_params p;
    tm__calib_peak_params(&p, &m->hw, par, wd, kd);
    k->tm = tm_roofline_new(&k->m, &m->hw, &p);
    k->backend = p.backend;
    tm__calib_peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    return k;
}

tm__calib_peak *
tm__calib_model_peak(tm__calib_imp *m, GError **error)
{
    return tm__calib_model_peak_of(m, m->model_name, m->tp, error);
}

/* LLMServingSim layout: <model dir>/meta.yaml and <model dir>/tpN/<table>.csv. Reads the
 * top-level "model:" and "hardware:" of meta.yaml (no YAML library: two keys are enough). */
static void
lss_meta(const char *path, char **model, char **hardware, int64_t *tp)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *dn = g_path_get_basename(dir);
    int64_t n;
    if (g_str_has_prefix(dn, "tp") && base_parse_int64(dn + 2, &n) && n >= 1)
        *tp = n;
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *meta = g_build_filename(parent, "meta.yaml", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(meta, &text, NULL, NULL))
        return;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        char **dst = g_str_has_prefix(*l, "model:")      ? model
                     : g_str_has_prefix(*l, "hardware:") ? hardware
                                                         : NULL;
        if (dst == NULL || *dst != NULL)
            continue;
        char *v = g_strstrip(strchr(*l, ':') + 1);
        size_t len = strlen(v);
        if (len >= 2 && (v[0] == '\'' || v[0] == '"') && v[len - 1] == v[0]) {
            v[len - 1] = '\0';
            v++;
        }
        const char *slash = strrchr(v, '/');
        *dst = g_ascii_strdown(slash != NULL && dst == model ? slash + 1 : v, -1);
    }
}

gboolean
tm__calib_resolve_table(tm__calib_imp *m, bool need_model, GError **error)
{
    g_autofree char *meta_model = NULL, *meta_hw = NULL;
    m->tp = m->o->tm->tp;
    tm__calib_meta meta = m->fmt != NULL ? m->fmt->meta : TM__CALIB_META_NONE;
    if (meta == TM__CALIB_META_LSS)
        lss_meta(m->path, &meta_model, &meta_hw, &m->tp);
    if (meta == TM__CALIB_META_LSS_V0) {
        /* "Llama-3.1-8B_tp1_layers.csv" */
        const char *cut = strstr(m->base, "_tp");
        if (cut != NULL)
            meta_model = g_ascii_strdown(m->base, cut - m->base);
    }
    if (!load_hardware(m, meta_hw, error))
        return FALSE;
    if (!need_model)
        return TRUE;
    const char *name = m->o->tm->model != NULL ? m->o->tm->model : meta_model;
    if (name == NULL) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: which model were these layers measured on? pass --model (no meta.yaml "
                    "next to the table)",
                    m->path);
        return FALSE;
    }
    m->model_name = g_strdup(name);
    /* v0 tables carry the TP degree per row */
    m->info->model = meta == TM__CALIB_META_LSS_V0
                         ? g_strdup(name)
                         : g_strdup_printf("%s tp=%" G_GINT64_FORMAT, name, m->tp);
    return TRUE;
}

/* The attention operators of a detail, per layer. */
size_t
tm__calib_attention_ops(const tm_roofline_detail *d, tm_calib_op *out, bool *pre, bool *dec)
{
    size_t n = 0;
    *pre = *dec = false;
    for (size_t i = 0; i < d->n_ops; i++) {
        const tm_op *o = &d->ops[i];
        if (o->row != TM_ROW_ATTENTION)
            continue;
        out[n++] = tm__calib_op_of(o, true);
        *pre |= strcmp(o->name, "attention.prefill") == 0;
        *dec |= strcmp(o->name, "attention.decode") == 0;
    }
    return n;
}

void
tm__calib_layer_terms(const tm_roofline_detail *d, tm__calib_sample_meta *sm)
{
    const tm_op *dec = tm_roofline_find_op(d, "attention.decode");
    const tm_op *moe = tm_roofline_find_op(d, "moe.experts");
    sm->att_items = dec != NULL && dec->count > 0 ? d->att_items / dec->count : 0.0;
    sm->att_serial_s = dec != NULL && dec->count > 0 ? d->att_serial_s / dec->count : 0.0;
    sm->moe_token_s = moe != NULL && moe->count > 0 ? d->moe_token_s / moe->count : 0.0;
}

tm_calib_regime
tm__calib_att_regime(bool pre, bool dec)
{
    return pre && dec ? TM_REGIME_MIXED : pre ? TM_REGIME_PREFILL : TM_REGIME_DECODE;
}

/* A collective sample: bandwidth part scaled by βx, the link latency as a fixed offset (the
 * roofline adds it unscaled), one kernel. */
void
tm__calib_add_collective(tm__calib_imp *m,
                         tm_collective kind,
                         const char *kname,
                         double n,
                         double bytes,
                         tm_backend link,
                         double y,
                         const char *config,
                         const char *key)
{
    const tm_link *l = tm_hardware_link(&m->hw, link);
    double x = l->bw > 0 ? tm_collective_bytes(kind, n, bytes) / l->bw : 0.0;
    tm__calib_sample_meta sm = {
        TM_REGIME_COLLECTIVE, config, 0.0, x, l->latency_s, 0.0, 0.0, NULL, 0, 0, 0};
    g_autofree char *desc = g_strdup_printf("%s n=%.0f bytes=%.0f", kname, n, bytes);
    tm__calib_add_sample(m, key, y, NULL, 0, &sm, desc);
}

gboolean
tm__calib_collective_kind(const char *s, tm_collective *out)
{
    static const struct {
        const char *name;
        tm_collective k;
    } kinds[] = {{"all_reduce", TM_COLL_ALL_REDUCE},         {"allreduce", TM_COLL_ALL_REDUCE},
                 {"all_gather", TM_COLL_ALL_GATHER},         {"allgather", TM_COLL_ALL_GATHER},
                 {"reduce_scatter", TM_COLL_REDUCE_SCATTER}, {"alltoall", TM_COLL_ALL_TO_ALL},
                 {"all_to_all", TM_COLL_ALL_TO_ALL},         {"send_recv", TM_COLL_SEND_RECV}};

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].k;
            return true;
        }
    }
    return false;
}

/* ---- importer runs ---------------------------------------------------------------------- */

void
tm__calib_imp_init(tm__calib_imp *m,
                   tm_calib_data *d,
                   const tm_calib_import_opts *o,
                   tm_calib_import_info *info)
{
    memset(m, 0, sizeof *m);
    m->d = d;
    m->o = o;
    m->info = info;
    m->merge = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, merge_free);
    m->dups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->skips = g_hash_table_new(g_str_hash, g_str_equal);
    m->skip_order = g_ptr_array_new_with_free_func(g_free);
    m->peaks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tm__calib_peak_free);
}

/* Merges replicates and writes the skip reasons into the info. */
void
tm__calib_imp_finish(tm__calib_imp *m)
{
    tm__calib_finish_merges(m);
    tm_calib_import_info *info = m->info;
    if (m->various_model) {
        g_free(info->model);
        info->model = g_strdup("various");
    }
    if (m->various_hw) {
        g_free(info->hardware);
        info->hardware = g_strdup("various");
    }
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < m->skip_order->len; i++) {
        const char *r = m->skip_order->pdata[i];
        g_string_append_printf(g, "%s%s: %u", g->len ? "; " : "", r,
                               GPOINTER_TO_UINT(g_hash_table_lookup(m->skips, r)));
    }
    g_free(info->skipped_why);
    info->skipped_why = g_string_free(g, g->len == 0);
}
