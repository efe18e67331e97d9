/* timemodel/calib_fit.c: the public side of the calibration fit (calib_fit.h): term, regime
 * and form names, the data set, predictions of a sample, implied efficiencies and the
 * calibration JSON. The fit itself is calib_fit_run.c (phases), calib_forms.c (the linear and
 * max forms, quality) and calib_solve.c (NNLS, diagnostics); calib_internal.h ties them. */
#include "timemodel/calib_fit.h"

#include <math.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"
#include "timemodel/common.h"

#define P      TM_TERM_COUNT
#define NCLASS TM_OPCLASS_COUNT

/* NULL-terminated (base/match.h); the assert catches a term added without a name. */
const char *const tm__calib_term_names[] = {
    [TM_TERM_FIXED] = "fixed",
    [TM_TERM_SEQ] = "seq",
    [TM_TERM_COMM] = "comm",
    [TM_TERM_KERNEL] = "kernel",
    [TM_TERM_COMPUTE] = "compute",
    [TM_TERM_MEMORY] = "memory",
    [TM_TERM_ATT_KERNEL] = "attn_kernel",
    [TM_TERM_ATT_COMPUTE] = "attn_compute",
    [TM_TERM_ATT_MEMORY] = "attn_memory",
    [TM_TERM_ELEM_KERNEL] = "elem_kernel",
    [TM_TERM_ELEM_COMPUTE] = "elem_compute",
    [TM_TERM_ELEM_MEMORY] = "elem_memory",
    [TM_TERM_MIXDEC_KERNEL] = "mixdec_kernel",
    [TM_TERM_MIXDEC_COMPUTE] = "mixdec_compute",
    [TM_TERM_MIXDEC_MEMORY] = "mixdec_memory",
    [TM_TERM_MOE_KERNEL] = "moe_kernel",
    [TM_TERM_MOE_COMPUTE] = "moe_compute",
    [TM_TERM_MOE_MEMORY] = "moe_memory",
    [TM_TERM_Q_KERNEL] = "q_kernel",
    [TM_TERM_Q_COMPUTE] = "q_compute",
    [TM_TERM_Q_MEMORY] = "q_memory",
    [TM_TERM_MOEQ_KERNEL] = "moeq_kernel",
    [TM_TERM_MOEQ_COMPUTE] = "moeq_compute",
    [TM_TERM_MOEQ_MEMORY] = "moeq_memory",
    [TM_TERM_ATT_ITEM] = "attn_item",
    [TM_TERM_ATT_SERIAL] = "attn_serial",
    [TM_TERM_MOE_TOKEN] = "moe_token",
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(tm__calib_term_names) == P);

static const char *const regime_names[] = {
    [TM_REGIME_PREFILL] = "prefill",
    [TM_REGIME_DECODE] = "decode",
    [TM_REGIME_MIXED] = "mixed",
    [TM_REGIME_LINEAR] = "linear",
    [TM_REGIME_COLLECTIVE] = "collectives",
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(regime_names) == TM_REGIME_COUNT);

/* Order in which terms claim the data when ranks are counted (too few samples, exact
 * collinearity): the roofline's own terms first, overheads last. */
const tm_calib_term tm__calib_term_priority[P] = {
    TM_TERM_COMPUTE,       TM_TERM_MEMORY,         TM_TERM_ATT_COMPUTE,
    TM_TERM_ATT_MEMORY,    TM_TERM_ELEM_MEMORY,    TM_TERM_ELEM_COMPUTE,
    TM_TERM_MIXDEC_MEMORY, TM_TERM_MIXDEC_COMPUTE, TM_TERM_MOE_MEMORY,
    TM_TERM_MOE_COMPUTE,   TM_TERM_Q_MEMORY,       TM_TERM_Q_COMPUTE,
    TM_TERM_MOEQ_MEMORY,   TM_TERM_MOEQ_COMPUTE,   TM_TERM_COMM,
    TM_TERM_FIXED,         TM_TERM_KERNEL,         TM_TERM_ATT_KERNEL,
    TM_TERM_ELEM_KERNEL,   TM_TERM_MIXDEC_KERNEL,  TM_TERM_MOE_KERNEL,
    TM_TERM_Q_KERNEL,      TM_TERM_MOEQ_KERNEL,    TM_TERM_ATT_ITEM,
    TM_TERM_ATT_SERIAL,    TM_TERM_MOE_TOKEN,      TM_TERM_SEQ};

