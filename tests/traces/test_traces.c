/* tests/traces/test_traces.c: output files written from synthetic payloads published on a
 * real sim_engine bus: requests.csv rows, steps.jsonl.gz round trip, the Perfetto trace and its
 * cap, the inference-perf report structure (key order from
 * docs/formats/inference-perf-report.md), vLLM's result keys and table, summary.json,
 * byte-for-byte determinism, no file without commit, and an unwritable directory failing
 * before any simulation. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "base/io.h"
#include "base/json.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "tests/records.h"
#include "traces/outputs.h"
#include "traces/report.h"
#include "traces/writers.h"

#define MS 1000000LL

static char *tmpdir;

static void
setup(void)
{
    tmpdir = g_dir_make_tmp("servesim-traces-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    (void)!system(cmd);
    g_free(tmpdir);
}

TestSuite(traces, .init = setup, .fini = teardown, .timeout = 30);

static char *
path_in(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static char *
slurp(const char *path)
{
    g_autoptr(GBytes) b = base_file_read_all(path, NULL);
    cr_assert_not_null(b, "cannot read %s", path);
    gsize n;
    const char *d = g_bytes_get_data(b, &n);
    return g_strndup(d, n);
}

static json_t *
load_json(const char *path)
{
    GError *err = NULL;
    json_t *j = base_json_load_file(path, &err);
    cr_assert_not_null(j, "%s", err ? err->message : "");
    return j;
}

/* The keys of object O, in order, joined by spaces. */
static char *
keys_of(json_t *o)
{
    cr_assert(json_is_object(o));
    GString *g = g_string_new(NULL);
    for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
        if (g->len > 0)
            g_string_append_c(g, ' ');
        g_string_append(g, json_object_iter_key(it));
    }
    return g_string_free(g, FALSE);
}

static void
expect_keys(json_t *o, const char *want, const char *what)
{
    g_autofree char *k = keys_of(o);
    cr_expect_str_eq(k, want, "%s", what);
}

static void
publish_tokens(sim_engine *e, const sim_request_record *r, const int64_t *ms, int n)
{
    for (int i = 0; i < n; i++) {
        sim_token_event t = {
            r->id,      r->replica, 1, ms[i] * MS, i == 0 ? -1 : (ms[i] - ms[i - 1]) * MS,
            r->send_ns, r->stage};
        sim_engine_publish(e, SIM_TOPIC_TOKEN, &t);
    }
}

static void
publish_step(sim_engine *e,
             uint32_t rep,
             uint64_t step,
             int64_t a_ms,
             int64_t b_ms,
             uint32_t prefill,
             uint32_t decode)
{
    sim_step_record s = {0};
    s.replica = rep;
    s.core = rep;
    s.step = step;
    s.start_ns = a_ms * MS;
    s.end_ns = b_ms * MS;
    tm_batch_init(&s.batch, 0);
    if (prefill > 0)
        tm_batch_add(&s.batch, prefill, 0, true);
    for (uint32_t i = 0; i < decode; i++)
        tm_batch_add(&s.batch, 1, 100 + i, true);
    s.cost.total_s = (double)(b_ms - a_ms) / 1e3;
    s.cost.compute_s = s.cost.total_s * 0.25;
    s.cost.memory_s = s.cost.total_s * 0.75;
    s.num_running = prefill > 0 ? decode + 1 : decode;
    s.num_waiting = 2;
    s.kv_used_blocks = 10 + (uint32_t)step;
    s.kv_cached_blocks = 3;
    s.kv_total_blocks = 100;
    sim_engine_publish(e, SIM_TOPIC_STEP_END, &s);
}

/* A small run: two stages, two replicas, one failure (times in ms).
 *   id rep stage send sched first finish prompt out chunks
 *   0   0    0     0    0   100    300   100    3  100,200,300
 *   1   1    0   100  100   150    150    50    1  150
 *   2   0    1   200  210   300    500   200    3  300,400,500  (prefix hit 64, 1 preemption)
 *   3   -    1   250   -     -     250  9000    0  failed: prompt exceeds max_model_len */
