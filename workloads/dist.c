/* workloads/dist.c: length / think-time distributions (see dist.h) and the empirical length
 * table read from any workload file. Specs are validated up front so draws never fail. */
#include "workloads/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "workloads/internal.h"

typedef enum {
    D_FIXED,
    D_UNIFORM,
    D_NORMAL,
    D_LOGNORMAL,
    D_ZIPF,
    D_EXP,
    D_EMPIRICAL,
    D_LOGMIX,
} kind;

#define MAXMIX 4

struct wl_dist {
    kind k;
    wl_dist_domain dom;
    double a, b;    /* parameters (see draw) */
    double lo, hi;  /* clamp range */
    double *values; /* empirical support */
    sim_alias *alias;
    /* D_LOGMIX: component i (probability mix_w[i], cumulative) is log-uniform on
     * [mix_lo[i], mix_hi[i]] */
    double mix_w[MAXMIX], mix_lo[MAXMIX], mix_hi[MAXMIX];
    int nmix;
};

static wl_dist *
new_dist(kind k, wl_dist_domain dom)
{
    wl_dist *d = g_new0(wl_dist, 1);
    d->k = k;
    d->dom = dom;
    d->lo = dom == WL_DIST_INT ? 1 : 0;
    d->hi = dom == WL_DIST_INT ? WL_MAX_TOKENS : WL_MAX_TIME_S;
    return d;
}

void
wl_dist_free(wl_dist *d)
{
    if (d == NULL)
        return;
    sim_alias_free(d->alias);
    g_free(d->values);
    g_free(d);
}

wl_dist *
wl_dist_new_fixed(double v, wl_dist_domain domain)
{
    wl_dist *d = new_dist(D_FIXED, domain);
    d->a = v;
    return d;
}

wl_dist *
wl_dist_new_empirical(const double *values, const double *weights, size_t n, wl_dist_domain domain)
{
    sim_alias *a = sim_alias_new(weights, n);
    if (a == NULL)
        return NULL;
    wl_dist *d = new_dist(D_EMPIRICAL, domain);
    d->alias = a;
    d->values = g_memdup2(values, n * sizeof *values);
    return d;
}

bool
wl_dist_is_fixed(const wl_dist *d)
{
    return d->k == D_FIXED || (d->k == D_UNIFORM && d->a == d->b) ||
           ((d->k == D_NORMAL || d->k == D_LOGNORMAL) && d->b == 0);
}

double
wl_dist_draw(const wl_dist *d, sim_rng *r)
{
    double v = 0;
    switch (d->k) {
    case D_FIXED:
        v = d->a;
        break;
    case D_UNIFORM:
        if (d->dom == WL_DIST_INT)
            v = d->a + (double)sim_rng_below(r, (uint64_t)(d->b - d->a) + 1);
        else
            v = d->a + (d->b - d->a) * sim_rng_uniform(r);
        break;
    case D_NORMAL:
        v = d->b > 0 ? sim_rng_normal(r, d->a, d->b) : d->a;
        break;
    case D_LOGNORMAL:
        v = d->b > 0 ? sim_rng_lognormal(r, d->a, d->b) : exp(d->a);
        break;
    case D_ZIPF:
        v = (double)sim_rng_zipf(r, (uint64_t)d->b, d->a);
        break;
    case D_EXP:
        v = d->a > 0 ? sim_rng_exponential(r, 1.0 / d->a) : 0;
        break;
    case D_EMPIRICAL:
        v = d->values[sim_alias_draw(d->alias, r)];
        break;
    case D_LOGMIX: {
        double u = sim_rng_uniform(r);
        int i = 0;
        while (i + 1 < d->nmix && u >= d->mix_w[i])
            i++;
        v = exp(log(d->mix_lo[i]) + sim_rng_uniform(r) * log(d->mix_hi[i] / d->mix_lo[i]));
        break;
    }
    }
    if (d->dom == WL_DIST_INT)
        v = (double)llround(v);
    if (v < d->lo)
        v = d->lo;
    if (v > d->hi)
        v = d->hi;
    return v;
}

