/* workloads/synthetic.c: the arrival process (Poisson, gamma with burstiness, constant, load
 * stages) and the synthetic source: open-loop requests, closed-loop clients, or multi-turn
 * sessions whose later prompts carry the whole conversation so far (so they hit the prefix
 * cache). Every random quantity has its own sim_rng stream (base/rng.h), so e.g. changing the
 * length distribution leaves the arrival times unchanged. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "workloads/internal.h"

/* ---- arrivals ---- */

void
wl__arrivals_init(wl__arrivals *a,
                  wl__arr_kind kind,
                  double rate,
                  double burstiness,
                  const wl_stage *stages,
                  uint32_t nstages,
                  uint64_t seed)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->rate = rate;
    a->burstiness = burstiness;
    a->stages = nstages > 0 ? stages : NULL;
    a->nstages = nstages;
    sim_rng_init(&a->rng, seed, SIM_STREAM_WL_ARRIVALS);
}

static double
interval(wl__arrivals *a, double rate)
{
    switch (a->kind) {
    case WL_ARR_POISSON:
        return sim_rng_exponential(&a->rng, rate);
    case WL_ARR_GAMMA:
        return sim_rng_gamma(&a->rng, a->burstiness, 1.0 / (rate * a->burstiness));
    case WL_ARR_CONSTANT:
        return 1.0 / rate;
    }
    return 0;
}

static int
past_limit(const wl__arrivals *a, double t_s, GError **error)
{
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                "%s: request %" G_GINT64_FORMAT " would arrive at %g s, past the limit of %g s",
                a->stages != NULL ? "--stages" : "--rate", a->j, t_s, WL_MAX_TIME_S);
    return -1;
}

int
wl__arrivals_next(wl__arrivals *a, int64_t *t_ns, uint32_t *stage, GError **error)
{
    if (a->stages == NULL) {
        if (isnan(a->rate))
            a->t_s = 0;
        else if (a->kind == WL_ARR_CONSTANT)
            a->t_s = (double)a->j / a->rate; /* exact spacing, no accumulated rounding */
        else if (a->j > 0)
            a->t_s += interval(a, a->rate);
        if (!wl__time_ns(a->t_s, 1e9, t_ns))
            return past_limit(a, a->t_s, error);
        a->j++;
        *stage = 0;
        return 1;
    }
    while (a->cur < a->nstages) {
        const wl_stage *st = &a->stages[a->cur];
        double start = (double)st->start_ns * 1e-9, end = start + st->duration_s;
        double t = end;
        if (st->rate > 0) {
            if (a->kind == WL_ARR_CONSTANT) {
                t = start + (double)a->j / st->rate;
            } else {
                if (a->j == 0)
                    a->t_s = start;
                a->t_s += interval(a, st->rate);
                t = a->t_s;
            }
        }
        if (t >= end) {
            a->cur++;
            a->j = 0;
            continue;
        }
        if (!wl__time_ns(t, 1e9, t_ns)) /* stages end by WL_MAX_TIME_S: cannot happen */
            return past_limit(a, t, error);
        a->j++;
        *stage = a->cur;
        return 1;
    }
    return 0;
}

