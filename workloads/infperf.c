/* workloads/infperf.c: inference-perf workload specs (the `data` and `load` sections of its
 * config; other sections are ignored). Requests are numbered i = 0, 1, ... over the whole run.
 *
 * data.type shared_prefix (N = num_groups, M = num_prompts_per_group; older names
 * num_unique_system_prompts, num_users_per_system_prompt): group g has a system prompt of
 * system_prompt_len tokens (content id per g); prompt p = g·M + q is that system prompt plus
 * question q of question_len tokens (or drawn once per prompt from question_distribution).
 * The N·M prompts are put in a seeded shuffled order.
 *  - single turn: request i sends prompt perm[i mod N·M] (repeats are identical prompts);
 *  - enable_multi_turn_chat: user u = i mod N·M (starting from prompt perm[u]) sends round
 *    r = ⌊i / N·M⌋; its prompt is system prompt + Q0 A0 ... Q(r-1) A(r-1) + Qr, where Ak is
 *    the output of round k (same content id as that request's output_content_id) and later
 *    questions are fresh content; session_id = u + 1, turn = r, so the simulator sends round
 *    r only after round r-1 completed. Lengths of (u, r) are drawn from a stream keyed by
 *    (seed, u, r), so no per-user history is stored.
 * data.type random / synthetic: input_distribution / output_distribution {min, max, mean,
 * std_dev} (normal clipped to [min, max]); with input_distribution.total_count = K, request
 * i uses prompt i mod K (K distinct prompts, lengths drawn once each), else every prompt is
 * unique.
 * load.type constant (request j of a stage at start + j/rate) or poisson (exponential gaps
 * from the stage start), stages [{rate, duration}] back to back; concurrent: stages
 * [{concurrency_level, num_requests}], every request at time 0 with stage caps (see
 * wl_stage). */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/match.h"
#include "workloads/internal.h"

typedef enum { DATA_SHARED, DATA_RANDOM } data_kind;

typedef struct infperf {
    wl__src base;
    data_kind data;
    bool multi_turn;
    uint64_t groups, per_group, nprompts; /* shared_prefix */
    uint32_t sys_len;
    wl_dist *qdist, *odist, *idist;
    uint32_t *qlen, *olen; /* per prompt (shared_prefix, or random with total_count) */
    uint64_t *perm;        /* shuffled prompt order */
    uint64_t total_count;  /* random: distinct prompts, 0 = all unique */
    bool concurrent;
    wl__arrivals arr;
    uint32_t cstage; /* concurrent: current stage */
    int64_t cleft;   /* concurrent: requests left in it */
    uint64_t i;
    GArray *segs;
    sim_rng r_in, r_out;
} infperf;

static void
ip_free(wl__src *b)
{
    infperf *s = (infperf *)b;
    wl_dist_free(s->qdist);
    wl_dist_free(s->odist);
    wl_dist_free(s->idist);
    g_free(s->qlen);
    g_free(s->olen);
    g_free(s->perm);
    g_array_free(s->segs, TRUE);
    if (b->stages != NULL)
        g_array_free(b->stages, TRUE);
    g_free(s);
}

static void
push(infperf *s, uint64_t id, uint32_t tokens)
{
    if (tokens == 0)
        return; /* system_prompt_len 0: no system prompt */
    wl_segment seg = {id, tokens};
    g_array_append_val(s->segs, seg);
}

/* A draw from D on a stream keyed by (seed, KIND, A, B). */
static uint32_t
keyed_draw(const infperf *s, const wl_dist *d, uint64_t kind, uint64_t a, uint64_t b)
{
    if (wl_dist_is_fixed(d)) {
        sim_rng r;
        memset(&r, 0, sizeof r);
        return (uint32_t)wl_dist_draw(d, &r);
    }
    sim_rng r;
    sim_rng_init(&r, wl__hash3(s->base.ctx->seed, a, b), kind);
    return (uint32_t)wl_dist_draw(d, &r);
}

