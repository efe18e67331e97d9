/* workloads/workload.c: wl_open and the transform pipeline around every source:
 *   inner source (reader / generator; rows, bad rows, filters)
 *   -> max_model_len policy (pass | clip | reject)
 *   -> time factor (--time-scale × the --rate rescale; arrival and think times)
 *   -> window (--start drops earlier arrivals and shifts the rest to 0; --duration ends the
 *      stream at the first arrival past it, which is safe because arrivals never decrease)
 *   -> --limit -> streaming shuffle (bounded window) -> ids 0, 1, 2, ...
 * Memory is that of the inner source plus the shuffle window, never the trace length. The
 * --rate rescale of a trace needs its mean rate, measured by a first pass over an identical
 * second instance of the source (files are read twice; standard input is held in memory). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/asset.h"
#include "base/error.h"
#include "base/json.h"
#include "workloads/internal.h"

/* clang-format off */
G_DEFINE_QUARK(wl-error-quark, wl_error)

/* clang-format on */

/* ---- shared helpers (internal.h) ---- */

void
wl__row_error(
    GError **error, const char *file, uint64_t line, const char *column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, WL_ERROR, WL_ERROR_PARSE, "%s:%" G_GUINT64_FORMAT ": column %s: %s", file,
                line, column, m);
}

void
wl__propagate(GError **dest, GError *src)
{
    if (src == NULL)
        return;
    if (src->domain == BASE_ERROR) {
        src->domain = WL_ERROR;
        src->code = src->code == BASE_ERROR_IO      ? WL_ERROR_IO
                    : src->code == BASE_ERROR_PARSE ? WL_ERROR_PARSE
                                                    : WL_ERROR_INVALID;
    }
    g_propagate_error(dest, src);
}

gboolean
wl__bad_row(wl__ctx *ctx, GError *e, GError **error)
{
    if (!ctx->skip_bad) {
        wl__propagate(error, e);
        return FALSE;
    }
    ctx->counters.skipped_bad++;
    if (ctx->first_bad == NULL)
        ctx->first_bad = g_strdup(e->message);
    g_error_free(e);
    return TRUE;
}

gboolean
wl__check_tokens(
    int64_t v, bool allow_zero, const char *file, uint64_t line, const char *column, GError **error)
{
    if (v < 0)
        wl__row_error(error, file, line, column, "negative token count %" G_GINT64_FORMAT, v);
    else if (v == 0 && !allow_zero)
        wl__row_error(error, file, line, column, "zero tokens");
    else if (v > WL_MAX_TOKENS)
        wl__row_error(error, file, line, column, "%" G_GINT64_FORMAT " tokens is absurd (limit %d)",
                      v, WL_MAX_TOKENS);
    else
        return TRUE;
    return FALSE;
}

bool
wl__time_ns(double v, double unit_ns, int64_t *ns)
{
    double x = v * unit_ns;
    if (!(x >= 0 && x <= (double)WL_MAX_TIME_NS)) /* NaN fails too */
        return false;
    *ns = llround(x); /* at most 4e18: exact and in range */
    return true;
}

void
wl__time_error(GError **error, const char *file, uint64_t line, const char *column, double seconds)
{
    wl__row_error(error, file, line, column, "time %g s is out of range [0, %g s]", seconds,
                  WL_MAX_TIME_S);
}

gboolean
wl__check_order(
    int64_t t, int64_t *last, const char *file, uint64_t line, const char *column, GError **error)
{
    if (t < *last) {
        wl__row_error(error, file, line, column,
                      "arrival %.6f s is earlier than the previous row's %.6f s (traces must be "
                      "sorted by arrival time)",
                      (double)t * 1e-9, (double)*last * 1e-9);
        return FALSE;
    }
    *last = t;
    return TRUE;
}

uint64_t
wl__hash3(uint64_t tag, uint64_t a, uint64_t b)
{
    return wl__shared(sim_mix64(sim_mix64(sim_mix64(tag) ^ a) + b));
}