/* Splits "kind:a:b:..." into at most MAX numbers after the kind. */
static gboolean
parse_numbers(char **parts,
              size_t first,
              double *out,
              size_t min_n,
              size_t max_n,
              size_t *n,
              const char *spec,
              const char *what,
              GError **error)
{
    size_t k = 0;
    for (size_t i = first; parts[i] != NULL; i++, k++) {
        if (k >= max_n || !base_parse_double(parts[i], &out[k])) {
            g_autofree char *shown = base_escape_text(spec, 80);
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: bad distribution '%s' (%s)", what,
                        shown, k >= max_n ? "too many parameters" : "parameters must be numbers");
            return FALSE;
        }
    }
    if (k < min_n) {
        g_autofree char *shown = base_escape_text(spec, 80);
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: bad distribution '%s' (expected at least %zu parameters)", what, shown,
                    min_n);
        return FALSE;
    }
    *n = k;
    return TRUE;
}

static wl_dist *
bad(GError **error, const char *what, const char *spec, const char *why)
{
    g_autofree char *shown = base_escape_text(spec, 80); /* a setting's text, one line */
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: bad distribution '%s': %s", what, shown,
                why);
    return NULL;
}

static gboolean
set_clamp(wl_dist *d,
          const double *p,
          size_t n,
          size_t at,
          const char *what,
          const char *spec,
          GError **error)
{
    if (n > at && p[at] > d->lo)
        d->lo = p[at];
    if (n > at + 1 && p[at + 1] < d->hi)
        d->hi = p[at + 1];
    if (d->lo > d->hi) {
        bad(error, what, spec, "MIN is larger than MAX");
        return FALSE;
    }
    return TRUE;
}

static wl_dist *
empirical_from_file(
    const char *path, wl_dist_domain domain, int column, const char *what, GError **error)
{
    g_auto(wl_length_table) t = {0};
    GError *e = NULL;
    if (!wl_length_table_load(path, &t, &e)) {
        g_set_error(error, WL_ERROR, e->domain == WL_ERROR ? e->code : WL_ERROR_INVALID,
                    "%s: empirical:%s: %s", what, path, e->message);
        g_error_free(e);
        return NULL;
    }
    if (t.n == 0) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: empirical:%s: no requests", what, path);
        return NULL;
    }
    /* Marginal of one column: aggregate the pairs by value (sorted, so deterministic). */
    g_autoptr(GHashTable) h = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GArray) vals = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) w = g_array_new(FALSE, FALSE, sizeof(double));
    for (size_t i = 0; i < t.n; i++) {
        uint32_t v = column == 0 ? t.prompt[i] : t.output[i];
        gpointer idx;
        if (g_hash_table_lookup_extended(h, GUINT_TO_POINTER(v), NULL, &idx)) {
            g_array_index(w, double, GPOINTER_TO_UINT(idx)) += t.count[i];
        } else {
            g_hash_table_insert(h, GUINT_TO_POINTER(v), GUINT_TO_POINTER(vals->len));
            double dv = v;
            g_array_append_val(vals, dv);
            g_array_append_val(w, t.count[i]);
        }
    }
    return wl_dist_new_empirical((double *)(void *)vals->data, (double *)(void *)w->data, vals->len,
                                 domain);
}

/* Long-context length presets (docs/workloads.md "Long-context presets"; docs/dsa.md):
 *   ruler        RULER's standard context sweep: 4K, 8K, 16K, 32K, 64K and 128K tokens
 *                (Hsieh et al., "RULER: What's the real context size of your long-context
 *                language models?", arXiv:2404.06654), equally often;
 *   ruler:LEN    one of them (LEN in tokens, "32k" = 32768);
 *   longbench-v2[:MAX]  LongBench v2's 503 contexts by length class (Bai et al., arXiv:
 *                2412.15204): short < 32k words (180), medium 32k–128k (215), long 128k–2M
 *                (108), contexts from 8k words; log-uniform within a class [assume], 1.3
 *                tokens per word [assume: English BPE], truncated to MAX tokens (default
 *                131072 = 128K) as long-context evaluations truncate over-long inputs to the
 *                model's window [assume]. */
