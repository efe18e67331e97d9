/* timemodel/calib_import.c: measurement files → calibration samples (calib_import.h).
 *
 * Every sample is priced with the roofline at peak: a peak time model (η = 1, no overheads,
 * no overlap) is built per shape or configuration and cached per file; operators, layers and
 * steps come from tm_roofline_eval's detail (per-operator F/P and B/W), bare GEMMs from
 * tm_gemm_work, collectives from tm_collective_bytes and the hardware's link. A step sample
 * also carries the kernel count the calibrated roofline charges per step
 * (tm_roofline_step_kernels), so that a fitted per-kernel term means the same thing in the fit
 * and in tm_setup. Rows are read with base_csv; errors name the file, line and column. */
#include "timemodel/calib_import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/match.h"
#include "base/stats.h"
#include "timemodel/batch.h"
#include "timemodel/roofline.h"
#include "timemodel/scenario.h"
#include "timemodel/setup.h"

/* NULL-terminated (base/match.h); the assert catches a format added without a name. */
static const char *const fmt_names[] = {
    [TM_CALIB_FMT_AUTO] = "auto",
    [TM_CALIB_FMT_MEASUREMENTS] = "measurements",
    [TM_CALIB_FMT_STEPS] = "steps",
    [TM_CALIB_FMT_VIDUR_MLP] = "vidur-mlp",
    [TM_CALIB_FMT_VIDUR_ATTENTION] = "vidur-attention",
    [TM_CALIB_FMT_VIDUR_NETWORK] = "vidur-network",
    [TM_CALIB_FMT_AIC_GEMM] = "aic-gemm",
    [TM_CALIB_FMT_AIC_ATTENTION] = "aic-attention",
    [TM_CALIB_FMT_AIC_ALLREDUCE] = "aic-allreduce",
    [TM_CALIB_FMT_AIC_NCCL] = "aic-nccl",
    [TM_CALIB_FMT_LSS_DENSE] = "lss-dense",
    [TM_CALIB_FMT_LSS_ATTENTION] = "lss-attention",
    [TM_CALIB_FMT_LSS_PER_SEQUENCE] = "lss-per-sequence",
    [TM_CALIB_FMT_LSS_V0_LAYERS] = "lss-v0-layers",
    [TM_CALIB_FMT_LSS_PROFILE] = "lss-profile",
    [TM_CALIB_FMT_COMPOSED] = "vidur+aic-steps",
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(fmt_names) == TM_CALIB_FMT_COUNT);

const char *
tm_calib_format_name(tm_calib_format f)
{
    return f < TM_CALIB_FMT_COUNT ? fmt_names[f] : "?";
}

gboolean
tm_calib_format_parse(const char *s, tm_calib_format *out, GError **error)
{
    int i = base_strv_index_nocase(fmt_names, s);
    if (i >= 0) {
        *out = (tm_calib_format)i;
        return TRUE;
    }
    g_autofree char *close = base_suggest(s, fmt_names);
    g_autofree char *all = base_strv_join(fmt_names, ", ");
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "unknown input format '%s'%s%s%s (one of %s)", s,
                close ? " (did you mean " : "", close ? close : "", close ? "?)" : "", all);
    return FALSE;
}

void
tm_calib_import_opts_defaults(tm_calib_import_opts *o, const tm_options *tm)
{
    memset(o, 0, sizeof *o);
    o->tm = tm;
    o->batch = 1;
    o->input_len = 1024;
    o->decode_tokens = 128;
    o->format = TM_CALIB_FMT_AUTO;
}

void
tm_calib_import_info_clear(tm_calib_import_info *i)
{
    if (i == NULL)
        return;
    g_free(i->skipped_why);
    g_free(i->defaulted);
    g_free(i->ignored);
    g_free(i->model);
    g_free(i->hardware);
    memset(i, 0, sizeof *i);
}

