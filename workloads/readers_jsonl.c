/* workloads/readers_jsonl.c: one-JSON-object-per-line traces.
 *  - Mooncake (FAST'25): timestamp (ms), input_length, output_length, hash_ids. Each id names
 *    a 512-token block whose identity already covers its whole prefix, so it becomes one
 *    segment with content id = hash(id): requests share exactly their common leading ids.
 *  - Per-request JSONL (LLMServingSim / vLLM bench replays): input_toks, output_toks,
 *    arrival_time_ns, optional input_tok_ids. Token ids become one segment per 16 ids whose
 *    content id chains the hash of every id so far, so two prompts get equal segment ids
 *    exactly as far as their leading ids are equal (exact prefix sharing for KV block sizes
 *    that are multiples of 16). Without arrival_time_ns (decided on the first row) the rows
 *    are paired with the synthetic arrival process.
 * Each line is parsed with jansson; a line's memory is freed before the next is read. */
#include <math.h>
#include <string.h>

#include "base/match.h"
#include "workloads/internal.h"

#define MOONCAKE_BLOCK 512
#define TOKEN_BLOCK    16

typedef struct jsonl_src {
    wl__src base;
    base_lines *lines;
    const char *name;
    int64_t last;
    GArray *segs;
    wl_segment one;
    json_t *pending; /* first row, parsed at open (per-request JSONL) */
    uint64_t pending_line;
    bool synth_times;
    bool seen_any; /* a non-blank line was read (an empty file is an error) */
    wl__arrivals arr;
} jsonl_src;

static void
jsonl_free(wl__src *b)
{
    jsonl_src *s = (jsonl_src *)b;
    base_lines_free(s->lines);
    g_array_free(s->segs, TRUE);
    if (s->pending != NULL)
        json_decref(s->pending);
    if (b->stages != NULL)
        g_array_free(b->stages, TRUE);
    g_free(s);
}

/* Next non-blank line parsed as a JSON object: 1, 0 at end, -1 on I/O error; a syntax error
 * is a bad row (*BAD set, returns 1 with *ROOT NULL). */
static int
next_object(jsonl_src *s, json_t **root, GError **bad, GError **error)
{
    *root = NULL;
    char *line;
    size_t len;
    GError *e = NULL;
    for (;;) {
        if (!base_lines_next(s->lines, &line, &len, &e)) {
            if (e != NULL) {
                wl__propagate(error, e);
                return -1;
            }
            if (!s->seen_any) {
                g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: empty file", s->name);
                return -1;
            }
            return 0;
        }
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i < len)
            break;
    }
    s->base.ctx->counters.rows++;
    s->seen_any = true;
    json_error_t je;
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    uint64_t ln = base_lines_lineno(s->lines);
    if (j == NULL) {
        g_autofree char *shown = base_escape_text(je.text, 160); /* one line whatever it quotes */
        g_set_error(bad, WL_ERROR, WL_ERROR_PARSE,
                    "%s:%" G_GUINT64_FORMAT ": invalid JSON at "
                    "character %d: %s",
                    s->name, ln, je.position, shown);
        return 1;
    }
    if (!json_is_object(j)) {
        g_set_error(bad, WL_ERROR, WL_ERROR_PARSE,
                    "%s:%" G_GUINT64_FORMAT ": expected a JSON object, got %s", s->name, ln,
                    json_is_array(j) ? "an array" : "a scalar");
        json_decref(j);
        return 1;
    }
    *root = j;
    return 1;
}

/* Integer field KEY (integral reals accepted). */
static gboolean
get_int(jsonl_src *s, const json_t *o, const char *key, uint64_t ln, int64_t *v, GError **error)
{
    const json_t *x = json_object_get(o, key);
    if (x == NULL) {
        wl__row_error(error, s->name, ln, key, "missing");
        return FALSE;
    }
    if (json_is_integer(x)) {
        *v = json_integer_value(x);
        return TRUE;
    }
    if (json_is_real(x) && base_double_to_int64(json_real_value(x), v))
        return TRUE;
    wl__row_error(error, s->name, ln, key, "expected an integer");
    return FALSE;
}

static gboolean
get_tokens(jsonl_src *s, const json_t *o, const char *key, uint64_t ln, int64_t *v, GError **error)
{
    return get_int(s, o, key, ln, v, error) && wl__check_tokens(*v, false, s->name, ln, key, error);
}

