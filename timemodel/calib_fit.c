/* timemodel/calib_fit.c: weighted non-negative least squares of measured times on the
 * roofline's basis terms (docs/domain.md §4.2), the max form, cross-validation, bootstrap
 * intervals, collinearity diagnostics and the calibration JSON.
 *
 * NNLS is Lawson–Hanson's active-set method on the column-scaled normal equations (exact in a
 * finite number of steps; tests/timemodel/test_calib_fit.c checks it against enumerating every
 * support). The normal equations are formed once per design (O(n·P²) for P ≤ 12 terms), so a
 * fit costs O(n·P²·rounds) plus tiny P×P solves. Randomness (folds, bootstrap) comes from
 * sim_rng streams SIM_STREAM_CALIB_FOLDS / SIM_STREAM_CALIB_BOOTSTRAP. */
#include "timemodel/calib_fit.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "base/rng.h"
#include "base/stats.h"
#include "timemodel/common.h"

#define P      TM_TERM_COUNT
#define NCLASS TM_OPCLASS_COUNT
#define BIT(t) (1u << (t))
/* Terms of the max form besides (βc, βm): every additive term and the link. */
#define REST_MASK                                                                                  \
    (BIT(TM_TERM_FIXED) | BIT(TM_TERM_SEQ) | BIT(TM_TERM_COMM) | BIT(TM_TERM_KERNEL) |             \
     BIT(TM_TERM_ATT_KERNEL) | BIT(TM_TERM_ELEM_KERNEL) | BIT(TM_TERM_MIXDEC_KERNEL))
/* Terms of the classes other than GEMM (split classes only). */
#define CLASS_MASK (((BIT(TM_TERM_COUNT) - 1) >> TM_TERM_ATT_KERNEL) << TM_TERM_ATT_KERNEL)

/* NULL-terminated (base/match.h); the assert catches a term added without a name. */
static const char *const term_names[] = {
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
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(term_names) == P);

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
static const tm_calib_term priority[P] = {
    TM_TERM_COMPUTE,       TM_TERM_MEMORY,         TM_TERM_ATT_COMPUTE,
    TM_TERM_ATT_MEMORY,    TM_TERM_ELEM_MEMORY,    TM_TERM_ELEM_COMPUTE,
    TM_TERM_MIXDEC_MEMORY, TM_TERM_MIXDEC_COMPUTE, TM_TERM_COMM,
    TM_TERM_FIXED,         TM_TERM_KERNEL,         TM_TERM_ATT_KERNEL,
    TM_TERM_ELEM_KERNEL,   TM_TERM_MIXDEC_KERNEL,  TM_TERM_SEQ};

const char *
tm_calib_term_name(tm_calib_term t)
{
    return t < P ? term_names[t] : "?";
}

bool
tm_calib_term_is_multiplier(tm_calib_term t)
{
    return t == TM_TERM_COMM ||
           (t >= TM_TERM_KERNEL && t < TM_TERM_COUNT && (t - TM_TERM_KERNEL) % 3 != 0);
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
        int found = base_strv_index(term_names, *p);
        if (found < 0) {
            g_autofree char *all = base_strv_join(term_names, ", ");
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
};

tm_calib_data *
tm_calib_data_new(void)
{
    tm_calib_data *d = g_new0(tm_calib_data, 1);
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

static inline int
op_class(const tm_calib_op *o, bool split)
{
    return split && o->cls < NCLASS ? o->cls : 0;
}

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
           beta[TM_TERM_COMM] * s->comm_s + kernel_part(s, beta);
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
        int k = op_class(&ops[i], split);
        t += fmax(beta[TM_TERM_CLASS_COMPUTE(k)] * ops[i].compute_s,
                  beta[TM_TERM_CLASS_MEMORY(k)] * ops[i].memory_s);
    }
    return t;
}

/* ---- small dense linear algebra (P ≤ 8) ------------------------------------------------- */

typedef struct {
    double g[P][P]; /* Σ w x xᵀ */
    double b[P];    /* Σ w x r */
    double rr;      /* Σ w r² */
} normal_eq;

/* Solves G_SS β = b_S for the terms in IDX by Cholesky on the diagonally scaled system.
 * FALSE when the subset is (numerically) singular. */
