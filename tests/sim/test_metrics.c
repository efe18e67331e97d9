/* tests/sim/test_metrics.c: serving metrics against hand-computed values (vLLM bench
 * definitions, NumPy linear percentiles), goodput, exact radix-selected percentiles against a
 * full sort, warm-up/cool-down exclusion, per-stage split, per-replica step statistics (busy
 * and load), the overload check. Payloads
 * go through a real sim_engine observer bus. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/rng.h"
#include "base/stats.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "tests/records.h"

#define MS 1000000LL

static void
expect_near(double got, double want, double rel, const char *what)
{
    double tol = fabs(want) * rel + 1e-9;
    cr_expect(fabs(got - want) <= tol, "%s: got %.12g, want %.12g", what, got, want);
}

/* Publishes request R's token chunks (times in ms; NTOK tokens each) then its record. */
static void
publish_request(sim_engine *e,
                const sim_request_record *r,
                const int64_t *chunk_ms,
                const uint32_t *ntok,
                int nchunks)
{
    sim_arrival_event a = {r->id,   r->replica, r->send_ns, r->prompt_tokens, r->output_tokens,
                           r->stage};
    sim_engine_publish(e, SIM_TOPIC_ARRIVAL, &a);
    for (int i = 0; i < nchunks; i++) {
        sim_token_event t = {
            .request_id = r->id,
            .replica = r->replica,
            .ntokens = ntok != NULL ? ntok[i] : 1,
            .time_ns = chunk_ms[i] * MS,
            .gap_ns = i == 0 ? -1 : (chunk_ms[i] - chunk_ms[i - 1]) * MS,
            .send_ns = r->send_ns,
            .stage = r->stage,
        };
        sim_engine_publish(e, SIM_TOPIC_TOKEN, &t);
    }
    sim_engine_publish(e, SIM_TOPIC_REQUEST_DONE, r);
}

/* The five-request scenario (times in ms):
 *   id send sched first finish out prompt chunks            TTFT TPOT E2EL queue
 *   0    0     0   100    500   5   100  100,200,..,500     100  100  500   0
 *   1  100   150   300    300   1   200  300                 200   -   200  50
 *   2  200   200   250    650   3   300  250, 650(2 tokens)   50  200  450   0
 *   3  300   400   600   1000   5   400  600,700,..,1000     300  100  700 100
 *   4  400   500   900   1100   2   500  900, 1100           500  200  700 100
 *   5  500 (failed at 500: prompt 9000, never routed)
 * ITL gaps: 100 ×4 (r0), 400 (r2), 100 ×4 (r3), 200 (r4) → [100×8, 200, 400].
 * Replicas: r0, r2, r4 on 0; r1, r3 on 1. Prefix hits: r0 50, r4 250. r3 preempted twice. */
static void
feed_five(sim_engine *e)
{
    sim_request_record r0 = tu_record(0, 0, 0, 0, 100, 500, 100, 5);
    r0.prefix_hit_tokens = 50;
    int64_t c0[] = {100, 200, 300, 400, 500};
    publish_request(e, &r0, c0, NULL, 5);
    sim_request_record r1 = tu_record(1, 1, 100, 150, 300, 300, 200, 1);
    int64_t c1[] = {300};
    publish_request(e, &r1, c1, NULL, 1);
    sim_request_record r2 = tu_record(2, 0, 200, 200, 250, 650, 300, 3);
    int64_t c2[] = {250, 650};
    uint32_t n2[] = {1, 2};
    publish_request(e, &r2, c2, n2, 2);
    sim_request_record r3 = tu_record(3, 1, 300, 400, 600, 1000, 400, 5);
    r3.preemptions = 2;
    int64_t c3[] = {600, 700, 800, 900, 1000};
    publish_request(e, &r3, c3, NULL, 5);
    sim_request_record r4 = tu_record(4, 0, 400, 500, 900, 1100, 500, 2);
    r4.prefix_hit_tokens = 250;
    int64_t c4[] = {900, 1100};
    publish_request(e, &r4, c4, NULL, 2);
    sim_request_record r5 = tu_record(5, UINT32_MAX, 500, -1, -1, 500, 9000, 0);
    r5.failed = true;
    r5.fail_reason = "prompt exceeds max_model_len";
    publish_request(e, &r5, NULL, NULL, 0);
}

