/* tests/schedulers/test_cluster.c: whole simulations on the engine with a linear step model
 * whose times are computable by hand: exact single-request timings, queueing sanity (light
 * load, below and past saturation), gating (sessions, concurrency), rejection, property tests
 * (every request ends exactly once, tokens conserved, no block or request leaks, invariants
 * after every step) over every scheduler and router, and determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "base/rng.h"
#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/observe.h"

typedef struct {
    GArray *recs; /* sim_request_record */
    uint64_t tokens;
    int64_t max_gap;
} sink;

static void
on_done(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    g_array_append_vals(s->recs, payload, 1);
}

static void
on_token(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    sink *s = ctx;
    const sim_token_event *t = payload;
    s->tokens += t->ntokens;
    if (t->gap_ns > s->max_gap)
        s->max_gap = t->gap_ns;
}

typedef struct {
    const char *sched;
    const char *router;
    uint32_t replicas;
    uint32_t num_blocks;
    uint32_t block_size;
    uint32_t budget;
    uint32_t max_seqs;
    uint32_t max_model_len;
    int64_t max_concurrency;
    bool check;
    tm_linear_coeffs lin;
} setup;

static setup
default_setup(void)
{
    setup s = {"vllm",
               "round_robin",
               1,
               4097,
               16,
               2048,
               256,
               8192,
               0,
               true,
               {.fixed_s = 1e-3, .per_prefill_token_s = 1e-5}};
    return s;
}

/* Runs REQS through a cluster; returns the sink (caller frees recs). */
static sink
simulate(const setup *su, const wl_request *reqs, size_t n, sim_cluster_stats *stats_out)
{
    sim_engine *e = sim_engine_new();
    sink s = {g_array_new(FALSE, FALSE, sizeof(sim_request_record)), 0, 0};
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done, &s);
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, on_token, &s);
    tm_timemodel *tm = tm_linear_new(&su->lin);
    sim_cluster_params p = {
        .pool = {.sched = {.max_num_seqs = su->max_seqs,
                           .max_num_batched_tokens = su->budget,
                           .max_model_len = su->max_model_len,
                           .chunked_prefill = true,
                           .chunk_size = 512,
                           .batch_size = 8},
                 .scheduler = sched_find_scheduler(su->sched),
                 .router = sched_find_router(su->router),
                 .nreplicas = su->replicas,
                 .num_blocks = su->num_blocks,
                 .block_size = su->block_size,
                 .prefix_caching = true,
                 .tm = tm,
                 .overlap_weight = 1.0},
        .seed = 42,
        .max_concurrency = su->max_concurrency,
        .check_invariants = su->check,
    };
    sim_array_source arr = {reqs, n, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    sim_cluster *c = sim_cluster_new(e, &p, &src, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    cr_assert(sim_cluster_run(c, SIM_TIME_MAX, &err));
    if (stats_out != NULL)
        *stats_out = sim_cluster_get_stats(c);
    cr_assert_eq(sim_cluster_live_requests(c), 0, "no request leaks");
    for (uint32_t i = 0; i < sim_cluster_ncores(c); i++) {
        const sim_replica *r = sim_cluster_core(c, i);
        cr_assert_eq(sim_kvpool_num_used(r->kv), 0, "no block leaks");
        cr_assert_eq(r->remaining_tokens, 0);
        cr_assert_eq(r->remaining_prefill, 0);
        cr_assert_eq(r->assigned, 0);
    }
    sim_engine_stats es = sim_engine_get_stats(e);
    cr_assert_eq(es.pending, 0);
    sim_cluster_free(c);
    tm_timemodel_free(tm);
    sim_engine_free(e);
    return s;
}

static const sim_request_record *
rec_by_id(const sink *s, uint64_t id)
{
    for (guint i = 0; i < s->recs->len; i++)
        if (g_array_index(s->recs, sim_request_record, i).id == id)
            return &g_array_index(s->recs, sim_request_record, i);
    cr_assert_fail("no record for request %llu", (unsigned long long)id);
    abort(); /* not reached: tells the compiler the result is never NULL */
}

Test(cluster, single_request_times_match_hand_calculation)
{
    setup su = default_setup();
    wl_request w = {.id = 7, .arrival_ns = 5000000, .prompt_tokens = 100, .output_tokens = 11};
    sink s = simulate(&su, &w, 1, NULL);
    cr_assert_eq(s.recs->len, 1);
    const sim_request_record *r = rec_by_id(&s, 7);
    /* prefill step: 1 ms + 100 × 10 µs = 2 ms → first token at 7 ms; then 10 decode steps of
     * 1 ms: last token at 17 ms. TTFT 2 ms, E2E 12 ms, TPOT (12 − 2)/10 = 1 ms. */
    cr_expect_eq(r->send_ns, 5000000);
    cr_expect_eq(r->first_scheduled_ns, 5000000);
    cr_expect_eq(r->first_token_ns, 7000000);
    cr_expect_eq(r->finish_ns, 17000000);
    cr_expect_eq(r->output_tokens, 11);
    cr_expect(!r->failed);
    cr_expect_eq(s.tokens, 11);
    cr_expect_eq(s.max_gap, 1000000);
    g_array_free(s.recs, TRUE);
}

/* Poisson arrivals at RATE with fixed lengths. */
static wl_request *
poisson(size_t n, double rate, uint32_t prompt, uint32_t out, uint64_t seed)
{
    wl_request *w = g_new0(wl_request, n);
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (wl_request){.id = i,
                            .arrival_ns = (int64_t)llround(t * 1e9),
                            .prompt_tokens = prompt,
                            .output_tokens = out};
        t += sim_rng_exponential(&r, rate);
    }
    return w;
}