static bool
solve_subset(const normal_eq *ne, const int *idx, int k, double *out)
{
    double a[P][P], y[P], sc[P];
    for (int i = 0; i < k; i++) {
        double gii = ne->g[idx[i]][idx[i]];
        if (!(gii > 0.0) || !isfinite(gii))
            return false;
        sc[i] = 1.0 / sqrt(gii);
    }
    for (int i = 0; i < k; i++) {
        y[i] = ne->b[idx[i]] * sc[i];
        for (int j = 0; j < k; j++)
            a[i][j] = ne->g[idx[i]][idx[j]] * sc[i] * sc[j];
    }
    /* in-place Cholesky: a = L Lᵀ (lower triangle) */
    for (int j = 0; j < k; j++) {
        double s = a[j][j];
        for (int m = 0; m < j; m++)
            s -= a[j][m] * a[j][m];
        if (s <= 1e-11)
            return false;
        a[j][j] = sqrt(s);
        for (int i = j + 1; i < k; i++) {
            double t = a[i][j];
            for (int m = 0; m < j; m++)
                t -= a[i][m] * a[j][m];
            a[i][j] = t / a[j][j];
        }
    }
    for (int i = 0; i < k; i++) {
        double t = y[i];
        for (int m = 0; m < i; m++)
            t -= a[i][m] * y[m];
        y[i] = t / a[i][i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double t = y[i];
        for (int m = i + 1; m < k; m++)
            t -= a[m][i] * y[m];
        y[i] = t / a[i][i];
    }
    for (int i = 0; i < k; i++)
        out[i] = y[i] * sc[i];
    return true;
}

/* Weighted SSE of BETA: rᵀWr − 2βᵀb + βᵀGβ. */
static double
sse_of(const normal_eq *ne, const double *beta)
{
    double s = ne->rr;
    for (int a = 0; a < P; a++) {
        if (beta[a] == 0.0)
            continue;
        s -= 2.0 * beta[a] * ne->b[a];
        for (int b = 0; b < P; b++)
            s += beta[a] * ne->g[a][b] * beta[b];
    }
    return s;
}

/* Least squares restricted to the terms of SET: solves G_SS z = b_S. */
static bool
solve_set(const normal_eq *ne, unsigned set, double *z)
{
    int idx[P], k = 0;
    for (int t = 0; t < P; t++)
        if (set & BIT(t))
            idx[k++] = t;
    double x[P];
    if (!solve_subset(ne, idx, k, x))
        return false;
    memset(z, 0, sizeof(double) * P);
    for (int i = 0; i < k; i++)
        z[idx[i]] = x[i];
    return true;
}

/* Weighted NNLS over the terms of MASK: Lawson & Hanson (1974, ch. 23) on the normal
 * equations. A term whose column is empty, or that would make the passive set singular
 * (exactly collinear with it), stays at 0. Returns the SSE. */
static double
nnls(const normal_eq *ne, unsigned mask, double beta[P])
{
    double x[P] = {0}, z[P], w[P];
    unsigned passive = 0, avail = 0;
    double scale = 0.0;
    for (int t = 0; t < P; t++) {
        if ((mask & BIT(t)) && ne->g[t][t] > 0 && isfinite(ne->g[t][t]))
            avail |= BIT(t);
    }
    for (int outer = 0; outer < 4 * P; outer++) {
        /* gradient of −SSE/2, in units where each column has unit weighted norm */
        int best = -1;
        double bw = 0.0;
        for (int t = 0; t < P; t++) {
            if (!(avail & BIT(t)) || (passive & BIT(t)))
                continue;
            double g = ne->b[t];
            for (int u = 0; u < P; u++)
                g -= ne->g[t][u] * x[u];
            w[t] = g / sqrt(ne->g[t][t]);
            scale = fmax(scale, fabs(ne->b[t]) / sqrt(ne->g[t][t]));
            if (w[t] > bw) {
                bw = w[t];
                best = t;
            }
        }
        if (best < 0 || bw <= 1e-12 * scale)
            break;
        passive |= BIT(best);
        for (int inner = 0; inner < 4 * P; inner++) {
            if (!solve_set(ne, passive, z)) {
                /* collinear with the passive set: never a candidate again */
                passive &= ~BIT(best);
                avail &= ~BIT(best);
                break;
            }
            bool pos = true;
            for (int t = 0; t < P; t++)
                if ((passive & BIT(t)) && z[t] <= 0)
                    pos = false;
            if (pos) {
                memcpy(x, z, sizeof x);
                break;
            }
            double alpha = 1.0;
            for (int t = 0; t < P; t++)
                if ((passive & BIT(t)) && z[t] <= 0 && x[t] - z[t] > 0)
                    alpha = fmin(alpha, x[t] / (x[t] - z[t]));
            for (int t = 0; t < P; t++) {
                if (!(passive & BIT(t)))
                    continue;
                x[t] += alpha * (z[t] - x[t]);
                if (x[t] <= 1e-15 * fabs(z[t]) || x[t] <= 0) {
                    x[t] = 0.0;
                    passive &= ~BIT(t);
                }
            }
        }
    }
    memcpy(beta, x, sizeof x);
    return sse_of(ne, beta);
}

double
tm__calib_nnls(const double *g, const double *b, double rr, unsigned mask, double *beta)
{
    normal_eq ne;
    memcpy(ne.g, g, sizeof ne.g);
    memcpy(ne.b, b, sizeof ne.b);
    ne.rr = rr;
    return nnls(&ne, mask, beta);
}

/* Eigenvalues of a symmetric K×K matrix (cyclic Jacobi). */
static void
eigen_sym(double a[P][P], int k, double *ev)
{
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0;
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++)
                off += a[i][j] * a[i][j];
        if (off < 1e-30)
            break;
        for (int p = 0; p < k; p++) {
            for (int q = p + 1; q < k; q++) {
                if (fabs(a[p][q]) < 1e-300)
                    continue;
                double th = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int r = 0; r < k; r++) {
                    double arp = a[r][p], arq = a[r][q];
                    a[r][p] = c * arp - s * arq;
                    a[r][q] = s * arp + c * arq;
                }
                for (int r = 0; r < k; r++) {
                    double apr = a[p][r], aqr = a[q][r];
                    a[p][r] = c * apr - s * aqr;
                    a[q][r] = s * apr + c * aqr;
                }
            }
        }
    }
    for (int i = 0; i < k; i++)
        ev[i] = a[i][i];
}

/* ---- fitting context -------------------------------------------------------------------- */

typedef struct {
    const tm_calib_data *d;
    const tm_calib_sample *s;
    const tm_calib_op *ops;
    size_t n, nops;
    bool split;
    double *w;    /* 1/y² */
    double *r;    /* y − offset */
    double *ctot; /* Σ F/P over the sample's operators (max form) */
    double *mtot; /* Σ B/W */
} ctx;

/* Classification coefficients: (βc, βm) of each operator class. */
typedef struct {
    double c[NCLASS], m[NCLASS];
} cls_beta;

static const cls_beta ridge = {{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}};

static inline bool
compute_bound(const cls_beta *cb, int k, const tm_calib_op *o)
{
    return cb->c[k] * o->compute_s >= cb->m[k] * o->memory_s;
}