static jsonl_src *
jsonl_new(wl__ctx *ctx,
          const wl__input *in,
          const char *format,
          int (*next)(wl__src *, wl_request *, GError **),
          GError **error)
{
    base_lines *l = wl__input_lines(in, error);
    if (l == NULL)
        return NULL;
    jsonl_src *s = g_new0(jsonl_src, 1);
    s->base.next = next;
    s->base.free = jsonl_free;
    s->base.format = format;
    s->base.ctx = ctx;
    s->lines = l;
    s->name = base_lines_name(l);
    s->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    return s;
}

/* ---- Mooncake ---- */

static gboolean
mooncake_row(jsonl_src *s, const json_t *o, uint64_t ln, wl_request *out, GError **error)
{
    const json_t *ts = json_object_get(o, "timestamp");
    if (ts == NULL || !json_is_number(ts)) {
        wl__row_error(error, s->name, ln, "timestamp", ts == NULL ? "missing" : "not a number");
        return FALSE;
    }
    double ms = json_number_value(ts);
    int64_t t, in, outn;
    if (!wl__time_ns(ms, 1e6, &t)) {
        wl__time_error(error, s->name, ln, "timestamp", ms * 1e-3);
        return FALSE;
    }
    if (!get_tokens(s, o, "input_length", ln, &in, error) ||
        !get_tokens(s, o, "output_length", ln, &outn, error) ||
        !wl__check_order(t, &s->last, s->name, ln, "timestamp", error))
        return FALSE;
    const json_t *ids = json_object_get(o, "hash_ids");
    if (ids != NULL && !json_is_array(ids)) {
        wl__row_error(error, s->name, ln, "hash_ids", "expected an array of integers");
        return FALSE;
    }
    memset(out, 0, sizeof *out);
    out->arrival_ns = t;
    out->prompt_tokens = (uint32_t)in;
    out->output_tokens = (uint32_t)outn;
    g_array_set_size(s->segs, 0);
    /* One segment per id; ids past the prompt are ignored, tokens past the ids (not in the
     * published traces) get a unique segment. */
    int64_t left = in;
    size_t n = ids != NULL ? json_array_size(ids) : 0;
    for (size_t i = 0; i < n && left > 0; i++) {
        const json_t *x = json_array_get(ids, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0) {
            wl__row_error(error, s->name, ln, "hash_ids", "element %zu is not an integer >= 0", i);
            return FALSE;
        }
        uint32_t tok = (uint32_t)MIN(left, MOONCAKE_BLOCK);
        wl_segment seg = {wl__hash3(WL_TAG_MOONCAKE, (uint64_t)json_integer_value(x), 0), tok};
        g_array_append_val(s->segs, seg);
        left -= tok;
    }
    if (left > 0) {
        wl_segment seg = {wl__private_id(s->base.ctx), (uint32_t)left};
        g_array_append_val(s->segs, seg);
    }
    out->segments = (const wl_segment *)(void *)s->segs->data;
    out->nsegments = s->segs->len;
    out->output_content_id = wl__private_id(s->base.ctx);
    return TRUE;
}

static int
mooncake_next(wl__src *b, wl_request *out, GError **error)
{
    jsonl_src *s = (jsonl_src *)b;
    for (;;) {
        json_t *o;
        GError *e = NULL;
        int rc = next_object(s, &o, &e, error);
        if (rc <= 0)
            return rc;
        uint64_t ln = base_lines_lineno(s->lines);
        bool ok = o != NULL && mooncake_row(s, o, ln, out, &e);
        if (o != NULL)
            json_decref(o);
        if (ok) {
            b->ctx->row_line = ln;
            return 1;
        }
        if (!wl__bad_row(b->ctx, e, error))
            return -1;
    }
}

wl__src *
wl__open_mooncake(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    (void)o;
    jsonl_src *s = jsonl_new(ctx, in, "mooncake", mooncake_next, error);
    return s != NULL ? &s->base : NULL;
}

/* ---- per-request JSONL ---- */

