/* tests/cli/test_run_table.c: `servesim run` says what it simulated (model, hardware, parallelism,
 * dtypes, calibration, workload, scheduler) in its table and in summary.json; an overloaded run
 * says so in one line while a light one does not (capacities bounded by hand, not read from
 * servesim); busy time is not reported as load; the Perfetto step cap is a flag whose hit is a
 * one-line warning recorded in the trace. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "clirun.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-runtable-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(run_table, .init = setup, .fini = teardown, .timeout = 300);

static json_t *
load(const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    cr_assert_not_null(j, "%s: %s", p, e.text);
    return j;
}

Test(run_table, table_and_summary_name_what_was_simulated)
{
    clirun r = clirun_exec("run", "--output-dir", dir, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    /* the embedded default: Llama-3.1-8B, one H100 SXM, the 10-minute Azure conversation
     * sample (2,867 requests, README), the shipped h100-sxm calibration */
    const char *want[] = {
        "=================== Simulated ====================\n",
        "Model:                                   llama-3.1-8b\n",
        "Hardware:                                h100-sxm (NVIDIA H100 SXM5 80GB)\n",
        "Parallelism:                             TP 1 x PP 1 x DP 1, 1 replica\n",
        "Engine:                                  vllm-0.15\n",
        "dtype (weights / KV cache):              bf16 / bf16\n",
        "Calibration:                             h100-sxm\n",
        "Workload:                                azure-conv-10min (azure), 2867 requests\n",
        "Scheduler:                               vllm, max_num_seqs 1024, max_num_batched_tokens "
        "8192\n",
        "============ Serving Benchmark Result ============\n",
        "Busy (% of time in a step):",
        "Step tokens (% of token budget):",
        "Mean KV cache usage (%):",
    };
    const char *pos = r.out;
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        const char *f = strstr(pos, want[i]);
        cr_expect_not_null(f, "missing or out of order: %s\n%s", want[i], r.out);
        if (f != NULL)
            pos = f + strlen(want[i]);
    }
    cr_expect_null(strstr(r.out, "overloaded"), "4.8 req/s on one H100 is light: %s", r.out);
    cr_expect_null(strstr(r.out, "utilization"));
    clirun_clear(&r);
    json_t *j = load("summary.json");
    json_t *s = json_object_get(j, "simulated");
    cr_assert_not_null(s);
    cr_expect_str_eq(json_string_value(json_object_get(s, "model")), "llama-3.1-8b");
    cr_expect_str_eq(json_string_value(json_object_get(s, "hardware")), "h100-sxm");
    cr_expect_eq(json_integer_value(json_object_get(s, "tensor_parallel_size")), 1);
    cr_expect_str_eq(json_string_value(json_object_get(s, "weight_dtype")), "bf16");
    cr_expect_str_eq(json_string_value(json_object_get(s, "calibration")), "h100-sxm");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(s, "workload"), "requests")),
                 2867);
    cr_expect_str_eq(json_string_value(json_object_get(s, "scheduler")), "vllm");
    cr_expect_str_eq(json_string_value(json_object_get(s, "engine")), "vllm-0.15", "the default");
    cr_expect_eq(json_integer_value(json_object_get(s, "expert_parallel_size")), 1);
    cr_expect(json_is_false(json_object_get(s, "overloaded")));
    json_t *rep = json_array_get(json_object_get(json_object_get(j, "metrics"), "replicas"), 0);
    double busy = json_number_value(json_object_get(rep, "busy_fraction"));
    double fill = json_number_value(json_object_get(rep, "token_budget_fill"));
    /* the point of the split: the replica is busy most of the time, its steps are far from
     * full (mean prompt + output ≈ 1,400 tokens per request at 4.8 req/s ≈ 6,700 tok/s is
     * under 1 % of 8,192 tokens per ~8 ms step) */
    cr_expect(busy > 0.5, "busy %g", busy);
    cr_expect(fill < 0.1, "token budget fill %g", fill);
    json_decref(j);
    r = clirun_exec("run", "--calibration", "none", "--model", "Qwen/Qwen3-32B", "-tp", "2",
                    "--num-prompts", "20", "--engine", "vllm-0.11", "--output-dir", dir, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Calibration:                             uncalibrated\n") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "Model:                                   qwen3-32b\n") != NULL);
    cr_expect(strstr(r.out, "TP 2 x PP 1 x DP 1, 1 replica\n") != NULL);
    cr_expect(strstr(r.out, "Engine:                                  vllm-0.11\n") != NULL);
    cr_expect(strstr(r.out, "(azure), 20 requests\n") != NULL, "%s", r.out);
    clirun_clear(&r);
    /* MoE with data and expert parallelism: EP = TP × DP = 2 × 2; one summary entry per
     * engine core (replica 0, DP ranks 0 and 1) */
    r = clirun_exec("run", "--model", "mixtral-8x7b", "-tp", "2", "-dp", "2",
                    "--enable-expert-parallel", "--num-prompts", "20", "--output-dir", dir, NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "TP 2 x PP 1 x DP 2 (EP 4), 1 replica\n") != NULL, "%s", r.out);
    clirun_clear(&r);
    j = load("summary.json");
    s = json_object_get(j, "simulated");
    cr_expect_eq(json_integer_value(json_object_get(s, "data_parallel_size")), 2);
    cr_expect_eq(json_integer_value(json_object_get(s, "expert_parallel_size")), 4);
    json_t *reps = json_object_get(json_object_get(j, "metrics"), "replicas");
    cr_assert_eq(json_array_size(reps), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(reps, i);
        cr_expect_eq(json_integer_value(json_object_get(x, "replica")), 0);
        cr_expect_eq(json_integer_value(json_object_get(x, "dp_rank")), (json_int_t)i);
        cr_expect(json_is_number(json_object_get(x, "busy_fraction")));
        cr_expect(json_is_number(json_object_get(x, "token_budget_fill")));
    }
    json_decref(j);
}

