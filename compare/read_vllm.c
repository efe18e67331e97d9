/* compare/read_vllm.c: `vllm bench serve --save-result` JSON (docs/formats/benchmark-results.md;
 * the keys of vLLM's benchmarks/serve.py result_json), servesim's own vllm_bench_result.json
 * included. Figures: mean_/median_/p50_/p90_/p95_/p99_{ttft,tpot,itl,e2el}_ms, the three
 * throughputs, completed and failed. With --save-detailed the per-request arrays input_lens,
 * output_lens, ttfts (s), itls (lists of s) and errors give each request's TTFT, E2E = TTFT +
 * Σ ITL (vLLM sets latency at the last chunk), TPOT = Σ ITL / (output − 1) and the pooled ITL;
 * they also fill the percentiles the file's --metric-percentiles left out. Recorded keys win
 * over the arrays, on both sides of a comparison.
 *
 * The run: model_id, num_prompts, request_rate ("inf" = all at once), burstiness (gamma
 * shape; 1 = Poisson), max_concurrency, ramp-up (not replayed), per-request lengths; a
 * servesim export's "servesim_config" holds its whole configuration. Nothing about the server
 * (hardware, TP, engine limits) is in the file. */
#include <math.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "base/match.h"
#include "compare/internal.h"

static const char *const lat_keys[CMP_NLAT] = {"ttft", "tpot", "itl", "e2el"};

/* Statistic of "<word>_<metric>_ms" (mean, median, p50, p90, p95, p99); -1 = other, -2 = not a
 * figure key. *LAT receives the metric. */
static int
figure_key(const char *k, int *lat)
{
    size_t n = strlen(k);
    if (n < 4 || strcmp(k + n - 3, "_ms") != 0)
        return -2;
    for (int l = 0; l < CMP_NLAT; l++) {
        size_t ml = strlen(lat_keys[l]);
        if (n < ml + 5 || k[n - 3 - ml - 1] != '_' || strncmp(k + n - 3 - ml, lat_keys[l], ml) != 0)
            continue;
        *lat = l;
        size_t wl = n - 3 - ml - 1;
        static const char *const words[CMP_NSTAT + 1] = {"mean", "p50", "p90", "p95", "p99", NULL};
        if (wl == 6 && strncmp(k, "median", 6) == 0)
            return CMP_P50;
        for (int s = 0; s < CMP_NSTAT; s++)
            if (strlen(words[s]) == wl && strncmp(k, words[s], wl) == 0)
                return s;
        if (wl == 3 && strncmp(k, "std", 3) == 0)
            return -3; /* std: not compared, not reported as skipped */
        return -1;
    }
    return -2;
}

static const char *const tput_keys[CMP_NTPUT] = {"request_throughput", "output_throughput",
                                                 "total_token_throughput"};

static bool
vllm_detect(const cmp__probe *p)
{
    json_t *j = p->first_json != NULL ? p->first_json : p->json;
    if (!json_is_object(j) || json_object_get(j, "load_summary") != NULL)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        int lat;
        if (figure_key(k, &lat) != -2 || strcmp(k, "request_throughput") == 0 ||
            strcmp(k, "ttfts") == 0)
            return true;
    }
    return false;
}

static gboolean
array_of(const json_t *doc,
         const char *key,
         size_t n,
         const json_t **out,
         const char *where,
         GError **error)
{
    *out = json_object_get(doc, key);
    if (*out == NULL)
        return TRUE;
    if (!json_is_array(*out) || json_array_size(*out) != n) {
        cmp__error(error, CMP_ERROR_PARSE,
                   "%s: %s: expected an array of %zu entries (one per request, like input_lens)",
                   where, key, n);
        return FALSE;
    }
    return TRUE;
}