uint64_t
wl__unique_id(wl__ctx *ctx)
{
    return wl__hash3(WL_TAG_UNIQUE, ctx->seed, ctx->uniq++);
}

uint64_t
wl__private_id(wl__ctx *ctx)
{
    return wl__unique_id(ctx) | WL_CONTENT_PRIVATE;
}

void
wl__unique_body(wl__ctx *ctx, wl_segment *seg, wl_request *out)
{
    seg->content_id = wl__private_id(ctx);
    seg->tokens = out->prompt_tokens;
    out->segments = seg;
    out->nsegments = 1;
    out->output_content_id = wl__private_id(ctx);
}

void
wl__src_free(wl__src *s)
{
    if (s != NULL)
        s->free(s);
}

base_lines *
wl__input_lines(const wl__input *in, GError **error)
{
    GError *e = NULL;
    base_lines *l;
    if (in->mem != NULL) {
        size_t n = 0;
        const void *p = g_bytes_get_data(in->mem, &n);
        l = base_lines_new_from_memory(in->name, p, n, &e);
    } else {
        l = base_lines_open(in->path, &e);
    }
    if (l == NULL)
        wl__propagate(error, e);
    return l;
}

GBytes *
wl__input_bytes(const wl__input *in, GError **error)
{
    if (in->mem != NULL)
        return g_bytes_ref(in->mem);
    GError *e = NULL;
    GBytes *b = base_file_read_all(in->path, &e);
    if (b == NULL)
        wl__propagate(error, e);
    return b;
}

static void
input_clear(wl__input *in)
{
    g_clear_pointer(&in->name, g_free);
    g_clear_pointer(&in->path, g_free);
    g_clear_pointer(&in->mem, g_bytes_unref);
}

/* ---- embedded workloads ---- */

/* "workloads/azure-conv-10min.csv.gz" -> "azure-conv-10min". */
static char *
short_name(const char *asset)
{
    const char *base = asset + strlen("workloads/");
    g_autofree char *s = g_strdup(base);
    if (g_str_has_suffix(s, ".gz"))
        s[strlen(s) - 3] = '\0';
    char *dot = strrchr(s, '.');
    if (dot != NULL && dot != s)
        *dot = '\0';
    return g_steal_pointer(&s);
}

static bool
is_workload_asset(const char *name)
{
    return g_str_has_prefix(name, "workloads/") && !g_str_has_suffix(name, ".md") &&
           !g_str_has_suffix(name, ".py");
}