/* Design row of sample J when operators are classified by CB. */
static void
design_row(const ctx *c, size_t j, const cls_beta *cb, double x[P])
{
    const tm_calib_sample *s = &c->s[j];
    memset(x, 0, sizeof(double) * P);
    x[TM_TERM_FIXED] = s->steps;
    x[TM_TERM_SEQ] = s->seqs;
    x[TM_TERM_COMM] = s->comm_s;
    for (int k = 0; k < NCLASS; k++)
        x[c->split ? TM_TERM_CLASS_KERNEL(k) : TM_TERM_KERNEL] += s->kernels[k];
    const tm_calib_op *o = c->ops + s->op_first;
    for (uint32_t i = 0; i < s->n_ops; i++) {
        int k = op_class(&o[i], c->split);
        if (compute_bound(cb, k, &o[i]))
            x[TM_TERM_CLASS_COMPUTE(k)] += o[i].compute_s;
        else
            x[TM_TERM_CLASS_MEMORY(k)] += o[i].memory_s;
    }
}

/* Normal equations over samples IDX[0..M) (all when IDX is NULL), each counted MULT[j] times
 * (1 when MULT is NULL). */
static void
normal_build(const ctx *c,
             const cls_beta *cls,
             const size_t *idx,
             size_t m,
             const double *mult,
             normal_eq *ne)
{
    memset(ne, 0, sizeof *ne);
    size_t cnt = idx != NULL ? m : c->n;
    for (size_t q = 0; q < cnt; q++) {
        size_t j = idx != NULL ? idx[q] : q;
        double w = c->w[j] * (mult != NULL ? mult[j] : 1.0);
        if (w == 0.0)
            continue;
        double x[P];
        design_row(c, j, cls, x);
        for (int a = 0; a < P; a++) {
            if (x[a] == 0.0)
                continue;
            double wx = w * x[a];
            ne->b[a] += wx * c->r[j];
            for (int b = a; b < P; b++)
                ne->g[a][b] += wx * x[b];
        }
        ne->rr += w * c->r[j] * c->r[j];
    }
    for (int a = 0; a < P; a++)
        for (int b = 0; b < a; b++)
            ne->g[a][b] = ne->g[b][a];
}

/* Classification coefficients after a fit: fitted values where positive, else the previous
 * ones (a clamped coefficient says nothing about the ridge point). */
static void
update_cls(const double *beta, cls_beta *cb)
{
    for (int k = 0; k < NCLASS; k++) {
        if (beta[TM_TERM_CLASS_COMPUTE(k)] > 0)
            cb->c[k] = beta[TM_TERM_CLASS_COMPUTE(k)];
        if (beta[TM_TERM_CLASS_MEMORY(k)] > 0)
            cb->m[k] = beta[TM_TERM_CLASS_MEMORY(k)];
    }
}

/* Operators whose bound differs between CA and CB, over the samples IDX. */
static size_t
class_changes(const ctx *c, const size_t *idx, size_t m, const cls_beta *ca, const cls_beta *cb)
{
    size_t changes = 0, cnt = idx != NULL ? m : c->n;
    for (size_t q = 0; q < cnt; q++) {
        const tm_calib_sample *s = &c->s[idx != NULL ? idx[q] : q];
        const tm_calib_op *o = c->ops + s->op_first;
        for (uint32_t i = 0; i < s->n_ops; i++) {
            int k = op_class(&o[i], c->split);
            changes += compute_bound(ca, k, &o[i]) != compute_bound(cb, k, &o[i]);
        }
    }
    return changes;
}

typedef struct {
    double beta[P];
    cls_beta cls; /* classification the final fit used */
    unsigned rounds;
    bool settled;
} linear_fit;

/* Linear form with fit → re-classify → refit (docs/domain.md §4.2), starting at the ridge point. */
static void
fit_linear(
    const ctx *c, const size_t *idx, size_t m, unsigned mask, unsigned max_rounds, linear_fit *out)
{
    cls_beta cls = ridge;
    memset(out, 0, sizeof *out);
    for (unsigned round = 1; round <= max_rounds; round++) {
        normal_eq ne;
        normal_build(c, &cls, idx, m, NULL, &ne);
        nnls(&ne, mask, out->beta);
        out->cls = cls;
        out->rounds = round;
        cls_beta next = cls;
        update_cls(out->beta, &next);
        if (class_changes(c, idx, m, &cls, &next) == 0) {
            out->settled = true;
            break;
        }
        cls = next;
    }
}

/* ---- max form ----------------------------------------------------------------------------- */

#define NREST (3 + NCLASS)

/* Compact per-sample rows for the 2-D search: w, r, C, M, rest design. */
typedef struct {
    double w, r, c, m;
    double x[NREST]; /* rest_terms */
} mrow;

static const tm_calib_term rest_terms[NREST] = {
    TM_TERM_FIXED,      TM_TERM_SEQ,         TM_TERM_COMM,         TM_TERM_KERNEL,
    TM_TERM_ATT_KERNEL, TM_TERM_ELEM_KERNEL, TM_TERM_MIXDEC_KERNEL};

typedef struct {
    mrow *rows;
    size_t n;
    normal_eq base; /* Gram of the rest terms (constant); b and rr filled per evaluation */
    unsigned mask;  /* rest terms allowed */
    bool use_c, use_m;
    size_t evals;
} msearch;

static void
msearch_init(
    msearch *ms, const ctx *c, const size_t *idx, size_t m, const double *mult, unsigned mask)
{
    memset(ms, 0, sizeof *ms);
    size_t cnt = idx != NULL ? m : c->n;
    ms->rows = g_new(mrow, cnt);
    for (size_t q = 0; q < cnt; q++) {
        size_t j = idx != NULL ? idx[q] : q;
        double w = c->w[j] * (mult != NULL ? mult[j] : 1.0);
        if (w == 0.0)
            continue;
        const tm_calib_sample *s = &c->s[j];
        mrow *r = &ms->rows[ms->n++];
        r->w = w;
        r->r = c->r[j];
        r->c = c->ctot[j];
        r->m = c->mtot[j];
        r->x[0] = s->steps;
        r->x[1] = s->seqs;
        r->x[2] = s->comm_s;
        memset(r->x + 3, 0, sizeof(double) * NCLASS);
        for (int k = 0; k < NCLASS; k++)
            r->x[3 + (c->split ? k : 0)] += s->kernels[k];
        for (int a = 0; a < NREST; a++)
            for (int b = 0; b < NREST; b++)
                ms->base.g[rest_terms[a]][rest_terms[b]] += w * r->x[a] * r->x[b];
    }
    ms->mask = mask & REST_MASK;
    ms->use_c = (mask & BIT(TM_TERM_COMPUTE)) != 0;
    ms->use_m = (mask & BIT(TM_TERM_MEMORY)) != 0;
}