/* The --save-detailed arrays into R->reqs (absent: nothing). */
static gboolean
read_detailed(cmp_result *r, const json_t *doc, GError **error)
{
    const json_t *in = json_object_get(doc, "input_lens");
    if (!json_is_array(in))
        return TRUE;
    size_t n = json_array_size(in);
    const json_t *out, *ttfts, *itls, *errs;
    if (!array_of(doc, "output_lens", n, &out, r->where, error) ||
        !array_of(doc, "ttfts", n, &ttfts, r->where, error) ||
        !array_of(doc, "itls", n, &itls, r->where, error) ||
        !array_of(doc, "errors", n, &errs, r->where, error))
        return FALSE;
    if (out == NULL || ttfts == NULL) {
        cmp_result_note(r, "input_lens without output_lens and ttfts: per-request figures unused");
        return TRUE;
    }
    g_autoptr(cmp_reqs) q = cmp_reqs_new(n, false, itls != NULL);
    for (size_t i = 0; i < n; i++) {
        double il = cmp__num(json_array_get(in, i)), ol = cmp__num(json_array_get(out, i));
        double t = cmp__num(json_array_get(ttfts, i));
        if (!(il >= 0 && il <= WL_MAX_TOKENS && ol >= 0 && ol <= WL_MAX_TOKENS) || !(t >= 0) ||
            !isfinite(t)) {
            cmp__error(error, CMP_ERROR_PARSE,
                       "%s: request %zu: input_lens / output_lens / ttfts must be numbers >= 0 "
                       "(lengths up to %d)",
                       r->where, i, WL_MAX_TOKENS);
            return FALSE;
        }
        q->input[i] = (uint32_t)il;
        q->output[i] = (uint32_t)ol;
        const json_t *e = errs != NULL ? json_array_get(errs, i) : NULL;
        q->ok[i] = errs != NULL
                       ? (json_is_null(e) || (json_is_string(e) && *json_string_value(e) == '\0'))
                       : ol > 0;
        if (!q->ok[i])
            continue;
        double sum = 0;
        const json_t *gaps = itls != NULL ? json_array_get(itls, i) : NULL;
        if (gaps != NULL && !json_is_array(gaps)) {
            cmp__error(error, CMP_ERROR_PARSE, "%s: itls[%zu]: expected a list of gaps (s)",
                       r->where, i);
            return FALSE;
        }
        for (size_t k = 0; gaps != NULL && k < json_array_size(gaps); k++) {
            double g = cmp__num(json_array_get(gaps, k));
            if (!(g >= 0) || !isfinite(g)) {
                cmp__error(error, CMP_ERROR_PARSE, "%s: itls[%zu][%zu]: not a gap >= 0 (s)",
                           r->where, i, k);
                return FALSE;
            }
            sum += g;
            double ms = g * 1e3;
            g_array_append_val(q->itl_ms, ms);
        }
        q->ttft_ms[i] = t * 1e3;
        if (gaps != NULL) {
            q->e2e_ms[i] = (t + sum) * 1e3;
            if (q->output[i] > 1)
                q->tpot_ms[i] = sum * 1e3 / (q->output[i] - 1);
        }
    }
    r->reqs = g_steal_pointer(&q);
    return TRUE;
}

