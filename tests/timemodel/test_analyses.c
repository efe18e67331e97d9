/* tests/timemodel/test_analyses.c: the analyses of docs/analysis.md against hand
 * calculations from cited figures — FlashAttention-3's exp-vs-matmul arithmetic on H100
 * (arXiv:2407.08608 §3.1), causal tile counts, the tile intensities MN/(M+N) of NVIDIA's
 * GEMM performance guide, MoE expert sizes from the Mixtral config with datasheet link
 * rates — plus properties (more bandwidth or throughput never slower, larger tiles never a
 * lower intensity, misses monotone), the per-SM preset figures against the datasheet peaks,
 * and one-line errors for bad settings. Expected values are worked out in the comments. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "timemodel/attention_analysis.h"
#include "timemodel/estimate_views.h"
#include "timemodel/hostbw.h"
#include "timemodel/mma.h"
#include "timemodel/setup.h"

static tm_hardware h100, a100;

static void
setup(void)
{
    GError *err = NULL;
    cr_assert(tm_hardware_load(&h100, "h100-sxm", &err), "%s", err ? err->message : "");
    cr_assert(tm_hardware_load(&a100, "a100-80gb", &err), "%s", err ? err->message : "");
}

static void
teardown(void)
{
    tm_hardware_clear(&h100);
    tm_hardware_clear(&a100);
}

TestSuite(analyses, .init = setup, .fini = teardown, .timeout = 60);

#define NEAR(a, b, rel) (fabs((a) - (b)) <= (rel)*fabs(b))

static void
expect_error(GError **err, const char *needle)
{
    cr_assert_not_null(*err, "expected an error with '%s'", needle);
    cr_expect(strstr((*err)->message, needle) != NULL, "'%s' lacks '%s'", (*err)->message, needle);
    cr_expect(strchr((*err)->message, '\n') == NULL, "one line: %s", (*err)->message);
    g_clear_error(err);
}

/* ---- hardware figures -------------------------------------------------------------------- */

/* Every preset with per-SM figures: SMs × clock × dense tensor FLOP/clock reproduces the
 * datasheet peak in peak_tflops (A100 108 × 1.41 GHz × 2,048 = 311.9 TF; H100 132 × 1.83 GHz ×
 * 4,096 = 989.4 TF; B200 148 × 1.8557 GHz × 8,192 = 2,250 TF). */
Test(analyses, sm_figures_reproduce_the_datasheet_peaks)
{
    const char *names[] = {"a100-40gb", "a100-80gb", "h100-sxm", "h200", "gh200", "b200"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_auto(tm_hardware) hw = {0};
        GError *err = NULL;
        cr_assert(tm_hardware_load(&hw, names[i], &err), "%s", err ? err->message : "");
        cr_assert(tm_hardware_require_sm(&hw, "test", &err), "%s: %s", names[i],
                  err ? err->message : "");
        for (int d = 0; d < TM_DTYPE_COUNT; d++) {
            double per_sm = hw.sm.tensor_flops_per_clock[d];
            if (per_sm <= 0 && hw.peak_flops[d] <= 0)
                continue;
            double r = tm_hardware_sm_rate(&hw, per_sm);
            cr_expect(NEAR(r, hw.peak_flops[d], 1e-3), "%s %s: %.4g vs peak %.4g", names[i],
                      tm_dtype_name((tm_dtype)d), r, hw.peak_flops[d]);
        }
        cr_expect(hw.host.ddr_bw > 0, "%s has a host DDR figure", names[i]);
    }
}

/* FA3 §3.1: "H100 SXM5 has 989 TFLOPS of FP16 matmul but only 3.9 TFLOPS of special
 * functions": 132 SMs × 16 SFU results × 1.83 GHz = 3.865 TFLOPS. */
Test(analyses, h100_sfu_rate_is_fa3s_3_9_tflops)
{
    double sfu = tm_hardware_sm_rate(&h100, h100.sm.sfu_ops_per_clock);
    cr_expect(NEAR(sfu, 132.0 * 16.0 * 1.83e9, 1e-12));
    cr_expect(fabs(sfu / 1e12 - 3.9) < 0.05, "%.3f TFLOPS", sfu / 1e12);
    cr_expect(NEAR(tm_hardware_sm_rate(&h100, h100.sm.tensor_flops_per_clock[TM_DTYPE_BF16]) / sfu,
                   256.0, 1e-12),
              "FA3: special functions are 256x slower than matmul");
}

Test(analyses, gh200_reaches_host_memory_over_c2c)
{
    g_auto(tm_hardware) hw = {0};
    GError *err = NULL;
    cr_assert(tm_hardware_load(&hw, "gh200", &err));
    cr_expect_eq(hw.host.c2c_bw, 450e9);
    cr_expect_eq(hw.host.gpus_per_host, 1);
    cr_expect_eq(hw.sm.count, 132); /* inherited from h100-sxm */
    tm_host_path p;
    cr_assert(tm_host_path_init(&p, &hw, "auto", NAN, NAN, NAN, 0, 1.0, &err));
    cr_expect_eq(p.link, TM_CHANNEL_C2C);
    cr_assert(tm_host_path_init(&p, &h100, "auto", NAN, NAN, NAN, 0, 1.0, &err));
    cr_expect_eq(p.link, TM_CHANNEL_PCIE);
    cr_expect_eq(p.link_bw, 64e9);
    cr_expect_eq(p.gpus_per_host, 8);
}