static double
mean_ttft_ms(const sink *s, size_t from, size_t to)
{
    double sum = 0;
    for (size_t i = from; i < to; i++) {
        const sim_request_record *r = rec_by_id(s, i);
        sum += (double)(r->first_token_ns - r->send_ns) / 1e6;
    }
    return sum / (double)(to - from);
}

Test(cluster, light_load_ttft_is_the_prefill_service_time)
{
    /* 1 request per second, each prefill 1 + 200 × 0.01 = 3 ms and 20 decode steps of 1 ms:
     * the system is busy ~2 % of the time, so TTFT ≈ 3 ms (a new arrival rarely finds a step
     * in progress; when it does it waits < 1 ms and batches). */
    setup su = default_setup();
    size_t n = 400;
    wl_request *w = poisson(n, 1.0, 200, 20, 1);
    sink s = simulate(&su, w, n, NULL);
    double m = mean_ttft_ms(&s, 0, n);
    cr_expect(m >= 3.0 && m < 3.1, "mean TTFT %.3f ms", m);
    g_array_free(s.recs, TRUE);
    g_free(w);
}

Test(cluster, below_saturation_throughput_equals_the_arrival_rate)
{
    /* 50 req/s of 100 + 50 tokens. Per request work ≈ prefill 1 ms + 50 decode steps shared
     * with ~8 others: far below capacity. Completed/duration must match 50/s within the
     * Poisson noise of the arrival count (duration = first send .. last finish). */
    setup su = default_setup();
    size_t n = 3000;
    wl_request *w = poisson(n, 50.0, 100, 50, 2);
    sim_cluster_stats st;
    sink s = simulate(&su, w, n, &st);
    double dur = (double)(st.last_finish_ns - st.first_send_ns) / 1e9;
    double thr = (double)st.finished / dur;
    double arrival_rate = (double)(n - 1) / ((double)w[n - 1].arrival_ns / 1e9);
    cr_expect(fabs(thr - arrival_rate) / arrival_rate < 0.02, "throughput %.2f vs rate %.2f", thr,
              arrival_rate);
    cr_expect_eq(st.finished, n);
    g_array_free(s.recs, TRUE);
    g_free(w);
}

Test(cluster, past_saturation_queueing_grows_without_bound)
{
    /* Each request: prefill 1 + 2000 × 0.01 = 21 ms of a budget-limited replica (budget 2048
     * ⇒ one prompt per step): capacity < 50 req/s, offered 100 req/s. TTFT of the last tenth
     * must be many times that of the first tenth and keep rising. */
    setup su = default_setup();
    size_t n = 1000;
    wl_request *w = poisson(n, 100.0, 2000, 4, 3);
    sink s = simulate(&su, w, n, NULL);
    double first = mean_ttft_ms(&s, 0, n / 10);
    double mid = mean_ttft_ms(&s, n / 2 - n / 20, n / 2 + n / 20);
    double last = mean_ttft_ms(&s, n - n / 10, n);
    cr_expect(last > 5 * first, "first %.1f ms last %.1f ms", first, last);
    cr_expect(last > 1.5 * mid, "mid %.1f ms last %.1f ms", mid, last);
    g_array_free(s.recs, TRUE);
    g_free(w);
}