static bool
in_list(const char *const *l, const char *s)
{
    for (; l != NULL && *l != NULL; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

/* ---- peak time models ------------------------------------------------------------------- */

typedef struct {
    tm_setup *setup; /* measurement / step rows: owns model and hardware */
    tm_model_spec m; /* shape and preset models of the tables */
    bool own_m;
    const tm_model_spec *model;
    const tm_hardware *hw;
    tm_timemodel *tm;                      /* at peak (or calibrated, for predictions) */
    double step_kernels[TM_OPCLASS_COUNT]; /* tm_roofline_step_kernels, by class */
    uint32_t topk;                         /* DSA top-k for tm_batch_init */
    tm_backend backend;                    /* link of its collectives */
} peak;

static void
peak_free(gpointer p)
{
    peak *k = p;
    tm_timemodel_free(k->tm);
    if (k->own_m)
        tm_model_spec_clear(&k->m);
    tm_setup_free(k->setup);
    g_free(k);
}

/* η = 1, no overheads, no overlap: the roofline's basis terms (docs/domain.md §4.2). */
static void
peak_params(tm_roofline_params *p, const tm_hardware *hw, tm_parallel par, tm_dtype wd, tm_dtype kd)
{
    tm_roofline_params_defaults(p, hw);
    p->compute_eff = p->memory_eff = p->comm_eff = 1.0;
    p->attn_compute_eff = p->attn_memory_eff = NAN;
    p->step_overhead_s = p->per_seq_overhead_s = 0.0;
    p->overlap = 0.0;
    p->moe_imbalance = 0.0;
    p->weight_dtype = wd;
    p->kv_dtype = kd;
    p->par = par;
}

static void
peak_finish(peak *k)
{
    tm_roofline_step_kernels(k->tm, k->step_kernels);
    k->topk = (uint32_t)k->model->index_topk;
}

/* ---- importer state ----------------------------------------------------------------------- */

typedef struct {
    size_t sample;
    GArray *y; /* double, seconds */
} merge_entry;

static void
merge_free(gpointer p)
{
    merge_entry *e = p;
    g_array_free(e->y, TRUE);
    g_free(e);
}

typedef struct {
    tm_calib_data *d;
    const tm_calib_import_opts *o;
    tm_calib_import_info *info;
    base_csv *c;
    const char *path;
    char *base;
    uint32_t source;
    GHashTable *merge; /* shape key → merge_entry */
    GHashTable *dups;  /* user formats: row key → line */
    GHashTable *skips; /* reason → count */
    GPtrArray *skip_order;
    GHashTable *peaks; /* key → peak */
    tm_hardware hw;
    bool hw_loaded;
    char *model_name; /* resolved model for the table formats */
    int64_t tp;       /* resolved tp for the table formats */
    bool various_model, various_hw;
    bool predicting; /* --predict: a scenarios CSV without measurements is fine */
} imp;

static void
imp_clear(imp *m)
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

static void
skip(imp *m, const char *reason)
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

static void G_GNUC_PRINTF(3, 4) row_error(imp *m, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s:%" G_GUINT64_FORMAT ": %s",
                base_csv_name(m->c), base_csv_lineno(m->c), msg);
}

static bool
cell_empty(const imp *m, int col)
{
    if (col < 0)
        return true;
    const char *s = base_csv_field(m->c, (size_t)col);
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static gboolean
cell_double(imp *m, int col, double *out, GError **error)
{
    return base_csv_get_double(m->c, col, out, error);
}

/* Upper bounds of the integer cells of the vendor tables, far above any measured table
 * (batch ≤ 2048, tokens and contexts ≤ 131,072, messages ≤ 512 MiB): they keep shape
 * products (heads × head_dim, ...) within int64 and the sequences of a row within the
 * uint32 of tm_batch_add_n. */
#define CALIB_MAX_COUNT 100000000LL        /* shapes, tokens, contexts, sequences, GPUs */
#define CALIB_MAX_SIZE  1000000000000000LL /* message bytes or elements */

static gboolean
cell_range(imp *m, int col, int64_t min, int64_t max, int64_t *out, GError **error)
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

/* A count or shape cell: MIN ≤ value ≤ CALIB_MAX_COUNT. */
static gboolean
cell_int(imp *m, int col, int64_t min, int64_t *out, GError **error)
{
    return cell_range(m, col, min, CALIB_MAX_COUNT, out, error);
}

/* A message size (bytes or elements): MIN ≤ value ≤ CALIB_MAX_SIZE. */
static gboolean
cell_size(imp *m, int col, int64_t min, int64_t *out, GError **error)
{
    return cell_range(m, col, min, CALIB_MAX_SIZE, out, error);
}

/* An integer cell, or DEF when the column is absent or the cell empty. */
static gboolean
cell_int_def(imp *m, int col, int64_t def, int64_t min, int64_t *out, GError **error)
{
    if (cell_empty(m, col)) {
        *out = def;
        return TRUE;
    }
    return cell_int(m, col, min, out, error);
}

/* A count cell in [0, MAX] (DEF when absent or empty): bounds the work a row can ask for. */
static gboolean
cell_count(imp *m, int col, int64_t def, int64_t max, int64_t *out, GError **error)
{
    if (cell_empty(m, col)) {
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
static gboolean
cell_time(imp *m, int col, double scale, double *out_s, GError **error)
{
    double v;
    if (!cell_double(m, col, &v, error))
        return FALSE;
    if (!(v > 0)) {
        base_csv_set_error(m->c, col, error, "must be > 0 (a measured time), got %g", v);
        return FALSE;
    }
    *out_s = v * scale;
    return TRUE;
}

static gboolean
need_col(imp *m, const char *name, int *out, GError **error)
{
    *out = base_csv_require_col(m->c, name, error);
    return *out >= 0;
}

/* ---- samples ------------------------------------------------------------------------------ */

static tm_calib_op
calib_op(const tm_op *o, bool per_layer)
{
    double k = per_layer && o->count > 0 ? o->count : 1.0;
    return (tm_calib_op){o->compute_s / k, o->memory_s / k, (uint8_t)o->cls};
}

typedef struct {
    tm_calib_regime regime;
    const char *config;
    double kernels; /* operator samples: kernels launched (of the class of their operators) */
    double comm_s, offset_s, steps, seqs;
    const double *class_kernels; /* step samples: kernels by class (overrides KERNELS) */
} sample_meta;

/* Adds an operator-level sample, or merges it into an earlier one with the same KEY. */
static void
add_sample(imp *m,
           const char *key,
           double y_s,
           const tm_calib_op *ops,
           size_t n,
           const sample_meta *sm,
           const char *desc)
{
    if (key != NULL) {
        merge_entry *e = g_hash_table_lookup(m->merge, key);
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
        merge_entry *e = g_new0(merge_entry, 1);
        e->sample = i;
        e->y = g_array_new(FALSE, FALSE, sizeof(double));
        g_array_append_val(e->y, y_s);
        g_hash_table_insert(m->merge, g_strdup(key), e);
    }
}

/* Replicated measurements of one shape become their median. */
static void
finish_merges(imp *m)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->merge);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        merge_entry *e = v;
        if (e->y->len < 2)
            continue;
        double *y = (double *)(void *)e->y->data;
        base_sort_doubles(y, e->y->len);
        tm_calib_data_set_measured(m->d, e->sample, base_percentile_sorted(y, e->y->len, 50));
    }
}

/* Σ over the steps of a sample (prefill step, decode steps, one measured step). */
typedef struct {
    const char *names[TM_MAX_OPS];
    tm_calib_op ops[TM_MAX_OPS];
    size_t n;
    double comm_s, offset_s, steps, seqs;
    double kernels[TM_OPCLASS_COUNT];
    bool has_prefill, has_decode;
} stepacc;

/* What a step sample's measurement covers of communication: everything the roofline prices,
 * only the TP all-reduces of the layers (tables with no logits gather), or none (single-GPU
 * profiles of a TP shard). */
typedef enum { COMM_ALL, COMM_TP_ALLREDUCE, COMM_NONE } comm_mode;

/* Adds one step of batch B priced by K; operators named in EXCLUDE (NULL-terminated, may be
 * NULL) are left out (the measurement does not cover them). Kernels: those of a decode step
 * (what tm_setup charges every step) minus the excluded ones. */
static void
stepacc_add(stepacc *a, const peak *k, const tm_batch *b, const char *const *exclude, comm_mode cm)
{
    tm_roofline_detail det;
    tm_roofline_eval(k->tm, b, &det);
    for (int c = 0; c < TM_OPCLASS_COUNT; c++)
        a->kernels[c] += k->step_kernels[c];
    for (size_t i = 0; i < det.n_ops; i++) {
        const tm_op *o = &det.ops[i];
        if (in_list(exclude, o->name)) {
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
    if (cm == COMM_ALL) {
        a->comm_s += fmax(0.0, det.rows[TM_ROW_COLLECTIVES].comm_s - det.comm_latency_s);
        a->offset_s += det.comm_latency_s;
    } else if (cm == COMM_TP_ALLREDUCE && k->model->experts == 0 && det.tp_allreduce_s > 0) {
        /* dense model: two all-reduces per layer, each a bandwidth part + one latency */
        double n = (double)(k->model->layers + k->model->dense_layers);
        double lat = tm_hardware_link(k->hw, k->backend)->latency_s;
        a->comm_s += fmax(0.0, det.tp_allreduce_s - n * lat);
        a->offset_s += n * lat;
    }
    a->steps += 1.0;
    a->seqs += b->num_seqs;
    a->has_prefill |= b->num_prefill > 0;
    a->has_decode |= b->num_decode > 0;
}

static void
stepacc_scale(stepacc *a, double f)
{
    for (size_t i = 0; i < a->n; i++) {
        a->ops[i].compute_s *= f;
        a->ops[i].memory_s *= f;
    }
    a->comm_s *= f;
    a->offset_s *= f;
    a->steps *= f;
    for (int c = 0; c < TM_OPCLASS_COUNT; c++)
        a->kernels[c] *= f;
    a->seqs *= f;
}

static void
add_step_sample(imp *m, double y_s, const stepacc *a, const char *config, const char *desc)
{
    sample_meta sm = {0};
    sm.regime = a->has_prefill && a->has_decode ? TM_REGIME_MIXED
                : a->has_prefill                ? TM_REGIME_PREFILL
                                                : TM_REGIME_DECODE;
    sm.config = config;
    sm.comm_s = a->comm_s;
    sm.offset_s = a->offset_s;
    sm.steps = a->steps;
    sm.seqs = a->seqs;
    sm.class_kernels = a->kernels;
    add_sample(m, NULL, y_s, a->ops, a->n, &sm, desc);
}

/* ---- batches (shared by the fit and by predictions) ------------------------------------- */

typedef struct {
    int64_t prefill_tokens, prefill_seqs, decode_seqs, sampled;
    double prefill_context, decode_context; /* means */
} step_row;

/* N values summing to round(N·MEAN), as equal as integers allow: value I. */
static uint64_t
spread(int64_t n, double mean, int64_t i)
{
    int64_t total = llround((double)n * mean);
    int64_t q = total / n, r = total % n;
    return (uint64_t)(q + (i < r ? 1 : 0));
}

/* One measured step: PREFILL_SEQS chunks sharing PREFILL_TOKENS on top of PREFILL_CONTEXT
 * cached tokens on average, DECODE_SEQS decodes with DECODE_CONTEXT cached tokens on average;
 * the first SAMPLED sequences (decodes first) produce a token. */
static void
step_batch(tm_batch *b, uint32_t topk, const step_row *r)
{
    tm_batch_init(b, topk);
    int64_t sampled = r->sampled;
    for (int64_t i = 0; i < r->decode_seqs; i++)
        tm_batch_add(b, 1, spread(r->decode_seqs, r->decode_context, i), sampled-- > 0);
    for (int64_t i = 0; i < r->prefill_seqs; i++) {
        uint64_t q = (uint64_t)(r->prefill_tokens / r->prefill_seqs +
                                (i < r->prefill_tokens % r->prefill_seqs ? 1 : 0));
        tm_batch_add(b, q, spread(r->prefill_seqs, r->prefill_context, i), sampled-- > 0);
    }
}

/* ---- configuration of user rows (measurements, steps) ---------------------------------- */

typedef tm_options row_opts; /* a tm_options this file fills and clears */

static void
row_opts_clear(row_opts *o)
{
    base_opt_set set = {&tm_options_table, 1};
    base_opts_clear(&set, o);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(row_opts, row_opts_clear)

/* The defaults of a scenario row: the command's options and shape flags. */
static tm_scenario_defaults
row_defaults(const imp *m)
{
    tm_scenario_defaults d = {m->o->tm, {m->o->batch, m->o->input_len, m->o->decode_tokens, 1}};
    return d;
}

/* The options (and, when S is not NULL, the shape) of the current row, read by the shared
 * scenario reader (timemodel/scenario.h): the command's, then the row's cells. O must be
 * zeroed; it is filled (clear with base_opts_clear). CALIBRATION replaces the calibration
 * field. */
static gboolean
row_options(imp *m,
            const tm_scenario_layout *l,
            const char *calibration,
            tm_options *o,
            tm_scenario *s,
            GError **error)
{
    tm_scenario_defaults d = row_defaults(m);
    if (!tm_scenario_read(m->c, l, &d, o, s, error))
        return FALSE;
    if (o->model == NULL)
        o->model = g_strdup(TM_CALIB_DEFAULT_MODEL);
    if (o->hardware == NULL)
        o->hardware = g_strdup(TM_CALIB_DEFAULT_HARDWARE);
    g_free(o->calibration);
    o->calibration = g_strdup(calibration);
    return TRUE;
}

static char *
options_key(const tm_options *o)
{
    return g_strdup_printf(
        "%s|%s|%s|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d|%s",
        o->model, o->hardware, o->dtype ? o->dtype : "", o->kv_cache_dtype ? o->kv_cache_dtype : "",
        o->tp, o->pp, o->dp, o->expert_parallel, o->comm_backend ? o->comm_backend : "");
}

/* The time model of a row's configuration: at peak for fitting (CALIBRATED false), or the
 * calibrated one the simulator would build (predictions). Cached per configuration. */
static peak *
row_peak(imp *m, const tm_options *o, bool calibrated, GError **error)
{
    g_autofree char *key = options_key(o);
    peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    GError *e = NULL;
    tm_setup *s = tm_setup_new(o, &e);
    if (s == NULL) {
        row_error(m, error, "%s", e->message);
        g_error_free(e);
        return NULL;
    }
    k = g_new0(peak, 1);
    k->setup = s;
    k->model = tm_setup_model(s);
    k->hw = tm_setup_hardware(s);
    if (calibrated) {
        k->tm = tm_setup_timemodel(s);
    } else {
        const tm_roofline_params *sp = tm_setup_params_const(s);
        tm_roofline_params p;
        peak_params(&p, k->hw, sp->par, sp->weight_dtype, sp->kv_dtype);
        p.backend = sp->backend;
        k->tm = tm_roofline_new(k->model, k->hw, &p);
    }
    k->backend = tm_setup_params_const(s)->backend;
    peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    if (m->info->model == NULL) {
        m->info->model = g_strdup(o->model);
        m->info->hardware = g_strdup(o->hardware);
    } else {
        m->various_model |= strcmp(m->info->model, o->model) != 0;
        m->various_hw |= strcmp(m->info->hardware, o->hardware) != 0;
    }
    return k;
}

/* Duplicate rows of the user formats: KEY seen before is an error unless allowed. */
static gboolean
check_duplicate(imp *m, const char *key, const char *what, GError **error)
{
    gpointer v = g_hash_table_lookup(m->dups, key);
    if (v != NULL && !m->o->allow_duplicates) {
        row_error(m, error,
                  "duplicate of line %u (%s); merge repeated measurements into one row "
                  "or pass --allow-duplicates",
                  GPOINTER_TO_UINT(v), what);
        return FALSE;
    }
    if (v == NULL)
        g_hash_table_insert(m->dups, g_strdup(key), GUINT_TO_POINTER((guint)base_csv_lineno(m->c)));
    return TRUE;
}

/* ---- measurements CSV ------------------------------------------------------------------- */

enum { MS_PREFILL, MS_DECODE, MS_N };

static const char *const ms_cols[] = {"measured_prefill_ms", "measured_decode_ms", NULL};
G_STATIC_ASSERT(BASE_STRV_N(ms_cols) == MS_N);

typedef struct {
    tm_scenario_layout sc; /* configuration and shape columns */
    int ms[MS_N];
} ms_layout;

static void
ms_layout_get(imp *m, ms_layout *l)
{
    tm_scenario_layout_get(m->c, &l->sc);
    for (int i = 0; i < MS_N; i++)
        l->ms[i] = base_csv_col(m->c, ms_cols[i]);
}

static void
report_defaults(imp *m, const ms_layout *l)
{
    const tm_options *t = m->o->tm;
    GString *g = g_string_new(NULL);
#define DEF(col, fmt, ...)                                                                         \
    if (col < 0)                                                                                   \
    g_string_append_printf(g, "%s" fmt, g->len ? ", " : "", __VA_ARGS__)
    const int *k = l->sc.col;
    DEF(k[TM_SC_TP], "tp=%" G_GINT64_FORMAT " (--tensor-parallel-size)", t->tp);
    DEF(k[TM_SC_DP], "dp=%" G_GINT64_FORMAT " (--data-parallel-size)", t->dp);
    DEF(k[TM_SC_BATCH], "batch_per_gpu=%" G_GINT64_FORMAT " (--batch)", m->o->batch);
    DEF(k[TM_SC_SEQ_LEN], "seq_len=%" G_GINT64_FORMAT " (--input-len)", m->o->input_len);
    DEF(k[TM_SC_DECODE], "decode_tokens=%" G_GINT64_FORMAT " (--decode-tokens)",
        m->o->decode_tokens);
    DEF(k[TM_SC_GRAD_ACCUM], "grad_accum=%d", 1);
    DEF(k[TM_SC_MODEL], "model=%s", t->model ? t->model : TM_CALIB_DEFAULT_MODEL " (default)");
    DEF(k[TM_SC_HARDWARE], "hardware=%s",
        t->hardware ? t->hardware : TM_CALIB_DEFAULT_HARDWARE " (default)");
#undef DEF
    m->info->defaulted = g_string_free(g, g->len == 0);
}

static gboolean
import_measurements(imp *m, GError **error)
{
    ms_layout l;
    ms_layout_get(m, &l);
    if (l.ms[MS_PREFILL] < 0 && l.ms[MS_DECODE] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: needs a measured_prefill_ms or measured_decode_ms column",
                    base_csv_name(m->c));
        return FALSE;
    }
    report_defaults(m, &l);
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        tm_scenario r;
        g_auto(row_opts) o = {0};
        if (!row_options(m, &l.sc, TM_CALIBRATION_NONE, &o, &r, error))
            return FALSE;
        bool has_p = !cell_empty(m, l.ms[MS_PREFILL]), has_d = !cell_empty(m, l.ms[MS_DECODE]);
        if (!has_p && !has_d) {
            row_error(m, error,
                      "no measurement (measured_prefill_ms and measured_decode_ms are "
                      "empty)");
            return FALSE;
        }
        double yp = 0, yd = 0;
        if ((has_p && !cell_time(m, l.ms[MS_PREFILL], 1e-3, &yp, error)) ||
            (has_d && !cell_time(m, l.ms[MS_DECODE], 1e-3, &yd, error)))
            return FALSE;
        if (has_d && r.decode_tokens < 1) {
            base_csv_set_error(m->c, l.sc.col[TM_SC_DECODE], error,
                               "must be ≥ 1 when measured_decode_ms is given");
            return FALSE;
        }
        g_autofree char *ok = options_key(&o);
        g_autofree char *dkey = g_strdup_printf(
            "%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
            ok, r.batch, r.seq_len, r.decode_tokens, r.grad_accum);
        if (!check_duplicate(m, dkey, "same configuration and shape", error))
            return FALSE;
        peak *k = row_peak(m, &o, false, error);
        if (k == NULL || !tm_scenario_check_context(m->c, &l.sc, &r, k->model, error))
            return FALSE;
        g_autofree char *config = g_strdup_printf("%s %s tp=%" G_GINT64_FORMAT
                                                  " dp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT,
                                                  o.model, o.hardware, o.tp, o.dp, o.pp);
        tm_batch b;
        if (has_p) {
            stepacc a = {0};
            tm_scenario_prefill_batch(&b, k->topk, &r);
            stepacc_add(&a, k, &b, NULL, COMM_ALL);
            stepacc_scale(&a, (double)r.grad_accum);
            g_autofree char *desc =
                g_strdup_printf("prefill batch=%" G_GINT64_FORMAT " seq_len=%" G_GINT64_FORMAT
                                " tp=%" G_GINT64_FORMAT,
                                r.batch, r.seq_len, o.tp);
            add_step_sample(m, yp, &a, config, desc);
        }
        if (has_d) {
            stepacc a = {0};
            for (int64_t j = 0; j < r.decode_tokens; j++) {
                tm_scenario_decode_batch(&b, k->topk, &r, j);
                stepacc_add(&a, k, &b, NULL, COMM_ALL);
            }
            stepacc_scale(&a, (double)r.grad_accum);
            g_autofree char *desc =
                g_strdup_printf("decode batch=%" G_GINT64_FORMAT " seq_len=%" G_GINT64_FORMAT
                                " decode_tokens=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                r.batch, r.seq_len, r.decode_tokens, o.tp);
            add_step_sample(m, yd, &a, config, desc);
        }
    }
    return more == 0;
}

/* ---- steps CSV ---------------------------------------------------------------------------- */

enum { ST_PT, ST_PS, ST_PC, ST_DS, ST_DC, ST_SAMPLED, ST_MS, ST_N };

#define STEP_MAX_SEQS   1000000    /* sequences in one step (prefill or decode) */
#define STEP_MAX_TOKENS 1000000000 /* tokens in one step, and a mean context */

static const char *const st_cols[] = {
    "prefill_tokens", "prefill_seqs", "prefill_context",  "decode_seqs",
    "decode_context", "sampled",      "measured_step_ms", NULL};
G_STATIC_ASSERT(BASE_STRV_N(st_cols) == ST_N);

typedef struct {
    tm_scenario_layout cfg; /* configuration columns (shape columns unused) */
    int st[ST_N];
} st_layout;

static void
st_layout_get(imp *m, st_layout *l)
{
    tm_scenario_layout_get(m->c, &l->cfg);
    for (int i = 0; i < ST_N; i++)
        l->st[i] = base_csv_col(m->c, st_cols[i]);
}

static gboolean
cell_mean(imp *m, int col, double *out, GError **error)
{
    if (cell_empty(m, col)) {
        *out = 0.0;
        return TRUE;
    }
    if (!cell_double(m, col, out, error))
        return FALSE;
    if (*out < 0 || *out > STEP_MAX_TOKENS) {
        base_csv_set_error(m->c, col, error, "must be between 0 and %g, got %g",
                           (double)STEP_MAX_TOKENS, *out);
        return FALSE;
    }
    return TRUE;
}

static gboolean
st_row_get(imp *m, const st_layout *l, step_row *r, GError **error)
{
    /* Bounds: a step prices one tm_batch_add per sequence, and a step of more than
     * STEP_MAX_SEQS sequences or STEP_MAX_TOKENS tokens is no measured vLLM step. */
    if (!cell_count(m, l->st[ST_PT], 0, STEP_MAX_TOKENS, &r->prefill_tokens, error) ||
        !cell_count(m, l->st[ST_DS], 0, STEP_MAX_SEQS, &r->decode_seqs, error) ||
        !cell_count(m, l->st[ST_PS], r->prefill_tokens > 0 ? 1 : 0, STEP_MAX_SEQS, &r->prefill_seqs,
                    error) ||
        !cell_mean(m, l->st[ST_PC], &r->prefill_context, error) ||
        !cell_mean(m, l->st[ST_DC], &r->decode_context, error))
        return FALSE;
    if (r->prefill_tokens == 0 && r->decode_seqs == 0) {
        row_error(m, error, "an empty step (prefill_tokens and decode_seqs are 0)");
        return FALSE;
    }
    if (r->prefill_seqs > r->prefill_tokens || (r->prefill_tokens > 0 && r->prefill_seqs == 0)) {
        base_csv_set_error(m->c, l->st[ST_PS], error,
                           "must be between 1 and prefill_tokens (%" G_GINT64_FORMAT ")",
                           r->prefill_tokens);
        return FALSE;
    }
    if (r->decode_seqs > 0 && l->st[ST_DC] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: missing column decode_context (rows have decode_seqs > 0)",
                    base_csv_name(m->c));
        return FALSE;
    }
    int64_t seqs = r->prefill_seqs + r->decode_seqs;
    if (!cell_int_def(m, l->st[ST_SAMPLED], seqs, 0, &r->sampled, error))
        return FALSE;
    if (r->sampled > seqs) {
        base_csv_set_error(m->c, l->st[ST_SAMPLED], error,
                           "more than the %" G_GINT64_FORMAT " sequences of the step", seqs);
        return FALSE;
    }
    return TRUE;
}

static char *
row_text(const imp *m)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < base_csv_nfields(m->c); i++)
        g_string_append_printf(g, "%s%s", i ? "\x1f" : "", base_csv_field(m->c, i));
    return g_string_free(g, FALSE);
}

