/* tests/cli/test_pd.c: prefill/decode disaggregation through the binary: bad settings are
 * one-line usage errors naming the setting and leave no output; --print-config round-trips
 * --pd; the KV bytes moved per token are docs/domain.md §2.1's arithmetic for Llama-3.1-70B and
 * DeepSeek-V3 (MLA); the same seed gives byte-identical outputs; and the golden case
 * tests/golden/pd-conditional (diffed byte for byte, with properties checked by hand asserted
 * on the produced requests.csv). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "base/csv.h"
#include "tests/cli/clirun.h"

TestSuite(pd_cli, .timeout = 300);

static void
remove_dir(const char *d)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", d);
    (void)!system(cmd);
}

/* `servesim run ARGS... --output-dir DIR --quiet` must exit 2 with one stderr line containing
 * NEEDLE and leave nothing in DIR. */
static void
expect_usage_error(const char *needle, const char *const *args)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    const char *argv[40] = {"run", "--model", "llama-3.1-8b", "--num-requests", "5"};
    size_t n = 5;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n++] = "--output-dir";
    argv[n++] = out;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    clirun r = clirun_execv(argv);
    cr_expect_eq(r.code, 2, "%s: exit %d, stderr %s", needle, r.code, r.err);
    cr_expect(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
    const char *nl = strchr(r.err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: '%s'", r.err);
    g_autofree char *summary = g_build_filename(out, "summary.json", NULL);
    g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
    cr_expect(!g_file_test(summary, G_FILE_TEST_EXISTS) && !g_file_test(csv, G_FILE_TEST_EXISTS),
              "no output after %s", needle);
    clirun_clear(&r);
    remove_dir(dir);
}

static char *
write_tmp(const char *dir, const char *name, const char *text)
{
    char *p = g_build_filename(dir, name, NULL);
    cr_assert(g_file_set_contents(p, text, -1, NULL));
    return p;
}

Test(pd_cli, bad_settings_are_one_line_usage_errors)
{
    const char *const none[] = {"--pd", "0:6", NULL};
    expect_usage_error("--pd '0:6': a pool with no replicas", none);
    const char *const syntax[] = {"--pd", "2", NULL};
    expect_usage_error("expected P:D", syntax);
    const char *const stat[] = {"--pd", "2:6", "--scheduler", "static", NULL};
    expect_usage_error("--scheduler static", stat);
    const char *const bw[] = {"--pd", "2:6", "--pd-link-bandwidth", "0", NULL};
    expect_usage_error("--pd-link-bandwidth (pd.link_bandwidth_gbs)", bw);
    const char *const neg[] = {"--pd", "2:6", "--pd-link-bandwidth", "-5", NULL};
    expect_usage_error("must be > 0", neg);
    const char *const tp[] = {"--pd", "2:6", "--tensor-parallel-size", "3", NULL};
    expect_usage_error("--tensor-parallel-size 3 does not divide", tp);
    const char *const sp[] = {"--pd", "2:6", "--speculative-config",
                              "{\"method\":\"eagle3\",\"num_speculative_tokens\":2}", NULL};
    expect_usage_error("--speculative-config with --pd", sp);
    const char *const reps[] = {"--pd", "2:6", "--replicas", "4", NULL};
    expect_usage_error("--replicas 4 (cluster.replicas) with a prefill/decode split of 2:6", reps);

    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    g_autofree char *model =
        write_tmp(dir, "model.json",
                  "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 1}, {\"role\": "
                  "\"decode\", \"replicas\": 2, \"model\": {\"name\": \"llama-3.1-70b\"}}]}}");
    const char *const m[] = {"--config", model, NULL};
    expect_usage_error("cluster.pools[1].model.name: the decode pool's model", m);
    g_autofree char *empty =
        write_tmp(dir, "empty.json",
                  "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 0}, {\"role\": "
                  "\"decode\", \"replicas\": 2}]}}");
    const char *const e[] = {"--config", empty, NULL};
    expect_usage_error("cluster.pools[0].replicas", e);
    g_autofree char *dtp = write_tmp(
        dir, "dtp.json",
        "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 1}, {\"role\": "
        "\"decode\", \"replicas\": 2, \"parallelism\": {\"tensor_parallel_size\": 5}}]}}");
    const char *const d[] = {"--config", dtp, NULL};
    expect_usage_error("decode pool: ", d);
    g_autofree char *psec = write_tmp(
        dir, "psec.json",
        "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 1, \"workload\": "
        "{}}, {\"role\": \"decode\", \"replicas\": 2}]}}");
    const char *const ps[] = {"--config", psec, NULL};
    expect_usage_error("cluster.pools[0].workload: a pool may set hardware", ps);
    g_autofree char *pstat = write_tmp(
        dir, "pstat.json",
        "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 1, \"scheduler\": "
        "{\"policy\": \"static\"}}, {\"role\": \"decode\", \"replicas\": 2}]}}");
    const char *const pst[] = {"--config", pstat, NULL};
    expect_usage_error("scheduler.policy static (prefill pool)", pst);
    g_autofree char *ptp =
        write_tmp(dir, "ptp.json",
                  "{\"cluster\": {\"pools\": [{\"role\": \"prefill\", \"replicas\": 1, "
                  "\"parallelism\": {\"tensor_parallel_size\": 3}}, {\"role\": \"decode\", "
                  "\"replicas\": 2}]}}");
    const char *const pt[] = {"--config", ptp, NULL};
    expect_usage_error("does not divide", pt);
    g_autofree char *both = write_tmp(
        dir, "both.json",
        "{\"pd\": {\"pools\": \"1:1\"}, \"cluster\": {\"pools\": [{\"role\": \"prefill\", "
        "\"replicas\": 1}, {\"role\": \"decode\", \"replicas\": 2}]}}");
    const char *const b[] = {"--config", both, NULL};
    expect_usage_error("--pd and cluster.pools", b);
    remove_dir(dir);
}

Test(pd_cli, print_config_round_trips)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    clirun a = clirun_exec("run", "--model", "llama-3.1-8b", "--pd", "2:6", "--pd-link", "eth-100",
                           "--pd-conditional-tokens", "256", "--print-config", NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    json_error_t je;
    json_auto_t *j = json_loads(a.out, 0, &je);
    cr_assert_not_null(j);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "pd"), "pools")), "2:6");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "cluster"), "replicas")), 2,
                 "the top-level replicas are the prefill pool's");
    g_autofree char *cfg = write_tmp(dir, "c.json", a.out);
    clirun b = clirun_exec("run", "--config", cfg, "--print-config", NULL);
    cr_assert_eq(b.code, 0, "%s", b.err);
    cr_expect_str_eq(a.out, b.out);
    clirun_clear(&a);
    clirun_clear(&b);
    remove_dir(dir);
}

