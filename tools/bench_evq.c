/* tools/bench_evq.c: the classic hold model (Vaucher & Duval 1975): a queue of N events;
 * each hold pops the earliest and pushes one at now + Exp(mean 1 s). Times our 4-ary heap and,
 * on the identical increment sequence, GLib's GSequence used as a sorted queue (insert_sorted
 * + remove begin). Reports ns per hold (pop + push) and the ratio. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/opts.h"
#include "base/rng.h"
#include "sim/evq.h"
#include "tools/bench.h"
#include "tools/cli.h"

typedef struct {
    int64_t ops;  /* hold operations per size */
    char **sizes; /* queue sizes */
    int64_t seed;
} evq_args;

static const base_opt rows[] = {
    {"ops", "ops", BASE_OPT_INT, offsetof(evq_args, ops), "2000000", NULL, 1, 1e10,
     BASE_OPT_CLI_ONLY, "N", "hold operations timed per queue size"},
    {"sizes", "sizes", BASE_OPT_STRV, offsetof(evq_args, sizes), "1000,100000,1000000", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "N,...", "queue sizes"},
    {"seed", "seed", BASE_OPT_INT, offsetof(evq_args, seed), "1", NULL, 0, 9e18, BASE_OPT_CLI_ONLY,
     "N", "random seed"},
};
static const base_opt_table table = {"bench evq", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

typedef struct {
    int64_t t;
    uint64_t seq;
} gs_item;

static gint
gs_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    const gs_item *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int64_t
incr_ns(sim_rng *r)
{
    return (int64_t)(sim_rng_exponential(r, 1.0) * 1e9);
}

static double
time_evq(size_t n, int64_t ops, uint64_t seed)
{
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    sim_evq *q = sim_evq_new(n);
    for (size_t i = 0; i < n; i++)
        sim_evq_push(q, incr_ns(&r), 0, 0, 0, i);
    double t0 = cli_now_s();
    sim_event ev;
    uint64_t sink = 0;
    for (int64_t i = 0; i < ops; i++) {
        sim_evq_pop(q, &ev);
        sink += ev.b;
        sim_evq_push(q, ev.time_ns + incr_ns(&r), 0, 0, 0, ev.b);
    }
    double dt = cli_now_s() - t0;
    sim_evq_free(q);
    if (sink == 42)
        fputs("", stdout); /* keep the loop observable */
    return dt * 1e9 / (double)ops;
}

static double
time_gsequence(size_t n, int64_t ops, uint64_t seed)
{
    sim_rng r;
    sim_rng_init(&r, seed, SIM_STREAM_TEST);
    GSequence *s = g_sequence_new(NULL);
    gs_item *items = g_new(gs_item, n);
    uint64_t seq = 0;
    for (size_t i = 0; i < n; i++) {
        items[i] = (gs_item){incr_ns(&r), seq++};
        g_sequence_insert_sorted(s, &items[i], gs_cmp, NULL);
    }
    double t0 = cli_now_s();
    for (int64_t i = 0; i < ops; i++) {
        GSequenceIter *it = g_sequence_get_begin_iter(s);
        gs_item *e = g_sequence_get(it);
        g_sequence_remove(it);
        e->t += incr_ns(&r);
        e->seq = seq++;
        g_sequence_insert_sorted(s, e, gs_cmp, NULL);
    }
    double dt = cli_now_s() - t0;
    g_sequence_free(s);
    g_free(items);
    return dt * 1e9 / (double)ops;
}

int
bench_evq(int argc, char **argv)
{
    evq_args a = {0};
    base_opts_defaults(&set, &a);
    if (cli_wants_help(argc, argv)) {
        cli_print_help("bench evq [--ops N] [--sizes N,...]",
                       "Hold model: pop the earliest event, push one at now + Exp(1 s).", &set);
        base_opts_clear(&set, &a);
        return CLI_OK;
    }
    GError *err = NULL;
    /* Default sizes are replaced, not appended to, when --sizes is given. */
    bool given = false;
    for (int i = 1; i < argc; i++)
        given |= g_str_has_prefix(argv[i], "--sizes");
    if (given)
        g_clear_pointer(&a.sizes, g_strfreev);
    if (!base_opts_parse_args(&set, &a, argc - 1, argv + 1, NULL, &err)) {
        base_opts_clear(&set, &a);
        return cli_fail(err, CLI_USAGE);
    }
    printf("hold model, %" PRId64 " holds per size (ns per hold = pop + push)\n", a.ops);
    printf("%10s %14s %18s %8s\n", "N", "servesim evq", "GLib GSequence", "ratio");
    int rc = CLI_OK;
    for (size_t i = 0; a.sizes != NULL && a.sizes[i] != NULL; i++) {
        double nd;
        if (!base_parse_double(a.sizes[i], &nd) || nd < 1) {
            rc = cli_failf(CLI_USAGE, "bench evq: --sizes: bad size '%s'", a.sizes[i]);
            break;
        }
        size_t n = (size_t)nd;
        double ours = time_evq(n, a.ops, (uint64_t)a.seed);
        double base = time_gsequence(n, a.ops, (uint64_t)a.seed);
        printf("%10zu %11.1f ns %15.1f ns %7.1fx\n", n, ours, base, base / ours);
        fflush(stdout);
    }
    base_opts_clear(&set, &a);
    return rc;
}
