/* tests/sweep/test_findmax.c: the SLA-limit search against oracles whose answer is known
 * without the code under test: a step function (the threshold is given), and whole
 * simulations with a fixed step time τ where the saturation rate is B/(n·τ): with at most B
 * running requests, each request holds a slot for exactly n steps (its prefill step emits the
 * first token, then n − 1 decode steps), so the replica completes B requests every n·τ. Below
 * that rate evenly spaced arrivals wait at most a step or two; above it the queue (and TTFT)
 * grows without bound, so a TTFT bound of 10τ flips right at saturation. */
#include <math.h>

#include <criterion/criterion.h>

#include "schedulers/schedulers.h"
#include "sim/cluster.h"
#include "sim/metrics.h"
#include "sweep/findmax.h"
#include "sweep/slo.h"

typedef struct {
    double threshold; /* loads ≤ threshold pass */
    unsigned calls;
    double loads[512];
    double saturate_at; /* > 0: answer 2 (passes, saturated) at loads ≥ this */
} step_oracle;

static int
step_probe(void *ctx, double load, GError **error)
{
    (void)error;
    step_oracle *o = ctx;
    if (o->calls < G_N_ELEMENTS(o->loads))
        o->loads[o->calls] = load;
    o->calls++;
    if (o->saturate_at > 0 && load >= o->saturate_at && load <= o->threshold)
        return 2;
    return load <= o->threshold ? 1 : 0;
}

static const sw_findmax_params rate_params = {
    .start = 1, .min = 0.01, .max = 1e5, .growth = 2, .rel_tol = 0.01, .integer = false};

Test(findmax, brackets_then_bisects_to_the_tolerance)
{
    step_oracle o = {.threshold = 37.3};
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&rate_params, step_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_FOUND);
    cr_expect_leq(r.lo, 37.3);
    cr_expect_gt(r.hi, 37.3);
    cr_expect_leq(r.hi, r.lo * 1.01 * (1 + 1e-12));
    /* doubling 1, 2, 4, 8, 16, 32, 64 (7 probes), then geometric bisection of a factor 2 down
     * to 1 %: k halvings of log2(hi/lo) with 2^(1/2^k) ≤ 1.01, k = ceil(log2(ln 2 / ln 1.01))
     * = ceil(log2(69.66)) = 7 more */
    cr_expect_eq(o.loads[6], 64.0);
    cr_expect_eq(r.probes, 14, "probes %u", r.probes);
    cr_expect_eq(r.probes, o.calls);
}

Test(findmax, a_failing_start_is_halved_until_it_passes)
{
    step_oracle o = {.threshold = 0.3};
    sw_findmax_params p = rate_params;
    p.start = 10;
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&p, step_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_FOUND);
    cr_expect_eq(o.loads[1], 5.0);
    cr_expect_leq(r.lo, 0.3);
    cr_expect_gt(r.hi, 0.3);
    cr_expect_leq(r.hi, r.lo * 1.01 * (1 + 1e-12));
}

Test(findmax, failing_at_the_minimum_is_reported_as_none)
{
    step_oracle o = {.threshold = 0.001};
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&rate_params, step_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_NONE);
    cr_expect_eq(r.lo, 0.0);
    cr_expect_eq(r.hi, 0.01);
}

Test(findmax, passing_at_the_maximum_is_reported_as_not_reached)
{
    step_oracle o = {.threshold = 1e9};
    sw_findmax_params p = rate_params;
    p.max = 100;
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&p, step_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_NOT_REACHED);
    cr_expect_eq(r.lo, 100.0);
    cr_expect(isnan(r.hi));
    cr_expect_eq(r.probes, 8); /* 1 2 4 8 16 32 64 100 */
}

Test(findmax, a_saturated_probe_stops_the_bracketing)
{
    step_oracle o = {.threshold = 1e9, .saturate_at = 16};
    sw_findmax_params p = rate_params;
    p.integer = true;
    p.min = 1;
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&p, step_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_NOT_REACHED);
    cr_expect_eq(r.lo, 16.0);
    cr_expect_eq(r.probes, 5);
}

Test(findmax, integer_loads_end_on_adjacent_values)
{
    for (int thr = 1; thr <= 300; thr += 7) {
        step_oracle o = {.threshold = thr};
        sw_findmax_params p = {
            .start = 1, .min = 1, .max = 1e6, .growth = 2, .rel_tol = 1e-4, .integer = true};
        sw_findmax_result r;
        cr_assert(sw_findmax_run(&p, step_probe, &o, &r, NULL));
        cr_expect_eq(r.lo, (double)thr, "threshold %d: lo %g", thr, r.lo);
        cr_expect_eq(r.hi, (double)thr + 1, "threshold %d: hi %g", thr, r.hi);
        for (unsigned i = 0; i < o.calls && i < G_N_ELEMENTS(o.loads); i++)
            cr_expect_eq(o.loads[i], floor(o.loads[i]), "non-integer load probed");
    }
}

Test(findmax, the_probe_sequence_is_deterministic)
{
    step_oracle a = {.threshold = 12.345}, b = {.threshold = 12.345};
    sw_findmax_result ra, rb;
    cr_assert(sw_findmax_run(&rate_params, step_probe, &a, &ra, NULL));
    cr_assert(sw_findmax_run(&rate_params, step_probe, &b, &rb, NULL));
    cr_assert_eq(a.calls, b.calls);
    for (unsigned i = 0; i < a.calls; i++)
        cr_expect_eq(a.loads[i], b.loads[i]);
}