/* Σ xfer_bytes / Σ prompt tokens of DIR/requests.csv. */
static double
bytes_per_token_of(const char *dir)
{
    g_autofree char *csv = g_build_filename(dir, "requests.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(csv, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c);
    int pc = base_csv_col(c, "prompt_tokens"), bc = base_csv_col(c, "xfer_bytes");
    cr_assert(pc >= 0 && bc >= 0, "requests.csv has the pd columns");
    double prompt = 0, bytes = 0;
    while (base_csv_next(c, &err) > 0) {
        double p, b;
        cr_assert(base_csv_get_double(c, pc, &p, &err));
        cr_assert(base_csv_get_double(c, bc, &b, &err));
        prompt += p;
        bytes += b;
    }
    return bytes / prompt;
}

/* Σ xfer_bytes / Σ prompt tokens of a run whose prompts are never cached on the decode side. */
static double
bytes_per_token(const char *const *args)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    const char *argv[40] = {"run"};
    size_t n = 1;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    const char *tail[] = {"--workload",  "synthetic", "--num-requests", "3",
                          "--input-len", "1000",      "--output-len",   "4",
                          "--rate",      "1",         "--output-dir",   dir,
                          "--quiet",     NULL};
    for (size_t i = 0; tail[i] != NULL; i++)
        argv[n++] = tail[i];
    argv[n] = NULL;
    clirun r = clirun_execv(argv);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    double v = bytes_per_token_of(dir);
    remove_dir(dir);
    return v;
}

