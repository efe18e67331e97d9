/* tests/timemodel/test_roofline.c: the roofline against hand-derived figures (docs/domain.md §3),
 * the fast path against the detailed path, monotonicity, knobs (efficiencies, dtypes,
 * overlap, overheads, imbalance), MoE distinct experts, MLA forms and the DSA decode bytes. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/rng.h"
#include "timemodel/roofline.h"

static tm_hardware h100;

static void
setup(void)
{
    GError *err = NULL;
    cr_assert(tm_hardware_load(&h100, "h100-sxm", &err), "%s", err ? err->message : "");
}

static void
teardown(void)
{
    tm_hardware_clear(&h100);
}

TestSuite(roofline, .init = setup, .fini = teardown, .timeout = 60);

static tm_model_spec
load(const char *name)
{
    tm_model_spec m;
    GError *err = NULL;
    cr_assert(tm_model_spec_load(&m, name, &err), "%s", err ? err->message : "");
    return m;
}

/* Peak params: η = 1, no overheads, tp/pp/dp as given. */
static tm_roofline_params
peak(int64_t tp, int64_t pp, int64_t dp, bool ep)
{
    tm_roofline_params p;
    tm_roofline_params_defaults(&p, &h100);
    p.compute_eff = p.memory_eff = p.comm_eff = 1.0;
    p.step_overhead_s = p.per_seq_overhead_s = 0.0;
    p.par = tm_parallel_make(tp, pp, dp, ep);
    return p;
}

#define NEAR(a, b, rel) (fabs((a) - (b)) <= (rel)*fabs(b))

/* One Llama-3.1-8B decode at 1024 tokens of context on one H100 at peak, by hand:
 * linear weights per layer (bf16): qkv 4096·6144·2 = 50,331,648; o 33,554,432; gate_up
 * 2·4096·14336·2 = 234,881,024; down 117,440,512 → 436,207,616 ×32 = 13,958,643,712 B;
 * lm-head 128256·4096·2 = 1,050,673,152 B; KV: 1024 tokens read + 1 written, 4096 B each,
 * ×32 layers = 134,348,800 B. Activations, norms, sampler add < 0.1 %. Σ ≈ 15,143,665,664 B at
 * 3.35 TB/s = 4.5205 ms. */
Test(roofline, llama8b_single_decode_by_hand)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 1023, true);
    tm_roofline_detail d;
    double t = tm_roofline_eval(tm, &b, &d);
    cr_expect(NEAR(t, 4.5205e-3, 0.002), "step %.4f ms", t * 1e3);
    const tm_op *qkv = tm_roofline_find_op(&d, "qkv");
    cr_assert_not_null(qkv);
    cr_expect_eq(qkv->bytes, 50331648.0 + 8192.0 + 12288.0); /* weights + in + out */
    cr_expect_eq(qkv->flops, 2.0 * 6144.0 * 4096.0);
    cr_expect_eq(qkv->count, 32);
    const tm_op *att = tm_roofline_find_op(&d, "attention.decode");
    cr_assert_not_null(att);
    /* (1024 read + 1 written)·2·8·128·2 + q and o 2·32·128·2 */
    cr_expect_eq(att->bytes, 1025.0 * 4096.0 + 16384.0);
    cr_expect_eq(att->flops, 4.0 * 128.0 * 32.0 * 1024.0);
    cr_expect_str_eq(d.rows[TM_ROW_MLP].bound, "memory");
    cr_expect_eq(tm_roofline_bottleneck(&d), TM_ROW_MLP);
    cr_expect_eq(d.rows[TM_ROW_COLLECTIVES].time_s, 0.0);
    cr_expect_str_eq(d.rows[TM_ROW_MOE].bound, "-");
    tm_model_spec_clear(&m);
}

/* An 8192-token prompt: gate_up is 2·8192·28672·4096 = 1.924e12 FLOP per layer, 1.945 ms at
 * 989.4 TFLOP/s → 62.2 ms over 32 layers; compute bound. */
Test(roofline, llama8b_prefill_is_compute_bound)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 8192, 0, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    const tm_op *gu = tm_roofline_find_op(&d, "mlp.gate_up");
    cr_assert_not_null(gu);
    cr_expect(NEAR(gu->time_s, 32 * 2.0 * 8192 * 28672 * 4096 / 989.4e12, 1e-9));
    cr_expect_str_eq(d.rows[TM_ROW_MLP].bound, "compute");
    cr_expect_str_eq(d.rows[TM_ROW_ATTENTION].bound, "compute");
    cr_expect_eq(d.cost.memory_s < d.cost.compute_s, true);
    tm_model_spec_clear(&m);
}

