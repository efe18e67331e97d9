/* tests/schedulers/test_vllm.c: the vLLM V1 policy (docs/domain.md §1.3–1.4) on scenarios whose
 * outcome is worked out by hand in the comments. Block size 16 unless stated. */
#include "harness.h"

Test(vllm, running_first_then_waiting_gets_the_leftover_budget)
{
    harness h;
    sim_sched_params p = harness_params();
    p.max_num_batched_tokens = 64;
    harness_init(&h, "vllm", 1001, 16, &p);
    sim_request *x = harness_add(&h, 1, 10, 5, 0);
    harness_add(&h, 2, 10, 5, 0);
    sim_request *z = harness_add(&h, 3, 10, 5, 0);
    sim_request *w = harness_add(&h, 4, 200, 3, 0);
    /* step 1: X, Y, Z prefill 10 each (30), W gets 64 − 30 = 34 */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, x), 10);
    cr_expect_eq(planned_n(&h, z), 10);
    cr_expect_eq(planned_n(&h, w), 34);
    cr_expect_eq(h.rep.batch.tokens, 64.0);
    harness_finish_step(&h);
    cr_expect_eq(x->num_output, 1);
    cr_expect_eq(w->num_output, 0, "a partial chunk emits nothing");
    /* step 2: three decodes first (3), W continues in Phase A with 61 */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, x), 1);
    cr_expect_eq(planned_n(&h, w), 61);
    harness_finish_step(&h);
    /* step 3: 3 + 61 (W at 156); step 4: 3 + 44 reaches 200 and samples */
    harness_step(&h);
    cr_expect_eq(w->num_computed, 156);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, w), 44);
    cr_expect(w->planned_samples);
    harness_finish_step(&h);
    cr_expect_eq(w->num_output, 1);
    cr_expect_eq(w->first_token_ns, 4000000);
    /* X finishes after its 5th token at the end of step 5 */
    harness_step(&h);
    cr_expect_eq(h.finished, 3);
    harness_clear(&h);
}

Test(vllm, chunking_across_steps)
{
    harness h;
    sim_sched_params p = harness_params();
    p.max_num_batched_tokens = 100;
    harness_init(&h, "vllm", 1001, 16, &p);
    sim_request *r = harness_add(&h, 1, 250, 2, 0);
    uint32_t chunks[3];
    for (int i = 0; i < 3; i++) {
        harness_plan(&h);
        chunks[i] = planned_n(&h, r);
        harness_finish_step(&h);
    }
    cr_expect_eq(chunks[0], 100);
    cr_expect_eq(chunks[1], 100);
    cr_expect_eq(chunks[2], 50);
    cr_expect_eq(r->num_output, 1);
    cr_expect_eq(r->first_token_ns, 3000000);
    harness_clear(&h);
}

Test(vllm, head_of_line_request_that_does_not_fit_stops_admission)
{
    harness h;
    sim_sched_params p = harness_params();
    p.max_num_batched_tokens = 100;
    harness_init(&h, "vllm", 7, 16, &p); /* 6 usable blocks */
    sim_request *c = harness_add(&h, 1, 20, 50, 0);
    harness_step(&h);                              /* C holds ceil(20/16) = 2 blocks; 4 free */
    sim_request *a = harness_add(&h, 2, 80, 1, 0); /* needs 5 blocks: does not fit */
    sim_request *b = harness_add(&h, 3, 10, 1, 0); /* needs 1: would fit, but waits behind A */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, c), 1);
    cr_expect_eq(planned_n(&h, a), 0);
    cr_expect_eq(planned_n(&h, b), 0);
    cr_expect_eq(sim_waitq_peek(&h.rep.waiting), a);
    harness_finish_step(&h);
    harness_clear(&h);
}

Test(vllm, preemption_takes_the_newest_and_requeues_it_at_the_head)
{
    harness h;
    sim_sched_params p = harness_params();
    harness_init(&h, "vllm", 5, 16, &p); /* 4 usable blocks */
    sim_request *a = harness_add(&h, 1, 31, 10, 0);
    sim_request *b = harness_add(&h, 2, 31, 10, 0);
    harness_step(&h); /* both prefill 31 tokens: 2 blocks each, all 4 used; 1st token each */
    harness_step(&h); /* decode at position 31: slot 32 still in block 2 */
    cr_expect_eq(sim_kvpool_num_free(h.rep.kv), 0);
    sim_request *late = harness_add(&h, 3, 4, 1, 0);
    /* step 3: A computes position 32, needs a 3rd block: the newest running (B) is preempted,
     * its blocks freed; A gets one; B goes to the head of waiting (before `late`); nothing is
     * admitted in a step that preempted. */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, a), 1);
    cr_expect_eq(b->state, SIM_REQ_PREEMPTED);
    cr_expect_eq(b->num_computed, 0);
    cr_expect_eq(b->preemptions, 1);
    cr_expect_eq(b->num_output, 2, "generated tokens are kept");
    cr_expect_eq(sim_waitq_peek(&h.rep.waiting), b);
    cr_expect_eq(h.rep.step_preempted, 1);
    cr_expect_eq(h.rep.step_admitted, 0);
    cr_expect_eq(planned_n(&h, late), 0);
    cr_expect_eq(h.rep.nrunning, 1);
    harness_finish_step(&h);
    /* step 4: B (head) needs ceil(33/16) = 3 blocks; 1 free (+1 evictable hit) → does not
     * fit; `late` waits behind it (head-of-line) */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, b), 0);
    cr_expect_eq(planned_n(&h, late), 0);
    harness_finish_step(&h);
    /* run to completion: everything finishes exactly once */
    for (int i = 0; i < 200 && h.finished < 3; i++)
        harness_step(&h);
    cr_expect_eq(h.finished, 3);
    cr_expect_eq(sim_kvpool_num_used(h.rep.kv), 0);
    harness_clear(&h);
}