/* Heterogeneous pools: the top-level settings (A100, TP 4, budget 4096, 90 % of GPU memory) are
 * overridden by the prefill entry (H100, TP 1, 80 %) and by the decode entry (H200, TP 2,
 * budget 1024; 90 % as given at the top level). */
static const char het_config[] =
    "{\"model\": {\"name\": \"llama-3.1-8b\"}, \"hardware\": {\"name\": \"a100-80gb\"}, "
    "\"parallelism\": {\"tensor_parallel_size\": 4}, \"scheduler\": "
    "{\"max_num_batched_tokens\": 4096}, \"cluster\": {\"pools\": ["
    "{\"role\": \"prefill\", \"replicas\": 1, \"hardware\": {\"name\": \"h100-sxm\"}, "
    "\"parallelism\": {\"tensor_parallel_size\": 1}, \"kv\": {\"gpu_memory_utilization\": "
    "0.8}}, "
    "{\"role\": \"decode\", \"replicas\": 2, \"hardware\": {\"name\": \"h200\"}, "
    "\"parallelism\": {\"tensor_parallel_size\": 2}, \"scheduler\": "
    "{\"max_num_batched_tokens\": 1024}}]}}";

static void
run_het(const char *cfg, const char *out)
{
    clirun r = clirun_exec("run", "--config", cfg, "--workload", "synthetic", "--num-requests",
                           "50", "--input-len", "fixed:1000", "--output-len", "fixed:50", "--rate",
                           "5", "--output-dir", out, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
}

static const json_t *
jpath(const json_t *j, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(j, a);
    if (b != NULL)
        v = json_object_get(v, b);
    if (c != NULL)
        v = json_object_get(v, c);
    return v;
}

Test(pd_cli, each_pool_has_its_own_hardware_parallelism_and_scheduler)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    g_autofree char *cfg = write_tmp(dir, "het.json", het_config);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    run_het(cfg, out);
    g_autofree char *sp = g_build_filename(out, "summary.json", NULL);
    json_auto_t *j = json_load_file(sp, 0, NULL);
    cr_assert_not_null(j);
    /* the top-level config written is the prefill pool's, the decode pool's is resolved.decode_pool
     */
    cr_expect_str_eq(json_string_value(jpath(j, "config", "hardware", "name")), "h100-sxm");
    cr_expect_eq(json_integer_value(jpath(j, "config", "parallelism", "tensor_parallel_size")), 1);
    const json_t *dp = jpath(j, "config", "resolved", "decode_pool");
    cr_expect_str_eq(json_string_value(jpath(dp, "hardware", "name", NULL)), "h200");
    cr_expect_eq(json_integer_value(jpath(dp, "parallelism", "tensor_parallel_size", NULL)), 2);
    cr_expect_float_eq(json_number_value(jpath(j, "config", "kv", "gpu_memory_utilization")), 0.8,
                       1e-12);
    cr_expect_float_eq(json_number_value(jpath(dp, "kv", "gpu_memory_utilization", NULL)), 0.9,
                       1e-12, "the decode pool does not inherit the prefill entry's setting");
    const json_t *pools = jpath(j, "pd", "pools", NULL);
    cr_assert_eq(json_array_size(pools), 2);
    const json_t *P = json_array_get(pools, 0), *D = json_array_get(pools, 1);
    cr_expect_eq(json_integer_value(json_object_get(P, "gpus_per_core")), 1);
    cr_expect_eq(json_integer_value(json_object_get(D, "gpus_per_core")), 2);
    /* what each pool runs on, as given in its entry */
    cr_expect_str_eq(json_string_value(json_object_get(P, "hardware")), "h100-sxm");
    cr_expect_str_eq(json_string_value(json_object_get(D, "hardware")), "h200");
    cr_expect_eq(json_integer_value(json_object_get(P, "tensor_parallel_size")), 1);
    cr_expect_eq(json_integer_value(json_object_get(D, "tensor_parallel_size")), 2);
    cr_expect_eq(json_integer_value(json_object_get(D, "pipeline_parallel_size")), 1);
    cr_expect_eq(json_integer_value(json_object_get(P, "max_num_batched_tokens")), 4096);
    cr_expect_eq(json_integer_value(json_object_get(D, "max_num_batched_tokens")), 1024);
    /* ports: ib-ndr-400, 50 GB/s × 0.8 per GPU */
    cr_expect_float_eq(json_number_value(json_object_get(P, "port_GBps")), 40.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(D, "port_GBps")), 80.0, 1e-9);
    /* token budget fill against each pool's own budget. Prefill: one 1000-token prompt per
     * step, 1000 / 4096. Decode: every request takes 50 tokens there (the recomputed last
     * prompt token, which samples token 1, then 49 decode tokens), so steps × mean tokens per
     * step = 50 × its requests, and the fill is that mean over 1024 (not 4096). */
    const json_t *reps = jpath(j, "metrics", "replicas", NULL);
    cr_assert_eq(json_array_size(reps), 3);
    cr_expect_float_eq(
        json_number_value(json_object_get(json_array_get(reps, 0), "token_budget_fill")),
        1000.0 / 4096, 1e-12);
    for (size_t k = 1; k < 3; k++) {
        const json_t *r = json_array_get(reps, k);
        double steps = (double)json_integer_value(json_object_get(r, "steps"));
        double n = (double)json_integer_value(json_object_get(r, "requests"));
        double fill = json_number_value(json_object_get(r, "token_budget_fill"));
        cr_expect_gt(n, 0);
        cr_expect_float_eq(fill * 1024 * steps, 50 * n, 1e-6 * 50 * n, "decode core %zu", k);
    }
    /* KV moved: Llama-3.1-8B 2 · 32 layers · 8 KV heads · 128 · 2 B = 131,072 B per token
     * (docs/domain.md §2.1), whatever the TP on either side */
    cr_expect_eq(bytes_per_token_of(out), 131072.0);
    remove_dir(dir);
}