Test(roofline, fast_path_equals_detailed_path)
{
    const char *models[] = {"llama-3.1-8b",  "mixtral-8x7b",  "deepseek-v3",
                            "deepseek-v3.2", "qwen3-30b-a3b", "deepseek-v2-lite"};
    sim_rng r;
    sim_rng_init(&r, 3, SIM_STREAM_TEST);
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        tm_model_spec m = load(models[i]);
        tm_roofline_params p;
        tm_roofline_params_defaults(&p, &h100);
        p.par = tm_parallel_make(2, 1, 1, false);
        p.overlap = 0.3;
        g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
        for (int k = 0; k < 50; k++) {
            tm_batch b;
            tm_batch_init(&b, (uint32_t)m.index_topk);
            int n = 1 + (int)sim_rng_below(&r, 200);
            for (int s = 0; s < n; s++) {
                bool pre = sim_rng_below(&r, 10) == 0;
                tm_batch_add(&b, pre ? 1 + sim_rng_below(&r, 4000) : 1, sim_rng_below(&r, 60000),
                             sim_rng_below(&r, 5) != 0);
            }
            tm_step_cost fast;
            double t1 = tm_step_s(tm, &b, &fast);
            tm_roofline_detail d;
            double t2 = tm_roofline_eval(tm, &b, &d);
            cr_assert_eq(t1, t2, "%s", models[i]);
            cr_assert_eq(fast.total_s, d.cost.total_s);
            cr_assert_eq(fast.compute_s, d.cost.compute_s);
            double rows = 0;
            for (int j = 0; j < TM_ROW_COUNT; j++)
                rows += d.rows[j].time_s;
            cr_assert(NEAR(rows, t2, 1e-12), "rows sum %.9g vs %.9g", rows, t2);
            cr_assert(
                NEAR(fast.compute_s + fast.memory_s + fast.comm_s + fast.overhead_s, t1, 1e-12));
            cr_assert(tm_step_s(tm, &b, NULL) == t1);
        }
        tm_model_spec_clear(&m);
    }
}

Test(roofline, adding_a_sequence_never_makes_a_step_faster)
{
    const char *models[] = {"llama-3.1-70b", "mixtral-8x7b", "deepseek-v3.2"};
    sim_rng r;
    sim_rng_init(&r, 11, SIM_STREAM_TEST);
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        tm_model_spec m = load(models[i]);
        tm_roofline_params p;
        tm_roofline_params_defaults(&p, &h100);
        p.par = tm_parallel_make(8, 1, 1, false);
        g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
        tm_batch b;
        tm_batch_init(&b, (uint32_t)m.index_topk);
        double prev = 0;
        for (int s = 0; s < 300; s++) {
            bool pre = sim_rng_below(&r, 8) == 0;
            tm_batch_add(&b, pre ? 2 + sim_rng_below(&r, 2000) : 1, sim_rng_below(&r, 30000), true);
            double t = tm_step_s(tm, &b, NULL);
            cr_assert_geq(t, prev, "%s at %d sequences", models[i], s);
            prev = t;
        }
        tm_model_spec_clear(&m);
    }
}

Test(roofline, empty_batch_costs_nothing)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    cr_expect_eq(tm_step_s(tm, &b, NULL), 0.0);
    tm_model_spec_clear(&m);
}

/* TP=2: per-GPU GEMM work halves; two all-reduces per layer of T·h·2 bytes: ring volume
 * 2·(1/2)·8192 B at 450 GB/s = 18.2 ns + 4.5 µs latency, ×64 → 289.2 µs; ω = 1 hides them. */
