/* tests/sim/test_config.c: the experiment configuration: defaults, file + flag precedence,
 * round trip of the resolved configuration, positioned errors. */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "base/json.h"
#include "sim/config.h"
#include "tests/testutil.h"

Test(config, defaults_are_the_documented_ones)
{
    sim_config c;
    sim_config_init(&c);
    cr_expect_str_eq(c.tm.model, "llama-3.1-8b");
    cr_expect_str_eq(c.tm.hardware, "h100-sxm");
    cr_expect_eq(c.tm.tp, 1);
    cr_expect_str_eq(c.sim.scheduler, "vllm");
    cr_expect(c.sim.enable_prefix_caching);
    cr_expect(c.sim.enable_chunked_prefill);
    cr_expect_float_eq(c.sim.gpu_memory_utilization, 0.9, 1e-12);
    cr_expect_eq(c.sim.max_num_seqs, BASE_OPT_UNSET_INT);
    sim_config_clear(&c);
}

Test(config, flags_override_the_file_wherever_they_appear)
{
    g_autofree char *p =
        tu_tmp_file(".json", "{\"seed\": 5, \"scheduler\": {\"max_num_seqs\": 64},"
                             " \"model\": \"qwen3-32b\", \"cluster\": {\"replicas\": 3}}");
    sim_config c;
    sim_config_init(&c);
    char *argv[] = {"--max-num-seqs", "128", "--config", p, "--tensor-parallel-size=2"};
    GError *err = NULL;
    cr_assert(sim_config_parse_args(&c, NULL, 5, argv, NULL, &err), "%s", err ? err->message : "");
    cr_expect_eq(c.sim.seed, 5);
    cr_expect_eq(c.sim.max_num_seqs, 128, "flag beats file even when given first");
    cr_expect_str_eq(c.tm.model, "qwen3-32b", "shorthand \"model\": NAME");
    cr_expect_eq(c.sim.replicas, 3);
    cr_expect_eq(c.tm.tp, 2);
    sim_config_clear(&c);
    g_unlink(p);
}

Test(config, resolved_configuration_round_trips)
{
    sim_config a;
    sim_config_init(&a);
    char *argv[] = {
        "--goodput", "ttft:500,tpot:50", "--rate",          "3.5", "--no-enable-prefix-caching",
        "--router",  "prefix_affinity",  "--max-model-len", "8192"};
    cr_assert(sim_config_parse_args(&a, NULL, 9, argv, NULL, NULL));
    json_t *j = sim_config_to_json(&a);
    g_autofree char *text = base_json_dumps(j);
    g_autofree char *p = tu_tmp_file(".json", text);
    sim_config b;
    sim_config_init(&b);
    GError *err = NULL;
    cr_assert(sim_config_load_file(&b, p, &err), "%s", err ? err->message : "");
    json_t *j2 = sim_config_to_json(&b);
    g_autofree char *text2 = base_json_dumps(j2);
    cr_expect_str_eq(text, text2);
    cr_expect(!b.sim.enable_prefix_caching);
    cr_expect_str_eq(b.sim.goodput[1], "tpot:50");
    cr_expect_float_eq(b.wl.rate, 3.5, 1e-12);
    /* The serialisation covers every section of the schema. */
    const char *sections[] = {"seed",      "model",   "hardware",  "parallelism",
                              "timemodel", "cluster", "scheduler", "kv",
                              "workload",  "metrics", "outputs"};
    for (size_t i = 0; i < G_N_ELEMENTS(sections); i++)
        cr_expect_not_null(json_object_get(j, sections[i]), "%s", sections[i]);
    json_decref(j);
    json_decref(j2);
    sim_config_clear(&a);
    sim_config_clear(&b);
    g_unlink(p);
}

static char *
file_error(const char *text)
{
    g_autofree char *p = tu_tmp_file(".json", text);
    sim_config c;
    sim_config_init(&c);
    GError *err = NULL;
    gboolean ok = sim_config_load_file(&c, p, &err);
    sim_config_clear(&c);
    g_unlink(p);
    if (ok)
        return NULL;
    /* strip the temp path so expectations are stable */
    char *m = g_strdup(err->message + strlen(p));
    g_error_free(err);
    return m;
}

Test(config, malformed_json_gives_line_and_column)
{
    g_autofree char *m = file_error("{\n  \"seed\": 1,\n  \"kv\": {\"block_size\": 16,,}\n}");
    cr_assert_not_null(m);
    cr_expect(g_str_has_prefix(m, ":3:"), "%s", m);
}

Test(config, duplicate_keys_rejected)
{
    g_autofree char *m = file_error("{\"seed\": 1, \"seed\": 2}");
    cr_assert_not_null(m);
    cr_expect(strstr(m, "duplicate") != NULL, "%s", m);
}

Test(config, unknown_key_and_wrong_type_name_the_path)
{
    g_autofree char *a = file_error("{\"scheduler\": {\"max_num_seq\": 4}}");
    cr_expect_str_eq(a, ": scheduler.max_num_seq: unknown key (did you mean: max_num_seqs?)");
    g_autofree char *b = file_error("{\"kv\": {\"enable_prefix_caching\": \"yes\"}}");
    cr_expect_str_eq(b, ": kv.enable_prefix_caching: expected true or false, got string");
    g_autofree char *c = file_error("{\"pd\": {\"prefill_replicas\": 2}}");
    cr_expect(strstr(c, "pd.prefill_replicas: unknown key") != NULL, "%s", c);
    g_autofree char *d = file_error("[1,2]");
    cr_expect_str_eq(d, ": expected a JSON object at top level, got array");
}