static gboolean
import_steps(imp *m, GError **error)
{
    st_layout l;
    st_layout_get(m, &l);
    int ycol;
    if (!need_col(m, "measured_step_ms", &ycol, error))
        return FALSE;
    if (l.st[ST_PT] < 0 && l.st[ST_DS] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: needs a prefill_tokens or decode_seqs column", base_csv_name(m->c));
        return FALSE;
    }
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        step_row r;
        g_auto(row_opts) o = {0};
        double y;
        if (!st_row_get(m, &l, &r, error) || !cell_time(m, ycol, 1e-3, &y, error) ||
            !row_options(m, &l.cfg, TM_CALIBRATION_NONE, &o, NULL, error))
            return FALSE;
        g_autofree char *text = row_text(m);
        if (!check_duplicate(m, text, "identical row", error))
            return FALSE;
        peak *k = row_peak(m, &o, false, error);
        if (k == NULL)
            return FALSE;
        g_autofree char *config = g_strdup_printf("%s %s tp=%" G_GINT64_FORMAT
                                                  " dp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT,
                                                  o.model, o.hardware, o.tp, o.dp, o.pp);
        tm_batch b;
        step_batch(&b, k->topk, &r);
        stepacc a = {0};
        stepacc_add(&a, k, &b, NULL, COMM_ALL);
        g_autofree char *desc = g_strdup_printf(
            "step prefill=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "@%.0f decode=%" G_GINT64_FORMAT
            "@%.0f",
            r.prefill_tokens, r.prefill_seqs, r.prefill_context, r.decode_seqs, r.decode_context);
        add_step_sample(m, y, &a, config, desc);
    }
    return more == 0;
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
load_hardware(imp *m, const char *meta_hw, GError **error)
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
static peak *
shape_peak(imp *m,
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
    peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    json_t *cfg =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "hidden_size", (json_int_t)h,
                  "num_hidden_layers", (json_int_t)1, "num_attention_heads", (json_int_t)heads,
                  "num_key_value_heads", (json_int_t)kv, "head_dim", (json_int_t)d,
                  "intermediate_size", (json_int_t)ffn, "vocab_size", (json_int_t)vocab,
                  "max_position_embeddings", (json_int_t)1048576);
    k = g_new0(peak, 1);
    GError *e = NULL;
    gboolean ok = tm_model_spec_from_json(&k->m, cfg, kind, &e);
    json_decref(cfg);
    if (!ok) {
        row_error(m, error, "%s", e->message);
        g_error_free(e);
        g_free(k);
        return NULL;
    }
    k->own_m = true;
    k->model = &k->m;
    k->hw = &m->hw;
    tm_roofline_params p;
    peak_params(&p, &m->hw, tm_parallel_make(tp, 1, 1, false), TM_DTYPE_BF16, kvd);
    k->tm = tm_roofline_new(&k->m, &m->hw, &p);
    k->backend = p.backend;
    peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    return k;
}

/* A preset model at the resolved tp (LLMServingSim tables). */
static peak *
model_peak_of(imp *m, const char *name, int64_t tp, GError **error)
{
    g_autofree char *key = g_strdup_printf("model|%s|%" G_GINT64_FORMAT, name, tp);
    peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    k = g_new0(peak, 1);
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
        peak_free(k);
        return NULL;
    }
    tm_roofline_params p;
    peak_params(&p, &m->hw, par, TM_DTYPE_BF16, TM_DTYPE_BF16);
    k->tm = tm_roofline_new(&k->m, &m->hw, &p);
    k->backend = p.backend;
    peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    return k;
}