static void
feed(sim_engine *e)
{
    publish_step(e, 0, 0, 0, 100, 100, 0);
    publish_step(e, 1, 0, 100, 150, 50, 0);
    publish_step(e, 0, 1, 100, 200, 0, 1);
    sim_request_record r0 = tu_record(0, 0, 0, 0, 100, 300, 100, 3);
    int64_t c0[] = {100, 200, 300};
    publish_tokens(e, &r0, c0, 3);
    sim_request_record r1 = tu_record(1, 1, 100, 100, 150, 150, 50, 1);
    int64_t c1[] = {150};
    publish_tokens(e, &r1, c1, 1);
    sim_engine_publish(e, SIM_TOPIC_REQUEST_DONE, &r1);
    publish_step(e, 0, 2, 210, 300, 200, 1);
    sim_engine_publish(e, SIM_TOPIC_REQUEST_DONE, &r0);
    sim_request_record r3 = tu_record(3, UINT32_MAX, 250, -1, -1, 250, 9000, 0);
    r3.stage = 1;
    r3.failed = true;
    r3.fail_reason = "prompt exceeds max_model_len, \"9000\"";
    sim_engine_publish(e, SIM_TOPIC_REQUEST_DONE, &r3);
    sim_request_record r2 = tu_record(2, 0, 200, 210, 300, 500, 200, 3);
    r2.stage = 1;
    r2.session_id = 7;
    r2.turn = 2;
    r2.arrival_ns = 190 * MS;
    r2.prefix_hit_tokens = 64;
    r2.preemptions = 1;
    int64_t c2[] = {300, 400, 500};
    publish_tokens(e, &r2, c2, 3);
    publish_step(e, 0, 3, 300, 400, 0, 1);
    publish_step(e, 0, 4, 400, 500, 0, 1);
    sim_engine_publish(e, SIM_TOPIC_REQUEST_DONE, &r2);
}

/* Runs the small scenario into DIR with every output on; returns the metrics (finished). */
static sim_metrics *
run_into(const char *dir, const char *const *goodput)
{
    GError *err = NULL;
    double rates[] = {5.0, 8.0};
    sim_metrics_params mp = {.goodput = goodput, .nstages = 2, .stage_rates = rates};
    sim_metrics *m = sim_metrics_new(&mp, &err);
    cr_assert_not_null(m);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    tr_outputs_params op;
    tr_outputs_params_init(&op);
    op.dir = dir;
    op.steps_file = "steps.jsonl.gz";
    op.perfetto = "trace.json";
    op.info.model_id = "meta-llama/Llama-3.1-8B-Instruct";
    op.info.request_rate = 4.0;
    op.info.burstiness = 1.0;
    tr_outputs *o = tr_outputs_open(e, &op, &err);
    cr_assert_not_null(o, "%s", err ? err->message : "");
    feed(e);
    cr_assert(sim_metrics_finish(m, 500 * MS, &err));
    json_t *cfg = json_pack("{s:i, s:s, s:{s:s}, s:{s:i}}", "seed", 1, "scheduler", "vllm",
                            "outputs", "dir", "out", "resolved", "num_gpu_blocks", 7);
    cr_assert(tr_outputs_finish(o, sim_metrics_get_result(m), cfg, &err), "%s",
              err ? err->message : "");
    json_decref(cfg);
    tr_outputs_free(o);
    sim_engine_free(e);
    return m;
}

Test(traces, requests_csv_rows_are_exact)
{
    sim_metrics_free(run_into(tmpdir, NULL));
    g_autofree char *p = path_in(tmpdir, "requests.csv");
    g_autofree char *csv = slurp(p);
    /* rows in completion order: 1, 0, 3, 2. r0: TPOT (300−100)/2 = 100 ms; r2: queue 10 ms. */
    const char *want =
        "id,replica,stage,session,turn,arrival_ms,send_ms,first_scheduled_ms,first_token_ms,"
        "finish_ms,ttft_ms,tpot_ms,e2el_ms,queue_ms,prompt_tokens,output_tokens,"
        "prefix_hit_tokens,preemptions,failed,fail_reason,dp_rank\n"
        "1,1,0,0,0,100.000000,100.000000,100.000000,150.000000,150.000000,50.000000,,"
        "50.000000,0.000000,50,1,0,0,0,,0\n"
        "0,0,0,0,0,0.000000,0.000000,0.000000,100.000000,300.000000,100.000000,100.000000,"
        "300.000000,0.000000,100,3,0,0,0,,0\n"
        "3,,1,0,0,250.000000,250.000000,,,250.000000,,,,,9000,0,0,0,1,"
        "\"prompt exceeds max_model_len, \"\"9000\"\"\",\n"
        "2,0,1,7,2,190.000000,200.000000,210.000000,300.000000,500.000000,100.000000,"
        "100.000000,300.000000,10.000000,200,3,64,1,0,,0\n";
    cr_expect_str_eq(csv, want);
    cr_expect(g_str_has_prefix(csv, tr_requests_csv_header));
}

