/* report/view_estimate.c: views of `servesim estimate` outputs (docs/timemodel.md):
 *   estimate --json      the step time split by bound (compute-bound operators, memory-bound
 *                        operators, exposed communication, CPU overhead) for the prefill step
 *                        and the decode step, each component's roofline terms with the
 *                        bottleneck marked, and the GPU memory plan;
 *   estimate --scenarios one row per scenario: prefill + decode time stacked, tokens/s per GPU
 *                        and throughput per GPU against interactivity (tokens/s per user), the
 *                        InferenceMAX v2 way of comparing configurations; and the table.
 * Values are the file's own (JSON numbers copied, CSV cells parsed as written). */
#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "report/internal.h"

#define ESTIMATE_FORMAT "servesim-estimate/1"
#define MAX_SCENARIOS   1000

int
rp__detect_estimate(const rp_input *in, GError **error)
{
    if (in->json == NULL || !json_is_object(in->json))
        return 0;
    const char *f = rp__str(in->json, "format");
    if (f != NULL && strcmp(f, ESTIMATE_FORMAT) == 0) {
        static const char *const need[] = {"scenario", "prefill", "decode",
                                           "summary",  "memory",  NULL};
        for (size_t i = 0; need[i] != NULL; i++)
            if (!rp__need_object(in->json, need[i], in->path, error))
                return -1;
        return 1;
    }
    if (f != NULL && g_str_has_prefix(f, "servesim-estimate/")) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: format %s; this servesim reads " ESTIMATE_FORMAT, in->path, f);
        return -1;
    }
    if (f == NULL && json_is_object(rp__get(in->json, "scenario")) &&
        json_is_object(rp__get(in->json, "prefill")) &&
        json_is_object(rp__get(in->json, "summary"))) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: estimate --json of an older servesim (no \"format\" key); run estimate "
                    "--json again",
                    in->path);
        return -1;
    }
    return 0;
}

/* "mlp (compute)" → "mlp" */
static char *
bottleneck_component(const char *b)
{
    if (b == NULL)
        return g_strdup("");
    const char *sp = strstr(b, " (");
    return sp != NULL ? g_strndup(b, (size_t)(sp - b)) : g_strdup(b);
}

static void
components(json_t *rows, const json_t *ph, const char *phase)
{
    g_autofree char *bn = bottleneck_component(rp__str(ph, "bottleneck"));
    const json_t *comps = json_object_get(ph, "components");
    size_t i;
    json_t *c;
    json_array_foreach(comps, i, c) {
        double t = rp__num(c, "time_ms"), x = rp__num(c, "comm_ms"), f = rp__num(c, "flops");
        if (!(t > 0) && !(x > 0) && !(f > 0))
            continue; /* components this model does not have (as the text output) */
        const char *name = rp__str(c, "component");
        json_array_append_new(rows, json_pack("[s, s?, o, o, o, o, o, o, s?, b]", phase, name,
                                              rp__copy(c, "flops"), rp__copy(c, "bytes"),
                                              rp__copy(c, "compute_ms"), rp__copy(c, "memory_ms"),
                                              rp__copy(c, "comm_ms"), rp__copy(c, "time_ms"),
                                              rp__str(c, "bound"),
                                              name != NULL && strcmp(name, bn) == 0));
    }
}

static json_t *
component_chart(const char *phase)
{
    /* per component: its roofline terms (compute, memory, communication) next to the time it
     * costs in the step (the larger term, with calibrated floors; CPU overhead has no term) */
    g_autofree char *flt = g_strdup_printf("datum.phase === '%s'", phase);
    json_t *bars = json_object();
    json_object_set_new(bars, "transform",
                        json_pack("[{s:s}, {s:[s, s, s, s], s:[s, s]}]", "filter", flt, "fold",
                                  "compute_ms", "memory_ms", "comm_ms", "time_ms", "as", "term",
                                  "ms"));
    json_object_set_new(bars, "mark", rp__vl_mark("bar", false));
    json_object_set_new(
        bars, "encoding",
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "y",
                  json_pack("{s:s, s:s, s:s, s:n}", "field", "component", "type", "nominal",
                            "title", "component", "sort"),
                  "yOffset", rp__vl_field("term:N", NULL), "x", rp__vl_field("ms", "ms"), "color",
                  json_pack("{s:s, s:s, s:s, s:{s:[s, s, s, s], s:[s, s, s, s]}}", "field", "term",
                            "type", "nominal", "title", "term", "scale", "domain", "compute_ms",
                            "memory_ms", "comm_ms", "time_ms", "range", "#4c78a8", "#f58518",
                            "#e45756", "#8c8c8c"),
                  "tooltip",
                  rp__vl_tooltip((const char *const[]){"component:N", "component", "term:N", "term",
                                                       "ms", "ms", "time_ms", "component time (ms)",
                                                       "bound:N", "bound", "flops", "FLOPs",
                                                       "bytes", "bytes", NULL})));
    json_t *text = json_object();
    g_autofree char *flt2 = g_strdup_printf("datum.phase === '%s' && datum.bottleneck", phase);
    json_object_set_new(text, "transform", json_pack("[{s:s}]", "filter", flt2));
    json_object_set_new(text, "mark",
                        json_pack("{s:s, s:s, s:i, s:s}", "type", "text", "align", "left", "dx", 6,
                                  "fontWeight", "bold"));
    json_object_set_new(text, "encoding",
                        json_pack("{s:{s:s, s:s, s:n}, s:o, s:{s:s}}", "y", "field", "component",
                                  "type", "nominal", "sort", "x", rp__vl_field("time_ms", NULL),
                                  "text", "value", "\u25c0 bottleneck"));
    json_t *s = rp__vl_layers(0, 260, json_pack("[o, o]", bars, text));
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "components"));
    return s;
}