static peak *
model_peak(imp *m, GError **error)
{
    return model_peak_of(m, m->model_name, m->tp, error);
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

static gboolean
resolve_table(imp *m, bool need_model, GError **error)
{
    g_autofree char *meta_model = NULL, *meta_hw = NULL;
    m->tp = m->o->tm->tp;
    tm_calib_format f = m->info->format;
    if (f == TM_CALIB_FMT_LSS_DENSE || f == TM_CALIB_FMT_LSS_ATTENTION ||
        f == TM_CALIB_FMT_LSS_PROFILE || f == TM_CALIB_FMT_LSS_PER_SEQUENCE)
        lss_meta(m->path, &meta_model, &meta_hw, &m->tp);
    if (f == TM_CALIB_FMT_LSS_V0_LAYERS) {
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
    m->info->model = f == TM_CALIB_FMT_LSS_V0_LAYERS
                         ? g_strdup(name)
                         : g_strdup_printf("%s tp=%" G_GINT64_FORMAT, name, m->tp);
    return TRUE;
}

static const tm_op *
find_op(const tm_roofline_detail *d, const char *name)
{
    return tm_roofline_find_op(d, name);
}

/* The attention operators of a detail, per layer. */
static size_t
attention_ops(const tm_roofline_detail *d, tm_calib_op *out, bool *pre, bool *dec)
{
    size_t n = 0;
    *pre = *dec = false;
    for (size_t i = 0; i < d->n_ops; i++) {
        const tm_op *o = &d->ops[i];
        if (o->row != TM_ROW_ATTENTION)
            continue;
        out[n++] = calib_op(o, true);
        *pre |= strcmp(o->name, "attention.prefill") == 0;
        *dec |= strcmp(o->name, "attention.decode") == 0;
    }
    return n;
}

static tm_calib_regime
att_regime(bool pre, bool dec)
{
    return pre && dec ? TM_REGIME_MIXED : pre ? TM_REGIME_PREFILL : TM_REGIME_DECODE;
}

/* ---- Vidur --------------------------------------------------------------------------------- */

static const struct {
    const char *vidur, *op;
} vidur_ops[] = {
    {"attn_pre_proj", "qkv"}, {"attn_post_proj", "o-proj"},  {"mlp_up_proj", "mlp.gate_up"},
    {"mlp_act", "mlp.act"},   {"mlp_down_proj", "mlp.down"},
};

static gboolean
import_vidur_mlp(imp *m, GError **error)
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
        if (!need_col(m, shape[i], &sc[i], error))
            return FALSE;
    int gated = base_csv_col(m->c, "use_gated_mlp");
    for (size_t i = 0; i < G_N_ELEMENTS(vidur_ops); i++) {
        g_autofree char *name = g_strdup_printf("time_stats.%s.median", vidur_ops[i].vidur);
        oc[i] = base_csv_col(m->c, name);
    }
    if (!resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[BASE_STRV_N(shape)];
        for (size_t i = 0; i < BASE_STRV_N(shape); i++)
            if (!cell_int(m, sc[i], 1, &v[i], error))
                return FALSE;
        if (gated >= 0 && g_ascii_strcasecmp(base_csv_field(m->c, (size_t)gated), "true") != 0) {
            skip(m, "use_gated_mlp False (the roofline's MLP is SwiGLU)");
            continue;
        }
        int64_t h = v[0], heads = v[1], kv = v[2], ffn = v[3], vocab = v[4], tokens = v[5],
                tp = v[6];
        g_autofree char *kind = g_strdup_printf("%s", m->base);
        peak *k =
            shape_peak(m, kind, h, heads, kv, h / heads, ffn, vocab, tp, TM_DTYPE_BF16, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add(&b, (uint64_t)tokens, 0, true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        g_autofree char *config = g_strdup_printf("%s tp=%" G_GINT64_FORMAT, m->base, tp);
        for (size_t i = 0; i < G_N_ELEMENTS(vidur_ops); i++) {
            if (oc[i] < 0 || cell_empty(m, oc[i]))
                continue;
            double y;
            if (!cell_time(m, oc[i], 1e-3, &y, error))
                return FALSE;
            const tm_op *o = find_op(&det, vidur_ops[i].op);
            g_assert(o != NULL);
            tm_calib_op op = calib_op(o, true);
            sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL};
            g_autofree char *key =
                g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                vidur_ops[i].vidur, h, heads, ffn, tokens, tp);
            g_autofree char *desc =
                g_strdup_printf("%s tokens=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                vidur_ops[i].vidur, tokens, tp);
            add_sample(m, key, y, &op, 1, &sm, desc);
        }
    }
    return more == 0;
}

static gboolean
import_vidur_attention(imp *m, GError **error)
{
    static const char *const names[] = {
        "n_embd",     "n_q_head",           "n_kv_head",     "num_tensor_parallel_workers",
        "batch_size", "prefill_chunk_size", "kv_cache_size", "is_prefill",
        NULL};
    int c[BASE_STRV_N(names)];
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!need_col(m, names[i], &c[i], error))
            return FALSE;
    int yp = base_csv_col(m->c, "time_stats.attn_prefill.median");
    int yd = base_csv_col(m->c, "time_stats.attn_decode.median");
    if (!resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[7];
        for (size_t i = 0; i < 7; i++)
            if (!cell_int(m, c[i], i == 5 || i == 6 ? 0 : 1, &v[i], error))
                return FALSE;
        bool prefill = g_ascii_strcasecmp(base_csv_field(m->c, (size_t)c[7]), "true") == 0;
        int ycol = prefill ? yp : yd;
        if (ycol < 0 || cell_empty(m, ycol)) {
            skip(m, prefill ? "prefill row without time_stats.attn_prefill.median"
                            : "decode row without time_stats.attn_decode.median");
            continue;
        }
        double y;
        if (!cell_time(m, ycol, 1e-3, &y, error))
            return FALSE;
        int64_t h = v[0], heads = v[1], kv = v[2], tp = v[3], batch = v[4], chunk = v[5],
                ctx = v[6];
        if (prefill && chunk < 1) {
            base_csv_set_error(m->c, c[5], error, "must be ≥ 1 on a prefill row");
            return FALSE;
        }
        peak *k = shape_peak(m, "vidur-attention", h, heads, kv, h / heads, h, 1024 * tp, tp,
                             TM_DTYPE_BF16, error);
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
        size_t n = attention_ops(&det, ops, &pre, &dec);
        g_autofree char *config = g_strdup_printf("attention heads=%" G_GINT64_FORMAT
                                                  "/%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                                  heads, kv, tp);
        sample_meta sm = {att_regime(pre, dec), config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL};
        g_autofree char *key =
            g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                            "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                            prefill, heads, kv, tp, batch, chunk, ctx);
        g_autofree char *desc = g_strdup_printf(
            "%s batch=%" G_GINT64_FORMAT " chunk=%" G_GINT64_FORMAT " kv=%" G_GINT64_FORMAT,
            prefill ? "attn_prefill" : "attn_decode", batch, chunk, ctx);
        add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

/* A collective sample: bandwidth part scaled by βx, the link latency as a fixed offset (the
 * roofline adds it unscaled), one kernel. */
static void
add_collective(imp *m,
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
    sample_meta sm = {TM_REGIME_COLLECTIVE, config, 0.0, x, l->latency_s, 0.0, 0.0, NULL};
    g_autofree char *desc = g_strdup_printf("%s n=%.0f bytes=%.0f", kname, n, bytes);
    add_sample(m, key, y, NULL, 0, &sm, desc);
}

static gboolean
collective_kind(const char *s, tm_collective *out)
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

static gboolean
import_vidur_network(imp *m, GError **error)
{
    int cc, nc, sc, dc;
    if (!need_col(m, "collective", &cc, error) || !need_col(m, "num_workers", &nc, error) ||
        !need_col(m, "size", &sc, error))
        return FALSE;
    dc = base_csv_col(m->c, "devices_per_node");
    if (!resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        const char *coll = base_csv_field(m->c, (size_t)cc);
        tm_collective kind;
        if (!collective_kind(coll, &kind)) {
            base_csv_set_error(m->c, cc, error, "unknown collective '%s'", coll);
            return FALSE;
        }
        g_autofree char *ycol_name = g_strdup_printf("time_stats.%s.median", coll);
        int yc = base_csv_col(m->c, ycol_name);
        if (yc < 0) {
            row_error(m, error, "missing column %s for collective %s", ycol_name, coll);
            return FALSE;
        }
        int64_t n, bytes, dpn = INT64_MAX;
        double y;
        if (!cell_int(m, nc, 2, &n, error) || !cell_size(m, sc, 1, &bytes, error) ||
            (dc >= 0 && !cell_int(m, dc, 1, &dpn, error)) || !cell_time(m, yc, 1e-3, &y, error))
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
            sample_meta sm = {TM_REGIME_COLLECTIVE, config, 0.0, x, l->latency_s, 0.0, 0.0, NULL};
            g_autofree char *desc = g_strdup_printf(
                "%s n=%" G_GINT64_FORMAT " bytes=%" G_GINT64_FORMAT " network", coll, n, bytes);
            add_sample(m, key, y, NULL, 0, &sm, desc);
            continue;
        }
        g_autofree char *config = g_strdup_printf("%s n=%" G_GINT64_FORMAT, coll, n);
        g_autofree char *key =
            g_strdup_printf("%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT, coll, n, bytes);
        add_collective(m, kind, coll, (double)n, (double)bytes, be, y, config, key);
    }
    return more == 0;
}

/* ---- aiconfigurator ------------------------------------------------------------------------ */

/* Bytes per element of a dtype name as aiconfigurator writes them. */
static gboolean
dtype_cell(imp *m, int col, tm_dtype *d, double *bytes, GError **error)
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

static gboolean
import_aic_gemm(imp *m, GError **error)
{
    int mc, nc, kc, yc, dc;
    if (!need_col(m, "m", &mc, error) || !need_col(m, "n", &nc, error) ||
        !need_col(m, "k", &kc, error) || !need_col(m, "latency", &yc, error))
        return FALSE;
    dc = base_csv_col(m->c, "gemm_dtype");
    if (!resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t mm, nn, kk;
        double y, bw = 2.0;
        tm_dtype dt = TM_DTYPE_BF16;
        if (!cell_int(m, mc, 1, &mm, error) || !cell_int(m, nc, 1, &nn, error) ||
            !cell_int(m, kc, 1, &kk, error) || !cell_time(m, yc, 1e-3, &y, error) ||
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
        sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0.0, 0.0, 0.0, 0.0, NULL};
        add_sample(m, key, y, &op, 1, &sm, desc);
    }
    return more == 0;
}

static gboolean
import_aic_attention(imp *m, GError **error)
{
    static const char *const names[] = {"batch_size", "isl",  "num_heads", "num_key_value_heads",
                                        "head_dim",   "step", "latency",   "op_name",
                                        NULL};
    int c[BASE_STRV_N(names)];
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!need_col(m, names[i], &c[i], error))
            return FALSE;
    int kvc = base_csv_col(m->c, "kv_cache_dtype"), bwc = base_csv_col(m->c, "beam_width");
    if (!resolve_table(m, false, error))
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
            if (!cell_int(m, c[i], i == 5 ? 0 : 1, &v[i], error))
                return FALSE;
        double y;
        if (!cell_time(m, c[6], 1e-3, &y, error))
            return FALSE;
        int64_t beam = 1;
        if (bwc >= 0 && !cell_int_def(m, bwc, 1, 1, &beam, error))
            return FALSE;
        if (beam != 1) {
            skip(m, "beam_width > 1");
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
        peak *k =
            shape_peak(m, "aic-attention", heads * d, heads, kv, d, 1024, 1024, 1, kvd, error);
        if (k == NULL)
            return FALSE;
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add_n(&b, (uint32_t)batch, context ? (uint64_t)isl : 1, (uint64_t)step, true);
        tm_roofline_detail det;
        tm_roofline_eval(k->tm, &b, &det);
        tm_calib_op ops[4];
        bool pre, dec;
        size_t n = attention_ops(&det, ops, &pre, &dec);
        g_autofree char *config =
            g_strdup_printf("%s heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, opn, heads, kv);
        sample_meta sm = {
            context ? TM_REGIME_PREFILL : TM_REGIME_DECODE, config, 1.0, 0, 0, 0, 0, NULL};
        g_autofree char *key =
            g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                            "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d",
                            context, batch, isl, heads, kv, d, step, (int)kvd);
        g_autofree char *desc = g_strdup_printf("%s batch=%" G_GINT64_FORMAT
                                                " isl=%" G_GINT64_FORMAT " step=%" G_GINT64_FORMAT
                                                " heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                                opn, batch, isl, step, heads, kv);
        add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

static gboolean
import_aic_comm(imp *m, bool nccl, GError **error)
{
    int gc, sc, yc, oc, dc, kc;
    if (!need_col(m, "num_gpus", &gc, error) || !need_col(m, "message_size", &sc, error) ||
        !need_col(m, "latency", &yc, error) || !need_col(m, "op_name", &oc, error) ||
        !need_col(m, nccl ? "nccl_dtype" : "allreduce_dtype", &dc, error))
        return FALSE;
    kc = base_csv_col(m->c, "kernel_source");
    if (!resolve_table(m, false, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        if (!nccl && kc >= 0 && strstr(base_csv_field(m->c, (size_t)kc), "eager") != NULL) {
            /* vLLM captures its decode steps in CUDA graphs; eager rows add Python launch
             * overhead the step model does not want */
            skip(m, "eager-mode custom all-reduce (CUDA-graph rows are used)");
            continue;
        }
        const char *opn = base_csv_field(m->c, (size_t)oc);
        tm_collective kind;
        if (!collective_kind(opn, &kind)) {
            base_csv_set_error(m->c, oc, error, "unknown collective '%s'", opn);
            return FALSE;
        }
        int64_t n, elems;
        double y, eb;
        tm_dtype dt;
        if (!cell_int(m, gc, 2, &n, error) || !cell_size(m, sc, 1, &elems, error) ||
            !cell_time(m, yc, 1e-3, &y, error) || !dtype_cell(m, dc, &dt, &eb, error))
            return FALSE;
        double bytes = (double)elems * eb;
        g_autofree char *config =
            g_strdup_printf("%s%s n=%" G_GINT64_FORMAT, nccl ? "nccl " : "custom ", opn, n);
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT "|%.0f|%s", opn, n, bytes,
                                               base_csv_field(m->c, (size_t)dc));
        add_collective(m, kind, opn, (double)n, bytes, m->hw.default_backend, y, config, key);
    }
    return more == 0;
}

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
import_lss_layers(imp *m, bool per_seq, GError **error)
{
    int lc, nc, yc;
    if (!need_col(m, "layer", &lc, error) ||
        !need_col(m, per_seq ? "sequences" : "tokens", &nc, error) ||
        !need_col(m, "time_us", &yc, error))
        return FALSE;
    if (!resolve_table(m, true, error))
        return FALSE;
    peak *k = model_peak(m, error);
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
            skip(m, why);
            continue;
        }
        int64_t n;
        double y;
        if (!cell_int(m, nc, 1, &n, error) || !cell_time(m, yc, 1e-6, &y, error))
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
        const tm_op *o = find_op(&det, opname);
        if (o == NULL) {
            g_autofree char *why =
                g_strdup_printf("%s rows (no %s operator in %s)", layer, opname, m->model_name);
            skip(m, why);
            continue;
        }
        tm_calib_op op = calib_op(o, true);
        sample_meta sm = {TM_REGIME_LINEAR, config, 1.0, 0, 0, 0, 0, NULL};
        g_autofree char *key = g_strdup_printf("%s|%" G_GINT64_FORMAT, layer, n);
        g_autofree char *desc =
            g_strdup_printf("%s %s=%" G_GINT64_FORMAT, layer, per_seq ? "sequences" : "tokens", n);
        add_sample(m, key, y, &op, 1, &sm, desc);
    }
    return more == 0;
}

static gboolean
import_lss_attention(imp *m, GError **error)
{
    static const char *const names[] = {"prefill_chunk", "kv_prefill", "n_decode",
                                        "kv_decode",     "time_us",    NULL};
    int c[5];
    for (int i = 0; i < 5; i++)
        if (!need_col(m, names[i], &c[i], error))
            return FALSE;
    if (!resolve_table(m, true, error))
        return FALSE;
    peak *k = model_peak(m, error);
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
            if (!cell_int(m, c[i], 0, &v[i], error))
                return FALSE;
        if (!cell_time(m, c[4], 1e-6, &y, error))
            return FALSE;
        if (v[0] == 0 && v[2] == 0) {
            skip(m, "empty batch (no chunk, no decodes)");
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
        size_t n = attention_ops(&det, ops, &pre, &dec);
        sample_meta sm = {att_regime(pre, dec), config, 1.0, 0, 0, 0, 0, NULL};
        g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                               "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                               v[0], v[1], v[2], v[3]);
        g_autofree char *desc =
            g_strdup_printf("attention chunk=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT
                            " decode=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
                            v[0], v[1], v[2], v[3]);
        add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

/* v0 profiler layers: separate q/k/v and gate/up GEMMs (priced with tm_gemm_work on the model's
 * per-GPU dimensions), norms, activation, attention without cache, lm-head over every token. */
static gboolean
import_lss_v0(imp *m, GError **error)
{
    int lc, ic, kc, tc, yc;
    if (!need_col(m, "layer_name", &lc, error) || !need_col(m, "input", &ic, error) ||
        !need_col(m, "kv_cache", &kc, error) || !need_col(m, "tp_size", &tc, error) ||
        !need_col(m, "latency(ns)", &yc, error))
        return FALSE;
    if (!resolve_table(m, true, error))
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
        if (!cell_int(m, ic, 1, &in, error) || !cell_int(m, kc, 0, &kv, error) ||
            !cell_int(m, tc, 1, &tp, error) || !cell_time(m, yc, 1e-9, &y, error))
            return FALSE;
        peak *k = model_peak_of(m, m->model_name, tp, error);
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
                n = attention_ops(&det, ops, &pre, &dec);
                rg = att_regime(pre, dec);
            } else {
                const char *opname = lss_op(layer);
                const tm_op *o = opname != NULL ? find_op(&det, opname) : NULL;
                if (o != NULL)
                    ops[n++] = calib_op(o, true);
            }
        }
        if (n == 0) {
            g_autofree char *why = g_strdup_printf("%s rows (no roofline operator)", layer);
            skip(m, why);
            continue;
        }
        g_autofree char *config =
            g_strdup_printf("%s tp=%" G_GINT64_FORMAT " v0", m->model_name, tp);
        sample_meta sm = {rg, config, 1.0, 0, 0, 0, 0, NULL};
        g_autofree char *key = g_strdup_printf(
            "%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT, layer, in, kv, tp);
        g_autofree char *desc = g_strdup_printf("%s input=%" G_GINT64_FORMAT " kv=%" G_GINT64_FORMAT
                                                " tp=%" G_GINT64_FORMAT,
                                                layer, in, kv, tp);
        add_sample(m, key, y, ops, n, &sm, desc);
    }
    return more == 0;
}

/* ---- composed steps --------------------------------------------------------------------- */

typedef struct {
    double x, y;
} xy;

/* y(x) from table rows; replicated x merged into their median. */
typedef struct {
    GArray *pts; /* xy, ascending x once finished */
    bool done;
} series;

static series *
series_new(void)
{
    series *s = g_new0(series, 1);
    s->pts = g_array_new(FALSE, FALSE, sizeof(xy));
    return s;
}

static void
series_free(gpointer p)
{
    series *s = p;
    g_array_free(s->pts, TRUE);
    g_free(s);
}

static series *
series_get(GHashTable *h, const char *key)
{
    series *s = g_hash_table_lookup(h, key);
    if (s == NULL) {
        s = series_new();
        g_hash_table_insert(h, g_strdup(key), s);
    }
    return s;
}

static void
series_add(series *s, double x, double y)
{
    xy p = {x, y};
    g_array_append_val(s->pts, p);
    s->done = false;
}

static int
cmp_xy(const void *a, const void *b)
{
    const xy *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->y > q->y) - (p->y < q->y);
}

static void
series_finish(series *s)
{
    if (s->done)
        return;
    xy *p = (xy *)(void *)s->pts->data;
    size_t n = s->pts->len, w = 0;
    qsort(p, n, sizeof *p, cmp_xy);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j].x == p[i].x)
            j++;
        /* median of the replicates p[i..j), already sorted by y */
        double y = (j - i) % 2 ? p[i + (j - i) / 2].y
                               : 0.5 * (p[i + (j - i) / 2 - 1].y + p[i + (j - i) / 2].y);
        p[w++] = (xy){p[i].x, y};
        i = j;
    }
    g_array_set_size(s->pts, (guint)w);
    s->done = true;
}