Test(traces, steps_jsonl_gz_round_trips)
{
    sim_metrics_free(run_into(tmpdir, NULL));
    g_autofree char *p = path_in(tmpdir, "steps.jsonl.gz");
    g_autofree char *raw = NULL;
    gsize rawn = 0;
    cr_assert(g_file_get_contents(p, &raw, &rawn, NULL));
    cr_expect(base_is_gzip(raw, rawn), "steps.jsonl.gz is not gzip");
    GError *err = NULL;
    g_autoptr(base_lines) r = base_lines_open(p, &err);
    cr_assert_not_null(r);
    char *l;
    size_t n;
    int count = 0;
    while (base_lines_next(r, &l, &n, &err)) {
        json_auto_t *j = json_loadb(l, n, JSON_REJECT_DUPLICATES, NULL);
        cr_assert_not_null(j, "line %d: %s", count + 1, l);
        if (count == 0) {
            expect_keys(j,
                        "replica dp_rank step launch_ns start_ns end_ns batch num_running "
                        "num_waiting "
                        "num_preempted num_admitted kv_blocks cost_ns",
                        "step line keys");
            cr_expect_eq(json_integer_value(json_object_get(j, "end_ns")), 100 * MS);
            json_t *b = json_object_get(j, "batch");
            cr_expect_eq(json_integer_value(json_object_get(b, "tokens")), 100);
            cr_expect_eq(json_integer_value(json_object_get(b, "num_prefill")), 1);
            /* pairs of a 100-token prefill from 0: 100·101/2 */
            cr_expect_eq(json_integer_value(json_object_get(b, "pairs_prefill")), 5050);
            json_t *c = json_object_get(j, "cost_ns");
            cr_expect_eq(json_integer_value(json_object_get(c, "total")), 100 * MS);
            cr_expect_eq(json_integer_value(json_object_get(c, "memory")), 75 * MS);
        }
        if (count == 3) { /* replica 0 step 2: a 200-token prefill plus one decode */
            cr_expect_eq(json_integer_value(json_object_get(j, "step")), 2);
            json_t *b = json_object_get(j, "batch");
            cr_expect_eq(json_integer_value(json_object_get(b, "num_seqs")), 2);
            cr_expect_eq(json_integer_value(json_object_get(b, "tokens")), 201);
            json_t *kv = json_object_get(j, "kv_blocks");
            cr_expect_eq(json_integer_value(json_object_get(kv, "used")), 12);
        }
        count++;
    }
    cr_expect_null(err);
    cr_expect_eq(count, 6);
}

Test(traces, perfetto_trace_has_one_complete_event_per_step)
{
    sim_metrics_free(run_into(tmpdir, NULL));
    g_autofree char *p = path_in(tmpdir, "trace.json");
    json_auto_t *j = load_json(p);
    expect_keys(j, "traceEvents displayTimeUnit otherData", "trace keys");
    json_t *ev = json_object_get(j, "traceEvents");
    size_t i, nx = 0, nm = 0, nc = 0;
    json_t *x;
    json_array_foreach(ev, i, x) {
        const char *ph = json_string_value(json_object_get(x, "ph"));
        if (strcmp(ph, "X") == 0) {
            if (nx == 3) { /* replica 0 step 2: 210 → 300 ms, mixed */
                cr_expect_str_eq(json_string_value(json_object_get(x, "name")), "mixed");
                cr_expect_eq(json_integer_value(json_object_get(x, "pid")), 0);
                cr_expect(fabs(json_number_value(json_object_get(x, "ts")) - 210000.0) < 1e-9);
                cr_expect(fabs(json_number_value(json_object_get(x, "dur")) - 90000.0) < 1e-9);
                json_t *args = json_object_get(x, "args");
                cr_expect_eq(json_integer_value(json_object_get(args, "num_seqs")), 2);
            }
            nx++;
        } else if (strcmp(ph, "M") == 0) {
            nm++;
        } else if (strcmp(ph, "C") == 0) {
            nc++;
        }
    }
    cr_expect_eq(nx, 6);
    cr_expect_eq(nc, 6);
    cr_expect_eq(nm, 6); /* process_name, process_sort_index, thread_name × 2 replicas */
    json_t *od = json_object_get(j, "otherData");
    cr_expect_eq(json_integer_value(json_object_get(od, "dropped_steps")), 0);
    cr_expect(json_is_false(json_object_get(od, "truncated")));
}

