/* tools/cmd_estimate_views.c: `servesim estimate --model A,B,C` (the models side by side on
 * the same hardware and scenario) and `--overlap φ` (a text timeline of one prefill step and
 * one decode step: CPU overhead, GPU kernels, and communication, the φ share of it hidden
 * under the kernels and the rest exposed after them). Figures come from
 * timemodel/estimate_views.h; docs/analysis.md §5. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/opts.h"
#include "timemodel/estimate_views.h"
#include "timemodel/setup.h"
#include "tools/analyze.h"
#include "tools/cli.h"
#include "tools/estimate.h"

/* ---- multi-model comparison ----------------------------------------------------------- */

static const an_col cols[] = {
    {"model", "model", AN_STR, 0},
    {"params_b", "params B", AN_NUM, 2},
    {"active_params_b", "active B", AN_NUM, 2},
    {"weights_gb_per_gpu", "weights GB/GPU", AN_NUM, 2},
    {"kv_bytes_per_token", "KV B/token", AN_NUM, 0},
    {"ttft_ms", "prefill ms", AN_NUM, 3},
    {"prefill_tflops_per_gpu", "prefill TFLOP/s", AN_NUM, 1},
    {"tpot_ms", "TPOT ms", AN_NUM, 3},
    {"decode_tflops_per_gpu", "decode TFLOP/s", AN_NUM, 1},
    {"decode_tokens_per_s", "tok/s", AN_NUM, 1},
    {"prefill_bottleneck", "prefill bound", AN_STR, 0},
    {"decode_bottleneck", "decode bound", AN_STR, 0},
    {"fits", "fits", AN_STR, 0},
};

static char *
bottleneck(tm_row_id id, const char *bound)
{
    return id >= TM_ROW_COUNT ? g_strdup("-") : g_strdup_printf("%s (%s)", tm_row_name(id), bound);
}