gboolean
rp__build_estimate(rp_ctx *ctx, const rp_input *in, GError **error)
{
    (void)error;
    const json_t *j = in->json;
    g_autofree char *title = g_strdup_printf(
        "estimate: %s on %s", rp__str(j, "model.name") ? rp__str(j, "model.name") : "?",
        rp__str(j, "hardware.name") ? rp__str(j, "hardware.name") : "?");
    json_t *sec = rp__section_new("estimate", title, in->path);
    rp__section_note(sec, "Roofline estimate without simulation: the prefill step of the whole "
                          "batch and one decode step at the mean context (docs/timemodel.md).");

    json_t *rows = json_array();

    static const struct {
        const char *label, *path;
    } setup[] = {{"model", "model.name"},
                 {"hardware", "hardware.display_name"},
                 {"tensor parallel", "parallelism.tensor_parallel_size"},
                 {"pipeline parallel", "parallelism.pipeline_parallel_size"},
                 {"data parallel", "parallelism.data_parallel_size"},
                 {"expert parallel", "parallelism.expert_parallel_size"},
                 {"dtype", "timemodel.dtype"},
                 {"KV cache dtype", "timemodel.kv_cache_dtype"},
                 {"calibration", "timemodel.calibration"},
                 {"batch (sequences per DP rank)", "scenario.batch"},
                 {"prompt tokens", "scenario.input_len"},
                 {"output tokens", "scenario.output_len"},
                 {"GPUs per replica", "scenario.gpus_per_replica"}};

    for (size_t i = 0; i < G_N_ELEMENTS(setup); i++)
        json_array_append_new(rows,
                              json_pack("[s, o]", setup[i].label, rp__copy(j, setup[i].path)));
    rp__section_table(sec, "Scenario", json_pack("[s, s]", "setting", "value"), rows);

    json_t *srows = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)rp__get(j, "summary"), key, v)
        json_array_append_new(srows, json_pack("[s, O]", key, v));
    rp__section_table(sec, "Summary", json_pack("[s, s]", "figure", "value"), srows);

    json_t *ph =
        rp__section_data(sec, "phases", (const char *const[]){"phase", "part", "ms", NULL});

    static const struct {
        const char *key, *label;
    } parts[] = {{"compute_bound_ms", "compute-bound operators"},
                 {"memory_bound_ms", "memory-bound operators"},
                 {"comm_exposed_ms", "exposed communication"},
                 {"overhead_ms", "CPU overhead"}};

    static const struct {
        const char *key, *label;
    } phases[] = {{"prefill", "prefill step"}, {"decode", "decode step (mean context)"}};

    for (size_t p = 0; p < G_N_ELEMENTS(phases); p++)
        for (size_t k = 0; k < G_N_ELEMENTS(parts); k++)
            json_array_append_new(ph, json_pack("[s, s, o]", phases[p].label, parts[k].label,
                                                rp__copy(rp__get(j, phases[p].key), parts[k].key)));
    json_t *comp = rp__section_data(sec, "components",
                                    (const char *const[]){"phase", "component", "flops", "bytes",
                                                          "compute_ms", "memory_ms", "comm_ms",
                                                          "time_ms", "bound", "bottleneck", NULL});
    components(comp, rp__get(j, "prefill"), "prefill");
    components(comp, rp__get(j, "decode"), "decode");

    /* each bar is one step, split into shares: a prefill step can be 100× a decode step */
    json_t *xs = rp__vl_field("ms", "share of the step");
    json_object_set_new(xs, "stack", json_string("normalize"));
    json_object_set_new(xs, "axis", json_pack("{s:s}", "format", "%"));
    json_t *s = rp__vl_new("phases", 0, 110);
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_object_set_new(s, "encoding",
                        json_pack("{s:o, s:o, s:{s:s, s:s, s:s, s:{s:[s, s, s, s]}}, s:o}", "y",
                                  rp__vl_field("phase:N", NULL), "x", xs, "color", "field", "part",
                                  "type", "nominal", "title", "time spent in", "scale", "domain",
                                  "compute-bound operators", "memory-bound operators",
                                  "exposed communication", "CPU overhead", "tooltip",
                                  rp__vl_tooltip((const char *const[]){"phase:N", "phase", "part:N",
                                                                       "part", "ms", "ms", NULL})));
    g_autofree char *sn = g_strdup_printf(
        "prefill step %.4g ms, decode step %.4g ms: operators summed by their bound (the larger "
        "of their compute and memory terms), plus exposed communication and CPU overhead",
        rp__num(j, "prefill.step_ms"), rp__num(j, "decode.step_ms"));
    rp__section_chart(sec, "Step time: compute vs memory vs communication", sn, s);
    g_autofree char *bp =
        g_strdup_printf("prefill bottleneck: %s",
                        rp__str(j, "prefill.bottleneck") ? rp__str(j, "prefill.bottleneck") : "?");
    rp__section_chart(sec, "Prefill step by component", bp, component_chart("prefill"));
    g_autofree char *bd =
        g_strdup_printf("decode bottleneck: %s",
                        rp__str(j, "decode.bottleneck") ? rp__str(j, "decode.bottleneck") : "?");
    rp__section_chart(sec, "Decode step by component", bd, component_chart("decode"));

    /* memory plan of one GPU: the parts add up to its usable memory */
    const json_t *m = rp__get(j, "memory");
    double kv_need = rp__num(j, "summary.kv_needed_gib");
    double kv = rp__num(m, "kv_cache_gib");
    json_t *mem =
        rp__section_data(sec, "memory", (const char *const[]){"part", "GiB", "order", NULL});

    const struct {
        const char *label;
        json_t *gib;
    } mparts[] = {
        {"weights", rp__copy(m, "weights_gib")},
        {"activations", rp__copy(m, "activation_gib")},
        {"non-torch (CUDA context, NCCL)", rp__copy(m, "non_torch_gib")},
        {"KV cache: this batch", rp__copy(j, "summary.kv_needed_gib")},
        {"KV cache: free", rp__real(kv > kv_need ? kv - kv_need : 0)},
        {"outside --gpu-memory-utilization",
         rp__real(rp__num(m, "gpu_memory_gib") - rp__num(m, "budget_gib"))},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(mparts); i++)
        json_array_append_new(
            mem, json_pack("[s, o, I]", mparts[i].label, mparts[i].gib, (json_int_t)i));
    json_t *ms = rp__vl_new("memory", 0, 70);
    json_object_set_new(ms, "mark", rp__vl_mark("bar", false));
    json_object_set_new(
        ms, "encoding",
        json_pack("{s:o, s:{s:s, s:s, s:s, s:{s:s}}, s:o, s:o}", "x",
                  rp__vl_field("GiB", "GiB per GPU"), "color", "field", "part", "type", "nominal",
                  "title", "memory", "sort", "field", "order", "order",
                  rp__vl_field("order:O", NULL), "tooltip",
                  rp__vl_tooltip((const char *const[]){"part:N", "part", "GiB", "GiB", NULL})));
    rp__section_chart(sec, "Memory plan of one GPU",
                      "weights + activation reserve + non-torch memory + KV cache = "
                      "--gpu-memory-utilization × usable memory",
                      ms);
    rp__ctx_add_section(ctx, sec);
    return TRUE;
}