Test(vllm, prefix_hit_is_capped_and_recorded)
{
    harness h;
    sim_sched_params p = harness_params();
    harness_init(&h, "vllm", 101, 16, &p);
    harness_add(&h, 1, 32, 1, 77);
    harness_step(&h); /* finishes; its 2 full blocks stay cached */
    cr_expect_eq(h.finished, 1);
    sim_request *r = harness_add(&h, 2, 32, 1, 77);
    /* identical 32-token prompt: hit capped at (32 − 1)/16 = 1 block; 16 tokens recomputed */
    harness_plan(&h);
    cr_expect_eq(r->prefix_hit_tokens, 16);
    cr_expect_eq(planned_n(&h, r), 16);
    cr_expect_eq(r->planned_ctx, 16);
    harness_finish_step(&h);
    cr_expect_eq(h.finished, 2);
    sim_kvpool_stats st = sim_kvpool_get_stats(h.rep.kv);
    cr_expect_eq(st.queries, 64);
    cr_expect_eq(st.hits, 16);
    harness_clear(&h);
}

Test(vllm, max_num_seqs_and_long_prefill_threshold)
{
    harness h;
    sim_sched_params p = harness_params();
    p.max_num_seqs = 2;
    p.long_prefill_token_threshold = 20;
    harness_init(&h, "vllm", 101, 16, &p);
    sim_request *a = harness_add(&h, 1, 50, 3, 0);
    sim_request *b = harness_add(&h, 2, 5, 3, 0);
    sim_request *c = harness_add(&h, 3, 5, 3, 0);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, a), 20, "capped by long_prefill_token_threshold");
    cr_expect_eq(planned_n(&h, b), 5);
    cr_expect_eq(planned_n(&h, c), 0, "max_num_seqs = 2");
    harness_finish_step(&h);
    harness_clear(&h);
}

Test(vllm, without_chunked_prefill_an_oversized_prompt_blocks_the_queue)
{
    harness h;
    sim_sched_params p = harness_params();
    p.chunked_prefill = false;
    p.max_num_batched_tokens = 64;
    harness_init(&h, "vllm", 101, 16, &p);
    sim_request *s = harness_add(&h, 1, 40, 3, 0);
    sim_request *big = harness_add(&h, 2, 30, 3, 0);
    /* S takes 40; BIG's whole 30-token prompt does not fit the remaining 24: stop */
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, s), 40);
    cr_expect_eq(planned_n(&h, big), 0);
    harness_finish_step(&h);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, big), 30, "next step: 1 decode + 30 fits in 64");
    harness_finish_step(&h);
    harness_clear(&h);
}

Test(vllm, priority_policy_serves_and_preempts_by_priority)
{
    harness h;
    sim_sched_params p = harness_params();
    p.priority = true;
    p.max_num_seqs = 1;
    harness_init(&h, "vllm", 101, 16, &p);
    wl_segment s1 = {1, 8}, s2 = {2, 8};
    wl_request w1 = {.id = 1,
                     .prompt_tokens = 8,
                     .output_tokens = 1,
                     .priority = 5,
                     .nsegments = 1,
                     .segments = &s1};
    wl_request w2 = {.id = 2,
                     .prompt_tokens = 8,
                     .output_tokens = 1,
                     .priority = 0,
                     .arrival_ns = 10,
                     .nsegments = 1,
                     .segments = &s2};
    sim_request *low = sim_request_pool_take(h.pool, &w1);
    sim_request *high = sim_request_pool_take(h.pool, &w2);
    sim_replica_enqueue(&h.rep, low);
    sim_replica_enqueue(&h.rep, high);
    harness_plan(&h);
    cr_expect_eq(planned_n(&h, high), 8, "lower value = more urgent, despite arriving later");
    cr_expect_eq(planned_n(&h, low), 0);
    harness_finish_step(&h);
    harness_step(&h);
    cr_expect_eq(h.finished, 2);
    harness_clear(&h);
}
