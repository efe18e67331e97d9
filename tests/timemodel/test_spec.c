/* tests/timemodel/test_spec.c: the speculative-decoding config and costs (timemodel/spec.h):
 * vLLM's keys, acceptance from a per-token rate (α^i, worked by hand), a per-position list, a
 * file of accepted-length weights (tail sums by hand) and the DeepSeek-V3 preset (85–90 %,
 * arXiv:2412.19437 §5.4.3); bad input as one line naming the key; the drafter's passes priced
 * with a linear model (1 + (k − 1) passes); drafters derived from the target (one layer). */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "timemodel/spec.h"

static tm_model_spec llama, dsv3;

static void
setup(void)
{
    GError *err = NULL;
    cr_assert(tm_model_spec_load(&llama, "llama-3.1-8b", &err), "%s", err ? err->message : "");
    cr_assert(tm_model_spec_load(&dsv3, "deepseek-v3", &err), "%s", err ? err->message : "");
}

static void
teardown(void)
{
    tm_model_spec_clear(&llama);
    tm_model_spec_clear(&dsv3);
}

TestSuite(spec, .init = setup, .fini = teardown, .timeout = 30);

static gboolean
parse(tm_spec_config *c, const tm_model_spec *m, const char *text, GError **error)
{
    json_error_t je;
    json_auto_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "%s: %s", text, je.text);
    return tm_spec_config_parse(c, j, m, error);
}

static void
expect_error(const tm_model_spec *m, const char *text, const char *needle)
{
    tm_spec_config c;
    GError *err = NULL;
    cr_expect_not(parse(&c, m, text, &err), "%s parsed", text);
    cr_assert_not_null(err, "%s", text);
    cr_expect(strstr(err->message, needle) != NULL, "'%s' lacks '%s'", err->message, needle);
    cr_expect(strchr(err->message, '\n') == NULL, "one line: %s", err->message);
    cr_expect(g_str_has_prefix(err->message, "speculative_config") ||
                  strstr(err->message, ".json") != NULL,
              "names the setting: %s", err->message);
    g_error_free(err);
}

Test(spec, a_per_token_rate_gives_its_powers_per_position)
{
    g_auto(tm_spec_config) c;
    GError *err = NULL;
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":0.5}",
                    &err),
              "%s", err ? err->message : "");
    cr_expect_eq(c.method, TM_SPEC_EAGLE3);
    cr_expect_eq(c.k, 3);
    cr_expect_float_eq(c.accept[0], 0.5, 1e-15);
    cr_expect_float_eq(c.accept[1], 0.25, 1e-15);
    cr_expect_float_eq(c.accept[2], 0.125, 1e-15);
    cr_expect_eq(c.accept[3], 0.0);
    /* 1 + 0.5 + 0.25 + 0.125 */
    cr_expect_float_eq(tm_spec_mean_acceptance_length(&c), 1.875, 1e-15);
    cr_expect(tm_spec_uses_lookahead(&c));
}

Test(spec, per_position_rates_and_ngram_without_lookahead)
{
    g_auto(tm_spec_config) c;
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"ngram\",\"num_speculative_tokens\":2,\"prompt_lookup_max\":4,"
                    "\"acceptance_rate\":[0.6,0.35]}",
                    NULL));
    cr_expect_eq(c.accept[0], 0.6);
    cr_expect_eq(c.accept[1], 0.35);
    cr_expect_not(tm_spec_uses_lookahead(&c), "vLLM reserves no lookahead slots for ngram");
    cr_expect_not(tm_spec_has_drafter(&c));
}

Test(spec, mtp_on_deepseek_v3_defaults_to_its_published_acceptance)
{
    g_auto(tm_spec_config) c;
    GError *err = NULL;
    cr_assert(parse(&c, &dsv3, "{\"method\":\"mtp\"}", &err), "%s", err ? err->message : "");
    cr_expect_eq(c.k, 1, "num_nextn_predict_layers = 1");
    cr_expect_float_eq(c.accept[0], 0.875, 1e-15, "middle of 85-90 %%");
    cr_expect_float_eq(tm_spec_mean_acceptance_length(&c), 1.875, 1e-15);
    cr_expect_str_eq(c.accept_source, "preset deepseek-v3-mtp");
    tm_spec_config_clear(&c);
    cr_assert(parse(&c, &dsv3,
                    "{\"method\":\"deepseek_mtp\",\"acceptance_preset\":\"deepseek-v3-mtp-low\"}",
                    NULL));
    cr_expect_eq(c.method, TM_SPEC_MTP);
    cr_expect_eq(c.accept[0], 0.85);
}