/* The printed table names each pool's GPU and layout: the Simulated block's rows are the
 * prefill pool's, its hardware row names the decode pool's too, and the pools block gives each
 * pool a line "on HW, TP x PP x DP per replica". */
Test(pd_cli, the_printed_table_names_each_pools_hardware)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    g_autofree char *cfg = write_tmp(dir, "het.json", het_config);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    clirun r = clirun_exec("run", "--config", cfg, "--workload", "synthetic", "--num-requests",
                           "20", "--input-len", "fixed:1000", "--output-len", "fixed:20", "--rate",
                           "5", "--output-dir", out, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect_not_null(strstr(r.out, "prefill pool, decode pool: h200, TP 2 x PP 1 x DP 1)"), "%s",
                       r.out);
    const char *pb = strstr(r.out, "Prefill/decode pools");
    cr_assert_not_null(pb, "%s", r.out);
    const char *p1 = strstr(pb, "on h100-sxm, TP 1 x PP 1 x DP 1 per replica");
    const char *p2 = strstr(pb, "on h200, TP 2 x PP 1 x DP 1 per replica");
    cr_expect(p1 != NULL && p2 != NULL && p1 < p2, "%s", pb);
    clirun_clear(&r);
    remove_dir(dir);
}

/* --print-config of cluster.pools loads back to the same two pools: printed twice the same,
 * and a run from the printed configuration gives byte-identical requests. */
Test(pd_cli, print_config_round_trips_heterogeneous_pools)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    g_autofree char *cfg = write_tmp(dir, "het.json", het_config);
    clirun a = clirun_exec("run", "--config", cfg, "--print-config", NULL);
    cr_assert_eq(a.code, 0, "%s", a.err);
    g_autofree char *printed = write_tmp(dir, "printed.json", a.out);
    clirun b = clirun_exec("run", "--config", printed, "--print-config", NULL);
    cr_assert_eq(b.code, 0, "%s", b.err);
    cr_expect_str_eq(a.out, b.out);
    json_error_t je;
    json_auto_t *j = json_loads(a.out, 0, &je);
    cr_assert_not_null(j);
    const json_t *pools = jpath(j, "cluster", "pools", NULL);
    cr_expect_str_eq(json_string_value(jpath(json_array_get(pools, 1), "hardware", "name", NULL)),
                     "h200");
    cr_expect_str_eq(json_string_value(jpath(j, "hardware", "name", NULL)), "h100-sxm");
    g_autofree char *o1 = g_build_filename(dir, "o1", NULL);
    g_autofree char *o2 = g_build_filename(dir, "o2", NULL);
    run_het(cfg, o1);
    run_het(printed, o2);
    g_autofree char *c1 = g_build_filename(o1, "requests.csv", NULL);
    g_autofree char *c2 = g_build_filename(o2, "requests.csv", NULL);
    g_autofree char *t1 = NULL, *t2 = NULL;
    cr_assert(g_file_get_contents(c1, &t1, NULL, NULL));
    cr_assert(g_file_get_contents(c2, &t2, NULL, NULL));
    cr_expect_str_eq(t1, t2, "the printed configuration runs the same pools");
    clirun_clear(&a);
    clirun_clear(&b);
    remove_dir(dir);
}