Test(traces, perfetto_cap_drops_and_counts_later_steps)
{
    g_autofree char *p = path_in(tmpdir, "capped.json");
    GError *err = NULL;
    sim_engine *e = sim_engine_new();
    tr_perfetto *w = tr_perfetto_open(p, 4, &err);
    cr_assert_not_null(w);
    tr_perfetto_subscribe(w, e);
    for (uint64_t s = 0; s < 10; s++)
        publish_step(e, (uint32_t)(s % 2), s, (int64_t)s * 10, (int64_t)s * 10 + 7, 0, 3);
    cr_expect_eq(tr_perfetto_dropped(w), 6);
    cr_assert(tr_perfetto_commit(w, &err));
    tr_perfetto_free(w);
    sim_engine_free(e);
    json_auto_t *j = load_json(p);
    json_t *od = json_object_get(j, "otherData");
    cr_expect_eq(json_integer_value(json_object_get(od, "written_steps")), 4);
    cr_expect_eq(json_integer_value(json_object_get(od, "dropped_steps")), 6);
    cr_expect_eq(json_integer_value(json_object_get(od, "max_steps")), 4);
    cr_expect(json_is_true(json_object_get(od, "truncated")));
    /* 4 X + 4 C + 3 metadata × 2 replicas */
    cr_expect_eq(json_array_size(json_object_get(j, "traceEvents")), 14);
}

static const char dist_keys[] = "mean min p0.1 p1 p5 p10 p25 median p75 p90 p95 p99 p99.9 max";