char **
wl_embedded_names(void)
{
    GPtrArray *out = g_ptr_array_new();
    for (size_t i = 0; i < base_asset_count(); i++) {
        const char *n = base_asset_at(i)->name;
        if (is_workload_asset(n))
            g_ptr_array_add(out, short_name(n));
    }
    g_ptr_array_sort(out, (GCompareFunc)(void (*)(void))g_strcmp0);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean
input_resolve(const char *src, wl__input *in, GError **error)
{
    memset(in, 0, sizeof *in);
    if (strcmp(src, "-") == 0 ||
        (g_file_test(src, G_FILE_TEST_EXISTS) && !g_file_test(src, G_FILE_TEST_IS_DIR) &&
         !base_file_is_rereadable(src))) {
        /* Standard input, pipes and FIFOs (process substitution) are read into memory once:
         * detection, the --rate pass and the reader all need to start from its beginning. */
        GError *e = NULL;
        in->mem = base_file_read_all(src, &e);
        if (in->mem == NULL) {
            wl__propagate(error, e);
            return FALSE;
        }
        in->name = g_strdup(src);
        return TRUE;
    }
    if (g_file_test(src, G_FILE_TEST_EXISTS)) {
        in->name = g_strdup(src);
        in->path = g_strdup(src);
        return TRUE;
    }
    for (size_t i = 0; i < base_asset_count(); i++) {
        const char *n = base_asset_at(i)->name;
        if (!is_workload_asset(n))
            continue;
        g_autofree char *sn = short_name(n);
        if (strcmp(sn, src) == 0 || strcmp(n + strlen("workloads/"), src) == 0) {
            GError *e = NULL;
            in->mem = base_asset_bytes(n, &e);
            if (in->mem == NULL) {
                wl__propagate(error, e);
                return FALSE;
            }
            in->name = g_strdup(sn);
            return TRUE;
        }
    }
    g_auto(GStrv) names = wl_embedded_names();
    g_autofree char *list = g_strjoinv(", ", names);
    g_set_error(error, WL_ERROR, WL_ERROR_IO,
                "%s: no such file or embedded workload (embedded: %s; or 'synthetic')", src, list);
    return FALSE;
}

const char *
wl_detect_format(const char *path, GError **error)
{
    wl__input in;
    if (!input_resolve(path, &in, error))
        return NULL;
    const char *f = wl__detect(&in, error);
    input_clear(&in);
    return f;
}

/* ---- the pipeline ---- */

enum { OVER_PASS, OVER_CLIP, OVER_REJECT };

typedef struct shuf_slot {
    wl_request req;
    GArray *segs;
} shuf_slot;

typedef struct arrival_slot {
    int64_t t;
    uint32_t stage;
} arrival_slot;

struct wl_source {
    wl__ctx ctx;
    wl__src *inner;
    wl_source_info info;
    char *name;
    char *format;
    int over;
    int64_t max_model_len;
    double factor;
    int64_t start_ns, end_ns, limit;
    double start_s, duration_s; /* as given (messages) */
    uint64_t taken;             /* requests past the window and limit */
    uint64_t before_start;      /* requests dropped by --start */
    bool window_ended;          /* an arrival at or past --start + --duration ended the stream */
    bool done;
    GArray *clip_segs;
    /* streaming shuffle */
    bool shuffle;
    size_t window;
    sim_rng shuf_rng;
    GArray *slots; /* shuf_slot: bodies waiting to be paired with an arrival */
    GArray *times; /* arrival_slot ring: times in input order */
    size_t times_head;
    GArray *out_segs; /* the body returned last */
    bool inner_done;
};

const wl_source_info *
wl_source_get_info(const wl_source *s)
{
    return &s->info;
}

wl_counters
wl_source_get_counters(const wl_source *s)
{
    return s->ctx.counters;
}

const char *
wl_source_first_skipped(const wl_source *s)
{
    return s->ctx.first_bad;
}

void
wl_source_free(wl_source *s)
{
    if (s == NULL)
        return;
    wl__src_free(s->inner);
    g_free(s->ctx.first_bad);
    g_free(s->name);
    g_free(s->format);
    if (s->clip_segs != NULL)
        g_array_free(s->clip_segs, TRUE);
    if (s->slots != NULL) {
        for (guint i = 0; i < s->slots->len; i++)
            g_array_free(g_array_index(s->slots, shuf_slot, i).segs, TRUE);
        g_array_free(s->slots, TRUE);
    }
    if (s->times != NULL)
        g_array_free(s->times, TRUE);
    if (s->out_segs != NULL)
        g_array_free(s->out_segs, TRUE);
    g_free(s);
}

/* The max_model_len policy. Returns false if the request is dropped. Clipping keeps the
 * output (if it fits in max_model_len - 1) and truncates the prompt's tail, so leading
 * segments (shared prefixes) survive. */
static bool
apply_over_length(int over, int64_t max_len, wl__ctx *ctx, GArray *clip, wl_request *r)
{
    if (over == OVER_PASS || max_len <= 0 ||
        (int64_t)r->prompt_tokens + (int64_t)r->output_tokens <= max_len)
        return true;
    if (over == OVER_REJECT) {
        ctx->counters.rejected++;
        return false;
    }
    ctx->counters.clipped++;
    uint32_t out = (uint32_t)MIN((int64_t)r->output_tokens, max_len - 1);
    uint32_t prompt = (uint32_t)MIN((int64_t)r->prompt_tokens, max_len - (int64_t)out);
    g_array_set_size(clip, 0);
    uint32_t left = prompt;
    for (uint32_t i = 0; i < r->nsegments && left > 0; i++) {
        wl_segment seg = r->segments[i];
        if (seg.tokens > left)
            seg.tokens = left;
        left -= seg.tokens;
        g_array_append_val(clip, seg);
    }
    r->segments = (const wl_segment *)(void *)clip->data;
    r->nsegments = clip->len;
    r->prompt_tokens = prompt;
    r->output_tokens = out;
    return true;
}

/* The time factor on R's arrival and think times; an error names the row (the source may be
 * fine: it is the factor that takes the time out of range). */
static bool
scale_times(wl_source *s, wl_request *r, GError **error)
{
    const char *what = NULL;
    double t = 0;
    if (!wl__time_ns((double)r->arrival_ns, s->factor, &r->arrival_ns)) {
        what = "arrival at";
        t = (double)r->arrival_ns;
    } else if (!wl__time_ns((double)r->think_ns, s->factor, &r->think_ns)) {
        what = "think time";
        t = (double)r->think_ns;
    }
    if (what == NULL)
        return true;
    g_autofree char *where =
        s->ctx.row_line > 0 ? g_strdup_printf("%s:%" G_GUINT64_FORMAT, s->name, s->ctx.row_line)
                            : g_strdup(s->name);
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                "%s: %s %g s × time factor %g = %g s is out of range [0, %g s] (--time-scale, "
                "--rate)",
                where, what, t * 1e-9, s->factor, t * 1e-9 * s->factor, WL_MAX_TIME_S);
    return false;
}