static void
msearch_clear(msearch *ms)
{
    g_free(ms->rows);
}

/* SSE at (log βc, log βm); the rest terms by NNLS. */
static double
msearch_eval(msearch *ms, double lc, double lm, double beta[P])
{
    double bc = ms->use_c ? exp(lc) : 0.0, bm = ms->use_m ? exp(lm) : 0.0;
    normal_eq ne = ms->base;
    double b[NREST] = {0}, rr = 0.0;
    for (size_t j = 0; j < ms->n; j++) {
        const mrow *r = &ms->rows[j];
        double res = r->r - fmax(bc * r->c, bm * r->m);
        double wr = r->w * res;
        for (int a = 0; a < NREST; a++)
            b[a] += wr * r->x[a];
        rr += wr * res;
    }
    for (int a = 0; a < NREST; a++)
        ne.b[rest_terms[a]] = b[a];
    ne.rr = rr;
    ms->evals++;
    double sse = nnls(&ne, ms->mask, beta);
    beta[TM_TERM_COMPUTE] = bc;
    beta[TM_TERM_MEMORY] = bm;
    return sse;
}

#define GOLD 0.6180339887498949

/* Minimises over LM ∈ [lo, hi] at fixed LC by golden-section search. */
static double
golden_m(msearch *ms, double lc, double lo, double hi, int iters, double *best_lm)
{
    double beta[P];
    double a = lo, b = hi;
    double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
    double f1 = msearch_eval(ms, lc, x1, beta), f2 = msearch_eval(ms, lc, x2, beta);
    for (int i = 0; i < iters; i++) {
        if (f1 <= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - GOLD * (b - a);
            f1 = msearch_eval(ms, lc, x1, beta);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + GOLD * (b - a);
            f2 = msearch_eval(ms, lc, x2, beta);
        }
    }
    *best_lm = f1 <= f2 ? x1 : x2;
    return fmin(f1, f2);
}

