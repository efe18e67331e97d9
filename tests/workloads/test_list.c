/* tests/workloads/test_list.c: requests held in memory (wl_list) through the workload
 * pipeline: recorded arrival times kept (and rescaled by --rate like a trace), untimed lists
 * timed by the arrival process, given segments kept (so shared prefixes stay shared), private
 * content otherwise, and the rules wl_list_add enforces. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/opts.h"
#include "workloads/workload.h"

TestSuite(list, .timeout = 60);

/* Workload options from flags (defaults otherwise). */
static void
options(wl_options *o, char **argv)
{
    const base_opt_set set = {&wl_options_table, 1};
    memset(o, 0, sizeof *o);
    base_opts_defaults(&set, o);
    int argc = 0;
    while (argv != NULL && argv[argc] != NULL)
        argc++;
    GError *e = NULL;
    cr_assert(base_opts_parse_args(&set, o, argc, argv, NULL, &e), "%s", e ? e->message : "");
}

static void
options_clear(wl_options *o)
{
    const base_opt_set set = {&wl_options_table, 1};
    base_opts_clear(&set, o);
}

Test(list, recorded_times_and_content_are_kept)
{
    g_autoptr(wl_list) l = wl_list_new("measured");
    const wl_segment shared[2] = {{42, 16}, {43, 4}};
    const wl_list_request r[3] = {
        {.arrival_ns = 0,
         .prompt_tokens = 20,
         .output_tokens = 5,
         .nsegments = 2,
         .segments = shared},
        {.arrival_ns = 500000000,
         .prompt_tokens = 20,
         .output_tokens = 7,
         .nsegments = 2,
         .segments = shared},
        {.arrival_ns = 2000000000, .prompt_tokens = 9, .output_tokens = 1},
    };
    GError *e = NULL;
    for (int i = 0; i < 3; i++)
        cr_assert(wl_list_add(l, &r[i], &e), "%s", e ? e->message : "");
    cr_expect(wl_list_timed(l));
    cr_expect_eq(wl_list_len(l), 3);
    wl_options o;
    options(&o, NULL);
    wl_open_params p = {1, 0};
    g_autoptr(wl_source) s = wl_open_list(l, &o, &p, &e);
    cr_assert_not_null(s, "%s", e ? e->message : "");
    cr_expect_str_eq(wl_source_get_info(s)->name, "measured");
    wl_request q;
    cr_assert_eq(wl_source_next(s, &q, &e), 1);
    cr_expect_eq(q.id, 0);
    cr_expect_eq(q.nsegments, 2);
    cr_expect_eq(q.segments[0].content_id, 42);
    uint64_t out0 = q.output_content_id;
    cr_assert_eq(wl_source_next(s, &q, &e), 1);
    cr_expect_eq(q.arrival_ns, 500000000);
    cr_expect_eq(q.output_tokens, 7);
    cr_expect_eq(q.segments[1].content_id, 43, "the same prefix: the cache can share it");
    cr_expect_neq(q.output_content_id, out0, "outputs are private");
    cr_assert_eq(wl_source_next(s, &q, &e), 1);
    cr_expect_eq(q.nsegments, 1);
    cr_expect(q.segments[0].content_id & WL_CONTENT_PRIVATE, "no content given: private");
    cr_expect_eq(wl_source_next(s, &q, &e), 0);
    options_clear(&o);
}

Test(list, recorded_times_rescale_with_rate)
{
    g_autoptr(wl_list) l = wl_list_new("x");
    GError *e = NULL;
    for (int i = 0; i < 5; i++) {
        wl_list_request r = {
            .arrival_ns = (int64_t)i * 1000000000, .prompt_tokens = 10, .output_tokens = 2};
        cr_assert(wl_list_add(l, &r, &e));
    }
    /* 4 gaps over 4 s = 1 req/s; --rate 2 halves every time */
    char *argv[] = {"--rate", "2", NULL};
    wl_options o;
    options(&o, argv);
    wl_open_params p = {1, 0};
    g_autoptr(wl_source) s = wl_open_list(l, &o, &p, &e);
    cr_assert_not_null(s, "%s", e ? e->message : "");
    wl_request q;
    int64_t last = -1;
    while (wl_source_next(s, &q, &e) == 1)
        last = q.arrival_ns;
    cr_expect_eq(last, 2000000000);
    options_clear(&o);
}

Test(list, untimed_lists_take_the_arrival_process)
{
    g_autoptr(wl_list) l = wl_list_new("x");
    GError *e = NULL;
    for (int i = 0; i < 4; i++) {
        wl_list_request r = {
            .arrival_ns = -1, .prompt_tokens = 10 + (uint32_t)i, .output_tokens = 2};
        cr_assert(wl_list_add(l, &r, &e));
    }
    cr_expect(!wl_list_timed(l));
    /* constant arrivals at 4 req/s: 0, 0.25, 0.5, 0.75 s, lengths in list order */
    char *argv[] = {"--rate", "4", "--arrival", "constant", NULL};
    wl_options o;
    options(&o, argv);
    wl_open_params p = {1, 0};
    g_autoptr(wl_source) s = wl_open_list(l, &o, &p, &e);
    cr_assert_not_null(s, "%s", e ? e->message : "");
    wl_request q;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(wl_source_next(s, &q, &e), 1);
        cr_expect_eq(q.arrival_ns, (int64_t)i * 250000000);
        cr_expect_eq(q.prompt_tokens, 10 + (uint32_t)i);
    }
    options_clear(&o);
    /* no rate: every request at once (vLLM bench --request-rate inf) */
    wl_options o2;
    options(&o2, NULL);
    g_autoptr(wl_source) s2 = wl_open_list(l, &o2, &p, &e);
    while (wl_source_next(s2, &q, &e) == 1)
        cr_expect_eq(q.arrival_ns, 0);
    options_clear(&o2);
}

Test(list, add_enforces_the_rules)
{
    g_autoptr(wl_list) l = wl_list_new("L");
    GError *e = NULL;
    wl_list_request a = {.arrival_ns = 100, .prompt_tokens = 10, .output_tokens = 1};
    cr_assert(wl_list_add(l, &a, &e));
    wl_list_request back = {.arrival_ns = 50, .prompt_tokens = 10, .output_tokens = 1};
    wl_list_request untimed = {.arrival_ns = -1, .prompt_tokens = 10, .output_tokens = 1};
    wl_list_request empty = {.arrival_ns = 200, .prompt_tokens = 0, .output_tokens = 1};
    const wl_segment seg = {1, 5};
    wl_list_request bad_segs = {.arrival_ns = 200,
                                .prompt_tokens = 10,
                                .output_tokens = 1,
                                .nsegments = 1,
                                .segments = &seg};
    const wl_list_request *bad[] = {&back, &untimed, &empty, &bad_segs};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        cr_expect(!wl_list_add(l, bad[i], &e), "case %zu accepted", i);
        if (e != NULL) {
            cr_expect(g_str_has_prefix(e->message, "L: request 1: "), "%s", e->message);
            g_clear_error(&e);
        }
    }
    cr_expect_eq(wl_list_len(l), 1);
    /* an empty list is refused like an empty trace */
    g_autoptr(wl_list) none = wl_list_new("none");
    wl_options o;
    options(&o, NULL);
    wl_open_params p = {1, 0};
    g_autoptr(wl_source) s = wl_open_list(none, &o, &p, &e);
    cr_assert_not_null(s);
    wl_request q;
    cr_expect_eq(wl_source_next(s, &q, &e), -1);
    cr_expect(strstr(e->message, "no requests") != NULL, "%s", e->message);
    g_clear_error(&e);
    options_clear(&o);
}
