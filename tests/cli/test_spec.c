/* tests/cli/test_spec.c: --speculative-config on the binary (docs/speculative.md): bad input
 * is one line naming the setting with exit status 2 and no outputs; the config-file key
 * `speculative_config` and the flag give the same run; the same seed gives byte-identical
 * outputs; acceptance 1.0 on a fixed-length workload makes every verify step emit k + 1 tokens
 * (requests.csv: acceptance_length = k + 1, accepted = k × steps); summary.json carries vLLM's
 * spec-decode metrics. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-spec-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(spec_cli, .init = setup, .fini = teardown, .timeout = 300);

static void
expect_bad(const char *model, const char *spec, const char *needle)
{
    g_autofree char *out = g_build_filename(dir, "bad", NULL);
    clirun r = clirun_exec("run", "--model", model, "--workload", "synthetic", "--num-requests",
                           "5", "--speculative-config", spec, "--output-dir", out, NULL);
    cr_expect_eq(r.code, 2, "exit %d: %s", r.code, r.err);
    cr_expect(g_str_has_prefix(r.err, "servesim: speculative_config"), "%s", r.err);
    cr_expect(strstr(r.err, needle) != NULL, "'%s' lacks '%s'", r.err, needle);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    g_autofree char *summary = g_build_filename(out, "summary.json", NULL);
    cr_expect_not(g_file_test(summary, G_FILE_TEST_EXISTS), "no outputs");
    clirun_clear(&r);
}

Test(spec_cli, bad_input_exits_2_with_one_line_naming_the_setting)
{
    expect_bad("llama-3.1-8b", "{\"method\":\"lookahead\",\"num_speculative_tokens\":3}",
               "speculative_config.method: unknown method 'lookahead'");
    expect_bad("llama-3.1-8b", "{\"method\":\"mtp\",\"num_speculative_tokens\":1}",
               "num_nextn_predict_layers");
    expect_bad("llama-3.1-8b",
               "{\"method\":\"eagle\",\"num_speculative_tokens\":0,\"acceptance_rate\":0.5}",
               "num_speculative_tokens: 0 is not an integer");
    expect_bad("llama-3.1-8b",
               "{\"method\":\"eagle\",\"num_speculative_tokens\":2,\"acceptance_rate\":[0.9,1.1]}",
               "acceptance_rate[1] = 1.1 is outside [0, 1]");
    expect_bad("llama-3.1-8b",
               "{\"method\":\"eagle3\",\"num_speculative_tokens\":2,\"acceptance_rate\":-0.2}",
               "acceptance_rate = -0.2 is outside [0, 1]");
    expect_bad("llama-3.1-8b", "not json", "expected a JSON object");
}

static char *
slurp(const char *d, const char *name)
{
    g_autofree char *p = g_build_filename(d, name, NULL);
    char *s = NULL;
    g_file_get_contents(p, &s, NULL, NULL);
    return s;
}

#define SPEC "{\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":[1,1,1]}"

Test(spec_cli, acceptance_one_emits_k_plus_one_per_step_and_the_file_key_matches_the_flag)
{
    /* 20 requests of 64 prompt and 41 output tokens: 1 token from the prefill, then 10 verify
     * steps of 4 tokens each */
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *b = g_build_filename(dir, "b", NULL);
    g_autofree char *c = g_build_filename(dir, "c", NULL);
    const char *wl[] = {"--workload",  "synthetic", "--num-requests", "20",       "--rate", "4",
                        "--input-len", "fixed:64",  "--output-len",   "fixed:41", "--quiet"};
    clirun r = clirun_exec("run", wl[0], wl[1], wl[2], wl[3], wl[4], wl[5], wl[6], wl[7], wl[8],
                           wl[9], wl[10], "--speculative-config", SPEC, "--output-dir", a, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *cfg = g_build_filename(dir, "exp.json", NULL);
    cr_assert(g_file_set_contents(cfg, "{\"speculative_config\": " SPEC "}", -1, NULL));
    r = clirun_exec("run", wl[0], wl[1], wl[2], wl[3], wl[4], wl[5], wl[6], wl[7], wl[8], wl[9],
                    wl[10], "--config", cfg, "--output-dir", b, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *csv_a = slurp(a, "requests.csv");
    g_autofree char *csv_b = slurp(b, "requests.csv");
    cr_assert_not_null(csv_a);
    cr_expect_str_eq(csv_a, csv_b, "flag and config-file key give the same run");
    g_auto(GStrv) lines = g_strsplit(csv_a, "\n", -1);
    cr_assert(g_str_has_suffix(lines[0], ",spec_steps,spec_draft_tokens,spec_accepted_tokens,"
                                         "acceptance_length"),
              "%s", lines[0]);
    int rows = 0;
    for (int i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++, rows++)
        cr_expect(g_str_has_suffix(lines[i], ",41,0,0,0,,0,10,30,30,4.0000"), "row %d: %s", i,
                  lines[i]);
    cr_expect_eq(rows, 20);
    /* summary: 200 drafts of 3 tokens, all accepted */
    g_autofree char *sj = g_build_filename(a, "summary.json", NULL);
    json_error_t je;
    json_auto_t *s = json_load_file(sj, 0, &je);
    cr_assert_not_null(s, "%s", je.text);
    json_t *sd = json_object_get(json_object_get(s, "metrics"), "speculative_decoding");
    cr_assert_not_null(sd);
    cr_expect_eq(json_integer_value(json_object_get(sd, "num_drafts")), 200);
    cr_expect_eq(json_integer_value(json_object_get(sd, "num_draft_tokens")), 600);
    cr_expect_eq(json_integer_value(json_object_get(sd, "num_accepted_tokens")), 600);
    cr_expect_eq(json_real_value(json_object_get(sd, "mean_acceptance_length")), 4.0);
    /* the same seed: byte-identical outputs */
    r = clirun_exec("run", wl[0], wl[1], wl[2], wl[3], wl[4], wl[5], wl[6], wl[7], wl[8], wl[9],
                    wl[10], "--speculative-config", SPEC, "--output-dir", c, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *csv_c = slurp(c, "requests.csv");
    cr_expect_str_eq(csv_a, csv_c);
    /* summary.json names its output directory: compare its metrics */
    g_autofree char *sc = g_build_filename(c, "summary.json", NULL);
    json_auto_t *s2 = json_load_file(sc, 0, &je);
    cr_assert_not_null(s2, "%s", je.text);
    g_autofree char *m1 = json_dumps(json_object_get(s, "metrics"), JSON_SORT_KEYS);
    g_autofree char *m2 = json_dumps(json_object_get(s2, "metrics"), JSON_SORT_KEYS);
    cr_expect_str_eq(m1, m2);
}

Test(spec_cli, random_acceptance_is_deterministic_for_a_seed)
{
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *b = g_build_filename(dir, "b", NULL);
    const char *spec = "{\"method\":\"eagle\",\"num_speculative_tokens\":2,"
                       "\"acceptance_rate\":[0.7,0.4]}";
    for (int i = 0; i < 2; i++) {
        clirun r = clirun_exec("run", "--workload", "synthetic", "--num-requests", "30", "--rate",
                               "5", "--seed", "9", "--speculative-config", spec, "--quiet",
                               "--output-dir", i == 0 ? a : b, NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        clirun_clear(&r);
    }
    g_autofree char *sa = slurp(a, "requests.csv");
    g_autofree char *sb = slurp(b, "requests.csv");
    cr_assert_not_null(sa);
    cr_expect_str_eq(sa, sb);
}

Test(spec_cli, steps_carry_the_verify_outcome_and_presets_list_the_acceptance_figures)
{
    /* 5 requests of 41 output tokens, every draft accepted: 50 verify sequences of 3 drafts */
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    clirun r = clirun_exec("run", "--workload", "synthetic", "--num-requests", "5", "--rate", "2",
                           "--input-len", "fixed:64", "--output-len", "fixed:41", "--quiet",
                           "--steps", "--steps-file", "steps.jsonl", "--speculative-config", SPEC,
                           "--output-dir", a, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *steps = slurp(a, "steps.jsonl");
    cr_assert_not_null(steps);
    g_auto(GStrv) lines = g_strsplit(steps, "\n", -1);
    json_int_t seqs = 0, drafter = 0;
    for (int i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        json_error_t je;
        json_auto_t *j = json_loads(lines[i], 0, &je);
        cr_assert_not_null(j, "%s", je.text);
        json_t *sp = json_object_get(j, "spec");
        cr_assert_not_null(sp, "line %d has no spec", i);
        json_int_t v = json_integer_value(json_object_get(sp, "verify_seqs"));
        cr_expect_eq(json_integer_value(json_object_get(sp, "draft_tokens")), 3 * v);
        cr_expect_eq(json_integer_value(json_object_get(sp, "accepted")), 3 * v);
        seqs += v;
        json_t *cost = json_object_get(j, "cost_ns");
        json_int_t d = json_integer_value(json_object_get(cost, "drafter"));
        cr_expect_gt(d, 0, "line %d: the drafter runs every step", i);
        cr_expect_lt(d, json_integer_value(json_object_get(cost, "total")));
        drafter += d;
    }
    cr_expect_eq(seqs, 50);
    cr_expect_gt(drafter, 0);
    r = clirun_exec("presets", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "deepseek-v3-mtp       mtp, k 1, per position 0.875; DeepSeek-V3") !=
                  NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "t5-small-ende-t0      draft_model, any k, per token 0.75 (position i: "
                            "0.75^i); Leviathan, Kalman & Matias, ICML 2023 (arXiv:2211.17192) "
                            "Table 3") != NULL,
              "%s", r.out);
    clirun_clear(&r);
}