/* Linear interpolation inside [x_first, x_last]; false outside. */
static bool
series_at(series *s, double x, double *y)
{
    series_finish(s);
    const xy *p = (const xy *)(const void *)s->pts->data;
    size_t n = s->pts->len;
    if (n == 0 || x < p[0].x || x > p[n - 1].x)
        return false;
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p[mid].x <= x)
            lo = mid;
        else
            hi = mid;
    }
    if (p[lo].x == x || lo == hi) {
        *y = p[lo].y;
        return true;
    }
    double f = (x - p[lo].x) / (p[hi].x - p[lo].x);
    *y = p[lo].y + f * (p[hi].y - p[lo].y);
    return true;
}

/* Log-log interpolation (collective time vs message size); below the first point its value
 * (the latency floor); false above the last. */
static bool
series_at_loglog(series *s, double x, double *y)
{
    series_finish(s);
    const xy *p = (const xy *)(const void *)s->pts->data;
    size_t n = s->pts->len;
    if (n == 0 || x > p[n - 1].x)
        return false;
    if (x <= p[0].x) {
        *y = p[0].y;
        return true;
    }
    size_t i = 1;
    while (p[i].x < x)
        i++;
    double f = log(x / p[i - 1].x) / log(p[i].x / p[i - 1].x);
    *y = exp(log(p[i - 1].y) + f * log(p[i].y / p[i - 1].y));
    return true;
}

/* Replaces the current table of M with PATH. */
static gboolean
open_table(imp *m, const char *path, GError **error)
{
    base_csv_free(m->c);
    m->c = base_csv_open(path, 0, BASE_CSV_HEADER, error);
    if (m->c == NULL)
        return FALSE;
    g_free(m->base);
    m->base = g_path_get_basename(path);
    return TRUE;
}

/* LLMServingSim layer tables (dense.csv, per_sequence.csv) into layer → series. */
static gboolean
read_layers(imp *m, const char *path, const char *xcol, GHashTable *out, GError **error)
{
    int lc, xc, yc;
    if (!open_table(m, path, error) || !need_col(m, "layer", &lc, error) ||
        !need_col(m, xcol, &xc, error) || !need_col(m, "time_us", &yc, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        int64_t x;
        double y;
        if (!cell_int(m, xc, 1, &x, error) || !cell_time(m, yc, 1e-6, &y, error))
            return FALSE;
        series_add(series_get(out, base_csv_field(m->c, (size_t)lc)), (double)x, y);
    }
    return more == 0;
}

static gboolean
compose_profile(imp *m, const char *dir, GError **error)
{
    g_autofree char *dense = g_build_filename(dir, "dense.csv", NULL);
    g_autofree char *att = g_build_filename(dir, "attention.csv", NULL);
    g_autofree char *seq = g_build_filename(dir, "per_sequence.csv", NULL);
    m->path = att; /* meta.yaml and tpN are found from it */
    m->info->format = TM_CALIB_FMT_LSS_PROFILE;
    if (!resolve_table(m, true, error))
        return FALSE;
    peak *k = model_peak(m, error);
    if (k == NULL)
        return FALSE;
    g_autoptr(GHashTable) ds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    g_autoptr(GHashTable) ss = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    if (!read_layers(m, dense, "tokens", ds, error) || !read_layers(m, seq, "sequences", ss, error))
        return FALSE;
    static const char *const per_layer[] = {"layernorm", "qkv_proj",  "o_proj", "gate_up_proj",
                                            "act_fn",    "down_proj", NULL};
    static const char *const per_step[] = {"embedding", "final_layernorm", NULL};
    for (size_t i = 0; i < BASE_STRV_N(per_layer); i++) {
        if (g_hash_table_lookup(ds, per_layer[i]) == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: no %s rows: this profile cannot be composed into steps%s", dense,
                        per_layer[i],
                        strcmp(per_layer[i], "gate_up_proj") == 0
                            ? " (an MoE model: its expert layers are in moe.csv, which is not "
                              "imported)"
                            : "");
            return FALSE;
        }
    }
    for (size_t i = 0; i < BASE_STRV_N(per_step); i++) {
        if (g_hash_table_lookup(ds, per_step[i]) == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: no %s rows", dense, per_step[i]);
            return FALSE;
        }
    }
    series *lm = g_hash_table_lookup(ss, "lm_head"), *sam = g_hash_table_lookup(ss, "sampler");
    if (lm == NULL || sam == NULL) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: needs lm_head and sampler rows", seq);
        return FALSE;
    }
    series *rot = g_hash_table_lookup(ds, "rotary_emb");
    double L = (double)k->model->layers;
    g_autofree char *config =
        g_strdup_printf("%s tp=%" G_GINT64_FORMAT " steps", m->model_name, m->tp);
    int c[5];
    static const char *const names[] = {"prefill_chunk", "kv_prefill", "n_decode",
                                        "kv_decode",     "time_us",    NULL};
    if (!open_table(m, att, error))
        return FALSE;
    for (int i = 0; i < 5; i++)
        if (!need_col(m, names[i], &c[i], error))
            return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[4];
        double ya;
        for (int i = 0; i < 4; i++)
            if (!cell_int(m, c[i], 0, &v[i], error))
                return FALSE;
        if (!cell_time(m, c[4], 1e-6, &ya, error))
            return FALSE;
        double T = (double)(v[0] + v[2]), S = (double)(v[2] + (v[0] > 0 ? 1 : 0));
        if (T == 0) {
            skip(m, "empty batch (no chunk, no decodes)");
            continue;
        }
        double layer = ya, t, step = 0.0;
        bool ok = true;
        for (size_t i = 0; i < BASE_STRV_N(per_layer) && ok; i++) {
            ok = series_at(g_hash_table_lookup(ds, per_layer[i]), T, &t);
            /* two RMSNorms per layer (input and post-attention) */
            layer += strcmp(per_layer[i], "layernorm") == 0 ? 2.0 * t : t;
        }
        if (ok && rot != NULL) {
            ok = series_at(rot, T, &t);
            layer += t;
        }
        for (size_t i = 0; i < BASE_STRV_N(per_step) && ok; i++) {
            ok = series_at(g_hash_table_lookup(ds, per_step[i]), T, &t);
            step += t;
        }
        if (!ok) {
            skip(m, "steps with more tokens than dense.csv covers");
            continue;
        }
        double tl, ts;
        if (!series_at(lm, S, &tl) || !series_at(sam, S, &ts)) {
            skip(m, "steps with more sequences than per_sequence.csv covers");
            continue;
        }
        double y = L * layer + step + tl + ts;
        tm_batch b;
        tm_batch_init(&b, k->topk);
        if (v[0] > 0)
            tm_batch_add(&b, (uint64_t)v[0], (uint64_t)v[1], true);
        tm_batch_add_n(&b, (uint32_t)v[2], 1, (uint64_t)v[3], true);
        stepacc a = {0};
        /* a profile of a TP shard runs on one GPU: no collectives were measured */
        stepacc_add(&a, k, &b, NULL, COMM_NONE);
        g_autofree char *desc = g_strdup_printf("step chunk=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT
                                                " decode=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
                                                v[0], v[1], v[2], v[3]);
        add_step_sample(m, y, &a, config, desc);
    }
    return more == 0;
}

