/* report/view_dsa.c: the view of a DSA trace summary (docs/formats/dsa-trace.md, "summary.json
 * (DSA part)"): the distributions of unique blocks per record, tokens per touched block,
 * selected offsets and prefix intersection ratio, as the summary keeps them (min, p50, p95,
 * max, mean), and the per-tier KV fetch totals. It reads either the "dsa" object of a run's
 * summary.json (`run --dsa-trace`, drawn with the run) or `servesim analyze dsa --json`. */
#include <math.h>
#include <string.h>

#include "report/internal.h"

static const struct {
    const char *key, *title;
} dists[] = {{"unique_blocks", "unique KV blocks per record"},
             {"tokens_per_touched_block", "selected tokens per touched block"},
             {"offsets", "selected offsets (tokens from the start)"},
             {"prefix_intersection_ratio", "prefix intersection ratio"}};

static bool
looks_like_dsa(const json_t *j)
{
    return json_is_object(j) && json_object_get(j, "records") != NULL &&
           json_object_get(j, "unique_blocks") != NULL &&
           json_object_get(j, "prefix_intersection_ratio") != NULL;
}

int
rp__detect_dsa(const rp_input *in, GError **error)
{
    if (!looks_like_dsa(in->json))
        return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(dists); i++) {
        json_t *d = json_object_get(in->json, dists[i].key);
        if (d != NULL && !json_is_object(d) && !json_is_null(d)) {
            g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                        "%s: %s is not a {min, p50, p95, max, mean} object: a DSA summary of "
                        "another servesim version?",
                        in->path, dists[i].key);
            return -1;
        }
    }
    return 1;
}

static json_t *
range_chart(const char *metric, const char *title, bool logx)
{
    g_autofree char *flt = g_strdup_printf("datum.metric === '%s'", metric);
    json_t *x = rp__vl_field("min", title);
    if (logx)
        rp__vl_log(x);
    json_t *rule = json_pack("{s:{s:s, s:s}, s:{s:o, s:{s:s}}}", "mark", "type", "rule", "color",
                             "#5b6475", "encoding", "x", x, "x2", "field", "max");
    json_t *box = json_pack("{s:{s:s, s:i, s:s}, s:{s:o, s:{s:s}}}", "mark", "type", "bar", "size",
                            16, "color", "#4c78a8", "encoding", "x", rp__vl_field("p50", NULL),
                            "x2", "field", "p95");
    json_t *mean =
        json_pack("{s:{s:s, s:s, s:i, s:i}, s:{s:o}}", "mark", "type", "tick", "color", "#e45756",
                  "thickness", 3, "size", 26, "encoding", "x", rp__vl_field("mean", NULL));
    json_t *tip = rp__vl_tooltip((const char *const[]){"min", "min", "p50", "p50", "p95", "p95",
                                                       "max", "max", "mean", "mean", NULL});
    json_t *pts = json_pack("{s:{s:s, s:b, s:s, s:b}, s:{s:o, s:o}}", "mark", "type", "point",
                            "filled", 1, "color", "#222", "tooltip", 1, "encoding", "x",
                            rp__vl_field("min", NULL), "tooltip", tip);
    json_t *s = rp__vl_layers(0, 60, json_pack("[o, o, o, o]", rule, box, mean, pts));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "ranges"));
    json_object_set_new(s, "transform", json_pack("[{s:s}]", "filter", flt));
    return s;
}