static int
failing_probe(void *ctx, double load, GError **error)
{
    (void)ctx;
    if (load > 3) {
        g_set_error(error, g_quark_from_static_string("test"), 1, "probe failed at %g", load);
        return -1;
    }
    return 1;
}

Test(findmax, a_probe_error_stops_the_search)
{
    sw_findmax_result r;
    GError *err = NULL;
    cr_assert_not(sw_findmax_run(&rate_params, failing_probe, NULL, &r, &err));
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "probe failed at 4");
    cr_expect_eq(r.probes, 3);
    g_error_free(err);
}

/* ---- whole simulations with fixed step times ------------------------------------------- */

typedef struct {
    double tau_s;  /* every step takes this long */
    uint32_t seqs; /* max_num_seqs B */
    uint32_t out;  /* output tokens n */
    size_t n;      /* requests */
    sw_slo slo;
    unsigned calls;
} des_oracle;

static int
des_probe(void *ctx, double rate, GError **error)
{
    des_oracle *o = ctx;
    o->calls++;
    wl_request *w = g_new0(wl_request, o->n);
    for (size_t i = 0; i < o->n; i++)
        w[i] = (wl_request){.id = i,
                            .arrival_ns = llround((double)i * 1e9 / rate),
                            .prompt_tokens = 16,
                            .output_tokens = o->out};
    sim_engine *e = sim_engine_new();
    sim_metrics_params mp = {0};
    sim_metrics *m = sim_metrics_new(&mp, error);
    cr_assert_not_null(m);
    sim_metrics_subscribe(m, e);
    tm_linear_coeffs lin = {.fixed_s = o->tau_s};
    tm_timemodel *tm = tm_linear_new(&lin);
    sim_cluster_params p = {.sched = {.max_num_seqs = o->seqs,
                                      .max_num_batched_tokens = 4096,
                                      .max_model_len = 8192,
                                      .chunked_prefill = true},
                            .scheduler = &sched_vllm,
                            .router = &sched_round_robin,
                            .nreplicas = 1,
                            .num_blocks = 4097,
                            .block_size = 16,
                            .prefix_caching = true,
                            .tm = tm,
                            .seed = 1,
                            .overlap_weight = 1.0};
    sim_array_source arr = {w, o->n, 0};
    sim_source src = sim_source_array(&arr);
    sim_cluster *c = sim_cluster_new(e, &p, &src, error);
    cr_assert_not_null(c);
    cr_assert(sim_cluster_run(c, SIM_TIME_MAX, error));
    cr_assert(sim_metrics_finish(m, sim_engine_now(e), error));
    sw_metrics sm;
    sw_metrics_from_result(&sm, sim_metrics_get_result(m), NAN, NAN);
    bool ok = sw_slo_check(&o->slo, &sm, NULL);
    sim_cluster_free(c);
    sim_metrics_free(m);
    tm_timemodel_free(tm);
    sim_engine_free(e);
    g_free(w);
    return ok ? 1 : 0;
}

Test(findmax, the_limit_of_a_fixed_step_time_replica_is_its_saturation_rate, .timeout = 120)
{
    /* B = 4 slots, n = 10 steps each, τ = 10 ms: saturation at 4 / (10 · 0.01 s) = 40 req/s */
    des_oracle o = {.tau_s = 0.010, .seqs = 4, .out = 10, .n = 3000};
    const char *slo[] = {"ttft_p99:100", NULL};
    cr_assert(sw_slo_parse(slo, &o.slo, NULL));
    sw_findmax_params p = rate_params;
    p.rel_tol = 0.002;
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&p, des_probe, &o, &r, NULL));
    cr_expect_eq(r.status, SW_FINDMAX_FOUND);
    cr_expect(fabs(r.lo - 40.0) <= 0.4, "limit %g req/s, expected 40 within 1 %%", r.lo);
    cr_expect_leq(r.hi, r.lo * 1.002 * (1 + 1e-12));

    /* B = 8, n = 5, τ = 4 ms: 8 / 0.020 s = 400 req/s */
    des_oracle o2 = {.tau_s = 0.004, .seqs = 8, .out = 5, .n = 6000};
    const char *slo2[] = {"ttft_p99:40", NULL};
    cr_assert(sw_slo_parse(slo2, &o2.slo, NULL));
    cr_assert(sw_findmax_run(&p, des_probe, &o2, &r, NULL));
    cr_expect(fabs(r.lo - 400.0) <= 4.0, "limit %g req/s, expected 400 within 1 %%", r.lo);
}

Test(findmax, a_bracket_of_a_power_of_the_tolerance_bisects_without_waste)
{
    /* growth (1.05)^4: from [x, 1.2155 x] two geometric bisections reach exactly 1.05 */
    step_oracle o = {.threshold = 11.0};
    sw_findmax_params p = rate_params;
    p.start = 10;
    p.rel_tol = 0.05;
    p.growth = 1.05 * 1.05 * 1.05 * 1.05;
    sw_findmax_result r;
    cr_assert(sw_findmax_run(&p, step_probe, &o, &r, NULL));
    cr_expect_eq(r.probes, 4, "start, one step up, two bisections: %u", r.probes);
    cr_expect_leq(r.lo, 11.0);
    cr_expect_gt(r.hi, 11.0);
    cr_expect_leq(r.hi / r.lo, 1.05 * (1 + 1e-12));
}
