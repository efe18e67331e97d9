/* workloads/sharegpt.c: ShareGPT conversations ([{"conversations": [{"from", "value"}, ...]}],
 * or one conversation object per line; {"role", "content"} messages are accepted too).
 * The top-level array is split into elements by a small scanner (depth and string state),
 * so only one conversation is in memory at a time (plus the longest input line).
 *
 * Token counts: a message's "tokens" / "num_tokens" integer if present, else
 * ceil(UTF-8 bytes / --bytes-per-token) (default 4). Each message is one segment whose content
 * id hashes its text, so equal texts share KV.
 *  - full: one request per conversation: prompt = every message before the last assistant
 *    message, output = that message.
 *  - per_user_turn: one request per user message followed by an assistant reply: prompt =
 *    the conversation so far (with that user message), output = the reply. The turns form a
 *    session (gated on completion); the reply's content id is the request's
 *    output_content_id, so the next turn's prompt reuses the KV its decode produced.
 * Conversations are paired with the synthetic arrival process (per request in full mode, per
 * session start in per_user_turn mode; later turns carry the session's time). */
#include <math.h>
#include <string.h>

#include "base/match.h"
#include "workloads/internal.h"

enum { ROLE_OTHER, ROLE_USER, ROLE_ASSISTANT };

typedef struct msg {
    int role;
    uint32_t tokens;
    uint64_t id;
} msg;

typedef struct sgpt {
    wl__src base;
    base_lines *lines;
    const char *name;
    bool per_turn;
    double bytes_per_token;
    wl__arrivals arr;
    /* scanner */
    bool started, array, ended;
    int depth;
    bool in_str, esc;
    GString *elem;
    uint64_t elem_line;
    char *line;
    size_t len, pos;
    bool have_line;
    /* current conversation */
    GArray *msgs; /* msg */
    size_t cursor;
    uint64_t conv, session;
    uint32_t turn;
    int64_t session_t;
    uint32_t session_stage;
    GArray *segs;
} sgpt;

static void
sgpt_free(wl__src *b)
{
    sgpt *s = (sgpt *)b;
    base_lines_free(s->lines);
    g_string_free(s->elem, TRUE);
    g_array_free(s->msgs, TRUE);
    g_array_free(s->segs, TRUE);
    if (b->stages != NULL)
        g_array_free(b->stages, TRUE);
    g_free(s);
}

/* Next top-level element into s->elem: 1, 0 at the end, -1 on error. */
static int
next_element(sgpt *s, GError **error)
{
    g_string_truncate(s->elem, 0);
    bool in_elem = false;
    for (;;) {
        if (!s->have_line || s->pos >= s->len) {
            GError *e = NULL;
            if (in_elem && s->have_line)
                g_string_append_c(s->elem, '\n');
            if (!base_lines_next(s->lines, &s->line, &s->len, &e)) {
                if (e != NULL) {
                    wl__propagate(error, e);
                    return -1;
                }
                if (in_elem || (s->array && !s->ended)) {
                    g_set_error(error, WL_ERROR, WL_ERROR_PARSE,
                                "%s:%" G_GUINT64_FORMAT ": truncated JSON (the %s is not closed)",
                                s->name, base_lines_lineno(s->lines),
                                in_elem ? "conversation" : "top-level array");
                    return -1;
                }
                if (!s->started) {
                    g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s: empty file", s->name);
                    return -1;
                }
                return 0;
            }
            s->have_line = true;
            s->pos = 0;
        }
        size_t from = s->pos;
        while (s->pos < s->len) {
            char ch = s->line[s->pos++];
            if (in_elem) {
                if (s->in_str) {
                    if (s->esc)
                        s->esc = false;
                    else if (ch == '\\')
                        s->esc = true;
                    else if (ch == '"')
                        s->in_str = false;
                    continue;
                }
                if (ch == '"')
                    s->in_str = true;
                else if (ch == '{' || ch == '[')
                    s->depth++;
                else if (ch == '}' || ch == ']') {
                    if (--s->depth == 0) {
                        g_string_append_len(s->elem, s->line + from, (gssize)(s->pos - from));
                        return 1;
                    }
                }
                continue;
            }
            if (ch == ' ' || ch == '\t' || ch == '\r' || (ch == ',' && s->started))
                continue;
            if (!s->started && ch == '[') {
                s->started = s->array = true;
                continue;
            }
            if (s->array && ch == ']') {
                s->ended = true;
                continue;
            }
            if (ch == '{' && !s->ended) {
                s->started = true;
                in_elem = true;
                s->depth = 1;
                s->elem_line = base_lines_lineno(s->lines);
                from = s->pos - 1;
                continue;
            }
            g_set_error(error, WL_ERROR, WL_ERROR_PARSE,
                        "%s:%" G_GUINT64_FORMAT ": expected a conversation object, got '%c'",
                        s->name, base_lines_lineno(s->lines), ch);
            return -1;
        }
        if (in_elem)
            g_string_append_len(s->elem, s->line + from, (gssize)(s->len - from));
    }
}