Test(cluster, session_turns_wait_for_the_previous_turn_plus_think_time)
{
    setup su = default_setup();
    wl_request w[3] = {
        {.id = 0, .arrival_ns = 0, .prompt_tokens = 100, .output_tokens = 10, .session_id = 9},
        {.id = 1,
         .arrival_ns = 1000,
         .prompt_tokens = 100,
         .output_tokens = 10,
         .session_id = 9,
         .turn = 1,
         .think_ns = 500000000},
        {.id = 2, .arrival_ns = 2000, .prompt_tokens = 100, .output_tokens = 10},
    };
    sink s = simulate(&su, w, 3, NULL);
    const sim_request_record *t0 = rec_by_id(&s, 0), *t1 = rec_by_id(&s, 1), *o = rec_by_id(&s, 2);
    cr_expect_eq(t1->send_ns, t0->finish_ns + 500000000);
    cr_expect_eq(o->send_ns, 2000, "other requests are not gated");
    g_array_free(s.recs, TRUE);
}

Test(cluster, concurrency_cap_limits_requests_in_flight)
{
    setup su = default_setup();
    su.max_concurrency = 2;
    wl_request w[6];
    for (int i = 0; i < 6; i++)
        w[i] = (wl_request){
            .id = (uint64_t)i, .prompt_tokens = 50, .output_tokens = 5 + 3 * (uint32_t)i};
    sink s = simulate(&su, w, 6, NULL);
    cr_assert_eq(s.recs->len, 6);
    /* at every send instant, at most 2 requests are in [send, finish) */
    for (guint i = 0; i < s.recs->len; i++) {
        int64_t t = g_array_index(s.recs, sim_request_record, i).send_ns;
        int inflight = 0;
        for (guint j = 0; j < s.recs->len; j++) {
            const sim_request_record *r = &g_array_index(s.recs, sim_request_record, j);
            inflight += r->send_ns <= t && t < r->finish_ns;
        }
        cr_expect_leq(inflight, 2, "at %lld", (long long)t);
    }
    /* the 3rd request is sent exactly when the first finishes */
    cr_expect_eq(rec_by_id(&s, 2)->send_ns, rec_by_id(&s, 0)->finish_ns);
    g_array_free(s.recs, TRUE);
}

Test(cluster, over_long_requests_fail_like_vllm)
{
    setup su = default_setup();
    wl_request w[2] = {{.id = 0, .prompt_tokens = 8000, .output_tokens = 500},
                       {.id = 1, .prompt_tokens = 100, .output_tokens = 5}};
    sink s = simulate(&su, w, 2, NULL);
    const sim_request_record *bad = rec_by_id(&s, 0);
    cr_expect(bad->failed);
    cr_expect_eq(bad->output_tokens, 0);
    cr_expect(strstr(bad->fail_reason, "max_model_len") != NULL);
    cr_expect(!rec_by_id(&s, 1)->failed);
    g_array_free(s.recs, TRUE);
}

Test(cluster, configuration_that_cannot_hold_one_request_is_rejected)
{
    sim_engine *e = sim_engine_new();
    tm_linear_coeffs lin = {.fixed_s = 1e-3};
    tm_timemodel *tm = tm_linear_new(&lin);
    sim_cluster_params p = {.pool = {.sched = {.max_num_seqs = 8,
                                               .max_num_batched_tokens = 2048,
                                               .max_model_len = 8192,
                                               .chunked_prefill = true},
                                     .scheduler = &sched_vllm,
                                     .router = &sched_round_robin,
                                     .nreplicas = 1,
                                     .num_blocks = 100,
                                     .block_size = 16,
                                     .tm = tm}};
    sim_array_source arr = {NULL, 0, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "max_model_len") != NULL, "%s", err->message);
    g_clear_error(&err);
    p.pool.num_blocks = 1000;
    p.pool.sched.max_num_batched_tokens = 8;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_expect(strstr(err->message, "block size") != NULL, "%s", err->message);
    g_clear_error(&err);
    tm_timemodel_free(tm);
    sim_engine_free(e);
}

/* Replica state is estimated before anything is allocated: too many replicas, or replicas × KV
 * block arrays above the bound, are one-line errors with the figure (--replicas 1000000 used to
 * be found out by the OOM killer). The bound is lowered here so that a regression costs MBs. */