static sim_metrics *
run_five(const char *const *goodput)
{
    GError *err = NULL;
    sim_metrics_params p = {.goodput = goodput};
    sim_metrics *m = sim_metrics_new(&p, &err);
    cr_assert_not_null(m, "%s", err ? err->message : "");
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    feed_five(e);
    cr_assert(sim_metrics_finish(m, 1100 * MS, &err), "%s", err ? err->message : "");
    sim_engine_free(e);
    return m;
}

Test(metrics, five_requests_match_hand_computed_values)
{
    sim_metrics *m = run_five(NULL);
    const sim_metrics_result *res = sim_metrics_get_result(m);
    cr_assert_not_null(res);
    const sim_scope_result *o = &res->overall;
    cr_expect_eq(o->sent, 6);
    cr_expect_eq(o->completed, 5);
    cr_expect_eq(o->failed, 1);
    cr_expect_eq(o->start_ns, 0);
    cr_expect_eq(o->end_ns, 1100 * MS);
    cr_expect_eq(o->input_tokens, 1500);
    cr_expect_eq(o->output_tokens, 16);
    expect_near(o->duration_s, 1.1, 1e-12, "duration");
    expect_near(o->request_throughput, 5 / 1.1, 1e-12, "req/s");
    expect_near(o->output_throughput, 16 / 1.1, 1e-12, "out tok/s");
    expect_near(o->input_throughput, 1500 / 1.1, 1e-12, "in tok/s");
    expect_near(o->total_token_throughput, 1516 / 1.1, 1e-12, "total tok/s");
    cr_expect(isnan(o->goodput));
    cr_expect_eq(o->preemptions, 2);
    cr_expect_eq(o->prefix_hit_tokens, 300);
    expect_near(o->prefix_hit_rate, 0.2, 1e-12, "prefix hit rate");

    /* TTFT sorted [50,100,200,300,500]: mean 230; deviations −180,−130,−30,70,270, squares sum
     * 128000 → std sqrt(25600) = 160. r = p/100·4: p10 → 0.4 → 50+0.4·50 = 70; p25 → 1 → 100;
     * p50 → 2 → 200; p90 → 3.6 → 300+0.6·200 = 420; p95 → 460; p99 → 3.96 → 492;
     * p99.9 → 3.996 → 499.2; p0.1 → 0.004 → 50.2; p1 → 52; p5 → 60; p75 → 300. */
    const sim_dist *t = &o->ttft_ns;
    cr_expect_eq(t->n, 5);
    expect_near(t->mean, 230 * MS, 1e-12, "ttft mean");
    expect_near(t->std, 160 * MS, 1e-9, "ttft std");
    expect_near(t->min, 50 * MS, 0, "ttft min");
    expect_near(t->max, 500 * MS, 0, "ttft max");
    double want_ttft[SIM_METRICS_NPCT] = {50.2, 52, 60, 70, 100, 200, 300, 420, 460, 492, 499.2};
    for (int i = 0; i < SIM_METRICS_NPCT; i++)
        expect_near(t->pct[i], want_ttft[i] * MS, 1e-12, "ttft pct");

    /* TPOT (n_out > 1 only): [100,100,200,200]: mean 150, std 50; p25 → r 0.75 → 100;
     * p50 → 1.5 → 150; p75 → 2.25 → 200; p90 → 200. */
    const sim_dist *tp = &o->tpot_ns;
    cr_expect_eq(tp->n, 4);
    expect_near(tp->mean, 150 * MS, 1e-12, "tpot mean");
    expect_near(tp->std, 50 * MS, 1e-9, "tpot std");
    expect_near(tp->pct[SIM_PCT_25], 100 * MS, 1e-12, "tpot p25");
    expect_near(tp->pct[SIM_PCT_50], 150 * MS, 1e-12, "tpot p50");
    expect_near(tp->pct[SIM_PCT_75], 200 * MS, 1e-12, "tpot p75");
    expect_near(tp->pct[SIM_PCT_90], 200 * MS, 1e-12, "tpot p90");

    /* E2EL sorted [200,450,500,700,700]: mean 510; squares 96100+3600+100+36100+36100 =
     * 172000 → std sqrt(34400); p50 500; p25 450; p10 → 0.4 → 200+0.4·250 = 300. */
    const sim_dist *el = &o->e2el_ns;
    expect_near(el->mean, 510 * MS, 1e-12, "e2el mean");
    expect_near(el->std, sqrt(34400.0) * MS, 1e-9, "e2el std");
    expect_near(el->pct[SIM_PCT_50], 500 * MS, 1e-12, "e2el p50");
    expect_near(el->pct[SIM_PCT_25], 450 * MS, 1e-12, "e2el p25");
    expect_near(el->pct[SIM_PCT_10], 300 * MS, 1e-12, "e2el p10");
    expect_near(el->pct[SIM_PCT_99], 700 * MS, 1e-12, "e2el p99");

    /* queueing [0,0,50,100,100]: mean 50, p50 50, p25 0 */
    expect_near(o->queue_ns.mean, 50 * MS, 1e-12, "queue mean");
    expect_near(o->queue_ns.pct[SIM_PCT_50], 50 * MS, 1e-12, "queue p50");
    expect_near(o->queue_ns.pct[SIM_PCT_25], 0, 0, "queue p25");

    /* ITL [100×8, 200, 400]: count, mean (140), min, max exact; std sqrt(84000/10);
     * p50 → r 4.5 → 100; p90 → 8.1 → 200+0.1·200 = 220; p99 → 8.91 → 382; within 1/256. */
    const sim_dist *itl = &o->itl_ns;
    cr_expect_eq(itl->n, 10);
    expect_near(itl->mean, 140 * MS, 1e-12, "itl mean");
    expect_near(itl->std, sqrt(8400.0) * MS, 1e-9, "itl std");
    expect_near(itl->min, 100 * MS, 0, "itl min");
    expect_near(itl->max, 400 * MS, 0, "itl max");
    expect_near(itl->pct[SIM_PCT_50], 100 * MS, 1.0 / 256, "itl p50");
    expect_near(itl->pct[SIM_PCT_90], 220 * MS, 1.0 / 256, "itl p90");
    expect_near(itl->pct[SIM_PCT_99], 382 * MS, 1.0 / 256, "itl p99");

    /* normalized TPOT e2el/out: [100, 200, 150, 140, 350] → mean 188 */
    expect_near(o->ntpot_ns.mean, 188 * MS, 1e-12, "ntpot mean");
    /* lengths */
    expect_near(o->prompt_len.mean, 300, 1e-12, "prompt mean");
    expect_near(o->output_len.pct[SIM_PCT_50], 3, 1e-12, "output p50");
    /* failures: one, latency 0, prompt 9000 */
    cr_expect_eq(o->fail_latency_ns.n, 1);
    expect_near(o->fail_latency_ns.max, 0, 0, "fail latency");
    expect_near(o->fail_prompt_len.pct[SIM_PCT_50], 9000, 0, "fail prompt");

    /* per replica (requests only, no steps here): replica 0 prompts 900, hits 300 */
    cr_assert_eq(res->nreplicas, 2);
    cr_expect_eq(res->replicas[0].requests, 3);
    expect_near(res->replicas[0].prefix_hit_rate, 1.0 / 3, 1e-12, "replica 0 hit rate");
    expect_near(res->replicas[1].prefix_hit_rate, 0, 0, "replica 1 hit rate");
    cr_expect_eq(res->total_requests, 6);
    cr_expect_eq(res->excluded_requests, 0);
    sim_metrics_free(m);
}