int
estimate_compare(const estimate_view_args *a)
{
    g_auto(GStrv) names = g_strsplit(a->tm->model, ",", -1);
    g_autoptr(an_table) t = an_table_new(cols, G_N_ELEMENTS(cols));
    base_opt_set tmset = {&tm_options_table, 1};
    g_autofree char *hw_name = NULL, *hw_display = NULL;
    int64_t gpus = 0;
    guint n = 0;
    for (char **nm = names; *nm != NULL; nm++) {
        g_autofree char *name = g_strstrip(g_strdup(*nm));
        if (*name == '\0')
            return cli_failf(CLI_USAGE, "--model %s: empty name in the list", a->tm->model);
        tm_options o;
        memset(&o, 0, sizeof o);
        base_opts_copy(&tmset, &o, a->tm);
        g_free(o.model);
        o.model = g_strdup(name);
        GError *err = NULL;
        tm_setup *s = tm_setup_new(&o, &err);
        bool weights_fit = s != NULL;
        if (s == NULL && g_error_matches(err, TM_ERROR, TM_ERROR_NO_FIT)) {
            /* still a row: its sizes, and why it has no times */
            g_clear_error(&err);
            s = tm_setup_new_offload(&o, &err);
        }
        base_opts_clear(&tmset, &o);
        if (s == NULL)
            return cli_fail(err, CLI_USAGE);
        an_table_row(t);
        an_table_str(t, 0, name);
        n++;
        tm_roofline_params *kp = tm_setup_params(s);
        if (isfinite(a->step_overhead_us))
            kp->step_overhead_s = a->step_overhead_us * 1e-6;
        if (isfinite(a->per_seq_overhead_us))
            kp->per_seq_overhead_s = a->per_seq_overhead_us * 1e-6;
        if (hw_name == NULL) {
            hw_name = g_strdup(tm_setup_hardware(s)->name);
            hw_display = g_strdup(tm_setup_hardware(s)->display_name);
            gpus = tm_parallel_gpus(tm_setup_parallel(s));
        }
        tm_compare_row r;
        tm_compare_price(s, a->batch, a->input_len, a->output_len, &r);
        an_table_num(t, 1, r.params_total / 1e9);
        an_table_num(t, 2, r.params_active / 1e9);
        an_table_num(t, 3, r.weight_bytes_gpu / 1e9);
        an_table_num(t, 4, r.kv_bytes_per_token);
        if (!weights_fit) {
            g_autofree char *why = g_strdup_printf("no: weights exceed the %.2f GB of one GPU",
                                                   tm_setup_hardware(s)->memory_bytes / 1e9);
            an_table_str(t, 12, why);
            tm_setup_free(s);
            continue;
        }
        an_table_num(t, 5, r.prefill_s * 1e3);
        an_table_num(t, 6, r.prefill_tflops);
        if (a->output_len > 1) {
            an_table_num(t, 7, r.tpot_s * 1e3);
            an_table_num(t, 8, r.decode_tflops);
            an_table_num(t, 9, r.decode_tok_s);
        }
        g_autofree char *bp = bottleneck(r.prefill_bottleneck, r.prefill_bound);
        g_autofree char *bd = bottleneck(r.decode_bottleneck, r.decode_bound);
        an_table_str(t, 10, bp);
        an_table_str(t, 11, bd);
        an_table_str(t, 12, r.kv_fits ? "yes" : "no: KV cache too small for the batch");
        tm_setup_free(s);
    }
    if (n < 2)
        return cli_failf(CLI_USAGE, "--model %s: a comparison needs two or more models",
                         a->tm->model);
    GString *g = g_string_new(NULL);
    if (a->json) {
        json_auto_t *o = json_object();
        json_object_set_new(o, "hardware", hw_name ? json_string(hw_name) : json_null());
        json_object_set_new(o, "gpus_per_replica", json_integer(gpus));
        json_object_set_new(o, "batch", json_integer(a->batch));
        json_object_set_new(o, "input_len", json_integer(a->input_len));
        json_object_set_new(o, "output_len", json_integer(a->output_len));
        json_object_set_new(o, "models", an_table_json(t));
        g_autofree char *s = base_json_dumps(o);
        g_string_append(g, s);
    } else if (a->csv) {
        an_table_csv(t, g);
    } else {
        g_string_append_printf(g,
                               "%u models on %s (%s), %" G_GINT64_FORMAT
                               " GPU(s) per replica; %" G_GINT64_FORMAT
                               " sequences × %" G_GINT64_FORMAT " prompt tokens → %" G_GINT64_FORMAT
                               " output tokens; TFLOP/s are effective, per GPU\n\n",
                               n, hw_name ? hw_name : a->tm->hardware, hw_display ? hw_display : "",
                               gpus, a->batch, a->input_len, a->output_len);
        an_table_text(t, g, "  ");
    }
    fputs(g->str, stdout);
    g_string_free(g, TRUE);
    return CLI_OK;
}

/* ---- overlap timeline ------------------------------------------------------------------ */

#define WIDTH 60

static void
lane(GString *g, const char *name, double scale, double t0, double t1, char ch, const char *note)
{
    char buf[WIDTH + 1];
    memset(buf, ' ', WIDTH);
    buf[WIDTH] = '\0';
    if (t1 > t0 && scale > 0) {
        long a = lround(t0 / scale * WIDTH), b = lround(t1 / scale * WIDTH);
        if (b <= a)
            b = a + 1; /* a non-empty segment is never invisible */
        for (long c = MAX(a, 0); c < MIN(b, WIDTH); c++)
            buf[c] = ch;
    }
    g_string_append_printf(g, "  %-8s|%s|  %s\n", name, buf, note);
}

