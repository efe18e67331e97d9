/* traces/writers.c: requests.csv, steps.jsonl and the Perfetto step trace, streamed as the
 * simulation publishes. Rows are formatted by hand into a stack buffer (no allocation and no
 * printf per row); times are integer nanoseconds printed as exact decimals (ms with 6
 * decimals, µs with 3), so output is byte-deterministic. Nothing appears under the final name
 * before commit. */
#include "traces/writers.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#include "base/csv.h"
#include "base/io.h"

/* An append buffer for one output line, formatted by hand (vsnprintf costs ~10× more and
 * rows are written per request). Appends are bounded: every call reserves its maximum length
 * and flushes the buffer to OUT first if needed, so long strings cannot overflow it. */
typedef struct line {
    base_out *out;
    size_t n;
    char buf[1024];
} line;

static void
lflush(line *l)
{
    base_out_write(l->out, l->buf, l->n);
    l->n = 0;
}

static inline void
lreserve(line *l, size_t k)
{
    if (l->n + k > sizeof l->buf)
        lflush(l);
}

static inline void
lc(line *l, char c)
{
    lreserve(l, 1);
    l->buf[l->n++] = c;
}

/* A string literal or short text (≤ 256 bytes per call). */
static inline void
ls(line *l, const char *s)
{
    size_t k = strlen(s);
    g_assert(k <= 256);
    lreserve(l, k);
    memcpy(l->buf + l->n, s, k);
    l->n += k;
}

static inline void
lu(line *l, uint64_t v)
{
    char tmp[20];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    lreserve(l, (size_t)k);
    while (k > 0)
        l->buf[l->n++] = tmp[--k];
}

static inline void
li(line *l, int64_t v)
{
    if (v < 0) {
        lc(l, '-');
        lu(l, (uint64_t)0 - (uint64_t)v);
    } else {
        lu(l, (uint64_t)v);
    }
}

/* An integral double (token counts, pair sums: exact below 2^53), rounded. */
static inline void
ld(line *l, double v)
{
    li(l, isfinite(v) ? (int64_t)llround(v) : 0);
}

/* NS as an exact decimal in units of 10^DIGITS ns (ms: 6, µs: 3). */
static void
lns(line *l, int64_t ns, int digits)
{
    uint64_t unit = digits == 6 ? 1000000 : 1000;
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0)
        lc(l, '-');
    lu(l, a / unit);
    lc(l, '.');
    char tmp[6];
    uint64_t f = a % unit;
    for (int i = digits - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + f % 10);
        f /= 10;
    }
    lreserve(l, (size_t)digits);
    memcpy(l->buf + l->n, tmp, (size_t)digits);
    l->n += (size_t)digits;
}

/* ---------------------------------------------------------------------------------------- */
/* requests.csv */

const char tr_requests_csv_header[] =
    "id,replica,stage,session,turn,arrival_ms,send_ms,first_scheduled_ms,first_token_ms,"
    "finish_ms,ttft_ms,tpot_ms,e2el_ms,queue_ms,prompt_tokens,output_tokens,prefix_hit_tokens,"
    "preemptions,failed,fail_reason,dp_rank";

const char tr_requests_csv_pd_columns[] = ",prefill_replica,xfer_start_ms,xfer_end_ms,xfer_bytes";
const char tr_requests_csv_spec_header[] =
    "spec_steps,spec_draft_tokens,spec_accepted_tokens,acceptance_length";

struct tr_requests_csv {
    base_out *out;
    uint64_t rows;
    bool pd, spec;
};

tr_requests_csv *
tr_requests_csv_open_pd(const char *path, bool pd, bool spec, GError **error)
{
    base_out *o = base_out_open(path, error);
    if (o == NULL)
        return NULL;
    tr_requests_csv *w = g_new0(tr_requests_csv, 1);
    w->out = o;
    w->pd = pd;
    w->spec = spec;
    base_out_puts(o, tr_requests_csv_header);
    if (pd)
        base_out_puts(o, tr_requests_csv_pd_columns);
    if (spec) {
        base_out_puts(o, ",");
        base_out_puts(o, tr_requests_csv_spec_header);
    }
    base_out_puts(o, "\n");
    return w;
}