Test(spec, leviathan_t5_presets_give_the_papers_expected_tokens_per_step)
{
    /* Leviathan et al., ICML 2023, Table 3: α = 0.75 for T5-XXL with a T5-small draft on EnDe
     * at T=0. The paper's eq. 1, expected tokens per step (1 − α^(γ+1)) / (1 − α), at its
     * Table 2 γ = 7: 0.75^2 = 0.5625, ^4 = 0.31640625, ^8 = 0.1001129150390625, so
     * (1 − 0.1001129150390625) / 0.25 = 3.59954833984375. */
    g_auto(tm_spec_config) c;
    GError *err = NULL;
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"draft_model\",\"model\":\"llama-3.2-1b\","
                    "\"num_speculative_tokens\":7,\"acceptance_preset\":\"t5-small-ende-t0\"}",
                    &err),
              "%s", err ? err->message : "");
    cr_expect_float_eq(c.accept[0], 0.75, 1e-15);
    cr_expect_float_eq(c.accept[1], 0.5625, 1e-15);
    cr_expect_float_eq(c.accept[6], 0.75 * 0.31640625 * 0.5625, 1e-15, "0.75^7");
    cr_expect_eq(c.accept[7], 0.0, "nothing past k");
    cr_expect_float_eq(tm_spec_mean_acceptance_length(&c), 3.59954833984375, 1e-12);
    cr_expect_str_eq(c.accept_source, "preset t5-small-ende-t0");
    tm_spec_config_clear(&c);
    /* T5-large at T=1, α = 0.71, k = 3: 1 + 0.71 + 0.5041 + 0.357911 = 2.572011 */
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"draft_model\",\"model\":\"llama-3.2-1b\","
                    "\"num_speculative_tokens\":3,\"acceptance_preset\":\"t5-large-ende-t1\"}",
                    NULL));
    cr_expect_float_eq(c.accept[2], 0.357911, 1e-12);
    cr_expect_float_eq(tm_spec_mean_acceptance_length(&c), 2.572011, 1e-12);
    tm_spec_config_clear(&c);
    /* a per-token figure covers any k up to the bound: 16 positions */
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"draft_model\",\"model\":\"llama-3.2-1b\","
                    "\"num_speculative_tokens\":16,\"acceptance_preset\":\"t5-base-ende-t0\"}",
                    NULL));
    cr_expect_float_eq(c.accept[15], pow(0.8, 16), 1e-15);

    /* the six rows of Table 3 (T5-XXL, EnDe) the presets hold */
    static const struct {
        const char *name;
        double alpha;
    } rows[] = {{"t5-small-ende-t0", 0.75}, {"t5-base-ende-t0", 0.80}, {"t5-large-ende-t0", 0.82},
                {"t5-small-ende-t1", 0.62}, {"t5-base-ende-t1", 0.68}, {"t5-large-ende-t1", 0.71}};

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        const tm_spec_preset *p = tm_spec_preset_find(rows[i].name);
        cr_assert_not_null(p, "%s", rows[i].name);
        cr_expect_eq(p->method, TM_SPEC_DRAFT_MODEL);
        cr_expect_eq(p->alpha, rows[i].alpha, "%s", rows[i].name);
        cr_expect(strstr(p->source, "arXiv:2211.17192") != NULL, "%s cites its paper",
                  rows[i].name);
    }
    /* a draft-model figure is no EAGLE figure */
    expect_error(&llama,
                 "{\"method\":\"eagle\",\"num_speculative_tokens\":3,"
                 "\"acceptance_preset\":\"t5-small-ende-t0\"}",
                 "t5-small-ende-t0 publishes 16 position(s) for method draft_model");
}

