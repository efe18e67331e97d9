/* dsa/record.c: the dsa_topk record writer and its strict reader (see record.h). The parser
 * is a recursive-descent reader for exactly this schema over one line: every value is parsed
 * in place (integers by hand, reals through g_ascii_strtod on a bounded copy), each object
 * tracks the keys it has seen (duplicates and missing keys are errors), and the first problem
 * stops the parse with a message naming the field. */
#include "dsa/record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

/* ---- buffers ---- */

static void
grow_u32(uint32_t **a, uint32_t *cap, uint32_t n)
{
    if (*cap >= n)
        return;
    uint32_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    *a = g_renew(uint32_t, *a, c);
    *cap = c;
}

void
dsa_record_reserve(dsa_record *r, uint32_t n)
{
    grow_u32(&r->pos, &r->pos_cap, n);
    grow_u32(&r->block_ids, &r->block_ids_cap, n);
    grow_u32(&r->isect, &r->isect_cap, n);
    if (r->scores_cap < n) {
        r->scores_cap = r->pos_cap;
        r->scores = g_renew(double, r->scores, r->scores_cap);
    }
}

void
dsa_record_clear(dsa_record *r)
{
    g_free(r->pos);
    g_free(r->block_ids);
    g_free(r->isect);
    g_free(r->scores);
    memset(r, 0, sizeof *r);
}

/* ---- writer ---- */

/* Space for K more bytes at the end of S; returns where to write (commit with put_done). */
static inline char *
put_room(GString *s, size_t k)
{
    size_t old = s->len;
    if (s->allocated_len <= old + k)
        g_string_set_size(s, old + k);
    s->len = old;
    return s->str + old;
}

static inline void
put_done(GString *s, char *end)
{
    s->len = (gsize)(end - s->str);
    s->str[s->len] = '\0';
}

static inline char *
fmt_u64(char *p, uint64_t v)
{
    char tmp[20];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0)
        *p++ = tmp[--k];
    return p;
}

/* V rounded to 6 decimals, trailing zeros dropped ("0.5", "3", "-0.000001"). Non-finite values
 * never occur in records; they print as 0. */
static char *
fmt_real(char *p, double v)
{
    if (!isfinite(v))
        v = 0;
    if (fabs(v) >= 9e12)
        return p + sprintf(p, "%.17g", v);
    int64_t m = llround(v * 1e6);
    if (m < 0) {
        *p++ = '-';
        m = -m;
    }
    p = fmt_u64(p, (uint64_t)m / 1000000);
    uint64_t f = (uint64_t)m % 1000000;
    if (f != 0) {
        *p++ = '.';
        char d[6];
        for (int i = 5; i >= 0; i--) {
            d[i] = (char)('0' + f % 10);
            f /= 10;
        }
        int n = 6;
        while (d[n - 1] == '0')
            n--;
        memcpy(p, d, (size_t)n);
        p += n;
    }
    return p;
}

static double
round6(double v)
{
    return fabs(v) >= 9e12 || !isfinite(v) ? v : (double)llround(v * 1e6) / 1e6;
}

void
dsa_record_round(dsa_record *r)
{
    r->offset_p50 = round6(r->offset_p50);
    r->tpb_mean = round6(r->tpb_mean);
    r->tpb_p50 = round6(r->tpb_p50);
    r->tpb_p95 = round6(r->tpb_p95);
    for (int k = 0; k < DSA_NTIERS; k++)
        r->fetch[k].latency_us = round6(r->fetch[k].latency_us);
    r->intersection_ratio = round6(r->intersection_ratio);
    r->score_min = round6(r->score_min);
    r->score_mean = round6(r->score_mean);
    r->score_max = round6(r->score_max);
    for (uint32_t i = 0; r->has_scores && i < r->nscores; i++)
        r->scores[i] = round6(r->scores[i]);
}

static void
put_s(GString *s, const char *lit)
{
    g_string_append(s, lit);
}

static void
put_u(GString *s, uint64_t v)
{
    put_done(s, fmt_u64(put_room(s, 24), v));
}

static void
put_r(GString *s, double v)
{
    put_done(s, fmt_real(put_room(s, 32), v));
}