tr_requests_csv *
tr_requests_csv_open(const char *path, bool spec, GError **error)
{
    return tr_requests_csv_open_pd(path, false, spec, error);
}

static void
csv_cell_text(line *l, const char *s)
{
    if (s == NULL)
        return;
    size_t n = base_csv_field_len(s); /* the shared CSV field writer (base/csv.h) */
    if (n > sizeof l->buf) {
        lflush(l);
        g_autofree char *big = g_malloc(n);
        base_csv_field_write(big, s);
        base_out_write(l->out, big, n);
        return;
    }
    lreserve(l, n);
    l->n = (size_t)(base_csv_field_write(l->buf + l->n, s) - l->buf);
}

void
tr_requests_csv_write(tr_requests_csv *w, const sim_request_record *r)
{
    line l = {.out = w->out, .n = 0};
    bool ok = !r->failed;
    lu(&l, r->id);
    lc(&l, ',');
    if (r->replica != UINT32_MAX)
        lu(&l, r->replica);
    lc(&l, ',');
    lu(&l, r->stage);
    lc(&l, ',');
    lu(&l, r->session_id);
    lc(&l, ',');
    lu(&l, r->turn);
    lc(&l, ',');
    lns(&l, r->arrival_ns, 6);
    lc(&l, ',');
    lns(&l, r->send_ns, 6);
    lc(&l, ',');
    if (r->first_scheduled_ns >= 0)
        lns(&l, r->first_scheduled_ns, 6);
    lc(&l, ',');
    if (r->first_token_ns >= 0)
        lns(&l, r->first_token_ns, 6);
    lc(&l, ',');
    lns(&l, r->finish_ns, 6);
    lc(&l, ',');
    if (ok && r->first_token_ns >= 0)
        lns(&l, r->first_token_ns - r->send_ns, 6);
    lc(&l, ',');
    if (ok && r->first_token_ns >= 0 && r->output_tokens > 1) {
        /* TPOT rounded to the nearest ns (half away from zero), printed exactly */
        int64_t span = r->finish_ns - r->first_token_ns, d = (int64_t)r->output_tokens - 1;
        int64_t q = span >= 0 ? (span + d / 2) / d : -((-span + d / 2) / d);
        lns(&l, q, 6);
    }
    lc(&l, ',');
    if (ok)
        lns(&l, r->finish_ns - r->send_ns, 6);
    lc(&l, ',');
    if (r->first_scheduled_ns >= 0)
        lns(&l, r->first_scheduled_ns - r->send_ns, 6);
    lc(&l, ',');
    lu(&l, r->prompt_tokens);
    lc(&l, ',');
    lu(&l, ok ? r->output_tokens : 0);
    lc(&l, ',');
    lu(&l, r->prefix_hit_tokens);
    lc(&l, ',');
    lu(&l, r->preemptions);
    ls(&l, ok ? ",0," : ",1,");
    if (!ok)
        csv_cell_text(&l, r->fail_reason);
    lc(&l, ',');
    if (r->core != UINT32_MAX)
        lu(&l, r->dp_rank);
    if (w->pd) {
        lc(&l, ',');
        if (r->prefill_replica != UINT32_MAX)
            lu(&l, r->prefill_replica);
        lc(&l, ',');
        if (r->xfer_start_ns >= 0)
            lns(&l, r->xfer_start_ns, 6);
        lc(&l, ',');
        if (r->xfer_end_ns >= 0)
            lns(&l, r->xfer_end_ns, 6);
        lc(&l, ',');
        if (r->xfer_start_ns >= 0)
            lu(&l, r->xfer_bytes);
    }
    if (w->spec) {
        /* acceptance length: tokens per verify step, 1 + accepted / steps (vLLM's mean
         * acceptance length for this request; 4 decimals, empty without a verify step) */
        lc(&l, ',');
        lu(&l, r->spec_steps);
        lc(&l, ',');
        lu(&l, r->spec_drafts);
        lc(&l, ',');
        lu(&l, r->spec_accepted);
        lc(&l, ',');
        if (r->spec_steps > 0) {
            uint64_t x =
                10000 + ((uint64_t)r->spec_accepted * 10000 + r->spec_steps / 2) / r->spec_steps;
            lu(&l, x / 10000);
            lc(&l, '.');
            char frac[4];
            for (int i = 3; i >= 0; i--, x /= 10)
                frac[i] = (char)('0' + x % 10);
            lreserve(&l, 4);
            memcpy(l.buf + l.n, frac, 4);
            l.n += 4;
        }
    }
    lc(&l, '\n');
    lflush(&l);
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

static int64_t
ns_of(double sec)
{
    return isfinite(sec) ? (int64_t)llround(sec * 1e9) : 0;
}

void
tr_steps_write(tr_steps *w, const sim_step_record *s)
{
    const tm_batch *b = &s->batch;
    line l = {.out = w->out, .n = 0};
    ls(&l, "{\"replica\":");
    lu(&l, s->replica);
    ls(&l, ",\"dp_rank\":");
    lu(&l, s->dp_rank);
    ls(&l, ",\"step\":");
    lu(&l, s->step);
    ls(&l, ",\"launch_ns\":");
    li(&l, s->launch_ns);
    ls(&l, ",\"start_ns\":");
    li(&l, s->start_ns);
    ls(&l, ",\"end_ns\":");
    li(&l, s->end_ns);
    if (s->dummy)
        ls(&l, ",\"dummy\":true");
    if (s->pp > 1 && s->stage_start_ns != NULL) {
        ls(&l, ",\"stages\":[");
        for (uint32_t st = 0; st < s->pp; st++) {
            ls(&l, st > 0 ? ",{\"start_ns\":" : "{\"start_ns\":");
            li(&l, s->stage_start_ns[st]);
            ls(&l, ",\"end_ns\":");
            li(&l, s->stage_end_ns[st]);
            lc(&l, '}');
        }
        lc(&l, ']');
    }
    ls(&l, ",\"batch\":{\"num_seqs\":");
    lu(&l, b->num_seqs);
    ls(&l, ",\"num_prefill\":");
    lu(&l, b->num_prefill);
    ls(&l, ",\"num_decode\":");
    lu(&l, b->num_decode);
    ls(&l, ",\"num_sampled\":");
    lu(&l, b->num_sampled);
    ls(&l, ",\"tokens\":");
    ld(&l, b->tokens);
    ls(&l, ",\"prefill_tokens\":");
    ld(&l, b->prefill_tokens);
    ls(&l, ",\"decode_tokens\":");
    ld(&l, b->decode_tokens);
    ls(&l, ",\"pairs_prefill\":");
    ld(&l, b->pairs_prefill);
    ls(&l, ",\"pairs_decode\":");
    ld(&l, b->pairs_decode);
    ls(&l, ",\"kv_prefill\":");
    ld(&l, b->kv_prefill);
    ls(&l, ",\"kv_decode\":");
    ld(&l, b->kv_decode);
    if (b->common_prefix_tokens > 0) {
        ls(&l, ",\"common_prefix_tokens\":");
        ld(&l, b->common_prefix_tokens);
    }
    if (b->moe_group_tokens > 0) {
        ls(&l, ",\"moe_group_tokens\":");
        ld(&l, b->moe_group_tokens);
    }
    if (b->dsa_topk > 0) {
        ls(&l, ",\"dsa_topk\":");
        lu(&l, b->dsa_topk);
        ls(&l, ",\"sparse_prefill\":");
        ld(&l, b->sparse_prefill);
        ls(&l, ",\"sparse_decode\":");
        ld(&l, b->sparse_decode);
    }
    ls(&l, "},\"num_running\":");
    lu(&l, s->num_running);
    ls(&l, ",\"num_waiting\":");
    lu(&l, s->num_waiting);
    ls(&l, ",\"num_preempted\":");
    lu(&l, s->num_preempted);
    ls(&l, ",\"num_admitted\":");
    lu(&l, s->num_admitted);
    if (s->spec_tokens > 0) { /* only with --speculative-config */
        ls(&l, ",\"spec\":{\"verify_seqs\":");
        lu(&l, s->spec_seqs);
        ls(&l, ",\"draft_tokens\":");
        lu(&l, s->spec_drafts);
        ls(&l, ",\"accepted\":");
        lu(&l, s->spec_accepted);
        ls(&l, "}");
    }
    ls(&l, ",\"kv_blocks\":{\"used\":");
    lu(&l, s->kv_used_blocks);
    ls(&l, ",\"cached\":");
    lu(&l, s->kv_cached_blocks);
    ls(&l, ",\"total\":");
    lu(&l, s->kv_total_blocks);
    ls(&l, "},\"cost_ns\":{\"total\":");
    li(&l, ns_of(s->cost.total_s));
    ls(&l, ",\"compute\":");
    li(&l, ns_of(s->cost.compute_s));
    ls(&l, ",\"memory\":");
    li(&l, ns_of(s->cost.memory_s));
    ls(&l, ",\"comm\":");
    li(&l, ns_of(s->cost.comm_s));
    ls(&l, ",\"overhead\":");
    li(&l, ns_of(s->cost.overhead_s));
    if (s->extra_s > 0) { /* only with --dsa-kv-offload: other runs keep their bytes */
        ls(&l, ",\"dsa_kv_fetch\":");
        li(&l, ns_of(s->extra_s));
    }
    if (s->spec_tokens > 0) { /* the drafter's passes, part of total */
        ls(&l, ",\"drafter\":");
        li(&l, ns_of(s->draft_s));
    }
    ls(&l, "}}\n");
    lflush(&l);
}

static void
steps_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_steps_write(ctx, payload);
}