Test(analyses, bad_sm_fields_name_the_key)
{
    static const char *const cases[][2] = {
        {"{\"sm\": {\"count\": 132, \"clock_mhz\": 1830, \"tensor_flops_per_clock\": {\"bf16\": "
         "4096}, \"sfu_ops_per_clock\": -1}}",
         "sm.sfu_ops_per_clock: -1 is out of range"},
        {"{\"l2_bandwidth_gbps\": -5}", "l2_bandwidth_gbps: -5 is out of range"},
        {"{\"host\": {\"ddr_gbps\": -1}}", "host.ddr_gbps: -1 is out of range"},
        {"{\"host\": {\"nvlink_c2c_gbps\": \"fast\"}}", "host.nvlink_c2c_gbps: expected a number"},
        {"{\"sm\": {\"count\": 1.5, \"clock_mhz\": 1830, \"tensor_flops_per_clock\": {}}}",
         "sm.count: 1.5 is not an integer"},
        {"{\"sm\": {\"count\": 132, \"tensor_flops_per_clock\": {}}}", "sm.clock_mhz"},
        {"{\"sm\": {\"count\": 132, \"clock_mhz\": 1830, \"tensor_flops_per_clock\": {}, \"mma\": "
         "{\"operands\": \"tmem\"}}}",
         "sm.mma.operands"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        json_error_t je;
        json_t *j = json_loads(cases[i][0], 0, &je);
        cr_assert_not_null(j, "%s", je.text);
        tm_hardware hw;
        memset(&hw, 0, sizeof hw);
        GError *err = NULL;
        cr_expect(!tm_hardware_parse_sm_host(&hw, j, "x.json", &err), "case %zu", i);
        expect_error(&err, cases[i][1]);
        json_decref(j);
    }
    /* a GPU without the figures is refused by the analyses with the missing field */
    g_auto(tm_hardware) hw = {0};
    GError *err = NULL;
    cr_assert(tm_hardware_load(&hw, "rtx4090", &err));
    cr_expect(!tm_hardware_require_sm(&hw, "analyze mma", &err));
    expect_error(&err, "rtx4090 has no sm (per-SM figures) figure");
}

/* ---- attention ------------------------------------------------------------------------- */

static tm_attn_params
attn(int64_t heads, int64_t kv, int64_t d, int64_t n, bool causal)
{
    tm_attn_params p;
    memset(&p, 0, sizeof p);
    p.causal = causal;
    p.batch = 1;
    p.heads = heads;
    p.kv_heads = kv;
    p.head_dim = d;
    p.seq_len = n;
    p.query_len = 1;
    p.br = 128;
    p.bc = 128;
    p.dtype = TM_DTYPE_BF16;
    for (int i = 0; i < TM_ATTN_OPS_COUNT; i++)
        p.ops[i] = NAN;
    return p;
}

/* FA3 §3.1: at head_dim 128 there are 512× more matmul FLOPs than exponentials (4d per
 * score), and exp is 256× slower, so exp takes ~50 % of the matmul time. Non-causal prefill,
 * N = 4096, 32 heads, 128×128 tiles: 32 × 32 = 1,024 tiles per head, N² = 16,777,216 scores.
 * qk = 2·128·N²·32 = 137,438,953,472 FLOP / (132 · 4,096 · 1.83e9 = 989.43e12) = 138.907 us.
 * exp = N² + 128 rows × 1,024 tiles (the running-max correction) = 16,908,288 per head, so
 * exp / (qk + pv) = (16,908,288 / 16) / (512 · 16,777,216 / 4,096) = 0.50390625. */
Test(analyses, attention_reproduces_fa3_exp_to_matmul_ratio)
{
    tm_attn_params p = attn(32, 32, 128, 4096, false);
    tm_attn_result r;
    GError *err = NULL;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err), "%s", err ? err->message : "");
    cr_expect_eq(r.tiles, 32.0 * 1024.0);
    cr_expect_eq(r.score_elements, 32.0 * 16777216.0);
    cr_expect_eq(r.useful_elements, r.score_elements);
    cr_expect_eq(r.busy_sms, 132);
    cr_expect_eq(r.comp[TM_ATTN_QK].ops, 137438953472.0);
    cr_expect(NEAR(r.comp[TM_ATTN_QK].time_s, 137438953472.0 / (132.0 * 4096.0 * 1.83e9), 1e-12));
    cr_expect(fabs(r.comp[TM_ATTN_QK].time_s * 1e6 - 138.907) < 0.001, "%.4f us",
              r.comp[TM_ATTN_QK].time_s * 1e6);
    cr_expect_eq(r.comp[TM_ATTN_EXP].ops, 32.0 * 16908288.0);
    double ratio =
        r.comp[TM_ATTN_EXP].time_s / (r.comp[TM_ATTN_QK].time_s + r.comp[TM_ATTN_PV].time_s);
    cr_expect(NEAR(ratio, 0.50390625, 1e-12), "ratio %.10f", ratio);
    /* the per-score exps alone (the paper's count): exactly one half */
    p.ops[TM_ATTN_OPS_EXP] = 1.0;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err));
    double per_score = (r.comp[TM_ATTN_EXP].ops - 128.0 * r.tiles) /
                       tm_hardware_sm_rate(&h100, h100.sm.sfu_ops_per_clock);
    cr_expect(
        NEAR(per_score / (r.comp[TM_ATTN_QK].time_s + r.comp[TM_ATTN_PV].time_s), 0.5, 1e-12));
    /* overlapped = the busiest unit: tensor (qk + pv = 277.8 us) */
    cr_expect_eq(r.bound, TM_UNIT_TENSOR);
    cr_expect(NEAR(r.overlapped_s, r.comp[TM_ATTN_QK].time_s + r.comp[TM_ATTN_PV].time_s, 1e-12));
    cr_expect(r.serial_s > r.overlapped_s);
}