/* The preset a Vidur profile file is named after ("compute_h100_meta-llama_Llama-2-7b-hf_mlp.csv"
 * → llama-2-7b; "..._CodeLlama-34b-Instruct-hf_mlp.csv" → codellama-34b). */
static char *
vidur_model(const char *base)
{
    g_autofree char *s = g_ascii_strdown(base, -1);
    if (g_str_has_suffix(s, "_mlp.csv"))
        s[strlen(s) - strlen("_mlp.csv")] = '\0';
    const char *name = strrchr(s, '_') != NULL ? strrchr(s, '_') + 1 : s;
    g_autofree char *n = g_strdup(name);
    static const char *const suffixes[] = {"-hf", "-instruct", NULL};
    for (size_t i = 0; i < BASE_STRV_N(suffixes); i++)
        if (g_str_has_suffix(n, suffixes[i]))
            n[strlen(n) - strlen(suffixes[i])] = '\0';
    return g_steal_pointer(&n);
}

typedef struct {
    bool context;
    int64_t heads, kv, batch, x; /* x: isl (context) or step (generation) */
    GArray *y;
} att_entry;

static void
att_entry_free(gpointer p)
{
    att_entry *e = p;
    g_array_free(e->y, TRUE);
    g_free(e);
}

static int
cmp_att(const void *a, const void *b)
{
    const att_entry *p = *(const att_entry *const *)a, *q = *(const att_entry *const *)b;
#define CMP(f)                                                                                     \
    if (p->f != q->f)                                                                              \
        return p->f < q->f ? -1 : 1;
    CMP(context)
    CMP(heads)
    CMP(kv)
    CMP(batch)
    CMP(x)
#undef CMP
    return 0;
}

static gboolean
read_aic_attention(imp *m, const char *path, GHashTable *by_key, GPtrArray *list, GError **error)
{
    static const char *const names[] = {"batch_size", "isl",  "num_heads", "num_key_value_heads",
                                        "head_dim",   "step", "latency",   "op_name",
                                        NULL};
    int c[BASE_STRV_N(names)];
    if (!open_table(m, path, error))
        return FALSE;
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!need_col(m, names[i], &c[i], error))
            return FALSE;
    int kvc = base_csv_col(m->c, "kv_cache_dtype");
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        const char *opn = base_csv_field(m->c, (size_t)c[7]);
        bool context = strcmp(opn, "context_attention") == 0;
        if (!context && strcmp(opn, "generation_attention") != 0) {
            base_csv_set_error(m->c, c[7], error,
                               "expected context_attention or generation_attention, got '%s'", opn);
            return FALSE;
        }
        if (kvc >= 0 && g_ascii_strcasecmp(base_csv_field(m->c, (size_t)kvc), "bfloat16") != 0 &&
            g_ascii_strcasecmp(base_csv_field(m->c, (size_t)kvc), "float16") != 0)
            continue; /* the composed steps use a 16-bit KV cache */
        int64_t v[6];
        double y;
        for (int i = 0; i < 6; i++)
            if (!cell_int(m, c[i], i == 5 ? 0 : 1, &v[i], error))
                return FALSE;
        if (!cell_time(m, c[6], 1e-3, &y, error))
            return FALSE;
        if (v[4] != 128)
            continue; /* head_dim of the Vidur models */
        int64_t x = context ? v[1] : v[5];
        g_autofree char *key = g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                               "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                               context, v[2], v[3], v[0], x);
        att_entry *e = g_hash_table_lookup(by_key, key);
        if (e == NULL) {
            e = g_new0(att_entry, 1);
            *e = (att_entry){context, v[2], v[3],
                             v[0],    x,    g_array_new(FALSE, FALSE, sizeof(double))};
            g_hash_table_insert(by_key, g_steal_pointer(&key), e);
            g_ptr_array_add(list, e);
        }
        g_array_append_val(e->y, y);
    }
    return more == 0;
}

static double
median_of(GArray *a)
{
    double *y = (double *)(void *)a->data;
    base_sort_doubles(y, a->len);
    return base_percentile_sorted(y, a->len, 50);
}

/* The Vidur operators a composed step takes: the linear layers. Vidur's norms, rotary,
 * residual adds, activation and embedding are unfused PyTorch kernels (2.5x the roofline's
 * bytes at 4096 tokens where vLLM's fused ones are at ~0.8x, LLMServingSim RTX 4090): they are
 * left out of both sides, so the elementwise efficiency keeps its default. */
static const struct {
    const char *op;
    double per_layer;
} vidur_layer_ops[] = {
    {"attn_pre_proj", 1},
    {"attn_post_proj", 1},
    {"mlp_up_proj", 1},
    {"mlp_down_proj", 1},
};

/* Roofline operators the composed Vidur + aiconfigurator steps do not cover. */
static const char *const not_in_vidur_steps[] = {
    "lm-head",       "sampler", "final-norm", "input-norm",
    "mlp.post-norm", "mlp.act", "embedding",  NULL};

static gboolean
compose_tables(imp *m,
               const char *mlp,
               const char *const *attention,
               size_t n_att,
               const char *allreduce,
               GError **error)
{
    m->path = mlp;
    m->info->format = TM_CALIB_FMT_COMPOSED;
    if (!resolve_table(m, false, error))
        return FALSE;
    g_autofree char *base = g_path_get_basename(mlp);
    m->model_name = m->o->tm->model != NULL ? g_strdup(m->o->tm->model) : vidur_model(base);
    /* Vidur: per tp, op → series over tokens */
    g_autoptr(GHashTable) vid = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    GArray *tps = g_array_new(FALSE, FALSE, sizeof(int64_t));
    static const char *const shape[] = {"n_embd",
                                        "n_head",
                                        "n_kv_head",
                                        "n_expanded_embd",
                                        "vocab_size",
                                        "num_tokens",
                                        "num_tensor_parallel_workers",
                                        NULL};
    int sc[BASE_STRV_N(shape)];
    int more = 0;
    gboolean ok = open_table(m, mlp, error);
    for (size_t i = 0; ok && i < BASE_STRV_N(shape); i++)
        ok = need_col(m, shape[i], &sc[i], error);
    int oc[G_N_ELEMENTS(vidur_layer_ops)];
    for (size_t i = 0; ok && i < G_N_ELEMENTS(vidur_layer_ops); i++) {
        const char *op = vidur_layer_ops[i].op;
        g_autofree char *col = g_strdup_printf("time_stats.%s.median", op);
        ok = need_col(m, col, &oc[i], error);
    }
    g_auto(tm_model_spec) spec = {0};
    if (ok && !tm_model_spec_load(&spec, m->model_name, error)) {
        g_prefix_error(error, "%s: the Vidur model (pass --model): ", mlp);
        ok = FALSE;
    }
    while (ok && (more = base_csv_next(m->c, error)) > 0) {
        int64_t v[BASE_STRV_N(shape)];
        for (size_t i = 0; ok && i < BASE_STRV_N(shape); i++)
            ok = cell_int(m, sc[i], 1, &v[i], error);
        if (!ok)
            break;
        /* (Vidur pads the vocabulary; the composed steps have no lm-head) */
        if (v[0] != spec.hidden || v[1] != spec.heads || v[2] != spec.kv_heads ||
            v[3] != spec.ffn) {
            row_error(m, error,
                      "shape (hidden %" G_GINT64_FORMAT ", heads %" G_GINT64_FORMAT
                      "/%" G_GINT64_FORMAT ", ffn %" G_GINT64_FORMAT ", vocab %" G_GINT64_FORMAT
                      ") is not that of model %s; pass --model",
                      v[0], v[1], v[2], v[3], v[4], m->model_name);
            ok = FALSE;
            break;
        }
        bool seen = false;
        for (guint i = 0; i < tps->len; i++)
            seen |= g_array_index(tps, int64_t, i) == v[6];
        if (!seen)
            g_array_append_val(tps, v[6]);
        for (size_t i = 0; ok && i < G_N_ELEMENTS(vidur_layer_ops); i++) {
            double y;
            ok = cell_time(m, oc[i], 1e-3, &y, error);
            const char *op = vidur_layer_ops[i].op;
            g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT "|%s", v[6], op);
            if (ok)
                series_add(series_get(vid, key), (double)v[5], y);
        }
    }
    if (ok && more < 0)
        ok = FALSE;
    /* aiconfigurator attention and all-reduce */
    g_autoptr(GHashTable) akeys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) alist = g_ptr_array_new_with_free_func(att_entry_free);
    for (size_t i = 0; ok && i < n_att; i++)
        ok = read_aic_attention(m, attention[i], akeys, alist, error);
    g_ptr_array_sort(alist, cmp_att);
    g_autoptr(GHashTable) ars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    if (ok && allreduce != NULL) {
        int gc, mc, yc, kc;
        ok = open_table(m, allreduce, error) && need_col(m, "num_gpus", &gc, error) &&
             need_col(m, "message_size", &mc, error) && need_col(m, "latency", &yc, error);
        kc = ok ? base_csv_col(m->c, "kernel_source") : -1;
        while (ok && (more = base_csv_next(m->c, error)) > 0) {
            if (kc >= 0 && strstr(base_csv_field(m->c, (size_t)kc), "eager") != NULL)
                continue; /* CUDA-graph rows, as vLLM runs its steps */
            int64_t n, elems;
            double y;
            ok = cell_int(m, gc, 2, &n, error) && cell_size(m, mc, 1, &elems, error) &&
                 cell_time(m, yc, 1e-3, &y, error);
            g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT, n);
            if (ok)
                series_add(series_get(ars, key), (double)elems, y);
        }
    }
    if (ok && more < 0)
        ok = FALSE;
    base_csv_free(g_steal_pointer(&m->c));
    g_free(m->base);
    m->base = g_strdup(base);
    for (guint t = 0; ok && t < tps->len; t++) {
        int64_t tp = g_array_index(tps, int64_t, t);
        tm_parallel par = tm_parallel_make(tp, 1, 1, false);
        GError *e = NULL;
        if (!tm_model_check_parallel(&spec, &par, &e)) {
            g_error_free(e);
            skip(m, "TP degrees that do not divide the model");
            continue;
        }
        double weights = tm_model_weight_bytes_gpu(&spec, TM_DTYPE_BF16, &par);
        double budget = 0.9 * m->hw.memory_bytes - weights;
        if (budget <= 0) {
            g_autofree char *why = g_strdup_printf("tp=%" G_GINT64_FORMAT " (the weights do not "
                                                   "fit one GPU)",
                                                   tp);
            skip(m, why);
            continue;
        }
        g_autofree char *tkey = g_strdup_printf("%" G_GINT64_FORMAT, tp);
        series *ar = tp > 1 ? g_hash_table_lookup(ars, tkey) : NULL;
        if (tp > 1 && ar == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: composing tp=%" G_GINT64_FORMAT " steps needs an all-reduce table "
                        "with num_gpus %" G_GINT64_FORMAT " (aiconfigurator custom all-reduce)",
                        mlp, tp, tp);
            ok = FALSE;
            break;
        }
        peak *k = model_peak_of(m, m->model_name, tp, error);
        if (k == NULL) {
            ok = FALSE;
            break;
        }
        int64_t hg = spec.heads / tp, kg = tm_model_kv_heads_per_gpu(&spec, tp);
        double kvb = tm_model_kv_bytes_per_token_gpu(&spec, TM_DTYPE_BF16, &par);
        double L = (double)spec.layers, h = (double)spec.hidden;
        g_autofree char *config =
            g_strdup_printf("%s tp=%" G_GINT64_FORMAT " steps", m->model_name, tp);
        for (guint i = 0; i < alist->len; i++) {
            const att_entry *ae = alist->pdata[i];
            if (ae->heads != hg || ae->kv != kg)
                continue;
            m->info->rows++;
            double T = ae->context ? (double)(ae->batch * ae->x) : (double)ae->batch;
            double ctx = ae->context ? (double)ae->x : (double)ae->x + 1.0;
            if (ctx > (double)spec.max_position_embeddings) {
                skip(m, "contexts beyond the model's max_position_embeddings");
                continue;
            }
            if ((double)ae->batch * ctx * kvb > budget) {
                skip(m, "batches whose KV cache does not fit in GPU memory");
                continue;
            }
            double layer = median_of(ae->y), x;
            bool in = true;
            for (size_t j = 0; j < G_N_ELEMENTS(vidur_layer_ops) && in; j++) {
                g_autofree char *key =
                    g_strdup_printf("%" G_GINT64_FORMAT "|%s", tp, vidur_layer_ops[j].op);
                in = series_at(g_hash_table_lookup(vid, key), T, &x);
                layer += vidur_layer_ops[j].per_layer * x;
            }
            if (!in) {
                skip(m, "steps with more tokens than the Vidur table covers");
                continue;
            }
            if (ar != NULL) {
                if (!series_at_loglog(ar, T * h, &x)) {
                    skip(m, "all-reduce messages beyond the all-reduce table");
                    continue;
                }
                layer += 2.0 * x;
            }
            tm_batch b;
            tm_batch_init(&b, 0);
            tm_batch_add_n(&b, (uint32_t)ae->batch, ae->context ? (uint64_t)ae->x : 1,
                           ae->context ? 0 : (uint64_t)ae->x, true);
            stepacc a = {0};
            stepacc_add(&a, k, &b, not_in_vidur_steps, COMM_TP_ALLREDUCE);
            g_autofree char *desc = g_strdup_printf("%s batch=%" G_GINT64_FORMAT
                                                    " %s=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                                    ae->context ? "prefill" : "decode", ae->batch,
                                                    ae->context ? "isl" : "ctx", ae->x, tp);
            add_step_sample(m, L * layer, &a, config, desc);
        }
    }
    g_array_free(tps, TRUE);
    if (ok) {
        g_free(m->info->model);
        m->info->model = g_strdup(m->model_name);
    }
    return ok;
}