/* A KV transfer (prefill/decode runs) as its own line: {"transfer": {...}} (docs/outputs.md). */
void
tr_steps_write_transfer(tr_steps *w, const sim_transfer_record *t)
{
    line l = {.out = w->out, .n = 0};
    ls(&l, "{\"transfer\":{\"request\":");
    lu(&l, t->request_id);
    ls(&l, ",\"src_replica\":");
    lu(&l, t->src_replica);
    ls(&l, ",\"dst_replica\":");
    lu(&l, t->dst_replica);
    ls(&l, ",\"src_core\":");
    lu(&l, t->src_core);
    ls(&l, ",\"dst_core\":");
    lu(&l, t->dst_core);
    ls(&l, ",\"queued_ns\":");
    li(&l, t->queued_ns);
    ls(&l, ",\"start_ns\":");
    li(&l, t->start_ns);
    ls(&l, ",\"data_start_ns\":");
    li(&l, t->data_start_ns);
    ls(&l, ",\"end_ns\":");
    li(&l, t->end_ns);
    ls(&l, ",\"tokens\":");
    lu(&l, t->tokens);
    ls(&l, ",\"bytes\":");
    lu(&l, t->bytes);
    ls(&l, ",\"streamed_bytes\":");
    ld(&l, t->streamed_bytes);
    ls(&l, "}}\n");
    lflush(&l);
}

