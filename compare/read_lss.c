/* compare/read_lss.c: measured vLLM runs in LLMServingSim's bench layout
 * (data/llmservingsim-rtx4090-dev-run/SOURCE.md): requests.jsonl (request_id, input_toks,
 * output_toks, arrival_time, queued_ts, scheduled_ts, first_token_ts, last_token_ts; engine
 * monotonic clock, s), meta.json (vLLM version, engine_kwargs, kv_cache, hardware,
 * resolved_config) and the dataset meta.json names (found as given, next to the run or one
 * directory up; its sha256 must equal dataset_hash).
 *
 * Per request, with the queue time as the send time: TTFT = first_token_ts − queued_ts,
 * E2E = last_token_ts − queued_ts, TPOT = (last_token_ts − first_token_ts)/(output − 1); no
 * per-token times, so no ITL. The workload is replayed at the measured queue times with the
 * measured lengths (outputs were forced: min_tokens = max_tokens); the dataset's token ids,
 * when found, give the prompts' content so shared prefixes hit the prefix cache. */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "compare/internal.h"

static bool
lss_detect(const cmp__probe *p)
{
    if (p->is_dir) {
        g_autofree char *rq = g_build_filename(p->dir, "requests.jsonl", NULL);
        return g_file_test(rq, G_FILE_TEST_IS_REGULAR);
    }
    const json_t *j = p->first_json;
    return json_is_object(j) && json_object_get(j, "first_token_ts") != NULL &&
           (json_object_get(j, "queued_ts") != NULL || json_object_get(j, "arrival_time") != NULL);
}

typedef struct lrow {
    double queued, first, last;
    double in, out;
    int64_t dataset_index; /* from request_id "bench-N"; -1 unknown */
} lrow;

static gboolean
read_requests(const char *path, GArray *rows, GError **error)
{
    GError *e = NULL;
    g_autoptr(base_lines) l = base_lines_open(path, &e);
    if (l == NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    char *line;
    size_t len;
    while (base_lines_next(l, &line, &len, &e)) {
        if (*g_strstrip(line) == '\0')
            continue;
        uint64_t ln = base_lines_lineno(l);
        json_error_t je;
        json_auto_t *o = json_loadb(line, strlen(line), JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o)) {
            cmp__error(error, CMP_ERROR_PARSE, "%s:%" G_GUINT64_FORMAT ": not a JSON object%s%s",
                       path, ln, o == NULL ? ": " : "", o == NULL ? je.text : "");
            return FALSE;
        }
        lrow r = {
            .queued = cmp__get_num(o, "queued_ts"),
            .first = cmp__get_num(o, "first_token_ts"),
            .last = cmp__get_num(o, "last_token_ts"),
            .in = cmp__get_num(o, "input_toks"),
            .out = cmp__get_num(o, "output_toks"),
            .dataset_index = -1,
        };
        static const char *const keys[] = {"queued_ts", "first_token_ts", "last_token_ts",
                                           "input_toks", "output_toks"};
        const double v[] = {r.queued, r.first, r.last, r.in, r.out};
        for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
            if (!isfinite(v[k]) || v[k] < 0) {
                cmp__error(error, CMP_ERROR_PARSE,
                           "%s:%" G_GUINT64_FORMAT ": %s: expected a number >= 0", path, ln,
                           keys[k]);
                return FALSE;
            }
        if (r.in < 1 || r.in > WL_MAX_TOKENS || r.out > WL_MAX_TOKENS || r.in != floor(r.in) ||
            r.out != floor(r.out)) {
            cmp__error(error, CMP_ERROR_PARSE,
                       "%s:%" G_GUINT64_FORMAT ": input_toks / output_toks: token counts (1 to %d)",
                       path, ln, WL_MAX_TOKENS);
            return FALSE;
        }
        if (r.first < r.queued || r.last < r.first) {
            cmp__error(error, CMP_ERROR_PARSE,
                       "%s:%" G_GUINT64_FORMAT
                       ": times must run queued_ts <= first_token_ts <= last_token_ts",
                       path, ln);
            return FALSE;
        }
        const char *id = cmp__get_str(o, "request_id");
        const char *dash = id != NULL ? strrchr(id, '-') : NULL;
        int64_t idx;
        if (dash != NULL && base_parse_int64(dash + 1, &idx) && idx >= 0)
            r.dataset_index = idx;
        g_array_append_val(rows, r);
    }
    if (e != NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    if (rows->len == 0) {
        cmp__error(error, CMP_ERROR_INVALID, "%s: no requests", path);
        return FALSE;
    }
    return TRUE;
}

/* A dataset request's content (copied out of the source). */
typedef struct body {
    uint32_t prompt;
    GArray *segs; /* wl_segment */
    uint64_t out_id;
} body;

static void
body_free(gpointer p)
{
    body *b = p;
    g_array_free(b->segs, TRUE);
    g_free(b);
}

static char *
sha256_of(const char *path)
{
    GBytes *b = base_file_read_all(path, NULL);
    if (b == NULL)
        return NULL;
    size_t n = 0;
    const guchar *d = g_bytes_get_data(b, &n);
    char *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d != NULL ? d : (const guchar *)"", n);
    g_bytes_unref(b);
    return s;
}