/* Causal, bottom-right aligned: query block i of 128 rows sees key blocks 0..i, so a head has
 * 32·33/2 = 528 tiles of 128×128; with Bc = 64 block i sees 2(i+1) blocks: Σ = 1,056 tiles of
 * 128×64, the same 8,650,752 computed scores. Useful pairs: 4096·4097/2 = 8,390,656. */
Test(analyses, causal_tile_counts)
{
    tm_attn_params p = attn(1, 1, 128, 4096, true);
    tm_attn_result r;
    GError *err = NULL;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err), "%s", err ? err->message : "");
    cr_expect_eq(r.tiles, 528.0);
    cr_expect_eq(r.score_elements, 8650752.0);
    cr_expect_eq(r.useful_elements, 8390656.0);
    p.bc = 64;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err));
    cr_expect_eq(r.tiles, 1056.0);
    cr_expect_eq(r.score_elements, 8650752.0);
    cr_expect_eq(r.useful_elements, 8390656.0);
    /* K tile loads: block i loads min(2(i+1)·64, 4096) keys: Σ = 64·1,056 keys × 128 × 2 B */
    cr_expect_eq(r.comp[TM_ATTN_LOAD_K].tile_bytes, 64.0 * 1056.0 * 128.0 * 2.0);
    cr_expect_eq(r.comp[TM_ATTN_LOAD_K].hbm_bytes, 4096.0 * 128.0 * 2.0);
}

/* Decode with GQA packing (Llama-3.1-8B: 32 heads, 8 KV heads, group 4): a CTA holds the 4
 * query rows of one KV head in a 64-row tile, so 4/64 of the computed scores are useful. The
 * KV read is 64 sequences × 8 KV heads × 8,192 keys × 128 × 2 B = 1,073,741,824 B each for K
 * and V, at 3.35 TB/s = 320.52 us apiece: the hot component. */
Test(analyses, decode_is_memory_bound_and_packs_gqa)
{
    tm_attn_params p = attn(32, 8, 128, 8192, true);
    p.decode = true;
    p.pack_gqa = true;
    p.batch = 64;
    p.br = 64;
    tm_attn_result r;
    GError *err = NULL;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err), "%s", err ? err->message : "");
    cr_expect_eq(r.rows, 4);
    cr_expect_eq(r.units, 64 * 8);
    cr_expect(NEAR(r.useful_elements / r.score_elements, 4.0 / 64.0, 1e-12));
    cr_expect_eq(r.comp[TM_ATTN_LOAD_K].hbm_bytes, 1073741824.0);
    cr_expect(NEAR(r.comp[TM_ATTN_LOAD_K].time_s, 1073741824.0 / 3.35e12, 1e-12));
    cr_expect(r.hot == TM_ATTN_LOAD_K || r.hot == TM_ATTN_LOAD_V);
    cr_expect_eq(r.bound, TM_UNIT_MEMORY);
    cr_expect_eq(r.splits, 1); /* 512 CTAs already fill 132 SMs */
    /* one sequence: 8 CTAs, auto split-KV fills the SMs once: ceil(132 / 8) = 17 splits */
    p.batch = 1;
    cr_assert(tm_attn_analyze(&h100, &p, &r, &err));
    cr_expect_eq(r.splits, 17);
    cr_expect_eq(r.ctas, 8 * 17);
    cr_expect_eq(r.busy_sms, 132);
}

/* FA3's tile for head_dim 256 is 128×80: the auto tile finds it, the largest Bc (multiple of
 * 16, ≤ 128) whose Q tile + 2 stages of K and V fit in 227 KiB: (128 + 4·80)·256·2 = 224 KiB. */
Test(analyses, auto_tile_fits_shared_memory)
{
    tm_attn_params p = attn(32, 8, 256, 4096, true);
    p.br = p.bc = 0;
    int64_t br, bc;
    GError *err = NULL;
    cr_assert(tm_attn_auto_tile(&h100, &p, &br, &bc, &err));
    cr_expect_eq(br, 128);
    cr_expect_eq(bc, 80);
    p.head_dim = 128;
    cr_assert(tm_attn_auto_tile(&h100, &p, &br, &bc, &err));
    cr_expect_eq(br, 128);
    cr_expect_eq(bc, 128);
}