static void
put_u32_array(GString *s, const uint32_t *a, uint32_t n)
{
    char *p = put_room(s, 11 * (size_t)n + 2);
    *p++ = '[';
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            *p++ = ',';
        p = fmt_u64(p, a[i]);
    }
    *p++ = ']';
    put_done(s, p);
}

static void
put_json_string(GString *s, const char *v)
{
    g_string_append_c(s, '"');
    for (const unsigned char *c = (const unsigned char *)v; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            g_string_append_c(s, '\\');
            g_string_append_c(s, (char)*c);
        } else if (*c < 0x20) {
            g_string_append_printf(s, "\\u%04x", *c);
        } else {
            g_string_append_c(s, (char)*c);
        }
    }
    g_string_append_c(s, '"');
}

void
dsa_record_format(const dsa_record *r, GString *out)
{
    put_s(out, "{\"event\":\"dsa_topk\",\"request_id\":");
    put_u(out, r->request_id);
    put_s(out, ",\"layer_id\":");
    put_u(out, r->layer_id);
    put_s(out, ",\"step_idx\":");
    put_u(out, r->step_idx);
    put_s(out, ",\"seq_len_current\":");
    put_u(out, r->seq_len_current);
    put_s(out, ",\"selected_token_pos\":");
    put_u32_array(out, r->pos, r->npos);
    put_s(out, ",\"unique_token_pos_count\":");
    put_u(out, r->unique_token_pos_count);
    put_s(out, ",\"offset_min\":");
    put_u(out, r->offset_min);
    put_s(out, ",\"offset_p50\":");
    put_r(out, r->offset_p50);
    put_s(out, ",\"offset_max\":");
    put_u(out, r->offset_max);
    put_s(out, ",\"block_size_tokens\":");
    put_u(out, r->block_size_tokens);
    put_s(out, ",\"selected_block_ids\":");
    put_u32_array(out, r->block_ids, r->nblock_ids);
    put_s(out, ",\"unique_blocks\":");
    put_u(out, r->unique_blocks);
    put_s(out, ",\"tokens_per_touched_block\":{\"mean\":");
    put_r(out, r->tpb_mean);
    put_s(out, ",\"p50\":");
    put_r(out, r->tpb_p50);
    put_s(out, ",\"p95\":");
    put_r(out, r->tpb_p95);
    put_s(out, "},\"kv_fetch\":{");
    for (int k = 0; k < DSA_NTIERS; k++) {
        const dsa_fetch *f = &r->fetch[k];
        if (k > 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, '"');
        put_s(out, dsa_tier_names[k]);
        put_s(out, "\":{\"hit_blocks\":");
        put_u(out, f->hit_blocks);
        put_s(out, ",\"bytes_read\":");
        put_u(out, f->bytes_read);
        put_s(out, ",\"read_ops\":");
        put_u(out, f->read_ops);
        put_s(out, ",\"latency_us\":");
        put_r(out, f->latency_us);
        put_s(out, ",\"batch_size\":");
        put_u(out, f->batch_size);
        g_string_append_c(out, '}');
    }
    put_s(out, "},\"prefix\":{\"prefix_cache_hit\":");
    put_s(out, r->prefix_cache_hit ? "true" : "false");
    put_s(out, ",\"prefix_cached_blocks\":");
    put_u(out, r->prefix_cached_blocks);
    put_s(out, ",\"prefix_key\":");
    put_json_string(out, r->prefix_key);
    put_s(out, ",\"intersection_ratio\":");
    put_r(out, r->intersection_ratio);
    put_s(out, ",\"intersection_blocks\":");
    put_u32_array(out, r->isect, r->nisect);
    put_s(out, "},\"scores_stats\":{\"min\":");
    put_r(out, r->score_min);
    put_s(out, ",\"mean\":");
    put_r(out, r->score_mean);
    put_s(out, ",\"max\":");
    put_r(out, r->score_max);
    g_string_append_c(out, '}');
    if (r->has_scores) {
        put_s(out, ",\"scores_topk\":[");
        for (uint32_t i = 0; i < r->nscores; i++) {
            if (i > 0)
                g_string_append_c(out, ',');
            put_r(out, r->scores[i]);
        }
        g_string_append_c(out, ']');
    }
    put_s(out, "}\n");
}

/* ---- parser ---- */