/* The prompts' content from the dataset META names, or NULL (and an assumption why not). */
static GPtrArray *
load_dataset(cmp_result *r, const json_t *meta, const char *dir, uint64_t seed)
{
    const char *ds = cmp__get_str(meta, "dataset_path");
    if (ds == NULL)
        return NULL;
    g_autofree char *base = g_path_get_basename(ds);
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *path = cmp__find_file(ds, dir);
    if (path == NULL)
        path = cmp__find_file(base, dir);
    if (path == NULL)
        path = cmp__find_file(base, parent);
    if (path == NULL) {
        cmp_result_assume(r,
                          "dataset %s not found: prompts get private content (no prefix "
                          "sharing)",
                          ds);
        return NULL;
    }
    const char *want = cmp__get_str(meta, "dataset_hash");
    g_autofree char *got = sha256_of(path);
    if (want != NULL && (got == NULL || g_ascii_strcasecmp(want, got) != 0)) {
        cmp_result_assume(r,
                          "dataset %s does not have the recorded sha256: prompts get private "
                          "content (no prefix sharing)",
                          path);
        return NULL;
    }
    const base_opt_set set = {&wl_options_table, 1};
    wl_options o;
    memset(&o, 0, sizeof o);
    base_opts_defaults(&set, &o);
    o.source = g_strdup(path);
    wl_open_params wp = {seed, 0};
    GError *e = NULL;
    wl_source *src = wl_open(&o, &wp, &e);
    base_opts_clear(&set, &o);
    if (src == NULL) {
        cmp_result_assume(r, "dataset %s unreadable (%s): prompts get private content", path,
                          e->message);
        g_error_free(e);
        return NULL;
    }
    GPtrArray *bodies = g_ptr_array_new_with_free_func(body_free);
    wl_request q;
    int rc;
    while ((rc = wl_source_next(src, &q, &e)) == 1) {
        body *b = g_new0(body, 1);
        b->prompt = q.prompt_tokens;
        b->segs = g_array_new(FALSE, FALSE, sizeof(wl_segment));
        g_array_append_vals(b->segs, q.segments, q.nsegments);
        b->out_id = q.output_content_id;
        g_ptr_array_add(bodies, b);
    }
    wl_source_free(src);
    if (rc < 0) {
        cmp_result_assume(r, "dataset %s unreadable (%s): prompts get private content", path,
                          e->message);
        g_error_free(e);
        g_ptr_array_unref(bodies);
        return NULL;
    }
    cmp_result_assume(r, "prompt content (shared prefixes) from the dataset %s (sha256 %s)", path,
                      want != NULL ? "matches" : "not recorded");
    return bodies;
}