Test(roofline, tensor_parallel_halves_gemms_and_adds_allreduce)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p1 = peak(1, 1, 1, false), p2 = peak(2, 1, 1, false);
    g_autoptr(tm_timemodel) t1 = tm_roofline_new(&m, &h100, &p1);
    g_autoptr(tm_timemodel) t2 = tm_roofline_new(&m, &h100, &p2);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 100, true);
    tm_roofline_detail d1, d2;
    tm_roofline_eval(t1, &b, &d1);
    tm_roofline_eval(t2, &b, &d2);
    cr_expect_eq(tm_roofline_find_op(&d2, "mlp.down")->flops,
                 tm_roofline_find_op(&d1, "mlp.down")->flops / 2);
    cr_expect(NEAR(d2.tp_allreduce_s, 64 * (8192.0 / 450e9 + 4.5e-6), 1e-9), "%.3g",
              d2.tp_allreduce_s);
    cr_expect(
        NEAR(d2.rows[TM_ROW_COLLECTIVES].time_s, d2.tp_allreduce_s + d2.logits_gather_s, 1e-12));
    cr_expect_str_eq(d2.rows[TM_ROW_COLLECTIVES].bound, "comm");
    p2.overlap = 1.0;
    g_autoptr(tm_timemodel) t3 = tm_roofline_new(&m, &h100, &p2);
    tm_roofline_detail d3;
    tm_roofline_eval(t3, &b, &d3);
    cr_expect_eq(d3.rows[TM_ROW_COLLECTIVES].time_s, 0.0);
    cr_expect_gt(d3.rows[TM_ROW_COLLECTIVES].comm_s, 0.0);
    /* PCIe backend: 64 GB/s and 10 µs instead */
    p2.overlap = 0.0;
    p2.backend = TM_BACKEND_PCIE;
    g_autoptr(tm_timemodel) t4 = tm_roofline_new(&m, &h100, &p2);
    tm_roofline_detail d4;
    tm_roofline_eval(t4, &b, &d4);
    cr_expect(NEAR(d4.tp_allreduce_s, 64 * (8192.0 / 64e9 + 10e-6), 1e-9));
    tm_model_spec_clear(&m);
}

Test(roofline, pipeline_adds_stage_sends)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 4, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 100, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    /* 3 boundaries × (4096·2 B / 450 GB/s + 4.5 µs) */
    cr_expect(NEAR(d.pp_send_s, 3 * (8192.0 / 450e9 + 4.5e-6), 1e-9));
    tm_model_spec_clear(&m);
}

Test(roofline, efficiencies_dtypes_and_overheads)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_batch pre, dec;
    tm_batch_init(&pre, 0);
    tm_batch_add(&pre, 4096, 0, true);
    tm_batch_init(&dec, 0);
    for (int i = 0; i < 8; i++)
        tm_batch_add(&dec, 1, 500, true);
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) base = tm_roofline_new(&m, &h100, &p);
    tm_roofline_detail a, b;
    tm_roofline_eval(base, &pre, &a);
    p.compute_eff = 0.5;
    g_autoptr(tm_timemodel) half = tm_roofline_new(&m, &h100, &p);
    tm_roofline_eval(half, &pre, &b);
    cr_expect(NEAR(tm_roofline_find_op(&b, "mlp.gate_up")->time_s,
                   2 * tm_roofline_find_op(&a, "mlp.gate_up")->time_s, 1e-12));
    /* fp8 weights: qkv weight bytes halve, GEMMs run at the fp8 rate (2× bf16 on H100) */
    p = peak(1, 1, 1, false);
    p.weight_dtype = TM_DTYPE_FP8;
    g_autoptr(tm_timemodel) f8 = tm_roofline_new(&m, &h100, &p);
    tm_roofline_eval(f8, &dec, &b);
    tm_roofline_eval(base, &dec, &a);
    double act = 8 * (4096.0 + 6144.0) * 2.0;
    cr_expect_eq(tm_roofline_find_op(&b, "qkv")->bytes - act,
                 (tm_roofline_find_op(&a, "qkv")->bytes - act) / 2);
    tm_roofline_eval(f8, &pre, &b);
    tm_roofline_eval(base, &pre, &a);
    cr_expect(NEAR(tm_roofline_find_op(&b, "mlp.gate_up")->time_s,
                   tm_roofline_find_op(&a, "mlp.gate_up")->time_s * 989.4 / 1978.9, 1e-12));
    /* int4 (weight-only): a quarter of the bytes, bf16 compute rate */
    p.weight_dtype = TM_DTYPE_INT4;
    g_autoptr(tm_timemodel) i4 = tm_roofline_new(&m, &h100, &p);
    tm_roofline_eval(i4, &pre, &b);
    cr_expect(NEAR(tm_roofline_find_op(&b, "mlp.gate_up")->time_s,
                   tm_roofline_find_op(&a, "mlp.gate_up")->time_s, 1e-12));
    /* overheads: fixed + per sequence */
    p = peak(1, 1, 1, false);
    p.step_overhead_s = 100e-6;
    p.per_seq_overhead_s = 5e-6;
    g_autoptr(tm_timemodel) ov = tm_roofline_new(&m, &h100, &p);
    tm_roofline_eval(ov, &dec, &b);
    tm_roofline_eval(base, &dec, &a);
    cr_expect(NEAR(b.rows[TM_ROW_OVERHEAD].time_s, 100e-6 + 8 * 5e-6, 1e-12));
    cr_expect(NEAR(b.cost.total_s - a.cost.total_s, 140e-6, 1e-9));
    tm_model_spec_clear(&m);
}

