/* workloads/servegen.c: a generator driven by a ServeGen client characterization (Xiang et
 * al., arXiv:2505.09999): chunk-N-trace.csv gives, per 600 s window, the request rate, the
 * CV and the fitted inter-arrival family (Gamma / Weibull: shape, scale; Exponential or
 * empty: Poisson); chunk-N-dataset.json gives, per 21,600 s window, input and output length
 * PMFs as Python-dict text.
 *
 * Arrivals: a renewal process restarted at each window start, with the window's family and
 * shape parameter and the scale set so that the mean gap is 1/rate (Gamma: scale =
 * 1/(rate·shape); Weibull: scale = 1/(rate·Γ(1 + 1/shape))). The published scale parameters
 * are not used: they are not consistent with the window rates (e.g. a Gamma fit whose mean
 * gap is 0.08 s in a window of 0.043 req/s), while the shapes reproduce the CV column
 * for Gamma. Rate 0 = no requests. Times are the trace's (window 0 starts at 0).
 * Lengths: the PMFs of the dataset window containing the arrival; an empty window uses the
 * nearest earlier non-empty one (else the nearest later one). Every request gets unique
 * content. The windows (a few thousand rows) are held in memory; requests are streamed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/match.h"
#include "workloads/internal.h"

typedef enum { IA_POISSON, IA_GAMMA, IA_WEIBULL } ia_kind;

typedef struct window {
    double start_s, end_s, rate, shape;
    ia_kind kind;
} window;

typedef struct pmf {
    double start_s;
    sim_alias *in, *out;
    double *in_v, *out_v;
} pmf;

typedef struct servegen {
    wl__src base;
    GArray *windows; /* window */
    GArray *pmfs;    /* pmf, sorted by start; empty ones resolved to a neighbour */
    size_t w, p;
    double t;
    sim_rng r_arr, r_in, r_out;
    wl_segment seg;
} servegen;

static void
sg_free(wl__src *b)
{
    servegen *s = (servegen *)b;
    if (s->pmfs != NULL) {
        for (guint i = 0; i < s->pmfs->len; i++) {
            pmf *p = &g_array_index(s->pmfs, pmf, i);
            sim_alias_free(p->in);
            sim_alias_free(p->out);
            g_free(p->in_v);
            g_free(p->out_v);
        }
        g_array_free(s->pmfs, TRUE);
    }
    if (s->windows != NULL)
        g_array_free(s->windows, TRUE);
    g_free(s);
}

static double
gap(servegen *s, const window *w)
{
    switch (w->kind) {
    case IA_GAMMA:
        return sim_rng_gamma(&s->r_arr, w->shape, 1.0 / (w->rate * w->shape));
    case IA_WEIBULL:
        return sim_rng_weibull(&s->r_arr, w->shape, 1.0 / (w->rate * tgamma(1.0 + 1.0 / w->shape)));
    case IA_POISSON:
        break;
    }
    return sim_rng_exponential(&s->r_arr, w->rate);
}

static const pmf *
pmf_for(servegen *s, double t)
{
    while (s->p + 1 < s->pmfs->len && g_array_index(s->pmfs, pmf, s->p + 1).start_s <= t)
        s->p++;
    return &g_array_index(s->pmfs, pmf, s->p);
}

static int
sg_next(wl__src *b, wl_request *out, GError **error)
{
    (void)error;
    servegen *s = (servegen *)b;
    while (s->w < s->windows->len) {
        const window *w = &g_array_index(s->windows, window, s->w);
        if (w->rate > 0) {
            s->t += gap(s, w);
            if (s->t < w->end_s) {
                const pmf *p = pmf_for(s, s->t);
                memset(out, 0, sizeof *out);
                out->arrival_ns = llround(s->t * 1e9); /* < end_s <= WL_MAX_TIME_S */
                out->prompt_tokens = (uint32_t)p->in_v[sim_alias_draw(p->in, &s->r_in)];
                out->output_tokens = (uint32_t)p->out_v[sim_alias_draw(p->out, &s->r_out)];
                wl__unique_body(b->ctx, &s->seg, out);
                b->ctx->counters.rows++;
                return 1;
            }
        }
        s->w++;
        if (s->w < s->windows->len)
            s->t = g_array_index(s->windows, window, s->w).start_s;
    }
    return 0;
}

/* ---- trace CSV ---- */