Test(analyses, attention_bad_settings_name_the_setting)
{
    tm_attn_result r;
    GError *err = NULL;
    tm_attn_params p = attn(32, 8, 128, 4096, true);
    p.br = 100;
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--tile 100x128: Br = 100 is not a multiple of 64");
    p = attn(32, 8, 128, 4096, true);
    p.bc = 120;
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "Bc = 120 is not a multiple of 16");
    p = attn(32, 8, 72, 4096, true);
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--head-dim 72: not a multiple of 16");
    p = attn(32, 8, 256, 4096, true);
    p.br = p.bc = 256;
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "need 640 KiB of shared memory; h100-sxm has 227 KiB");
    p = attn(32, 6, 128, 4096, true);
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--kv-heads 6: does not divide --heads 32");
    p = attn(32, 8, 128, 64, true);
    p.splits = 2;
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--split-kv 2: more splits than the 1 key blocks");
    p = attn(32, 8, 128, 4096, true);
    p.dtype = TM_DTYPE_FP8;
    cr_expect(!tm_attn_analyze(&a100, &p, &r, &err));
    expect_error(&err, "a100-80gb has no fp8 tensor-core rate");
    p = attn(32, 8, 128, 16, true);
    p.decode = true;
    p.query_len = 17;
    cr_expect(!tm_attn_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--query-len 17");
}

/* More SFU, ALU, tensor, HBM or L2 throughput never makes a component slower; the overlapped
 * time never exceeds the serial one; causal never computes more tiles than non-causal. */
Test(analyses, attention_properties)
{
    const int64_t dims[] = {64, 128, 256};
    for (size_t i = 0; i < G_N_ELEMENTS(dims); i++)
        for (int causal = 0; causal < 2; causal++) {
            tm_attn_params p = attn(32, 8, dims[i], 2048, causal);
            p.br = p.bc = 0;
            tm_attn_result base, faster, nc;
            GError *err = NULL;
            cr_assert(tm_attn_analyze(&h100, &p, &base, &err), "%s", err ? err->message : "");
            cr_expect(base.overlapped_s <= base.serial_s);
            cr_expect(base.useful_elements <= base.score_elements);
            tm_attn_params q = p;
            q.causal = false;
            cr_assert(tm_attn_analyze(&h100, &q, &nc, &err));
            cr_expect(base.tiles <= nc.tiles);
            tm_hardware hw = h100; /* shallow copy: only numbers change */
            hw.sm.sfu_ops_per_clock *= 2;
            hw.sm.fp32_ops_per_clock *= 2;
            hw.mem_bw *= 2;
            hw.l2_bw *= 2;
            cr_assert(tm_attn_analyze(&hw, &p, &faster, &err));
            for (int k = 0; k < TM_ATTN_COMP_COUNT; k++)
                cr_expect(faster.comp[k].time_s <= base.comp[k].time_s, "component %d", k);
            cr_expect(faster.overlapped_s <= base.overlapped_s);
            cr_expect(faster.serial_s < base.serial_s);
        }
}

/* ---- MMA tiles ------------------------------------------------------------------------- */

static tm_mma_params
mma(int64_t m, int64_t n, int64_t k)
{
    tm_mma_params p;
    memset(&p, 0, sizeof p);
    p.m = m;
    p.n = n;
    p.k = k;
    p.stages = 2;
    p.dtype = TM_DTYPE_FP16;
    p.operands = TM_MMA_AUTO;
    return p;
}

/* NVIDIA Deep Learning Performance Guide, "Matrix Multiplication Background": a tile that
 * loads (M + N)·K fp16 elements for 2·M·N·K FLOPs has intensity M·N/(M + N) FLOP/B:
 * 256×128 → 85.33, 128×128 → 64, 64×64 → 32. That is the L2-level intensity here. */
Test(analyses, mma_tile_intensity_is_mn_over_m_plus_n)
{
    const int64_t tiles[][2] = {{256, 128}, {128, 128}, {64, 64}, {128, 256}};
    const double want[] = {256.0 * 128 / 384, 64.0, 32.0, 256.0 * 128 / 384};
    for (size_t i = 0; i < G_N_ELEMENTS(tiles); i++) {
        tm_mma_params p = mma(tiles[i][0], tiles[i][1], 32);
        tm_mma_result r;
        GError *err = NULL;
        cr_assert(tm_mma_analyze(&a100, &p, &r, &err), "%s", err ? err->message : "");
        cr_expect(NEAR(r.level[TM_LEVEL_L2].intensity, want[i], 1e-12), "%g vs %g",
                  r.level[TM_LEVEL_L2].intensity, want[i]);
        cr_expect(NEAR(r.level[TM_LEVEL_HBM].intensity, want[i], 1e-12)); /* hit rate 0 */
    }
}

/* H100 (datasheet 3.35 TB/s; 132 SMs at 1.83 GHz), tile 128×256×64 bf16 on wgmma m64n256k16:
 * L2/HBM need b(M+N)/(2MN)·4,096 = 2·384/65,536·4,096 = 48 B/clk/SM; HBM supplies
 * 3.35e12/(132·1.83e9) = 13.868 B/clk/SM → utilization 3.461, 28.89 % of peak; HBM stops
 * bounding at an L2 hit rate of 1 − 13.868/48 = 71.1 %. Shared: fill 48 + A 2/512 + B 2/128
 * per FLOP·4,096 = 16 + 64 → 128 B/clk (= the 128 B/clk the banks supply). */
