/* dsa/fit.c: parameter estimation (see fit.h). Pass 2 keeps, per (request, layer), the far set
 * of its latest record (bounded: the table is emptied when it exceeds MAX_TRACKED entries, which
 * only loses some overlap pairs), so memory does not grow with the trace. */
#include "dsa/fit.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "dsa/select.h"

#define SINK_MAX    256  /* sinks looked for among positions 0..SINK_MAX−1 */
#define WINDOW_MAX  8192 /* window looked for among offsets 0..WINDOW_MAX−1 */
#define THRESH      0.9  /* "always selected" */
#define MAX_TRACKED 65536
#define NGRID       12   /* d0 grid: 1, 2, 4, ..., 2048 */
#define NBUCKETS    4096 /* truncation buckets (log2 scale, 1/128 octave) */

typedef struct prev {
    uint64_t step;
    uint32_t *far;
    uint32_t n;
} prev;

struct dsa_fit {
    uint32_t indep;
    /* pass 1 */
    uint32_t k;
    uint64_t records, sparse;
    uint64_t sink_cnt[SINK_MAX], off_cnt[WINDOW_MAX];
    /* pass 1 results */
    uint32_t n_sink, window;
    /* pass 2 */
    uint64_t sparse2;
    uint64_t runs1, runs2, len2, far_total;
    double lnx[NGRID]; /* Σ ln(d + d0 + 0.5) over cluster starts */
    uint64_t starts;
    uint64_t bucket_n[NBUCKETS]; /* starts per truncation bucket */
    double bucket_b[NBUCKETS];   /* Σ dhi per bucket */
    double ov_t_sum, ov_t_log;   /* Δ = 1 overlaps; Σ ln(overlap)/Δ for others */
    uint64_t ov_t_n, ov_t_gap_n;
    double o1_sum, o2_sum;
    uint64_t o1_n, o2_n;
    GHashTable *last; /* (request, layer) → prev */
    uint32_t *scratch, *far;
    uint32_t cap;
};

static void
prev_free(gpointer p)
{
    prev *x = p;
    g_free(x->far);
    g_free(x);
}

static guint
key_hash(gconstpointer k)
{
    const uint64_t *x = k;
    return (guint)(x[0] * UINT64_C(0x9E3779B97F4A7C15) ^ x[1]);
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, 2 * sizeof(uint64_t)) == 0;
}

dsa_fit *
dsa_fit_new(uint32_t independent_layers)
{
    dsa_fit *f = g_new0(dsa_fit, 1);
    f->indep = independent_layers;
    f->last = g_hash_table_new_full(key_hash, key_equal, g_free, prev_free);
    return f;
}

void
dsa_fit_free(dsa_fit *f)
{
    if (f == NULL)
        return;
    g_hash_table_destroy(f->last);
    g_free(f->scratch);
    g_free(f->far);
    g_free(f);
}

static const uint32_t *
sorted(dsa_fit *f, const dsa_record *r, uint32_t *n)
{
    if (f->cap < r->npos) {
        f->cap = r->npos;
        f->scratch = g_renew(uint32_t, f->scratch, f->cap);
        f->far = g_renew(uint32_t, f->far, f->cap);
    }
    return dsa_sel_normalize(r->pos, r->npos, f->scratch, n);
}

void
dsa_fit_pass1(dsa_fit *f, const dsa_record *r)
{
    f->records++;
    uint32_t n;
    const uint32_t *pos = sorted(f, r, &n);
    f->k = n > f->k ? n : f->k;
    if (n >= r->seq_len_current || n == 0)
        return; /* everything selected: says nothing about the pattern */
    f->sparse++;
    for (uint32_t i = 0; i < n && pos[i] < SINK_MAX; i++)
        f->sink_cnt[pos[i]]++;
    uint32_t t = r->seq_len_current - 1;
    for (uint32_t i = n; i-- > 0 && t - pos[i] < WINDOW_MAX;)
        f->off_cnt[t - pos[i]]++;
}

gboolean
dsa_fit_end_pass1(dsa_fit *f, GError **error)
{
    if (f->sparse == 0) {
        g_set_error(error, BASE_ERROR, BASE_ERROR_INVALID,
                    "--fit: no record selects fewer positions than its context (%" G_GUINT64_FORMAT
                    " records); nothing to fit",
                    f->records);
        return FALSE;
    }
    double need = THRESH * (double)f->sparse;
    uint32_t s = 0;
    while (s < SINK_MAX && (double)f->sink_cnt[s] >= need)
        s++;
    uint32_t w = 0;
    while (w < WINDOW_MAX && (double)f->off_cnt[w] >= need)
        w++;
    f->n_sink = s;
    f->window = w;
    return TRUE;
}