/* docs/domain.md §3.3: E=256, k=8: 1→8, 4→30.5, 16→102, 32→163, 64→222, 128→252, 256→256;
 * Mixtral E=8, k=2: 1→2, 4→5.5, 16→7.9 (the table's rounding, ±0.5). */
Test(roofline, distinct_experts_table)
{
    const double big[][2] = {{1, 8},    {4, 30.5},  {16, 102}, {32, 163},
                             {64, 222}, {128, 252}, {256, 256}};
    for (size_t i = 0; i < G_N_ELEMENTS(big); i++)
        cr_expect(fabs(tm_moe_distinct_experts(256, 8, big[i][0]) - big[i][1]) <= 0.5, "T=%g: %.2f",
                  big[i][0], tm_moe_distinct_experts(256, 8, big[i][0]));
    const double mx[][2] = {{1, 2}, {4, 5.5}, {16, 7.9}};
    for (size_t i = 0; i < G_N_ELEMENTS(mx); i++)
        cr_expect(fabs(tm_moe_distinct_experts(8, 2, mx[i][0]) - mx[i][1]) <= 0.05, "T=%g: %.3f",
                  mx[i][0], tm_moe_distinct_experts(8, 2, mx[i][0]));
}

/* DeepSeek-V3, 64 decodes, fp8 weights, tp 1: the experts' weight bytes are those of the
 * ≈222.4 distinct experts (44,040,192 fp8 bytes each); the activations are 512 assignments ×
 * (2·7168 + 6·2048)·2 B. */
Test(roofline, moe_reads_distinct_experts)
{
    tm_model_spec m = load("deepseek-v3");
    tm_roofline_params p = peak(1, 1, 1, false);
    p.weight_dtype = TM_DTYPE_FP8;
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    for (int i = 0; i < 64; i++)
        tm_batch_add(&b, 1, 1000, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    const tm_op *e = tm_roofline_find_op(&d, "moe.experts");
    cr_assert_not_null(e);
    double weights = e->bytes - 512.0 * (2 * 7168 + 6 * 2048) * 2.0;
    cr_expect(fabs(weights / 44040192.0 - 222.4) < 0.1, "%.2f experts", weights / 44040192.0);
    cr_expect_eq(e->count, 58);
    /* imbalance 0.5 makes the (compute) work 1.5× */
    double f0 = e->flops;
    p.moe_imbalance = 0.5;
    g_autoptr(tm_timemodel) t2 = tm_roofline_new(&m, &h100, &p);
    tm_roofline_eval(t2, &b, &d);
    cr_expect(NEAR(tm_roofline_find_op(&d, "moe.experts")->flops, 1.5 * f0, 1e-12));
    tm_model_spec_clear(&m);
}

Test(roofline, expert_parallel_uses_alltoall)
{
    tm_model_spec m = load("mixtral-8x7b");
    tm_roofline_params p = peak(2, 1, 4, true); /* ep = 8 */
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    for (int i = 0; i < 16; i++)
        tm_batch_add(&b, 1, 1000, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    cr_expect_gt(d.ep_alltoall_s, 0.0);
    /* one local expert (8 / 8) per GPU; 64 tokens in the group touch it almost surely */
    const tm_op *e = tm_roofline_find_op(&d, "moe.experts");
    double assign = 16.0 * 4 * 2 / 8; /* T·dp·k / ep */
    double w = e->bytes - assign * (2 * 4096 + 6 * 14336) * 2.0;
    cr_expect(NEAR(w, 3.0 * 4096 * 14336 * 2 * tm_moe_distinct_experts(8, 2, 64) / 8, 1e-9));
    tm_model_spec_clear(&m);
}

/* MLA pair costs (docs/domain.md §3.4): MHA form 2H(192 + 128) = 81,920 FLOP per pair, absorbed
 * 2H(2·512 + 64) = 278,528 (H = 128 at tp 1). */
Test(roofline, mla_uses_mha_form_for_prefill_and_absorbed_for_decode)
{
    tm_model_spec m = load("deepseek-v3");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1000, 3000, false);
    tm_batch_add(&b, 1, 7000, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    const tm_op *pre = tm_roofline_find_op(&d, "attention.prefill");
    const tm_op *dec = tm_roofline_find_op(&d, "attention.decode");
    const tm_op *exp = tm_roofline_find_op(&d, "attention.kv-b-expand");
    cr_assert(pre && dec && exp);
    cr_expect_eq(pre->flops / b.pairs_prefill, 81920.0);
    cr_expect_eq(dec->flops / b.pairs_decode, 278528.0);
    /* kv_b expansion: 2·512·128·256 = 33.6 MFLOP per materialised token (4000 tokens) */
    cr_expect_eq(exp->flops, 4000.0 * 2 * 512 * 128 * 256);
    /* decode reads the 576-element bf16 latent per cached token: ≥ 7001·1152 B */
    cr_expect_geq(dec->bytes, 7001.0 * 1152);
    tm_model_spec_clear(&m);
}

/* docs/domain.md §3.5 decode bytes per token per layer: indexer keys ctx·132 and gathered latents
 * min(2048, ctx)·656 (fp8 cache): 4K 0.54 + 1.34 MB, 32K 4.33 + 1.34, 128K 17.3 + 1.34. */
Test(roofline, dsa_decode_bytes_table)
{
    tm_model_spec m = load("deepseek-v3.2");
    tm_roofline_params p = peak(1, 1, 1, false);
    p.weight_dtype = TM_DTYPE_FP8;
    p.kv_dtype = TM_DTYPE_FP8;
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);

    const struct {
        double ctx, indexer, sparse;
    } rows[] = {{4096, 540672, 1343488}, {32768, 4325376, 1343488}, {131072, 17301504, 1343488}};

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        tm_batch b;
        tm_batch_init(&b, 2048);
        tm_batch_add(&b, 1, (uint64_t)rows[i].ctx - 1, true); /* ctx keys incl. the new one */
        tm_roofline_detail d;
        tm_roofline_eval(tm, &b, &d);
        const tm_op *ix = tm_roofline_find_op(&d, "indexer.scores");
        const tm_op *sa = tm_roofline_find_op(&d, "attention.sparse");
        cr_assert(ix && sa);
        /* indexer: cached keys read + new key written (132) + fp8 query 64·128 + fp32 logits */
        double idx_read = ix->bytes - 132.0 - 64 * 128 - 4.0 * rows[i].ctx;
        cr_expect_eq(idx_read, rows[i].indexer, "ctx %.0f: %.0f", rows[i].ctx, idx_read);
        /* sparse attention: gathered latents + the new latent written + q/o in latent space */
        double kv_read = sa->bytes - 656.0 - 128.0 * (2 * 512 + 64) * 2;
        cr_expect_eq(kv_read, rows[i].sparse, "ctx %.0f: %.0f", rows[i].ctx, kv_read);
        /* sparse pairs cap at 2048: 278,528 FLOP each */
        cr_expect_eq(sa->flops, fmin(2048, rows[i].ctx) * 278528.0);
    }
    tm_model_spec_clear(&m);
}