Test(cluster, replica_state_above_the_bound_is_refused_with_the_figure)
{
    sim_engine *e = sim_engine_new();
    tm_linear_coeffs lin = {.fixed_s = 1e-3};
    tm_timemodel *tm = tm_linear_new(&lin);
    sim_cluster_params p = {.pool = {.sched = {.max_num_seqs = 8,
                                               .max_num_batched_tokens = 2048,
                                               .max_model_len = 1024,
                                               .chunked_prefill = true},
                                     .scheduler = &sched_vllm,
                                     .router = &sched_round_robin,
                                     .nreplicas = SIM_CLUSTER_MAX_REPLICAS + 1,
                                     .num_blocks = 1000,
                                     .block_size = 16,
                                     .tm = tm},
                            .max_state_bytes = 4 << 20};
    sim_array_source arr = {NULL, 0, 0};
    sim_source src = sim_source_array(&arr);
    GError *err = NULL;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "4097 replicas is more than the 4096 supported") != NULL, "%s",
              err->message);
    g_clear_error(&err);
    /* 100 replicas of 1000 blocks: 100 × (56768 B of KV arrays + a little) ≈ 5.4 MiB > 4 MiB */
    p.pool.nreplicas = 100;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "the replicas' state needs 5.") != NULL, "%s", err->message);
    cr_expect(strstr(err->message, " MiB (100 replicas × 5") != NULL, "%s", err->message);
    cr_expect(strstr(err->message, " KiB for 1000 KV blocks each), more than the 4.0 MiB limit") !=
                  NULL,
              "%s", err->message);
    cr_expect(strstr(err->message, "lower --replicas") != NULL, "%s", err->message);
    g_clear_error(&err);
    /* 66 replicas ≈ 3.8 MiB fit (about 58.6 KiB each: 4 MiB holds 69 of them) */
    p.pool.nreplicas = 66;
    sim_cluster *c = sim_cluster_new(e, &p, &src, &err);
    cr_expect_not_null(c, "%s", err ? err->message : "");
    sim_cluster_free(c);
    g_clear_error(&err);
    /* with data parallelism each rank is a core: 33 replicas × 2 ranks = 66 cores fit, 50 × 2
     * do not, and 2049 × 2 are too many */
    p.pool.nreplicas = 33;
    p.pool.dp = 2;
    c = sim_cluster_new(e, &p, &src, &err);
    cr_expect_not_null(c, "%s", err ? err->message : "");
    sim_cluster_free(c);
    g_clear_error(&err);
    p.pool.nreplicas = 50;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, " MiB (50 replicas × 2 data-parallel ranks × 5") != NULL, "%s",
              err->message);
    cr_expect(strstr(err->message, "lower --replicas, --data-parallel-size") != NULL, "%s",
              err->message);
    g_clear_error(&err);
    p.pool.nreplicas = 2049;
    cr_expect_null(sim_cluster_new(e, &p, &src, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "2049 replicas × 2 data-parallel ranks is more than the 4096 "
                                   "supported") != NULL,
              "%s", err->message);
    g_clear_error(&err);
    p.pool.nreplicas = 1;
    p.pool.dp = 1;
    c = sim_cluster_new(e, &p, &src, &err);
    cr_expect_not_null(c, "%s", err ? err->message : "");
    sim_cluster_free(c);
    g_clear_error(&err);
    tm_timemodel_free(tm);
    sim_engine_free(e);
}

/* ---- property tests over every scheduler × router ---- */

/* Criterion copies parameters into the worker process: no pointers, only inline arrays. */
typedef struct {
    char sched[16];
    char router[24];
} combo;

static wl_request *
random_workload(size_t n, uint64_t seed, wl_segment *segs)
{
    wl_request *w = g_new0(wl_request, n);
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        /* shared system prompts (4 kinds) + private question; some sessions */
        uint32_t sys = (uint32_t)(16 * (1 + sim_rng_below(&r, 8)));
        uint32_t q = 1 + (uint32_t)sim_rng_below(&r, 300);
        segs[2 * i] = (wl_segment){1 + sim_rng_below(&r, 4), sys};
        segs[2 * i + 1] = (wl_segment){1000 + i, q};
        w[i] = (wl_request){.id = i,
                            .arrival_ns = (int64_t)(t * 1e9),
                            .prompt_tokens = sys + q,
                            .output_tokens = 1 + (uint32_t)sim_rng_geometric(&r, 0.01),
                            .nsegments = 2,
                            .segments = &segs[2 * i],
                            .session_id = sim_rng_below(&r, 4) == 0 ? 1 + sim_rng_below(&r, 20) : 0,
                            .think_ns = 1000000};
        t += sim_rng_exponential(&r, 1000.0);
    }
    return w;
}