/* Minimises over LC ∈ [lo, hi] with the inner search over LM ∈ [mlo, mhi]. */
static double
golden_cm(
    msearch *ms, double lo, double hi, double mlo, double mhi, int iters, double *lc, double *lm)
{
    double a = lo, b = hi, m1, m2;
    double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
    double f1 = golden_m(ms, x1, mlo, mhi, iters, &m1), f2 = golden_m(ms, x2, mlo, mhi, iters, &m2);
    for (int i = 0; i < iters; i++) {
        if (f1 <= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            m2 = m1;
            x1 = b - GOLD * (b - a);
            f1 = golden_m(ms, x1, mlo, mhi, iters, &m1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            m1 = m2;
            x2 = a + GOLD * (b - a);
            f2 = golden_m(ms, x2, mlo, mhi, iters, &m2);
        }
    }
    *lc = f1 <= f2 ? x1 : x2;
    *lm = f1 <= f2 ? m1 : m2;
    return fmin(f1, f2);
}

#define GRID_HALF  6
#define GRID_RANGE 2.0794415416798357 /* ln 8 */

/* Full search: a log grid around (lc0, lm0), re-centred while the best point is on its edge,
 * then nested golden sections inside one grid cell of the best point. */
static void
fit_max_search(msearch *ms, double lc0, double lm0, double beta[P])
{
    double step = GRID_RANGE / GRID_HALF, tmp[P];
    double bc = lc0, bm = lm0, best = INFINITY;
    for (int recentre = 0; recentre < 4; recentre++) {
        int bi = 0, bj = 0;
        double cc = bc, cm = bm;
        for (int i = -GRID_HALF; i <= GRID_HALF; i++) {
            if (!ms->use_c && i != 0)
                continue;
            for (int j = -GRID_HALF; j <= GRID_HALF; j++) {
                if (!ms->use_m && j != 0)
                    continue;
                double f = msearch_eval(ms, cc + i * step, cm + j * step, tmp);
                if (f < best) {
                    best = f;
                    bi = i;
                    bj = j;
                    bc = cc + i * step;
                    bm = cm + j * step;
                }
            }
        }
        if (abs(bi) < GRID_HALF && abs(bj) < GRID_HALF)
            break;
    }
    double lc = bc, lm = bm;
    if (ms->use_c && ms->use_m) {
        golden_cm(ms, bc - step, bc + step, bm - step, bm + step, 16, &lc, &lm);
    } else if (ms->use_m) {
        golden_m(ms, bc, bm - step, bm + step, 20, &lm);
    } else if (ms->use_c) {
        /* search lc with lm unused: swap roles through the generic evaluator */
        double a = bc - step, b = bc + step;
        for (int it = 0; it < 40; it++) {
            double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
            if (msearch_eval(ms, x1, 0, tmp) <= msearch_eval(ms, x2, 0, tmp))
                b = x2;
            else
                a = x1;
        }
        lc = 0.5 * (a + b);
    }
    double f = msearch_eval(ms, lc, lm, beta);
    if (f > best) /* the refinement never loses to the grid */
        msearch_eval(ms, bc, bm, beta);
}

/* Local search (bootstrap replicates): alternating golden sections around (lc0, lm0). */
static void
fit_max_local(msearch *ms, double lc0, double lm0, double beta[P])
{
    double lc = lc0, lm = lm0, tmp[P], span = 0.35;
    for (int sweep = 0; sweep < 2; sweep++) {
        if (ms->use_m)
            golden_m(ms, lc, lm - span, lm + span, 12, &lm);
        if (ms->use_c) {
            double a = lc - span, b = lc + span;
            for (int it = 0; it < 12; it++) {
                double x1 = b - GOLD * (b - a), x2 = a + GOLD * (b - a);
                if (msearch_eval(ms, x1, lm, tmp) <= msearch_eval(ms, x2, lm, tmp))
                    b = x2;
                else
                    a = x1;
            }
            lc = 0.5 * (a + b);
        }
        span *= 0.5;
    }
    msearch_eval(ms, lc, lm, beta);
}

static void
fit_max(
    const ctx *c, const size_t *idx, size_t m, unsigned mask, const double *start, double beta[P])
{
    msearch ms;
    msearch_init(&ms, c, idx, m, NULL, mask);
    double lc0 = start[TM_TERM_COMPUTE] > 0 ? log(start[TM_TERM_COMPUTE]) : 0.0;
    double lm0 = start[TM_TERM_MEMORY] > 0 ? log(start[TM_TERM_MEMORY]) : 0.0;
    fit_max_search(&ms, lc0, lm0, beta);
    msearch_clear(&ms);
}

/* ---- quality ------------------------------------------------------------------------------ */

static void
quality(const ctx *c, const double *pred, int regime, tm_calib_quality *q)
{
    memset(q, 0, sizeof *q);
    g_autofree double *ape = g_new(double, c->n > 0 ? c->n : 1);
    double sw = 0, swy = 0, sse = 0, sq = 0;
    size_t k = 0;
    for (size_t j = 0; j < c->n; j++) {
        if (regime >= 0 && (int)c->s[j].regime != regime)
            continue;
        if (!isfinite(pred[j]))
            continue;
        double y = c->s[j].measured_s, e = pred[j] - y;
        ape[k++] = fabs(e) / y;
        sw += c->w[j];
        swy += c->w[j] * y;
        sse += c->w[j] * e * e;
        sq += e * e;
    }
    q->n = k;
    if (k == 0) {
        q->r2 = q->mape = q->p90_ape = q->max_ape = q->rmse_s = NAN;
        return;
    }
    double mean_w = swy / sw, sst = 0, s = 0;
    for (size_t j = 0; j < c->n; j++) {
        if ((regime >= 0 && (int)c->s[j].regime != regime) || !isfinite(pred[j]))
            continue;
        double dy = c->s[j].measured_s - mean_w;
        sst += c->w[j] * dy * dy;
    }
    for (size_t i = 0; i < k; i++)
        s += ape[i];
    base_sort_doubles(ape, k);
    q->mape = s / (double)k;
    q->p90_ape = base_percentile_sorted(ape, k, 90);
    q->max_ape = ape[k - 1];
    q->r2 = sst > 0 ? 1.0 - sse / sst : (double)NAN;
    q->rmse_s = sqrt(sq / (double)k);
}

/* ---- diagnostics -------------------------------------------------------------------------- */

/* Terms of CAND (in priority order) that are linear combinations of earlier ones in the
 * weighted design NE: their Schur complement vanishes. Returns the mask of dependent terms. */
static unsigned
dependent_terms(const normal_eq *ne, unsigned cand)
{
    unsigned accepted = 0, dep = 0;
    for (int p = 0; p < P; p++) {
        tm_calib_term t = priority[p];
        if (!(cand & BIT(t)))
            continue;
        int idx[P], k = 0;
        for (int q = 0; q < P; q++)
            if (accepted & BIT(q))
                idx[k++] = q;
        idx[k++] = (int)t;
        double x[P];
        /* the subset with T is non-singular iff T adds a new direction */
        if (solve_subset(ne, idx, k, x))
            accepted |= BIT(t);
        else
            dep |= BIT(t);
    }
    return dep;
}

static char *
term_list(unsigned mask)
{
    GString *g = g_string_new(NULL);
    for (int p = 0; p < P; p++) {
        tm_calib_term t = priority[p];
        if (mask & BIT(t))
            g_string_append_printf(g, "%s%s", g->len ? ", " : "", term_names[t]);
    }
    return g_string_free(g, FALSE);
}

/* Condition number and uncentered VIFs of the weighted design restricted to MASK. */
static void
collinearity(const normal_eq *ne, unsigned mask, double *cond, double *vif)
{
    int idx[P], k = 0;
    for (int t = 0; t < P; t++) {
        vif[t] = NAN;
        if (mask & BIT(t))
            idx[k++] = t;
    }
    *cond = NAN;
    if (k == 0)
        return;
    double a[P][P], sc[P];
    for (int i = 0; i < k; i++)
        sc[i] = 1.0 / sqrt(ne->g[idx[i]][idx[i]]);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            a[i][j] = ne->g[idx[i]][idx[j]] * sc[i] * sc[j];
    double ev[P], e[P][P];
    memcpy(e, a, sizeof e);
    eigen_sym(e, k, ev);
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < k; i++) {
        lo = fmin(lo, ev[i]);
        hi = fmax(hi, ev[i]);
    }
    *cond = lo > 0 ? sqrt(hi / lo) : (double)INFINITY;
    /* VIF_j = (A⁻¹)_jj: solve A z = e_j */
    for (int j = 0; j < k; j++) {
        normal_eq u;
        memset(&u, 0, sizeof u);
        for (int p = 0; p < k; p++)
            for (int q = 0; q < k; q++)
                u.g[p][q] = a[p][q];
        u.b[j] = 1.0;
        int id2[P];
        for (int p = 0; p < k; p++)
            id2[p] = p;
        double z[P];
        vif[idx[j]] = solve_subset(&u, id2, k, z) ? z[j] : (double)INFINITY;
    }
}