static gboolean stage_error(GError **error, const char *what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
stage_error(GError **error, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: %s", what, m);
    return FALSE;
}

/* Appends stage I (rate R req/s for D s, starting where the previous ones end) after checking
 * it against the flag ranges (workloads/options.h): a rate of 1e30 would put every request at
 * t = 0 forever and a duration of 1e30 would never end. *EXPECTED accumulates Σ rate × duration,
 * the requests the stages ask for. */
static gboolean
add_stage(
    GArray *st, size_t i, double r, double d, double *expected, const char *what, GError **error)
{
    if (!(r == 0 || (r >= WL_RATE_MIN && r <= WL_RATE_MAX)))
        return stage_error(error, what,
                           "stage %zu: rate %g req/s is out of range (0, or %g to %g like --rate)",
                           i, r, WL_RATE_MIN, WL_RATE_MAX);
    if (!(d > 0 && d <= WL_MAX_TIME_S))
        return stage_error(error, what,
                           "stage %zu: duration %g s is out of range (more than 0, at most %g s "
                           "like --duration)",
                           i, d, WL_MAX_TIME_S);
    double start = 0;
    for (guint k = 0; k < st->len; k++)
        start += g_array_index(st, wl_stage, k).duration_s;
    if (start + d > WL_MAX_TIME_S)
        return stage_error(error, what, "stage %zu: ends at %g s, past the limit of %g s", i,
                           start + d, WL_MAX_TIME_S);
    *expected += r * d;
    if (*expected > WL_MAX_REQUESTS)
        return stage_error(error, what,
                           "stage %zu: the stages ask for %.2g requests, more than %g (the "
                           "--num-requests limit)",
                           i, *expected, WL_MAX_REQUESTS);
    wl_stage s = {r, d, llround(start * 1e9), 0, 0};
    g_array_append_val(st, s);
    return TRUE;
}

GArray *
wl__stages_parse(const json_t *j, const char *what, GError **error)
{
    g_autoptr(GArray) st = g_array_new(FALSE, TRUE, sizeof(wl_stage));
    double expected = 0;
    if (json_is_string(j)) {
        g_auto(GStrv) items = g_strsplit(json_string_value(j), ",", -1);
        for (size_t i = 0; items[i] != NULL; i++) {
            g_auto(GStrv) rd = g_strsplit(items[i], ":", -1);
            double r, d;
            if (g_strv_length(rd) != 2 || !base_parse_double(rd[0], &r) ||
                !base_parse_double(rd[1], &d)) {
                g_autofree char *shown = base_escape_text(items[i], 64);
                stage_error(error, what, "bad stage '%s' (expected RATE:SECONDS)", shown);
                return NULL;
            }
            if (!add_stage(st, i, r, d, &expected, what, error))
                return NULL;
        }
    } else if (json_is_array(j)) {
        size_t i;
        const json_t *e;
        json_array_foreach(j, i, e) {
            const json_t *r = json_object_get(e, "rate"), *d = json_object_get(e, "duration");
            if (!json_is_object(e) || !json_is_number(r) || !json_is_number(d)) {
                stage_error(error, what, "stage %zu: expected {\"rate\": R, \"duration\": S}", i);
                return NULL;
            }
            if (!add_stage(st, i, json_number_value(r), json_number_value(d), &expected, what,
                           error))
                return NULL;
        }
    } else {
        stage_error(error, what, "expected a list of {rate, duration} or \"RATE:SECONDS,...\"");
        return NULL;
    }
    if (st->len == 0) {
        stage_error(error, what, "no stages");
        return NULL;
    }
    return g_steal_pointer(&st);
}

gboolean
wl__arrivals_from_options(
    wl__arrivals *a, GArray **stages, const wl_options *o, uint64_t seed, GError **error)
{
    *stages = NULL;
    wl__arr_kind kind = WL_ARR_POISSON;
    if (strcmp(o->arrival, "gamma") == 0)
        kind = WL_ARR_GAMMA;
    else if (strcmp(o->arrival, "constant") == 0)
        kind = WL_ARR_CONSTANT;
    if (o->stages != NULL && !json_is_null(o->stages)) {
        if (!isnan(o->rate))
            return stage_error(error, "--stages", "the stages set the rate; drop --rate");
        *stages = wl__stages_parse(o->stages, "--stages", error);
        if (*stages == NULL)
            return FALSE;
    }
    GArray *st = *stages;
    wl__arrivals_init(a, kind, o->rate, o->burstiness,
                      st != NULL ? (const wl_stage *)(void *)st->data : NULL,
                      st != NULL ? st->len : 0, seed);
    return TRUE;
}

/* ---- lengths ---- */

gboolean
wl__lengths_init(wl__lengths *l, const wl_options *o, GError **error)
{
    memset(l, 0, sizeof *l);
    const char *in = o->input_len != NULL ? o->input_len : "fixed:1024";
    const char *out = o->output_len != NULL ? o->output_len : "fixed:128";
    if (g_str_has_prefix(in, "empirical:") && strcmp(in, out) == 0) {
        /* Same file for both: draw (prompt, output) pairs jointly. */
        GError *e = NULL;
        if (!wl_length_table_load(in + strlen("empirical:"), &l->table, &e)) {
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "--input-len: %s: %s", in, e->message);
            g_error_free(e);
            return FALSE;
        }
        l->pairs = sim_alias_new(l->table.count, l->table.n);
        if (l->pairs == NULL) {
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "--input-len: %s: no requests", in);
            return FALSE;
        }
        return TRUE;
    }
    l->input = wl_dist_parse(in, WL_DIST_INT, 0, "--input-len", error);
    if (l->input == NULL)
        return FALSE;
    l->output = wl_dist_parse(out, WL_DIST_INT, 1, "--output-len", error);
    return l->output != NULL;
}