static int
ip_next(wl__src *b, wl_request *out, GError **error)
{
    infperf *s = (infperf *)b;
    memset(out, 0, sizeof *out);
    if (s->concurrent) {
        while (s->cleft == 0) {
            if (++s->cstage >= b->stages->len)
                return 0;
            s->cleft = g_array_index(b->stages, wl_stage, s->cstage).num_requests;
        }
        s->cleft--;
        out->arrival_ns = 0;
        out->stage = s->cstage;
    } else {
        int rc = wl__arrivals_next(&s->arr, &out->arrival_ns, &out->stage, error);
        if (rc <= 0)
            return rc;
    }
    uint64_t i = s->i++;
    uint64_t seed = b->ctx->seed;
    b->ctx->counters.rows++;
    g_array_set_size(s->segs, 0);
    if (s->data == DATA_RANDOM) {
        uint32_t in, on;
        uint64_t pid;
        if (s->total_count > 0) {
            uint64_t p = i % s->total_count;
            in = s->qlen[p];
            on = s->olen[p];
            pid = wl__hash3(WL_TAG_PROMPT, seed, p);
        } else {
            in = (uint32_t)wl_dist_draw(s->idist, &s->r_in);
            on = (uint32_t)wl_dist_draw(s->odist, &s->r_out);
            pid = wl__private_id(b->ctx);
        }
        push(s, pid, in);
        out->output_tokens = on;
        out->output_content_id = wl__private_id(b->ctx);
    } else if (!s->multi_turn) {
        uint64_t p = s->perm[i % s->nprompts];
        uint64_t g = p / s->per_group;
        push(s, wl__hash3(WL_TAG_SYSTEM, seed, g), s->sys_len);
        push(s, wl__hash3(WL_TAG_QUESTION, seed, p), s->qlen[p]);
        out->output_tokens = s->olen[p];
        out->output_content_id = wl__private_id(b->ctx);
    } else {
        uint64_t u = i % s->nprompts, r = i / s->nprompts;
        uint64_t p = s->perm[u];
        uint64_t g = p / s->per_group;
        push(s, wl__hash3(WL_TAG_SYSTEM, seed, g), s->sys_len);
        for (uint64_t k = 0; k <= r; k++) {
            /* Round 0 asks the user's group question; later rounds ask fresh ones. */
            if (k == 0)
                push(s, wl__hash3(WL_TAG_QUESTION, seed, p), s->qlen[p]);
            else
                push(s, wl__hash3(WL_TAG_QUESTION, wl__hash3(seed, u, k), 1),
                     keyed_draw(s, s->qdist, SIM_STREAM_WL_INPUT_LEN, u, k));
            uint32_t a =
                k == 0 ? s->olen[p] : keyed_draw(s, s->odist, SIM_STREAM_WL_OUTPUT_LEN, u, k);
            uint64_t aid = wl__hash3(WL_TAG_ANSWER, wl__hash3(seed, u, k), 0);
            if (k < r) {
                push(s, aid, a);
            } else {
                out->output_tokens = a;
                out->output_content_id = aid;
            }
        }
        out->session_id = u + 1;
        out->turn = (uint32_t)r;
    }
    uint64_t sum = 0;
    for (guint k = 0; k < s->segs->len; k++)
        sum += g_array_index(s->segs, wl_segment, k).tokens;
    out->prompt_tokens = (uint32_t)MIN(sum, (uint64_t)UINT32_MAX);
    out->segments = (const wl_segment *)(void *)s->segs->data;
    out->nsegments = s->segs->len;
    return 1;
}

/* ---- spec parsing ---- */

