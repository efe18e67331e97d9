/* tests/timemodel/test_memory.c: the memory plan (docs/domain.md §1.5) and vLLM's GPU-dependent
 * defaults (docs/domain.md §1.2), including "does not fit" messages that name the shortfall. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "timemodel/memory.h"

typedef struct {
    tm_model_spec m;
    tm_hardware hw;
} pair;

static pair
load(const char *model, const char *hw)
{
    pair p;
    GError *err = NULL;
    cr_assert(tm_model_spec_load(&p.m, model, &err), "%s", err ? err->message : "");
    cr_assert(tm_hardware_load(&p.hw, hw, &err), "%s", err ? err->message : "");
    return p;
}

static void
unload(pair *p)
{
    tm_model_spec_clear(&p->m);
    tm_hardware_clear(&p->hw);
}

/* Llama-3.1-8B on one H100 at 0.9, block 16, by hand:
 *   usable 80·0.99 GiB = 85,040,352,460.8 B; ×0.9 = 76,536,317,214.72 B
 *   weights 2·8,030,261,248 = 16,060,522,496 B
 *   activations (8192 tokens, 1024 sequences): per layer 2·8192·4096 + 8192·3·14336 =
 *     419,430,400, ×2 B = 838,860,800; logits 2·1024·128256·4 = 1,050,673,152 → 1,889,533,952
 *   non-torch 0.75 GiB = 805,306,368
 *   KV 57,780,954,398.72 B / (16·131,072) = 27,552.03 → 27,552 blocks = 440,832 tokens. */
Test(memory, llama8b_h100_by_hand)
{
    pair p = load("llama-3.1-8b", "h100-sxm");
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    tm_memory_plan plan;
    GError *err = NULL;
    tm_memory_args a = {.gpu_memory_utilization = 0.9, .context_len = 4096};
    cr_assert(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                     &a, &plan, &err),
              "%s", err ? err->message : "");
    cr_expect_eq(plan.weight_bytes, 16060522496.0);
    cr_expect_eq(plan.activation_bytes, 1889533952.0);
    cr_expect_eq(plan.block_size, 16);
    cr_expect_eq(plan.kv_bytes_per_token, 131072.0);
    cr_expect_eq(plan.num_gpu_blocks, 27552);
    cr_expect_eq(plan.kv_tokens, 27552 * 16);
    cr_expect_eq(plan.max_model_len, 131072);
    /* 4096-token requests take 256 blocks: (27,552 − 1 null block) / 256 = 107 */
    cr_expect_eq(plan.max_concurrent, 107);
    cr_expect(plan.fits);
    unload(&p);
}

Test(memory, mla_defaults_to_block_64_and_tp_does_not_split_latent)
{
    pair p = load("deepseek-v3", "h200");
    tm_parallel par = tm_parallel_make(8, 1, 1, false);
    tm_memory_plan plan;
    GError *err = NULL;
    cr_assert(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_FP8, TM_DTYPE_FP8, TM_DTYPE_BF16,
                                     NULL, &plan, &err),
              "%s", err ? err->message : "");
    cr_expect_eq(plan.block_size, 64);
    cr_expect_eq(plan.kv_bytes_per_token, 70272.0);
    cr_expect_gt(plan.num_gpu_blocks, 1000);
    unload(&p);
}

Test(memory, model_too_big_names_the_shortfall)
{
    pair p = load("llama-3.1-70b", "h100-sxm");
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    tm_memory_plan plan;
    GError *err = NULL;
    cr_expect_not(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                         TM_DTYPE_BF16, NULL, &plan, &err));
    cr_assert_not_null(err);
    cr_expect(g_error_matches(err, TM_ERROR, TM_ERROR_NO_FIT));
    cr_expect(strstr(err->message, "does not fit") && strstr(err->message, "short by") &&
                  strstr(err->message, " GB"),
              "%s", err->message);
    cr_expect_null(strchr(err->message, '\n'));
    cr_expect_not(plan.fits);
    /* 141.1 GB of weights + reserves vs 0.9·79.2 GiB = 76.5 GB: short by more than 65 GB */
    cr_expect_gt(plan.shortfall_bytes, 65e9);
    g_clear_error(&err);
    par = tm_parallel_make(4, 1, 1, false);
    cr_expect(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                     NULL, &plan, &err));
    unload(&p);
}

Test(memory, max_model_len_that_does_not_fit)
{
    pair p = load("llama-3.1-8b", "rtx4090");
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    tm_memory_plan plan;
    GError *err = NULL;
    cr_expect_not(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                         TM_DTYPE_BF16, NULL, &plan, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "--max-model-len 131072") && strstr(err->message, "short by"),
              "%s", err->message);
    g_clear_error(&err);
    tm_memory_args a = {.max_model_len = 8192};
    cr_expect(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                     &a, &plan, &err),
              "%s", err ? err->message : "");
    cr_expect_gt(plan.max_concurrent, 1);
    unload(&p);
}

Test(memory, vllm_defaults_by_gpu)
{
    const struct {
        const char *hw;
        int64_t tokens, seqs;
    } rows[] = {{"h100-sxm", 8192, 1024}, {"a100-80gb", 2048, 1024}, {"a100-40gb", 2048, 256},
                {"rtx4090", 2048, 256},   {"mi300x", 8192, 1024},    {"l40s", 2048, 256}};

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        pair p = load("llama-3.1-8b", rows[i].hw);
        tm_vllm_defaults d;
        tm_vllm_defaults_get(&d, &p.m, &p.hw);
        cr_expect_eq(d.max_num_batched_tokens, rows[i].tokens, "%s", rows[i].hw);
        cr_expect_eq(d.max_num_seqs, rows[i].seqs, "%s", rows[i].hw);
        cr_expect_eq(d.block_size, 16);
        cr_expect_eq(d.max_model_len, 131072);
        unload(&p);
    }
}

/* Sliding-window layers in the plan: Gemma-3-1B (4 full layers, 22 sliding with a 512-token
 * window, 1024 KV bytes per token and layer). Without a context the pool counts every layer at
 * full context, vLLM's "GPU KV cache size" (26 × 1024 = 26,624 B per token); for 2048-token
 * requests a token costs 1024 × (4 + 22 × 512/2048) = 9,728 B. The budget is the same, so the
 * blocks scale by 26,624 / 9,728. */
Test(memory, sliding_window_layers_are_counted_for_the_given_context)
{
    pair p =
        load(SERVESIM_DATA_DIR "/model-configs/reconstructed__google--gemma-3-1b-it.config.json",
             "h100-sxm");
    tm_parallel par = tm_parallel_make(1, 1, 1, false);
    tm_memory_args a = {0};
    tm_memory_plan all, ctx;
    GError *err = NULL;
    cr_assert(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                     &a, &all, &err),
              "%s", err ? err->message : "");
    cr_expect_eq(all.kv_bytes_per_token, 26624.0);
    cr_expect_not(all.window_amortized);
    a.context_len = 2048;
    cr_assert(tm_memory_plan_compute(&p.m, &p.hw, &par, TM_DTYPE_BF16, TM_DTYPE_BF16, TM_DTYPE_BF16,
                                     &a, &ctx, &err));
    cr_expect_eq(ctx.kv_bytes_per_token, 9728.0);
    cr_expect_eq(ctx.kv_bytes_per_token_all, 26624.0);
    cr_expect(ctx.window_amortized);
    cr_expect_eq(ctx.num_gpu_blocks, (int64_t)floor(ctx.kv_bytes / (16.0 * 9728.0)));
    unload(&p);
}
