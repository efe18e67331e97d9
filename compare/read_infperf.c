/* compare/read_infperf.c: an inference-perf results directory (docs/formats/
 * inference-perf-report.md, benchmark-results.md): summary_lifecycle_metrics.json (figures),
 * stage_<i>_lifecycle_metrics.json (counted), config.yaml (what actually ran: load, data,
 * server; read with libyaml), per_request_lifecycle_metrics.json when the run kept per-request
 * records, and, in servesim's own output directories, summary.json (its configuration).
 *
 * Figures (seconds in the files, ms here): time_to_first_token, request_latency (E2E),
 * inter_token_latency (ITL); TPOT is DERIVED as (request_latency − TTFT) / (output tokens − 1),
 * per request when per-request records exist, else from the means, because inference-perf's
 * own time_per_output_token re-tokenizes the streamed text and is unreliable when tokens
 * arrive fast. Per-request records: start_time, end_time (s), info.input_tokens,
 * info.output_tokens, info.output_token_times (s), error (null = success).
 *
 * The run: server.model_name, server.type, server.ignore_eos, api.streaming; load and data
 * become an inference-perf workload spec (workloads/infperf.c) when servesim generates that
 * data type (shared_prefix, random, synthetic); other data types keep the load and use the
 * per-request lengths, else the measured mean lengths. Without ignore_eos the outputs stopped
 * at EOS, so the simulated output length is the measured mean. */
#include <math.h>
#include <string.h>

#include "base/json.h"
#include "compare/internal.h"

static const char *const summary_name = "summary_lifecycle_metrics.json";
static const char *const per_request_name = "per_request_lifecycle_metrics.json";

static bool
has(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    return g_file_test(p, G_FILE_TEST_IS_REGULAR);
}

static bool
infperf_detect(const cmp__probe *p)
{
    if (p->is_dir)
        return has(p->dir, summary_name);
    const json_t *j = p->first_json != NULL ? p->first_json : p->json;
    if (json_is_object(j) && json_object_get(j, "load_summary") != NULL &&
        json_object_get(j, "successes") != NULL)
        return true;
    /* config.yaml or the per-request file of a results directory */
    g_autofree char *base = g_path_get_basename(p->path);
    return (strcmp(base, "config.yaml") == 0 || strcmp(base, per_request_name) == 0) &&
           has(p->dir, summary_name);
}

/* ---- figures ---- */

static const struct {
    const char *key;
    cmp_stat stat;
} dist_keys[] = {
    {"mean", CMP_MEAN}, {"median", CMP_P50}, {"p90", CMP_P90}, {"p95", CMP_P95}, {"p99", CMP_P99}};

static gboolean
read_dist(cmp_result *r, const json_t *lat, const char *name, cmp_lat l, GError **error)
{
    const json_t *d = json_object_get(lat, name);
    if (d == NULL || json_is_null(d))
        return TRUE;
    if (!json_is_object(d)) {
        cmp__error(error, CMP_ERROR_PARSE, "%s: successes.latency.%s: expected a distribution",
                   r->where, name);
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(dist_keys); i++) {
        g_autofree char *what = g_strdup_printf("successes.latency.%s.%s", name, dist_keys[i].key);
        if (!cmp__set_lat(r, l, dist_keys[i].stat, cmp__get_num(d, dist_keys[i].key) * 1e3, what,
                          error))
            return FALSE;
    }
    return TRUE;
}