Test(traces, lifecycle_reports_follow_the_inference_perf_structure)
{
    sim_metrics_free(run_into(tmpdir, NULL));
    g_autofree char *ps = path_in(tmpdir, "summary_lifecycle_metrics.json");
    json_auto_t *s = load_json(ps);
    expect_keys(s, "load_summary successes failures", "top");
    json_t *ls = json_object_get(s, "load_summary");
    expect_keys(ls, "count schedule_delay", "load_summary");
    cr_expect_eq(json_integer_value(json_object_get(ls, "count")), 4);
    json_t *sd = json_object_get(ls, "schedule_delay");
    expect_keys(sd, dist_keys, "schedule_delay");
    cr_expect_eq(json_real_value(json_object_get(sd, "p99")), 0.0);
    json_t *su = json_object_get(s, "successes");
    expect_keys(su, "count latency throughput prompt_len output_len", "successes");
    cr_expect_eq(json_integer_value(json_object_get(su, "count")), 3);
    json_t *lat = json_object_get(su, "latency");
    expect_keys(lat,
                "request_latency normalized_time_per_output_token time_per_output_token "
                "time_to_first_token inter_token_latency",
                "latency");
    const char *names[] = {"request_latency", "normalized_time_per_output_token",
                           "time_per_output_token", "time_to_first_token", "inter_token_latency"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        expect_keys(json_object_get(lat, names[i]), dist_keys, names[i]);
    /* seconds: TTFT [0.1, 0.05, 0.1] → median 0.1, min 0.05; E2EL [0.3, 0.05, 0.3] → max 0.3;
     * TPOT (n_out > 1) [0.1, 0.1]; normalized TPOT [0.1, 0.05, 0.1] → mean 0.25/3 */
    json_t *ttft = json_object_get(lat, "time_to_first_token");
    cr_expect(fabs(json_real_value(json_object_get(ttft, "median")) - 0.1) < 1e-12);
    cr_expect(fabs(json_real_value(json_object_get(ttft, "min")) - 0.05) < 1e-12);
    json_t *rl = json_object_get(lat, "request_latency");
    cr_expect(fabs(json_real_value(json_object_get(rl, "max")) - 0.3) < 1e-12);
    json_t *nt = json_object_get(lat, "normalized_time_per_output_token");
    cr_expect(fabs(json_real_value(json_object_get(nt, "mean")) - 0.25 / 3) < 1e-9);
    json_t *tp = json_object_get(su, "throughput");
    expect_keys(tp,
                "input_tokens_per_sec output_tokens_per_sec total_tokens_per_sec "
                "requests_per_sec",
                "throughput");
    /* window 0 → 500 ms: 3 requests, 350 input and 7 output tokens */
    cr_expect(fabs(json_real_value(json_object_get(tp, "requests_per_sec")) - 6.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(tp, "input_tokens_per_sec")) - 700.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(tp, "output_tokens_per_sec")) - 14.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(tp, "total_tokens_per_sec")) - 714.0) < 1e-9);
    expect_keys(json_object_get(su, "prompt_len"), dist_keys, "prompt_len");
    json_t *fa = json_object_get(s, "failures");
    expect_keys(fa, "count request_latency prompt_len", "failures");
    cr_expect_eq(json_integer_value(json_object_get(fa, "count")), 1);
    expect_keys(json_object_get(fa, "prompt_len"), dist_keys, "failures.prompt_len");

    /* stage 0: requests 0 and 1, no failure → null distributions; sends 0 and 100 ms */
    g_autofree char *p0 = path_in(tmpdir, "stage_0_lifecycle_metrics.json");
    json_auto_t *s0 = load_json(p0);
    json_t *ls0 = json_object_get(s0, "load_summary");
    expect_keys(ls0, "count schedule_delay send_duration requested_rate achieved_rate",
                "stage load_summary");
    cr_expect(fabs(json_real_value(json_object_get(ls0, "send_duration")) - 0.1) < 1e-12);
    cr_expect(fabs(json_real_value(json_object_get(ls0, "requested_rate")) - 5.0) < 1e-12);
    cr_expect(fabs(json_real_value(json_object_get(ls0, "achieved_rate")) - 20.0) < 1e-9);
    json_t *fa0 = json_object_get(s0, "failures");
    cr_expect_eq(json_integer_value(json_object_get(fa0, "count")), 0);
    cr_expect(json_is_null(json_object_get(fa0, "request_latency")));
    cr_expect(json_is_null(json_object_get(fa0, "prompt_len")));
    g_autofree char *p1 = path_in(tmpdir, "stage_1_lifecycle_metrics.json");
    json_auto_t *s1 = load_json(p1);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(s1, "failures"), "count")), 1);
    g_autofree char *p2 = path_in(tmpdir, "stage_2_lifecycle_metrics.json");
    cr_expect_not(g_file_test(p2, G_FILE_TEST_EXISTS));
}

Test(traces, vllm_result_has_benchmark_serving_keys)
{
    const char *slo[] = {"ttft:100", NULL};
    sim_metrics_free(run_into(tmpdir, slo));
    g_autofree char *p = path_in(tmpdir, "vllm_bench_result.json");
    json_auto_t *j = load_json(p);
    GString *want = g_string_new("backend model_id num_prompts request_rate burstiness "
                                 "max_concurrency duration completed total_input_tokens "
                                 "total_output_tokens request_throughput request_goodput "
                                 "output_throughput total_token_throughput");
    const char *m[] = {"ttft", "tpot", "itl", "e2el"};
    for (int i = 0; i < 4; i++)
        g_string_append_printf(want,
                               " mean_%s_ms median_%s_ms std_%s_ms p50_%s_ms p90_%s_ms "
                               "p95_%s_ms p99_%s_ms",
                               m[i], m[i], m[i], m[i], m[i], m[i], m[i]);
    g_string_append(want, " servesim_config");
    expect_keys(j, want->str, "vllm keys");
    g_string_free(want, TRUE);
    /* the settings that rebuild the run: not what it resolved, not where outputs went */
    json_t *sc = json_object_get(j, "servesim_config");
    expect_keys(sc, "seed scheduler", "servesim_config keys");
    cr_expect_eq(json_integer_value(json_object_get(sc, "seed")), 1);
    cr_expect_eq(json_integer_value(json_object_get(j, "completed")), 3);
    cr_expect(json_is_null(json_object_get(j, "max_concurrency")));
    /* TTFT ≤ 100 ms: r0 (100) and r1 (50) are good, r2 (100) too → 3 over 0.5 s */
    cr_expect(fabs(json_real_value(json_object_get(j, "request_goodput")) - 6.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(j, "median_ttft_ms")) - 100.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(j, "mean_itl_ms")) - 100.0) < 1e-9);
    cr_expect(fabs(json_real_value(json_object_get(j, "duration")) - 0.5) < 1e-12);
}

