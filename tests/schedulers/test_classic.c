/* tests/schedulers/test_classic.c: orca (KV reserved for the whole request at admission, no
 * preemption), static batching (no joins until the batch drains), sarathi (decodes first,
 * chunk-size budget). Block size 16. */
#include "harness.h"

Test(orca, reserves_kv_for_the_whole_request_at_admission)
{
    harness h;
    sim_sched_params p = harness_params();
    harness_init(&h, "orca", 8, 16, &p); /* 7 usable blocks */
    /* lifetimes: A 20+20−1 = 39 slots → 3 blocks; B 20+40−1 = 59 → 4; C 10+10−1 = 19 → 2 */
    sim_request *a = harness_add(&h, 1, 20, 20, 0);
    sim_request *b = harness_add(&h, 2, 20, 40, 0);
    sim_request *c = harness_add(&h, 3, 10, 10, 0);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, a), 20);
    cr_expect_eq(planned_n(&h, b), 20);
    cr_expect_eq(planned_n(&h, c), 0, "vLLM would admit C (1 block now); orca cannot reserve");
    cr_expect_eq(sim_kvpool_num_used(h.rep.kv), 7);
    harness_finish_step(&h);
    uint32_t steps = 1;
    while (h.finished == 0) {
        harness_step(&h);
        steps++;
        cr_assert_eq(h.rep.step_preempted, 0);
    }
    cr_expect_eq(steps, 20, "A's 20 tokens: prefill step + 19 decode steps");
    cr_expect_eq(a->state, SIM_REQ_FINISHED);
    /* A's 3 blocks are back: C (2 blocks) is admitted next step */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, c), 10);
    harness_finish_step(&h);
    for (int i = 0; i < 100 && h.finished < 3; i++)
        harness_step(&h);
    cr_expect_eq(h.finished, 3);
    harness_clear(&h);
}

Test(static_batching, no_request_joins_a_running_batch)
{
    harness h;
    sim_sched_params p = harness_params();
    p.batch_size = 2;
    harness_init(&h, "static", 101, 16, &p);
    harness_add(&h, 1, 10, 2, 0); /* done after 2 steps */
    harness_add(&h, 2, 10, 6, 0); /* done after 6 steps */
    sim_request *c = harness_add(&h, 3, 10, 1, 0);
    harness_step(&h);
    harness_step(&h);
    cr_expect_eq(h.finished, 1);
    for (int i = 0; i < 4; i++) {
        harness_plan(&h);
        cr_expect_eq(planned_n(&h, c), 0, "C waits for the whole batch to drain");
        harness_finish_step(&h);
    }
    cr_expect_eq(h.finished, 2);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, c), 10);
    harness_finish_step(&h);
    cr_expect_eq(h.finished, 3);
    harness_clear(&h);
}

Test(sarathi, decodes_first_within_the_chunk_budget)
{
    harness h;
    sim_sched_params p = harness_params();
    p.chunk_size = 32;
    harness_init(&h, "sarathi", 101, 16, &p);
    sim_request *p1 = harness_add(&h, 1, 40, 5, 0);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, p1), 32, "budget = chunk size");
    harness_finish_step(&h);
    sim_request *d1 = harness_add(&h, 2, 5, 5, 0);
    sim_request *p2 = harness_add(&h, 3, 100, 5, 0);
    /* step 2: P1's last 8, then new D1 (5) and P2 (19) fill the 32 */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, p1), 8);
    cr_expect_eq(planned_n(&h, d1), 5);
    cr_expect_eq(planned_n(&h, p2), 19);
    harness_finish_step(&h);
    /* step 3: decodes P1 and D1 first (1 each), then P2's chunk gets the remaining 30 */
    harness_plan(&h);
    cr_expect_eq(h.rep.plan->items[0].req, p1);
    cr_expect_eq(h.rep.plan->items[1].req, d1);
    cr_expect_eq(planned_n(&h, p2), 30);
    harness_finish_step(&h);
    for (int i = 0; i < 100 && h.finished < 3; i++)
        harness_step(&h);
    cr_expect_eq(h.finished, 3);
    harness_clear(&h);
}