/* ---- scenarios CSV ----------------------------------------------------------------------- */

static const char *const predicted[] = {"predicted_prefill_ms",
                                        "predicted_decode_ms",
                                        "predicted_tpot_ms",
                                        "predicted_tokens_per_s",
                                        "predicted_tokens_per_s_per_gpu",
                                        NULL};

int
rp__detect_scenarios(const rp_input *in, GError **error)
{
    if (in->header == NULL)
        return 0;
    bool any = false, all = true;
    for (size_t i = 0; predicted[i] != NULL; i++) {
        bool has = g_strv_contains((const char *const *)in->header, predicted[i]);
        any |= has;
        all &= has;
    }
    if (!any)
        return 0;
    if (!all) {
        g_set_error(error, RP_ERROR, RP_ERROR_VERSION,
                    "%s: estimate --scenarios output without all of predicted_prefill_ms, "
                    "predicted_decode_ms, predicted_tpot_ms, predicted_tokens_per_s, "
                    "predicted_tokens_per_s_per_gpu (another servesim version?)",
                    in->path);
        return -1;
    }
    return 1;
}

/* Shown first in the table and used for labels when present. */
static const char *const key_cols[] = {
    "tp", "pp", "dp", "batch_per_gpu", "seq_len", "decode_tokens", "grad_accum", NULL};