Test(metrics, goodput_counts_requests_meeting_every_slo)
{
    /* ttft ≤ 250 and tpot ≤ 150: r0 (100, 100) yes; r1 (200, TPOT 0 since n_out = 1) yes;
     * r2 (50, 200) no; r3 (300) no; r4 (500) no → 2 good over 1.1 s. */
    const char *slo1[] = {"ttft:250,tpot:150", NULL};
    sim_metrics *m = run_five(slo1);
    const sim_scope_result *o = &sim_metrics_get_result(m)->overall;
    cr_expect_eq(o->good, 2);
    expect_near(o->goodput, 2 / 1.1, 1e-12, "goodput");
    sim_metrics_free(m);
    /* adding e2el ≤ 450 drops r0 (500): 1 good (r1). Bounds are inclusive: r1's TTFT is 200. */
    const char *slo2[] = {"ttft:250", "tpot:150 e2el:450", NULL};
    m = run_five(slo2);
    o = &sim_metrics_get_result(m)->overall;
    cr_expect_eq(o->good, 1);
    sim_metrics_free(m);
    const char *slo3[] = {"ttft:200", NULL}; /* r0, r1 (=200), r2 → 3 */
    m = run_five(slo3);
    cr_expect_eq(sim_metrics_get_result(m)->overall.good, 3);
    sim_metrics_free(m);
}