static void
steps_transfer_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_steps_write_transfer(ctx, payload);
}

void
tr_steps_subscribe(tr_steps *w, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, steps_observer, w);
    sim_engine_subscribe(e, SIM_TOPIC_TRANSFER, steps_transfer_observer, w);
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
/* Perfetto / Chrome JSON trace: pid = replica, one track (tid) per data-parallel rank, or with
 * pipeline parallelism per (rank, stage): tid = dp_rank · pp + stage, so overlapping steps of
 * different stages do not nest. */

struct tr_perfetto {
    base_out *out;
    uint64_t max_steps, written, dropped;
    uint64_t transfers, dropped_transfers; /* KV transfers (prefill/decode runs) */
    GArray *seen;                          /* bool per engine core: metadata events emitted */
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
    bool any = w->written > 0 || w->seen->len > 0 || w->transfers > 0;
    base_out_puts(w->out, any ? next : first);
}

static void
perfetto_core(tr_perfetto *w, const sim_step_record *s)
{
    uint32_t core = s->core, replica = s->replica;
    if (core < w->seen->len && g_array_index(w->seen, bool, core))
        return;
    perfetto_sep(w);
    if (core >= w->seen->len)
        g_array_set_size(w->seen, core + 1);
    g_array_index(w->seen, bool, core) = true;
    if (s->dp_rank == 0)
        base_out_printf(w->out,
                        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu32
                        ",\"tid\":0,\"args\":{\"name\":\"replica %" PRIu32 "\"}},\n"
                        "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%" PRIu32
                        ",\"tid\":0,\"args\":{\"sort_index\":%" PRIu32 "}},\n",
                        replica, replica, replica, replica);
    uint32_t pp = s->pp > 1 ? s->pp : 1;
    for (uint32_t st = 0; st < pp; st++) {
        g_autofree char *name =
            pp > 1           ? g_strdup_printf("dp rank %" PRIu32 " stage %" PRIu32, s->dp_rank, st)
            : s->dp_rank > 0 ? g_strdup_printf("dp rank %" PRIu32 " steps", s->dp_rank)
                             : g_strdup("steps");
        base_out_printf(w->out,
                        "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu32
                        ",\"tid\":%" PRIu32 ",\"args\":{\"name\":\"%s\"}}",
                        st > 0 ? ",\n" : "", replica, s->dp_rank * pp + st, name);
    }
}