Test(spec, an_accepted_length_file_gives_the_tail_sums)
{
    /* weights of 0, 1, 2 accepted drafts: 1, 1, 2 → P(≥1) = 3/4, P(≥2) = 2/4 */
    g_autofree char *dir = g_dir_make_tmp("servesim-spec-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "acc.json", NULL);
    cr_assert(
        g_file_set_contents(path, "{\"accepted_tokens\":[1,1,2],\"source\":\"test\"}", -1, NULL));
    g_autofree char *cfg = g_strdup_printf(
        "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_file\":\"%s\"}", path);
    g_auto(tm_spec_config) c;
    GError *err = NULL;
    cr_assert(parse(&c, &llama, cfg, &err), "%s", err ? err->message : "");
    cr_expect_float_eq(c.accept[0], 0.75, 1e-15);
    cr_expect_float_eq(c.accept[1], 0.5, 1e-15);
    /* per-position rates as vLLM logs them, and a bad one naming the file */
    cr_assert(g_file_set_contents(path, "{\"acceptance_rate\":[0.7,1.5]}", -1, NULL));
    expect_error(&llama, cfg, "acceptance_rate[1] = 1.5 is outside [0, 1]");
    cr_assert(g_file_set_contents(path, "{\"acceptance_rate\":[0.7,\n0.5,]}", -1, NULL));
    tm_spec_config d;
    GError *e2 = NULL;
    cr_expect_not(parse(&d, &llama, cfg, &e2));
    cr_assert_not_null(e2);
    g_autofree char *where = g_strdup_printf("%s:2:", path);
    cr_expect(g_str_has_prefix(e2->message, where), "FILE:LINE: %s", e2->message);
    g_error_free(e2);
    g_unlink(path);
    g_rmdir(dir);
}

Test(spec, bad_input_is_one_line_naming_the_setting)
{
    expect_error(&llama, "{\"method\":\"medusa\",\"num_speculative_tokens\":3}",
                 "speculative_config.method: unknown method 'medusa'");
    expect_error(&llama, "{\"num_speculative_tokens\":3}", "speculative_config.method: required");
    expect_error(&llama, "{\"method\":\"mtp\",\"num_speculative_tokens\":1}",
                 "num_nextn_predict_layers is absent or 0");
    expect_error(&llama, "{\"method\":\"eagle\",\"num_speculative_tokens\":0}",
                 "speculative_config.num_speculative_tokens: 0 is not an integer in [1, 16]");
    expect_error(&llama, "{\"method\":\"eagle\",\"num_speculative_tokens\":-2}",
                 "num_speculative_tokens: -2");
    expect_error(&llama,
                 "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_rate\":1.2}",
                 "speculative_config: acceptance_rate = 1.2 is outside [0, 1]");
    expect_error(
        &llama,
        "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_rate\":[0.5,-0.1]}",
        "acceptance_rate[1] = -0.1 is outside [0, 1]");
    expect_error(
        &llama, "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_rate\":[0.5,0.6]}",
        "cannot increase");
    expect_error(
        &llama, "{\"method\":\"eagle\",\"num_speculative_tokens\":3,\"acceptance_rate\":[0.5,0.4]}",
        "acceptance_rate has 2 entries, num_speculative_tokens is 3");
    expect_error(&llama, "{\"method\":\"eagle3\",\"num_speculative_tokens\":3}",
                 "no acceptance model for method eagle3");
    expect_error(
        &llama, "{\"method\":\"draft_model\",\"num_speculative_tokens\":3,\"acceptance_rate\":0.5}",
        "speculative_config.model: required for method draft_model");
    expect_error(&llama,
                 "{\"method\":\"eagle\",\"num_speculative_tokens\":3,\"quantization\":\"fp8\"}",
                 "unknown or unmodelled key 'quantization'");
    expect_error(&dsv3, "{\"method\":\"mtp\",\"num_speculative_tokens\":2}",
                 "deepseek-v3-mtp publishes 1 position(s)");
    expect_error(&llama, "[1,2]", "speculative_config: expected a JSON object");
}

Test(spec, drafters_are_one_layer_of_the_right_shape)
{
    g_auto(tm_spec_config) c;
    cr_assert(parse(&c, &dsv3, "{\"method\":\"mtp\"}", NULL));
    g_auto(tm_model_spec) d;
    cr_assert(tm_spec_drafter_spec(&c, &dsv3, &d, NULL));
    cr_expect_eq(d.layers, 1);
    cr_expect_eq(d.moe_layers, 1, "the MTP module is a MoE layer");
    cr_expect(d.mla);
    cr_expect_eq(d.vocab, dsv3.vocab);
    tm_spec_config_clear(&c);
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"eagle3\",\"num_speculative_tokens\":2,\"acceptance_rate\":0.5}",
                    NULL));
    g_auto(tm_model_spec) e;
    cr_assert(tm_spec_drafter_spec(&c, &llama, &e, NULL));
    cr_expect_eq(e.layers, 1);
    cr_expect_eq(e.hidden, llama.hidden);
    /* + the 3h×h feature fusion as MLP width: 3·h·Δ = 3·h·h, Δ = h = 4096 */
    cr_expect_eq(e.ffn, llama.ffn + 4096);
    cr_expect_eq(e.vocab, 32000, "EAGLE-3 draft vocabulary");
}