typedef struct pc {
    const char *p, *end;
    dsa_record *r;
    GError **error;
    char path[96]; /* field being parsed, for messages */
} pc;

static gboolean G_GNUC_PRINTF(2, 3) fail(pc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (c->path[0] != '\0')
        g_set_error(c->error, BASE_ERROR, BASE_ERROR_PARSE, "%s: %s", c->path, msg);
    else
        g_set_error(c->error, BASE_ERROR, BASE_ERROR_PARSE, "%s", msg);
    return FALSE;
}

/* Input quoted in a message, escaped (a decoded "\n" in a key must not break the one-line
 * error). transfer full. */
static char *
esc(const char *s, size_t n)
{
    g_autofree char *raw = g_strndup(s, n);
    return g_strescape(raw, NULL);
}

static inline void
ws(pc *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static const char *
what_is(const pc *c)
{
    if (c->p >= c->end)
        return "end of line";
    switch (*c->p) {
    case '"':
        return "a string";
    case '{':
        return "an object";
    case '[':
        return "an array";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) ? "a number" : "invalid JSON";
    }
}

static gboolean
expect(pc *c, char ch)
{
    ws(c);
    if (c->p >= c->end || *c->p != ch)
        return fail(c, "expected '%c', got %s", ch, what_is(c));
    c->p++;
    return TRUE;
}

static int
hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static gboolean
hex4(pc *c, uint32_t *v)
{
    if (c->end - c->p < 4)
        return fail(c, "truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0)
            return fail(c, "bad \\u escape");
        *v = *v * 16 + (uint32_t)h;
    }
    c->p += 4;
    return TRUE;
}

/* A JSON string into OUT (at most MAX bytes, NUL-terminated); longer is an error. */
static gboolean
parse_string(pc *c, char *out, size_t max)
{
    ws(c);
    if (c->p >= c->end || *c->p != '"')
        return fail(c, "expected a string, got %s", what_is(c));
    c->p++;
    size_t n = 0;
    for (;;) {
        if (c->p >= c->end)
            return fail(c, "unterminated string");
        unsigned char ch = (unsigned char)*c->p++;
        char buf[4];
        size_t k = 0;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return fail(c, "control character in string");
        if (ch != '\\') {
            buf[k++] = (char)ch;
        } else {
            if (c->p >= c->end)
                return fail(c, "unterminated string");
            char e = *c->p++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                buf[k++] = e;
                break;
            case 'b':
                buf[k++] = '\b';
                break;
            case 'f':
                buf[k++] = '\f';
                break;
            case 'n':
                buf[k++] = '\n';
                break;
            case 'r':
                buf[k++] = '\r';
                break;
            case 't':
                buf[k++] = '\t';
                break;
            case 'u': {
                uint32_t cp;
                if (!hex4(c, &cp))
                    return FALSE;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
                        return fail(c, "unpaired surrogate in string");
                    c->p += 2;
                    if (!hex4(c, &lo))
                        return FALSE;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(c, "unpaired surrogate in string");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail(c, "unpaired surrogate in string");
                }
                if (cp == 0)
                    return fail(c, "NUL in string");
                k = (size_t)g_unichar_to_utf8(cp, buf);
                break;
            }
            default:
                return fail(c, "bad escape in string");
            }
        }
        if (n + k > max)
            return fail(c, "string longer than %zu bytes", max);
        memcpy(out + n, buf, k);
        n += k;
    }
    out[n] = '\0';
    return TRUE;
}