static const double ruler_lengths[] = {4096, 8192, 16384, 32768, 65536, 131072};
#define LB2_TOKENS_PER_WORD 1.3

static gboolean
parse_tokens(const char *s, double *out)
{
    size_t n = strlen(s);
    double mult = 1;
    g_autofree char *c = g_strdup(s);
    if (n > 1 && (c[n - 1] == 'k' || c[n - 1] == 'K')) {
        mult = 1024;
        c[n - 1] = '\0';
    }
    double v;
    if (!base_parse_double(c, &v) || !(v >= 1) || v != floor(v))
        return FALSE;
    *out = v * mult;
    return TRUE;
}

static wl_dist *
long_context_preset(const char *spec, wl_dist_domain domain, const char *what, GError **error)
{
    if (domain != WL_DIST_INT)
        return bad(error, what, spec, "long-context presets are token lengths");
    const char *arg = strchr(spec, ':');
    double v = 0;
    if (arg != NULL && !parse_tokens(arg + 1, &v))
        return bad(error, what, spec, "expected a token count such as 32768 or 32k");
    if (g_str_has_prefix(spec, "ruler")) {
        if (arg == NULL) {
            const double w[G_N_ELEMENTS(ruler_lengths)] = {1, 1, 1, 1, 1, 1};
            return wl_dist_new_empirical(ruler_lengths, w, G_N_ELEMENTS(ruler_lengths), domain);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(ruler_lengths); i++)
            if (v == ruler_lengths[i])
                return wl_dist_new_fixed(v, domain);
        return bad(error, what, spec, "RULER lengths are 4k, 8k, 16k, 32k, 64k and 128k");
    }
    double max = arg != NULL ? v : 131072;
    if (max > WL_MAX_TOKENS)
        return bad(error, what, spec, "more than 10,000,000 tokens");
    wl_dist *d = new_dist(D_LOGMIX, domain);
    const double n[3] = {180, 215, 108};
    const double lo[3] = {8000, 32000, 128000}, hi[3] = {32000, 128000, 2000000};
    double cum = 0;
    for (int i = 0; i < 3; i++) {
        cum += n[i] / 503.0;
        d->mix_w[i] = cum;
        d->mix_lo[i] = lo[i] * LB2_TOKENS_PER_WORD;
        d->mix_hi[i] = hi[i] * LB2_TOKENS_PER_WORD;
    }
    d->nmix = 3;
    d->hi = max;
    return d;
}