static char *
fingerprint(const sink *s)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < s->recs->len; i++) {
        const sim_request_record *r = &g_array_index(s->recs, sim_request_record, i);
        g_string_append_printf(g, "%llu:%u:%lld:%lld:%lld:%u:%u;", (unsigned long long)r->id,
                               r->replica, (long long)r->send_ns, (long long)r->first_token_ns,
                               (long long)r->finish_ns, r->preemptions, r->prefix_hit_tokens);
    }
    return g_string_free(g, FALSE);
}

ParameterizedTestParameters(cluster, every_request_ends_exactly_once)
{
    static combo c[] = {{"vllm", "round_robin"},      {"vllm", "least_loaded"},
                        {"vllm", "prefix_affinity"},  {"vllm", "random"},
                        {"sarathi", "least_loaded"},  {"orca", "round_robin"},
                        {"static", "prefix_affinity"}};
    return cr_make_param_array(combo, c, sizeof c / sizeof c[0]);
}

ParameterizedTest(combo *cb, cluster, every_request_ends_exactly_once, .timeout = 120)
{
    size_t n = 1500;
    wl_segment *segs = g_new(wl_segment, 2 * n);
    wl_request *w = random_workload(n, 5, segs);
    setup su = default_setup();
    su.sched = cb->sched;
    su.router = cb->router;
    su.replicas = 3;
    su.num_blocks = 600; /* tight: forces preemption under vllm */
    su.max_model_len = 2048;
    su.budget = 512;
    su.max_seqs = 64;
    su.lin = (tm_linear_coeffs){.fixed_s = 2e-3, .per_prefill_token_s = 2e-5, .per_decode_s = 1e-5};
    sim_cluster_stats st;
    sink s = simulate(&su, w, n, &st);
    cr_assert_eq(s.recs->len, n);
    uint8_t *seen = g_new0(uint8_t, n);
    uint64_t want_tokens = 0;
    for (guint i = 0; i < s.recs->len; i++) {
        const sim_request_record *r = &g_array_index(s.recs, sim_request_record, i);
        cr_assert_lt(r->id, n);
        cr_assert_eq(seen[r->id]++, 0, "request %llu ended twice", (unsigned long long)r->id);
        cr_assert(!r->failed);
        cr_assert_eq(r->output_tokens, w[r->id].output_tokens, "tokens conserved");
        cr_assert_geq(r->first_token_ns, r->send_ns);
        cr_assert_geq(r->finish_ns, r->first_token_ns);
        cr_assert_geq(r->send_ns, w[r->id].arrival_ns);
        want_tokens += w[r->id].output_tokens;
    }
    cr_expect_eq(s.tokens, want_tokens);
    if (strcmp(cb->sched, "vllm") == 0)
        cr_expect_gt(st.preemptions, 0, "the tight pool should force preemptions");
    if (strcmp(cb->sched, "orca") == 0 || strcmp(cb->sched, "static") == 0)
        cr_expect_eq(st.preemptions, 0);
    /* determinism: the same run again gives identical records */
    sink s2 = simulate(&su, w, n, NULL);
    g_autofree char *f1 = fingerprint(&s), *f2 = fingerprint(&s2);
    cr_expect_str_eq(f1, f2);
    g_array_free(s.recs, TRUE);
    g_array_free(s2.recs, TRUE);
    g_free(seen);
    g_free(w);
    g_free(segs);
}