/* A JSON number. *IS_INT: written without fraction or exponent and fits an int64. */
static gboolean
parse_number(pc *c, double *d, bool *is_int, int64_t *iv)
{
    ws(c);
    const char *s = c->p;
    const char *q = s;
    bool neg = false;
    if (q < c->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= c->end || !(*q >= '0' && *q <= '9'))
        return fail(c, "expected a number, got %s", what_is(c));
    const char *digits = q;
    uint64_t v = 0;
    bool overflow = false;
    if (*q == '0') {
        q++;
        if (q < c->end && *q >= '0' && *q <= '9')
            return fail(c, "leading zeros are not JSON");
    } else {
        while (q < c->end && *q >= '0' && *q <= '9') {
            uint64_t dgt = (uint64_t)(*q - '0');
            if (v > (UINT64_MAX - dgt) / 10)
                overflow = true;
            else
                v = v * 10 + dgt;
            q++;
        }
    }
    bool frac = false;
    if (q < c->end && *q == '.') {
        frac = true;
        q++;
        if (q >= c->end || !(*q >= '0' && *q <= '9'))
            return fail(c, "bad number");
        while (q < c->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < c->end && (*q == 'e' || *q == 'E')) {
        frac = true;
        q++;
        if (q < c->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= c->end || !(*q >= '0' && *q <= '9'))
            return fail(c, "bad number");
        while (q < c->end && *q >= '0' && *q <= '9')
            q++;
    }
    (void)digits;
    c->p = q;
    if (!frac && !overflow && v <= (uint64_t)INT64_MAX) {
        *is_int = true;
        *iv = neg ? -(int64_t)v : (int64_t)v;
        *d = (double)*iv;
        return TRUE;
    }
    *is_int = false;
    char buf[64];
    size_t len = (size_t)(q - s);
    if (len >= sizeof buf)
        return fail(c, "number too long");
    memcpy(buf, s, len);
    buf[len] = '\0';
    *d = g_ascii_strtod(buf, NULL);
    if (!isfinite(*d))
        return fail(c, "number out of range");
    return TRUE;
}

static gboolean
parse_uint(pc *c, uint64_t max, uint64_t *out)
{
    double d = 0;
    bool isi = false;
    int64_t iv = 0;
    const char *at = c->p;
    if (!parse_number(c, &d, &isi, &iv))
        return FALSE;
    if (!isi || iv < 0 || (uint64_t)iv > max) {
        size_t len = (size_t)(c->p - at);
        c->p = at;
        g_autofree char *q = esc(at, len < 40 ? len : 40);
        return fail(c, "expected an integer in [0, %" G_GUINT64_FORMAT "], got %s", max, q);
    }
    *out = (uint64_t)iv;
    return TRUE;
}

static gboolean
parse_u32(pc *c, uint32_t *out)
{
    uint64_t v = 0;
    if (!parse_uint(c, UINT32_MAX, &v))
        return FALSE;
    *out = (uint32_t)v;
    return TRUE;
}

static gboolean
parse_real(pc *c, double lo, double hi, double *out)
{
    bool isi = false;
    int64_t iv = 0;
    if (!parse_number(c, out, &isi, &iv))
        return FALSE;
    if (!(*out >= lo && *out <= hi))
        return fail(c, "%g is out of range [%g, %g]", *out, lo, hi);
    return TRUE;
}

static gboolean
parse_bool(pc *c, bool *out)
{
    ws(c);
    if (c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
        c->p += 4;
        *out = true;
        return TRUE;
    }
    if (c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) {
        c->p += 5;
        *out = false;
        return TRUE;
    }
    return fail(c, "expected true or false, got %s", what_is(c));
}

/* An array of integers in [0, 2^32) into *A (capacity *CAP), count in *N. */
static gboolean
parse_u32_array(pc *c, uint32_t **a, uint32_t *cap, uint32_t *n)
{
    if (!expect(c, '['))
        return FALSE;
    *n = 0;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return TRUE;
    }
    for (;;) {
        ws(c);
        /* fast path: plain decimal digits */
        const char *q = c->p;
        uint64_t v = 0;
        int nd = 0;
        while (q < c->end && *q >= '0' && *q <= '9' && nd < 11) {
            v = v * 10 + (uint64_t)(*q - '0');
            q++;
            nd++;
        }
        bool simple = nd > 0 && nd < 11 && !(nd > 1 && c->p[0] == '0') && v <= UINT32_MAX &&
                      (q >= c->end || (*q != '.' && *q != 'e' && *q != 'E'));
        if (simple) {
            c->p = q;
        } else if (!parse_uint(c, UINT32_MAX, &v)) {
            return FALSE;
        }
        if (*n >= DSA_RECORD_MAX_ARRAY)
            return fail(c, "more than %u entries", DSA_RECORD_MAX_ARRAY);
        if (*n == *cap)
            grow_u32(a, cap, *n + 1);
        (*a)[(*n)++] = (uint32_t)v;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return TRUE;
        }
        return fail(c, "expected ',' or ']' after entry %u, got %s", *n - 1, what_is(c));
    }
}