/* Inner source -> length policy -> time factor -> window -> limit. */
static int
pull(wl_source *s, wl_request *r, GError **error)
{
    for (;;) {
        if (s->done || s->taken >= (uint64_t)s->limit) {
            s->done = true;
            return 0;
        }
        int rc = s->inner->next(s->inner, r, error);
        if (rc <= 0) {
            if (rc == 0)
                s->done = true;
            return rc;
        }
        if (!apply_over_length(s->over, s->max_model_len, &s->ctx, s->clip_segs, r))
            continue;
        if (s->factor != 1.0 && !scale_times(s, r, error))
            return -1;
        if (r->arrival_ns < s->start_ns) {
            s->ctx.counters.filtered++;
            s->before_start++;
            continue;
        }
        if (r->arrival_ns >= s->end_ns) {
            s->done = true;
            s->window_ended = true;
            return 0;
        }
        r->arrival_ns -= s->start_ns;
        s->taken++;
        return 1;
    }
}

static void
slot_store(shuf_slot *slot, const wl_request *r)
{
    slot->req = *r;
    g_array_set_size(slot->segs, 0);
    g_array_append_vals(slot->segs, r->segments, r->nsegments);
}

/* Streaming shuffle: up to WINDOW bodies wait in a pool; each emitted arrival (in input
 * order) takes a uniformly drawn body from the pool, which is then refilled. */