wl_dist *
wl_dist_parse(const char *spec, wl_dist_domain domain, int column, const char *what, GError **error)
{
    g_return_val_if_fail(spec != NULL, NULL);
    if (g_str_has_prefix(spec, "empirical:"))
        return empirical_from_file(spec + strlen("empirical:"), domain, column, what, error);
    if (strcmp(spec, "ruler") == 0 || g_str_has_prefix(spec, "ruler:") ||
        strcmp(spec, "longbench-v2") == 0 || g_str_has_prefix(spec, "longbench-v2:"))
        return long_context_preset(spec, domain, what, error);
    g_auto(GStrv) parts = g_strsplit(spec, ":", -1);
    double p[6];
    size_t n = 0;
    g_autoptr(wl_dist) d = NULL;
    const char *k = parts[0] != NULL ? parts[0] : "";
    double floor_v = domain == WL_DIST_INT ? 1 : 0;
    double v;
    if (parts[0] != NULL && parts[1] == NULL && base_parse_double(k, &v)) {
        /* A bare number means fixed. */
        d = wl_dist_new_fixed(v, domain);
        n = 1;
        p[0] = v;
    } else if (strcmp(k, "fixed") == 0) {
        if (!parse_numbers(parts, 1, p, 1, 1, &n, spec, what, error))
            return NULL;
        d = wl_dist_new_fixed(p[0], domain);
    } else if (strcmp(k, "uniform") == 0) {
        if (!parse_numbers(parts, 1, p, 2, 2, &n, spec, what, error))
            return NULL;
        if (p[0] > p[1])
            return bad(error, what, spec, "MIN is larger than MAX");
        if (domain == WL_DIST_INT && (p[0] != floor(p[0]) || p[1] != floor(p[1])))
            return bad(error, what, spec, "token bounds must be integers");
        d = new_dist(D_UNIFORM, domain);
        d->a = p[0];
        d->b = p[1];
    } else if (strcmp(k, "normal") == 0) {
        if (!parse_numbers(parts, 1, p, 2, 4, &n, spec, what, error))
            return NULL;
        if (p[1] < 0)
            return bad(error, what, spec, "negative standard deviation");
        d = new_dist(D_NORMAL, domain);
        d->a = p[0];
        d->b = p[1];
        if (!set_clamp(d, p, n, 2, what, spec, error))
            return NULL;
    } else if (strcmp(k, "lognormal") == 0) {
        if (!parse_numbers(parts, 1, p, 2, 4, &n, spec, what, error))
            return NULL;
        if (p[0] <= 0 || p[1] < 0)
            return bad(error, what, spec, "needs MEAN > 0 and SD >= 0");
        d = new_dist(D_LOGNORMAL, domain);
        /* Moment matching: the drawn values have mean p0 and standard deviation p1. */
        double s2 = log1p(p[1] * p[1] / (p[0] * p[0]));
        d->a = log(p[0]) - s2 / 2;
        d->b = sqrt(s2);
        if (!set_clamp(d, p, n, 2, what, spec, error))
            return NULL;
    } else if (strcmp(k, "zipf") == 0) {
        if (!parse_numbers(parts, 1, p, 2, 2, &n, spec, what, error))
            return NULL;
        if (p[0] <= 0 || p[1] < 1 || p[1] != floor(p[1]))
            return bad(error, what, spec, "needs S > 0 and an integer MAX >= 1");
        d = new_dist(D_ZIPF, domain);
        d->a = p[0];
        d->b = p[1];
    } else if (strcmp(k, "exponential") == 0) {
        if (!parse_numbers(parts, 1, p, 1, 1, &n, spec, what, error))
            return NULL;
        if (p[0] < 0)
            return bad(error, what, spec, "negative mean");
        d = new_dist(D_EXP, domain);
        d->a = p[0];
    } else {
        g_autofree char *shown = base_escape_text(spec, 80);
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: unknown distribution '%s' (expected fixed:V, uniform:MIN:MAX, "
                    "normal:MEAN:SD[:MIN[:MAX]], lognormal:MEAN:SD[:MIN[:MAX]], zipf:S:MAX, "
                    "exponential:MEAN, empirical:FILE, ruler[:LEN] or longbench-v2[:MAX])",
                    what, shown);
        return NULL;
    }
    if (d->k == D_FIXED || d->k == D_UNIFORM) {
        if (p[0] < floor_v)
            return bad(error, what, spec,
                       domain == WL_DIST_INT ? "token counts must be >= 1" : "negative value");
        if (domain == WL_DIST_INT && p[n - 1] > WL_MAX_TOKENS)
            return bad(error, what, spec, "more than 10,000,000 tokens");
    }
    /* Seconds: every parameter within the time limit (draws are clamped to it as well). */
    for (size_t i = 0; domain == WL_DIST_REAL && i < n; i++)
        if (p[i] > WL_MAX_TIME_S) {
            g_autofree char *why = g_strdup_printf("more than %g s", WL_MAX_TIME_S);
            return bad(error, what, spec, why);
        }
    return g_steal_pointer(&d);
}