static gboolean
parse_real_array(pc *c, dsa_record *r)
{
    if (!expect(c, '['))
        return FALSE;
    r->nscores = 0;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return TRUE;
    }
    for (;;) {
        double d = 0;
        bool isi = false;
        int64_t iv = 0;
        if (!parse_number(c, &d, &isi, &iv))
            return FALSE;
        if (r->nscores >= DSA_RECORD_MAX_ARRAY)
            return fail(c, "more than %u entries", DSA_RECORD_MAX_ARRAY);
        if (r->nscores == r->scores_cap) {
            r->scores_cap = r->scores_cap ? 2 * r->scores_cap : 64;
            r->scores = g_renew(double, r->scores, r->scores_cap);
        }
        r->scores[r->nscores++] = d;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return TRUE;
        }
        return fail(c, "expected ',' or ']', got %s", what_is(c));
    }
}

/* Object iteration: calls FIELD(c, key index) for each key of KEYS; duplicate, unknown and
 * missing (not in OPTIONAL) keys are errors. */
typedef gboolean (*field_fn)(pc *c, int k, void *ctx);

static gboolean
parse_object(pc *c, const char *const *keys, uint32_t optional, field_fn fn, void *ctx)
{
    char saved[sizeof c->path];
    g_strlcpy(saved, c->path, sizeof saved);
    if (!expect(c, '{'))
        return FALSE;
    uint32_t seen = 0, nkeys = 0;
    while (keys[nkeys] != NULL)
        nkeys++;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            char key[64];
            if (!parse_string(c, key, sizeof key - 1))
                return FALSE;
            int k = -1;
            for (uint32_t i = 0; i < nkeys; i++)
                if (strcmp(keys[i], key) == 0)
                    k = (int)i;
            if (k < 0) {
                g_autofree char *list = g_strjoinv(", ", (char **)(uintptr_t)keys);
                g_autofree char *q = esc(key, strlen(key));
                if (saved[0] != '\0')
                    return fail(c, "unknown field '%s' (expected %s)", q, list);
                return fail(c, "unknown field '%s'", q);
            }
            if (seen & (1u << k))
                return fail(c, "duplicate field '%s'", key);
            seen |= 1u << k;
            if (!expect(c, ':'))
                return FALSE;
            if (saved[0] != '\0')
                g_snprintf(c->path, sizeof c->path, "%s.%s", saved, key);
            else
                g_strlcpy(c->path, key, sizeof c->path);
            if (!fn(c, k, ctx))
                return FALSE;
            g_strlcpy(c->path, saved, sizeof c->path);
            ws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                break;
            }
            return fail(c, "expected ',' or '}' after field '%s', got %s", key, what_is(c));
        }
    }
    for (uint32_t i = 0; i < nkeys; i++)
        if (!(seen & (1u << i)) && !(optional & (1u << i)))
            return fail(c, "missing field '%s'", keys[i]);
    return TRUE;
}

static const char *const tpb_keys[] = {"mean", "p50", "p95", NULL};
static const char *const stats_keys[] = {"min", "mean", "max", NULL};
static const char *const fetch_keys[] = {"hit_blocks", "bytes_read", "read_ops",
                                         "latency_us", "batch_size", NULL};
static const char *const prefix_keys[] = {"prefix_cache_hit",    "prefix_cached_blocks",
                                          "prefix_key",          "intersection_ratio",
                                          "intersection_blocks", NULL};
static const char *const top_keys[] = {"event",
                                       "request_id",
                                       "layer_id",
                                       "step_idx",
                                       "seq_len_current",
                                       "selected_token_pos",
                                       "unique_token_pos_count",
                                       "offset_min",
                                       "offset_p50",
                                       "offset_max",
                                       "block_size_tokens",
                                       "selected_block_ids",
                                       "unique_blocks",
                                       "tokens_per_touched_block",
                                       "kv_fetch",
                                       "prefix",
                                       "scores_stats",
                                       "scores_topk",
                                       NULL};

enum { K_SCORES_TOPK = 17 };