/* Per-request records (an array) into R->reqs. */
static gboolean
read_per_request(cmp_result *r, const json_t *arr, const char *name, GError **error)
{
    if (!json_is_array(arr)) {
        cmp__error(error, CMP_ERROR_PARSE, "%s: expected a list of per-request records", name);
        return FALSE;
    }
    size_t n = json_array_size(arr);
    g_autoptr(cmp_reqs) q = cmp_reqs_new(n, true, true);
    double t0 = INFINITY;
    for (size_t i = 0; i < n; i++)
        t0 = MIN(t0, cmp__get_num(json_array_get(arr, i), "start_time"));
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        const json_t *info = json_is_object(o) ? json_object_get(o, "info") : NULL;
        double st = cmp__get_num(o, "start_time"), en = cmp__get_num(o, "end_time");
        double in = cmp__get_num(info, "input_tokens"), out = cmp__get_num(info, "output_tokens");
        if (!isfinite(st) || !isfinite(en) || en < st || !(in >= 0 && in <= WL_MAX_TOKENS) ||
            !(out >= 0 && out <= WL_MAX_TOKENS)) {
            cmp__error(error, CMP_ERROR_PARSE,
                       "%s: record %zu: needs start_time <= end_time (s) and info.input_tokens, "
                       "info.output_tokens (0 to %d)",
                       name, i, WL_MAX_TOKENS);
            return FALSE;
        }
        q->send_s[i] = st - t0;
        q->input[i] = (uint32_t)in;
        q->output[i] = (uint32_t)out;
        const json_t *err = json_object_get(o, "error");
        q->ok[i] = err == NULL || json_is_null(err);
        if (!q->ok[i])
            continue;
        q->e2e_ms[i] = (en - st) * 1e3;
        const json_t *times = json_object_get(info, "output_token_times");
        if (!json_is_array(times) || json_array_size(times) == 0)
            continue;
        double prev = NAN;
        for (size_t k = 0; k < json_array_size(times); k++) {
            double t = cmp__num(json_array_get(times, k));
            if (!isfinite(t) || t < st || t < prev) {
                cmp__error(error, CMP_ERROR_PARSE,
                           "%s: record %zu: output_token_times[%zu] is not a time between the "
                           "start and the previous token's",
                           name, i, k);
                return FALSE;
            }
            if (k == 0) {
                q->ttft_ms[i] = (t - st) * 1e3;
            } else {
                double g = (t - prev) * 1e3;
                g_array_append_val(q->itl_ms, g);
            }
            prev = t;
        }
        if (out > 1)
            q->tpot_ms[i] = (q->e2e_ms[i] - q->ttft_ms[i]) / (out - 1);
    }
    r->reqs = g_steal_pointer(&q);
    return TRUE;
}

/* The figures of a lifecycle report SUM (and per-request records PER, may be NULL) into R. */
static gboolean
parse_figures(cmp_result *r, const json_t *sum, const json_t *per, GError **error)
{
    const json_t *su = json_object_get(sum, "successes");
    const json_t *lat = json_object_get(su, "latency");
    if (!json_is_object(su) || (lat != NULL && !json_is_object(lat))) {
        cmp__error(error, CMP_ERROR_PARSE, "%s: expected successes.latency (inference-perf report)",
                   r->where);
        return FALSE;
    }
    if (!read_dist(r, lat, "time_to_first_token", CMP_TTFT, error) ||
        !read_dist(r, lat, "request_latency", CMP_E2E, error) ||
        !read_dist(r, lat, "inter_token_latency", CMP_ITL, error))
        return FALSE;
    const json_t *tp = json_object_get(su, "throughput");
    static const char *const tkeys[CMP_NTPUT] = {"requests_per_sec", "output_tokens_per_sec",
                                                 "total_tokens_per_sec"};
    for (int t = 0; t < CMP_NTPUT; t++) {
        double x = cmp__get_num(tp, tkeys[t]);
        if (isfinite(x) && x >= 0)
            r->m.tput[t] = x;
    }
    r->m.completed = cmp__get_num(su, "count");
    r->m.failed = cmp__get_num(json_object_get(sum, "failures"), "count");
    if (per != NULL) {
        if (!read_per_request(r, per, r->where, error))
            return FALSE;
        cmp_metrics_fill_from_reqs(&r->m, r->reqs);
        cmp_result_note(r, "TPOT derived per request: (request_latency - TTFT) / (output tokens "
                           "- 1); inference-perf's time_per_output_token re-tokenizes the "
                           "streamed text and is not used");
    } else {
        double e = cmp__get_num(json_object_get(lat, "request_latency"), "mean");
        double t = cmp__get_num(json_object_get(lat, "time_to_first_token"), "mean");
        double n = cmp__get_num(json_object_get(su, "output_len"), "mean");
        if (isfinite(e) && isfinite(t) && n > 1)
            r->m.lat_ms[CMP_TPOT][CMP_MEAN] = (e - t) * 1e3 / (n - 1);
        cmp_result_note(r, "TPOT mean derived from the means: (request_latency - TTFT) / "
                           "(output_len - 1), exact when outputs have one length; "
                           "inference-perf's time_per_output_token re-tokenizes the streamed "
                           "text and is not used");
    }
    return TRUE;
}