const char *
tm_calib_term_name(tm_calib_term t)
{
    return t < P ? tm__calib_term_names[t] : "?";
}

bool
tm_calib_term_is_multiplier(tm_calib_term t)
{
    return t == TM_TERM_COMM || t == TM_TERM_ATT_SERIAL || t == TM_TERM_MOE_TOKEN ||
           (t >= TM_TERM_KERNEL && t <= TM_TERM_CLASS_LAST && (t - TM_TERM_KERNEL) % 3 != 0);
}

gboolean
tm_calib_terms_parse(const char *list, unsigned *mask, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    unsigned m = 0;
    for (char **p = parts; *p != NULL; p++) {
        g_strstrip(*p);
        if (**p == '\0')
            continue;
        int found = base_strv_index(tm__calib_term_names, *p);
        if (found < 0) {
            g_autofree char *all = base_strv_join(tm__calib_term_names, ", ");
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "unknown term '%s' (expected %s)", *p,
                        all);
            return FALSE;
        }
        m |= 1u << found;
    }
    if (m == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "empty term list");
        return FALSE;
    }
    *mask = m;
    return TRUE;
}

const char *
tm_calib_regime_name(tm_calib_regime r)
{
    return r < TM_REGIME_COUNT ? regime_names[r] : "?";
}

const char *
tm_calib_form_name(tm_calib_form f)
{
    return f == TM_CALIB_FORM_LINEAR ? "linear" : f == TM_CALIB_FORM_MAX ? "max" : "auto";
}

/* ---- data set ----------------------------------------------------------------------------- */

struct tm_calib_data {
    GArray *samples; /* tm_calib_sample */
    GArray *ops;     /* tm_calib_op */
    GStringChunk *strings;
    GPtrArray *configs; /* borrowed from strings */
    GHashTable *config_ids;
    GPtrArray *sources;
    GArray *allreduce; /* double triples (gpus, bytes, seconds): measured all-reduce rows */
};

tm_calib_data *
tm_calib_data_new(void)
{
    tm_calib_data *d = g_new0(tm_calib_data, 1);
    d->allreduce = g_array_new(FALSE, FALSE, sizeof(double[3]));
    d->samples = g_array_new(FALSE, FALSE, sizeof(tm_calib_sample));
    d->ops = g_array_new(FALSE, FALSE, sizeof(tm_calib_op));
    d->strings = g_string_chunk_new(4096);
    d->configs = g_ptr_array_new();
    d->config_ids = g_hash_table_new(g_str_hash, g_str_equal);
    d->sources = g_ptr_array_new();
    return d;
}

void
tm_calib_data_free(tm_calib_data *d)
{
    if (d == NULL)
        return;
    g_array_free(d->samples, TRUE);
    g_array_free(d->ops, TRUE);
    g_array_free(d->allreduce, TRUE);
    g_hash_table_destroy(d->config_ids);
    g_ptr_array_free(d->configs, TRUE);
    g_ptr_array_free(d->sources, TRUE);
    g_string_chunk_free(d->strings);
    g_free(d);
}

size_t
tm_calib_data_add(tm_calib_data *d,
                  const tm_calib_sample *s,
                  const tm_calib_op *ops,
                  size_t n_ops,
                  const char *label)
{
    tm_calib_sample c = *s;
    c.op_first = d->ops->len;
    c.n_ops = (uint32_t)n_ops;
    c.label = g_string_chunk_insert(d->strings, label != NULL ? label : "");
    g_array_append_vals(d->ops, ops, (guint)n_ops);
    g_array_append_val(d->samples, c);
    return d->samples->len - 1;
}