static gboolean
read_windows(servegen *s, const wl__input *in, GError **error)
{
    g_autoptr(base_lines) l = wl__input_lines(in, error);
    if (l == NULL)
        return FALSE;
    GError *e = NULL;
    g_autoptr(base_csv) c = base_csv_new_take(l, ',', BASE_CSV_NO_HEADER, &e);
    if (c == NULL) {
        wl__propagate(error, e);
        return FALSE;
    }
    l = NULL; /* owned by c now */
    const char *name = base_csv_name(c);
    static const char *const cols[] = {"window_start_s", "rate",   "cv", "interarrival_dist",
                                       "param1",         "param2", NULL};
    double prev = -1;
    int more;
    while ((more = base_csv_next(c, &e)) > 0) {
        uint64_t ln = base_csv_lineno(c);
        double v[6] = {0};
        GError *bad = NULL;
        for (int i = 0; i < 6 && bad == NULL; i++) {
            const char *f = base_csv_field(c, (size_t)i);
            if (i == 3)
                continue;
            if ((size_t)i >= base_csv_nfields(c))
                wl__row_error(&bad, name, ln, cols[i], "missing value");
            else if (!base_parse_double(f, &v[i]) || v[i] < 0) {
                g_autofree char *shown = base_escape_text(f, 64);
                wl__row_error(&bad, name, ln, cols[i], "not a number >= 0: '%s'", shown);
            }
        }
        window w = {v[0], v[0] + 600, v[1], 1, IA_POISSON};
        const char *d = base_csv_field(c, 3);
        if (bad == NULL && w.rate > 0) {
            if (strcmp(d, "Gamma") == 0)
                w.kind = IA_GAMMA;
            else if (strcmp(d, "Weibull") == 0)
                w.kind = IA_WEIBULL;
            else if (*d != '\0' && strcmp(d, "Exponential") != 0)
                wl__row_error(&bad, name, ln, cols[3],
                              "unknown distribution '%s' (expected Gamma, Weibull, Exponential)",
                              d);
            w.shape = v[4];
            if (bad == NULL && w.kind != IA_POISSON && !(w.shape > 1e-3 && w.shape < 1e3))
                wl__row_error(&bad, name, ln, cols[4], "shape %g is out of range (0.001, 1000)",
                              w.shape);
        }
        if (bad == NULL && w.start_s + 600 > WL_MAX_TIME_S)
            wl__time_error(&bad, name, ln, cols[0], w.start_s + 600);
        if (bad == NULL && w.rate > 1e6)
            wl__row_error(&bad, name, ln, cols[1], "rate %g req/s is absurd", w.rate);
        if (bad == NULL && w.start_s <= prev)
            wl__row_error(&bad, name, ln, cols[0],
                          "window start %g s is not after the previous %g s", w.start_s, prev);
        if (bad != NULL) {
            if (!wl__bad_row(s->base.ctx, bad, error))
                return FALSE;
            continue;
        }
        if (s->windows->len > 0) {
            window *last = &g_array_index(s->windows, window, s->windows->len - 1);
            last->end_s = MIN(last->end_s, w.start_s);
        }
        prev = w.start_s;
        g_array_append_val(s->windows, w);
    }
    if (more < 0) {
        wl__propagate(error, e);
        return FALSE;
    }
    if (s->windows->len == 0) {
        g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: no windows", name);
        return FALSE;
    }
    return TRUE;
}

/* ---- dataset JSON ---- */

/* Parses "{224: 0.0003, 225: 0.0008}" into values and weights. */
static gboolean
parse_pmf(const char *text, GArray *vals, GArray *w, const char *where, GError **error)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p++ != '{')
        return g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: expected '{'", where), FALSE;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '}')
            return TRUE;
        char *end;
        double k = strtod(p, &end);
        if (end == p || *end != ':' || !(k >= 1 && k <= WL_MAX_TOKENS) || k != floor(k))
            break;
        p = end + 1;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0) || !isfinite(v))
            break;
        p = end;
        g_array_append_val(vals, k);
        g_array_append_val(w, v);
    }
    g_set_error(error, WL_ERROR, WL_ERROR_PARSE,
                "%s: bad PMF near '%.20s' (expected {TOKENS: PROBABILITY, ...} with integer "
                "token counts >= 1)",
                where, p);
    return FALSE;
}

static int
cmp_pmf(const void *a, const void *b)
{
    double x = ((const pmf *)a)->start_s, y = ((const pmf *)b)->start_s;
    return (x > y) - (x < y);
}