static void
one(GString *g, const char *title, const tm_roofline_detail *d, double phi)
{
    tm_overlap_view v;
    tm_overlap_view_get(d, phi, &v);
    double scale = v.serial_s;
    g_string_append_printf(g, "%s, φ = %.2f: %.3f ms (φ = 0: %.3f ms, φ = 1: %.3f ms)\n", title,
                           phi, v.step_s * 1e3, v.serial_s * 1e3, v.ideal_s * 1e3);
    g_autofree char *n1 = g_strdup_printf("overhead %.3f ms", v.overhead_s * 1e3);
    g_autofree char *n2 = g_strdup_printf("kernels %.3f ms", v.work_s * 1e3);
    g_autofree char *n3 = g_strdup_printf("comm %.3f ms: %.3f hidden (~), %.3f exposed (=)",
                                          v.comm_s * 1e3, v.hidden_s * 1e3, v.exposed_s * 1e3);
    double k0 = v.overhead_s, k1 = v.overhead_s + v.work_s;
    lane(g, "host", scale, 0, k0, 'o', n1);
    lane(g, "compute", scale, k0, k1, '#', n2);
    /* the hidden part runs under the last kernels; the exposed part after them */
    GString *c = g_string_new(NULL);
    lane(c, "comm", scale, MAX(k0, k1 - v.hidden_s), k1, '~', n3);
    if (v.exposed_s > 0) {
        long a = lround(k1 / scale * WIDTH), b = lround((k1 + v.exposed_s) / scale * WIDTH);
        if (b <= a)
            b = a + 1;
        /* "  comm    |": the lane starts after 2 + 8 + 1 characters */
        for (long x = MAX(a, 0); x < MIN(b, WIDTH); x++)
            c->str[11 + x] = '=';
    }
    g_string_append(g, c->str);
    g_string_free(c, TRUE);
    if (v.comm_s <= 0)
        g_string_append(g, "  (no communication: one GPU per replica, or no collectives)\n");
    if (v.overhidden)
        g_string_append_printf(g,
                               "  warning: φ hides %.3f ms of communication under %.3f ms of "
                               "kernels; the roofline's (1 − φ)·t_comm understates this step\n",
                               v.hidden_s * 1e3, v.work_s * 1e3);
}

void
estimate_overlap_print(GString *g,
                       const tm_roofline_detail *prefill,
                       const tm_roofline_detail *decode,
                       double phi)
{
    g_string_append(g, "\ncompute vs communication overlap (docs/analysis.md §5)\n");
    one(g, "prefill step", prefill, phi);
    if (decode != NULL)
        one(g, "decode step at the mean context", decode, phi);
}

static json_t *
view_json(const tm_roofline_detail *d, double phi)
{
    tm_overlap_view v;
    tm_overlap_view_get(d, phi, &v);
    json_t *o = json_object();
    json_object_set_new(o, "overhead_ms", base_json_real(v.overhead_s * 1e3));
    json_object_set_new(o, "kernels_ms", base_json_real(v.work_s * 1e3));
    json_object_set_new(o, "comm_ms", base_json_real(v.comm_s * 1e3));
    json_object_set_new(o, "hidden_ms", base_json_real(v.hidden_s * 1e3));
    json_object_set_new(o, "exposed_ms", base_json_real(v.exposed_s * 1e3));
    json_object_set_new(o, "step_ms", base_json_real(v.step_s * 1e3));
    json_object_set_new(o, "serial_ms", base_json_real(v.serial_s * 1e3));
    json_object_set_new(o, "ideal_ms", base_json_real(v.ideal_s * 1e3));
    json_object_set_new(o, "overhidden", json_boolean(v.overhidden));
    return o;
}

json_t *
estimate_overlap_json(const tm_roofline_detail *prefill,
                      const tm_roofline_detail *decode,
                      double phi)
{
    json_t *o = json_object();
    json_object_set_new(o, "phi", base_json_real(phi));
    json_object_set_new(o, "prefill", view_json(prefill, phi));
    json_object_set_new(o, "decode", decode != NULL ? view_json(decode, phi) : json_null());
    return o;
}