/* Eight sequence slots, 1,000 output tokens each, and a step never shorter than its 1 ms
 * overhead: a request holds a slot for at least 1 s, so at most 8 complete per second. */
static clirun
slots_run(const char *rate, const char *out_len, const char *n)
{
    return clirun_exec("run", "--workload", "synthetic", "--rate", rate, "--num-requests", n,
                       "--input-len", "fixed:100", "--output-len", out_len, "--max-num-seqs", "8",
                       "--step-overhead-us", "1000", "--output-dir", dir, NULL);
}

Test(run_table, overloaded_run_says_so_in_one_line)
{
    clirun r = slots_run("40", "fixed:1000", "1000");
    cr_assert_eq(r.code, 0, "%s", r.err);
    const char *line = strstr(r.out, "\noverloaded: arrivals ");
    cr_assert_not_null(line, "%s", r.out);
    const char *end = strchr(line + 1, '\n');
    g_autofree char *one = g_strndup(line + 1, (gsize)(end - line - 1));
    cr_expect(strstr(one, "req/s > completions ") != NULL, "%s", one);
    cr_expect(strstr(one, "; queue still growing at the end (") != NULL, "%s", one);
    clirun_clear(&r);
    json_t *j = load("summary.json");
    cr_expect(json_is_true(json_object_get(json_object_get(j, "simulated"), "overloaded")));
    json_t *ov = json_object_get(json_object_get(j, "metrics"), "overload");
    double lam = json_number_value(json_object_get(ov, "arrival_rate"));
    double mu = json_number_value(json_object_get(ov, "completion_rate"));
    /* Poisson 40 req/s over 1,000 requests: the estimate is within a few % */
    cr_expect(fabs(lam - 40) < 4, "arrival rate %g", lam);
    cr_expect(mu <= 8.0 + 1e-9, "completion rate %g above the 8 req/s bound", mu);
    int64_t mid = json_integer_value(json_object_get(ov, "in_system_at_mid_window"));
    int64_t last = json_integer_value(json_object_get(ov, "in_system_at_last_arrival"));
    cr_expect_gt(last, mid, "the backlog grows");
    json_decref(j);
}

Test(run_table, light_run_is_not_overloaded)
{
    /* 1 req/s of 10-token outputs: a request needs 10 steps; even at 10 ms a step it leaves
     * within 0.1 s, far from the 8 req/s bound */
    clirun r = slots_run("1", "fixed:10", "200");
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect_null(strstr(r.out, "overloaded"), "%s", r.out);
    clirun_clear(&r);
    json_t *j = load("summary.json");
    json_t *ov = json_object_get(json_object_get(j, "metrics"), "overload");
    cr_expect(json_is_false(json_object_get(ov, "overloaded")));
    double lam = json_number_value(json_object_get(ov, "arrival_rate"));
    double mu = json_number_value(json_object_get(ov, "completion_rate"));
    cr_expect(fabs(mu - lam) < 0.05 * lam, "completions %g keep pace with arrivals %g", mu, lam);
    json_decref(j);
}

Test(run_table, perfetto_cap_is_a_flag_and_warns_once)
{
    g_autofree char *trace = g_build_filename(dir, "t.json", NULL);
    clirun r = clirun_exec("run", "--num-prompts", "30", "--perfetto", trace,
                           "--perfetto-max-steps", "10", "--output-dir", dir, "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(g_str_has_prefix(r.err, "servesim: warning: the Perfetto trace "), "%s", r.err);
    cr_expect(strstr(r.err, "holds the first 10 steps;") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "(raise --perfetto-max-steps)\n") != NULL, "%s", r.err);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    clirun_clear(&r);
    json_t *j = load("t.json");
    json_t *od = json_object_get(j, "otherData");
    cr_expect_eq(json_integer_value(json_object_get(od, "max_steps")), 10);
    cr_expect_eq(json_integer_value(json_object_get(od, "written_steps")), 10);
    cr_expect_gt(json_integer_value(json_object_get(od, "dropped_steps")), 0);
    cr_expect(json_is_true(json_object_get(od, "truncated")));
    json_decref(j);
    /* under the cap: no warning */
    r = clirun_exec("run", "--num-prompts", "3", "--perfetto", trace, "--output-dir", dir,
                    "--quiet", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect_str_eq(r.err, "");
    clirun_clear(&r);
    r = clirun_exec("run", "--help", NULL);
    cr_expect(strstr(r.out, "--perfetto-max-steps N") != NULL);
    cr_expect(strstr(r.out, "[default: 200000]") != NULL);
    clirun_clear(&r);
}