/* ---- detection and known columns ------------------------------------------------------------ */

static bool
has(const base_csv *c, const char *name)
{
    return base_csv_col(c, name) >= 0;
}

static tm_calib_format
detect(const base_csv *c, const char **why_not)
{
    *why_not = NULL;
    if (has(c, "measured_step_ms"))
        return TM_CALIB_FMT_STEPS;
    if (has(c, "measured_prefill_ms") || has(c, "measured_decode_ms"))
        return TM_CALIB_FMT_MEASUREMENTS;
    if (has(c, "time_stats.attn_pre_proj.median") || has(c, "time_stats.mlp_up_proj.median"))
        return TM_CALIB_FMT_VIDUR_MLP;
    if (has(c, "time_stats.attn_prefill.median") || has(c, "time_stats.attn_decode.median"))
        return TM_CALIB_FMT_VIDUR_ATTENTION;
    if (has(c, "collective") && has(c, "num_workers") && has(c, "size"))
        return TM_CALIB_FMT_VIDUR_NETWORK;
    if (has(c, "m") && has(c, "n") && has(c, "k") && has(c, "latency"))
        return TM_CALIB_FMT_AIC_GEMM;
    if (has(c, "mla_dtype") || has(c, "architecture")) {
        *why_not = "aiconfigurator DSA module tables are not imported (a whole MLA + indexer "
                   "module per row; the roofline's DSA operators are checked against them in "
                   "tests/timemodel/test_lowerbound.c)";
        return TM_CALIB_FMT_AUTO;
    }
    if (has(c, "isl") && has(c, "num_heads") && has(c, "step") && has(c, "latency"))
        return TM_CALIB_FMT_AIC_ATTENTION;
    if (has(c, "allreduce_dtype"))
        return TM_CALIB_FMT_AIC_ALLREDUCE;
    if (has(c, "nccl_dtype"))
        return TM_CALIB_FMT_AIC_NCCL;
    if (has(c, "prefill_chunk") && has(c, "n_decode"))
        return TM_CALIB_FMT_LSS_ATTENTION;
    if (has(c, "layer") && has(c, "tokens") && has(c, "time_us"))
        return TM_CALIB_FMT_LSS_DENSE;
    if (has(c, "layer") && has(c, "sequences") && has(c, "time_us"))
        return TM_CALIB_FMT_LSS_PER_SEQUENCE;
    if (has(c, "activated_experts")) {
        *why_not = "LLMServingSim moe.csv is not imported (it times the expert GEMMs for a given "
                   "number of activated experts; the roofline derives that number from uniform "
                   "routing and has no operator to price a given one)";
        return TM_CALIB_FMT_AUTO;
    }
    if (has(c, "layer_name") && has(c, "latency(ns)"))
        return TM_CALIB_FMT_LSS_V0_LAYERS;
    return TM_CALIB_FMT_AUTO;
}

static const char *const known_user[] = {"tp",
                                         "dp",
                                         "pp",
                                         "model",
                                         "hardware",
                                         "dtype",
                                         "kv_cache_dtype",
                                         "batch_per_gpu",
                                         "seq_len",
                                         "decode_tokens",
                                         "grad_accum",
                                         "measured_prefill_ms",
                                         "measured_decode_ms",
                                         "predicted_prefill_ms",
                                         "predicted_decode_ms",
                                         "predicted_tpot_ms",
                                         "predicted_tokens_per_s",
                                         "predicted_tokens_per_s_per_gpu",
                                         "prefill_bottleneck",
                                         "decode_bottleneck",
                                         "error",
                                         "prefill_ape",
                                         "decode_ape",
                                         NULL};
static const char *const known_steps[] = {"tp",
                                          "dp",
                                          "pp",
                                          "model",
                                          "hardware",
                                          "dtype",
                                          "kv_cache_dtype",
                                          "step",
                                          "prefill_tokens",
                                          "prefill_seqs",
                                          "prefill_context",
                                          "decode_seqs",
                                          "decode_context",
                                          "sampled",
                                          "measured_step_ms",
                                          "predicted_step_ms",
                                          "step_ape",
                                          NULL};
static const char *const known_vidur_mlp[] = {
    "n_head",     "n_kv_head",     "n_embd",     "n_expanded_embd",
    "vocab_size", "use_gated_mlp", "num_tokens", "num_tensor_parallel_workers",
    NULL};
static const char *const known_vidur_att[] = {"n_embd",
                                              "n_q_head",
                                              "n_kv_head",
                                              "num_tensor_parallel_workers",
                                              "max_model_len",
                                              "batch_size",
                                              "prefill_chunk_size",
                                              "kv_cache_size",
                                              "is_prefill",
                                              "attention_backend",
                                              NULL};
static const char *const known_vidur_net[] = {
    "",  "rank", "num_workers", "size", "collective", "devices_per_node", "max_devices_per_node",
    NULL};
static const char *const known_aic_common[] = {"framework", "version",       "device",
                                               "op_name",   "kernel_source", NULL};
static const char *const known_aic_gemm[] = {"gemm_dtype", "m", "n", "k", "latency", NULL};
static const char *const known_aic_att[] = {
    "batch_size", "isl",        "num_heads",  "num_key_value_heads",
    "head_dim",   "beam_width", "attn_dtype", "kv_cache_dtype",
    "step",       "latency",    NULL};
static const char *const known_aic_ar[] = {"allreduce_dtype", "num_gpus", "message_size",
                                           "latency",         "backend",  NULL};
static const char *const known_aic_nccl[] = {"nccl_dtype", "num_gpus", "message_size", "latency",
                                             NULL};
static const char *const known_lss_dense[] = {"layer", "tokens", "time_us", NULL};
static const char *const known_lss_att[] = {"prefill_chunk", "kv_prefill", "n_decode",
                                            "kv_decode",     "time_us",    NULL};
static const char *const known_lss_seq[] = {"layer", "sequences", "time_us", NULL};
static const char *const known_lss_v0[] = {"layer_name", "input",       "kv_cache",
                                           "tp_size",    "latency(ns)", NULL};

static bool
known_column(tm_calib_format f, const char *col)
{
    switch (f) {
    case TM_CALIB_FMT_MEASUREMENTS:
        return in_list(known_user, col);
    case TM_CALIB_FMT_STEPS:
        return in_list(known_steps, col);
    case TM_CALIB_FMT_VIDUR_MLP:
    case TM_CALIB_FMT_VIDUR_ATTENTION:
    case TM_CALIB_FMT_VIDUR_NETWORK:
        return g_str_has_prefix(col, "time_stats.") ||
               in_list(f == TM_CALIB_FMT_VIDUR_MLP         ? known_vidur_mlp
                       : f == TM_CALIB_FMT_VIDUR_ATTENTION ? known_vidur_att
                                                           : known_vidur_net,
                       col);
    case TM_CALIB_FMT_AIC_GEMM:
    case TM_CALIB_FMT_AIC_ATTENTION:
    case TM_CALIB_FMT_AIC_ALLREDUCE:
    case TM_CALIB_FMT_AIC_NCCL:
        return in_list(known_aic_common, col) ||
               in_list(f == TM_CALIB_FMT_AIC_GEMM        ? known_aic_gemm
                       : f == TM_CALIB_FMT_AIC_ATTENTION ? known_aic_att
                       : f == TM_CALIB_FMT_AIC_ALLREDUCE ? known_aic_ar
                                                         : known_aic_nccl,
                       col);
    case TM_CALIB_FMT_LSS_DENSE:
        return in_list(known_lss_dense, col);
    case TM_CALIB_FMT_LSS_ATTENTION:
        return in_list(known_lss_att, col);
    case TM_CALIB_FMT_LSS_PER_SEQUENCE:
        return in_list(known_lss_seq, col);
    case TM_CALIB_FMT_LSS_V0_LAYERS:
        return in_list(known_lss_v0, col);
    default:
        return true;
    }
}

static gboolean
check_columns(imp *m, GError **error)
{
    GString *ign = g_string_new(NULL);
    for (size_t i = 0; i < base_csv_ncols(m->c); i++) {
        const char *col = base_csv_colname(m->c, i);
        if (known_column(m->info->format, col))
            continue;
        if (m->o->strict) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s:1: column %s: unknown column for %s input (--strict)",
                        base_csv_name(m->c), col, fmt_names[m->info->format]);
            g_string_free(ign, TRUE);
            return FALSE;
        }
        g_string_append_printf(ign, "%s%s", ign->len ? ", " : "", col);
    }
    m->info->ignored = g_string_free(ign, ign->len == 0);
    return TRUE;
}

static void
imp_init(imp *m, tm_calib_data *d, const tm_calib_import_opts *o, tm_calib_import_info *info)
{
    memset(m, 0, sizeof *m);
    m->d = d;
    m->o = o;
    m->info = info;
    m->merge = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, merge_free);
    m->dups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->skips = g_hash_table_new(g_str_hash, g_str_equal);
    m->skip_order = g_ptr_array_new_with_free_func(g_free);
    m->peaks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, peak_free);
}