static gboolean
f_tpb(pc *c, int k, void *ctx)
{
    dsa_record *r = ctx;
    double *dst[] = {&r->tpb_mean, &r->tpb_p50, &r->tpb_p95};
    return parse_real(c, 0, 1e15, dst[k]);
}

static gboolean
f_stats(pc *c, int k, void *ctx)
{
    dsa_record *r = ctx;
    double *dst[] = {&r->score_min, &r->score_mean, &r->score_max};
    return parse_real(c, -1e300, 1e300, dst[k]);
}

static gboolean
f_fetch(pc *c, int k, void *ctx)
{
    dsa_fetch *f = ctx;
    switch (k) {
    case 0:
        return parse_uint(c, UINT64_MAX >> 1, &f->hit_blocks);
    case 1:
        return parse_uint(c, UINT64_MAX >> 1, &f->bytes_read);
    case 2:
        return parse_uint(c, UINT64_MAX >> 1, &f->read_ops);
    case 3:
        return parse_real(c, 0, 1e300, &f->latency_us);
    default:
        return parse_u32(c, &f->batch_size);
    }
}

static gboolean
f_tier(pc *c, int k, void *ctx)
{
    dsa_record *r = ctx;
    return parse_object(c, fetch_keys, 0, f_fetch, &r->fetch[k]);
}

static gboolean
f_prefix(pc *c, int k, void *ctx)
{
    dsa_record *r = ctx;
    switch (k) {
    case 0:
        return parse_bool(c, &r->prefix_cache_hit);
    case 1:
        return parse_u32(c, &r->prefix_cached_blocks);
    case 2: {
        ws(c);
        if (c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
            /* an integer hash is accepted and kept as its decimal text */
            double d = 0;
            bool isi = false;
            int64_t iv = 0;
            const char *s = c->p;
            if (!parse_number(c, &d, &isi, &iv))
                return FALSE;
            if (!isi)
                return fail(c, "expected a string or an integer");
            size_t len = (size_t)(c->p - s);
            memcpy(r->prefix_key, s, len);
            r->prefix_key[len] = '\0';
            return TRUE;
        }
        return parse_string(c, r->prefix_key, DSA_PREFIX_KEY_MAX);
    }
    case 3:
        return parse_real(c, 0, 1, &r->intersection_ratio);
    default:
        return parse_u32_array(c, &r->isect, &r->isect_cap, &r->nisect);
    }
}

static gboolean
f_top(pc *c, int k, void *ctx)
{
    dsa_record *r = ctx;
    uint64_t v = 0;
    switch (k) {
    case 0: {
        char ev[32];
        if (!parse_string(c, ev, sizeof ev - 1))
            return FALSE;
        if (strcmp(ev, "dsa_topk") != 0) {
            g_autofree char *q = esc(ev, strlen(ev));
            return fail(c, "expected \"dsa_topk\", got \"%s\"", q);
        }
        return TRUE;
    }
    case 1:
        return parse_uint(c, UINT64_MAX >> 1, &r->request_id);
    case 2:
        if (!parse_uint(c, UINT16_MAX, &v))
            return FALSE;
        r->layer_id = (uint32_t)v;
        return TRUE;
    case 3:
        return parse_uint(c, UINT64_MAX >> 1, &r->step_idx);
    case 4:
        if (!parse_uint(c, DSA_MAX_SEQ_LEN, &v))
            return FALSE;
        if (v == 0)
            return fail(c, "must be at least 1");
        r->seq_len_current = (uint32_t)v;
        return TRUE;
    case 5:
        return parse_u32_array(c, &r->pos, &r->pos_cap, &r->npos);
    case 6:
        return parse_u32(c, &r->unique_token_pos_count);
    case 7:
        return parse_u32(c, &r->offset_min);
    case 8:
        return parse_real(c, 0, 4294967295.0, &r->offset_p50);
    case 9:
        return parse_u32(c, &r->offset_max);
    case 10:
        if (!parse_uint(c, DSA_MAX_BLOCK_SIZE, &v))
            return FALSE;
        if (v == 0)
            return fail(c, "must be at least 1");
        r->block_size_tokens = (uint32_t)v;
        return TRUE;
    case 11:
        return parse_u32_array(c, &r->block_ids, &r->block_ids_cap, &r->nblock_ids);
    case 12:
        return parse_u32(c, &r->unique_blocks);
    case 13:
        return parse_object(c, tpb_keys, 0, f_tpb, r);
    case 14: {
        static const char *const tiers[] = {"hbm", "local_pool", "remote_pool", NULL};
        return parse_object(c, tiers, 0, f_tier, r);
    }
    case 15:
        return parse_object(c, prefix_keys, 0, f_prefix, r);
    case 16:
        return parse_object(c, stats_keys, 0, f_stats, r);
    default:
        r->has_scores = true;
        return parse_real_array(c, r);
    }
}