static int
shuffle_next(wl_source *s, wl_request *out, GError **error)
{
    while (!s->inner_done && s->slots->len < s->window) {
        wl_request r;
        int rc = pull(s, &r, error);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            s->inner_done = true;
            break;
        }
        shuf_slot slot = {.segs = NULL};
        g_array_append_val(s->slots, slot);
        shuf_slot *p = &g_array_index(s->slots, shuf_slot, s->slots->len - 1);
        p->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
        slot_store(p, &r);
        arrival_slot a = {r.arrival_ns, r.stage};
        g_array_append_val(s->times, a);
    }
    if (s->slots->len == 0)
        return 0;
    arrival_slot a = g_array_index(s->times, arrival_slot, s->times_head);
    s->times_head++;
    if (s->times_head > 4096 && s->times_head * 2 > s->times->len) {
        g_array_remove_range(s->times, 0, (guint)s->times_head);
        s->times_head = 0;
    }
    guint i = (guint)sim_rng_below(&s->shuf_rng, s->slots->len);
    shuf_slot *p = &g_array_index(s->slots, shuf_slot, i);
    *out = p->req;
    GArray *tmp = s->out_segs;
    s->out_segs = p->segs;
    out->segments = (const wl_segment *)(void *)s->out_segs->data;
    out->arrival_ns = a.t;
    out->stage = a.stage;
    /* Move the last slot into the hole, keeping the array dense; its old buffer is reused. */
    shuf_slot *last = &g_array_index(s->slots, shuf_slot, s->slots->len - 1);
    p->req = last->req;
    p->segs = last->segs;
    last->segs = tmp;
    g_array_free(last->segs, TRUE);
    g_array_set_size(s->slots, s->slots->len - 1);
    return 1;
}

/* Why a stream ended before its first request, most specific cause first. */
static char *
no_requests_reason(const wl_source *s)
{
    const wl_counters *c = &s->ctx.counters;
    if (s->limit == 0)
        return g_strdup("--limit 0");
    if (s->window_ended)
        return g_strdup_printf("no arrival within --duration %g s after --start %g s",
                               s->duration_s, s->start_s);
    if (s->before_start > 0 && s->before_start == c->filtered && c->skipped_bad == 0 &&
        c->rejected == 0)
        return g_strdup_printf("all %" G_GUINT64_FORMAT " arrive before --start %g s",
                               s->before_start, s->start_s);
    if (c->rows == 0) {
        bool paused = s->info.nstages > 0;
        for (uint32_t i = 0; i < s->info.nstages; i++)
            paused &= s->info.stages[i].rate == 0 && s->info.stages[i].concurrency == 0;
        return g_strdup(paused ? "every load stage has rate 0" : "no data rows");
    }
    GString *g = g_string_new(NULL);
    g_string_append_printf(g, "%" G_GUINT64_FORMAT " rows read", c->rows);
    if (c->skipped_bad > 0)
        g_string_append_printf(g, ", %" G_GUINT64_FORMAT " malformed (skipped)", c->skipped_bad);
    if (c->filtered > 0)
        g_string_append_printf(g, ", %" G_GUINT64_FORMAT " filtered out", c->filtered);
    if (c->rejected > 0)
        g_string_append_printf(g,
                               ", %" G_GUINT64_FORMAT " longer than max_model_len %" G_GINT64_FORMAT
                               " (--over-length reject)",
                               c->rejected, s->max_model_len);
    return g_string_free(g, FALSE);
}

int
wl_source_next(wl_source *s, wl_request *out, GError **error)
{
    g_return_val_if_fail(s != NULL && out != NULL, -1);
    int rc = s->shuffle ? shuffle_next(s, out, error) : pull(s, out, error);
    if (rc == 1) {
        out->id = s->ctx.counters.emitted++;
        g_assert(out->nsegments > 0);
    } else if (rc == 0 && s->ctx.counters.emitted == 0) {
        /* Nothing to simulate or analyse: every figure would be 0/0. */
        g_autofree char *why = no_requests_reason(s);
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: no requests (%s)", s->name, why);
        return -1;
    }
    return rc;
}

/* ---- opening ---- */

static const char *const synthetic_only[] = {"--input-len",  "--output-len", "--turns", "--clients",
                                             "--prefix-len", "--think-time", NULL};