/* Settings from meta.json. */
static void
run_from_meta(cmp_result *r, const json_t *meta)
{
    json_t *st = r->rec.settings;
    json_t *ek = json_object_get(meta, "engine_kwargs");
    const char *model = cmp__get_str(meta, "model");
    r->rec.model = g_strdup(model != NULL ? model : cmp__get_str(ek, "model"));
    const char *ver = cmp__get_str(meta, "vllm_version");
    if (ver != NULL)
        r->rec.engine = g_strdup_printf("vLLM %s", ver);
    const json_t *hw = json_object_get(meta, "hardware");
    const char *dev = cmp__get_str(hw, "device_name");
    r->rec.hardware = g_strdup(dev);
    double devs = cmp__get_num(hw, "device_count");
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
    const char *k;
    json_t *v;
    json_object_foreach(ek, k, v) {
        if (strcmp(k, "model") == 0 || strcmp(k, "seed") == 0)
            continue;
        g_autofree char *text =
            json_is_string(v)    ? g_strdup(json_string_value(v))
            : json_is_integer(v) ? g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v))
            : json_is_real(v)    ? g_strdup_printf("%.17g", json_real_value(v))
            : json_is_boolean(v) ? g_strdup(json_is_true(v) ? "true" : "false")
                                 : NULL;
        if (text == NULL)
            continue;
        GError *e = NULL;
        if (!cmp__engine_arg(st, k, text, &e)) {
            if (e != NULL) {
                cmp_result_assume(r, "engine_kwargs.%s = %s not used: %s", k, text, e->message);
                g_error_free(e);
            } else {
                g_ptr_array_add(ignored, g_strdup(k));
            }
        }
    }
    if (ignored->len > 0) {
        g_ptr_array_add(ignored, NULL);
        g_autofree char *list = g_strjoinv(", ", (char **)ignored->pdata);
        cmp_result_assume(r, "engine_kwargs not modelled: %s", list);
    }
    const json_t *kv = json_object_get(meta, "kv_cache");
    double blocks = cmp__get_num(kv, "num_gpu_blocks"), bs = cmp__get_num(kv, "block_size");
    double util = cmp__get_num(kv, "gpu_memory_utilization");
    if (blocks >= 1)
        cmp__set(st, "kv.num_gpu_blocks_override", json_integer((json_int_t)blocks));
    if (bs >= 1)
        cmp__set(st, "kv.block_size", json_integer((json_int_t)bs));
    if (util > 0 && util <= 1)
        cmp__set(st, "kv.gpu_memory_utilization", json_real(util));
    const json_t *pc = json_object_get(kv, "enable_prefix_caching");
    if (json_is_boolean(pc))
        cmp__set(st, "kv.enable_prefix_caching", json_boolean(json_is_true(pc)));
    const json_t *sc = cmp__path(meta, "resolved_config.scheduler_config");
    if (json_is_object(sc)) {
        const json_t *cp = json_object_get(sc, "enable_chunked_prefill");
        if (json_is_boolean(cp))
            cmp__set(st, "scheduler.enable_chunked_prefill", json_boolean(json_is_true(cp)));
        double lpt = cmp__get_num(sc, "long_prefill_token_threshold");
        if (lpt >= 0)
            cmp__set(st, "scheduler.long_prefill_token_threshold", json_integer((json_int_t)lpt));
        const char *pol = cmp__get_str(sc, "policy");
        if (pol != NULL && (strcmp(pol, "fcfs") == 0 || strcmp(pol, "priority") == 0))
            cmp__set(st, "scheduler.scheduling_policy", json_string(pol));
        const json_t *as = json_object_get(sc, "async_scheduling");
        if (json_is_true(as))
            cmp_result_assume(r, "scheduler_config.async_scheduling is true: not modelled by "
                                 "this servesim (one step in flight at a time)");
    }
    if (devs > 1)
        cmp_result_note(r, "%g devices recorded", devs);
}