/* A CSV cell as the value it writes: integer, number, text or (empty) null. */
static json_t *
cell(const char *s)
{
    int64_t i;
    double d;
    if (*s == '\0')
        return json_null();
    if (base_parse_int64(s, &i))
        return json_integer((json_int_t)i);
    if (base_parse_double(s, &d) && isfinite(d))
        return json_real(d);
    return json_string(s);
}

gboolean
rp__build_scenarios(rp_ctx *ctx, const rp_input *in, GError **error)
{
    g_autoptr(base_csv) c = base_csv_open(in->path, 0, BASE_CSV_HEADER, error);
    if (c == NULL)
        return FALSE;
    /* fields: label, row, the key columns present, the predictions, bottlenecks, error */
    const char *fields[32];
    size_t nf = 0;
    fields[nf++] = "scenario";
    fields[nf++] = "row";
    int label_col = -1;
    static const char *const label_names[] = {"name", "scenario", "label", "config", NULL};
    for (size_t i = 0; label_names[i] != NULL && label_col < 0; i++)
        label_col = base_csv_col(c, label_names[i]);
    for (size_t i = 0; key_cols[i] != NULL; i++)
        if (base_csv_col(c, key_cols[i]) >= 0)
            fields[nf++] = key_cols[i];
    size_t nkey = nf - 2;
    for (size_t i = 0; predicted[i] != NULL; i++)
        fields[nf++] = predicted[i];
    static const char *const tail[] = {"prefill_bottleneck", "decode_bottleneck", "error", NULL};
    for (size_t i = 0; tail[i] != NULL; i++)
        if (base_csv_col(c, tail[i]) >= 0)
            fields[nf++] = tail[i];
    fields[nf] = NULL;
    g_assert(nf < G_N_ELEMENTS(fields));
    const char *const *names = fields + 2; /* the CSV's own columns */

    g_autofree char *title = g_strdup_printf("scenarios: %s", in->path);
    json_t *sec = rp__section_new("scenarios", title, in->path);
    json_t *rows = rp__section_data(sec, "scenarios", fields);
    json_t *trows = json_array();
    int more;
    size_t n = 0, total = 0;
    GError *e = NULL;
    while ((more = base_csv_next(c, &e)) > 0) {
        total++;
        if (n >= MAX_SCENARIOS)
            continue;
        GString *label = g_string_new(NULL);
        if (label_col >= 0)
            g_string_append(label, base_csv_field(c, (size_t)label_col));
        else
            for (size_t i = 0; i < nkey; i++)
                g_string_append_printf(label, "%s%s=%s", i ? " " : "", names[i],
                                       base_csv_field(c, (size_t)base_csv_col(c, names[i])));
        if (label->len == 0)
            g_string_printf(label, "row %zu", n + 1);
        json_t *r = json_array();
        json_array_append_new(r, json_string(label->str));
        json_array_append_new(r, json_integer((json_int_t)n + 1));
        for (size_t i = 0; names[i] != NULL; i++)
            json_array_append_new(r, cell(base_csv_field(c, (size_t)base_csv_col(c, names[i]))));
        json_array_append(rows, r);
        json_array_append_new(trows, r);
        g_string_free(label, TRUE);
        n++;
    }
    if (more < 0) {
        json_decref(sec);
        json_decref(trows);
        g_propagate_error(error, e);
        return FALSE;
    }
    json_t *tcols = json_pack("[s, s]", "scenario", "row");
    for (size_t i = 0; names[i] != NULL; i++)
        json_array_append_new(tcols, json_string(names[i]));
    rp__section_table(sec, total > n ? "Scenarios (first 1000 rows)" : "Scenarios", tcols, trows);
    if (total > n)
        rp__section_note(sec, "%zu rows; the charts and the table show the first %d.", total,
                         MAX_SCENARIOS);

    const char *sort_rows = "row";
    json_t *s = rp__vl_new("scenarios", 0, 0);
    json_object_set_new(
        s, "transform",
        json_pack("[{s:s}, {s:[s, s], s:[s, s]}]", "filter", "isValid(datum.predicted_prefill_ms)",
                  "fold", "predicted_prefill_ms", "predicted_decode_ms", "as", "phase", "ms"));
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_object_set_new(
        s, "encoding",
        json_pack(
            "{s:{s:s, s:s, s:s, s:{s:s}}, s:o, s:o, s:o}", "x", "field", "scenario", "type",
            "nominal", "title", "scenario", "sort", "field", sort_rows, "y",
            rp__vl_field("ms", "predicted time (ms)"), "color", rp__vl_field("phase:N", NULL),
            "tooltip",
            rp__vl_tooltip((const char *const[]){"scenario:N", "scenario", "phase:N", "phase", "ms",
                                                 "ms", "predicted_tpot_ms", "TPOT (ms)", NULL})));
    rp__section_chart(sec, "Prefill and decode time per scenario",
                      "predicted_prefill_ms + predicted_decode_ms (× grad_accum), stacked", s);

    s = rp__vl_new("scenarios", 0, 0);
    json_object_set_new(
        s, "transform",
        json_pack("[{s:s}]", "filter", "isValid(datum.predicted_tokens_per_s_per_gpu)"));
    json_object_set_new(s, "mark", rp__vl_mark("bar", false));
    json_object_set_new(
        s, "encoding",
        json_pack(
            "{s:{s:s, s:s, s:s, s:{s:s}}, s:o, s:o, s:o}", "x", "field", "scenario", "type",
            "nominal", "title", "scenario", "sort", "field", sort_rows, "y",
            rp__vl_field("predicted_tokens_per_s_per_gpu", "decode tokens/s per GPU"), "color",
            rp__vl_field("decode_bottleneck:N", "decode bottleneck"), "tooltip",
            rp__vl_tooltip((const char *const[]){
                "scenario:N", "scenario", "predicted_tokens_per_s_per_gpu", "tok/s/GPU",
                "predicted_tokens_per_s", "tok/s", "decode_bottleneck:N", "bottleneck", NULL})));
    if (base_csv_col(c, "decode_bottleneck") < 0)
        json_object_del(json_object_get(s, "encoding"), "color");
    rp__section_chart(sec, "Decode throughput per GPU", NULL, s);

    /* one curve per TP degree (when the CSV has one), points ordered by interactivity */
    bool by_tp = base_csv_col(c, "tp") >= 0;
    json_t *pts = json_object();
    json_object_set_new(
        pts, "mark",
        json_pack("{s:s, s:b, s:i, s:b}", "type", "point", "filled", 1, "size", 60, "tooltip", 1));
    json_t *penc = json_pack(
        "{s:o, s:o, s:o}", "x", rp__vl_field("tok_s_per_user", "interactivity (tok/s per user)"),
        "y", rp__vl_field("predicted_tokens_per_s_per_gpu", "throughput (tok/s per GPU)"),
        "tooltip",
        rp__vl_tooltip((const char *const[]){"scenario:N", "scenario", "tok_s_per_user",
                                             "tok/s per user", "predicted_tokens_per_s_per_gpu",
                                             "tok/s per GPU", "predicted_tpot_ms", "TPOT (ms)",
                                             NULL}));
    json_t *layers = json_array();
    if (by_tp) {
        json_object_set_new(penc, "color", rp__vl_field("tp:N", "tensor parallel"));
        json_t *line = json_pack("{s:{s:s}, s:{s:o, s:o, s:o, s:o}}", "mark", "type", "line",
                                 "encoding", "x", rp__vl_field("tok_s_per_user", NULL), "y",
                                 rp__vl_field("predicted_tokens_per_s_per_gpu", NULL), "color",
                                 rp__vl_field("tp:N", "tensor parallel"), "order",
                                 rp__vl_field("tok_s_per_user", NULL));
        json_array_append_new(layers, line);
    }
    json_object_set_new(pts, "encoding", penc);
    json_array_append_new(layers, pts);
    s = rp__vl_layers(0, 0, layers);
    json_object_set_new(s, "data", json_pack("{s:s}", "name", "scenarios"));
    json_object_set_new(s, "transform",
                        json_pack("[{s:s}, {s:s, s:s}]", "filter", "datum.predicted_tpot_ms > 0",
                                  "calculate", "1000 / datum.predicted_tpot_ms", "as",
                                  "tok_s_per_user"));
    rp__section_chart(sec, "Throughput per GPU vs interactivity",
                      "InferenceMAX v2's comparison: tokens/s per GPU against tokens/s per user "
                      "(1000 / TPOT ms)",
                      s);
    rp__ctx_add_section(ctx, sec);
    return TRUE;
}