Test(traces, summary_json_holds_version_config_and_metrics)
{
    sim_metrics_free(run_into(tmpdir, NULL));
    g_autofree char *p = path_in(tmpdir, "summary.json");
    json_auto_t *j = load_json(p);
    expect_keys(j, "servesim config metrics", "summary keys");
    expect_keys(json_object_get(j, "servesim"), "version git", "servesim");
    json_t *cfg = json_object_get(j, "config");
    cr_expect_str_eq(json_string_value(json_object_get(cfg, "scheduler")), "vllm");
    json_t *m = json_object_get(j, "metrics");
    expect_keys(m,
                "exclusion window requests tokens throughput goodput latency_ms lengths "
                "preemptions prefix_cache overload replica_window replicas stages",
                "metrics keys");
    json_t *lat = json_object_get(m, "latency_ms");
    expect_keys(lat, "ttft tpot itl e2el queueing", "latency_ms");
    json_t *ttft = json_object_get(lat, "ttft");
    expect_keys(ttft, "count mean std min p50 p90 p95 p99 max", "dist");
    cr_expect_eq(json_integer_value(json_object_get(ttft, "count")), 3);
    cr_expect(fabs(json_real_value(json_object_get(ttft, "p50")) - 100.0) < 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(m, "preemptions")), 1);
    json_t *reps = json_object_get(m, "replicas");
    cr_assert_eq(json_array_size(reps), 2);
    json_t *r0 = json_array_get(reps, 0);
    /* replica 0 busy 100 + 100 + 90 + 100 + 100 = 490 ms of the 500 ms run window */
    cr_expect_eq(json_integer_value(json_object_get(r0, "busy_ns")), 490 * MS);
    cr_expect(fabs(json_real_value(json_object_get(r0, "busy_fraction")) - 0.98) < 1e-12);
    cr_expect(json_is_null(json_object_get(r0, "token_budget_fill")), "no budget given");
    json_t *ov = json_object_get(m, "overload");
    expect_keys(ov,
                "overloaded arrival_window_s arrival_rate completion_rate in_system_at_mid_window "
                "in_system_at_last_arrival arrivals_second_half",
                "overload keys");
    cr_expect(json_is_false(json_object_get(ov, "overloaded")));
    json_t *pc = json_object_get(r0, "prefix_cache");
    cr_expect(fabs(json_real_value(json_object_get(pc, "hit_rate")) - 64.0 / 300) < 1e-9);
    json_t *stages = json_object_get(m, "stages");
    cr_assert_eq(json_array_size(stages), 2);
    json_t *st1 = json_array_get(stages, 1);
    cr_expect_eq(json_integer_value(json_object_get(st1, "stage")), 1);
    cr_expect(json_is_null(json_object_get(m, "goodput")));
}