void
tm_calib_data_set_measured(tm_calib_data *d, size_t i, double measured_s)
{
    g_return_if_fail(i < d->samples->len);
    g_array_index(d->samples, tm_calib_sample, i).measured_s = measured_s;
}

uint32_t
tm_calib_data_config_id(tm_calib_data *d, const char *key)
{
    gpointer v = g_hash_table_lookup(d->config_ids, key);
    if (v != NULL)
        return GPOINTER_TO_UINT(v) - 1;
    char *k = g_string_chunk_insert_const(d->strings, key);
    g_ptr_array_add(d->configs, k);
    g_hash_table_insert(d->config_ids, k, GUINT_TO_POINTER(d->configs->len));
    return d->configs->len - 1;
}

uint32_t
tm_calib_data_source_id(tm_calib_data *d, const char *name)
{
    for (guint i = 0; i < d->sources->len; i++)
        if (strcmp(d->sources->pdata[i], name) == 0)
            return i;
    g_ptr_array_add(d->sources, g_string_chunk_insert(d->strings, name));
    return d->sources->len - 1;
}

const char *
tm_calib_data_config_name(const tm_calib_data *d, uint32_t id)
{
    return id < d->configs->len ? d->configs->pdata[id] : "?";
}

const char *
tm_calib_data_source_name(const tm_calib_data *d, uint32_t id)
{
    return id < d->sources->len ? d->sources->pdata[id] : "?";
}

size_t
tm_calib_data_n_configs(const tm_calib_data *d)
{
    return d->configs->len;
}

size_t
tm_calib_data_size(const tm_calib_data *d)
{
    return d->samples->len;
}

const tm_calib_sample *
tm_calib_data_sample(const tm_calib_data *d, size_t i)
{
    g_return_val_if_fail(i < d->samples->len, NULL);
    return &g_array_index(d->samples, tm_calib_sample, i);
}

const tm_calib_op *
tm_calib_data_ops(const tm_calib_data *d)
{
    /* An empty GArray has no storage (data == NULL), and samples without operators
     * (collectives) still take ops + op_first: NULL + 0 is undefined behaviour. */
    static const tm_calib_op none;
    return d->ops->len > 0 ? (const tm_calib_op *)(const void *)d->ops->data : &none;
}

void
tm_calib_data_add_allreduce(tm_calib_data *d, double gpus, double bytes, double seconds)
{
    double row[3] = {gpus, bytes, seconds};
    g_array_append_val(d->allreduce, row);
}

static int
cmp_row(const void *a, const void *b)
{
    const double *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

gboolean
tm_calib_data_allreduce_table(const tm_calib_data *d, tm_allreduce_table *t)
{
    memset(t, 0, sizeof *t);
    if (d->allreduce->len == 0)
        return FALSE;
    g_autofree double(*rows)[3] = g_memdup2(d->allreduce->data, d->allreduce->len * sizeof *rows);
    size_t n = d->allreduce->len;
    qsort(rows, n, sizeof *rows, cmp_row);
    int slot = -1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && rows[j][0] == rows[i][0] && rows[j][1] == rows[i][1])
            j++;
        /* replicates of one (gpus, size): their median (rows[i..j) sorted by seconds) */
        double y = (j - i) % 2 ? rows[i + (j - i) / 2][2]
                               : 0.5 * (rows[i + (j - i) / 2 - 1][2] + rows[i + (j - i) / 2][2]);
        if (slot < 0 || t->n_gpus[slot] != (int)rows[i][0]) {
            if (slot + 1 >= TM_AR_SLOTS)
                break; /* more GPU counts than slots: the smallest ones are kept */
            t->n_gpus[++slot] = (int)rows[i][0];
        }
        if (t->npts[slot] < TM_AR_MAX_POINTS) {
            t->bytes[slot][t->npts[slot]] = rows[i][1];
            t->s[slot][t->npts[slot]++] = y;
        }
        i = j;
    }
    return TRUE;
}

