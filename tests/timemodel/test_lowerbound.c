/* tests/timemodel/test_lowerbound.c: a roofline at peak (all efficiencies 1, no overheads) is
 * a lower bound of real kernel times. Checked on measurements taken on real H100s:
 *   - Vidur's per-operator tables (vidur-profiling/...mlp.csv: QKV, O, gate+up, act, down at
 *     tp 1..8, 1..4096 tokens; median of the recorded repeats), compared with the roofline's
 *     own operators for a one-layer model of the same shape;
 *   - aiconfigurator's vLLM GEMM table (m, n, k, bf16) priced with tm_gemm_work;
 *   - aiconfigurator's vLLM context (prefill) and generation (decode) attention tables,
 *     compared with the roofline's attention operators for the same batch.
 * Rows whose operands fit in the 50 MB L2 are counted separately: a benchmark that repeats
 * the same operands reads them from L2 and may beat HBM bandwidth. The other rows must satisfy
 * measured ≥ 0.97 × roofline (3 % noise). The test prints p10/p50/p90 of measured ÷ roofline
 * per table (docs/timemodel.md quotes them). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/csv.h"
#include "base/stats.h"
#include "timemodel/roofline.h"

#define DATA  SERVESIM_DATA_DIR
#define SLACK 0.97

typedef struct {
    const char *table;
    GArray *ratio; /* measured ÷ roofline, rows above L2 */
    GArray *ratio_l2;
    size_t l2_rows;
    size_t violations;
    double worst; /* smallest ratio above L2 */
    char worst_row[160];
} tally;

static void
tally_init(tally *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->table = name;
    t->ratio = g_array_new(FALSE, FALSE, sizeof(double));
    t->ratio_l2 = g_array_new(FALSE, FALSE, sizeof(double));
    t->worst = INFINITY;
}

static void
tally_add(
    tally *t, double measured_s, double roof_s, double operand_bytes, double l2, const char *row)
{
    double r = measured_s / roof_s;
    if (operand_bytes <= l2) {
        t->l2_rows++;
        g_array_append_val(t->ratio_l2, r);
        return;
    }
    g_array_append_val(t->ratio, r);
    if (r < t->worst) {
        t->worst = r;
        g_strlcpy(t->worst_row, row, sizeof t->worst_row);
    }
    if (r < SLACK)
        t->violations++;
}

static void
tally_report(tally *t)
{
    double *x = (double *)(void *)t->ratio->data;
    size_t n = t->ratio->len;
    base_sort_doubles(x, n);
    double *y = (double *)(void *)t->ratio_l2->data;
    base_sort_doubles(y, t->ratio_l2->len);
    fprintf(stderr,
            "lower-bound %-34s rows %5zu  measured/roofline p10 %.2f p50 %.2f p90 %.2f min %.3f | "
            "L2-resident %zu (p10 %.2f min %.2f)\n",
            t->table, n, base_percentile_sorted(x, n, 10), base_percentile_sorted(x, n, 50),
            base_percentile_sorted(x, n, 90), n ? x[0] : (double)NAN, t->l2_rows,
            base_percentile_sorted(y, t->ratio_l2->len, 10), t->ratio_l2->len ? y[0] : (double)NAN);
    cr_expect_gt(n, 0, "%s: no rows above L2", t->table);
    cr_expect_eq(t->violations, 0, "%s: %zu rows below %.2f × roofline; worst %.3f at %s", t->table,
                 t->violations, SLACK, t->worst, t->worst_row);
    g_array_free(t->ratio, TRUE);
    g_array_free(t->ratio_l2, TRUE);
}

static tm_hardware hw;

static void
setup(void)
{
    GError *err = NULL;
    cr_assert(tm_hardware_load(&hw, "h100-sxm", &err), "%s", err ? err->message : "");
}

static void
teardown(void)
{
    tm_hardware_clear(&hw);
}

TestSuite(lowerbound, .init = setup, .fini = teardown, .timeout = 120);

/* Peak roofline for a one-layer model of the given shape on one GPU of a TP group. */
static tm_timemodel *
peak_model(tm_model_spec *m,
           int64_t h,
           int64_t heads,
           int64_t kv,
           int64_t d,
           int64_t ffn,
           int64_t vocab,
           int64_t tp)
{
    json_auto_t *cfg =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "hidden_size", h, "num_hidden_layers",
                  (json_int_t)1, "num_attention_heads", heads, "num_key_value_heads", kv,
                  "head_dim", d, "intermediate_size", ffn, "vocab_size", vocab,
                  "max_position_embeddings", (json_int_t)131072);
    GError *err = NULL;
    cr_assert(tm_model_spec_from_json(m, cfg, "shape", &err), "%s", err ? err->message : "");
    tm_roofline_params p;
    tm_roofline_params_defaults(&p, &hw);
    p.compute_eff = p.memory_eff = p.comm_eff = 1.0;
    p.step_overhead_s = p.per_seq_overhead_s = 0.0;
    p.attn_item_s = 0.0; /* an overhead too: the bound is bandwidth and FLOPs alone */
    p.launch_eager_s = 0.0;
    p.par = tm_parallel_make(tp, 1, 1, false);
    return tm_roofline_new(m, &hw, &p);
}