Test(metrics, bad_goodput_specs_are_rejected)
{
    const char *bad[][2] = {{"ttfx:5", NULL},  {"ttft", NULL},    {"ttft:", NULL},
                            {"ttft:-1", NULL}, {"ttft:5x", NULL}, {"tpot:1,tpot:2", NULL},
                            {"e2el:inf", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        sim_slo s;
        cr_expect_not(sim_slo_parse(bad[i], &s, &err), "%s accepted", bad[i][0]);
        cr_expect_not_null(err);
        if (err != NULL) {
            cr_expect(strstr(err->message, "metrics.goodput") != NULL, "%s", err->message);
            g_error_free(err);
        }
    }
    sim_slo s;
    const char *good[] = {" ttft:0.5 , e2el:1e4", NULL};
    cr_assert(sim_slo_parse(good, &s, NULL));
    cr_expect(s.any);
    expect_near(s.ttft_ms, 0.5, 0, "ttft");
    cr_expect(isnan(s.tpot_ms));
    expect_near(s.e2el_ms, 1e4, 0, "e2el");
    /* sim_metrics_new reports it too */
    GError *err = NULL;
    sim_metrics_params p = {.goodput = bad[0]};
    cr_expect_null(sim_metrics_new(&p, &err));
    cr_expect_not_null(err);
    g_clear_error(&err);
    sim_metrics_params q = {.warmup_s = -1};
    cr_expect_null(sim_metrics_new(&q, &err));
    g_clear_error(&err);
    sim_metrics_params r = {.spill_dir = "/nonexistent/servesim-dir"};
    cr_expect_null(sim_metrics_new(&r, &err));
    cr_expect(err != NULL && strstr(err->message, "/nonexistent/servesim-dir") != NULL);
    g_clear_error(&err);
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
expect_exact_dist(const sim_dist *d, double *x, size_t n, const char *what)
{
    qsort(x, n, sizeof *x, cmp_d);
    cr_assert_eq(d->n, n, "%s: n", what);
    cr_expect_eq(d->min, x[0], "%s: min", what);
    cr_expect_eq(d->max, x[n - 1], "%s: max", what);
    for (int i = 0; i < SIM_METRICS_NPCT; i++) {
        double want = base_percentile_sorted(x, n, sim_metrics_pcts[i]);
        cr_expect_eq(d->pct[i], want, "%s: p%g: got %.17g want %.17g", what, sim_metrics_pcts[i],
                     d->pct[i], want);
    }
    base_moments mo = {0};
    for (size_t i = 0; i < n; i++)
        base_moments_add(&mo, x[i]);
    expect_near(d->mean, mo.mean, 1e-9, what);
    expect_near(d->std, base_moments_std(&mo), 1e-6, what);
}

/* 100k requests with heavy-tailed TTFT, E2EL concentrated in a narrow band (many refinement
 * passes), TPOT non-integer, prompt lengths from a small set (many duplicates): every
 * percentile equals the one of a full sort, bit for bit. */
Test(metrics, radix_selection_matches_a_full_sort, .timeout = 60)
{
    enum { N = 100000 };

    sim_rng rng;
    sim_rng_init(&rng, 42, SIM_STREAM_TEST);
    GError *err = NULL;
    sim_metrics_params p = {0};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    cr_assert_not_null(m);
    double *ttft = g_new(double, N), *e2el = g_new(double, N), *tpot = g_new(double, N);
    double *prompt = g_new(double, N);
    size_t ntpot = 0;
    for (int i = 0; i < N; i++) {
        int64_t send = (int64_t)i * 1000;
        int64_t t = 1 + (int64_t)sim_rng_lognormal(&rng, 18.0, 1.5);
        int64_t extra = 1000000000 + (int64_t)sim_rng_below(&rng, 5000);
        uint32_t out = 1 + (uint32_t)sim_rng_below(&rng, 4);
        uint32_t pr = 64u << sim_rng_below(&rng, 3);
        sim_request_record r = {0};
        r.id = (uint64_t)i;
        r.send_ns = send;
        r.first_scheduled_ns = send;
        r.first_token_ns = send + t;
        r.finish_ns = send + t + extra;
        r.prompt_tokens = pr;
        r.output_tokens = out;
        sim_metrics_on_request(m, &r);
        ttft[i] = (double)t;
        e2el[i] = (double)(t + extra);
        prompt[i] = (double)pr;
        if (out > 1)
            tpot[ntpot++] = (double)extra / (double)(out - 1);
    }
    cr_assert(sim_metrics_finish(m, 0, &err), "%s", err ? err->message : "");
    const sim_scope_result *o = &sim_metrics_get_result(m)->overall;
    expect_exact_dist(&o->ttft_ns, ttft, N, "ttft");
    expect_exact_dist(&o->e2el_ns, e2el, N, "e2el");
    expect_exact_dist(&o->tpot_ns, tpot, ntpot, "tpot");
    expect_exact_dist(&o->prompt_len, prompt, N, "prompt");
    g_free(ttft);
    g_free(e2el);
    g_free(tpot);
    g_free(prompt);
}

Test(metrics, small_and_empty_sets)
{
    GError *err = NULL;
    sim_metrics_params p = {0};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    cr_assert(sim_metrics_finish(m, 0, &err));
    const sim_metrics_result *res = sim_metrics_get_result(m);
    cr_expect_eq(res->overall.sent, 0);
    cr_expect(isnan(res->overall.ttft_ns.mean));
    cr_expect(isnan(res->overall.request_throughput));
    cr_expect_eq(res->nreplicas, 0);

    g_autoptr(sim_metrics) m1 = sim_metrics_new(&p, &err);
    sim_request_record r = tu_record(0, 0, 10, 10, 30, 70, 8, 4);
    sim_metrics_on_request(m1, &r);
    cr_assert(sim_metrics_finish(m1, 0, &err));
    const sim_scope_result *o = &sim_metrics_get_result(m1)->overall;
    for (int i = 0; i < SIM_METRICS_NPCT; i++)
        expect_near(o->ttft_ns.pct[i], 20 * MS, 0, "single ttft");
    expect_near(o->tpot_ns.pct[SIM_PCT_50], 40 * MS / 3.0, 1e-15, "single tpot");
    expect_near(o->ttft_ns.std, 0, 0, "single std");
}

/* Warm-up 0.15 s: requests sent at 0 and 100 ms are excluded (with their ITL gaps); the window
 * starts at the first included send (200 ms). */
Test(metrics, warmup_excludes_early_requests)
{
    GError *err = NULL;
    sim_metrics_params p = {.warmup_s = 0.15};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    feed_five(e); /* sends 0,100 excluded; 200,300,400,500(failed) included */
    cr_assert(sim_metrics_finish(m, 1100 * MS, &err));
    sim_engine_free(e);
    const sim_metrics_result *res = sim_metrics_get_result(m);
    const sim_scope_result *o = &res->overall;
    cr_expect_eq(res->excluded_requests, 2);
    cr_expect_eq(o->sent, 4);
    cr_expect_eq(o->completed, 3);
    cr_expect_eq(o->start_ns, 200 * MS);
    expect_near(o->duration_s, 0.9, 1e-12, "duration");
    /* TTFT [50, 300, 500] → p50 300; ITL [400, 100×4, 200] → n 6, mean 1000/6 */
    expect_near(o->ttft_ns.pct[SIM_PCT_50], 300 * MS, 1e-12, "ttft p50");
    cr_expect_eq(o->itl_ns.n, 6);
    expect_near(o->itl_ns.mean, 1000.0 / 6 * MS, 1e-12, "itl mean");
    cr_expect_eq(o->output_tokens, 10);
}

/* Cool-down 1 s with sends at 0, 1, 2, 3 s: last send 3 s, requests sent at or after 2 s are
 * excluded, so only the first two count, ITL included. */
Test(metrics, cooldown_excludes_late_requests_and_their_itl)
{
    GError *err = NULL;
    sim_metrics_params p = {.cooldown_s = 1.0};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    for (int i = 0; i < 4; i++) {
        int64_t s = i * 1000;
        /* request i: TTFT 10 ms, then 3 more tokens with gaps of (i + 1) × 10 ms */
        int64_t g = (i + 1) * 10;
        sim_request_record r = tu_record((uint64_t)i, 0, s, s, s + 10, s + 10 + 3 * g, 10, 4);
        int64_t c[] = {s + 10, s + 10 + g, s + 10 + 2 * g, s + 10 + 3 * g};
        publish_request(e, &r, c, NULL, 4);
    }
    cr_assert(sim_metrics_finish(m, 0, &err));
    sim_engine_free(e);
    const sim_metrics_result *res = sim_metrics_get_result(m);
    cr_expect_eq(res->cooldown_start_ns, 2000 * MS);
    cr_expect_eq(res->excluded_requests, 2);
    cr_expect_eq(res->overall.sent, 2);
    /* ITL: 3 gaps of 10 ms and 3 of 20 ms */
    cr_expect_eq(res->overall.itl_ns.n, 6);
    expect_near(res->overall.itl_ns.mean, 15 * MS, 1e-12, "itl mean");
    expect_near(res->overall.itl_ns.max, 20 * MS, 0, "itl max");
    expect_near(res->overall.tpot_ns.max, 20 * MS, 1e-12, "tpot max");
}

/* Two stages: stage 0 = requests 0, 1 (sends 0, 100 ms), stage 1 = requests 2–4; per-stage
 * windows, send durations, requested and achieved rates; stages ignore the warm-up. */
Test(metrics, stages_have_their_own_results_and_windows)
{
    GError *err = NULL;
    double rates[] = {10.0, 20.0};
    sim_metrics_params p = {.nstages = 2, .stage_rates = rates, .warmup_s = 0.05};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    int64_t sends[] = {0, 100, 200, 300, 400};
    int64_t ttft[] = {10, 20, 30, 40, 50};
    for (int i = 0; i < 5; i++) {
        int64_t s = sends[i];
        sim_request_record r =
            tu_record((uint64_t)i, 0, s, s, s + ttft[i], s + ttft[i] + 100, 10, 3);
        r.stage = i < 2 ? 0 : 1;
        int64_t c[] = {s + ttft[i], s + ttft[i] + 50, s + ttft[i] + 100};
        publish_request(e, &r, c, NULL, 3);
    }
    cr_assert(sim_metrics_finish(m, 0, &err));
    sim_engine_free(e);
    const sim_metrics_result *res = sim_metrics_get_result(m);
    cr_assert_eq(res->nstages, 2);
    const sim_scope_result *s0 = &res->stages[0], *s1 = &res->stages[1];
    cr_expect_eq(s0->sent, 2); /* the warm-up does not apply to stages */
    cr_expect_eq(s1->sent, 3);
    cr_expect_eq(res->overall.sent, 4);
    /* stage 0: window 0 → 220 ms; send duration 0.1 s → achieved 20 req/s */
    cr_expect_eq(s0->start_ns, 0);
    cr_expect_eq(s0->end_ns, 220 * MS);
    expect_near(s0->send_duration_s, 0.1, 1e-12, "s0 send duration");
    expect_near(s0->achieved_rate, 20, 1e-12, "s0 achieved");
    expect_near(s0->requested_rate, 10, 0, "s0 requested");
    expect_near(s0->ttft_ns.pct[SIM_PCT_50], 15 * MS, 1e-12, "s0 ttft p50");
    /* stage 1: window 200 → 550 ms; TTFT [30,40,50] */
    cr_expect_eq(s1->start_ns, 200 * MS);
    cr_expect_eq(s1->end_ns, 550 * MS);
    expect_near(s1->achieved_rate, 3 / 0.2, 1e-12, "s1 achieved");
    expect_near(s1->requested_rate, 20, 0, "s1 requested");
    expect_near(s1->ttft_ns.mean, 40 * MS, 1e-12, "s1 ttft mean");
    expect_near(s1->request_throughput, 3 / 0.35, 1e-12, "s1 req/s");
    cr_expect_eq(s0->itl_ns.n, 4);
    cr_expect_eq(s1->itl_ns.n, 6);
    expect_near(s1->itl_ns.max, 50 * MS, 0, "s1 itl");
}

/* Steps: replica 0 runs 0–100 ms (2 seqs, 300 tokens, KV 10/100) and 100–150 ms (4 seqs, 4
 * tokens, KV 30/100); replica 1 runs 200–400 ms (1 seq, 512 tokens, KV 50/200, 1 preemption).
 * Run window 0 → 1.1 s (the five requests). */
Test(metrics, replica_step_statistics)
{
    GError *err = NULL;
    sim_metrics_params p = {.max_num_batched_tokens = 1024, .max_num_seqs = 8};
    g_autoptr(sim_metrics) m = sim_metrics_new(&p, &err);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);

    struct {
        uint32_t rep;
        int64_t a, b;
        uint32_t seqs, tokens, used, total, pre;
    } st[] = {{0, 0, 100, 2, 300, 10, 100, 0},
              {0, 100, 150, 4, 4, 30, 100, 0},
              {1, 200, 400, 1, 512, 50, 200, 1}};

    for (size_t i = 0; i < G_N_ELEMENTS(st); i++) {
        sim_step_record s = {0};
        s.replica = st[i].rep;
        s.core = st[i].rep;
        s.step = i;
        s.start_ns = st[i].a * MS;
        s.end_ns = st[i].b * MS;
        tm_batch_init(&s.batch, 0);
        s.batch.num_seqs = st[i].seqs;
        s.batch.tokens = st[i].tokens;
        s.kv_used_blocks = st[i].used;
        s.kv_total_blocks = st[i].total;
        s.num_preempted = st[i].pre;
        sim_engine_publish(e, SIM_TOPIC_STEP_END, &s);
    }
    feed_five(e);
    cr_assert(sim_metrics_finish(m, 1000 * MS, &err));
    sim_engine_free(e);
    const sim_metrics_result *res = sim_metrics_get_result(m);
    cr_expect_eq(res->run_end_ns, 1100 * MS);
    const sim_replica_result *r0 = &res->replicas[0], *r1 = &res->replicas[1];
    cr_expect_eq(r0->steps, 2);
    cr_expect_eq(r0->busy_ns, 150 * MS);
    expect_near(r0->busy_fraction, 150.0 / 1100, 1e-12, "busy 0");
    expect_near(r1->busy_fraction, 200.0 / 1100, 1e-12, "busy 1");
    /* batch sizes [2, 4]: mean 3, p50 3 (exact below 128), max 4 */
    expect_near(r0->batch_size.mean, 3, 0, "batch mean");
    expect_near(r0->batch_size.pct[SIM_PCT_50], 3, 0, "batch p50");
    expect_near(r0->batch_size.max, 4, 0, "batch max");
    /* tokens [4, 300]: min and max ranks are exact → p50 152 */
    expect_near(r0->tokens_per_step.pct[SIM_PCT_50], 152, 0, "tokens p50");
    expect_near(r0->kv_usage_mean, 0.2, 1e-12, "kv mean");
    expect_near(r0->kv_usage_time_mean, 25.0 / 150, 1e-12, "kv time mean");
    expect_near(r0->kv_usage_max, 0.3, 1e-12, "kv max");
    cr_expect_eq(r1->preemptions, 1);
    expect_near(r1->kv_usage_max, 0.25, 1e-12, "kv max 1");
    /* load, not busy: replica 0's steps carry (300 + 4) / 2 = 152 tokens of a 1024 budget and
     * 3 of 8 sequence slots; replica 1's 512 tokens, 1 sequence */
    expect_near(r0->token_budget_fill, 152.0 / 1024, 1e-12, "token fill 0");
    expect_near(r0->seq_slots_fill, 3.0 / 8, 1e-12, "seq fill 0");
    expect_near(r1->token_budget_fill, 0.5, 1e-12, "token fill 1");
    expect_near(r1->seq_slots_fill, 1.0 / 8, 1e-12, "seq fill 1");
}

/* Requests sent every second at t = 0, 1, ..., N−1 s, each finishing at FINISH(i) ms. */
static sim_metrics_result
load_run(int n, int64_t (*finish_ms)(int), sim_metrics **keep)
{
    GError *err = NULL;
    sim_metrics_params p = {0};
    sim_metrics *m = sim_metrics_new(&p, &err);
    cr_assert_not_null(m);
    sim_engine *e = sim_engine_new();
    sim_metrics_subscribe(m, e);
    for (int i = 0; i < n; i++) {
        int64_t f = finish_ms(i);
        sim_request_record r = tu_record((uint64_t)i, 0, i * 1000LL, i * 1000LL, f, f, 10, 1);
        int64_t c[] = {f};
        publish_request(e, &r, c, NULL, 1);
    }
    cr_assert(sim_metrics_finish(m, 0, &err), "%s", err ? err->message : "");
    sim_engine_free(e);
    *keep = m;
    return *sim_metrics_get_result(m);
}

static int64_t
finish_quickly(int i)
{
    return i * 1000LL + 500; /* 0.5 s each: one request in the system half the time */
}

static int64_t
finish_at_half_rate(int i)
{
    return 2000LL * (i + 1); /* served one at a time every 2 s: completions at 0.5 req/s */
}

Test(metrics, overload_check_compares_arrivals_with_completions)
{
    sim_metrics *m = NULL;
    /* 101 arrivals over [0, 100] s: 1 req/s. Stable: finished by 100 s are the 100 sent
     * before it (0.5 s each); in the system at 50 s: 0 (request 50 arrives and is in it until
     * 50.5: sent by 50 = 51, finished by 50 = 50 → 1); at 100 s: 1. */
    sim_metrics_result r = load_run(101, finish_quickly, &m);
    cr_assert(r.load.valid);
    expect_near(r.load.window_s, 100, 1e-12, "window");
    expect_near(r.load.arrival_rate, 1.0, 1e-12, "arrival rate");
    expect_near(r.load.completion_rate, 1.0, 1e-12, "completion rate");
    cr_expect_eq(r.load.in_system_mid, 1);
    cr_expect_eq(r.load.in_system_end, 1);
    cr_expect_eq(r.load.arrivals_late, 50, "sends in (50, 100]");
    cr_expect_not(r.load.overloaded);
    sim_metrics_free(m);
    /* Overloaded: completions every 2 s at 2, 4, ..., so 50 finished by 100 s (0.5 req/s);
     * at 50 s: 51 sent, 25 finished → 26 in the system; at 100 s: 101 − 50 = 51. Growth 25 >
     * max(5 % of 50, 3·sqrt(50 + 26) = 26.2)? No: 25 < 26.2, too few requests to tell. */
    r = load_run(101, finish_at_half_rate, &m);
    expect_near(r.load.completion_rate, 0.5, 1e-12, "completion rate");
    cr_expect_eq(r.load.in_system_mid, 26);
    cr_expect_eq(r.load.in_system_end, 51);
    cr_expect_not(r.load.overloaded, "within noise at 101 requests");
    sim_metrics_free(m);
    /* 1001 arrivals over 1000 s: at 500 s 501 sent, 250 finished → 251; at 1000 s 1001 − 500
     * = 501. Growth 250 > max(25, 3·sqrt(500 + 251) = 82.2): overloaded. */
    r = load_run(1001, finish_at_half_rate, &m);
    expect_near(r.load.arrival_rate, 1.0, 1e-12, "arrival rate");
    expect_near(r.load.completion_rate, 0.5, 1e-12, "completion rate");
    cr_expect_eq(r.load.in_system_mid, 251);
    cr_expect_eq(r.load.in_system_end, 501);
    cr_expect(r.load.overloaded);
    sim_metrics_free(m);
}