Test(spec, an_eagle3_head_for_llama_8b_weighs_its_layer_and_head_not_the_shared_embedding)
{
    /* bf16, tp 1, h 4096, 32 heads and 8 KV heads of 128, MLP 14336 + 4096 (fusion):
     * attention 4096·(32 + 16)·128 + 32·128·4096 = 41,943,040; MLP 3·4096·18432 = 226,492,416;
     * two norms 8192; draft head 32000·4096 = 131,072,000 and the final norm 4096 (the
     * embedding is the target's). Bytes: 2 × (41,943,040 + 226,492,416 + 8192 + 131,072,000 +
     * 4096) = 799,039,488. KV: 1 layer × 2 × 8 × 128 × 2 B = 4096 B per token. */
    g_auto(tm_spec_config) c;
    cr_assert(parse(&c, &llama,
                    "{\"method\":\"eagle3\",\"num_speculative_tokens\":2,\"acceptance_rate\":0.5}",
                    NULL));
    g_auto(tm_model_spec) d;
    cr_assert(tm_spec_drafter_spec(&c, &llama, &d, NULL));
    tm_parallel p = tm_parallel_make(1, 1, 1, false);
    cr_expect_float_eq(tm_spec_drafter_weight_bytes_gpu(&c, &d, TM_DTYPE_BF16, &p), 799039488.0,
                       0.5);
    cr_expect_float_eq(tm_model_kv_bytes_per_token_gpu(&d, TM_DTYPE_BF16, &p), 4096.0, 1e-9);
}

Test(spec, the_drafter_runs_one_pass_over_the_step_and_k_minus_one_over_the_samplers)
{
    /* linear model: 1 ms per pass + 10 µs per sequence. Step: 2 prefill sequences of 100
     * tokens (one samples) and 3 decoding sequences; propose: the 4 samplers. k = 4:
     * first pass 1 ms + 5 × 10 µs = 1.05 ms; 3 passes of 1 ms + 4 × 10 µs = 3 × 1.04 ms.
     * Total 4.17 ms. */
    tm_linear_coeffs lin = {.fixed_s = 1e-3, .per_seq_s = 10e-6};
    g_autoptr(tm_timemodel) d = tm_linear_new(&lin);
    tm_batch step, prop;
    tm_batch_init(&step, 0);
    step.decode_max_q = 5;
    tm_batch_add(&step, 100, 0, true);
    tm_batch_add(&step, 100, 0, false);
    for (int i = 0; i < 3; i++)
        tm_batch_add(&step, 5, 200, true);
    step.spec_tokens = 12;
    tm_batch_init(&prop, 0);
    for (int i = 0; i < 4; i++)
        tm_batch_add(&prop, 1, 300, true);
    cr_expect_eq(step.num_decode, 3, "verify of 1 + 4 tokens priced as decode");
    tm_step_cost c;
    cr_expect_float_eq(tm_spec_draft_s(d, 4, &step, &prop, &c), 4.17e-3, 1e-12);
    cr_expect_float_eq(c.total_s, 4.17e-3, 1e-12);
    cr_expect_eq(tm_spec_draft_s(NULL, 4, &step, &prop, NULL), 0.0, "ngram: no GPU drafter");
    cr_expect_float_eq(tm_spec_draft_s(d, 1, &step, &prop, NULL), 1.05e-3, 1e-12,
                       "k = 1: the first pass only");
}