static gboolean
token_segments(jsonl_src *s, const json_t *ids, int64_t in, uint64_t ln, GError **error)
{
    if (!json_is_array(ids)) {
        wl__row_error(error, s->name, ln, "input_tok_ids", "expected an array of token ids");
        return FALSE;
    }
    size_t n = json_array_size(ids);
    if ((int64_t)n != in) {
        wl__row_error(error, s->name, ln, "input_tok_ids",
                      "has %zu ids but input_toks is %" G_GINT64_FORMAT, n, in);
        return FALSE;
    }
    uint64_t h = sim_mix64(WL_TAG_TOKENS);
    for (size_t i = 0; i < n; i += TOKEN_BLOCK) {
        size_t end = MIN(n, i + TOKEN_BLOCK);
        for (size_t k = i; k < end; k++) {
            const json_t *x = json_array_get(ids, k);
            if (!json_is_integer(x)) {
                wl__row_error(error, s->name, ln, "input_tok_ids", "element %zu is not an integer",
                              k);
                return FALSE;
            }
            h = (h ^ (uint64_t)json_integer_value(x)) * 0x100000001b3ull + 0x9E3779B97F4A7C15ull;
        }
        /* The id of block i chains every id before it. */
        h = sim_mix64(h);
        wl_segment seg = {wl__shared(h), (uint32_t)(end - i)};
        g_array_append_val(s->segs, seg);
    }
    return TRUE;
}

static gboolean
request_row(jsonl_src *s, const json_t *o, uint64_t ln, wl_request *out, GError **error)
{
    int64_t in, outn, t = 0;
    if (!get_tokens(s, o, "input_toks", ln, &in, error) ||
        !get_tokens(s, o, "output_toks", ln, &outn, error))
        return FALSE;
    if (!s->synth_times) {
        if (!get_int(s, o, "arrival_time_ns", ln, &t, error))
            return FALSE;
        if (t < 0) {
            wl__row_error(error, s->name, ln, "arrival_time_ns", "negative time");
            return FALSE;
        }
        if (t > WL_MAX_TIME_NS) { /* 2^63 − 1 was the window's "no end": the rest vanished */
            wl__time_error(error, s->name, ln, "arrival_time_ns", (double)t * 1e-9);
            return FALSE;
        }
        if (!wl__check_order(t, &s->last, s->name, ln, "arrival_time_ns", error))
            return FALSE;
    }
    memset(out, 0, sizeof *out);
    out->arrival_ns = t;
    out->prompt_tokens = (uint32_t)in;
    out->output_tokens = (uint32_t)outn;
    const json_t *ids = json_object_get(o, "input_tok_ids");
    if (ids == NULL) {
        wl__unique_body(s->base.ctx, &s->one, out);
        return TRUE;
    }
    g_array_set_size(s->segs, 0);
    if (!token_segments(s, ids, in, ln, error))
        return FALSE;
    out->segments = (const wl_segment *)(void *)s->segs->data;
    out->nsegments = s->segs->len;
    out->output_content_id = wl__private_id(s->base.ctx);
    return TRUE;
}

static int
request_next(wl__src *b, wl_request *out, GError **error)
{
    jsonl_src *s = (jsonl_src *)b;
    for (;;) {
        json_t *o = NULL;
        GError *e = NULL;
        uint64_t ln;
        if (s->pending != NULL) {
            o = g_steal_pointer(&s->pending);
            ln = s->pending_line;
        } else {
            int rc = next_object(s, &o, &e, error);
            if (rc <= 0)
                return rc;
            ln = base_lines_lineno(s->lines);
        }
        bool ok = o != NULL && request_row(s, o, ln, out, &e);
        if (o != NULL)
            json_decref(o);
        if (ok) {
            if (s->synth_times) {
                int rc = wl__arrivals_next(&s->arr, &out->arrival_ns, &out->stage, error);
                if (rc <= 0)
                    return rc;
            }
            b->ctx->row_line = ln;
            return 1;
        }
        if (!wl__bad_row(b->ctx, e, error))
            return -1;
    }
}

wl__src *
wl__open_jsonl(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    jsonl_src *s = jsonl_new(ctx, in, "jsonl", request_next, error);
    if (s == NULL)
        return NULL;
    g_autoptr(wl__src) b = &s->base;
    /* The first row decides whether the file has arrival times. */
    GError *bad = NULL;
    int rc = next_object(s, &s->pending, &bad, error);
    if (rc < 0)
        return NULL;
    if (bad != NULL) {
        wl__propagate(error, bad); /* a first row that is not JSON: not this format */
        return NULL;
    }
    s->pending_line = base_lines_lineno(s->lines);
    s->synth_times = json_object_get(s->pending, "arrival_time_ns") == NULL;
    if (s->synth_times) {
        if (!wl__arrivals_from_options(&s->arr, &b->stages, o, ctx->seed, error))
            return NULL;
        b->uses_rate = true;
        b->uses_arrivals = true;
    }
    return g_steal_pointer(&b);
}