static gboolean
json_num(const json_t *j, const char *key, double *out)
{
    const json_t *v = json_object_get(j, key);
    if (v == NULL || json_is_null(v))
        return FALSE;
    if (!json_is_number(v))
        return FALSE;
    *out = json_number_value(v);
    return TRUE;
}

wl_dist *
wl_dist_from_json(json_t *j, const char *what, GError **error)
{
    if (!json_is_object(j)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: expected an object {min, max, mean, std_dev}", what);
        return NULL;
    }
    const char *key;
    const json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "min") != 0 && strcmp(key, "max") != 0 && strcmp(key, "mean") != 0 &&
            strcmp(key, "std_dev") != 0 && strcmp(key, "total_count") != 0) {
            g_autofree char *shown = base_escape_text(key, 64); /* the file's text, one line */
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                        "%s.%s: unknown key (expected min, max, mean, std_dev, total_count)", what,
                        shown);
            return NULL;
        }
        if (!json_is_number(v)) {
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s.%s: expected a number", what, key);
            return NULL;
        }
    }
    double mn = 1, mx = WL_MAX_TOKENS, mean = NAN, sd = 0;
    json_num(j, "min", &mn);
    json_num(j, "max", &mx);
    json_num(j, "std_dev", &sd);
    if (!json_num(j, "mean", &mean))
        mean = (mn + mx) / 2; /* inference-perf always gives a mean; be lenient */
    if (mn < 1 || mx < mn || mx > WL_MAX_TOKENS || sd < 0 || !(mean >= mn && mean <= mx)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: need 1 <= min <= mean <= max <= 10000000 and std_dev >= 0 (got min %g, "
                    "mean %g, max %g, std_dev %g)",
                    what, mn, mean, mx, sd);
        return NULL;
    }
    wl_dist *d = new_dist(sd > 0 ? D_NORMAL : D_FIXED, WL_DIST_INT);
    d->a = mean;
    d->b = sd;
    d->lo = mn;
    d->hi = mx;
    return d;
}

/* ---- empirical length table ---- */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

gboolean
wl_length_table_load(const char *path, wl_length_table *t, GError **error)
{
    const base_opt_set set = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    o.source = g_strdup(path);
    wl_open_params params = {0, 0};
    g_autoptr(wl_source) s = wl_open(&o, &params, error);
    base_opts_clear(&set, &o);
    if (s == NULL)
        return FALSE;
    g_autoptr(GHashTable) h = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    wl_request r;
    int rc;
    while ((rc = wl_source_next(s, &r, error)) == 1) {
        uint64_t key = (uint64_t)r.prompt_tokens << 32 | r.output_tokens;
        double *c = g_hash_table_lookup(h, &key);
        if (c == NULL) {
            c = g_new0(double, 1);
            g_hash_table_insert(h, g_memdup2(&key, sizeof key), c);
        }
        *c += 1;
    }
    if (rc < 0)
        return FALSE;
    guint n = 0;
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array(h, &n);
    g_autofree uint64_t *k = g_new(uint64_t, n + 1);
    for (guint i = 0; i < n; i++)
        k[i] = *(uint64_t *)keys[i];
    qsort(k, n, sizeof *k, cmp_u64);
    t->n = n;
    t->prompt = g_new(uint32_t, n + 1);
    t->output = g_new(uint32_t, n + 1);
    t->count = g_new(double, n + 1);
    for (guint i = 0; i < n; i++) {
        t->prompt[i] = (uint32_t)(k[i] >> 32);
        t->output[i] = (uint32_t)k[i];
        t->count[i] = *(double *)g_hash_table_lookup(h, &k[i]);
    }
    return TRUE;
}

void
wl_length_table_clear(wl_length_table *t)
{
    g_free(t->prompt);
    g_free(t->output);
    g_free(t->count);
    memset(t, 0, sizeof *t);
}