static double
col(const base_csv *c, const char *name)
{
    int i = base_csv_col(c, name);
    cr_assert_geq(i, 0, "missing column %s", name);
    double v;
    cr_assert(base_parse_double(base_csv_field(c, i), &v), "%s: '%s'", name, base_csv_field(c, i));
    return v;
}

static void
vidur_file(const char *file, tally *t)
{
    GError *err = NULL;
    g_autofree char *path = g_build_filename(DATA, "vidur-profiling", file, NULL);
    g_autoptr(base_csv) c = base_csv_open(path, 0, BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");

    static const struct {
        const char *col, *op;
    } pairs[] = {
        {"time_stats.attn_pre_proj.median", "qkv"},
        {"time_stats.attn_post_proj.median", "o-proj"},
        {"time_stats.mlp_up_proj.median", "mlp.gate_up"},
        {"time_stats.mlp_act.median", "mlp.act"},
        {"time_stats.mlp_down_proj.median", "mlp.down"},
    };

    while (base_csv_next(c, &err) > 0) {
        int64_t tp = (int64_t)col(c, "num_tensor_parallel_workers");
        double tokens = col(c, "num_tokens");
        tm_model_spec m;
        g_autoptr(tm_timemodel) tm =
            peak_model(&m, (int64_t)col(c, "n_embd"), (int64_t)col(c, "n_head"),
                       (int64_t)col(c, "n_kv_head"), (int64_t)(col(c, "n_embd") / col(c, "n_head")),
                       (int64_t)col(c, "n_expanded_embd"), (int64_t)col(c, "vocab_size"), tp);
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add(&b, (uint64_t)tokens, 0, true);
        tm_roofline_detail d;
        tm_roofline_eval(tm, &b, &d);
        for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
            const tm_op *o = tm_roofline_find_op(&d, pairs[i].op);
            cr_assert_not_null(o, "%s", pairs[i].op);
            char row[160];
            g_snprintf(row, sizeof row, "%s %s tokens=%.0f tp=%" G_GINT64_FORMAT, file, pairs[i].op,
                       tokens, tp);
            tally_add(t, col(c, pairs[i].col) * 1e-3, o->time_s, o->bytes, hw.l2_bytes, row);
        }
        tm_model_spec_clear(&m);
    }
    cr_assert_null(err, "%s", err ? err->message : "");
}

Test(lowerbound, vidur_mlp_tables)
{
    const char *files[] = {"compute_h100_meta-llama_Llama-2-7b-hf_mlp.csv",
                           "compute_h100_meta-llama_Llama-2-70b-hf_mlp.csv",
                           "compute_h100_codellama_CodeLlama-34b-Instruct-hf_mlp.csv"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        tally t;
        tally_init(&t, files[i] + strlen("compute_h100_"));
        vidur_file(files[i], &t);
        tally_report(&t);
    }
}

Test(lowerbound, aiconfigurator_gemm)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(
        DATA "/aiconfigurator-h100/vllm-0.14.0_gemm_perf.bf16.csv", 0, BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    tally t;
    tally_init(&t, "aiconfigurator gemm bf16");
    double P = hw.peak_flops[TM_DTYPE_BF16], W = hw.mem_bw;
    while (base_csv_next(c, &err) > 0) {
        double m = col(c, "m"), n = col(c, "n"), k = col(c, "k"), f, bytes;
        tm_gemm_work(m, n, k, 2.0, 2.0, &f, &bytes);
        char row[160];
        g_snprintf(row, sizeof row, "gemm m=%.0f n=%.0f k=%.0f", m, n, k);
        tally_add(&t, col(c, "latency") * 1e-3, fmax(f / P, bytes / W), bytes, hw.l2_bytes, row);
    }
    cr_assert_null(err);
    tally_report(&t);
}