static wl__src *
open_format(wl__ctx *ctx, const char *fmt, const wl__input *in, const wl_options *o, GError **error)
{
    if (strcmp(fmt, "azure") == 0)
        return wl__open_azure(ctx, in, o, error);
    if (strcmp(fmt, "burstgpt") == 0)
        return wl__open_burstgpt(ctx, in, o, error);
    if (strcmp(fmt, "sharegpt") == 0)
        return wl__open_lengths_csv(ctx, in, o, error);
    if (strcmp(fmt, "mooncake") == 0)
        return wl__open_mooncake(ctx, in, o, error);
    if (strcmp(fmt, "jsonl") == 0)
        return wl__open_jsonl(ctx, in, o, error);
    if (strcmp(fmt, "sharegpt-json") == 0)
        return wl__open_sharegpt(ctx, in, o, error);
    if (strcmp(fmt, "servegen") == 0)
        return wl__open_servegen(ctx, in, o, error);
    if (strcmp(fmt, "inference-perf") == 0) {
        g_autoptr(GBytes) b = wl__input_bytes(in, error);
        if (b == NULL)
            return NULL;
        size_t n = 0;
        const void *p = g_bytes_get_data(b, &n);
        GError *e = NULL;
        json_auto_t *j = base_json_load_bytes(in->name, p, n, &e);
        if (j == NULL) {
            wl__propagate(error, e);
            return NULL;
        }
        return wl__open_infperf(ctx, j, in->name, o, error);
    }
    g_set_error(error, WL_ERROR, WL_ERROR_INVALID, "%s: unknown workload format '%s'", in->name,
                fmt);
    return NULL;
}

/* Opens the inner source described by O (its input and format resolved). */
static wl__src *
open_inner(wl__ctx *ctx, const wl_options *o, const wl__input *in, const char *fmt, GError **error)
{
    if (o->spec != NULL && !json_is_null(o->spec))
        return wl__open_infperf(ctx, o->spec, "workload.spec", o, error);
    if (strcmp(fmt, "synthetic") == 0)
        return wl__open_synthetic(ctx, o, error);
    return open_format(ctx, fmt, in, o, error);
}

static bool
synthetic_option_set(const wl_options *o, const char **which)
{
    const bool set[] = {o->input_len != NULL, o->output_len != NULL,
                        o->turns != NULL,     o->clients != BASE_OPT_UNSET_INT,
                        o->prefix_len > 0,    o->think_time != NULL};
    for (size_t i = 0; i < G_N_ELEMENTS(set); i++)
        if (set[i]) {
            *which = synthetic_only[i];
            return true;
        }
    return false;
}

/* Mean inter-arrival time of a second instance of the source (after the length policy). */
static gboolean
measure_rate(const wl_source *s,
             const wl_options *o,
             const wl__input *in,
             const wl_list *list,
             const char *fmt,
             double *rate,
             GError **error)
{
    wl__ctx ctx = {.skip_bad = s->ctx.skip_bad, .seed = s->ctx.seed};
    g_autoptr(wl__src) src =
        list != NULL ? wl__open_list(&ctx, list, o, error) : open_inner(&ctx, o, in, fmt, error);
    if (src == NULL)
        return FALSE;
    g_autoptr(GArray) clip = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    uint64_t n = 0;
    int64_t first = 0, last = 0;
    wl_request r;
    int rc;
    while ((rc = src->next(src, &r, error)) == 1) {
        if (!apply_over_length(s->over, s->max_model_len, &ctx, clip, &r))
            continue;
        if (n++ == 0)
            first = r.arrival_ns;
        last = r.arrival_ns;
    }
    g_free(ctx.first_bad);
    if (rc < 0)
        return FALSE;
    if (n < 2 || last <= first) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "--rate: cannot rescale %s: its %" G_GUINT64_FORMAT
                    " requests span no time (use --time-scale, or a synthetic workload)",
                    s->name, n);
        return FALSE;
    }
    *rate = (double)(n - 1) / ((double)(last - first) * 1e-9);
    return TRUE;
}

static wl_source *open_depth(
    const wl_options *o, const wl_open_params *p, const wl_list *list, int depth, GError **error);