Test(analyses, mma_h100_worked_example)
{
    tm_mma_params p = mma(128, 256, 64);
    p.dtype = TM_DTYPE_BF16;
    tm_mma_result r;
    GError *err = NULL;
    cr_assert(tm_mma_analyze(&h100, &p, &r, &err), "%s", err ? err->message : "");
    cr_expect_eq(r.operands, TM_MMA_SS);
    cr_expect_eq(r.instr_m, 64);
    cr_expect_eq(r.instr_n, 256);
    cr_expect_eq(r.instr_k, 16);
    cr_expect_eq(r.level[TM_LEVEL_L2].need_bpc, 48.0);
    cr_expect_eq(r.level[TM_LEVEL_HBM].need_bpc, 48.0);
    double hbm = 3.35e12 / (132.0 * 1.83e9);
    cr_expect(NEAR(r.level[TM_LEVEL_HBM].supply_bpc, hbm, 1e-12));
    cr_expect(NEAR(r.level[TM_LEVEL_HBM].utilization, 48.0 / hbm, 1e-12));
    cr_expect_eq(r.bound, TM_LEVEL_HBM);
    cr_expect(!r.compute_bound);
    cr_expect(NEAR(r.achievable, hbm / 48.0, 1e-12));
    cr_expect(fabs(100 * r.achievable - 28.89) < 0.01, "%.3f %%", 100 * r.achievable);
    cr_expect_eq(r.level[TM_LEVEL_SHARED].need_bpc, 128.0);
    cr_expect_eq(r.level[TM_LEVEL_REGISTERS].need_bpc, 0.0);
    cr_expect(isinf(r.level[TM_LEVEL_REGISTERS].intensity));
    cr_expect_eq(r.smem_bytes, 2.0 * 384 * 64 * 2);
    cr_expect_eq(r.cycles_per_stage, 2.0 * 128 * 256 * 64 / 4096);
    /* 80 % of the fills from L2: HBM needs 9.6 B/clk, within 13.87: now L2 bounds (48 > 38.8) */
    p.l2_hit = 0.8;
    cr_assert(tm_mma_analyze(&h100, &p, &r, &err));
    cr_expect(NEAR(r.level[TM_LEVEL_HBM].need_bpc, 9.6, 1e-12));
    cr_expect_eq(r.bound, TM_LEVEL_L2);
    /* a 2×1 cluster multicasts each 256×64 B tile to both CTAs: L2 per CTA b·K·(M + N/2) per
     * 2·M·N·K FLOP = 2·(128 + 128)/65,536·4,096 = 32 B/clk, within L2's 38.8; shared
     * memory (the full tiles still land in every CTA) is at its 128 B/clk: compute bound */
    p.cluster_m = 2;
    p.cluster_n = 1;
    cr_assert(tm_mma_analyze(&h100, &p, &r, &err));
    cr_expect_eq(r.level[TM_LEVEL_L2].need_bpc, 32.0);
    cr_expect_eq(r.level[TM_LEVEL_SHARED].need_bpc, 128.0);
    cr_expect(r.compute_bound);
    cr_expect_eq(r.achievable, 1.0);
}

/* A100 mma.sync m16n8k16 fp16, tile 128×128×32 in four 64×64 warp tiles: registers read
 * A and B fragments per instruction, 2/(2·8) + 2/(2·16) = 0.1875 B/FLOP × 2,048 FLOP/clk =
 * 384 B/clk; shared: fill 2·256/(2·16,384) + ldmatrix 2/128 + 2/128 = 0.046875 B/FLOP → 96. */
Test(analyses, mma_a100_register_operands)
{
    tm_mma_params p = mma(128, 128, 32);
    tm_mma_result r;
    GError *err = NULL;
    cr_assert(tm_mma_analyze(&a100, &p, &r, &err), "%s", err ? err->message : "");
    cr_expect_eq(r.operands, TM_MMA_RR);
    cr_expect_eq(r.warp_m, 64);
    cr_expect_eq(r.warp_n, 64);
    cr_expect_eq(r.level[TM_LEVEL_REGISTERS].need_bpc, 384.0);
    cr_expect_eq(r.level[TM_LEVEL_SHARED].need_bpc, 96.0);
    cr_expect_eq(r.level[TM_LEVEL_L2].need_bpc, 32.0);
}

Test(analyses, mma_bad_tiles_name_the_setting)
{
    tm_mma_result r;
    GError *err = NULL;
    tm_mma_params p = mma(100, 128, 64);
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--tile 100x128x64: the tile is not a whole number of 64x128 warp tiles");
    p = mma(128, 128, 24);
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "K = 24 is not a multiple of 16");
    p = mma(128, 100, 64);
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "N = 100 is not a multiple of 8");
    p = mma(128, 128, 64);
    p.operands = TM_MMA_SS;
    cr_expect(!tm_mma_analyze(&a100, &p, &r, &err));
    expect_error(&err, "--operands ss: a100-80gb has no shared-memory-operand MMA");
    p = mma(256, 256, 128);
    p.stages = 4;
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "need 512 KiB of shared memory; h100-sxm has 227 KiB");
    p = mma(512, 256, 32);
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "fp32 accumulators need 512 KiB of registers");
    p = mma(128, 128, 64);
    p.l2_hit = 1.5;
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--l2-hit-rate 1.5: must be in [0, 1]");
    p = mma(128, 128, 64);
    p.cluster_m = 2;
    cr_expect(!tm_mma_analyze(&a100, &p, &r, &err));
    expect_error(&err, "--cluster 2x1: a100-80gb has no thread-block clusters");
    p.cluster_m = 32;
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "--cluster 32x0: a cluster holds 1 to 16 CTAs");
    p = mma(128, 128, 64);
    p.warp_m = 64;
    p.warp_n = 24;
    p.operands = TM_MMA_RR;
    cr_expect(!tm_mma_analyze(&h100, &p, &r, &err));
    expect_error(&err, "tile is not a whole number of 64x24 warp tiles");
}

