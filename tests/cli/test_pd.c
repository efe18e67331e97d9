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
    remove_dir(dir);
    return bytes / prompt;
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