gboolean
dsa_record_parse(const char *line, size_t len, dsa_record *rec, GError **error)
{
    pc c = {.p = line, .end = line + len, .r = rec, .error = error};
    rec->has_scores = false;
    rec->nscores = 0;
    rec->npos = rec->nblock_ids = rec->nisect = 0;
    if (!parse_object(&c, top_keys, 1u << K_SCORES_TOPK, f_top, rec))
        return FALSE;
    ws(&c);
    if (c.p != c.end)
        return fail(&c, "unexpected text after the record");
    for (uint32_t i = 0; i < rec->npos; i++)
        if (rec->pos[i] >= rec->seq_len_current) {
            g_strlcpy(c.path, "selected_token_pos", sizeof c.path);
            return fail(&c, "entry %u (%u) is not below seq_len_current (%u)", i, rec->pos[i],
                        rec->seq_len_current);
        }
    if (rec->has_scores && rec->nscores != rec->npos) {
        g_strlcpy(c.path, "scores_topk", sizeof c.path);
        return fail(&c, "%u scores for %u positions", rec->nscores, rec->npos);
    }
    return TRUE;
}

/* ---- reader ---- */

struct dsa_reader {
    base_lines *lines;
    char *name;
    dsa_record rec;
    uint64_t skipped;
    char *first_skipped;
};

static dsa_reader *
reader_new(base_lines *l, const char *name)
{
    dsa_reader *r = g_new0(dsa_reader, 1);
    r->lines = l;
    r->name = g_strdup(name);
    return r;
}

dsa_reader *
dsa_reader_open(const char *path, GError **error)
{
    base_lines *l = base_lines_open(path, error);
    return l != NULL ? reader_new(l, path) : NULL;
}

dsa_reader *
dsa_reader_new_from_memory(const char *name, const void *data, size_t size, GError **error)
{
    base_lines *l = base_lines_new_from_memory(name, data, size, error);
    return l != NULL ? reader_new(l, name) : NULL;
}

void
dsa_reader_free(dsa_reader *r)
{
    if (r == NULL)
        return;
    base_lines_free(r->lines);
    dsa_record_clear(&r->rec);
    g_free(r->name);
    g_free(r->first_skipped);
    g_free(r);
}

int
dsa_reader_next(dsa_reader *r, bool skip_bad, const dsa_record **rec, GError **error)
{
    for (;;) {
        char *line;
        size_t len;
        GError *e = NULL;
        if (!base_lines_next(r->lines, &line, &len, &e)) {
            if (e != NULL) {
                g_propagate_error(error, e);
                return -1;
            }
            return 0;
        }
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            continue;
        if (dsa_record_parse(line, len, &r->rec, &e)) {
            *rec = &r->rec;
            return 1;
        }
        g_autofree char *msg = g_strdup_printf("%s:%" G_GUINT64_FORMAT ": %s", r->name,
                                               base_lines_lineno(r->lines), e->message);
        g_error_free(e);
        if (!skip_bad) {
            g_set_error_literal(error, BASE_ERROR, BASE_ERROR_PARSE, msg);
            return -1;
        }
        r->skipped++;
        if (r->first_skipped == NULL)
            r->first_skipped = g_steal_pointer(&msg);
    }
}

uint64_t
dsa_reader_skipped(const dsa_reader *r)
{
    return r->skipped;
}

const char *
dsa_reader_first_skipped(const dsa_reader *r)
{
    return r->first_skipped;
}

uint64_t
dsa_reader_bytes(const dsa_reader *r)
{
    return base_lines_bytes(r->lines);
}

uint64_t
dsa_reader_lineno(const dsa_reader *r)
{
    return base_lines_lineno(r->lines);
}