/* Doubling M or N (powers of two, so the instruction and warp tile stay whole) never raises
 * the bytes per FLOP of any level, i.e. never lowers an intensity; more HBM bandwidth never
 * lowers the reachable fraction of the peak. */
Test(analyses, mma_larger_tile_never_lower_intensity)
{
    const tm_hardware *hws[] = {&h100, &a100};
    for (size_t h = 0; h < G_N_ELEMENTS(hws); h++)
        for (int64_t m = 64; m <= 128; m *= 2)
            for (int64_t n = 64; n <= 128; n *= 2) {
                tm_mma_params p = mma(m, n, 32);
                tm_mma_result r, rm, rn;
                GError *err = NULL;
                cr_assert(tm_mma_analyze(hws[h], &p, &r, &err), "%s", err ? err->message : "");
                tm_mma_params pm = mma(2 * m, n, 32), pn = mma(m, 2 * n, 32);
                cr_assert(tm_mma_analyze(hws[h], &pm, &rm, &err), "%s", err ? err->message : "");
                cr_assert(tm_mma_analyze(hws[h], &pn, &rn, &err), "%s", err ? err->message : "");
                for (int l = 0; l < TM_LEVEL_COUNT; l++) {
                    cr_expect(rm.level[l].bytes_per_flop <= r.level[l].bytes_per_flop + 1e-15,
                              "%s %ldx%ld level %d: 2M", hws[h]->name, (long)m, (long)n, l);
                    cr_expect(rn.level[l].bytes_per_flop <= r.level[l].bytes_per_flop + 1e-15,
                              "%s %ldx%ld level %d: 2N", hws[h]->name, (long)m, (long)n, l);
                }
                tm_hardware fast = *hws[h];
                fast.mem_bw *= 2;
                tm_mma_result rf;
                cr_assert(tm_mma_analyze(&fast, &p, &rf, &err));
                cr_expect(rf.achievable >= r.achievable);
            }
}

/* ---- host bandwidth and experts ------------------------------------------------------- */

static tm_moe_offload
mixtral(void)
{
    g_auto(tm_model_spec) m = {0};
    GError *err = NULL;
    cr_assert(tm_model_spec_load(&m, "mixtral-8x7b", &err), "%s", err ? err->message : "");
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    tm_moe_offload e;
    cr_assert(tm_moe_offload_init(&e, &m, TM_DTYPE_BF16, &par, &err));
    return e;
}

/* Mixtral-8x7B config (hidden 4,096, intermediate 14,336, 8 experts, top-2, 32 layers): one
 * expert of one layer is 3·4,096·14,336·2 B = 352,321,536 B; all 256 are 90,194,313,216 B.
 * Over PCIe Gen5 x16 (64 GB/s per direction, H100 datasheet) 1.40929 s; through DGX H100's
 * 614.4 GB/s of DDR5 shared by 8 GPUs 90.19e9·8/614.4e9 = 1.17440 s: PCIe bounds. */
Test(analyses, mixtral_cold_refill_over_pcie)
{
    tm_moe_offload e = mixtral();
    cr_expect_eq(e.expert_bytes, 352321536.0);
    cr_expect_eq(e.moe_layers, 32.0);
    tm_host_path path;
    GError *err = NULL;
    cr_assert(tm_host_path_init(&path, &h100, "auto", NAN, NAN, NAN, 0, 1.0, &err));
    tm_transfer t;
    tm_offload_cold(&e, &path, 8, &t);
    cr_expect_eq(t.h2d_bytes, 90194313216.0);
    cr_expect(NEAR(t.link_s, 90194313216.0 / 64e9, 1e-12));
    cr_expect(NEAR(t.ddr_s, 90194313216.0 * 8 / 614.4e9, 1e-12));
    cr_expect(fabs(t.time_s - 1.40929) < 1e-5, "%.6f s", t.time_s);
    cr_expect_eq(t.bottleneck, TM_CHANNEL_PCIE);
    /* one GPU alone on the host: DDR 0.1468 s, still PCIe */
    cr_assert(tm_host_path_init(&path, &h100, "pcie", NAN, NAN, NAN, 1, 1.0, &err));
    tm_offload_cold(&e, &path, 8, &t);
    cr_expect(NEAR(t.ddr_s, 90194313216.0 / 614.4e9, 1e-12));
    /* a slow host memory bounds instead */
    cr_assert(tm_host_path_init(&path, &h100, "auto", NAN, NAN, 100.0, 8, 1.0, &err));
    tm_offload_cold(&e, &path, 8, &t);
    cr_expect_eq(t.bottleneck, TM_CHANNEL_DDR);
    cr_expect(NEAR(t.time_s, 90194313216.0 * 8 / 100e9, 1e-12));
}

/* docs/domain.md §3.3: T tokens routed top-k among E touch E·(1 − (1 − k/E)^T) experts:
 * Mixtral, T = 4: 8·(1 − 0.75⁴) = 5.46875; with 4 resident, half of them miss: 2.734375.
 * Zipf s = 1 over E = 2, k = 1: p = (2/3, 1/3); T = 2 touches (1 − 1/9) + (1 − 4/9) = 13/9. */