json_t *
rp__dsa_section(const json_t *dsa, const char *path, GError **error)
{
    (void)error;
    g_autofree char *title = g_strdup_printf("DSA top-k trace: %s", path);
    json_t *sec = rp__section_new("dsa", title, path);
    rp__section_note(sec, "DeepSeek-V3.2 sparse attention: for every query token and layer the "
                          "indexer selects index_topk KV positions (docs/formats/dsa-trace.md). "
                          "Bars span p50–p95, lines min–max, red ticks the mean.");
    json_t *rows = json_array();

    static const struct {
        const char *label, *key;
    } figs[] = {{"dsa_topk records", "records"},
                {"requests", "requests"},
                {"records with a prefix-cache hit", "prefix_cache_hit_records"},
                {"skipped bad rows", "skipped_bad_rows"}};

    for (size_t i = 0; i < G_N_ELEMENTS(figs); i++) {
        json_t *v = json_object_get(dsa, figs[i].key);
        if (v != NULL)
            json_array_append_new(rows, json_pack("[s, O]", figs[i].label, v));
    }
    json_t *layers = json_object_get(dsa, "layers");
    if (json_is_array(layers))
        json_array_append_new(
            rows, json_pack("[s, I]", "layers traced", (json_int_t)json_array_size(layers)));
    rp__section_table(sec, "Trace", json_pack("[s, s]", "figure", "value"), rows);

    json_t *rr = rp__section_data(
        sec, "ranges", (const char *const[]){"metric", "min", "p50", "p95", "max", "mean", NULL});
    json_t *tr = json_array();
    for (size_t i = 0; i < G_N_ELEMENTS(dists); i++) {
        const json_t *d = json_object_get(dsa, dists[i].key);
        if (!json_is_object(d))
            continue;
        json_array_append_new(rr, json_pack("[s, o, o, o, o, o]", dists[i].key, rp__copy(d, "min"),
                                            rp__copy(d, "p50"), rp__copy(d, "p95"),
                                            rp__copy(d, "max"), rp__copy(d, "mean")));
        json_array_append_new(tr,
                              json_pack("[s, o, o, o, o, o]", dists[i].title, rp__copy(d, "min"),
                                        rp__copy(d, "p50"), rp__copy(d, "p95"), rp__copy(d, "max"),
                                        rp__copy(d, "mean")));
        double lo = rp__num(d, "min"), hi = rp__num(d, "max");
        bool logx = lo > 0 && hi / lo >= 100.0;
        rp__section_chart(sec, dists[i].title, logx ? "log scale" : NULL,
                          range_chart(dists[i].key, dists[i].title, logx));
    }
    rp__section_table(sec, "Distributions",
                      json_pack("[s, s, s, s, s, s]", "metric", "min", "p50", "p95", "max", "mean"),
                      tr);

    const json_t *kv = json_object_get(dsa, "kv_fetch");
    if (json_is_object(kv) && json_object_size(kv) > 0) {
        json_t *kr =
            rp__section_data(sec, "kv_fetch",
                             (const char *const[]){"tier", "hit_blocks", "bytes_read", "read_ops",
                                                   "latency_us", "latency_us_per_record", NULL});
        const char *tier;
        json_t *t;
        json_object_foreach((json_t *)(uintptr_t)kv, tier, t)
            json_array_append_new(
                kr, json_pack("[s, o, o, o, o, o]", tier, rp__copy(t, "hit_blocks"),
                              rp__copy(t, "bytes_read"), rp__copy(t, "read_ops"),
                              rp__copy(t, "latency_us"), rp__copy(t, "latency_us_per_record")));
        json_t *s = rp__vl_new("kv_fetch", 0, 0);
        json_object_set_new(s, "transform",
                            json_pack("[{s:[s, s], s:[s, s]}]", "fold", "hit_blocks", "read_ops",
                                      "as", "figure", "count"));
        json_object_set_new(s, "mark", rp__vl_mark("bar", false));
        json_object_set_new(
            s, "encoding",
            json_pack("{s:o, s:o, s:o, s:o, s:o}", "x", rp__vl_field("tier:N", "tier"), "xOffset",
                      rp__vl_field("figure:N", NULL), "y", rp__vl_field("count", "count"), "color",
                      rp__vl_field("figure:N", NULL), "tooltip",
                      rp__vl_tooltip((const char *const[]){
                          "tier:N", "tier", "figure:N", "figure", "count", "count", "bytes_read",
                          "bytes read", "latency_us_per_record", "µs per record", NULL})));
        rp__section_chart(sec, "KV fetch per tier",
                          "blocks found in each tier and read operations (group C of the trace)",
                          s);
    }
    return sec;
}

gboolean
rp__build_dsa(rp_ctx *ctx, const rp_input *in, GError **error)
{
    json_t *sec = rp__dsa_section(in->json, in->path, error);
    if (sec == NULL)
        return FALSE;
    rp__ctx_add_section(ctx, sec);
    return TRUE;
}
