/* workloads/readers_csv.c: CSV trace readers. Azure LLM inference traces (absolute
 * TIMESTAMP, rebased to the first row), BurstGPT (relative seconds, kept as given; model and
 * log-type filters; failed requests), and length-only tables (Sarathi/Vidur
 * num_prefill_tokens, num_decode_tokens; paired with the synthetic arrival process unless an
 * arrived_at column gives times). Rows are split in place by base_csv and parsed without
 * allocating; none of these traces carries content, so every request gets one unique
 * segment. */
#include <math.h>
#include <string.h>

#include "base/match.h"
#include "workloads/internal.h"

typedef struct csv_src {
    wl__src base;
    base_csv *csv;
    int c_time, c_in, c_out, c_model, c_log;
    bool have_origin;
    int64_t origin, last;
    wl_segment seg;
    /* burstgpt */
    char *model, *log_type;
    bool failed_prefill;
    /* lengths csv */
    bool synth_times;
    wl__arrivals arr;
} csv_src;

static void
csv_free(wl__src *b)
{
    csv_src *s = (csv_src *)b;
    base_csv_free(s->csv);
    g_free(s->model);
    g_free(s->log_type);
    if (b->stages != NULL)
        g_array_free(b->stages, TRUE);
    g_free(s);
}

static csv_src *
csv_new(wl__ctx *ctx,
        const wl__input *in,
        const char *format,
        int (*next)(wl__src *, wl_request *, GError **),
        GError **error)
{
    base_lines *l = wl__input_lines(in, error);
    if (l == NULL)
        return NULL;
    GError *e = NULL;
    base_csv *c = base_csv_new_take(l, 0, BASE_CSV_HEADER, &e);
    if (c == NULL) {
        base_lines_free(l);
        wl__propagate(error, e);
        return NULL;
    }
    csv_src *s = g_new0(csv_src, 1);
    s->base.next = next;
    s->base.free = csv_free;
    s->base.format = format;
    s->base.ctx = ctx;
    s->csv = c;
    s->c_model = s->c_log = -1;
    return s;
}

static gboolean
require(csv_src *s, int *col, const char *name, GError **error)
{
    GError *e = NULL;
    *col = base_csv_require_col(s->csv, name, &e);
    if (*col < 0) {
        wl__propagate(error, e);
        return FALSE;
    }
    return TRUE;
}

/* Reads the next row. 1 = row, 0 = end, -1 = I/O error (truncated gzip). */
static int
next_row(csv_src *s, GError **error)
{
    GError *e = NULL;
    int more = base_csv_next(s->csv, &e);
    if (more <= 0) {
        if (more < 0)
            wl__propagate(error, e);
        return more;
    }
    s->base.ctx->counters.rows++;
    return 1;
}

static gboolean
cell_int(csv_src *s, int col, int64_t *v, bool allow_zero, GError **error)
{
    const base_csv *c = s->csv;
    const char *name = base_csv_colname(c, (size_t)col);
    if ((size_t)col >= base_csv_nfields(c)) {
        wl__row_error(error, base_csv_name(c), base_csv_lineno(c), name,
                      "missing value (row has %zu fields)", base_csv_nfields(c));
        return FALSE;
    }
    const char *f = base_csv_field(c, (size_t)col);
    if (!wl__parse_int(f, v)) {
        g_autofree char *shown = base_escape_text(f, 64);
        wl__row_error(error, base_csv_name(c), base_csv_lineno(c), name, "not an integer: '%s'",
                      shown);
        return FALSE;
    }
    return wl__check_tokens(*v, allow_zero, base_csv_name(c), base_csv_lineno(c), name, error);
}

static gboolean
cell_seconds(csv_src *s, int col, int64_t *ns, GError **error)
{
    const base_csv *c = s->csv;
    const char *name = base_csv_colname(c, (size_t)col);
    double v;
    if ((size_t)col >= base_csv_nfields(c)) {
        wl__row_error(error, base_csv_name(c), base_csv_lineno(c), name,
                      "missing value (row has %zu fields)", base_csv_nfields(c));
        return FALSE;
    }
    const char *f = base_csv_field(c, (size_t)col);
    if (!base_parse_double(f, &v)) {
        g_autofree char *shown = base_escape_text(f, 64);
        wl__row_error(error, base_csv_name(c), base_csv_lineno(c), name, "not a number: '%s'",
                      shown);
        return FALSE;
    }
    if (!wl__time_ns(v, 1e9, ns)) {
        wl__time_error(error, base_csv_name(c), base_csv_lineno(c), name, v);
        return FALSE;
    }
    return TRUE;
}

