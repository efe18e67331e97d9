/* traces/writers.c: requests.csv, steps.jsonl and the Perfetto step trace, streamed as the
 * simulation publishes. Rows are formatted with snprintf into a stack buffer (no allocation
 * per row); times are integer nanoseconds printed as exact decimals (ms with 6 decimals, µs
 * with 3), so output is byte-deterministic. Nothing appears under the final name before
 * commit. */
#include "traces/writers.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "base/io.h"

/* A tiny append-only line buffer. */
typedef struct line {
    char buf[2048];
    size_t n;
} line;

static void lput(line *l, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
lput(line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->buf + l->n, sizeof l->buf - l->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->n += (size_t)k < sizeof l->buf - l->n ? (size_t)k : sizeof l->buf - l->n - 1;
}

/* ns as an exact decimal in units of 10^DIGITS ns (ms: 6, µs: 3). */
static void
lput_ns(line *l, int64_t ns, int digits)
{
    int64_t unit = digits == 6 ? 1000000 : 1000;
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    lput(l, "%s%" PRIu64 ".%0*" PRIu64, ns < 0 ? "-" : "", a / (uint64_t)unit, digits,
         a % (uint64_t)unit);
}

/* ---------------------------------------------------------------------------------------- */
/* requests.csv */

const char tr_requests_csv_header[] =
    "id,replica,stage,session,turn,arrival_ms,send_ms,first_scheduled_ms,first_token_ms,"
    "finish_ms,ttft_ms,tpot_ms,e2el_ms,queue_ms,prompt_tokens,output_tokens,prefix_hit_tokens,"
    "preemptions,failed,fail_reason";

struct tr_requests_csv {
    base_out *out;
    uint64_t rows;
};

tr_requests_csv *
tr_requests_csv_open(const char *path, GError **error)
{
    base_out *o = base_out_open(path, error);
    if (o == NULL)
        return NULL;
    tr_requests_csv *w = g_new0(tr_requests_csv, 1);
    w->out = o;
    base_out_puts(o, tr_requests_csv_header);
    base_out_puts(o, "\n");
    return w;
}

static void
csv_cell_text(line *l, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        lput(l, "%s", s);
        return;
    }
    lput(l, "\"");
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            lput(l, "\"\"");
        else
            lput(l, "%c", *p);
    }
    lput(l, "\"");
}

void
tr_requests_csv_write(tr_requests_csv *w, const sim_request_record *r)
{
    line l = {.n = 0};
    lput(&l, "%" PRIu64 ",", r->id);
    if (r->replica != UINT32_MAX)
        lput(&l, "%" PRIu32, r->replica);
    lput(&l, ",%" PRIu32 ",%" PRIu64 ",%" PRIu32 ",", r->stage, r->session_id, r->turn);
    lput_ns(&l, r->arrival_ns, 6);
    lput(&l, ",");
    lput_ns(&l, r->send_ns, 6);
    lput(&l, ",");
    if (r->first_scheduled_ns >= 0)
        lput_ns(&l, r->first_scheduled_ns, 6);
    lput(&l, ",");
    if (r->first_token_ns >= 0)
        lput_ns(&l, r->first_token_ns, 6);
    lput(&l, ",");
    lput_ns(&l, r->finish_ns, 6);
    lput(&l, ",");
    bool ok = !r->failed;
    if (ok && r->first_token_ns >= 0)
        lput_ns(&l, r->first_token_ns - r->send_ns, 6);
    lput(&l, ",");
    if (ok && r->first_token_ns >= 0 && r->output_tokens > 1)
        lput(&l, "%.6f",
             (double)(r->finish_ns - r->first_token_ns) / (double)(r->output_tokens - 1) / 1e6);
    lput(&l, ",");
    if (ok)
        lput_ns(&l, r->finish_ns - r->send_ns, 6);
    lput(&l, ",");
    if (r->first_scheduled_ns >= 0)
        lput_ns(&l, r->first_scheduled_ns - r->send_ns, 6);
    lput(&l, ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%d,", r->prompt_tokens,
         r->failed ? 0 : r->output_tokens, r->prefix_hit_tokens, r->preemptions, r->failed ? 1 : 0);
    if (r->failed)
        csv_cell_text(&l, r->fail_reason);
    lput(&l, "\n");
    base_out_write(w->out, l.buf, l.n);
    w->rows++;
}