static uint64_t
text_hash(const char *t, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a strong mix */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)t[i]) * 0x100000001b3ull;
    return wl__hash3(WL_TAG_TEXT, h, n);
}

static int
role_of(const char *r)
{
    if (strcmp(r, "human") == 0 || strcmp(r, "user") == 0)
        return ROLE_USER;
    if (strcmp(r, "gpt") == 0 || strcmp(r, "assistant") == 0 || strcmp(r, "chatgpt") == 0 ||
        strcmp(r, "bard") == 0 || strcmp(r, "bing") == 0 || strcmp(r, "model") == 0)
        return ROLE_ASSISTANT;
    return ROLE_OTHER;
}

/* Parses s->elem into s->msgs. */
static gboolean
parse_conversation(sgpt *s, GError **error)
{
    json_error_t je;
    json_auto_t *o = json_loadb(s->elem->str, s->elem->len, JSON_REJECT_DUPLICATES, &je);
    uint64_t ln = s->elem_line + (uint64_t)(je.line > 0 ? je.line - 1 : 0);
    if (o == NULL) {
        /* jansson's text quotes the input near the error: raw newlines would break the line */
        g_autofree char *shown = base_escape_text(je.text, 160);
        g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s:%" G_GUINT64_FORMAT ": invalid JSON: %s",
                    s->name, ln, shown);
        return FALSE;
    }
    ln = s->elem_line;
    const json_t *conv = json_object_get(o, "conversations");
    if (conv == NULL)
        conv = json_object_get(o, "messages");
    if (!json_is_array(conv)) {
        wl__row_error(error, s->name, ln, "conversations",
                      conv == NULL ? "missing" : "expected an array of messages");
        return FALSE;
    }
    g_array_set_size(s->msgs, 0);
    size_t i;
    const json_t *m;
    json_array_foreach(conv, i, m) {
        const json_t *from = json_object_get(m, "from");
        const json_t *val = json_object_get(m, "value");
        if (from == NULL && val == NULL) {
            from = json_object_get(m, "role");
            val = json_object_get(m, "content");
        }
        if (!json_is_string(from) || !json_is_string(val)) {
            wl__row_error(error, s->name, ln, "conversations",
                          "message %zu needs string \"from\" and \"value\" (or \"role\" and "
                          "\"content\")",
                          i);
            return FALSE;
        }
        msg x = {role_of(json_string_value(from)), 0, 0};
        size_t n = json_string_length(val);
        const json_t *tok = json_object_get(m, "tokens");
        if (tok == NULL)
            tok = json_object_get(m, "num_tokens");
        int64_t t;
        if (tok != NULL) {
            if (!json_is_integer(tok)) {
                wl__row_error(error, s->name, ln, "tokens", "message %zu: expected an integer", i);
                return FALSE;
            }
            t = json_integer_value(tok);
        } else {
            t = (int64_t)ceil((double)n / s->bytes_per_token);
        }
        g_autofree char *col = g_strdup_printf("conversations[%zu]", i);
        if (!wl__check_tokens(t, true, s->name, ln, col, error))
            return FALSE;
        x.tokens = (uint32_t)t;
        x.id = text_hash(json_string_value(val), n);
        g_array_append_val(s->msgs, x);
    }
    return TRUE;
}

static const msg *
msg_at(const sgpt *s, size_t i)
{
    return &g_array_index(s->msgs, msg, i);
}