void
tr_perfetto_write(tr_perfetto *w, const sim_step_record *s)
{
    if (w->written >= w->max_steps) {
        w->dropped++;
        return;
    }
    perfetto_core(w, s);
    perfetto_sep(w);
    const tm_batch *b = &s->batch;
    line l = {.out = w->out, .n = 0};
    uint32_t pp = s->pp > 1 && s->stage_start_ns != NULL ? s->pp : 1;
    for (uint32_t st = 0; st < pp; st++) {
        int64_t a = pp > 1 ? s->stage_start_ns[st] : s->start_ns;
        int64_t z = pp > 1 ? s->stage_end_ns[st] : s->end_ns;
        ls(&l, "{\"name\":\"");
        ls(&l, s->dummy              ? "dummy"
               : b->num_prefill == 0 ? "decode"
               : b->num_decode == 0  ? "prefill"
                                     : "mixed");
        ls(&l, "\",\"cat\":\"step\",\"ph\":\"X\",\"pid\":");
        lu(&l, s->replica);
        ls(&l, ",\"tid\":");
        lu(&l, s->dp_rank * pp + st);
        ls(&l, ",\"ts\":");
        lns(&l, a, 3);
        ls(&l, ",\"dur\":");
        lns(&l, z - a, 3);
        ls(&l, ",\"args\":{\"step\":");
        lu(&l, s->step);
        if (pp > 1) {
            ls(&l, ",\"stage\":");
            lu(&l, st);
        }
        ls(&l, ",\"num_seqs\":");
        lu(&l, b->num_seqs);
        ls(&l, ",\"num_prefill\":");
        lu(&l, b->num_prefill);
        ls(&l, ",\"num_decode\":");
        lu(&l, b->num_decode);
        ls(&l, ",\"tokens\":");
        ld(&l, b->tokens);
        ls(&l, ",\"prefill_tokens\":");
        ld(&l, b->prefill_tokens);
        ls(&l, ",\"num_preempted\":");
        lu(&l, s->num_preempted);
        ls(&l, ",\"num_admitted\":");
        lu(&l, s->num_admitted);
        ls(&l, "}},\n");
    }
    ls(&l, "{\"name\":\"queue\",\"ph\":\"C\",\"pid\":");
    lu(&l, s->replica);
    ls(&l, ",\"tid\":");
    lu(&l, s->dp_rank * pp);
    ls(&l, ",\"ts\":");
    lns(&l, s->start_ns, 3);
    ls(&l, ",\"args\":{\"running\":");
    lu(&l, s->num_running);
    ls(&l, ",\"waiting\":");
    lu(&l, s->num_waiting);
    ls(&l, ",\"kv_used_blocks\":");
    lu(&l, s->kv_used_blocks);
    ls(&l, "}}");
    lflush(&l);
    w->written++;
}