Test(traces, outputs_are_byte_identical_across_runs)
{
    g_autofree char *a = path_in(tmpdir, "a");
    g_autofree char *b = path_in(tmpdir, "b");
    const char *slo[] = {"ttft:120", "e2el:400", NULL};
    sim_metrics_free(run_into(a, slo));
    sim_metrics_free(run_into(b, slo));
    const char *files[] = {"requests.csv",
                           "steps.jsonl.gz",
                           "trace.json",
                           "summary.json",
                           "summary_lifecycle_metrics.json",
                           "stage_0_lifecycle_metrics.json",
                           "stage_1_lifecycle_metrics.json",
                           "vllm_bench_result.json"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *pa = path_in(a, files[i]);
        g_autofree char *pb = path_in(b, files[i]);
        g_autofree char *ca = NULL, *cb = NULL;
        gsize na = 0, nb = 0;
        cr_assert(g_file_get_contents(pa, &ca, &na, NULL), "%s missing", files[i]);
        cr_assert(g_file_get_contents(pb, &cb, &nb, NULL), "%s missing", files[i]);
        cr_expect(na == nb && memcmp(ca, cb, na) == 0, "%s differs", files[i]);
    }
    /* and nothing else is left in the directory (no temporary files) */
    g_autoptr(GDir) d = g_dir_open(a, 0, NULL);
    int n = 0;
    while (g_dir_read_name(d) != NULL)
        n++;
    cr_expect_eq(n, (int)G_N_ELEMENTS(files));
}

Test(traces, nothing_is_left_without_finish)
{
    GError *err = NULL;
    sim_engine *e = sim_engine_new();
    tr_outputs_params op;
    tr_outputs_params_init(&op);
    op.dir = tmpdir;
    op.steps_file = "steps.jsonl";
    op.perfetto = "trace.json";
    tr_outputs *o = tr_outputs_open(e, &op, &err);
    cr_assert_not_null(o);
    feed(e);
    tr_outputs_free(o); /* e.g. the simulation failed */
    sim_engine_free(e);
    g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
    const char *name = g_dir_read_name(d);
    cr_expect_null(name, "left behind: %s", name);
}

Test(traces, unwritable_directory_fails_before_simulating)
{
    /* a directory below a regular file can never be created (even by root) */
    g_autofree char *file = path_in(tmpdir, "plain-file");
    cr_assert(g_file_set_contents(file, "x", 1, NULL));
    g_autofree char *dir = path_in(file, "out");
    GError *err = NULL;
    sim_engine *e = sim_engine_new();
    tr_outputs_params op;
    tr_outputs_params_init(&op);
    op.dir = dir;
    cr_expect_null(tr_outputs_open(e, &op, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, dir) != NULL, "%s", err->message);
    g_clear_error(&err);
    /* a steps file in a missing subdirectory also fails at open time */
    op.dir = tmpdir;
    op.steps_file = "missing/steps.jsonl";
    cr_expect_null(tr_outputs_open(e, &op, &err));
    cr_expect(err != NULL && strstr(err->message, "missing/steps.jsonl") != NULL);
    g_clear_error(&err);
    op.dir = "";
    cr_expect_null(tr_outputs_open(e, &op, &err));
    g_clear_error(&err);
    sim_engine_free(e);
}

Test(traces, table_looks_like_vllm_bench)
{
    sim_metrics *m = run_into(tmpdir, NULL);
    tr_report_info info;
    tr_report_info_init(&info);
    info.request_rate = 4.0;
    g_autoptr(GString) t = tr_summary_table(sim_metrics_get_result(m), &info);
    sim_metrics_free(m);
    /* column layout of "{:<40} {:<10}" / "{:<40} {:<10.2f}" and the centred headers */
    const char *want_lines[] = {
        "============ Serving Benchmark Result ============\n",
        "Successful requests:                     3         \n",
        "Request rate configured (RPS):           4.00      \n",
        "Benchmark duration (s):                  0.50      \n",
        "Total input tokens:                      350       \n",
        "Total generated tokens:                  7         \n",
        "Request throughput (req/s):              6.00      \n",
        "Output token throughput (tok/s):         14.00     \n",
        "Total Token throughput (tok/s):          714.00    \n",
        "---------------Time to First Token----------------\n",
        "Mean TTFT (ms):                          83.33     \n",
        "Median TTFT (ms):                        100.00    \n",
        "-----Time per Output Token (excl. 1st token)------\n",
        "---------------Inter-token Latency----------------\n",
        "----------------End-to-end Latency----------------\n",
        "Failed requests:                         1         \n",
        "Preemptions:                             1         \n",
        "==================================================\n",
    };
    const char *pos = t->str;
    for (size_t i = 0; i < G_N_ELEMENTS(want_lines); i++) {
        const char *f = strstr(pos, want_lines[i]);
        cr_expect_not_null(f, "missing or out of order: %s\n%s", want_lines[i], t->str);
        if (f != NULL)
            pos = f + strlen(want_lines[i]);
    }
}