/* docs/domain.md §2.1: Llama-3-70B 2 · 80 layers · 8 KV heads · 128 · 2 B = 327,680 B per token
 * (TP 4 shards the 8 KV heads, 4 NICs carry 81,920 B each); DeepSeek-V3 MLA (576 latent +
 * rope values) · 61 layers · 2 B = 70,272 B (data-parallel attention: one GPU per core). */
Test(pd_cli, transfer_bytes_follow_the_kv_arithmetic)
{
    const char *const llama[] = {
        "--model", "llama-3.1-70b", "--tensor-parallel-size", "4", "--pd", "1:1", NULL};
    cr_expect_float_eq(bytes_per_token(llama), 327680.0, 1e-9);
    const char *const ds[] = {"--model",
                              "deepseek-v3",
                              "--hardware",
                              "h200",
                              "--data-parallel-size",
                              "8",
                              "--enable-expert-parallel",
                              "--pd",
                              "1:1",
                              NULL};
    cr_expect_float_eq(bytes_per_token(ds), 70272.0, 1e-9);
}

Test(pd_cli, same_seed_gives_byte_identical_outputs)
{
    char *dirs[2];
    for (int i = 0; i < 2; i++) {
        dirs[i] = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
        clirun r = clirun_exec("run", "--model", "llama-3.1-8b", "--pd", "1:2", "--rate", "8",
                               "--num-requests", "150", "--pd-layer-streaming", "--seed", "3",
                               "--steps", "--output-dir", dirs[i], "--quiet", NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        clirun_clear(&r);
    }
    const char *files[] = {"requests.csv", "vllm_bench_result.json", "steps.jsonl.gz"};
    for (size_t k = 0; k < G_N_ELEMENTS(files); k++) {
        g_autofree char *pa = g_build_filename(dirs[0], files[k], NULL);
        g_autofree char *pb = g_build_filename(dirs[1], files[k], NULL);
        g_autofree char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        cr_assert(g_file_get_contents(pa, &a, &la, NULL), "%s missing", pa);
        cr_assert(g_file_get_contents(pb, &b, &lb, NULL), "%s missing", pb);
        cr_expect(la == lb && memcmp(a, b, la) == 0, "%s differs between two runs", files[k]);
    }
    /* summary.json names the output directory: compare its other sections */
    json_t *j[2];
    for (int i = 0; i < 2; i++) {
        g_autofree char *p = g_build_filename(dirs[i], "summary.json", NULL);
        j[i] = json_load_file(p, 0, NULL);
        cr_assert_not_null(j[i]);
    }
    cr_expect(json_equal(json_object_get(j[0], "metrics"), json_object_get(j[1], "metrics")));
    cr_expect(json_equal(json_object_get(j[0], "pd"), json_object_get(j[1], "pd")));
    cr_expect_not_null(json_object_get(j[0], "pd"));
    for (int i = 0; i < 2; i++) {
        json_decref(j[i]);
        remove_dir(dirs[i]);
        g_free(dirs[i]);
    }
}

/* vLLM's abort timeout is not modelled; a run where it would have fired says so. 1000 tokens of
 * Llama-3.1-8B KV (131,072,000 B) over a 1 MB/s link (× 0.8) take 164 s; 4000 tokens take
 * 655 s: only the second passes 480 s after its prefill. */
Test(pd_cli, transfers_past_the_abort_timeout_are_warned_about)
{
    for (int k = 0; k < 2; k++) {
        g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
        clirun r =
            clirun_exec("run", "--model", "llama-3.1-8b", "--pd", "1:1", "--pd-link", "ib-ndr-400",
                        "--pd-link-bandwidth", "0.001", "--workload", "synthetic", "--num-requests",
                        "1", "--input-len", k == 0 ? "fixed:1000" : "fixed:4000", "--output-len",
                        "fixed:2", "--output-dir", dir, "--quiet", NULL);
        cr_assert_eq(r.code, 0, "%s", r.err);
        bool warned = strstr(r.err, "VLLM_NIXL_ABORT_REQUEST_TIMEOUT") != NULL;
        cr_expect_eq(warned, k == 1, "k %d: stderr '%s'", k, r.err);
        clirun_clear(&r);
        g_autofree char *sp = g_build_filename(dir, "summary.json", NULL);
        json_auto_t *j = json_load_file(sp, 0, NULL);
        cr_assert_not_null(j);
        const json_t *v = jpath(j, "pd", "link", "held_past_abort_timeout");
        cr_expect_eq(json_integer_value(v), k, "k %d", k);
        remove_dir(dir);
    }
}

/* ---- golden case ---- */

static const char *const golden_outputs[] = {"requests.csv", "summary_lifecycle_metrics.json",
                                             "vllm_bench_result.json"};

/* tests/golden/pd-conditional (see tests/golden/README.md): run, diff byte for byte (or
 * rewrite with SERVESIM_REGENERATE_GOLDEN=1), then check what was checked by hand. */
Test(pd_cli, golden_pd_conditional)
{
    g_autofree char *gdir =
        g_build_filename(SERVESIM_SOURCE_DIR, "tests", "golden", "pd-conditional", NULL);
    g_autofree char *cfg = g_build_filename(gdir, "config.json", NULL);
    g_autofree char *out = g_dir_make_tmp("servesim-golden-XXXXXX", NULL);
    /* from the case directory with a relative workload, as tests/cli/test_golden.c does:
     * vllm_bench_result.json records the settings, which must not depend on the checkout */
    g_autofree char *cwd = g_get_current_dir();
    cr_assert_eq(g_chdir(gdir), 0);
    clirun r = clirun_exec("run", "--config", cfg, "--workload", "workload.json", "--output-dir",
                           out, "--quiet", NULL);
    cr_assert_eq(g_chdir(cwd), 0);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    bool regen = g_getenv("SERVESIM_REGENERATE_GOLDEN") != NULL;
    g_autofree char *exp = g_build_filename(gdir, "expected", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(golden_outputs); i++) {
        g_autofree char *got = g_build_filename(out, golden_outputs[i], NULL);
        g_autofree char *want = g_build_filename(exp, golden_outputs[i], NULL);
        g_autofree char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        cr_assert(g_file_get_contents(got, &a, &la, NULL));
        if (regen) {
            g_mkdir_with_parents(exp, 0777);
            cr_assert(g_file_set_contents(want, a, (gssize)la, NULL));
            continue;
        }
        cr_assert(g_file_get_contents(want, &b, &lb, NULL), "no expected %s", want);
        cr_expect(la == lb && memcmp(a, b, la) == 0,
                  "pd-conditional/%s differs from the golden output (regenerate with "
                  "SERVESIM_REGENERATE_GOLDEN=1 and review the diff)",
                  golden_outputs[i]);
    }
    /* properties, independent of the expected files */
    g_autofree char *csv = g_build_filename(out, "requests.csv", NULL);
    GError *err = NULL;
    g_autoptr(base_csv) c = base_csv_open(csv, ',', BASE_CSV_HEADER, &err);
    cr_assert_not_null(c);
    const char *cols[] = {"replica",           "prefill_replica", "prompt_tokens", "output_tokens",
                          "prefix_hit_tokens", "first_token_ms",  "xfer_start_ms", "xfer_end_ms",
                          "xfer_bytes",        "failed"};

    enum { NC = 10 };

    int ci[NC];
    for (int k = 0; k < NC; k++) {
        ci[k] = base_csv_col(c, cols[k]);
        cr_assert_geq(ci[k], 0, "%s", cols[k]);
    }
    int local = 0, remote = 0;
    while (base_csv_next(c, &err) > 0) {
        double v[NC];
        for (int k = 0; k < NC; k++) {
            if (*base_csv_field(c, (size_t)ci[k]) == '\0') {
                v[k] = -1;
                continue;
            }
            cr_assert(base_csv_get_double(c, ci[k], &v[k], &err));
        }
        cr_expect_eq(v[9], 0, "nothing fails");
        cr_expect_eq(v[3], 120, "every request produced its 120 tokens");
        cr_expect(v[0] == 2 || v[0] == 3, "decode replicas are 2 and 3 (after 2 prefill ones)");
        if (v[1] < 0) {
            /* conditional disaggregation: fewer than 128 tokens were uncached on the decode
             * replica when the request arrived (not checkable here: blocks may be evicted
             * before it is admitted, the decode pool runs full); it never touched the link */
            local++;
            cr_expect_eq(v[6], -1);
            cr_expect_eq(v[8], -1);
            continue;
        }
        remote++;
        cr_expect(v[1] == 0 || v[1] == 1);
        /* whole tokens of 131,072 B (Llama-3-8B, docs/domain.md §2.1), at most the prompt */
        double tokens = v[8] / 131072.0;
        cr_expect_eq(tokens, (double)(int64_t)tokens);
        cr_expect_leq(tokens, v[2]);
        cr_expect_geq(tokens, 1);
        /* RoCE 200 preset: 1.25 ms setup before any byte moves (µs slack: CSV rounding) */
        cr_expect_geq(v[7] - v[6], 1.25 - 1e-6);
        cr_expect_geq(v[5], v[7], "the first token follows the KV's arrival");
    }
    cr_expect_gt(local, 0);
    cr_expect_gt(remote, 0);
    /* summary.json's pd section counts the same */
    g_autofree char *sp = g_build_filename(out, "summary.json", NULL);
    json_auto_t *sj = json_load_file(sp, 0, NULL);
    cr_assert_not_null(sj);
    json_t *pd = json_object_get(sj, "pd");
    cr_expect_eq(json_integer_value(json_object_get(pd, "local_prefills")), local);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(pd, "link"), "transfers")),
                 remote);
    remove_dir(out);
}