/* ---- the fit ------------------------------------------------------------------------------ */

void
tm_calib_fit_free(tm_calib_fit *f)
{
    if (f == NULL)
        return;
    g_free(f->pred);
    g_free(f->cv_pred);
    if (f->warnings != NULL)
        g_ptr_array_free(f->warnings, TRUE);
    g_free(f);
}

static void G_GNUC_PRINTF(2, 3) warn(tm_calib_fit *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(f->warnings, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* Predictions for the held-out samples of every fold. */
static void
cross_validate(const ctx *c,
               const uint32_t *fold,
               unsigned nfolds,
               unsigned mask,
               unsigned mmask,
               unsigned max_rounds,
               bool do_linear,
               bool do_max,
               double *pl,
               double *pm)
{
    g_autofree size_t *train = g_new(size_t, c->n);
    for (size_t j = 0; j < c->n; j++)
        pl[j] = pm[j] = NAN;
    for (unsigned f = 0; f < nfolds; f++) {
        size_t m = 0;
        for (size_t j = 0; j < c->n; j++)
            if (fold[j] != f)
                train[m++] = j;
        if (m == c->n || m == 0)
            continue;
        linear_fit lf;
        fit_linear(c, train, m, mask, max_rounds, &lf);
        double bmax[P];
        if (do_max)
            fit_max(c, train, m, mmask, lf.beta, bmax);
        for (size_t j = 0; j < c->n; j++) {
            if (fold[j] != f)
                continue;
            if (do_linear)
                pl[j] = tm_calib_predict(c->d, &c->s[j], lf.beta, TM_CALIB_FORM_LINEAR, c->split);
            if (do_max)
                pm[j] = tm_calib_predict(c->d, &c->s[j], bmax, TM_CALIB_FORM_MAX, c->split);
        }
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
bootstrap(const ctx *c,
          const tm_calib_fit_opts *o,
          unsigned mask,
          unsigned mmask,
          tm_calib_fit *f,
          const linear_fit *lf)
{
    unsigned B = o->bootstrap;
    for (int t = 0; t < P; t++)
        f->ci_lo[t] = f->ci_hi[t] = NAN;
    if (B == 0)
        return;
    sim_rng rng;
    sim_rng_init(&rng, o->seed, SIM_STREAM_CALIB_BOOTSTRAP);
    g_autofree double *mult = g_new(double, c->n);
    g_autofree double *draws = g_new(double, (size_t)B *P);
    for (unsigned b = 0; b < B; b++) {
        memset(mult, 0, sizeof(double) * c->n);
        for (size_t i = 0; i < c->n; i++)
            mult[sim_rng_below(&rng, c->n)] += 1.0;
        double beta[P];
        if (f->form == TM_CALIB_FORM_LINEAR) {
            normal_eq ne;
            normal_build(c, &lf->cls, NULL, 0, mult, &ne);
            nnls(&ne, mask, beta);
        } else {
            msearch ms;
            msearch_init(&ms, c, NULL, 0, mult, mmask);
            double lc0 = f->beta[TM_TERM_COMPUTE] > 0 ? log(f->beta[TM_TERM_COMPUTE]) : 0.0;
            double lm0 = f->beta[TM_TERM_MEMORY] > 0 ? log(f->beta[TM_TERM_MEMORY]) : 0.0;
            fit_max_local(&ms, lc0, lm0, beta);
            msearch_clear(&ms);
        }
        for (int t = 0; t < P; t++)
            draws[(size_t)t * B + b] = beta[t];
    }
    for (int t = 0; t < P; t++) {
        if (f->status[t] == TM_TERM_ABSENT || f->status[t] == TM_TERM_DROPPED)
            continue;
        double *x = draws + (size_t)t * B;
        qsort(x, B, sizeof(double), cmp_double);
        f->ci_lo[t] = base_percentile_sorted(x, B, 2.5);
        f->ci_hi[t] = base_percentile_sorted(x, B, 97.5);
    }
}

tm_calib_fit *
tm_calib_fit_run(const tm_calib_data *d, const tm_calib_fit_opts *o, GError **error)
{
    size_t n = tm_calib_data_size(d);
    if (n == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "no samples to fit");
        return NULL;
    }
    ctx c = {d,
             (const tm_calib_sample *)(const void *)d->samples->data,
             tm_calib_data_ops(d),
             n,
             d->ops->len,
             o->split_classes,
             NULL,
             NULL,
             NULL,
             NULL};
    g_autofree double *w = c.w = g_new(double, n);
    g_autofree double *r = c.r = g_new(double, n);
    g_autofree double *ct = c.ctot = g_new(double, n);
    g_autofree double *mt = c.mtot = g_new(double, n);
    unsigned exercised = 0;
    bool any_c = false, any_m = false;
    for (size_t j = 0; j < n; j++) {
        const tm_calib_sample *s = &c.s[j];
        g_return_val_if_fail(s->measured_s > 0, NULL);
        w[j] = 1.0 / (s->measured_s * s->measured_s);
        r[j] = s->measured_s - s->offset_s;
        ct[j] = mt[j] = 0.0;
        const tm_calib_op *op = c.ops + s->op_first;
        for (uint32_t i = 0; i < s->n_ops; i++) {
            ct[j] += op[i].compute_s;
            mt[j] += op[i].memory_s;
            int k = op_class(&op[i], c.split);
            if (op[i].compute_s > 0)
                exercised |= BIT(TM_TERM_CLASS_COMPUTE(k));
            if (op[i].memory_s > 0)
                exercised |= BIT(TM_TERM_CLASS_MEMORY(k));
            any_c |= op[i].compute_s > 0;
            any_m |= op[i].memory_s > 0;
        }
        for (int k = 0; k < NCLASS; k++)
            if (s->kernels[k] > 0)
                exercised |= BIT(c.split ? TM_TERM_CLASS_KERNEL(k) : TM_TERM_KERNEL);
        exercised |= (s->steps > 0 ? BIT(TM_TERM_FIXED) : 0) |
                     (s->comm_s > 0 ? BIT(TM_TERM_COMM) : 0) | (s->seqs > 0 ? BIT(TM_TERM_SEQ) : 0);
    }
    unsigned allowed = o->terms != 0 ? o->terms : BIT(P) - 1;
    if (!o->split_classes)
        allowed &= ~CLASS_MASK;
    /* a compute (memory) term is exercised when some operator of its class is compute-
     * (memory-) bound at the ridge point (all β = 1), where the fit starts */
    normal_eq ne0;
    normal_build(&c, &ridge, NULL, 0, NULL, &ne0);
    for (int k = 0; k < NCLASS; k++) {
        if (!(ne0.g[TM_TERM_CLASS_COMPUTE(k)][TM_TERM_CLASS_COMPUTE(k)] > 0))
            exercised &= ~BIT(TM_TERM_CLASS_COMPUTE(k));
        if (!(ne0.g[TM_TERM_CLASS_MEMORY(k)][TM_TERM_CLASS_MEMORY(k)] > 0))
            exercised &= ~BIT(TM_TERM_CLASS_MEMORY(k));
    }
    if (o->terms != 0 && (allowed & ~exercised) != 0) {
        g_autofree char *l = term_list(allowed & ~exercised);
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--terms: no sample exercises %s (drop it, or add samples that do)", l);
        return NULL;
    }
    unsigned cand = allowed & exercised;
    int K = 0;
    for (int t = 0; t < P; t++)
        K += (cand >> t) & 1u;
    /* identifiability at the ridge point */
    unsigned dep = dependent_terms(&ne0, cand);
    if (n < (size_t)K) {
        g_autofree char *all = term_list(cand);
        g_autofree char *bad = term_list(dep);
        g_set_error(
            error, TM_ERROR, TM_ERROR_INVALID,
            "too few samples: %zu sample%s cannot identify %d terms (%s); not identifiable: "
            "%s (add samples of other shapes, or restrict --terms)",
            n, n == 1 ? "" : "s", K, all, dep ? bad : "?");
        return NULL;
    }

    g_autoptr(tm_calib_fit) f = g_new0(tm_calib_fit, 1);
    f->warnings = g_ptr_array_new_with_free_func(g_free);
    f->n = n;
    f->split_classes = o->split_classes;
    f->bootstrap = o->bootstrap;
    for (int t = 0; t < P; t++)
        f->status[t] = (cand & BIT(t)) ? TM_TERM_FITTED : TM_TERM_ABSENT;
    if (dep != 0) {
        g_autofree char *l = term_list(dep);
        warn(f,
             "%s cannot be told apart from the other terms in this data (exactly collinear): "
             "not identifiable, left out of the fit",
             l);
        for (int t = 0; t < P; t++)
            if (dep & BIT(t))
                f->status[t] = TM_TERM_DROPPED;
    }
    unsigned mask = cand & ~dep;
    /* the max form: one (βc, βm) over all operators, plus the additive terms */
    unsigned mmask = (mask & REST_MASK) | (any_c ? allowed & BIT(TM_TERM_COMPUTE) : 0) |
                     (any_m ? allowed & BIT(TM_TERM_MEMORY) : 0);
    unsigned max_rounds = o->max_rounds > 0 ? o->max_rounds : 5;

    /* folds */
    g_autofree uint32_t *fold = g_new(uint32_t, n);
    unsigned nfolds = 0;
    f->cv = o->cv;
    if (o->cv == TM_CALIB_CV_LOCO) {
        g_autofree uint32_t *map = g_new(uint32_t, tm_calib_data_n_configs(d) + 1);
        for (size_t i = 0; i <= tm_calib_data_n_configs(d); i++)
            map[i] = UINT32_MAX;
        for (size_t j = 0; j < n; j++) {
            uint32_t cfg = c.s[j].config;
            if (cfg > tm_calib_data_n_configs(d))
                cfg = (uint32_t)tm_calib_data_n_configs(d);
            if (map[cfg] == UINT32_MAX)
                map[cfg] = nfolds++;
            fold[j] = map[cfg];
        }
        if (nfolds < 2) {
            warn(f,
                 "leave-one-configuration-out needs ≥ 2 configurations, the data has %u: "
                 "used %u-fold CV instead",
                 nfolds, o->folds >= 2 ? o->folds : 5);
            f->cv = TM_CALIB_CV_KFOLD;
        }
    }
    if (f->cv == TM_CALIB_CV_KFOLD) {
        nfolds = o->folds >= 2 ? o->folds : 5;
        if (nfolds > n)
            nfolds = (unsigned)n;
        g_autofree size_t *perm = g_new(size_t, n);
        for (size_t j = 0; j < n; j++)
            perm[j] = j;
        sim_rng rng;
        sim_rng_init(&rng, o->seed, SIM_STREAM_CALIB_FOLDS);
        sim_rng_shuffle(&rng, perm, n, sizeof *perm);
        for (size_t j = 0; j < n; j++)
            fold[perm[j]] = (uint32_t)(j % nfolds);
    }
    f->folds = nfolds;

    /* full-data fits */
    linear_fit lf;
    fit_linear(&c, NULL, 0, mask, max_rounds, &lf);
    memcpy(f->beta_linear, lf.beta, sizeof lf.beta);
    f->rounds = lf.rounds;
    f->settled = lf.settled;
    bool do_linear = o->form != TM_CALIB_FORM_MAX, do_max = o->form != TM_CALIB_FORM_LINEAR;
    for (int t = 0; t < P; t++)
        f->beta_max[t] = NAN;
    if (do_max)
        fit_max(&c, NULL, 0, mmask, lf.beta, f->beta_max);

    /* cross-validation of both forms */
    g_autofree double *pl = g_new(double, n);
    g_autofree double *pm = g_new(double, n);
    cross_validate(&c, fold, nfolds, mask, mmask, max_rounds, do_linear, do_max, pl, pm);
    quality(&c, pl, -1, &f->cv_linear);
    quality(&c, pm, -1, &f->cv_max);
    if (o->form == TM_CALIB_FORM_AUTO)
        f->form = f->cv_max.mape < f->cv_linear.mape ? TM_CALIB_FORM_MAX : TM_CALIB_FORM_LINEAR;
    else
        f->form = o->form;
    memcpy(f->beta, f->form == TM_CALIB_FORM_MAX ? f->beta_max : f->beta_linear, sizeof f->beta);
    f->pred = g_new(double, n);
    f->cv_pred = g_memdup2(f->form == TM_CALIB_FORM_MAX ? pm : pl, sizeof(double) * n);
    g_autofree double *pa = g_new(double, n);
    for (size_t j = 0; j < n; j++) {
        f->pred[j] = tm_calib_predict(d, &c.s[j], f->beta, f->form, c.split);
        pa[j] = tm_calib_predict(d, &c.s[j], f->beta, TM_CALIB_FORM_LINEAR, c.split);
    }
    quality(&c, f->pred, -1, &f->fit);
    quality(&c, f->cv_pred, -1, &f->cv_q);
    quality(&c, pa, -1, &f->applied);
    for (int rg = 0; rg < TM_REGIME_COUNT; rg++) {
        quality(&c, f->pred, rg, &f->regime_fit[rg]);
        quality(&c, f->cv_pred, rg, &f->regime_cv[rg]);
    }

    /* status of each term under the chosen form */
    unsigned used = f->form == TM_CALIB_FORM_MAX ? mmask : mask;
    for (int t = 0; t < P; t++) {
        if (f->status[t] == TM_TERM_DROPPED)
            continue;
        if (!(used & BIT(t)))
            f->status[t] = TM_TERM_ABSENT;
        else
            f->status[t] = f->beta[t] > 0 ? TM_TERM_FITTED : TM_TERM_CLAMPED;
    }
    if (f->form == TM_CALIB_FORM_MAX) {
        /* a side of the max that no sample reaches is not identified */
        size_t cside = 0, mside = 0;
        for (size_t j = 0; j < n; j++) {
            double cc = f->beta[TM_TERM_COMPUTE] * ct[j], mm = f->beta[TM_TERM_MEMORY] * mt[j];
            cside += ct[j] > 0 && cc >= mm;
            mside += mt[j] > 0 && mm > cc;
        }
        if (f->status[TM_TERM_COMPUTE] == TM_TERM_FITTED && cside == 0)
            f->status[TM_TERM_COMPUTE] = TM_TERM_CLAMPED;
        if (f->status[TM_TERM_MEMORY] == TM_TERM_FITTED && mside == 0)
            f->status[TM_TERM_MEMORY] = TM_TERM_CLAMPED;
    }

    /* collinearity at the final classification */
    normal_eq nef;
    normal_build(&c, &lf.cls, NULL, 0, NULL, &nef);
    unsigned nonempty = 0;
    for (int t = 0; t < P; t++)
        if ((mask & BIT(t)) && nef.g[t][t] > 0)
            nonempty |= BIT(t);
    collinearity(&nef, nonempty, &f->cond, f->vif);

    bootstrap(&c, o, mask, mmask, f, &lf);

    /* warnings */
    for (int t = 0; t < P; t++) {
        if (f->status[t] != TM_TERM_CLAMPED)
            continue;
        if (f->form == TM_CALIB_FORM_MAX && (t == TM_TERM_COMPUTE || t == TM_TERM_MEMORY) &&
            f->beta[t] > 0)
            warn(f,
                 "%s: no sample is %s-bound under the fitted max form: not identifiable from "
                 "this data",
                 term_names[t], t == TM_TERM_COMPUTE ? "compute" : "memory");
        else
            warn(f,
                 "%s: clamped at 0 by the non-negativity constraint: not identifiable from "
                 "this data%s",
                 term_names[t],
                 tm_calib_term_is_multiplier((tm_calib_term)t)
                     ? " (the calibration leaves this efficiency at its default)"
                     : "");
    }
    GString *col = g_string_new(NULL);
    for (int t = 0; t < P; t++)
        if (isfinite(f->vif[t]) ? f->vif[t] > 10 : (nonempty & BIT(t)) != 0)
            g_string_append_printf(col, "%s%s (VIF %.1f)", col->len ? ", " : "", term_names[t],
                                   f->vif[t]);
    if (col->len > 0)
        warn(f,
             "collinear terms: %s; their coefficients trade off against each other (condition "
             "number %.0f): add samples that move them independently",
             col->str, f->cond);
    g_string_free(col, TRUE);
    for (int t = 0; t < P; t++) {
        if (!tm_calib_term_is_multiplier((tm_calib_term)t) || f->status[t] != TM_TERM_FITTED)
            continue;
        if (1.0 / f->beta[t] > 1.05)
            warn(f,
                 "%s: implied efficiency 1/β = %.2f is above 1: the data runs faster than the "
                 "peak figure allows (wrong peak in the hardware preset, L2-resident operands, "
                 "or overlap the roofline does not model)",
                 term_names[t], 1.0 / f->beta[t]);
    }
    if (!f->settled)
        warn(f, "the compute/memory classification of operators still changed after %u rounds",
             f->rounds);
    return g_steal_pointer(&f);
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
    (void)d;

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
                {TM_TERM_SEQ, "beta_seq_s"}};

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
        json_object_set_new(terms, term_names[t], o);
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
    json_object_set_new(root, "fit", fit);
    if (sources != NULL)
        json_object_set_new(root, "sources", sources);
    return root;
}