/* ---- the run ---- */

static bool
data_supported(const char *type)
{
    return type != NULL && (strcmp(type, "shared_prefix") == 0 || strcmp(type, "random") == 0 ||
                            strcmp(type, "synthetic") == 0);
}

static json_t *
fixed_dist(double v)
{
    json_t *d = json_object();
    json_object_set_new(d, "min", json_integer((json_int_t)v));
    json_object_set_new(d, "max", json_integer((json_int_t)v));
    json_object_set_new(d, "mean", json_integer((json_int_t)v));
    json_object_set_new(d, "std_dev", json_integer(0));
    return d;
}

/* The workload from config.yaml's load and data sections. */
static gboolean
run_from_config(cmp_result *r, const json_t *cfg, const json_t *sum, GError **error)
{
    const json_t *server = json_object_get(cfg, "server");
    const char *model = cmp__get_str(server, "model_name");
    if (model == NULL)
        model = cmp__get_str(json_object_get(cfg, "tokenizer"), "pretrained_model_name_or_path");
    r->rec.model = g_strdup(model);
    const char *stype = cmp__get_str(server, "type");
    if (stype != NULL)
        r->rec.engine = g_strdup(stype);
    const json_t *api = json_object_get(cfg, "api");
    const json_t *stream = json_object_get(api, "streaming");
    if (json_is_false(stream))
        cmp_result_note(r, "api.streaming is false: TTFT and ITL are not per-token figures");
    const json_t *load = json_object_get(cfg, "load");
    const json_t *data = json_object_get(cfg, "data");
    if (!json_is_object(load)) {
        cmp_result_assume(r, "config.yaml has no load section");
        return TRUE;
    }
    if (json_object_get(load, "sweep") != NULL && !json_is_null(json_object_get(load, "sweep"))) {
        r->rec.unmodeled = g_strdup("load.sweep: inference-perf chose the stages at run time; "
                                    "simulate each stage with servesim sweep");
        return TRUE;
    }
    static const char *const unused[] = {"interval", "num_workers", "worker_max_concurrency",
                                         "worker_max_tcp_connections", NULL};
    for (size_t i = 0; unused[i] != NULL; i++)
        if (json_object_get(load, unused[i]) != NULL)
            cmp_result_assume(r, "load.%s: not simulated (the client sends on schedule)",
                              unused[i]);
    const char *dtype = cmp__get_str(data, "type");
    const json_t *ieos = json_object_get(server, "ignore_eos");
    bool ignore_eos = json_is_true(ieos);
    const json_t *su = json_object_get(sum, "successes");
    double mean_in = cmp__get_num(json_object_get(su, "prompt_len"), "mean");
    double mean_out = cmp__get_num(json_object_get(su, "output_len"), "mean");
    json_auto_t *spec = json_object();
    json_object_set_new(spec, "load", json_deep_copy(load));
    bool concurrent = g_strcmp0(cmp__get_str(load, "type"), "concurrent") == 0;
    if (data_supported(dtype)) {
        json_t *d = json_deep_copy(data);
        json_object_set_new(spec, "data", d);
        if (!ignore_eos && isfinite(mean_out) && mean_out >= 1) {
            json_t *sp = json_object_get(d, "shared_prefix");
            json_t *where = json_is_object(sp) ? sp : d;
            if (strcmp(dtype, "shared_prefix") == 0) {
                json_object_del(where, "output_distribution");
                json_object_set_new(where, "output_len", json_integer((json_int_t)round(mean_out)));
            } else {
                json_object_set_new(d, "output_distribution", fixed_dist(round(mean_out)));
            }
            cmp_result_assume(r,
                              "server.ignore_eos is %s: outputs stopped at EOS, so every "
                              "simulated output has the measured mean length, %.0f tokens",
                              ieos == NULL ? "not set" : "false", round(mean_out));
        }
    } else if (r->reqs != NULL && !concurrent) {
        /* Lengths and send times of the per-request records (below). */
        cmp_result_assume(r,
                          "data.type %s is not generated by servesim: the per-request records' "
                          "lengths and send times are replayed",
                          dtype != NULL ? dtype : "(none)");
        return TRUE;
    } else if (isfinite(mean_in) && mean_in >= 1 && isfinite(mean_out) && mean_out >= 1) {
        json_t *d = json_object();
        json_object_set_new(d, "type", json_string("random"));
        json_object_set_new(d, "input_distribution", fixed_dist(round(mean_in)));
        json_object_set_new(d, "output_distribution", fixed_dist(round(mean_out)));
        json_object_set_new(spec, "data", d);
        cmp_result_assume(r,
                          "data.type %s is not generated by servesim: every request has the "
                          "measured mean lengths, %.0f prompt / %.0f output tokens (no prefix "
                          "sharing)",
                          dtype != NULL ? dtype : "(none)", round(mean_in), round(mean_out));
    } else {
        cmp__error(error, CMP_ERROR_INVALID,
                   "%s: data.type %s is not generated by servesim and no lengths are recorded",
                   r->where, dtype != NULL ? dtype : "(none)");
        return FALSE;
    }
    cmp__set(r->rec.settings, "workload.spec", g_steal_pointer(&spec));
    return TRUE;
}

