/* tests/sim/test_evq.c: ordering by (time, phase, seq), FIFO among equal keys, cancel, and one
 * million random operations checked against a reference (a sorted array). */
#include <stdlib.h>

#include <criterion/criterion.h>

#include "base/rng.h"
#include "sim/evq.h"

TestSuite(evq, .timeout = 120);

Test(evq, pops_in_time_order)
{
    sim_evq *q = sim_evq_new(0);
    int64_t t[] = {50, 10, 40, 20, 30, 0, 60};
    for (int i = 0; i < 7; i++)
        sim_evq_push(q, t[i], 0, 0, 0, (uint64_t)i);
    sim_event e;
    int64_t last = -1;
    int n = 0;
    while (sim_evq_pop(q, &e)) {
        cr_assert_geq(e.time_ns, last);
        last = e.time_ns;
        n++;
    }
    cr_expect_eq(n, 7);
    cr_expect(sim__evq_check(q));
    sim_evq_free(q);
}

Test(evq, equal_times_pop_in_schedule_order)
{
    sim_evq *q = sim_evq_new(4);
    for (uint64_t i = 0; i < 1000; i++)
        sim_evq_push(q, 5, 0, 0, 0, i);
    sim_event e;
    for (uint64_t i = 0; i < 1000; i++) {
        cr_assert(sim_evq_pop(q, &e));
        cr_assert_eq(e.b, i);
    }
    sim_evq_free(q);
}

Test(evq, late_phase_runs_after_everything_of_its_instant)
{
    sim_evq *q = sim_evq_new(4);
    sim_evq_push(q, 10, 1, 0, 0, 100); /* late, pushed first */
    sim_evq_push(q, 10, 0, 0, 0, 1);
    sim_evq_push(q, 9, 1, 0, 0, 0);
    sim_evq_push(q, 10, 0, 0, 0, 2);
    uint64_t order[4];
    sim_event e;
    for (int i = 0; i < 4; i++) {
        sim_evq_pop(q, &e);
        order[i] = e.b;
    }
    cr_expect_eq(order[0], 0);
    cr_expect_eq(order[1], 1);
    cr_expect_eq(order[2], 2);
    cr_expect_eq(order[3], 100);
    sim_evq_free(q);
}

Test(evq, cancel_marks_and_pop_skips)
{
    sim_evq *q = sim_evq_new(4);
    uint64_t h[5];
    for (int i = 0; i < 5; i++)
        h[i] = sim_evq_push(q, i, 0, 0, 0, (uint64_t)i);
    cr_expect(sim_evq_cancel(q, h[0]));
    cr_expect(sim_evq_cancel(q, h[3]));
    cr_expect(!sim_evq_cancel(q, h[3]), "double cancel is reported");
    cr_expect_eq(sim_evq_size(q), 3);
    cr_expect(sim__evq_check(q));
    const sim_event *p = sim_evq_peek(q);
    cr_assert_not_null(p);
    cr_expect_eq(p->b, 1);
    sim_event e;
    uint64_t got[3];
    for (int i = 0; i < 3; i++) {
        cr_assert(sim_evq_pop(q, &e));
        got[i] = e.b;
    }
    cr_expect(!sim_evq_pop(q, &e));
    cr_expect_eq(got[0], 1);
    cr_expect_eq(got[1], 2);
    cr_expect_eq(got[2], 4);
    sim_evq_stats s = sim_evq_get_stats(q);
    cr_expect_eq(s.pushed, 5);
    cr_expect_eq(s.popped, 3);
    cr_expect_eq(s.cancelled, 2);
    sim_evq_free(q);
}

/* Handles 1024 apart share a bucket of the queue's cancel filter: cancelling one must not hide
 * the other, and a bucket that empties must not hide a later cancel. */
Test(evq, cancel_of_colliding_handles)
{
    enum { N = 3 * 1024 + 2 };

    sim_evq *q = sim_evq_new(16);
    for (int i = 0; i < N; i++)
        cr_assert_eq(sim_evq_push(q, i, 0, 0, 0, (uint64_t)i), (uint64_t)i);
    cr_expect(sim_evq_cancel(q, 1));
    cr_expect(sim_evq_cancel(q, 2 * 1024 + 1));
    sim_event e;
    uint32_t n = 0;
    bool seen_1025 = false;
    while (sim_evq_pop(q, &e)) {
        cr_expect(e.b != 1 && e.b != 2 * 1024 + 1, "cancelled event %" G_GUINT64_FORMAT " popped",
                  e.b);
        seen_1025 |= e.b == 1024 + 1;
        n++;
        if (e.b == 2 * 1024 + 2) /* bucket 1 is empty again: both its cancels were skipped */
            cr_expect(sim_evq_cancel(q, 3 * 1024 + 1));
    }
    cr_expect(seen_1025, "the uncancelled event sharing a bucket is delivered");
    cr_expect_eq(n, N - 3);
    sim_evq_free(q);
}

/* Reference: an unsorted array of live (time, seq, payload) triples; pop = linear min scan.
 * O(n) per pop keeps it obviously correct; sizes stay in the low thousands. */
typedef struct {
    int64_t t;
    uint64_t seq;
    uint64_t payload;
} ref_item;

Test(evq, one_million_random_operations_match_reference)
{
    sim_rng r;
    sim_rng_init(&r, 2024, SIM_STREAM_TEST);
    sim_evq *q = sim_evq_new(16);
    size_t cap = 1 << 16, n = 0;
    ref_item *ref = malloc(cap * sizeof *ref);
    int64_t now = 0;
    uint64_t payload = 0;
    for (int op = 0; op < 1000000; op++) {
        uint64_t dice = sim_rng_below(&r, 100);
        if (dice < 50 || n == 0) {
            /* push: times often collide to exercise FIFO ties */
            int64_t t = now + (int64_t)sim_rng_below(&r, 64);
            uint64_t seq = sim_evq_push(q, t, 0, 0, 0, payload);
            cr_assert_lt(n, cap);
            ref[n++] = (ref_item){t, seq, payload++};
        } else if (dice < 92) {
            size_t best = 0;
            for (size_t i = 1; i < n; i++)
                if (ref[i].t < ref[best].t ||
                    (ref[i].t == ref[best].t && ref[i].seq < ref[best].seq))
                    best = i;
            sim_event e;
            cr_assert(sim_evq_pop(q, &e));
            if (e.b != ref[best].payload || e.time_ns != ref[best].t)
                cr_assert_fail("op %d: popped (%lld,%llu) expected (%lld,%llu)", op,
                               (long long)e.time_ns, (unsigned long long)e.b,
                               (long long)ref[best].t, (unsigned long long)ref[best].payload);
            now = e.time_ns;
            ref[best] = ref[--n];
        } else {
            /* cancel a random live event */
            size_t k = (size_t)sim_rng_below(&r, n);
            cr_assert(sim_evq_cancel(q, ref[k].seq));
            ref[k] = ref[--n];
        }
        if (op % 100000 == 0)
            cr_assert(sim__evq_check(q));
        cr_assert_eq(sim_evq_size(q), n);
    }
    sim_event e;
    while (n > 0) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (ref[i].t < ref[best].t || (ref[i].t == ref[best].t && ref[i].seq < ref[best].seq))
                best = i;
        cr_assert(sim_evq_pop(q, &e));
        cr_assert_eq(e.b, ref[best].payload);
        ref[best] = ref[--n];
    }
    cr_expect(!sim_evq_pop(q, &e));
    cr_expect(sim__evq_check(q));
    free(ref);
    sim_evq_free(q);
}