/* A servesim workload spec file: {"workload": {...}} applied on top of O. */
static wl_source *
open_spec(
    const wl_options *o, const wl_open_params *p, const wl__input *in, int depth, GError **error)
{
    if (depth > 0) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: a workload spec cannot name another workload spec", in->name);
        return NULL;
    }
    g_autoptr(GBytes) b = wl__input_bytes(in, error);
    if (b == NULL)
        return NULL;
    size_t n = 0;
    const void *data = g_bytes_get_data(b, &n);
    GError *e = NULL;
    json_auto_t *j = base_json_load_bytes(in->name, data, n, &e);
    if (j == NULL) {
        wl__propagate(error, e);
        return NULL;
    }
    const base_opt_set set = {&wl_options_table, 1};
    wl_options sub;
    memset(&sub, 0, sizeof sub);
    base_opts_copy(&set, &sub, o);
    g_clear_pointer(&sub.source, g_free);
    g_clear_pointer(&sub.format, g_free);
    sub.format = g_strdup("auto");
    if (!json_is_object(j) || json_object_size(j) != 1 || json_object_get(j, "workload") == NULL) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s: a workload spec is {\"workload\": {...}} (the workload section of an "
                    "experiment file)",
                    in->name);
        base_opts_clear(&set, &sub);
        return NULL;
    }
    if (!base_opts_load_json(&set, &sub, j, in->name, &e)) {
        base_opts_clear(&set, &sub);
        wl__propagate(error, e);
        return NULL;
    }
    /* A relative source is relative to the spec file. */
    if (sub.source != NULL && in->path != NULL && !g_path_is_absolute(sub.source) &&
        !g_file_test(sub.source, G_FILE_TEST_EXISTS)) {
        g_autofree char *dir = g_path_get_dirname(in->path);
        char *rel = g_build_filename(dir, sub.source, NULL);
        if (g_file_test(rel, G_FILE_TEST_EXISTS)) {
            g_free(sub.source);
            sub.source = rel;
        } else {
            g_free(rel);
        }
    }
    wl_source *s = open_depth(&sub, p, NULL, depth + 1, error);
    base_opts_clear(&set, &sub);
    return s;
}