/* Attention rows: a batch of BATCH sequences, each with Q new tokens on top of CTX cached. */
static void
attention_table(const char *file, const char *name, const char *op, bool decode)
{
    GError *err = NULL;
    g_autofree char *path = g_build_filename(DATA, "aiconfigurator-h100", file, NULL);
    g_autoptr(base_csv) c = base_csv_open(path, 0, BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    tally t;
    tally_init(&t, name);
    while (base_csv_next(c, &err) > 0) {
        int64_t heads = (int64_t)col(c, "num_heads"), kv = (int64_t)col(c, "num_key_value_heads");
        int64_t d = (int64_t)col(c, "head_dim"), batch = (int64_t)col(c, "batch_size");
        int64_t isl = (int64_t)col(c, "isl"), step = (int64_t)col(c, "step");
        tm_model_spec m;
        g_autoptr(tm_timemodel) tm = peak_model(&m, heads * d, heads, kv, d, 1024, 1024, 1);
        tm_batch b;
        tm_batch_init(&b, 0);
        for (int64_t i = 0; i < batch; i++)
            tm_batch_add(&b, decode ? 1 : (uint64_t)isl, decode ? (uint64_t)step : 0, true);
        tm_roofline_detail det;
        tm_roofline_eval(tm, &b, &det);
        /* a one-token "prompt" is decode class (q == 1) */
        const tm_op *o = tm_roofline_find_op(&det, !decode && isl == 1 ? "attention.decode" : op);
        cr_assert_not_null(o);
        char row[160];
        g_snprintf(row, sizeof row,
                   "batch=%" G_GINT64_FORMAT " isl=%" G_GINT64_FORMAT " step=%" G_GINT64_FORMAT
                   " heads=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                   batch, isl, step, heads, kv);
        tally_add(&t, col(c, "latency") * 1e-3, o->time_s, o->bytes, hw.l2_bytes, row);
        tm_model_spec_clear(&m);
    }
    cr_assert_null(err);
    tally_report(&t);
}

Test(lowerbound, aiconfigurator_context_attention)
{
    attention_table("vllm-0.14.0_context_attention_perf.bf16kv.csv",
                    "aiconfigurator context attention", "attention.prefill", false);
}

Test(lowerbound, aiconfigurator_generation_attention)
{
    attention_table("vllm-0.14.0_generation_attention_perf.bf16kv.csv",
                    "aiconfigurator generation attention", "attention.decode", true);
}

/* DeepSeek-V3.2 DSA attention module (one layer: q/kv projections, lightning indexer, sparse
 * MLA, o-proj; bf16 weights and KV) against the roofline's qkv + indexer + attention + o-proj
 * operators of one layer. num_heads is the per-GPU head count (128 / tp). */
static void
dsa_table(const char *file, const char *name, bool decode)
{
    GError *err = NULL;
    g_autofree char *path = g_build_filename(DATA, "aiconfigurator-h100", file, NULL);
    g_autoptr(base_csv) c = base_csv_open(path, 0, BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    tm_model_spec m;
    cr_assert(tm_model_spec_load(&m, "deepseek-v3.2", &err), "%s", err ? err->message : "");
    tally t;
    tally_init(&t, name);
    tm_timemodel *models[8] = {NULL};
    while (base_csv_next(c, &err) > 0) {
        int64_t heads = (int64_t)col(c, "num_heads"), batch = (int64_t)col(c, "batch_size");
        int64_t isl = (int64_t)col(c, "isl"), step = (int64_t)col(c, "step");
        int64_t tp = m.heads / heads;
        cr_assert(tp >= 1 && tp <= 128 && m.heads % heads == 0);
        int slot = 0;
        while ((1 << slot) < tp)
            slot++;
        cr_assert_lt(slot, 8);
        if (models[slot] == NULL) {
            tm_roofline_params p;
            tm_roofline_params_defaults(&p, &hw);
            p.compute_eff = p.memory_eff = p.comm_eff = 1.0;
            p.step_overhead_s = p.per_seq_overhead_s = 0.0;
            p.attn_item_s = 0.0;
            p.launch_eager_s = 0.0;
            p.attn_item_s = 0.0;
            p.launch_eager_s = 0.0; /* an overhead too: the bound is bandwidth and FLOPs alone */
            p.launch_eager_s = 0.0;
            p.par = tm_parallel_make(tp, 1, 1, false);
            models[slot] = tm_roofline_new(&m, &hw, &p);
        }
        tm_batch b;
        tm_batch_init(&b, (uint32_t)m.index_topk);
        for (int64_t i = 0; i < batch; i++)
            tm_batch_add(&b, decode ? 1 : (uint64_t)isl, decode ? (uint64_t)step : 0, true);
        tm_roofline_detail det;
        tm_roofline_eval(models[slot], &b, &det);
        double time = 0, bytes = 0;
        for (size_t i = 0; i < det.n_ops; i++) {
            const tm_op *o = &det.ops[i];
            if (o->row == TM_ROW_QKV || o->row == TM_ROW_ATTENTION || o->row == TM_ROW_INDEXER ||
                o->row == TM_ROW_OPROJ) {
                time += o->time_s / o->count;
                bytes += o->bytes;
            }
        }
        char row[160];
        g_snprintf(row, sizeof row,
                   "batch=%" G_GINT64_FORMAT " isl=%" G_GINT64_FORMAT " step=%" G_GINT64_FORMAT
                   " heads=%" G_GINT64_FORMAT,
                   batch, isl, step, heads);
        tally_add(&t, col(c, "latency") * 1e-3, time, bytes, hw.l2_bytes, row);
    }
    cr_assert_null(err);
    for (int i = 0; i < 8; i++)
        tm_timemodel_free(models[i]);
    tm_model_spec_clear(&m);
    tally_report(&t);
}

Test(lowerbound, aiconfigurator_dsa_modules)
{
    dsa_table("vllm-0.19.0_dsa_context_module_perf.DeepSeek-V3.2.bf16kv.csv",
              "aiconfigurator DSA context module", false);
    dsa_table("vllm-0.19.0_dsa_generation_module_perf.DeepSeek-V3.2.bf16kv.csv",
              "aiconfigurator DSA generation module", true);
}