static void
csv_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_requests_csv_write(ctx, payload);
}

void
tr_requests_csv_subscribe(tr_requests_csv *w, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, csv_observer, w);
}

uint64_t
tr_requests_csv_rows(const tr_requests_csv *w)
{
    return w->rows;
}

gboolean
tr_requests_csv_commit(tr_requests_csv *w, GError **error)
{
    return base_out_commit(w->out, error);
}

void
tr_requests_csv_free(tr_requests_csv *w)
{
    if (w == NULL)
        return;
    base_out_free(w->out);
    g_free(w);
}

/* ---------------------------------------------------------------------------------------- */
/* steps.jsonl */

struct tr_steps {
    base_out *out;
};

tr_steps *
tr_steps_open(const char *path, GError **error)
{
    base_out *o = base_out_open(path, error);
    if (o == NULL)
        return NULL;
    tr_steps *w = g_new0(tr_steps, 1);
    w->out = o;
    return w;
}

static long long
ns_of(double s)
{
    return isfinite(s) ? llround(s * 1e9) : 0;
}

void
tr_steps_write(tr_steps *w, const sim_step_record *s)
{
    const tm_batch *b = &s->batch;
    line l = {.n = 0};
    lput(&l,
         "{\"replica\":%" PRIu32 ",\"step\":%" PRIu64 ",\"start_ns\":%" PRId64
         ",\"end_ns\":%" PRId64 ",\"batch\":{\"num_seqs\":%" PRIu32 ",\"num_prefill\":%" PRIu32
         ",\"num_decode\":%" PRIu32 ",\"num_sampled\":%" PRIu32
         ",\"tokens\":%.0f,\"prefill_tokens\":%.0f,\"decode_tokens\":%.0f"
         ",\"pairs_prefill\":%.0f,\"pairs_decode\":%.0f,\"kv_prefill\":%.0f,\"kv_decode\":%.0f",
         s->replica, s->step, s->start_ns, s->end_ns, b->num_seqs, b->num_prefill, b->num_decode,
         b->num_sampled, b->tokens, b->prefill_tokens, b->decode_tokens, b->pairs_prefill,
         b->pairs_decode, b->kv_prefill, b->kv_decode);
    if (b->dsa_topk > 0)
        lput(&l, ",\"dsa_topk\":%" PRIu32 ",\"sparse_prefill\":%.0f,\"sparse_decode\":%.0f",
             b->dsa_topk, b->sparse_prefill, b->sparse_decode);
    lput(&l,
         "},\"num_running\":%" PRIu32 ",\"num_waiting\":%" PRIu32 ",\"num_preempted\":%" PRIu32
         ",\"num_admitted\":%" PRIu32 ",\"kv_blocks\":{\"used\":%" PRIu32 ",\"cached\":%" PRIu32
         ",\"total\":%" PRIu32 "},\"cost_ns\":{\"total\":%lld,\"compute\":%lld,\"memory\":%lld"
         ",\"comm\":%lld,\"overhead\":%lld}}\n",
         s->num_running, s->num_waiting, s->num_preempted, s->num_admitted, s->kv_used_blocks,
         s->kv_cached_blocks, s->kv_total_blocks, ns_of(s->cost.total_s), ns_of(s->cost.compute_s),
         ns_of(s->cost.memory_s), ns_of(s->cost.comm_s), ns_of(s->cost.overhead_s));
    base_out_write(w->out, l.buf, l.n);
}

static void
steps_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_steps_write(ctx, payload);
}

void
tr_steps_subscribe(tr_steps *w, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, steps_observer, w);
}

gboolean
tr_steps_commit(tr_steps *w, GError **error)
{
    return base_out_commit(w->out, error);
}

void
tr_steps_free(tr_steps *w)
{
    if (w == NULL)
        return;
    base_out_free(w->out);
    g_free(w);
}

/* ---------------------------------------------------------------------------------------- */
/* Perfetto / Chrome JSON trace: pid = replica, tid 0 = its step track. */

struct tr_perfetto {
    base_out *out;
    uint64_t max_steps, written, dropped;
    GArray *seen; /* bool per replica: metadata events emitted */
};