static gboolean invalid(GError **error, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
invalid(GError **error, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: %s", name, m);
    return FALSE;
}

/* Integer in [1, MAX] at KEY (or its older name OLD; [0, MAX] for system_prompt_len); DEF if
 * absent (< 0: required). */
static gboolean
get_count(const json_t *o,
          const char *key,
          const char *old,
          int64_t def,
          int64_t max,
          int64_t *v,
          const char *name,
          const char *where,
          GError **error)
{
    const json_t *x = json_object_get(o, key);
    const char *k = key;
    if (x == NULL && old != NULL && (x = json_object_get(o, old)) != NULL)
        k = old;
    if (x == NULL) {
        if (def < 0)
            return invalid(error, name, "%s.%s: missing", where, key);
        *v = def;
        return TRUE;
    }
    int64_t lo = strcmp(key, "system_prompt_len") == 0 ? 0 : 1;
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > max)
        return invalid(error, name,
                       "%s.%s: expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                       where, k, lo, max);
    *v = json_integer_value(x);
    return TRUE;
}

static gboolean
parse_shared(infperf *s, const json_t *data, const char *name, GError **error)
{
    const json_t *sp = json_object_get(data, "shared_prefix");
    const char *where = "data.shared_prefix";
    if (sp == NULL) {
        sp = data; /* accept the fields directly under data */
        where = "data";
    }
    if (!json_is_object(sp))
        return invalid(error, name, "%s: expected an object", where);
    int64_t n, m, sys, q = 0, o = 0;
    if (!get_count(sp, "num_groups", "num_unique_system_prompts", -1, 1000000, &n, name, where,
                   error) ||
        !get_count(sp, "num_prompts_per_group", "num_users_per_system_prompt", -1, 1000000, &m,
                   name, where, error) ||
        !get_count(sp, "system_prompt_len", NULL, -1, WL_MAX_TOKENS, &sys, name, where, error))
        return FALSE;
    if (n * m > 10000000)
        return invalid(error, name, "%s: num_groups × num_prompts_per_group is above 10,000,000",
                       where);
    json_t *qd = json_object_get(sp, "question_distribution");
    json_t *od = json_object_get(sp, "output_distribution");
    g_autofree char *qw = g_strdup_printf("%s: %s.question_distribution", name, where);
    g_autofree char *ow = g_strdup_printf("%s: %s.output_distribution", name, where);
    if (qd != NULL && !json_is_null(qd)) {
        if ((s->qdist = wl_dist_from_json(qd, qw, error)) == NULL)
            return FALSE;
    } else {
        if (!get_count(sp, "question_len", NULL, -1, WL_MAX_TOKENS, &q, name, where, error))
            return FALSE;
        s->qdist = wl_dist_new_fixed((double)q, WL_DIST_INT);
    }
    if (od != NULL && !json_is_null(od)) {
        if ((s->odist = wl_dist_from_json(od, ow, error)) == NULL)
            return FALSE;
    } else {
        if (!get_count(sp, "output_len", NULL, -1, WL_MAX_TOKENS, &o, name, where, error))
            return FALSE;
        s->odist = wl_dist_new_fixed((double)o, WL_DIST_INT);
    }
    const json_t *mt = json_object_get(sp, "enable_multi_turn_chat");
    if (mt != NULL && !json_is_boolean(mt))
        return invalid(error, name, "%s.enable_multi_turn_chat: expected true or false", where);
    s->multi_turn = mt != NULL && json_is_true(mt);
    s->groups = (uint64_t)n;
    s->per_group = (uint64_t)m;
    s->nprompts = s->groups * s->per_group;
    s->sys_len = (uint32_t)sys;
    s->qlen = g_new(uint32_t, s->nprompts);
    s->olen = g_new(uint32_t, s->nprompts);
    s->perm = g_new(uint64_t, s->nprompts);
    for (uint64_t p = 0; p < s->nprompts; p++) {
        s->qlen[p] = (uint32_t)wl_dist_draw(s->qdist, &s->r_in);
        s->olen[p] = (uint32_t)wl_dist_draw(s->odist, &s->r_out);
        s->perm[p] = p;
    }
    sim_rng shuf;
    sim_rng_init(&shuf, s->base.ctx->seed, SIM_STREAM_WL_SHUFFLE);
    sim_rng_shuffle(&shuf, s->perm, s->nprompts, sizeof *s->perm);
    s->base.sessions = s->multi_turn;
    return TRUE;
}

static gboolean
parse_random(infperf *s, const json_t *data, const char *name, GError **error)
{
    json_t *id = json_object_get(data, "input_distribution");
    json_t *od = json_object_get(data, "output_distribution");
    if (id == NULL || od == NULL)
        return invalid(error, name,
                       "data.%s: missing (random/synthetic data needs "
                       "input_distribution and output_distribution)",
                       id == NULL ? "input_distribution" : "output_distribution");
    g_autofree char *iw = g_strdup_printf("%s: data.input_distribution", name);
    g_autofree char *ow = g_strdup_printf("%s: data.output_distribution", name);
    if ((s->idist = wl_dist_from_json(id, iw, error)) == NULL ||
        (s->odist = wl_dist_from_json(od, ow, error)) == NULL)
        return FALSE;
    int64_t k = 0;
    if (!get_count(id, "total_count", NULL, 0, 10000000, &k, name, "data.input_distribution",
                   error))
        return FALSE;
    s->total_count = (uint64_t)k;
    if (k > 0) {
        s->qlen = g_new(uint32_t, (size_t)k);
        s->olen = g_new(uint32_t, (size_t)k);
        for (int64_t p = 0; p < k; p++) {
            s->qlen[p] = (uint32_t)wl_dist_draw(s->idist, &s->r_in);
            s->olen[p] = (uint32_t)wl_dist_draw(s->odist, &s->r_out);
        }
    }
    return TRUE;
}

static gboolean
parse_load(infperf *s, const json_t *load, const char *name, GError **error)
{
    if (!json_is_object(load))
        return invalid(error, name, "load: %s", load == NULL ? "missing" : "expected an object");
    const json_t *t = json_object_get(load, "type");
    const char *type = t == NULL ? "constant" : json_string_value(t);
    if (type == NULL)
        return invalid(error, name, "load.type: expected a string");
    if (json_object_get(load, "sweep") != NULL)
        return invalid(error, name, "load.sweep: not supported here (use servesim sweep)");
    const json_t *st = json_object_get(load, "stages");
    if (!json_is_array(st) || json_array_size(st) == 0)
        return invalid(error, name, "load.stages: expected a non-empty list");
    wl__src *b = &s->base;
    if (strcmp(type, "concurrent") == 0) {
        s->concurrent = true;
        b->stages = g_array_new(FALSE, TRUE, sizeof(wl_stage));
        size_t i;
        const json_t *e;
        json_array_foreach(st, i, e) {
            int64_t c, n;
            g_autofree char *where = g_strdup_printf("load.stages[%zu]", i);
            if (!json_is_object(e))
                return invalid(error, name, "%s: expected an object", where);
            if (!get_count(e, "concurrency_level", NULL, -1, 1000000000, &c, name, where, error) ||
                !get_count(e, "num_requests", NULL, -1, 1000000000000, &n, name, where, error))
                return FALSE;
            wl_stage x = {0, 0, 0, c, n};
            g_array_append_val(b->stages, x);
            b->max_concurrency = MAX(b->max_concurrency, c);
        }
        s->cstage = 0;
        s->cleft = g_array_index(b->stages, wl_stage, 0).num_requests;
        return TRUE;
    }
    wl__arr_kind kind;
    if (strcmp(type, "constant") == 0) {
        kind = WL_ARR_CONSTANT;
    } else if (strcmp(type, "poisson") == 0) {
        kind = WL_ARR_POISSON;
    } else {
        g_autofree char *shown = base_escape_text(type, 64); /* the file's text, one line */
        return invalid(error, name,
                       "load.type: unknown type '%s' (expected constant, poisson or concurrent)",
                       shown);
    }
    g_autofree char *what = g_strdup_printf("%s: load.stages", name);
    if ((b->stages = wl__stages_parse(st, what, error)) == NULL)
        return FALSE;
    wl__arrivals_init(&s->arr, kind, NAN, 1, (const wl_stage *)(void *)b->stages->data,
                      b->stages->len, b->ctx->seed);
    return TRUE;
}

wl__src *
wl__open_infperf(
    wl__ctx *ctx, const json_t *spec, const char *name, const wl_options *o, GError **error)
{
    (void)o;
    infperf *s = g_new0(infperf, 1);
    g_autoptr(wl__src) b = &s->base;
    b->next = ip_next;
    b->free = ip_free;
    b->format = "inference-perf";
    b->ctx = ctx;
    s->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    sim_rng_init(&s->r_in, ctx->seed, SIM_STREAM_WL_INPUT_LEN);
    sim_rng_init(&s->r_out, ctx->seed, SIM_STREAM_WL_OUTPUT_LEN);
    if (!json_is_object(spec)) {
        invalid(error, name, "an inference-perf spec is an object with data and load sections");
        return NULL;
    }
    const json_t *data = json_object_get(spec, "data");
    if (!json_is_object(data)) {
        invalid(error, name, "data: %s", data == NULL ? "missing" : "expected an object");
        return NULL;
    }
    const json_t *dt = json_object_get(data, "type");
    const char *type = json_string_value(dt);
    if (type == NULL) {
        invalid(error, name, "data.type: %s", dt == NULL ? "missing" : "expected a string");
        return NULL;
    }
    gboolean ok;
    if (strcmp(type, "shared_prefix") == 0) {
        s->data = DATA_SHARED;
        ok = parse_shared(s, data, name, error);
    } else if (strcmp(type, "random") == 0 || strcmp(type, "synthetic") == 0) {
        s->data = DATA_RANDOM;
        ok = parse_random(s, data, name, error);
    } else {
        g_autofree char *shown = base_escape_text(type, 64); /* the file's text, one line */
        ok = invalid(error, name,
                     "data.type: unknown or unsupported type '%s' (supported: shared_prefix, "
                     "random, synthetic; give ShareGPT files with --workload FILE)",
                     shown);
    }
    if (!ok || !parse_load(s, json_object_get(spec, "load"), name, error))
        return NULL;
    return g_steal_pointer(&b);
}