Test(analyses, expert_misses_hand_figures)
{
    tm_moe_offload e = mixtral();
    cr_expect(NEAR(tm_expert_touched(&e, 0.0, 0, 4.0), 5.46875, 1e-12));
    cr_expect(NEAR(tm_expert_touched(&e, 0.0, 4, 4.0), 2.734375, 1e-12));
    cr_expect(NEAR(tm_expert_touched(&e, 0.0, 0, 4.0), tm_moe_distinct_experts(8, 2, 4), 1e-12));
    tm_moe_offload two = {2, 1, 1.0, 1.0};
    cr_expect(NEAR(tm_expert_touched(&two, 1.0, 0, 2.0), 13.0 / 9.0, 1e-12));
    cr_expect(NEAR(tm_expert_touched(&two, 1.0, 1, 2.0), 5.0 / 9.0, 1e-12));
}

/* One window of Mixtral on H100 with 4 experts resident, uniform routing, 64 sequences, a 40
 * ms step: every window touches all 8 experts (64 tokens), so 4 per layer miss: 4·32·352.3 MB
 * = 45.097 GB over PCIe = 704.64 ms > 40 ms of compute. With 100 % KV write-back (131,072 B per
 * token, device to host) the full-duplex link is not slower. */
Test(analyses, hot_refill_window_worked_example)
{
    tm_moe_offload e = mixtral();
    tm_host_path path;
    GError *err = NULL;
    cr_assert(tm_host_path_init(&path, &h100, "auto", NAN, NAN, NAN, 0, 1.0, &err));
    tm_offload_params p = {64, 4, 0.0, 0.040, 131072.0, 0.0, 0.0};
    cr_assert(tm_offload_params_check(&e, &p, &err));
    tm_offload_window w;
    tm_offload_window_eval(&e, &path, &p, 1, &w);
    cr_expect(NEAR(w.misses_per_layer, 4.0 * (1 - pow(0.75, 64)), 1e-12));
    cr_expect(NEAR(w.expert_bytes, w.misses_per_layer * 32 * 352321536.0, 1e-12));
    cr_expect(fabs(w.xfer.link_s * 1e3 - 704.64) < 0.01, "%.3f ms", w.xfer.link_s * 1e3);
    cr_expect(w.transfer_bound);
    cr_expect(NEAR(w.window_s, w.xfer.time_s, 1e-12));
    cr_expect(NEAR(w.serial_s, 0.040 + w.xfer.time_s, 1e-12));
    double link = w.xfer.link_s;
    p.kv_writeback = 1.0;
    tm_offload_window_eval(&e, &path, &p, 1, &w);
    cr_expect_eq(w.kv_write_bytes, 64.0 * 131072.0);
    cr_expect_eq(w.xfer.link_s, link);
    cr_expect(NEAR(w.xfer.ddr_s, (w.expert_bytes + 64.0 * 131072.0) * 8 / 614.4e9, 1e-12));
}

/* Properties: misses never rise with residency and never fall with the window; the window's
 * time never rises with any bandwidth; throughput never falls as the window grows (misses
 * are concave in the tokens, so bytes per token fall). */
Test(analyses, offload_properties)
{
    tm_moe_offload e = mixtral();
    const double skews[] = {0.0, 0.8, 2.0};
    for (size_t s = 0; s < G_N_ELEMENTS(skews); s++) {
        double prev = INFINITY;
        for (int64_t r = 0; r <= e.experts; r++) {
            double m = tm_expert_touched(&e, skews[s], r, 100.0);
            cr_expect(m <= prev + 1e-12);
            prev = m;
        }
        tm_offload_params p = {8, 2, skews[s], 0.010, 131072.0, 0.5, 16.0};
        GError *err = NULL;
        tm_host_path slow, fast;
        cr_assert(tm_host_path_init(&slow, &h100, "auto", 32.0, NAN, 200.0, 8, 0.8, &err));
        cr_assert(tm_host_path_init(&fast, &h100, "auto", 64.0, NAN, 400.0, 8, 0.8, &err));
        double prev_tps = 0, prev_m = 0;
        for (int64_t w = 1; w <= 4096; w *= 2) {
            tm_offload_window a, b;
            tm_offload_window_eval(&e, &slow, &p, w, &a);
            tm_offload_window_eval(&e, &fast, &p, w, &b);
            cr_expect(b.window_s <= a.window_s, "window %ld", (long)w);
            cr_expect(b.xfer.time_s <= a.xfer.time_s);
            cr_expect(a.misses_per_layer >= prev_m - 1e-12);
            cr_expect(a.tokens_per_s >= prev_tps * (1 - 1e-12), "window %ld: %.3f < %.3f", (long)w,
                      a.tokens_per_s, prev_tps);
            prev_m = a.misses_per_layer;
            prev_tps = a.tokens_per_s;
        }
    }
}

/* Inverse: a 50 ms budget over PCIe (64 GB/s) loads floor(0.05·64e9/352,321,536) =
 * floor(9.0825) = 9 expert-layers (DDR on one GPU is faster). With 4 resident and 1-step
 * windows of 64 tokens the 4 misses per layer take 704.6 ms: over budget. The fewest resident
 * that pass: misses·32·352.3 MB/64 GB/s ≤ 50 ms needs misses ≤ 0.284, so 8 resident. */
