/* tests/sim/test_engine.c: dispatch by kind, horizon and max-events limits, observers in
 * subscription order, accounting invariant, and determinism across threads. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/rng.h"
#include "sim/engine.h"

typedef struct {
    GString *log;
    sim_rng rng;
    int remaining;
} world;

/* A toy model: each USER0 event logs itself and schedules 0–2 successors at random delays;
 * USER1 events cancel a pending one sometimes. Its log is a fingerprint of the run. */
static void
on_user0(sim_engine *e, const sim_event *ev, void *ctx)
{
    world *w = ctx;
    g_string_append_printf(w->log, "%" G_GINT64_FORMAT ":%u:%" G_GUINT64_FORMAT ";", ev->time_ns,
                           ev->a, ev->b);
    if (w->remaining <= 0)
        return;
    int k = (int)sim_rng_below(&w->rng, 3);
    for (int i = 0; i < k && w->remaining > 0; i++, w->remaining--) {
        uint64_t h = sim_engine_after_s(e, sim_rng_exponential(&w->rng, 1000.0), 0, SIM_EV_USER0,
                                        ev->a + 1, (uint64_t)w->remaining);
        if (sim_rng_below(&w->rng, 10) == 0)
            sim_engine_cancel(e, h);
    }
}

static char *
run_world(uint64_t seed)
{
    world w = {g_string_new(NULL), {{0}, 0, false}, 20000};
    sim_rng_init(&w.rng, seed, SIM_STREAM_TEST);
    sim_engine *e = sim_engine_new();
    sim_engine_on(e, SIM_EV_USER0, on_user0, &w);
    for (int i = 0; i < 50; i++)
        sim_engine_at(e, i * 1000, 0, SIM_EV_USER0, 0, (uint64_t)i);
    sim_engine_run(e, SIM_TIME_MAX, 0);
    sim_engine_stats s = sim_engine_get_stats(e);
    cr_assert_eq(s.scheduled, s.run + s.cancelled + s.pending);
    cr_assert_eq(s.pending, 0);
    sim_engine_free(e);
    return g_string_free(w.log, FALSE);
}

Test(engine, dispatches_by_kind_and_clock_advances)
{
    g_autofree char *log = run_world(1);
    cr_expect_gt(strlen(log), 1000);
}

static gpointer
thread_run(gpointer data)
{
    return run_world((uint64_t)(uintptr_t)data);
}

Test(engine, two_engines_in_two_threads_match_sequential_runs)
{
    g_autofree char *a = run_world(7);
    g_autofree char *b = run_world(8);
    GThread *t1 = g_thread_new("a", thread_run, (gpointer)(uintptr_t)7);
    GThread *t2 = g_thread_new("b", thread_run, (gpointer)(uintptr_t)8);
    g_autofree char *ta = g_thread_join(t1);
    g_autofree char *tb = g_thread_join(t2);
    cr_expect_str_eq(a, ta);
    cr_expect_str_eq(b, tb);
    cr_expect_str_neq(a, b);
}

static void
count(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)e;
    (void)ev;
    (*(int *)ctx)++;
}

Test(engine, horizon_and_max_events_limits)
{
    sim_engine *e = sim_engine_new();
    int n = 0;
    sim_engine_on(e, SIM_EV_USER0, count, &n);
    for (int i = 0; i < 10; i++)
        sim_engine_at(e, i * 100, 0, SIM_EV_USER0, 0, 0);
    cr_expect_eq(sim_engine_run(e, 450, 0), SIM_RUN_HORIZON);
    cr_expect_eq(n, 5);
    cr_expect_eq(sim_engine_now(e), 400);
    cr_expect_eq(sim_engine_run(e, SIM_TIME_MAX, 2), SIM_RUN_MAX_EVENTS);
    cr_expect_eq(n, 7);
    cr_expect_eq(sim_engine_run(e, SIM_TIME_MAX, 0), SIM_RUN_EMPTY);
    cr_expect_eq(n, 10);
    sim_engine_stats s = sim_engine_get_stats(e);
    cr_expect_eq(s.scheduled, 10);
    cr_expect_eq(s.run, 10);
    sim_engine_free(e);
}