/* Merges replicates and writes the skip reasons into the info. */
static void
imp_finish(imp *m)
{
    finish_merges(m);
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

static gboolean
open_input(imp *m, const char *path, tm_calib_format forced, GError **error)
{
    m->c = base_csv_open(path, 0, BASE_CSV_HEADER, error);
    if (m->c == NULL)
        return FALSE;
    m->path = path;
    m->base = g_path_get_basename(path);
    const char *why = NULL;
    tm_calib_format f = forced != TM_CALIB_FMT_AUTO ? forced : detect(m->c, &why);
    /* --predict also reads a plain scenarios CSV (shape columns, no measured ones) */
    if (f == TM_CALIB_FMT_AUTO && why == NULL && m->predicting) {
        tm_scenario_layout l;
        tm_scenario_layout_get(m->c, &l);
        if (l.col[TM_SC_BATCH] >= 0 || l.col[TM_SC_SEQ_LEN] >= 0 || l.col[TM_SC_DECODE] >= 0)
            f = TM_CALIB_FMT_MEASUREMENTS;
    }
    if (f == TM_CALIB_FMT_AUTO) {
        if (why != NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s", path, why);
            return FALSE;
        }
        GString *cols = g_string_new(NULL);
        for (size_t i = 0; i < base_csv_ncols(m->c) && i < 8; i++)
            g_string_append_printf(cols, "%s%s", i ? ", " : "", base_csv_colname(m->c, i));
        g_autofree char *all = base_strv_join(fmt_names + 1, ", "); /* all but "auto" */
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: cannot tell the input format from the header (%s%s); force one with "
                    "--input-format (%s)",
                    path, cols->str, base_csv_ncols(m->c) > 8 ? ", ..." : "", all);
        g_string_free(cols, TRUE);
        return FALSE;
    }
    m->info->format = f;
    return check_columns(m, error);
}

gboolean
tm_calib_import(tm_calib_data *d,
                const char *path,
                const tm_calib_import_opts *o,
                tm_calib_import_info *info,
                GError **error)
{
    g_return_val_if_fail(d != NULL && path != NULL && o != NULL && o->tm != NULL, FALSE);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) /* an LLMServingSim profile directory */
        return tm_calib_compose_profile(d, path, o, info, error);
    tm_calib_import_info local = {0};
    if (info == NULL)
        info = &local;
    else
        memset(info, 0, sizeof *info);
    imp m;
    imp_init(&m, d, o, info);
    gboolean ok = open_input(&m, path, o->format, error);
    if (ok) {
        m.source = tm_calib_data_source_id(d, path);
        switch (info->format) {
        case TM_CALIB_FMT_MEASUREMENTS:
            ok = import_measurements(&m, error);
            break;
        case TM_CALIB_FMT_STEPS:
            ok = import_steps(&m, error);
            break;
        case TM_CALIB_FMT_VIDUR_MLP:
            ok = import_vidur_mlp(&m, error);
            break;
        case TM_CALIB_FMT_VIDUR_ATTENTION:
            ok = import_vidur_attention(&m, error);
            break;
        case TM_CALIB_FMT_VIDUR_NETWORK:
            ok = import_vidur_network(&m, error);
            break;
        case TM_CALIB_FMT_AIC_GEMM:
            ok = import_aic_gemm(&m, error);
            break;
        case TM_CALIB_FMT_AIC_ATTENTION:
            ok = import_aic_attention(&m, error);
            break;
        case TM_CALIB_FMT_AIC_ALLREDUCE:
            ok = import_aic_comm(&m, false, error);
            break;
        case TM_CALIB_FMT_AIC_NCCL:
            ok = import_aic_comm(&m, true, error);
            break;
        case TM_CALIB_FMT_LSS_DENSE:
            ok = import_lss_layers(&m, false, error);
            break;
        case TM_CALIB_FMT_LSS_PER_SEQUENCE:
            ok = import_lss_layers(&m, true, error);
            break;
        case TM_CALIB_FMT_LSS_ATTENTION:
            ok = import_lss_attention(&m, error);
            break;
        case TM_CALIB_FMT_LSS_V0_LAYERS:
            ok = import_lss_v0(&m, error);
            break;
        default:
            g_assert_not_reached();
        }
    }
    if (ok)
        imp_finish(&m);
    imp_clear(&m);
    if (!ok)
        tm_calib_import_info_clear(info); /* nothing of a failed input is kept */
    tm_calib_import_info_clear(&local);
    return ok;
}

gboolean
tm_calib_detect_format(const char *path, tm_calib_format *out, GError **error)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        *out = TM_CALIB_FMT_LSS_PROFILE;
        return TRUE;
    }
    tm_calib_import_info info = {0};
    tm_calib_import_opts o;
    tm_calib_import_opts_defaults(&o, NULL);
    imp m;
    imp_init(&m, NULL, &o, &info);
    gboolean ok = open_input(&m, path, TM_CALIB_FMT_AUTO, error);
    *out = info.format;
    imp_clear(&m);
    tm_calib_import_info_clear(&info);
    return ok;
}

gboolean
tm_calib_compose_profile(tm_calib_data *d,
                         const char *dir,
                         const tm_calib_import_opts *o,
                         tm_calib_import_info *info,
                         GError **error)
{
    g_return_val_if_fail(d != NULL && dir != NULL && o != NULL && o->tm != NULL, FALSE);
    tm_calib_import_info local = {0};
    if (info == NULL)
        info = &local;
    else
        memset(info, 0, sizeof *info);
    imp m;
    imp_init(&m, d, o, info);
    m.source = tm_calib_data_source_id(d, dir);
    gboolean ok = compose_profile(&m, dir, error);
    if (ok)
        imp_finish(&m);
    imp_clear(&m);
    if (!ok)
        tm_calib_import_info_clear(info); /* nothing of a failed input is kept */
    tm_calib_import_info_clear(&local);
    return ok;
}

gboolean
tm_calib_compose_tables(tm_calib_data *d,
                        const char *mlp,
                        const char *const *attention,
                        size_t n_attention,
                        const char *allreduce,
                        const tm_calib_import_opts *o,
                        tm_calib_import_info *info,
                        GError **error)
{
    g_return_val_if_fail(d != NULL && mlp != NULL && o != NULL && o->tm != NULL, FALSE);
    tm_calib_import_info local = {0};
    if (info == NULL)
        info = &local;
    else
        memset(info, 0, sizeof *info);
    if (n_attention == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: composing steps needs aiconfigurator context / generation attention "
                    "tables",
                    mlp);
        return FALSE;
    }
    imp m;
    imp_init(&m, d, o, info);
    m.source = tm_calib_data_source_id(d, mlp);
    gboolean ok = compose_tables(&m, mlp, attention, n_attention, allreduce, error);
    if (ok)
        imp_finish(&m);
    imp_clear(&m);
    if (!ok)
        tm_calib_import_info_clear(info); /* nothing of a failed input is kept */
    tm_calib_import_info_clear(&local);
    return ok;
}

/* ---- predictions ------------------------------------------------------------------------- */

gboolean
tm_calib_predict_csv(const char *path,
                     const tm_calib_import_opts *o,
                     GString *out,
                     double *mape_out,
                     size_t *n_out,
                     GError **error)
{
    tm_calib_import_info info = {0};
    imp m;
    imp_init(&m, NULL, o, &info);
    m.predicting = true;
    gboolean ok = open_input(&m, path, o->format, error);
    bool steps = info.format == TM_CALIB_FMT_STEPS;
    if (ok && !steps && info.format != TM_CALIB_FMT_MEASUREMENTS) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: --predict reads a scenarios (measurements) or steps CSV, not %s", path,
                    fmt_names[info.format]);
        ok = FALSE;
    }
    const char *cal = o->tm->calibration;
    static const char *const add_sc[] = {"predicted_prefill_ms", "predicted_decode_ms",
                                         "prefill_ape", "decode_ape", NULL};
    static const char *const add_st[] = {"predicted_step_ms", "step_ape", NULL};
    const char *const *add = steps ? add_st : add_sc;
    size_t nadd = steps ? 2 : 4;
    double sum[3] = {0, 0, 0};
    size_t cnt[3] = {0, 0, 0};
    if (ok) {
        /* header: input columns minus the ones we write, then ours */
        size_t nc = base_csv_ncols(m.c);
        g_autofree bool *keep = g_new0(bool, nc + 1);
        bool first = true;
        for (size_t i = 0; i < nc; i++) {
            const char *name = base_csv_colname(m.c, i);
            keep[i] = true;
            for (size_t j = 0; j < nadd; j++)
                keep[i] &= strcmp(name, add[j]) != 0;
            if (keep[i]) {
                base_csv_put_field(out, name, first);
                first = false;
            }
        }
        for (size_t j = 0; j < nadd; j++) {
            base_csv_put_field(out, add[j], first);
            first = false;
        }
        g_string_append_c(out, '\n');
        ms_layout ml;
        st_layout sl;
        ms_layout_get(&m, &ml);
        st_layout_get(&m, &sl);
        int more = 0;
        while (ok && (more = base_csv_next(m.c, error)) > 0) {
            g_auto(row_opts) opt = {0};
            tm_scenario sc = {0};
            ok = row_options(&m, steps ? &sl.cfg : &ml.sc, cal, &opt, steps ? NULL : &sc, error);
            peak *k = ok ? row_peak(&m, &opt, true, error) : NULL;
            ok = k != NULL &&
                 (steps || tm_scenario_check_context(m.c, &ml.sc, &sc, k->model, error));
            char *vals[4] = {NULL, NULL, NULL, NULL};
            tm_batch b;
            if (ok && steps) {
                step_row r;
                double y = 0;
                bool has_y = !cell_empty(&m, sl.st[ST_MS]);
                ok = st_row_get(&m, &sl, &r, error) &&
                     (!has_y || cell_time(&m, sl.st[ST_MS], 1e-3, &y, error));
                if (ok) {
                    step_batch(&b, k->topk, &r);
                    double t = tm_step_s(k->tm, &b, NULL);
                    vals[0] = g_strdup_printf("%.4f", t * 1e3);
                    if (has_y) {
                        double ape = fabs(t - y) / y;
                        vals[1] = g_strdup_printf("%.4f", ape);
                        sum[2] += ape;
                        cnt[2]++;
                    }
                }
            } else if (ok) {
                double y[2] = {0, 0};
                bool has[2] = {!cell_empty(&m, ml.ms[MS_PREFILL]),
                               !cell_empty(&m, ml.ms[MS_DECODE])};
                for (int i = 0; ok && i < 2; i++)
                    if (has[i])
                        ok = cell_time(&m, ml.ms[MS_PREFILL + i], 1e-3, &y[i], error);
                if (ok) {
                    double t[2] = {0, 0};
                    tm_scenario_price(k->tm, k->topk, &sc, &t[0], &t[1]);
                    for (int i = 0; i < 2; i++) {
                        vals[i] = g_strdup_printf("%.4f", t[i] * 1e3);
                        if (has[i] && (i == 0 || sc.decode_tokens > 0)) {
                            double ape = fabs(t[i] - y[i]) / y[i];
                            vals[2 + i] = g_strdup_printf("%.4f", ape);
                            sum[i] += ape;
                            cnt[i]++;
                        }
                    }
                }
            }
            if (ok) {
                first = true;
                for (size_t i = 0; i < nc; i++) {
                    if (keep[i]) {
                        base_csv_put_field(out, base_csv_field(m.c, i), first);
                        first = false;
                    }
                }
                for (size_t j = 0; j < nadd; j++) {
                    base_csv_put_field(out, vals[j] != NULL ? vals[j] : "", first);
                    first = false;
                }
                g_string_append_c(out, '\n');
            }
            for (int i = 0; i < 4; i++)
                g_free(vals[i]);
        }
        if (ok && more < 0)
            ok = FALSE;
    }
    for (int i = 0; i < 3; i++) {
        if (mape_out != NULL)
            mape_out[i] = cnt[i] > 0 ? sum[i] / (double)cnt[i] : (double)NAN;
        if (n_out != NULL)
            n_out[i] = cnt[i];
    }
    imp_clear(&m);
    tm_calib_import_info_clear(&info);
    return ok;
}