Test(cluster, prefix_affinity_routes_shared_prefixes_together)
{
    /* 200 requests sharing one of two 1024-token system prompts in the order A A B B A A ...,
     * over 2 replicas whose pools hold one system prompt (64 blocks of 100): round robin sends
     * both prompts to both replicas, which then evict each other; prefix affinity keeps each
     * prompt on one replica, so its hit total must be higher. */
    size_t n = 200;
    wl_segment *segs = g_new(wl_segment, 2 * n);
    wl_request *w = g_new0(wl_request, n);
    for (size_t i = 0; i < n; i++) {
        segs[2 * i] = (wl_segment){1 + (i / 2) % 2, 1024};
        segs[2 * i + 1] = (wl_segment){100 + i, 32};
        w[i] = (wl_request){.id = i,
                            .arrival_ns = (int64_t)i * 20000000,
                            .prompt_tokens = 1056,
                            .output_tokens = 4,
                            .nsegments = 2,
                            .segments = &segs[2 * i]};
    }
    setup su = default_setup();
    su.replicas = 2;
    su.num_blocks = 101;
    su.max_model_len = 1536;
    uint64_t hits[2];
    const char *routers[2] = {"round_robin", "prefix_affinity"};
    for (int k = 0; k < 2; k++) {
        su.router = routers[k];
        sink s = simulate(&su, w, n, NULL);
        hits[k] = 0;
        for (guint i = 0; i < s.recs->len; i++)
            hits[k] += g_array_index(s.recs, sim_request_record, i).prefix_hit_tokens;
        g_array_free(s.recs, TRUE);
    }
    cr_expect_gt(hits[1], hits[0], "affinity %llu vs round robin %llu", (unsigned long long)hits[1],
                 (unsigned long long)hits[0]);
    g_free(w);
    g_free(segs);
}

/* ---- independent simulations on a thread pool (what sweeps and searches do) ---- */

typedef struct {
    double rate;       /* input: this point's arrival rate */
    char *fingerprint; /* output: the point's request records, or NULL on failure */
} sweep_point;

static void
on_done_plain(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    g_array_append_vals(ctx, payload, 1);
}

/* One sweep point, with no Criterion assertion (it runs on a worker thread). */
static void
run_point(gpointer data, gpointer unused)
{
    (void)unused;
    sweep_point *pt = data;
    size_t n = 300;
    wl_request *w = poisson(n, pt->rate, 300, 40, 17);
    sim_engine *e = sim_engine_new();
    sink s = {g_array_new(FALSE, FALSE, sizeof(sim_request_record)), 0, 0};
    sim_engine_subscribe(e, SIM_TOPIC_REQUEST_DONE, on_done_plain, s.recs);
    tm_linear_coeffs lin = {.fixed_s = 1e-3, .per_prefill_token_s = 2e-5, .per_decode_s = 2e-5};
    tm_timemodel *tm = tm_linear_new(&lin);
    sim_cluster_params p = {.pool = {.sched = {.max_num_seqs = 32,
                                               .max_num_batched_tokens = 512,
                                               .max_model_len = 4096,
                                               .chunked_prefill = true},
                                     .scheduler = &sched_vllm,
                                     .router = &sched_random,
                                     .nreplicas = 2,
                                     .num_blocks = 400,
                                     .block_size = 16,
                                     .prefix_caching = true,
                                     .tm = tm,
                                     .overlap_weight = 1.0},
                            .seed = 5};
    sim_array_source arr = {w, n, 0};
    sim_source src = sim_source_array(&arr);
    sim_cluster *c = sim_cluster_new(e, &p, &src, NULL);
    if (c != NULL && sim_cluster_run(c, SIM_TIME_MAX, NULL))
        pt->fingerprint = fingerprint(&s);
    sim_cluster_free(c);
    tm_timemodel_free(tm);
    sim_engine_free(e);
    g_array_free(s.recs, TRUE);
    g_free(w);
}

static void
run_sweep(sweep_point *pts, int n, int threads)
{
    GThreadPool *pool = g_thread_pool_new(run_point, NULL, threads, TRUE, NULL);
    for (int i = 0; i < n; i++)
        g_thread_pool_push(pool, &pts[i], NULL);
    g_thread_pool_free(pool, FALSE, TRUE); /* waits for every point */
}

Test(cluster, sweep_points_are_identical_whatever_the_thread_count)
{
    enum { NPTS = 6 };

    const int threads[] = {1, 2, 4};
    sweep_point runs[3][NPTS];
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < NPTS; i++)
            runs[t][i] = (sweep_point){.rate = 20.0 * (i + 1), .fingerprint = NULL};
        run_sweep(runs[t], NPTS, threads[t]);
    }
    for (int i = 0; i < NPTS; i++) {
        cr_assert_not_null(runs[0][i].fingerprint, "point %d failed", i);
        for (int t = 1; t < 3; t++) {
            cr_assert_not_null(runs[t][i].fingerprint);
            cr_expect_str_eq(runs[t][i].fingerprint, runs[0][i].fingerprint,
                             "point %d differs with %d threads", i, threads[t]);
        }
        if (i > 0)
            cr_expect_str_neq(runs[0][i].fingerprint, runs[0][i - 1].fingerprint);
    }
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < NPTS; i++)
            g_free(runs[t][i].fingerprint);
}