/* Pipeline stages priced alone (docs/design.md §5b), Llama-3.1-70B (80 layers, h 8192) at
 * tp 4, pp 4 on H100 nodes of 8 GPUs, at peak: stage s holds layers [20s, 20s + 20); the
 * embedding is on stage 0, the lm-head on stage 3; the stages add up to the whole step
 * (same operators, split). A one-token decode sends 8192 · 2 = 16,384 B after stages 0, 1
 * and 2; stages 0-1 share node 0 (GPUs 0-7), so only the send after stage 1 leaves the node:
 * NVLink 16384 / 450e9 + 4.5 µs = 4.5364 µs, network 16384 / 50e9 + 5 µs = 5.3277 µs. */
Test(roofline, pipeline_stages_split_the_step_and_sends_cross_nodes_on_the_network)
{
    tm_model_spec m = load("llama-3.1-70b");
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 1000, true);
    tm_roofline_params p = peak(4, 4, 1, false);
    tm_timemodel *whole = tm_roofline_new(&m, &h100, &p);
    tm_roofline_detail dw;
    double tw = tm_roofline_eval(whole, &b, &dw);
    const double nv = 16384.0 / 450e9 + 4.5e-6, net = 16384.0 / 50e9 + 5e-6;
    cr_expect(NEAR(dw.pp_send_s, 2 * nv + net, 1e-9), "whole step sends %.9g s", dw.pp_send_s);
    double sum = 0.0;
    for (int s = 0; s < 4; s++) {
        tm_roofline_params ps = p;
        ps.pp_stage = s;
        tm_timemodel *st = tm_roofline_new(&m, &h100, &ps);
        tm_roofline_detail d;
        double t = tm_roofline_eval(st, &b, &d);
        sum += t;
        const double want = s == 3 ? 0.0 : s == 1 ? net : nv;
        cr_expect(NEAR(d.pp_send_s, want, 1e-9), "stage %d send %.9g s, want %.9g", s, d.pp_send_s,
                  want);
        const tm_op *emb = tm_roofline_find_op(&d, "embedding");
        const tm_op *lm = tm_roofline_find_op(&d, "lm-head");
        cr_expect_eq(emb != NULL, s == 0, "stage %d embedding", s);
        cr_expect_eq(lm != NULL, s == 3, "stage %d lm-head", s);
        const tm_op *qkv = tm_roofline_find_op(&d, "qkv");
        cr_assert_not_null(qkv);
        cr_expect_eq(qkv->count, 20.0, "stage %d: 20 of the 80 layers", s);
        tm_timemodel_free(st);
    }
    cr_expect(NEAR(sum, tw, 1e-12), "stages %.9g s vs whole %.9g s", sum, tw);
    tm_timemodel_free(whole);
    tm_model_spec_clear(&m);
}