/* steps.jsonl carries one {"transfer": …} line per transfer, the Perfetto trace a "KV
 * transfers" process with a setup and a data slice each, and `servesim report` still reads
 * the run. */
Test(pd_cli, transfers_have_their_own_lines_and_track)
{
    g_autofree char *dir = g_dir_make_tmp("servesim-pd-XXXXXX", NULL);
    clirun r =
        clirun_exec("run", "--model", "llama-3.1-8b", "--pd", "1:2", "--rate", "5",
                    "--num-requests", "30", "--steps", "--steps-file", "steps.jsonl", "--perfetto",
                    "trace.json", "--output-dir", dir, "--quiet", "--report", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    clirun_clear(&r);
    g_autofree char *steps = NULL;
    g_autofree char *sp = g_build_filename(dir, "steps.jsonl", NULL);
    cr_assert(g_file_get_contents(sp, &steps, NULL, NULL));
    int lines = 0;
    for (const char *p = steps; (p = strstr(p, "{\"transfer\":")) != NULL; p++)
        lines++;
    cr_expect_eq(lines, 30, "every request crossed the link once");
    g_autofree char *tp = g_build_filename(dir, "trace.json", NULL);
    json_auto_t *t = json_load_file(tp, 0, NULL);
    cr_assert_not_null(t, "the trace is valid JSON");
    json_t *ev = json_object_get(t, "traceEvents");
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        const char *cat = json_string_value(json_object_get(e, "cat"));
        if (cat != NULL && strcmp(cat, "transfer") == 0)
            n++;
    }
    cr_expect_eq(n, 4 * 30, "begin and end of setup and data per transfer");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(t, "otherData"), "transfers")),
                 30);
    g_autofree char *rp = g_build_filename(dir, "report.html", NULL);
    cr_expect(g_file_test(rp, G_FILE_TEST_EXISTS), "servesim report read the run");
    remove_dir(dir);
}
