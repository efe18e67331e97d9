/* compare/collect.c: what a simulation did, kept for comparison: every request's send, first
 * token and finish times and lengths (REQUEST_DONE), optionally every token chunk's time
 * (TOKEN), and the run's reports as servesim writes them (vLLM result dictionary, lifecycle
 * report). Memory is O(requests), plus O(tokens) with chunks: comparisons are about benchmark
 * runs, not million-request traces. cmp_mirror hands the simulated figures to the measured
 * kind so both sides use the same definitions. */
#include <math.h>
#include <string.h>

#include "base/json.h"
#include "compare/internal.h"
#include "sim/observe.h"
#include "traces/report.h"

struct cmp_sim {
    bool want_chunks;
    GArray *reqs; /* cmp__sim_req, by request id */
    json_t *vllm, *lifecycle;
    bool done;
};

cmp_sim *
cmp_sim_new(bool want_chunks)
{
    cmp_sim *s = g_new0(cmp_sim, 1);
    s->want_chunks = want_chunks;
    s->reqs = g_array_new(FALSE, TRUE, sizeof(cmp__sim_req));
    return s;
}

void
cmp_sim_free(cmp_sim *s)
{
    if (s == NULL)
        return;
    for (guint i = 0; i < s->reqs->len; i++) {
        cmp__sim_req *q = &g_array_index(s->reqs, cmp__sim_req, i);
        if (q->chunks != NULL)
            g_array_free(q->chunks, TRUE);
    }
    g_array_free(s->reqs, TRUE);
    json_decref(s->vllm);
    json_decref(s->lifecycle);
    g_free(s);
}

static cmp__sim_req *
slot(cmp_sim *s, uint64_t id)
{
    if (id >= s->reqs->len)
        g_array_set_size(s->reqs, (guint)id + 1);
    return &g_array_index(s->reqs, cmp__sim_req, id);
}

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    cmp_sim *s = ctx;
    const sim_request_record *r = payload;
    cmp__sim_req *q = slot(s, r->id);
    q->seen = true;
    q->failed = r->failed;
    q->send_ns = r->send_ns;
    q->first_token_ns = r->first_token_ns;
    q->finish_ns = r->finish_ns;
    q->prompt = r->prompt_tokens;
    q->output = r->output_tokens;
}

static void
on_token(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    cmp_sim *s = ctx;
    const sim_token_event *t = payload;
    cmp__sim_req *q = slot(s, t->request_id);
    if (q->chunks == NULL)
        q->chunks = g_array_new(FALSE, FALSE, sizeof(int64_t));
    if (t->gap_ns < 0)
        g_array_set_size(q->chunks, 0); /* a first token again: recomputed after preemption */
    g_array_append_val(q->chunks, t->time_ns);
}

void
cmp_sim_subscribe(void *ctx, sim_engine *e)
{
    cmp_sim *s = ctx;
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, s);
    if (s->want_chunks)
        sim_engine_subscribe(e, SIM_TOPIC_TOKEN, on_token, s);
}

static json_t *
round_trip(const json_t *j)
{
    g_autofree char *text = base_json_dumps(j);
    json_t *back = json_loads(text, 0, NULL);
    g_assert(back != NULL);
    return back;
}

void
cmp_sim_finished(void *ctx, const sim_metrics_result *r)
{
    cmp_sim *s = ctx;
    tr_report_info info;
    tr_report_info_init(&info);
    json_decref(s->vllm);
    json_decref(s->lifecycle);
    /* Written and read back, so the figures carry exactly the precision of servesim's files
     * (10 significant digits): a servesim export compared with its own rerun differs by 0. */
    json_auto_t *v = tr_vllm_result_json(r, &info), *l = tr_lifecycle_json(&r->overall, false);
    s->vllm = round_trip(v);
    s->lifecycle = round_trip(l);
    s->done = true;
}

bool
cmp_sim_done(const cmp_sim *s)
{
    return s->done;
}

const json_t *
cmp__sim_vllm(const cmp_sim *s)
{
    return s->vllm;
}

const json_t *
cmp__sim_lifecycle(const cmp_sim *s)
{
    return s->lifecycle;
}

size_t
cmp__sim_n(const cmp_sim *s)
{
    return s->reqs->len;
}

const cmp__sim_req *
cmp__sim_req_at(const cmp_sim *s, size_t i)
{
    return i < s->reqs->len ? &g_array_index(s->reqs, cmp__sim_req, i) : NULL;
}

cmp_reqs *
cmp__sim_reqs(const cmp_sim *s, const cmp_run *run, size_t n_measured)
{
    bool mapped = run != NULL && run->req_index != NULL && run->requests != NULL && n_measured > 0;
    size_t n = mapped ? n_measured : s->reqs->len;
    cmp_reqs *r = cmp_reqs_new(n, true, s->want_chunks);
    int64_t t0 = INT64_MAX;
    for (guint i = 0; i < s->reqs->len; i++) {
        const cmp__sim_req *q = &g_array_index(s->reqs, cmp__sim_req, i);
        if (q->seen)
            t0 = MIN(t0, q->send_ns);
    }
    size_t nlist = mapped ? wl_list_len(run->requests) : 0;
    for (guint i = 0; i < s->reqs->len; i++) {
        const cmp__sim_req *q = &g_array_index(s->reqs, cmp__sim_req, i);
        size_t j = mapped ? (i < nlist ? run->req_index[i] : SIZE_MAX) : i;
        if (!q->seen || j >= n)
            continue;
        r->send_s[j] = (double)(q->send_ns - t0) / 1e9;
        r->input[j] = q->prompt;
        r->output[j] = q->output;
        r->ok[j] = !q->failed && q->first_token_ns >= 0;
        if (!r->ok[j])
            continue;
        r->ttft_ms[j] = (double)(q->first_token_ns - q->send_ns) / 1e6;
        r->e2e_ms[j] = (double)(q->finish_ns - q->send_ns) / 1e6;
        if (q->output > 1)
            r->tpot_ms[j] = (double)(q->finish_ns - q->first_token_ns) / 1e6 / (q->output - 1);
        for (guint k = 1; r->itl_ms != NULL && q->chunks != NULL && k < q->chunks->len; k++) {
            double g = (double)(g_array_index(q->chunks, int64_t, k) -
                                g_array_index(q->chunks, int64_t, k - 1)) /
                       1e6;
            g_array_append_val(r->itl_ms, g);
        }
    }
    return r;
}

cmp_result *
cmp_mirror(const cmp_result *measured, const cmp_run *run, const cmp_sim *sim, GError **error)
{
    g_return_val_if_fail(measured != NULL && run != NULL && sim != NULL && sim->done, NULL);
    cmp_result *out = cmp_result_new(measured->kind, measured->where);
    if (!measured->kind->mirror(measured, run, sim, out, error)) {
        cmp_result_free(out);
        return NULL;
    }
    return out;
}