void
wl__lengths_draw(
    const wl__lengths *l, sim_rng *rin, sim_rng *rout, uint32_t *prompt, uint32_t *output)
{
    if (l->pairs != NULL) {
        size_t i = sim_alias_draw(l->pairs, rin);
        *prompt = l->table.prompt[i];
        *output = l->table.output[i];
        return;
    }
    *prompt = (uint32_t)wl_dist_draw(l->input, rin);
    *output = (uint32_t)wl_dist_draw(l->output, rout);
}

void
wl__lengths_clear(wl__lengths *l)
{
    wl_dist_free(l->input);
    wl_dist_free(l->output);
    sim_alias_free(l->pairs);
    wl_length_table_clear(&l->table);
    memset(l, 0, sizeof *l);
}

/* ---- the synthetic source ---- */

typedef struct synth {
    wl__src base;
    wl__arrivals arr;
    wl__lengths len;
    wl_dist *think, *turns;
    sim_rng r_in, r_out, r_sess, r_content;
    int64_t remaining; /* INT64_MAX = until the stages / window end */
    uint32_t prefix_len;
    uint64_t num_prefixes;
    int64_t clients;
    uint64_t k;   /* requests emitted */
    GArray *segs; /* current prompt */
    GArray *hist; /* multi-turn: the session's conversation so far */
    uint64_t session;
    uint32_t turn, nturns;
    int64_t session_t;
    uint32_t session_stage;
} synth;

static void
synth_free(wl__src *b)
{
    synth *s = (synth *)b;
    wl__lengths_clear(&s->len);
    wl_dist_free(s->think);
    wl_dist_free(s->turns);
    if (s->segs != NULL)
        g_array_free(s->segs, TRUE);
    if (s->hist != NULL)
        g_array_free(s->hist, TRUE);
    if (s->base.stages != NULL)
        g_array_free(s->base.stages, TRUE);
    g_free(s);
}

static void
push_seg(GArray *a, uint64_t id, uint32_t tokens)
{
    wl_segment seg = {id, tokens};
    g_array_append_val(a, seg);
}

static void
add_prefix(synth *s, GArray *a)
{
    if (s->prefix_len == 0)
        return;
    uint64_t p = s->num_prefixes > 1 ? sim_rng_below(&s->r_content, s->num_prefixes) : 0;
    push_seg(a, wl__hash3(WL_TAG_SYSTEM, s->base.ctx->seed, p), s->prefix_len);
}

static int64_t
think_ns(synth *s)
{
    int64_t ns = 0;
    /* draws of a real distribution are at most WL_MAX_TIME_S (dist.h): always in range */
    if (s->think != NULL && !wl__time_ns(wl_dist_draw(s->think, &s->r_sess), 1e9, &ns))
        g_assert_not_reached();
    return ns;
}

static void
finish(synth *s, wl_request *out, GArray *segs, uint32_t output)
{
    uint64_t sum = 0;
    for (guint i = 0; i < segs->len; i++)
        sum += g_array_index(segs, wl_segment, i).tokens;
    out->prompt_tokens = (uint32_t)MIN(sum, (uint64_t)UINT32_MAX);
    out->output_tokens = output;
    out->nsegments = segs->len;
    out->segments = (const wl_segment *)(void *)segs->data;
    s->k++;
    s->base.ctx->counters.rows++;
}