Test(analyses, experts_inverse_worked_example)
{
    tm_moe_offload e = mixtral();
    tm_host_path path;
    GError *err = NULL;
    cr_assert(tm_host_path_init(&path, &h100, "auto", NAN, NAN, NAN, 1, 1.0, &err));
    tm_offload_params p = {64, 4, 0.0, 0.020, 131072.0, 0.0, 0.0};
    tm_experts_answer a;
    tm_experts_answer_eval(&e, &path, &p, 1, 0.050, 0.200, &a);
    cr_expect_eq(a.loadable, 9.0);
    cr_expect(NEAR(a.loadable_per_layer, 9.0 / 32, 1e-12));
    cr_expect(!a.pass_budget);
    cr_expect(!a.pass_sla); /* 704.6 ms per token > 200 ms */
    cr_expect_eq(a.min_resident, 8);
    /* budget from the SLA: 16 steps × 200 ms = 3.2 s ≥ 704.6 ms; TPOT = 704.6/16 = 44.0 ms */
    tm_experts_answer_eval(&e, &path, &p, 16, NAN, 0.200, &a);
    cr_expect(NEAR(a.budget_s, 3.2, 1e-12));
    cr_expect(a.pass_budget && a.pass_sla);
    cr_expect(fabs(a.tpot_s * 1e3 - 44.04) < 0.01, "%.3f ms", a.tpot_s * 1e3);
    cr_expect_eq(a.min_resident, 0);
    /* memory: experts that fit in 50 GB at 11.27 GB each: 4 */
    cr_expect_eq(tm_experts_fit(&e, 50e9), 4);
    cr_expect_eq(tm_experts_fit(&e, 1e15), 8);
    cr_expect_eq(tm_experts_fit(&e, -1), 0);
}

Test(analyses, offload_bad_settings_name_the_flag)
{
    tm_moe_offload e = mixtral();
    GError *err = NULL;
    tm_offload_params p = {64, 9, 0.0, 0.02, 131072.0, 0.0, 0.0};
    cr_expect(!tm_offload_params_check(&e, &p, &err));
    expect_error(&err, "--resident-experts 9: the model has 8 experts per layer");
    p.resident = 4;
    p.kv_writeback = 1.5;
    cr_expect(!tm_offload_params_check(&e, &p, &err));
    expect_error(&err, "--kv-writeback");
    tm_host_path path;
    g_auto(tm_hardware) rtx = {0};
    cr_assert(tm_hardware_load(&rtx, "rtx4090", &err));
    cr_expect(!tm_host_path_init(&path, &rtx, "auto", NAN, NAN, NAN, 0, 1.0, &err));
    expect_error(&err, "--ddr-gbps: rtx4090 has no positive host-memory bandwidth");
    cr_expect(!tm_host_path_init(&path, &h100, "c2c", NAN, NAN, NAN, 0, 1.0, &err));
    expect_error(&err, "--c2c-gbps: h100-sxm has no positive NVLink-C2C bandwidth");
    cr_expect(!tm_host_path_init(&path, &h100, "auto", -5.0, NAN, NAN, 0, 1.0, &err));
    expect_error(&err, "--pcie-gbps");
    g_auto(tm_model_spec) m = {0};
    cr_assert(tm_model_spec_load(&m, "llama-3.1-8b", &err));
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    cr_expect(!tm_moe_offload_init(&e, &m, TM_DTYPE_BF16, &par, &err));
    expect_error(&err, "llama-3.1-8b: a dense model has no experts to offload");
}

/* ---- estimate views ---------------------------------------------------------------------- */

/* The overlap split reproduces the roofline's own step at ω = φ for every φ, and the step
 * shrinks linearly from serial (φ = 0) to comm-free (φ = 1). */
Test(analyses, overlap_view_matches_the_roofline)
{
    char model[] = "llama-3.1-70b", hardware[] = "h100-sxm", none[] = "none";
    tm_options o;
    memset(&o, 0, sizeof o);
    o.model = model;
    o.hardware = hardware;
    o.tp = 4;
    o.pp = o.dp = 1;
    o.calibration = none;
    o.compute_eff = o.memory_eff = o.comm_eff = o.moe_imbalance = NAN;
    const double phis[] = {0.0, 0.25, 0.5, 1.0};
    for (size_t i = 0; i < G_N_ELEMENTS(phis); i++) {
        o.overlap = phis[i];
        GError *err = NULL;
        g_autoptr(tm_setup) s = tm_setup_new(&o, &err);
        cr_assert_not_null(s, "%s", err ? err->message : "");
        g_autoptr(tm_timemodel) tm = tm_setup_timemodel(s);
        tm_batch b;
        tm_batch_init(&b, 0);
        tm_batch_add_n(&b, 8, 1024, 0, true);
        tm_roofline_detail d;
        double t = tm_roofline_eval(tm, &b, &d);
        tm_overlap_view v;
        tm_overlap_view_get(&d, phis[i], &v);
        cr_expect(NEAR(v.step_s, t, 1e-12), "φ %.2f: %.9g vs %.9g", phis[i], v.step_s, t);
        cr_expect(v.comm_s > 0);
        cr_expect(NEAR(v.step_s, v.serial_s - phis[i] * v.comm_s, 1e-12));
        cr_expect(NEAR(v.ideal_s, v.serial_s - v.comm_s, 1e-12));
        cr_expect(!v.overhidden);
    }
}