static void
stopper(sim_engine *e, const sim_event *ev, void *ctx)
{
    (void)ctx;
    if (ev->b == 3)
        sim_engine_stop(e);
}

Test(engine, stop_from_handler)
{
    sim_engine *e = sim_engine_new();
    sim_engine_on(e, SIM_EV_USER1, stopper, NULL);
    for (int i = 0; i < 10; i++)
        sim_engine_at(e, i, 0, SIM_EV_USER1, 0, (uint64_t)i);
    cr_expect_eq(sim_engine_run(e, SIM_TIME_MAX, 0), SIM_RUN_STOPPED);
    cr_expect_eq(sim_engine_now(e), 3);
    sim_engine_stats s = sim_engine_get_stats(e);
    cr_expect_eq(s.pending, 6);
    cr_expect_eq(s.scheduled, s.run + s.cancelled + s.pending);
    sim_engine_free(e);
}

static void
obs(void *ctx, uint32_t topic, const void *payload)
{
    const sim_event *ev = payload;
    g_string_append_printf(ctx, "%c%u%" G_GINT64_FORMAT, topic == SIM_TOPIC_EVENT ? 'E' : '?',
                           ev->kind, ev->time_ns);
}

static void
obs2(void *ctx, uint32_t topic, const void *payload)
{
    (void)topic;
    (void)payload;
    g_string_append_c(ctx, '|');
}

Test(engine, observers_called_in_subscription_order)
{
    sim_engine *e = sim_engine_new();
    GString *log = g_string_new(NULL);
    sim_engine_subscribe(e, SIM_TOPIC_EVENT, obs, log);
    sim_engine_subscribe(e, SIM_TOPIC_EVENT, obs2, log);
    cr_expect(sim_engine_has_observers(e, SIM_TOPIC_EVENT));
    cr_expect(!sim_engine_has_observers(e, SIM_TOPIC_STEP_END));
    sim_engine_at(e, 5, 0, SIM_EV_USER0, 0, 0);
    sim_engine_at(e, 7, 0, SIM_EV_USER1, 0, 0);
    sim_engine_run(e, SIM_TIME_MAX, 0);
    cr_expect_str_eq(log->str, "E75|E87|");
    g_string_free(log, TRUE);
    sim_engine_free(e);
}

Test(engine, sole_observer_only_when_exactly_one_listens)
{
    sim_engine *e = sim_engine_new();
    GString *log = g_string_new(NULL);
    sim_observer_fn fn = NULL;
    void *ctx = NULL;
    cr_expect(!sim_engine_sole_observer(e, SIM_TOPIC_TOKEN, &fn, &ctx), "nobody listens");
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, obs2, log);
    cr_assert(sim_engine_sole_observer(e, SIM_TOPIC_TOKEN, &fn, &ctx));
    cr_expect(fn == obs2 && ctx == log);
    fn(ctx, SIM_TOPIC_TOKEN, NULL);
    cr_expect_str_eq(log->str, "|", "the returned pair is the subscribed observer");
    cr_expect(!sim_engine_sole_observer(e, SIM_TOPIC_STEP_END, &fn, &ctx), "another topic");
    sim_engine_subscribe(e, SIM_TOPIC_TOKEN, obs2, log);
    cr_expect(!sim_engine_sole_observer(e, SIM_TOPIC_TOKEN, &fn, &ctx),
              "two observers: publish calls both");
    cr_expect(!sim_engine_sole_observer(e, SIM_NTOPICS, &fn, &ctx), "out-of-range topic");
    g_string_free(log, TRUE);
    sim_engine_free(e);
}