/* Shape-aware decode attention (docs/timemodel.md §4.3), by hand: 4 Llama-3.1-8B decodes at
 * 1023 cached tokens (1024 read each) on one H100. Per layer: items = 4 sequences × 8 KV heads
 * = 32; one item's KV = 1024 tokens × 2 (K, V) × 128 × 2 B = 524,288 B. With 20 ns per item
 * and a serial multiplier of 2 the step grows by 32 layers × (32 × 20 ns + 2 × 524,288 B /
 * 3.35 TB/s) = 32 × (0.64 µs + 0.31300776 µs) = 30.4962 µs, and nothing else moves. */
Test(roofline, decode_attention_items_and_serial_term_by_hand)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 1, 1, false);
    p.attn_item_s = 0.0;
    p.attn_serial = 0.0;
    g_autoptr(tm_timemodel) base = tm_roofline_new(&m, &h100, &p);
    p.attn_item_s = 20e-9;
    p.attn_serial = 2.0;
    g_autoptr(tm_timemodel) shaped = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 4, 1, 1023, true);
    tm_roofline_detail d;
    double t0 = tm_roofline_eval(base, &b, NULL), t1 = tm_roofline_eval(shaped, &b, &d);
    double want = 32.0 * (32.0 * 20e-9 + 2.0 * 524288.0 / 3.35e12);
    cr_expect(NEAR(t1 - t0, want, 1e-9), "extra %.9g s, want %.9g", t1 - t0, want);
    cr_expect(NEAR(d.att_items, 32.0 * 32.0, 1e-12), "%g", d.att_items);
    cr_expect(NEAR(d.att_serial_s, 32.0 * 524288.0 / 3.35e12, 1e-12), "%g", d.att_serial_s);
    /* a prefill-only step has no decode items */
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 512, 0, true);
    cr_expect_eq(tm_roofline_eval(shaped, &b, &d), tm_roofline_eval(base, &b, NULL));
    cr_expect_eq(d.att_items, 0.0);
    tm_model_spec_clear(&m);
}

/* MoE terms, by hand on Mixtral-8x7B (h 4096, 32 MoE layers) with 16 tokens on one H100: the
 * routed experts are their own operator class (TM_OPCLASS_MOE, with their own efficiencies),
 * and the per-token term adds 32 layers × 16 tokens × 4096 × 2 B / 3.35 TB/s × 3 = 3.7561 µs
 * for a multiplier of 3. */
Test(roofline, moe_experts_class_and_token_term_by_hand)
{
    tm_model_spec m = load("mixtral-8x7b");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) base = tm_roofline_new(&m, &h100, &p);
    p.moe_token = 3.0;
    g_autoptr(tm_timemodel) tok = tm_roofline_new(&m, &h100, &p);
    p.moe_token = 0.0;
    p.moe_memory_eff = 0.5;
    g_autoptr(tm_timemodel) slow = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 16, 1, 100, true);
    tm_roofline_detail d0, d1, d2;
    double t0 = tm_roofline_eval(base, &b, &d0), t1 = tm_roofline_eval(tok, &b, &d1);
    double t2 = tm_roofline_eval(slow, &b, &d2);
    double want = 32.0 * 16.0 * 4096.0 * 2.0 / 3.35e12 * 3.0;
    cr_expect(NEAR(t1 - t0, want, 1e-9), "extra %.9g s, want %.9g", t1 - t0, want);
    cr_expect(NEAR(d1.moe_token_s, want / 3.0, 1e-12));
    const tm_op *e0 = tm_roofline_find_op(&d0, "moe.experts");
    const tm_op *e2 = tm_roofline_find_op(&d2, "moe.experts");
    cr_assert(e0 != NULL && e2 != NULL);
    cr_expect_eq(e0->cls, TM_OPCLASS_MOE);
    /* 16 tokens on Mixtral read the weights of ~7.9 experts: memory bound, so half the
     * bandwidth doubles the operator and nothing else */
    cr_expect(NEAR(e2->time_s, 2.0 * e0->time_s, 1e-12), "%g vs %g", e2->time_s, e0->time_s);
    cr_expect(NEAR(t2 - t0, e0->time_s, 1e-9));
    tm_model_spec_clear(&m);
}