/* Per-request records as the workload (timed by their start times). */
static gboolean
run_from_records(cmp_result *r, GError **error)
{
    const cmp_reqs *q = r->reqs;
    g_autofree size_t *order = g_new(size_t, q->n + 1);
    for (size_t i = 0; i < q->n; i++)
        order[i] = i;
    /* stable insertion sort by start time (records are usually already in order) */
    for (size_t i = 1; i < q->n; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && q->send_s[order[j - 1]] > q->send_s[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    g_autofree char *name = g_strdup_printf("%s requests", r->where);
    r->rec.requests = wl_list_new(name);
    r->rec.req_index = g_new0(size_t, q->n + 1);
    size_t k = 0, skipped = 0;
    for (size_t j = 0; j < q->n; j++) {
        size_t i = order[j];
        if (!q->ok[i] || q->input[i] == 0 || q->output[i] == 0) {
            skipped++;
            continue;
        }
        wl_list_request w = {.arrival_ns = llround(q->send_s[i] * 1e9),
                             .prompt_tokens = q->input[i],
                             .output_tokens = q->output[i]};
        GError *e = NULL;
        if (!wl_list_add(r->rec.requests, &w, &e)) {
            cmp__propagate(error, e);
            return FALSE;
        }
        r->rec.req_index[k++] = i;
    }
    if (skipped > 0)
        cmp_result_assume(r, "%zu failed or empty requests are left out of the workload", skipped);
    cmp_result_assume(r, "each request is sent at its recorded start time with its recorded "
                         "lengths (output forced)");
    return TRUE;
}

static gboolean
read_dir(const char *dir, cmp_result *r, GError **error)
{
    g_autofree char *sum_path = g_build_filename(dir, summary_name, NULL);
    json_auto_t *sum = cmp__load_json(sum_path, error);
    if (sum == NULL)
        return FALSE;
    json_auto_t *per = NULL;
    g_autofree char *per_path = g_build_filename(dir, per_request_name, NULL);
    if (g_file_test(per_path, G_FILE_TEST_IS_REGULAR) &&
        (per = cmp__load_json(per_path, error)) == NULL)
        return FALSE;
    json_auto_t *doc = json_object();
    json_object_set_new(doc, "summary", json_incref(sum));
    if (per != NULL)
        json_object_set_new(doc, "per_request", json_incref(per));
    r->doc = json_incref(doc);
    if (!parse_figures(r, sum, per, error))
        return FALSE;
    uint32_t stages = 0;
    for (;; stages++) {
        g_autofree char *n = g_strdup_printf("stage_%u_lifecycle_metrics.json", stages);
        if (!has(dir, n))
            break;
    }
    if (stages > 0)
        cmp_result_note(r, "%u stage reports; the whole run is compared", stages);
    /* servesim's own output directory: its configuration rebuilds the run exactly. */
    g_autofree char *ss_path = g_build_filename(dir, "summary.json", NULL);
    if (g_file_test(ss_path, G_FILE_TEST_IS_REGULAR)) {
        json_auto_t *ss = cmp__load_json(ss_path, error);
        if (ss == NULL)
            return FALSE;
        json_t *cfg = json_object_get(ss, "config");
        if (json_object_get(ss, "servesim") != NULL && json_is_object(cfg)) {
            r->rec.servesim = json_deep_copy(cfg);
            json_object_del(r->rec.servesim, "resolved");
            json_object_del(r->rec.servesim, "outputs");
            const char *model = cmp__get_str(cmp__path(cfg, "model"), "name");
            r->rec.model = g_strdup(model);
            return TRUE;
        }
    }
    g_autofree char *cfg_path = g_build_filename(dir, "config.yaml", NULL);
    if (g_file_test(cfg_path, G_FILE_TEST_IS_REGULAR)) {
        json_auto_t *cfg = cmp__load_yaml(cfg_path, error);
        if (cfg == NULL)
            return FALSE;
        if (!json_is_object(cfg)) {
            cmp__error(error, CMP_ERROR_PARSE, "%s: expected a mapping (inference-perf config)",
                       cfg_path);
            return FALSE;
        }
        if (!run_from_config(r, cfg, sum, error))
            return FALSE;
        if (cmp__path(r->rec.settings, "workload.spec") != NULL || r->rec.unmodeled != NULL)
            return TRUE;
    } else {
        cmp_result_assume(r, "no config.yaml: the load and data generator are not recorded");
    }
    if (r->reqs != NULL)
        return run_from_records(r, error);
    return TRUE;
}

static gboolean
infperf_read(const cmp__probe *p, const cmp_read_opts *o, GPtrArray *out, GError **error)
{
    (void)o;
    g_autoptr(cmp_result) r = cmp_result_new(&cmp__kind_infperf, p->dir);
    if (!read_dir(p->dir, r, error))
        return FALSE;
    g_ptr_array_add(out, g_steal_pointer(&r));
    return TRUE;
}

/* One simulated request as an inference-perf per-request record (times from the run's
 * start; failed or unsimulated requests carry an error). */
static json_t *
sim_record(const cmp__sim_req *q, uint32_t measured_in)
{
    json_t *o = json_object();
    bool ok = q != NULL && q->seen && !q->failed && q->first_token_ns >= 0;
    double st = q != NULL && q->seen ? (double)q->send_ns / 1e9 : 0;
    json_object_set_new(o, "start_time", json_real(st));
    json_object_set_new(o, "end_time",
                        json_real(q != NULL && q->seen ? (double)q->finish_ns / 1e9 : 0));
    json_t *info = json_object();
    json_object_set_new(info, "input_tokens", json_integer(q != NULL ? q->prompt : measured_in));
    json_object_set_new(info, "output_tokens", json_integer(ok ? q->output : 0));
    json_t *times = json_array();
    for (guint k = 0; ok && q->chunks != NULL && k < q->chunks->len; k++)
        json_array_append_new(times, json_real((double)g_array_index(q->chunks, int64_t, k) / 1e9));
    json_object_set_new(info, "output_token_times", times);
    json_object_set_new(o, "info", info);
    json_object_set_new(o, "error", ok ? json_null() : json_string("not completed"));
    return o;
}

static gboolean
infperf_mirror(
    const cmp_result *m, const cmp_run *run, const cmp_sim *sim, cmp_result *out, GError **error)
{
    const json_t *sum = cmp__sim_lifecycle(sim);
    json_auto_t *per = NULL;
    if (m->reqs != NULL) {
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
        per = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(per, sim_record(by[i], i < m->reqs->n ? m->reqs->input[i] : 0));
    }
    json_auto_t *doc = json_object();
    json_object_set_new(doc, "summary", json_deep_copy(sum));
    if (per != NULL)
        json_object_set_new(doc, "per_request", json_incref(per));
    out->doc = json_incref(doc);
    return parse_figures(out, sum, per, error);
}

const cmp_kind cmp__kind_infperf = {
    .name = "inference-perf",
    .what = "inference-perf results directory (summary_lifecycle_metrics.json, config.yaml, "
            "per-request records), servesim's output directory",
    .detect = infperf_detect,
    .read = infperf_read,
    .mirror = infperf_mirror,
};