static gboolean
read_pmfs(servegen *s, const char *path, GError **error)
{
    GError *e = NULL;
    json_auto_t *j = base_json_load_file(path, &e);
    if (j == NULL) {
        wl__propagate(error, e);
        return FALSE;
    }
    if (!json_is_object(j)) {
        g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: expected an object of windows", path);
        return FALSE;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        double start;
        if (!base_parse_double(key, &start) || start < 0) {
            g_autofree char *shown = base_escape_text(key, 64); /* the file's text, one line */
            g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: window key '%s' is not a time", path,
                        shown);
            return FALSE;
        }
        pmf p = {start, NULL, NULL, NULL, NULL};
        const char *names[2] = {"input_tokens", "output_tokens"};
        for (int k = 0; k < 2; k++) {
            g_autofree char *where = g_strdup_printf("%s: %s.%s", path, key, names[k]);
            const char *txt = json_string_value(json_object_get(v, names[k]));
            if (txt == NULL) {
                g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: missing or not a string", where);
                sim_alias_free(p.in);
                g_free(p.in_v);
                return FALSE;
            }
            g_autoptr(GArray) vals = g_array_new(FALSE, FALSE, sizeof(double));
            g_autoptr(GArray) w = g_array_new(FALSE, FALSE, sizeof(double));
            if (!parse_pmf(txt, vals, w, where, error)) {
                sim_alias_free(p.in);
                g_free(p.in_v);
                return FALSE;
            }
            sim_alias *a = vals->len > 0 ? sim_alias_new((double *)(void *)w->data, w->len) : NULL;
            double *vv = vals->len > 0 ? g_memdup2(vals->data, vals->len * sizeof(double)) : NULL;
            if (k == 0) {
                p.in = a;
                p.in_v = vv;
            } else {
                p.out = a;
                p.out_v = vv;
            }
        }
        if ((p.in == NULL) != (p.out == NULL)) {
            /* Half-empty window: treat as empty. */
            sim_alias_free(p.in);
            sim_alias_free(p.out);
            g_free(p.in_v);
            g_free(p.out_v);
            p.in = p.out = NULL;
            p.in_v = p.out_v = NULL;
        }
        g_array_append_val(s->pmfs, p);
    }
    g_array_sort(s->pmfs, cmp_pmf);
    GArray *res = g_array_new(FALSE, TRUE, sizeof(pmf));
    /* Keep only non-empty windows; an empty window's time range then falls to the previous
     * kept window (or, before the first, to the first). */
    for (guint i = 0; i < s->pmfs->len; i++) {
        pmf p = g_array_index(s->pmfs, pmf, i);
        if (p.in != NULL)
            g_array_append_val(res, p);
    }
    g_array_free(s->pmfs, TRUE); /* the empty windows it still holds own nothing */
    s->pmfs = res;
    if (res->len == 0) {
        g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: every length PMF is empty", path);
        return FALSE;
    }
    g_array_index(res, pmf, 0).start_s = 0;
    return TRUE;
}

static char *
sibling(const char *path, const char *from, const char *to)
{
    g_autofree char *p = g_strdup(path);
    if (g_str_has_suffix(p, ".gz"))
        p[strlen(p) - 3] = '\0';
    if (!g_str_has_suffix(p, from))
        return NULL;
    p[strlen(p) - strlen(from)] = '\0';
    return g_strconcat(p, to, NULL);
}

wl__src *
wl__open_servegen(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    servegen *s = g_new0(servegen, 1);
    g_autoptr(wl__src) b = &s->base;
    b->next = sg_next;
    b->free = sg_free;
    b->format = "servegen";
    b->ctx = ctx;
    s->windows = g_array_new(FALSE, FALSE, sizeof(window));
    s->pmfs = g_array_new(FALSE, TRUE, sizeof(pmf));
    /* The workload may name the trace CSV or the dataset JSON; the other is its sibling. */
    g_autofree char *trace = NULL, *dataset = NULL;
    const char *path = in->path != NULL ? in->path : in->name;
    bool is_dataset = g_str_has_suffix(path, ".json") || g_str_has_suffix(path, ".json.gz");
    if (is_dataset) {
        dataset = g_strdup(path);
        trace = sibling(path, "-dataset.json", "-trace.csv");
    } else {
        trace = g_strdup(path);
        dataset = o->servegen_dataset != NULL ? g_strdup(o->servegen_dataset)
                                              : sibling(path, "-trace.csv", "-dataset.json");
    }
    if (trace == NULL || dataset == NULL || in->path == NULL) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: a ServeGen workload needs chunk-N-trace.csv and its length PMFs "
                    "(chunk-N-dataset.json next to it, or --servegen-dataset FILE)",
                    in->name);
        return NULL;
    }
    wl__input tin = {trace, trace, NULL};
    if (!read_windows(s, is_dataset ? &tin : in, error) || !read_pmfs(s, dataset, error))
        return NULL;
    sim_rng_init(&s->r_arr, ctx->seed, SIM_STREAM_WL_ARRIVALS);
    sim_rng_init(&s->r_in, ctx->seed, SIM_STREAM_WL_INPUT_LEN);
    sim_rng_init(&s->r_out, ctx->seed, SIM_STREAM_WL_OUTPUT_LEN);
    s->t = g_array_index(s->windows, window, 0).start_s;
    return g_steal_pointer(&b);
}