/* The figures of DOC (a result dictionary) into R: recorded keys, then the arrays. */
static gboolean
parse_figures(cmp_result *r, json_t *doc, GError **error)
{
    const char *k;
    json_t *v;
    g_autoptr(GString) other = g_string_new(NULL);
    json_object_foreach(doc, k, v) {
        int lat = 0, s = figure_key(k, &lat);
        if (s == -1) {
            g_string_append_printf(other, "%s%s", other->len ? ", " : "", k);
            continue;
        }
        if (s < 0)
            continue;
        if (!json_is_number(v)) {
            cmp__error(error, CMP_ERROR_PARSE, "%s: %s: expected a number (ms)", r->where, k);
            return FALSE;
        }
        if (!cmp__set_lat(r, (cmp_lat)lat, (cmp_stat)s, json_number_value(v), k, error))
            return FALSE;
    }
    if (other->len > 0)
        cmp_result_note(r, "not compared (servesim reports mean, p50, p90, p95, p99): %s",
                        other->str);
    for (int t = 0; t < CMP_NTPUT; t++) {
        double x = cmp__get_num(doc, tput_keys[t]);
        if (isfinite(x) && x >= 0)
            r->m.tput[t] = x;
    }
    r->m.completed = cmp__get_num(doc, "completed");
    double failed = cmp__get_num(doc, "failed"), np = cmp__get_num(doc, "num_prompts");
    r->m.failed = !isnan(failed) ? failed : np - r->m.completed;
    if (!read_detailed(r, doc, error))
        return FALSE;
    if (r->reqs != NULL)
        cmp_metrics_fill_from_reqs(&r->m, r->reqs);
    /* vLLM writes np.mean([] or 0) = 0 for a metric without samples (no streaming, all failed). */
    if (r->m.completed == 0) {
        double nfailed = r->m.failed;
        cmp_metrics_init(&r->m);
        r->m.completed = 0;
        r->m.failed = nfailed;
    }
    return TRUE;
}

/* What the result records about the run. */
static gboolean
parse_run(cmp_result *r, const json_t *doc, GError **error)
{
    const json_t *sc = json_object_get(doc, "servesim_config");
    if (json_is_object(sc)) {
        r->rec.servesim = json_deep_copy(sc);
        const char *model = cmp__get_str(cmp__path(sc, "model"), "name");
        r->rec.model = g_strdup(model != NULL ? model : cmp__get_str(sc, "model"));
        return TRUE;
    }
    r->rec.model = g_strdup(cmp__get_str(doc, "model_id"));
    const char *backend = cmp__get_str(doc, "backend");
    if (backend == NULL)
        backend = cmp__get_str(doc, "endpoint_type");
    if (backend != NULL)
        cmp_result_note(r, "client backend: %s", backend);
    json_t *st = r->rec.settings;
    const json_t *rate = json_object_get(doc, "request_rate");
    if (json_is_number(rate) && json_number_value(rate) > 0 && isfinite(json_number_value(rate))) {
        cmp__set(st, "workload.rate", json_real(json_number_value(rate)));
    } else if (json_is_string(rate) && strcmp(json_string_value(rate), "inf") == 0) {
        cmp__set(st, "workload.rate", json_null()); /* recorded: every request at once */
    } else if (rate != NULL && !json_is_null(rate)) {
        cmp__error(error, CMP_ERROR_PARSE, "%s: request_rate: expected a rate > 0 or \"inf\"",
                   r->where);
        return FALSE;
    }
    double b = cmp__get_num(doc, "burstiness");
    if (isfinite(b) && b > 0 && b != 1.0) {
        cmp__set(st, "workload.arrival", json_string("gamma"));
        cmp__set(st, "workload.burstiness", json_real(b));
    }
    double mc = cmp__get_num(doc, "max_concurrency");
    if (isfinite(mc) && mc >= 1)
        cmp__set(st, "workload.max_concurrency", json_integer((json_int_t)mc));
    const char *ramp = cmp__get_str(doc, "ramp_up_strategy");
    if (ramp != NULL) {
        r->rec.unmodeled = g_strdup_printf(
            "the request rate ramped (%s, %g -> %g req/s), which servesim does not replay; give "
            "--rate to simulate a constant rate",
            ramp, cmp__get_num(doc, "ramp_up_start_rps"), cmp__get_num(doc, "ramp_up_end_rps"));
        r->rec.unmodeled_unless = "workload.rate";
    }
    if (r->reqs != NULL) {
        /* The requests one by one (send times are not saved: the rate draws them). */
        g_autofree char *name = g_strdup_printf("%s requests", r->where);
        r->rec.requests = wl_list_new(name);
        r->rec.req_index = g_new0(size_t, r->reqs->n + 1);
        size_t k = 0, skipped = 0;
        for (size_t i = 0; i < r->reqs->n; i++) {
            if (!r->reqs->ok[i] || r->reqs->output[i] == 0 || r->reqs->input[i] == 0) {
                skipped++;
                continue;
            }
            wl_list_request q = {.arrival_ns = -1,
                                 .prompt_tokens = r->reqs->input[i],
                                 .output_tokens = r->reqs->output[i]};
            GError *e = NULL;
            if (!wl_list_add(r->rec.requests, &q, &e)) {
                cmp__propagate(error, e);
                return FALSE;
            }
            r->rec.req_index[k++] = i;
        }
        if (skipped > 0)
            cmp_result_assume(r,
                              "%zu failed or empty requests are left out of the workload (their "
                              "output lengths are unknown)",
                              skipped);
        cmp_result_assume(r, "output lengths are the measured ones, forced as with --ignore-eos");
        cmp_result_assume(r, "send times were not saved: the simulation draws its own from the "
                             "recorded rate (servesim's seed, not vLLM's draws)");
        return TRUE;
    }
    double done = cmp__get_num(doc, "completed"), np = cmp__get_num(doc, "num_prompts");
    double tin = cmp__get_num(doc, "total_input_tokens"),
           tout = cmp__get_num(doc, "total_output_tokens");
    if (!(done > 0) || !(tin > 0) || !(tout > 0))
        return TRUE; /* cmp_rebuild says the lengths are not recorded */
    double in = round(tin / done), out = round(tout / done);
    cmp__set(st, "workload.source", json_string("synthetic"));
    cmp__set(st, "workload.num_requests",
             json_integer((json_int_t)(isfinite(np) && np >= done ? np : done)));
    g_autofree char *il = g_strdup_printf("fixed:%.0f", in),
                    *ol = g_strdup_printf("fixed:%.0f", out);
    cmp__set(st, "workload.input_len", json_string(il));
    cmp__set(st, "workload.output_len", json_string(ol));
    cmp_result_assume(r,
                      "per-request lengths were not saved (vllm bench --save-detailed keeps "
                      "them): every request has the mean lengths, %.0f prompt / %.0f output "
                      "tokens",
                      in, out);
    return TRUE;
}