/* Sliding-window layers read at most the window (docs/timemodel.md §4): one gpt-oss-20b decode
 * at 999 cached tokens (1000 keys), batch capped at its window 128. Its 12 full layers read
 * 1000 keys, its 12 sliding ones 128: per layer (1000 + 128)/2 = 564 keys read + 1 written,
 * 8 KV heads × 64 × 2 (K, V) × 2 B = 2048 B each, plus q and o (64 heads × 64 × 2 × 2 B =
 * 16,384 B): 565 × 2048 + 16,384 = 1,173,504 B per layer, and 4 × 64 heads × 64 FLOP per key
 * pair: 564 pairs. Without the cap in the batch, every layer is priced as a full one. */
Test(roofline, sliding_window_layers_read_only_the_window)
{
    tm_model_spec m =
        load(SERVESIM_DATA_DIR "/model-configs/reconstructed__openai--gpt-oss-20b.config.json");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, tm_model_key_cap(&m));
    tm_batch_add(&b, 1, 999, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    const tm_op *o = tm_roofline_find_op(&d, "attention.decode");
    cr_assert_not_null(o);
    cr_expect(NEAR(o->bytes, 1173504.0, 1e-12), "%.1f B", o->bytes);
    cr_expect(NEAR(o->flops, 4.0 * 64 * 64 * 564, 1e-12), "%.1f FLOP", o->flops);
    tm_batch_init(&b, 0);
    tm_batch_add(&b, 1, 999, true);
    tm_roofline_eval(tm, &b, &d);
    o = tm_roofline_find_op(&d, "attention.decode");
    cr_expect(NEAR(o->bytes, 1001.0 * 2048 + 16384, 1e-12), "%.1f B", o->bytes);
    tm_model_spec_clear(&m);
}

/* Cascade attention (vLLM v0.11 rule): 8 Llama-3.1-8B decodes at 1023 cached tokens sharing a
 * 512-token prefix read it once: KV read per layer 8 × 1024 − 7 × 512 = 4,608 tokens (+ 8
 * written) of 4096 B, plus q/o 8 × 16,384 B; FLOPs unchanged. A 255-token prefix or 7
 * sequences stay below the thresholds. */
Test(roofline, cascade_reads_the_common_prefix_once)
{
    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(1, 1, 1, false);
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_roofline_detail d;
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 8, 1, 1023, true);
    b.common_prefix_tokens = 512;
    tm_roofline_eval(tm, &b, &d);
    const tm_op *o = tm_roofline_find_op(&d, "attention.decode");
    cr_expect(NEAR(o->bytes, (4608.0 + 8) * 4096 + 8 * 16384.0, 1e-12), "%.0f B", o->bytes);
    cr_expect(NEAR(o->flops, 4.0 * 128 * 32 * 8 * 1024, 1e-12));
    b.common_prefix_tokens = 255;
    tm_roofline_eval(tm, &b, &d);
    o = tm_roofline_find_op(&d, "attention.decode");
    cr_expect(NEAR(o->bytes, (8192.0 + 8) * 4096 + 8 * 16384.0, 1e-12), "%.0f B", o->bytes);
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 7, 1, 1023, true);
    b.common_prefix_tokens = 512;
    tm_roofline_eval(tm, &b, &d);
    o = tm_roofline_find_op(&d, "attention.decode");
    cr_expect(NEAR(o->bytes, (7168.0 + 7) * 4096 + 7 * 16384.0, 1e-12), "%.0f B", o->bytes);
    tm_model_spec_clear(&m);
}

/* CUDA graphs by step kind (docs/timemodel.md §4.4), on a 2-layer toy model whose GPU work is
 * a few µs so that launches show: with 20 µs per eager launch, a pure-decode step within the
 * capture size (512) pays nothing; a mixed one launches its 2 attention kernels eagerly (40 µs,
 * minus the GPU work they overlap); a 600-token step runs eager: every kernel of a decode step
 * (tm_roofline_step_kernels) plus the prefill attention kernel of each layer. */