void
tm_calib_fit_opts_defaults(tm_calib_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->form = TM_CALIB_FORM_AUTO;
    o->split_classes = true;
    o->cv = TM_CALIB_CV_KFOLD;
    o->folds = 5;
    o->bootstrap = 200;
    o->seed = 1;
    o->max_rounds = 5;
}

/* ---- prediction ------------------------------------------------------------------------- */

static inline double
kernel_part(const tm_calib_sample *s, const double *beta)
{
    double t = 0.0;
    for (int k = 0; k < NCLASS; k++)
        t += beta[TM_TERM_CLASS_KERNEL(k)] * s->kernels[k];
    return t;
}

static inline double
rest_part(const tm_calib_sample *s, const double *beta)
{
    return s->offset_s + beta[TM_TERM_FIXED] * s->steps + beta[TM_TERM_SEQ] * s->seqs +
           beta[TM_TERM_COMM] * s->comm_s + kernel_part(s, beta) +
           beta[TM_TERM_ATT_ITEM] * s->att_items + beta[TM_TERM_ATT_SERIAL] * s->att_serial_s +
           beta[TM_TERM_MOE_TOKEN] * s->moe_token_s;
}

double
tm_calib_predict(const tm_calib_data *d,
                 const tm_calib_sample *s,
                 const double *beta,
                 tm_calib_form form,
                 bool split)
{
    const tm_calib_op *ops = tm_calib_data_ops(d) + s->op_first;
    double t = rest_part(s, beta);
    if (form == TM_CALIB_FORM_MAX) {
        double c = 0.0, m = 0.0;
        for (uint32_t i = 0; i < s->n_ops; i++) {
            c += ops[i].compute_s;
            m += ops[i].memory_s;
        }
        return t + fmax(beta[TM_TERM_COMPUTE] * c, beta[TM_TERM_MEMORY] * m);
    }
    for (uint32_t i = 0; i < s->n_ops; i++) {
        int k = tm__calib_op_class(&ops[i], split);
        t += fmax(beta[TM_TERM_CLASS_COMPUTE(k)] * ops[i].compute_s,
                  beta[TM_TERM_CLASS_MEMORY(k)] * ops[i].memory_s);
    }
    return t;
}

/* ---- the fit ------------------------------------------------------------------------------ */

void
tm_calib_fit_free(tm_calib_fit *f)
{
    if (f == NULL)
        return;
    g_free(f->pred);
    g_free(f->cv_pred);
    g_free(f->loco_config_mape);
    g_free(f->loco_config_n);
    if (f->warnings != NULL)
        g_ptr_array_free(f->warnings, TRUE);
    g_free(f);
}