static gboolean
lss_read(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error)
{
    g_autofree char *rq =
        p->is_dir ? g_build_filename(p->dir, "requests.jsonl", NULL) : g_strdup(p->file);
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(lrow));
    if (!read_requests(rq, rows, error))
        return FALSE;
    g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_lss, p->is_dir ? p->dir : rq);
    if (p->is_dir) {
        g_free(r->label);
        r->label = g_path_get_basename(p->dir);
    }
    size_t n = rows->len;
    double t0 = INFINITY;
    for (size_t i = 0; i < n; i++)
        t0 = MIN(t0, g_array_index(rows, lrow, i).queued);
    g_autoptr(cmp_reqs) q = cmp_reqs_new(n, true, false);
    for (size_t i = 0; i < n; i++) {
        const lrow *w = &g_array_index(rows, lrow, i);
        q->send_s[i] = w->queued - t0;
        q->input[i] = (uint32_t)w->in;
        q->output[i] = (uint32_t)w->out;
        q->ok[i] = w->out > 0;
        q->ttft_ms[i] = (w->first - w->queued) * 1e3;
        q->e2e_ms[i] = (w->last - w->queued) * 1e3;
        if (w->out > 1)
            q->tpot_ms[i] = (w->last - w->first) * 1e3 / (w->out - 1);
    }
    r->reqs = g_steal_pointer(&q);
    cmp_metrics_fill_from_reqs(&r->m, r->reqs);
    cmp_result_note(r, "times from the engine's clock: TTFT = first_token_ts - queued_ts, E2E = "
                       "last_token_ts - queued_ts; no per-token times (no ITL)");
    g_autofree char *meta_path = g_build_filename(p->dir, "meta.json", NULL);
    json_auto_t *meta = NULL;
    if (g_file_test(meta_path, G_FILE_TEST_IS_REGULAR)) {
        if ((meta = cmp__load_json(meta_path, error)) == NULL)
            return FALSE;
        run_from_meta(r, meta);
    } else {
        cmp_result_assume(r, "no meta.json next to %s: engine settings not recorded", rq);
    }
    g_autoptr(GPtrArray) bodies = meta != NULL ? load_dataset(r, meta, p->dir, o->seed) : NULL;
    /* the workload: send order = queue order */
    g_autofree size_t *order = g_new(size_t, n + 1);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && r->reqs->send_s[order[j - 1]] > r->reqs->send_s[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    g_autofree char *name = g_strdup_printf("%s requests", r->where);
    r->rec.requests = wl_list_new(name);
    r->rec.req_index = g_new0(size_t, n + 1);
    size_t k = 0, mismatched = 0, skipped = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = order[j];
        const lrow *w = &g_array_index(rows, lrow, i);
        if (w->out < 1) {
            skipped++;
            continue;
        }
        wl_list_request x = {.arrival_ns = llround(r->reqs->send_s[i] * 1e9),
                             .prompt_tokens = (uint32_t)w->in,
                             .output_tokens = (uint32_t)w->out};
        if (bodies != NULL) {
            int64_t di = w->dataset_index >= 0 ? w->dataset_index : (int64_t)i;
            const body *b = di < (int64_t)bodies->len ? g_ptr_array_index(bodies, di) : NULL;
            if (b != NULL && b->prompt == x.prompt_tokens) {
                x.segments = (const wl_segment *)(void *)b->segs->data;
                x.nsegments = b->segs->len;
                x.output_content_id = b->out_id;
            } else {
                mismatched++;
            }
        }
        GError *e = NULL;
        if (!wl_list_add(r->rec.requests, &x, &e)) {
            cmp__propagate(error, e);
            return FALSE;
        }
        r->rec.req_index[k++] = i;
    }
    if (mismatched > 0)
        cmp_result_assume(r, "%zu requests do not match the dataset's lengths: private content",
                          mismatched);
    if (skipped > 0)
        cmp_result_assume(r, "%zu requests with 0 output tokens are left out", skipped);
    cmp_result_assume(r, "each request is sent at its measured queue time with its measured "
                         "lengths (outputs were forced)");
    g_ptr_array_add(out, g_steal_pointer(&r));
    return TRUE;
}

static gboolean
lss_mirror(
    const cmp_result *m, const cmp_run *run, const cmp_sim *sim, cmp_result *out, GError **error)
{
    (void)error;
    out->reqs = cmp__sim_reqs(sim, run, m->reqs->n);
    /* no ITL: the measured run has no per-token times */
    if (out->reqs->itl_ms != NULL) {
        g_array_free(out->reqs->itl_ms, TRUE);
        out->reqs->itl_ms = NULL;
    }
    cmp_metrics_fill_from_reqs(&out->m, out->reqs);
    return TRUE;
}

const cmp_kind cmp__kind_lss = {
    .name = "llmservingsim",
    .what = "LLMServingSim-style measured vLLM run (requests.jsonl with queued/first/last token "
            "times, meta.json)",
    .detect = lss_detect,
    .read = lss_read,
    .mirror = lss_mirror,
};