static double
overlap(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    if (na == 0)
        return 1.0;
    uint32_t i = 0, j = 0, both = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            both++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (double)both / (double)na;
}

static const prev *
lookup(const dsa_fit *f, uint64_t req, uint64_t layer)
{
    uint64_t key[2] = {req, layer};
    return g_hash_table_lookup(f->last, key);
}

static uint32_t
bucket_of(double dhi)
{
    double b = log2(dhi > 1 ? dhi : 1) * 128.0;
    uint32_t k = (uint32_t)b;
    return k < NBUCKETS ? k : NBUCKETS - 1;
}

void
dsa_fit_pass2(dsa_fit *f, const dsa_record *r)
{
    uint32_t n;
    const uint32_t *pos = sorted(f, r, &n);
    if (n >= r->seq_len_current || n == 0)
        return;
    f->sparse2++;
    uint32_t t = r->seq_len_current - 1;
    /* far positions: [n_sink, t − w] */
    uint32_t nf = 0;
    for (uint32_t i = 0; i < n; i++)
        if (pos[i] >= f->n_sink && (uint64_t)pos[i] + f->window <= t)
            f->far[nf++] = pos[i];
    f->far_total += nf;
    for (uint32_t i = 0; i < nf;) {
        uint32_t j = i + 1;
        while (j < nf && f->far[j] == f->far[j - 1] + 1)
            j++;
        uint32_t len = j - i;
        if (len == 1) {
            f->runs1++;
        } else {
            f->runs2++;
            f->len2 += len;
            uint32_t d = t - f->far[i];
            for (int g = 0; g < NGRID; g++)
                f->lnx[g] += log((double)d + ldexp(1.0, g) + 0.5);
            f->starts++;
            double dhi = (double)t - (double)f->n_sink;
            uint32_t b = bucket_of(dhi);
            f->bucket_n[b]++;
            f->bucket_b[b] += dhi;
        }
        i = j;
    }
    /* temporal and layer overlaps */
    const prev *p = lookup(f, r->request_id, r->layer_id);
    if (p != NULL && r->step_idx > p->step) {
        double o = overlap(p->far, p->n, f->far, nf);
        uint64_t gap = r->step_idx - p->step;
        if (gap == 1) {
            f->ov_t_sum += o;
            f->ov_t_n++;
        } else if (o > 0) {
            f->ov_t_log += log(o) / (double)gap;
            f->ov_t_gap_n++;
        }
    }
    if (r->layer_id >= f->indep && r->layer_id >= 1) {
        const prev *q = lookup(f, r->request_id, r->layer_id - 1);
        if (q != NULL && q->step == r->step_idx) {
            f->o1_sum += overlap(q->far, q->n, f->far, nf);
            f->o1_n++;
        }
        if (r->layer_id >= 2 && r->layer_id - 1 >= f->indep) {
            const prev *q2 = lookup(f, r->request_id, r->layer_id - 2);
            if (q2 != NULL && q2->step == r->step_idx) {
                f->o2_sum += overlap(q2->far, q2->n, f->far, nf);
                f->o2_n++;
            }
        }
    }
    if (g_hash_table_size(f->last) >= MAX_TRACKED)
        g_hash_table_remove_all(f->last);
    uint64_t *key = g_new(uint64_t, 2);
    key[0] = r->request_id;
    key[1] = r->layer_id;
    prev *np = g_new(prev, 1);
    np->step = r->step_idx;
    np->n = nf;
    np->far = g_memdup2(f->far, (gsize)nf * sizeof *f->far);
    g_hash_table_replace(f->last, key, np);
}

/* Log-likelihood per start of the truncated power law with exponent A and offset index G. */
static double
loglik(const dsa_fit *f, double a, int g)
{
    double d0 = ldexp(1.0, g);
    double ll = -a * f->lnx[g];
    double lo = (double)f->window + 1.0 + d0;
    for (uint32_t b = 0; b < NBUCKETS; b++) {
        if (f->bucket_n[b] == 0)
            continue;
        double hi = f->bucket_b[b] / (double)f->bucket_n[b] + 1.0 + d0;
        if (hi <= lo)
            hi = lo + 1;
        double z =
            fabs(a - 1.0) < 1e-9 ? log(hi / lo) : (pow(hi, 1.0 - a) - pow(lo, 1.0 - a)) / (1.0 - a);
        ll -= (double)f->bucket_n[b] * log(z);
    }
    return ll;
}