static gboolean
order(csv_src *s, int64_t t, GError **error)
{
    return wl__check_order(t, &s->last, base_csv_name(s->csv), base_csv_lineno(s->csv),
                           base_csv_colname(s->csv, (size_t)s->c_time), error);
}

static void
emit(csv_src *s, wl_request *out, int64_t t, int64_t in, int64_t outn)
{
    s->base.ctx->row_line = base_csv_lineno(s->csv);
    memset(out, 0, sizeof *out);
    out->arrival_ns = t;
    out->prompt_tokens = (uint32_t)in;
    out->output_tokens = (uint32_t)outn;
    wl__unique_body(s->base.ctx, &s->seg, out);
}

/* ---- Azure ---- */

static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* Days since 1970-01-01 in the proleptic Gregorian calendar (eras of 400 years). */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
digits(const char **p, int n, int64_t *v)
{
    int64_t x = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return false;
        x = x * 10 + (ch - '0');
    }
    *p += n;
    *v = x;
    return true;
}

/* "YYYY-MM-DD HH:MM:SS[.fraction][Z|±HH:MM]" (or 'T' between date and time) -> ns since
 * the epoch, UTC. */
static bool
parse_timestamp(const char *s, int64_t *ns)
{
    const char *p = s;
    while (*p == ' ')
        p++;
    int64_t Y, M, D, h, m, sec, frac = 0;
    if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' ||
        !digits(&p, 2, &D) || (*p != ' ' && *p != 'T'))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return false;
    /* Years 1970..2200: nanoseconds since the epoch (and any difference of two) fit in
     * int64_t (2^63 ns is 292 years), so the products below cannot overflow. */
    if (Y < 1970 || Y > 2200 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    if (*p == '.') {
        p++;
        int n = 0;
        int64_t scale = 100000000;
        while (*p >= '0' && *p <= '9') {
            if (n < 9) {
                frac += (*p - '0') * scale;
                scale /= 10;
            }
            n++;
            p++;
        }
        if (n == 0)
            return false;
    }
    int64_t offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int64_t oh, om;
        p++;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
            return false;
        offset = sign * (oh * 3600 + om * 60);
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return false;
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset;
    *ns = secs * 1000000000 + frac;
    return true;
}

static int
azure_next(wl__src *b, wl_request *out, GError **error)
{
    csv_src *s = (csv_src *)b;
    for (;;) {
        int rc = next_row(s, error);
        if (rc <= 0)
            return rc;
        GError *e = NULL;
        int64_t abs_ns = 0, in = 0, outn = 0;
        const base_csv *c = s->csv;
        const char *f = base_csv_field(c, (size_t)s->c_time);
        bool ok = true;
        if (!parse_timestamp(f, &abs_ns)) {
            g_autofree char *shown = base_escape_text(f, 64);
            wl__row_error(&e, base_csv_name(c), base_csv_lineno(c), "TIMESTAMP",
                          "bad timestamp '%s' (expected YYYY-MM-DD HH:MM:SS[.fraction], years "
                          "1970 to 2200)",
                          shown);
            ok = false;
        }
        ok = ok && cell_int(s, s->c_in, &in, false, &e) && cell_int(s, s->c_out, &outn, false, &e);
        if (ok && !s->have_origin) {
            s->origin = abs_ns;
            s->have_origin = true;
        }
        ok = ok && order(s, abs_ns - s->origin, &e);
        if (ok && abs_ns - s->origin > WL_MAX_TIME_NS) {
            wl__time_error(&e, base_csv_name(c), base_csv_lineno(c), "TIMESTAMP",
                           (double)(abs_ns - s->origin) * 1e-9);
            ok = false;
        }
        if (!ok) {
            if (!wl__bad_row(b->ctx, e, error))
                return -1;
            continue;
        }
        emit(s, out, abs_ns - s->origin, in, outn);
        return 1;
    }
}

wl__src *
wl__open_azure(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    (void)o;
    csv_src *s = csv_new(ctx, in, "azure", azure_next, error);
    if (s == NULL)
        return NULL;
    g_autoptr(wl__src) b = &s->base;
    if (!require(s, &s->c_time, "TIMESTAMP", error) ||
        !require(s, &s->c_in, "ContextTokens", error) ||
        !require(s, &s->c_out, "GeneratedTokens", error))
        return NULL;
    return g_steal_pointer(&b);
}

/* ---- BurstGPT ---- */