Test(roofline, eager_launches_by_cuda_graph_step_kind)
{
    json_t *cfg =
        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "hidden_size", 256, "num_hidden_layers", 2,
                  "num_attention_heads", 4, "num_key_value_heads", 4, "intermediate_size", 512,
                  "vocab_size", 1024, "max_position_embeddings", 4096);
    tm_model_spec m;
    cr_assert(tm_model_spec_from_json(&m, cfg, "toy", NULL));
    json_decref(cfg);
    tm_roofline_params p = peak(1, 1, 1, false);
    p.launch_eager_s = 0.0;
    g_autoptr(tm_timemodel) off = tm_roofline_new(&m, &h100, &p);
    p.launch_eager_s = 20e-6;
    g_autoptr(tm_timemodel) on = tm_roofline_new(&m, &h100, &p);
    double k_step = tm_roofline_step_kernels(off, NULL);

    struct {
        uint64_t q_prefill;
        uint32_t decodes;
        double eager_kernels;
    } cases[] = {{0, 4, 0.0}, {100, 4, 2.0}, {600, 0, k_step + 2.0}};

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        tm_batch b;
        tm_batch_init(&b, 0);
        if (cases[i].q_prefill > 0)
            tm_batch_add(&b, cases[i].q_prefill, 0, true);
        tm_batch_add_n(&b, cases[i].decodes, 1, 50, true);
        tm_step_cost c0;
        double t0 = tm_step_s(off, &b, &c0), t1 = tm_step_s(on, &b, NULL);
        double gpu = c0.compute_s + c0.memory_s + c0.comm_s;
        double want = fmax(0.0, cases[i].eager_kernels * 20e-6 - gpu);
        cr_expect(NEAR(t1 - t0, want, 1e-9) || fabs(t1 - t0 - want) < 1e-15,
                  "case %zu: +%.3f µs, want %.3f µs", i, (t1 - t0) * 1e6, want * 1e6);
        if (i > 0)
            cr_expect_gt(want, 0.0, "case %zu: the toy's GPU work should not hide the launches", i);
    }
    tm_model_spec_clear(&m);
}

/* Measured all-reduce latencies instead of α + bytes/BW (docs/timemodel.md §4.5): log-log
 * interpolation between points, the first point below them, the last segment's slope above.
 * Two points (1 KiB: 4 µs, 1 MiB: 16 µs): at 32 KiB, halfway in log size, √(4·16) = 8 µs; at
 * 2 MiB, 16 + (16 − 4)/(1 MiB − 1 KiB) · 1 MiB µs. A Llama-3.1-8B decode of 2 sequences on
 * TP 2 all-reduces 2 × 4096 × 2 B = 16 KiB, 64 times (2 per layer); the detail books them as
 * table time, not start-up latency. */
Test(roofline, allreduce_table_prices_tp_allreduces)
{
    tm_allreduce_table t = {{2}, {2}, {{1024, 1048576}}, {{4e-6, 16e-6}}};
    cr_expect(NEAR(tm_allreduce_table_time(&t, 2, 32768), 8e-6, 1e-12));
    cr_expect_eq(tm_allreduce_table_time(&t, 2, 100), 4e-6);
    cr_expect(NEAR(tm_allreduce_table_time(&t, 2, 2097152),
                   16e-6 + 12e-6 / (1048576 - 1024) * 1048576, 1e-12));
    cr_expect(isnan(tm_allreduce_table_time(&t, 4, 32768)));

    tm_model_spec m = load("llama-3.1-8b");
    tm_roofline_params p = peak(2, 1, 1, false);
    p.allreduce = t;
    g_autoptr(tm_timemodel) tm = tm_roofline_new(&m, &h100, &p);
    tm_batch b;
    tm_batch_init(&b, 0);
    tm_batch_add_n(&b, 2, 1, 100, true);
    tm_roofline_detail d;
    tm_roofline_eval(tm, &b, &d);
    /* 16 KiB: log2(16384/1024) / log2(1024) = 0.4 of the way: 4 µs · 4^0.4 */
    double one = 4e-6 * pow(4.0, 0.4);
    cr_expect(NEAR(d.tp_allreduce_s, 64 * one, 1e-9), "%g vs %g", d.tp_allreduce_s, 64 * one);
    cr_expect(NEAR(d.comm_table_s, 64 * one, 1e-9));
    /* the logits all-gather alone pays a link latency */
    cr_expect(NEAR(d.comm_latency_s, h100.nvlink.latency_s, 1e-12), "%g", d.comm_latency_s);
    tm_model_spec_clear(&m);
}
