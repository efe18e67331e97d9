/* compare/result.c: results, figures and per-request statistics shared by every kind: the
 * figure tables with NAN for "not recorded", vLLM bench's definitions over per-request figures
 * (docs/domain.md §6: TPOT only over outputs of more than one token, ITL pooled over chunks,
 * NumPy's linear percentiles), errors and small JSON helpers. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/error.h"
#include "base/stats.h"
#include "compare/internal.h"

/* clang-format off */
G_DEFINE_QUARK(cmp-error-quark, cmp_error)

/* clang-format on */

const char *const cmp_lat_names[CMP_NLAT + 1] = {"ttft", "tpot", "itl", "e2e", NULL};
const char *const cmp_stat_names[CMP_NSTAT + 1] = {"mean", "p50", "p90", "p95", "p99", NULL};
const char *const cmp_tput_names[CMP_NTPUT + 1] = {"requests_per_s", "output_tokens_per_s",
                                                   "total_tokens_per_s", NULL};

static const double stat_pct[CMP_NSTAT] = {-1, 50, 90, 95, 99};

void
cmp__error(GError **error, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, CMP_ERROR, code, m);
}

void
cmp__propagate(GError **dest, GError *src)
{
    if (src == NULL)
        return;
    if (src->domain != CMP_ERROR) {
        int code = src->domain == BASE_ERROR && src->code == BASE_ERROR_IO      ? CMP_ERROR_IO
                   : src->domain == BASE_ERROR && src->code == BASE_ERROR_PARSE ? CMP_ERROR_PARSE
                                                                                : CMP_ERROR_INVALID;
        src->domain = CMP_ERROR;
        src->code = code;
    }
    g_propagate_error(dest, src);
}

/* ---- figures ---- */

void
cmp_metrics_init(cmp_metrics *m)
{
    for (int l = 0; l < CMP_NLAT; l++)
        for (int s = 0; s < CMP_NSTAT; s++)
            m->lat_ms[l][s] = NAN;
    for (int t = 0; t < CMP_NTPUT; t++)
        m->tput[t] = NAN;
    m->completed = NAN;
    m->failed = NAN;
}

bool
cmp_metrics_any(const cmp_metrics *m)
{
    for (int l = 0; l < CMP_NLAT; l++)
        for (int s = 0; s < CMP_NSTAT; s++)
            if (!isnan(m->lat_ms[l][s]))
                return true;
    for (int t = 0; t < CMP_NTPUT; t++)
        if (!isnan(m->tput[t]))
            return true;
    return false;
}

double
cmp__mean(const double *x, size_t n)
{
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            s += x[i];
            k++;
        }
    return k > 0 ? s / (double)k : (double)NAN;
}