double
tm_calib_fit_efficiency(const tm_calib_fit *f, tm_calib_term t, const char **why)
{
    const char *w = NULL;
    double e = NAN;
    if (!tm_calib_term_is_multiplier(t))
        w = "not an efficiency";
    else if (f->status[t] == TM_TERM_ABSENT)
        w = "not in the data";
    else if (f->status[t] == TM_TERM_DROPPED)
        w = "not identifiable (collinear)";
    else if (f->status[t] == TM_TERM_UNDETERMINED)
        w = "not identifiable from this data (default kept)";
    else if (f->status[t] == TM_TERM_CLAMPED && f->form == TM_CALIB_FORM_MAX && f->beta[t] > 0)
        w = "not identifiable (no sample on its side of the max)";
    else if (f->status[t] == TM_TERM_CLAMPED)
        w = "not identifiable (clamped at 0)";
    else if (1.0 / f->beta[t] > 1.05)
        w = "1/β > 1.05: faster than peak";
    else
        e = 1.0 / f->beta[t];
    if (why != NULL)
        *why = w;
    return e;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *
quality_json(const tm_calib_quality *q, const char *prefix)
{
    json_t *o = json_object();
    g_autofree char *k1 = g_strdup_printf("%smape", prefix);
    g_autofree char *k2 = g_strdup_printf("%sp90_ape", prefix);
    g_autofree char *k3 = g_strdup_printf("%smax_ape", prefix);
    json_object_set_new(o, "n", json_integer((json_int_t)q->n));
    json_object_set_new(o, k1, base_json_real(q->mape));
    json_object_set_new(o, k2, base_json_real(q->p90_ape));
    json_object_set_new(o, k3, base_json_real(q->max_ape));
    return o;
}

static const char *const status_names[] = {"absent", "fitted", "clamped at 0",
                                           "dropped (collinear)", NULL};

json_t *
tm_calib_fit_to_json(const tm_calib_fit *f,
                     const tm_calib_data *d,
                     const char *model,
                     const char *hardware,
                     json_t *sources)
{
    static const struct {
        tm_calib_term t;
        const char *key;
    } keys[] = {{TM_TERM_FIXED, "beta0_s"},
                {TM_TERM_KERNEL, "beta_kernel_s"},
                {TM_TERM_ATT_KERNEL, "beta_attn_kernel_s"},
                {TM_TERM_ELEM_KERNEL, "beta_elem_kernel_s"},
                {TM_TERM_COMPUTE, "beta_compute"},
                {TM_TERM_MEMORY, "beta_memory"},
                {TM_TERM_ATT_COMPUTE, "beta_attn_compute"},
                {TM_TERM_ATT_MEMORY, "beta_attn_memory"},
                {TM_TERM_ELEM_MEMORY, "beta_elem_memory"},
                {TM_TERM_MIXDEC_COMPUTE, "beta_mixdec_compute"},
                {TM_TERM_MIXDEC_MEMORY, "beta_mixdec_memory"},
                {TM_TERM_COMM, "beta_comm"},
                {TM_TERM_SEQ, "beta_seq_s"},
                {TM_TERM_MOE_KERNEL, "beta_moe_kernel_s"},
                {TM_TERM_MOE_COMPUTE, "beta_moe_compute"},
                {TM_TERM_MOE_MEMORY, "beta_moe_memory"},
                {TM_TERM_Q_KERNEL, "beta_q_kernel_s"},
                {TM_TERM_Q_COMPUTE, "beta_q_compute"},
                {TM_TERM_Q_MEMORY, "beta_q_memory"},
                {TM_TERM_MOEQ_KERNEL, "beta_moeq_kernel_s"},
                {TM_TERM_MOEQ_COMPUTE, "beta_moeq_compute"},
                {TM_TERM_MOEQ_MEMORY, "beta_moeq_memory"},
                {TM_TERM_ATT_ITEM, "beta_attn_item_s"},
                {TM_TERM_ATT_SERIAL, "beta_attn_serial"},
                {TM_TERM_MOE_TOKEN, "beta_moe_token"}};

    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("servesim-calibration/1"));
    if (model != NULL)
        json_object_set_new(root, "model", json_string(model));
    if (hardware != NULL)
        json_object_set_new(root, "hardware", json_string(hardware));
    json_object_set_new(root, "form", json_string(tm_calib_form_name(f->form)));
    json_t *co = json_object();
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        tm_term_status st = f->status[keys[i].t];
        if (st == TM_TERM_FITTED || st == TM_TERM_CLAMPED)
            json_object_set_new(co, keys[i].key,
                                base_json_real(st == TM_TERM_FITTED ? f->beta[keys[i].t] : 0.0));
    }
    json_object_set_new(root, "coefficients", co);

    json_t *fit = json_object();
    json_object_set_new(fit, "samples", json_integer((json_int_t)f->n));
    g_autofree char *cv = f->cv == TM_CALIB_CV_LOCO
                              ? g_strdup_printf("leave-one-configuration-out (%u)", f->folds)
                              : g_strdup_printf("%u-fold", f->folds);
    json_object_set_new(fit, "cv", json_string(cv));
    json_object_set_new(fit, "cv_mape", base_json_real(f->cv_q.mape));
    json_object_set_new(fit, "cv_p90_ape", base_json_real(f->cv_q.p90_ape));
    json_object_set_new(fit, "cv_max_ape", base_json_real(f->cv_q.max_ape));
    json_object_set_new(fit, "cv_mape_linear", base_json_real(f->cv_linear.mape));
    json_object_set_new(fit, "cv_mape_max", base_json_real(f->cv_max.mape));
    json_object_set_new(fit, "mape", base_json_real(f->fit.mape));
    json_object_set_new(fit, "r2", base_json_real(f->fit.r2));
    json_object_set_new(fit, "rmse_ms", base_json_real(f->fit.rmse_s * 1e3));
    json_object_set_new(fit, "condition_number", base_json_real(f->cond));
    json_object_set_new(fit, "reclassification_rounds", json_integer(f->rounds));
    json_object_set_new(fit, "settled", json_boolean(f->settled));
    json_object_set_new(fit, "bootstrap_replicates", json_integer(f->bootstrap));
    json_t *terms = json_object();
    for (int t = 0; t < P; t++) {
        if (f->status[t] == TM_TERM_ABSENT)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string(status_names[f->status[t]]));
        json_object_set_new(o, "value", base_json_real(f->beta[t]));
        json_t *ci = json_array();
        json_array_append_new(ci, base_json_real(f->ci_lo[t]));
        json_array_append_new(ci, base_json_real(f->ci_hi[t]));
        json_object_set_new(o, "ci95", ci);
        json_object_set_new(o, "vif", base_json_real(f->vif[t]));
        if (tm_calib_term_is_multiplier((tm_calib_term)t)) {
            const char *why;
            double e = tm_calib_fit_efficiency(f, (tm_calib_term)t, &why);
            json_object_set_new(o, "efficiency", why ? json_string(why) : base_json_real(e));
        }
        json_object_set_new(terms, tm__calib_term_names[t], o);
    }
    json_object_set_new(fit, "terms", terms);
    json_t *rg = json_object();
    for (int i = 0; i < TM_REGIME_COUNT; i++) {
        if (f->regime_cv[i].n == 0)
            continue;
        json_t *o = quality_json(&f->regime_cv[i], "cv_");
        json_object_set_new(o, "mape", base_json_real(f->regime_fit[i].mape));
        json_object_set_new(rg, regime_names[i], o);
    }
    json_object_set_new(fit, "regimes", rg);
    json_t *wa = json_array();
    for (guint i = 0; i < f->warnings->len; i++)
        json_array_append_new(wa, json_string(f->warnings->pdata[i]));
    json_object_set_new(fit, "warnings", wa);
    tm_allreduce_table ar;
    if (d != NULL && tm_calib_data_allreduce_table(d, &ar)) {
        /* the measured all-reduces themselves: the roofline prices its all-reduces from them
         * on this hardware (timemodel/calibration.h) */
        json_t *at = json_object();
        for (int k = 0; k < TM_AR_SLOTS && ar.n_gpus[k] > 0; k++) {
            json_t *pts = json_array();
            for (int i = 0; i < ar.npts[k]; i++) {
                json_t *pt = json_array();
                json_array_append_new(pt, base_json_number(ar.bytes[k][i]));
                json_array_append_new(pt, base_json_real(ar.s[k][i]));
                json_array_append_new(pts, pt);
            }
            g_autofree char *key = g_strdup_printf("%d", ar.n_gpus[k]);
            json_object_set_new(at, key, pts);
        }
        json_object_set_new(root, "allreduce_table", at);
    }
    json_object_set_new(root, "fit", fit);
    if (sources != NULL)
        json_object_set_new(root, "sources", sources);
    return root;
}