static gboolean
read_doc(cmp_result *r, json_t *doc, GError **error)
{
    if (!json_is_object(doc)) {
        cmp__error(error, CMP_ERROR_PARSE, "%s: expected a JSON object (vllm bench result)",
                   r->where);
        return FALSE;
    }
    r->doc = json_incref(doc);
    if (!parse_figures(r, doc, error) || !parse_run(r, doc, error))
        return FALSE;
    const char *label = cmp__get_str(doc, "label");
    if (label != NULL && *label != '\0')
        cmp_result_note(r, "label: %s", label);
    return TRUE;
}

/* `vllm bench --append-result`: one result per line; each is a result of its own, named
 * FILE:LINE. FALSE with the first line's parse error when a line is not a JSON object. */
static gboolean
read_appended(const cmp__probe *p, GPtrArray *out, GError **error)
{
    GError *e = NULL;
    g_autoptr(base_lines) l = base_lines_open(p->file, &e);
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
        json_auto_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(doc)) {
            g_autofree char *shown = base_escape_text(je.text, 80);
            cmp__error(error, CMP_ERROR_PARSE, "%s:%" G_GUINT64_FORMAT ": not a JSON object%s%s",
                       p->file, ln, doc == NULL ? ": " : "", doc == NULL ? shown : "");
            return FALSE;
        }
        g_autofree char *where = g_strdup_printf("%s:%" G_GUINT64_FORMAT, p->file, ln);
        g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_vllm, where);
        if (!read_doc(r, doc, error))
            return FALSE;
        g_ptr_array_add(out, g_steal_pointer(&r));
    }
    if (e != NULL) {
        cmp__propagate(error, e);
        return FALSE;
    }
    return TRUE;
}