static bool
log_type_matches(const char *want, const char *have)
{
    if (g_ascii_strcasecmp(want, have) == 0)
        return true;
    /* Short forms: "conversation" = "Conversation log", "api" = "API log". */
    size_t n = strlen(want);
    return g_ascii_strncasecmp(want, have, n) == 0 && g_ascii_strcasecmp(have + n, " log") == 0;
}

static int
burstgpt_next(wl__src *b, wl_request *out, GError **error)
{
    csv_src *s = (csv_src *)b;
    for (;;) {
        int rc = next_row(s, error);
        if (rc <= 0)
            return rc;
        GError *e = NULL;
        int64_t t = 0, in = 0, outn = 0;
        bool ok = cell_seconds(s, s->c_time, &t, &e) && cell_int(s, s->c_in, &in, false, &e) &&
                  cell_int(s, s->c_out, &outn, true, &e) && order(s, t, &e);
        if (!ok) {
            if (!wl__bad_row(b->ctx, e, error))
                return -1;
            continue;
        }
        const base_csv *c = s->csv;
        if ((s->model != NULL &&
             g_ascii_strcasecmp(s->model, base_csv_field(c, (size_t)s->c_model)) != 0) ||
            (s->log_type != NULL &&
             !log_type_matches(s->log_type, base_csv_field(c, (size_t)s->c_log)))) {
            b->ctx->counters.filtered++;
            continue;
        }
        if (outn == 0) {
            if (!s->failed_prefill) {
                b->ctx->counters.filtered++;
                continue;
            }
            outn = 1;
        }
        emit(s, out, t, in, outn);
        return 1;
    }
}

wl__src *
wl__open_burstgpt(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    csv_src *s = csv_new(ctx, in, "burstgpt", burstgpt_next, error);
    if (s == NULL)
        return NULL;
    g_autoptr(wl__src) b = &s->base;
    if (!require(s, &s->c_time, "Timestamp", error) ||
        !require(s, &s->c_in, "Request tokens", error) ||
        !require(s, &s->c_out, "Response tokens", error))
        return NULL;
    if (o->burstgpt_model != NULL) {
        if (!require(s, &s->c_model, "Model", error))
            return NULL;
        s->model = g_strdup(o->burstgpt_model);
    }
    if (o->burstgpt_log_type != NULL) {
        if (!require(s, &s->c_log, "Log Type", error))
            return NULL;
        s->log_type = g_strdup(o->burstgpt_log_type);
    }
    s->failed_prefill = strcmp(o->burstgpt_failed, "prefill") == 0;
    return g_steal_pointer(&b);
}

/* ---- length tables (ShareGPT / arXiv statistics from Sarathi and Vidur) ---- */

static int
lengths_next(wl__src *b, wl_request *out, GError **error)
{
    csv_src *s = (csv_src *)b;
    for (;;) {
        int rc = next_row(s, error);
        if (rc <= 0)
            return rc;
        GError *e = NULL;
        int64_t t = 0, in = 0, outn = 0;
        bool ok = cell_int(s, s->c_in, &in, false, &e) && cell_int(s, s->c_out, &outn, false, &e);
        if (ok && !s->synth_times)
            ok = cell_seconds(s, s->c_time, &t, &e) && order(s, t, &e);
        if (!ok) {
            if (!wl__bad_row(b->ctx, e, error))
                return -1;
            continue;
        }
        uint32_t stage = 0;
        if (s->synth_times) {
            rc = wl__arrivals_next(&s->arr, &t, &stage, error);
            if (rc <= 0)
                return rc;
        }
        emit(s, out, t, in, outn);
        out->stage = stage;
        return 1;
    }
}

wl__src *
wl__open_lengths_csv(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    csv_src *s = csv_new(ctx, in, "sharegpt", lengths_next, error);
    if (s == NULL)
        return NULL;
    g_autoptr(wl__src) b = &s->base;
    if (!require(s, &s->c_in, "num_prefill_tokens", error) ||
        !require(s, &s->c_out, "num_decode_tokens", error))
        return NULL;
    s->c_time = base_csv_col(s->csv, "arrived_at");
    s->synth_times = s->c_time < 0;
    if (s->synth_times) {
        /* No timestamps: the rows are paired with the synthetic arrival process. */
        if (!wl__arrivals_from_options(&s->arr, &b->stages, o, ctx->seed, error))
            return NULL;
        b->uses_rate = true;
        b->uses_arrivals = true;
    }
    return g_steal_pointer(&b);
}