/* Builds the request whose prompt is msgs[0..end) and output msgs[end]. */
static bool
build(sgpt *s, size_t end, wl_request *out)
{
    g_array_set_size(s->segs, 0);
    uint64_t sum = 0;
    for (size_t i = 0; i < end; i++) {
        const msg *m = msg_at(s, i);
        if (m->tokens == 0)
            continue;
        wl_segment seg = {m->id, m->tokens};
        g_array_append_val(s->segs, seg);
        sum += m->tokens;
    }
    const msg *o = msg_at(s, end);
    if (sum == 0 || sum > WL_MAX_TOKENS)
        return false;
    memset(out, 0, sizeof *out);
    out->prompt_tokens = (uint32_t)sum;
    out->output_tokens = MAX(o->tokens, 1u);
    out->segments = (const wl_segment *)(void *)s->segs->data;
    out->nsegments = s->segs->len;
    out->output_content_id = o->id;
    return true;
}

static int
sgpt_next(wl__src *b, wl_request *out, GError **error)
{
    sgpt *s = (sgpt *)b;
    for (;;) {
        /* Next turn of the current conversation (per_user_turn). */
        while (s->per_turn && s->cursor + 1 < s->msgs->len) {
            size_t u = s->cursor++;
            if (msg_at(s, u)->role != ROLE_USER || msg_at(s, u + 1)->role != ROLE_ASSISTANT)
                continue;
            if (!build(s, u + 1, out))
                continue;
            if (s->turn == 0) {
                s->session++;
                int rc = wl__arrivals_next(&s->arr, &s->session_t, &s->session_stage, error);
                if (rc <= 0)
                    return rc;
            }
            out->arrival_ns = s->session_t;
            out->stage = s->session_stage;
            out->session_id = s->session;
            out->turn = s->turn++;
            b->ctx->row_line = s->elem_line;
            return 1;
        }
        int rc = next_element(s, error);
        if (rc <= 0)
            return rc;
        b->ctx->counters.rows++;
        GError *e = NULL;
        if (!parse_conversation(s, &e)) {
            g_array_set_size(s->msgs, 0);
            if (!wl__bad_row(b->ctx, e, error))
                return -1;
            continue;
        }
        s->conv++;
        if (s->per_turn) {
            s->cursor = 0;
            s->turn = 0;
            bool any = false;
            for (size_t i = 0; i + 1 < s->msgs->len && !any; i++)
                any = msg_at(s, i)->role == ROLE_USER && msg_at(s, i + 1)->role == ROLE_ASSISTANT;
            if (!any)
                b->ctx->counters.filtered++; /* no user turn with a reply */
            continue;
        }
        /* full: everything before the last assistant message. */
        size_t last = s->msgs->len;
        for (size_t i = s->msgs->len; i-- > 0;)
            if (msg_at(s, i)->role == ROLE_ASSISTANT) {
                last = i;
                break;
            }
        if (last == s->msgs->len || !build(s, last, out)) {
            b->ctx->counters.filtered++;
            continue;
        }
        rc = wl__arrivals_next(&s->arr, &out->arrival_ns, &out->stage, error);
        if (rc <= 0)
            return rc;
        b->ctx->row_line = s->elem_line;
        return 1;
    }
}

wl__src *
wl__open_sharegpt(wl__ctx *ctx, const wl__input *in, const wl_options *o, GError **error)
{
    base_lines *l = wl__input_lines(in, error);
    if (l == NULL)
        return NULL;
    sgpt *s = g_new0(sgpt, 1);
    g_autoptr(wl__src) b = &s->base;
    b->next = sgpt_next;
    b->free = sgpt_free;
    b->format = "sharegpt-json";
    b->ctx = ctx;
    b->uses_rate = true;
    b->uses_arrivals = true;
    s->lines = l;
    s->name = base_lines_name(l);
    s->elem = g_string_new(NULL);
    s->msgs = g_array_new(FALSE, FALSE, sizeof(msg));
    s->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    s->per_turn = strcmp(o->sharegpt_mode, "per_user_turn") == 0;
    s->bytes_per_token = o->bytes_per_token;
    b->sessions = s->per_turn;
    if (!wl__arrivals_from_options(&s->arr, &b->stages, o, ctx->seed, error))
        return NULL;
    return g_steal_pointer(&b);
}