static gboolean
vllm_read(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error)
{
    (void)o;
    GError *e = NULL;
    json_auto_t *doc = cmp__load_json(p->file, &e);
    if (doc == NULL) {
        /* several one-line results (--append-result), or a real syntax error */
        guint before = out->len;
        if (p->first_json != NULL && read_appended(p, out, NULL) && out->len > before + 1) {
            g_error_free(e);
            return TRUE;
        }
        g_ptr_array_set_size(out, before);
        g_propagate_error(error, e);
        return FALSE;
    }
    g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_vllm, p->file);
    if (!read_doc(r, doc, error))
        return FALSE;
    g_ptr_array_add(out, g_steal_pointer(&r));
    return TRUE;
}

/* One simulated request as vLLM's detailed arrays hold it. */
static void
sim_request(
    const cmp__sim_req *q, json_t *in, json_t *out, json_t *ttfts, json_t *itls, json_t *errs)
{
    bool ok = q != NULL && q->seen && !q->failed && q->first_token_ns >= 0;
    json_array_append_new(in, json_integer(q != NULL ? q->prompt : 0));
    json_array_append_new(out, json_integer(ok ? q->output : 0));
    json_array_append_new(ttfts,
                          json_real(ok ? (double)(q->first_token_ns - q->send_ns) / 1e9 : 0));
    json_t *g = json_array();
    for (guint k = 1; ok && q->chunks != NULL && k < q->chunks->len; k++) {
        int64_t a = g_array_index(q->chunks, int64_t, k - 1),
                b = g_array_index(q->chunks, int64_t, k);
        json_array_append_new(g, json_real((double)(b - a) / 1e9));
    }
    json_array_append_new(itls, g);
    json_array_append_new(errs, json_string(ok                     ? ""
                                            : q != NULL && q->seen ? "failed in the simulation"
                                                                   : "not simulated"));
}

static gboolean
vllm_mirror(
    const cmp_result *m, const cmp_run *run, const cmp_sim *sim, cmp_result *out, GError **error)
{
    json_auto_t *doc = json_deep_copy(cmp__sim_vllm(sim));
    /* The same figure keys as the measured file: its --metric-percentiles choose them. */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(doc, tmp, k, v) {
        int lat;
        if (figure_key(k, &lat) >= -1 && json_object_get(m->doc, k) == NULL)
            json_object_del(doc, k);
    }
    json_object_del(doc, "servesim_config");
    if (m->reqs != NULL && json_object_get(m->doc, "input_lens") != NULL) {
        size_t n = run->req_index != NULL ? m->reqs->n : cmp__sim_n(sim);
        g_autofree const cmp__sim_req **by = g_new0(const cmp__sim_req *, n + 1);
        /* matched one to one when the run replayed the measured requests, else the
         * simulated requests in their own order (distributions only) */
        for (size_t i = 0; i < cmp__sim_n(sim); i++) {
            size_t j = run->req_index == NULL           ? i
                       : i < wl_list_len(run->requests) ? run->req_index[i]
                                                        : SIZE_MAX;
            if (j < n)
                by[j] = cmp__sim_req_at(sim, i);
        }
        json_t *in = json_array(), *o = json_array(), *t = json_array(), *it = json_array(),
               *er = json_array();
        for (size_t i = 0; i < n; i++)
            sim_request(by[i], in, o, t, it, er);
        json_object_set_new(doc, "input_lens", in);
        json_object_set_new(doc, "output_lens", o);
        json_object_set_new(doc, "ttfts", t);
        if (json_object_get(m->doc, "itls") != NULL)
            json_object_set_new(doc, "itls", it);
        else
            json_decref(it);
        json_object_set_new(doc, "errors", er);
    }
    return read_doc(out, doc, error);
}

const cmp_kind cmp__kind_vllm = {
    .name = "vllm-bench",
    .what = "vllm bench serve --save-result JSON (with --save-detailed arrays when present), "
            "servesim's vllm_bench_result.json",
    .detect = vllm_detect,
    .read = vllm_read,
    .mirror = vllm_mirror,
};