static void
perfetto_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_perfetto_write(ctx, payload);
}

/* KV transfers get a process of their own (pid TR_PERFETTO_TRANSFER_PID, "KV transfers"), one
 * track per decode core; concurrent transfers overlap, so they are async slices (b/e) keyed by
 * request id: setup (start → data start) and data phase. Capped with the steps: none are written
 * once the steps hit max_steps. */
void
tr_perfetto_write_transfer(tr_perfetto *w, const sim_transfer_record *t)
{
    if (w->written >= w->max_steps) {
        w->dropped_transfers++;
        return;
    }
    perfetto_sep(w);
    if (w->transfers++ == 0)
        base_out_printf(w->out,
                        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
                        "\"args\":{\"name\":\"KV transfers\"}},\n",
                        TR_PERFETTO_TRANSFER_PID);
    line l = {.out = w->out, .n = 0};
    const char *ph[4] = {"b", "e", "b", "e"};
    const char *name[4] = {"setup", "setup", "kv transfer", "kv transfer"};
    int64_t ts[4] = {t->start_ns, t->data_start_ns, t->data_start_ns, t->end_ns};
    for (int i = 0; i < 4; i++) {
        ls(&l, "{\"name\":\"");
        ls(&l, name[i]);
        ls(&l, "\",\"cat\":\"transfer\",\"ph\":\"");
        ls(&l, ph[i]);
        ls(&l, "\",\"id\":");
        lu(&l, t->request_id);
        ls(&l, ",\"pid\":");
        lu(&l, TR_PERFETTO_TRANSFER_PID);
        ls(&l, ",\"tid\":");
        lu(&l, t->dst_core);
        ls(&l, ",\"ts\":");
        lns(&l, ts[i], 3);
        if (i == 2) {
            ls(&l, ",\"args\":{\"request\":");
            lu(&l, t->request_id);
            ls(&l, ",\"from_replica\":");
            lu(&l, t->src_replica);
            ls(&l, ",\"to_replica\":");
            lu(&l, t->dst_replica);
            ls(&l, ",\"tokens\":");
            lu(&l, t->tokens);
            ls(&l, ",\"bytes\":");
            lu(&l, t->bytes);
            lc(&l, '}');
        }
        ls(&l, i < 3 ? "},\n" : "}");
    }
    lflush(&l);
}

static void
perfetto_transfer_observer(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    tr_perfetto_write_transfer(ctx, payload);
}

void
tr_perfetto_subscribe(tr_perfetto *w, sim_engine *e)
{
    sim_engine_subscribe(e, SIM_TOPIC_STEP_END, perfetto_observer, w);
    sim_engine_subscribe(e, SIM_TOPIC_TRANSFER, perfetto_transfer_observer, w);
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
                    ",\"dropped_steps\":%" PRIu64 ",\"transfers\":%" PRIu64
                    ",\"dropped_transfers\":%" PRIu64 ",\"truncated\":%s}}\n",
                    w->max_steps, w->written, w->dropped, w->transfers, w->dropped_transfers,
                    w->dropped > 0 ? "true" : "false");
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