/* LIST (or NULL): requests held in memory replace the source and format of O. */
static wl_source *
open_depth(
    const wl_options *o, const wl_open_params *p, const wl_list *list, int depth, GError **error)
{
    g_return_val_if_fail(o != NULL && p != NULL, NULL);
    g_autoptr(wl_source) s = g_new0(wl_source, 1);
    s->ctx.skip_bad = o->skip_bad_rows;
    s->ctx.seed = p->seed;
    s->over = strcmp(o->over_length, "clip") == 0     ? OVER_CLIP
              : strcmp(o->over_length, "reject") == 0 ? OVER_REJECT
                                                      : OVER_PASS;
    s->max_model_len = p->max_model_len;
    s->clip_segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    bool inline_spec = o->spec != NULL && !json_is_null(o->spec);
    if (list == NULL && inline_spec && o->source != NULL) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "workload.spec and workload.source are both set; give one");
        return NULL;
    }
    wl__input in = {0};
    const char *fmt = o->format;
    if (list != NULL) {
        fmt = "requests";
        s->name = g_strdup(wl_list_name(list));
    } else if (inline_spec) {
        fmt = "inference-perf";
        s->name = g_strdup("workload.spec");
    } else if (strcmp(fmt, "synthetic") == 0 ||
               (o->source != NULL && strcmp(o->source, "synthetic") == 0)) {
        if (o->source != NULL && strcmp(o->source, "synthetic") != 0) {
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                        "--workload-format synthetic generates requests; it reads no file (%s)",
                        o->source);
            return NULL;
        }
        fmt = "synthetic";
        s->name = g_strdup("synthetic");
    } else {
        if (!input_resolve(o->source != NULL ? o->source : WL_DEFAULT_WORKLOAD, &in, error))
            return NULL;
        s->name = g_strdup(in.name);
        if (strcmp(fmt, "auto") == 0 && (fmt = wl__detect(&in, error)) == NULL) {
            input_clear(&in);
            return NULL;
        }
        if (strcmp(fmt, "spec") == 0) {
            wl_source *r = open_spec(o, p, &in, depth, error);
            input_clear(&in);
            return r;
        }
    }
    const char *which = NULL;
    if (strcmp(fmt, "synthetic") != 0 && synthetic_option_set(o, &which)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "%s applies to synthetic workloads (--workload synthetic); %s is a %s "
                    "workload",
                    which, s->name, fmt);
        input_clear(&in);
        return NULL;
    }
    s->inner = list != NULL ? wl__open_list(&s->ctx, list, o, error)
                            : open_inner(&s->ctx, o, &in, fmt, error);
    if (s->inner == NULL) {
        input_clear(&in);
        return NULL;
    }
    if (!s->inner->uses_arrivals && o->stages != NULL && !json_is_null(o->stages)) {
        g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                    "--stages: %s has its own arrival times (stages apply to synthetic and "
                    "length-only workloads)",
                    s->name);
        input_clear(&in);
        return NULL;
    }
    s->format = g_strdup(s->inner->format);
    s->factor = o->time_scale;
    s->info.source_rate = NAN;
    if (!isnan(o->rate) && !s->inner->uses_rate) {
        double rate;
        if (!measure_rate(s, o, &in, list, fmt, &rate, error)) {
            input_clear(&in);
            return NULL;
        }
        s->info.source_rate = rate;
        s->factor *= rate / o->rate;
    }
    input_clear(&in);
    /* --start and --duration are at most WL_MAX_TIME_S each (options.c): their sum fits. */
    s->start_s = o->start_s;
    s->duration_s = o->duration_s;
    s->start_ns = llround(o->start_s * 1e9);
    s->end_ns = isnan(o->duration_s) ? INT64_MAX : s->start_ns + llround(o->duration_s * 1e9);
    s->limit = o->limit != BASE_OPT_UNSET_INT ? o->limit : INT64_MAX;
    /* vLLM bench's --num-prompts on a dataset takes that many requests: on a trace it caps the
     * replay like --limit (the synthetic generator counts it itself) */
    if (strcmp(fmt, "synthetic") != 0 && o->num_requests != BASE_OPT_UNSET_INT &&
        o->num_requests < s->limit)
        s->limit = o->num_requests;
    if (o->shuffle) {
        if (s->inner->sessions) {
            g_set_error(error, WL_ERROR, WL_ERROR_INVALID,
                        "--shuffle: %s has sessions, whose turns must stay in order", s->name);
            return NULL;
        }
        s->shuffle = true;
        s->window = (size_t)o->shuffle_window;
        sim_rng_init(&s->shuf_rng, p->seed, SIM_STREAM_WL_SHUFFLE);
        s->slots = g_array_new(FALSE, FALSE, sizeof(shuf_slot));
        s->times = g_array_new(FALSE, FALSE, sizeof(arrival_slot));
        s->out_segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
    }
    s->info.format = s->format;
    s->info.name = s->name;
    s->info.max_concurrency =
        o->max_concurrency != BASE_OPT_UNSET_INT ? o->max_concurrency : s->inner->max_concurrency;
    if (s->inner->stages != NULL) {
        s->info.nstages = s->inner->stages->len;
        s->info.stages = (const wl_stage *)(void *)s->inner->stages->data;
    }
    s->info.sessions = s->inner->sessions;
    s->info.time_factor = s->factor;
    return g_steal_pointer(&s);
}

wl_source *
wl_open(const wl_options *opts, const wl_open_params *params, GError **error)
{
    return open_depth(opts, params, NULL, 0, error);
}

wl_source *
wl_open_list(const wl_list *list,
             const wl_options *opts,
             const wl_open_params *params,
             GError **error)
{
    g_return_val_if_fail(list != NULL, NULL);
    return open_depth(opts, params, list, 0, error);
}