double
cmp__percentile(const double *x, size_t n, double p)
{
    g_autofree double *v = g_new(double, n > 0 ? n : 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            v[k++] = x[i];
    if (k == 0)
        return NAN;
    base_sort_doubles(v, k);
    return base_percentile_sorted(v, k, p);
}

/* Fills the NAN stats of ROW from the finite values of X. */
static void
fill_stats(double row[CMP_NSTAT], const double *x, size_t n)
{
    g_autofree double *v = g_new(double, n > 0 ? n : 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            v[k++] = x[i];
    if (k == 0)
        return;
    base_sort_doubles(v, k);
    for (int s = 0; s < CMP_NSTAT; s++)
        if (isnan(row[s]))
            row[s] = stat_pct[s] < 0 ? cmp__mean(v, k) : base_percentile_sorted(v, k, stat_pct[s]);
}

cmp_reqs *
cmp_reqs_new(size_t n, bool with_send, bool with_itl)
{
    cmp_reqs *r = g_new0(cmp_reqs, 1);
    r->n = n;
    size_t m = n > 0 ? n : 1;
    r->ttft_ms = g_new(double, m);
    r->tpot_ms = g_new(double, m);
    r->e2e_ms = g_new(double, m);
    for (size_t i = 0; i < m; i++)
        r->ttft_ms[i] = r->tpot_ms[i] = r->e2e_ms[i] = NAN;
    if (with_send) {
        r->send_s = g_new(double, m);
        for (size_t i = 0; i < m; i++)
            r->send_s[i] = NAN;
    }
    r->input = g_new0(uint32_t, m);
    r->output = g_new0(uint32_t, m);
    r->ok = g_new0(bool, m);
    if (with_itl)
        r->itl_ms = g_array_new(FALSE, FALSE, sizeof(double));
    return r;
}

void
cmp_reqs_free(cmp_reqs *r)
{
    if (r == NULL)
        return;
    g_free(r->ttft_ms);
    g_free(r->tpot_ms);
    g_free(r->e2e_ms);
    g_free(r->send_s);
    g_free(r->input);
    g_free(r->output);
    g_free(r->ok);
    if (r->itl_ms != NULL)
        g_array_free(r->itl_ms, TRUE);
    g_free(r);
}

void
cmp_metrics_fill_from_reqs(cmp_metrics *m, const cmp_reqs *r)
{
    size_t n = r->n;
    g_autofree double *ttft = g_new(double, n > 0 ? n : 1);
    g_autofree double *tpot = g_new(double, n > 0 ? n : 1);
    g_autofree double *e2e = g_new(double, n > 0 ? n : 1);
    uint64_t ok = 0, in = 0, out = 0;
    double t0 = INFINITY, t1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        bool good = r->ok[i];
        ttft[i] = good ? r->ttft_ms[i] : (double)NAN;
        tpot[i] = good && r->output[i] > 1 ? r->tpot_ms[i] : (double)NAN;
        e2e[i] = good ? r->e2e_ms[i] : (double)NAN;
        if (good) {
            ok++;
            in += r->input[i];
            out += r->output[i];
        }
        if (r->send_s != NULL && isfinite(r->send_s[i])) {
            t0 = MIN(t0, r->send_s[i]);
            if (isfinite(r->e2e_ms[i]))
                t1 = MAX(t1, r->send_s[i] + r->e2e_ms[i] / 1e3);
        }
    }
    fill_stats(m->lat_ms[CMP_TTFT], ttft, n);
    fill_stats(m->lat_ms[CMP_TPOT], tpot, n);
    fill_stats(m->lat_ms[CMP_E2E], e2e, n);
    if (r->itl_ms != NULL)
        fill_stats(m->lat_ms[CMP_ITL], (const double *)(void *)r->itl_ms->data, r->itl_ms->len);
    if (isnan(m->completed))
        m->completed = (double)ok;
    if (isnan(m->failed))
        m->failed = (double)(n - ok);
    double dur = t1 - t0;
    if (r->send_s != NULL && isfinite(dur) && dur > 0) {
        if (isnan(m->tput[CMP_REQ_RATE]))
            m->tput[CMP_REQ_RATE] = (double)ok / dur;
        if (isnan(m->tput[CMP_OUT_TOKS]))
            m->tput[CMP_OUT_TOKS] = (double)out / dur;
        if (isnan(m->tput[CMP_TOTAL_TOKS]))
            m->tput[CMP_TOTAL_TOKS] = (double)(in + out) / dur;
    }
}

/* ---- results ---- */

cmp_result *
cmp_result_new(const cmp_kind *kind, const char *where)
{
    cmp_result *r = g_new0(cmp_result, 1);
    r->kind = kind;
    r->where = g_strdup(where);
    r->label = g_path_get_basename(where);
    cmp_metrics_init(&r->m);
    r->rec.settings = json_object();
    r->rec.assumed = g_ptr_array_new_with_free_func(g_free);
    r->notes = g_ptr_array_new_with_free_func(g_free);
    return r;
}

void
cmp_result_free(cmp_result *r)
{
    if (r == NULL)
        return;
    g_free(r->where);
    g_free(r->label);
    cmp_reqs_free(r->reqs);
    g_free(r->rec.model);
    g_free(r->rec.hardware);
    g_free(r->rec.engine);
    json_decref(r->rec.settings);
    json_decref(r->rec.servesim);
    wl_list_free(r->rec.requests);
    g_free(r->rec.req_index);
    g_free(r->rec.unmodeled);
    g_ptr_array_unref(r->rec.assumed);
    g_ptr_array_unref(r->notes);
    json_decref(r->doc);
    g_free(r);
}

void
cmp_result_note(cmp_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(r->notes, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

void
cmp_result_assume(cmp_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(r->rec.assumed, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

gboolean
cmp__set_lat(cmp_result *r, cmp_lat l, cmp_stat s, double ms, const char *what, GError **error)
{
    if (isnan(ms))
        return TRUE;
    if (!isfinite(ms) || ms < 0) {
        cmp__error(error, CMP_ERROR_INVALID, "%s: %s: %g is not a latency (finite, >= 0)", r->where,
                   what, ms);
        return FALSE;
    }
    r->m.lat_ms[l][s] = ms;
    return TRUE;
}

/* ---- JSON helpers ---- */

double
cmp__num(const json_t *j)
{
    return json_is_number(j) ? json_number_value(j) : (double)NAN;
}

double
cmp__get_num(const json_t *o, const char *k)
{
    return json_is_object(o) ? cmp__num(json_object_get(o, k)) : (double)NAN;
}

const char *
cmp__get_str(const json_t *o, const char *k)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const json_t *
cmp__path(const json_t *o, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    const json_t *cur = o;
    for (char **p = parts; *p != NULL && cur != NULL; p++)
        cur = json_is_object(cur) ? json_object_get(cur, *p) : NULL;
    return cur;
}

void
cmp__set(json_t *settings, const char *path, json_t *v)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    json_t *cur = settings;
    for (char **p = parts; p[1] != NULL; p++) {
        json_t *next = json_object_get(cur, *p);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, *p, next);
        }
        cur = next;
    }
    json_object_set_new(cur, parts[g_strv_length(parts) - 1], v);
}

char *
cmp__find_file(const char *name, const char *dir)
{
    if (name == NULL || *name == '\0')
        return NULL;
    if (g_file_test(name, G_FILE_TEST_IS_REGULAR))
        return g_strdup(name);
    if (dir != NULL && !g_path_is_absolute(name)) {
        char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            return p;
        g_free(p);
    }
    return NULL;
}