static int
synth_next(wl__src *b, wl_request *out, GError **error)
{
    synth *s = (synth *)b;
    if (s->remaining <= 0)
        return 0;
    memset(out, 0, sizeof *out);
    uint32_t prompt, output;
    g_array_set_size(s->segs, 0);
    if (s->clients > 0) {
        /* Closed loop: client c = k mod N sends its turn k / N when its previous reply came
         * back (+ think time); the nominal time is 0. */
        out->session_id = s->k % (uint64_t)s->clients + 1;
        out->turn = (uint32_t)(s->k / (uint64_t)s->clients);
        out->think_ns = out->turn > 0 ? think_ns(s) : 0;
        add_prefix(s, s->segs);
        wl__lengths_draw(&s->len, &s->r_in, &s->r_out, &prompt, &output);
        out->output_content_id = wl__private_id(b->ctx);
        push_seg(s->segs, wl__private_id(b->ctx), prompt);
    } else if (s->turns != NULL) {
        if (s->turn >= s->nturns) {
            /* A new session starts at the next arrival. */
            int64_t t;
            int rc = wl__arrivals_next(&s->arr, &t, &s->session_stage, error);
            if (rc <= 0)
                return rc;
            s->session++;
            s->session_t = t;
            s->turn = 0;
            s->nturns = (uint32_t)wl_dist_draw(s->turns, &s->r_sess);
            g_array_set_size(s->hist, 0);
            add_prefix(s, s->hist);
        }
        out->arrival_ns = s->session_t;
        out->stage = s->session_stage;
        out->session_id = s->session;
        out->turn = s->turn;
        out->think_ns = s->turn > 0 ? think_ns(s) : 0;
        wl__lengths_draw(&s->len, &s->r_in, &s->r_out, &prompt, &output);
        /* Prompt = conversation so far + a new question; the answer joins the history under
         * the id of the tokens this request generates. */
        push_seg(s->hist, wl__unique_id(b->ctx), prompt);
        g_array_append_vals(s->segs, s->hist->data, s->hist->len);
        out->output_content_id = wl__unique_id(b->ctx);
        push_seg(s->hist, out->output_content_id, output);
        s->turn++;
    } else {
        int rc = wl__arrivals_next(&s->arr, &out->arrival_ns, &out->stage, error);
        if (rc <= 0)
            return rc;
        add_prefix(s, s->segs);
        wl__lengths_draw(&s->len, &s->r_in, &s->r_out, &prompt, &output);
        out->output_content_id = wl__private_id(b->ctx);
        push_seg(s->segs, wl__private_id(b->ctx), prompt);
    }
    finish(s, out, s->segs, output);
    if (s->remaining != INT64_MAX)
        s->remaining--;
    return 1;
}

wl__src *
wl__open_synthetic(wl__ctx *ctx, const wl_options *o, GError **error)
{
    synth *s = g_new0(synth, 1);
    g_autoptr(wl__src) b = &s->base;
    b->next = synth_next;
    b->free = synth_free;
    b->format = "synthetic";
    b->uses_rate = true;
    b->uses_arrivals = true;
    b->ctx = ctx;
    s->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    s->hist = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    if (!wl__lengths_init(&s->len, o, error))
        return NULL;
    if (!wl__arrivals_from_options(&s->arr, &b->stages, o, ctx->seed, error))
        return NULL;
    if (o->think_time != NULL &&
        (s->think = wl_dist_parse(o->think_time, WL_DIST_REAL, 0, "--think-time", error)) == NULL)
        return NULL;
    if (o->turns != NULL &&
        (s->turns = wl_dist_parse(o->turns, WL_DIST_INT, 0, "--turns", error)) == NULL)
        return NULL;
    sim_rng_init(&s->r_in, ctx->seed, SIM_STREAM_WL_INPUT_LEN);
    sim_rng_init(&s->r_out, ctx->seed, SIM_STREAM_WL_OUTPUT_LEN);
    sim_rng_init(&s->r_sess, ctx->seed, SIM_STREAM_WL_SESSION);
    sim_rng_init(&s->r_content, ctx->seed, SIM_STREAM_WL_CONTENT);
    s->prefix_len = (uint32_t)o->prefix_len;
    s->num_prefixes = (uint64_t)o->num_prefixes;
    s->clients = o->clients != BASE_OPT_UNSET_INT ? o->clients : 0;
    if (s->clients > 0 && (!isnan(o->rate) || b->stages != NULL || s->turns != NULL)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "--clients: a closed loop takes no --rate, --stages or --turns (clients "
                    "send when their previous reply arrives)");
        return NULL;
    }
    b->sessions = s->clients > 0 || s->turns != NULL;
    if (s->think != NULL && !b->sessions) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "--think-time: applies to --clients or --turns sessions");
        return NULL;
    }
    /* Length of the stream: --num-requests; else until the stages (or a --duration window on
     * a finite rate) end; else --limit; else 1000 requests (vLLM bench's --num-prompts
     * default). */
    bool by_time = b->stages != NULL || (!isnan(o->duration_s) && !isnan(o->rate));
    if (o->num_requests != BASE_OPT_UNSET_INT)
        s->remaining = o->num_requests;
    else if (by_time)
        s->remaining = INT64_MAX;
    else if (o->limit != BASE_OPT_UNSET_INT)
        s->remaining = o->limit;
    else
        s->remaining = 1000;
    return g_steal_pointer(&b);
}