Test(traces, table_and_summary_name_what_was_simulated)
{
    sim_metrics *m = run_into(tmpdir, NULL);
    const sim_metrics_result *r = sim_metrics_get_result(m);
    tr_simulated sim = {.model = "llama-3.1-8b",
                        .hardware = "h100-sxm",
                        .gpu = "NVIDIA H100 SXM5 80GB",
                        .tp = 2,
                        .pp = 1,
                        .dp = 1,
                        .ep = 2,
                        .replicas = 3,
                        .engine = "vllm-0.15",
                        .weight_dtype = "fp8",
                        .kv_dtype = "bf16",
                        .calibration = NULL,
                        .workload = "trace.csv",
                        .workload_format = "azure",
                        .requests = 4,
                        .scheduler = "vllm",
                        .router = "least_loaded",
                        .max_num_seqs = 256,
                        .max_num_batched_tokens = 2048};
    tr_report_info info;
    tr_report_info_init(&info);
    info.simulated = &sim;
    g_autoptr(GString) t = tr_summary_table(r, &info);
    const char *want_lines[] = {
        "=================== Simulated ====================\n",
        "Model:                                   llama-3.1-8b\n",
        "Hardware:                                h100-sxm (NVIDIA H100 SXM5 80GB)\n",
        "Parallelism:                             TP 2 x PP 1 x DP 1 (EP 2), 3 replicas\n",
        "Engine:                                  vllm-0.15\n",
        "dtype (weights / KV cache):              fp8 / bf16\n",
        "Calibration:                             uncalibrated\n",
        "Workload:                                trace.csv (azure), 4 requests\n",
        "Scheduler:                               vllm, max_num_seqs 256, max_num_batched_tokens "
        "2048\n",
        "Router:                                  least_loaded\n",
        "============ Serving Benchmark Result ============\n",
        "Busy (% of time in a step):",
        "Mean KV cache usage (%):",
    };
    const char *pos = t->str;
    for (size_t i = 0; i < G_N_ELEMENTS(want_lines); i++) {
        const char *f = strstr(pos, want_lines[i]);
        cr_expect_not_null(f, "missing or out of order: %s\n%s", want_lines[i], t->str);
        if (f != NULL)
            pos = f + strlen(want_lines[i]);
    }
    cr_expect_null(strstr(t->str, "overloaded"), "%s", t->str);
    cr_expect_null(strstr(t->str, "utilization"), "busy is not called utilization");
    json_auto_t *j = tr_summary_json(r, &sim, NULL);
    expect_keys(j, "servesim simulated config metrics", "summary keys");
    json_t *so = json_object_get(j, "simulated");
    expect_keys(so,
                "model hardware gpu tensor_parallel_size pipeline_parallel_size data_parallel_size "
                "expert_parallel_size replicas engine weight_dtype kv_cache_dtype calibration "
                "workload scheduler scheduler_follows router max_num_seqs max_num_batched_tokens "
                "overloaded",
                "simulated keys");
    cr_expect_str_eq(json_string_value(json_object_get(so, "calibration")), "uncalibrated");
    cr_expect_str_eq(json_string_value(json_object_get(so, "engine")), "vllm-0.15");
    cr_expect_eq(json_integer_value(json_object_get(so, "expert_parallel_size")), 2);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(so, "workload"), "requests")),
                 4);
    sim_metrics_free(m);
    /* the overload line, from figures set by hand */
    sim_load_check lc = {.valid = true,
                         .arrival_rate = 20.04,
                         .completion_rate = 11.36,
                         .in_system_mid = 1000,
                         .in_system_end = 2600,
                         .overloaded = true};
    g_autofree char *line = tr_overload_line(&lc);
    cr_expect_str_eq(line, "overloaded: arrivals 20.0 req/s > completions 11.4 req/s; queue still "
                           "growing at the end (2600 requests in the system at the last arrival, "
                           "1000 at mid-window)");
    lc.overloaded = false;
    cr_expect_null(tr_overload_line(&lc));
}