/* Golden-section maximum of loglik over α ∈ [0, 6] for offset G. */
static double
best_alpha(const dsa_fit *f, int g, double *ll)
{
    double a = 0.0, b = 6.0, r = (sqrt(5.0) - 1) / 2;
    double x1 = b - r * (b - a), x2 = a + r * (b - a);
    double f1 = loglik(f, x1, g), f2 = loglik(f, x2, g);
    for (int i = 0; i < 80; i++) {
        if (f1 < f2) {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + r * (b - a);
            f2 = loglik(f, x2, g);
        } else {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - r * (b - a);
            f1 = loglik(f, x1, g);
        }
    }
    double x = (a + b) / 2;
    *ll = loglik(f, x, g);
    return x;
}

void
dsa_fit_finish(dsa_fit *f, dsa_synth_params *p, json_t **report)
{
    dsa_synth_params base;
    dsa_synth_preset("clustered", &base);
    *p = base;
    g_strlcpy(p->name, "fit", sizeof p->name);
    p->n_sink = f->n_sink;
    p->window = f->window;
    p->independent_layers = f->indep;
    json_t *notes = json_array();
    /* cluster length and noise from run lengths */
    if (f->runs2 > 0) {
        double m = (double)f->len2 / (double)f->runs2 - 1.0;
        if (m < 1)
            m = 1;
        p->cluster_mean = m;
        double clusters = (double)f->runs2 / (1.0 - 1.0 / (m > 1 ? m : 2));
        double noise = (double)f->runs1 - clusters / m;
        if (noise < 0)
            noise = 0;
        p->noise = f->k > 0 ? noise / ((double)f->sparse2 * (double)f->k) : 0;
        if (p->noise > 1)
            p->noise = 1;
    } else {
        p->cluster_mean = 1;
        p->noise = f->k > 0 && f->sparse2 > 0
                       ? (double)f->far_total / ((double)f->sparse2 * (double)f->k)
                       : 0;
        json_array_append_new(notes, json_string("no runs of 2+ far positions: all far picks "
                                                 "treated as noise; alpha and d0 not estimated"));
    }
    if (f->starts >= 16) {
        double best_ll = -INFINITY;
        for (int g = 0; g < NGRID; g++) {
            double ll;
            double a = best_alpha(f, g, &ll);
            if (ll > best_ll) {
                best_ll = ll;
                p->alpha = a;
                p->d0 = ldexp(1.0, g);
            }
        }
    } else if (f->runs2 > 0) {
        json_array_append_new(notes, json_string("fewer than 16 cluster starts: alpha and d0 "
                                                 "kept from the clustered preset"));
    }
    if (f->ov_t_n > 0)
        p->gamma = f->ov_t_sum / (double)f->ov_t_n;
    else if (f->ov_t_gap_n > 0)
        p->gamma = exp(f->ov_t_log / (double)f->ov_t_gap_n);
    else
        json_array_append_new(notes, json_string("no consecutive records of one request and "
                                                 "layer: gamma kept from the clustered preset"));
    if (f->o1_n > 0) {
        double o1 = f->o1_sum / (double)f->o1_n;
        double lam;
        if (f->o2_n > 0 && o1 < 1.0) {
            double o2 = f->o2_sum / (double)f->o2_n;
            lam = (1.0 - o2) / (1.0 - o1) - 1.0;
        } else {
            lam = o1; /* assumes non-reused layers share nothing */
            json_array_append_new(notes, json_string("no layer pairs two apart: lambda = mean "
                                                     "adjacent-layer overlap (upper bound)"));
        }
        p->lambda = lam < 0 ? 0 : lam > 1 ? 1 : lam;
    } else {
        json_array_append_new(notes, json_string("no records of adjacent layers in one step: "
                                                 "lambda kept from the clustered preset"));
    }
    if (p->window + p->n_sink > f->k)
        p->window = f->k - p->n_sink;
    json_t *o = json_object();
    json_object_set_new(o, "records", json_integer((json_int_t)f->records));
    json_object_set_new(o, "sparse_records", json_integer((json_int_t)f->sparse));
    json_object_set_new(o, "topk", json_integer(f->k));
    json_object_set_new(o, "far_runs_single", json_integer((json_int_t)f->runs1));
    json_object_set_new(o, "far_runs_multi", json_integer((json_int_t)f->runs2));
    json_object_set_new(o, "cluster_starts", json_integer((json_int_t)f->starts));
    json_object_set_new(o, "temporal_pairs", json_integer((json_int_t)(f->ov_t_n + f->ov_t_gap_n)));
    json_object_set_new(o, "layer_pairs_1", json_integer((json_int_t)f->o1_n));
    json_object_set_new(o, "layer_pairs_2", json_integer((json_int_t)f->o2_n));
    json_object_set_new(o, "notes", notes);
    *report = o;
}