tr_perfetto *
tr_perfetto_open(const char *path, uint64_t max_steps, GError **error)
{
    base_out *o = base_out_open(path, error);
    if (o == NULL)
        return NULL;
    tr_perfetto *w = g_new0(tr_perfetto, 1);
    w->out = o;
    w->max_steps = max_steps > 0 ? max_steps : TR_PERFETTO_DEFAULT_MAX_STEPS;
    w->seen = g_array_new(FALSE, TRUE, sizeof(bool));
    base_out_puts(o, "{\"traceEvents\":[");
    return w;
}

static void
perfetto_sep(tr_perfetto *w)
{
    static const char first[] = "\n", next[] = ",\n";
    bool any = w->written > 0 || w->seen->len > 0;
    base_out_puts(w->out, any ? next : first);
}

static void
perfetto_replica(tr_perfetto *w, uint32_t replica)
{
    if (replica < w->seen->len && g_array_index(w->seen, bool, replica))
        return;
    perfetto_sep(w);
    if (replica >= w->seen->len)
        g_array_set_size(w->seen, replica + 1);
    g_array_index(w->seen, bool, replica) = true;
    base_out_printf(w->out,
                    "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu32
                    ",\"tid\":0,\"args\":{\"name\":\"replica %" PRIu32 "\"}},\n"
                    "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%" PRIu32
                    ",\"tid\":0,\"args\":{\"sort_index\":%" PRIu32 "}},\n"
                    "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu32
                    ",\"tid\":0,\"args\":{\"name\":\"steps\"}}",
                    replica, replica, replica, replica, replica);
}

void
tr_perfetto_write(tr_perfetto *w, const sim_step_record *s)
{
    if (w->written >= w->max_steps) {
        w->dropped++;
        return;
    }
    perfetto_replica(w, s->replica);
    perfetto_sep(w);
    const tm_batch *b = &s->batch;
    const char *name = b->num_prefill == 0 ? "decode" : b->num_decode == 0 ? "prefill" : "mixed";
    line l = {.n = 0};
    lput(&l, "{\"name\":\"%s\",\"cat\":\"step\",\"ph\":\"X\",\"pid\":%" PRIu32 ",\"tid\":0,\"ts\":",
         name, s->replica);
    lput_ns(&l, s->start_ns, 3);
    lput(&l, ",\"dur\":");
    lput_ns(&l, s->end_ns - s->start_ns, 3);
    lput(&l,
         ",\"args\":{\"step\":%" PRIu64 ",\"num_seqs\":%" PRIu32 ",\"num_prefill\":%" PRIu32
         ",\"num_decode\":%" PRIu32 ",\"tokens\":%.0f,\"prefill_tokens\":%.0f"
         ",\"num_preempted\":%" PRIu32 ",\"num_admitted\":%" PRIu32 "}},\n",
         s->step, b->num_seqs, b->num_prefill, b->num_decode, b->tokens, b->prefill_tokens,
         s->num_preempted, s->num_admitted);
    lput(&l, "{\"name\":\"queue\",\"ph\":\"C\",\"pid\":%" PRIu32 ",\"tid\":0,\"ts\":", s->replica);
    lput_ns(&l, s->start_ns, 3);
    lput(&l,
         ",\"args\":{\"running\":%" PRIu32 ",\"waiting\":%" PRIu32 ",\"kv_used_blocks\":%" PRIu32
         "}}",
         s->num_running, s->num_waiting, s->kv_used_blocks);
    base_out_write(w->out, l.buf, l.n);
    w->written++;
}

static void
perfetto_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_perfetto_write(ctx, payload);
}

void
tr_perfetto_subscribe(tr_perfetto *w, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, perfetto_observer, w);
}

uint64_t
tr_perfetto_dropped(const tr_perfetto *w)
{
    return w->dropped;
}

gboolean
tr_perfetto_commit(tr_perfetto *w, GError **error)
{
    base_out_printf(w->out,
                    "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"servesim\","
                    "\"max_steps\":%" PRIu64 ",\"written_steps\":%" PRIu64
                    ",\"dropped_steps\":%" PRIu64 "}}\n",
                    w->max_steps, w->written, w->dropped);
    return base_out_commit(w->out, error);
}

void
tr_perfetto_free(tr_perfetto *w)
{
    if (w == NULL)
        return;
    base_out_free(w->out);
    g_array_free(w->seen, TRUE);
    g_free(w);
}
