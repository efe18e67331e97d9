/* tests/sweep/test_axes.c: axis names resolved from the settings tables (paths, flags, leaves,
 * aliases; refusals with reasons), value lists and ranges expanded as written by hand, grids in
 * row-major order applied to a configuration, validation by the flag parser, shard specs. */
#include <string.h>

#include <criterion/criterion.h>

#include "sim/config.h"
#include "sweep/axes.h"

static sim_config cfg;

static void
setup(void)
{
    sim_config_init(&cfg);
}

static void
teardown(void)
{
    sim_config_clear(&cfg);
}

TestSuite(axes, .init = setup, .fini = teardown, .timeout = 30);

static const char *
resolve(const char *name)
{
    const char *path = NULL;
    GError *err = NULL;
    const base_opt *o = sw_axis_resolve(sim_config_schema(), name, &path, &err);
    if (o == NULL) {
        static char msg[512];
        g_strlcpy(msg, err->message, sizeof msg);
        g_error_free(err);
        return msg;
    }
    return path;
}

Test(axes, names_resolve_by_path_flag_leaf_and_alias)
{
    cr_expect_str_eq(resolve("workload.rate"), "workload.rate");
    cr_expect_str_eq(resolve("rate"), "workload.rate");
    cr_expect_str_eq(resolve("max-num-seqs"), "scheduler.max_num_seqs");
    cr_expect_str_eq(resolve("max_num_seqs"), "scheduler.max_num_seqs");
    cr_expect_str_eq(resolve("max_concurrency"), "workload.max_concurrency");
    cr_expect_str_eq(resolve("concurrency"), "workload.max_concurrency");
    cr_expect_str_eq(resolve("tp"), "parallelism.tensor_parallel_size");
    cr_expect_str_eq(resolve("tensor-parallel-size"), "parallelism.tensor_parallel_size");
    cr_expect_str_eq(resolve("replicas"), "cluster.replicas");
    cr_expect_str_eq(resolve("hardware"), "hardware.name");
    cr_expect_str_eq(resolve("seed"), "seed");
}

Test(axes, refusals_say_why)
{
    cr_expect(strstr(resolve("max_num_seq"), "unknown axis 'max_num_seq'") != NULL);
    cr_expect(strstr(resolve("max_num_seq"), "did you mean") != NULL);
    cr_expect(strstr(resolve("max_num_seq"), "max_num_seqs") != NULL, "%s", resolve("max_num_seq"));
    cr_expect(strstr(resolve("output-dir"), "outputs.dir cannot be an axis") != NULL);
    cr_expect(strstr(resolve("goodput"), "a list or a JSON") != NULL);
    cr_expect(strstr(resolve("pd"), "not implemented yet") != NULL, "%s", resolve("pd"));
    /* model.name and hardware.name share the leaf "name" */
    cr_expect(strstr(resolve("name"), "ambiguous") != NULL, "%s", resolve("name"));
}

/* Expands VALUES for the row at PATH into one comma-joined string (or the error). */
static char *
expand(const char *path, const char *values)
{
    const base_opt *o = base_opts_find(sim_config_schema(), path, NULL);
    cr_assert_not_null(o);
    GError *err = NULL;
    char **v = sw_values_expand(o, "axis", values, &err);
    if (v == NULL) {
        char *m = g_strdup(err->message);
        g_error_free(err);
        return m;
    }
    char *s = g_strjoinv(",", v);
    g_strfreev(v);
    return s;
}

#define EXPECT_EXPANDS(path, values, expected)                                                     \
    do {                                                                                           \
        char *got_ = expand(path, values);                                                         \
        cr_expect_str_eq(got_, expected, "%s = %s", path, values);                                 \
        g_free(got_);                                                                              \
    } while (0)

Test(axes, ranges_and_progressions_expand_as_written)
{
    EXPECT_EXPANDS("workload.rate", "2:10:2", "2,4,6,8,10");
    EXPECT_EXPANDS("workload.rate", "2:11:2", "2,4,6,8,10");
    /* 0.1 steps computed from the start: 0.30000000000000004 would print as 0.3 anyway, and
     * 0.5 must be reached */
    EXPECT_EXPANDS("workload.rate", "0.1:0.5:0.1", "0.1,0.2,0.3,0.4,0.5");
    EXPECT_EXPANDS("workload.max_concurrency", "1:1000:x10", "1,10,100,1000");
    EXPECT_EXPANDS("workload.max_concurrency", "1,2,4,...,256", "1,2,4,8,16,32,64,128,256");
    EXPECT_EXPANDS("scheduler.max_num_seqs", "2,4,...,10", "2,4,6,8,10");
    EXPECT_EXPANDS("workload.rate", "1,1.5,...,3", "1,1.5,2,2.5,3");
    EXPECT_EXPANDS("cluster.router", "round_robin, least_loaded", "round_robin,least_loaded");
    EXPECT_EXPANDS("workload.rate", "5", "5");
}

Test(axes, inconsistent_values_are_errors)
{
    EXPECT_EXPANDS("workload.rate", "", "axis: no values");
    EXPECT_EXPANDS("workload.rate", "1,,2", "axis: empty value in '1,,2'");
    EXPECT_EXPANDS("workload.rate", "5:1:1", "axis: the range is empty (start 5 is above stop 1)");
    EXPECT_EXPANDS("workload.rate", "1:5:0", "axis: the step must be > 0");
    EXPECT_EXPANDS("workload.rate", "1:5:x1", "axis: the factor must be > 1");
    EXPECT_EXPANDS("scheduler.max_num_seqs", "1:9:0.5",
                   "axis: the step of an integer setting must be an integer");
    EXPECT_EXPANDS("workload.rate", "1,2,...",
                   "axis: write '...' after at least two values and before exactly one last "
                   "value (1,2,4,...,256)");
    EXPECT_EXPANDS("workload.rate", "1,3,4,...,10",
                   "axis: the values before '...' are neither arithmetic nor geometric");
    EXPECT_EXPANDS("workload.rate", "1,2,4,...,100",
                   "axis: 100 is not on the progression before '...'");
    EXPECT_EXPANDS("cluster.router", "a,...,b", "axis: '...' needs a numeric setting");
    EXPECT_EXPANDS("workload.rate", "1:x:2", "axis: 'x' is not a number");
}

static char *
add(sw_grid *g, const char *spec)
{
    sim_config scratch;
    sim_config_copy(&scratch, &cfg);
    GError *err = NULL;
    gboolean ok = sw_grid_add(g, sim_config_schema(), &scratch, spec, &err);
    sim_config_clear(&scratch);
    if (ok)
        return NULL;
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

Test(axes, a_grid_is_the_row_major_product_and_applies_to_a_configuration)
{
    g_autoptr(sw_grid) g = sw_grid_new();
    cr_assert_null(add(g, "max_num_seqs=64,128"));
    cr_assert_null(add(g, "rate=1:3:1"));
    cr_assert_null(add(g, "enable-chunked-prefill=on,off"));
    cr_assert_eq(sw_grid_npoints(g), 12);
    cr_expect_str_eq(sw_grid_axis(g, 2)->values[0], "true");
    cr_expect_str_eq(sw_grid_axis(g, 2)->values[1], "false");
    /* point 7 = (1, 0, 1) in sizes (2, 3, 2): 1·6 + 0·2 + 1 */
    cr_expect_str_eq(sw_grid_value(g, 7, 0), "128");
    cr_expect_str_eq(sw_grid_value(g, 7, 1), "1");
    cr_expect_str_eq(sw_grid_value(g, 7, 2), "false");
    cr_expect_str_eq(sw_grid_value(g, 11, 1), "3");
    sim_config c;
    sim_config_copy(&c, &cfg);
    cr_assert(sw_grid_apply(g, sim_config_schema(), &c, 7, NULL));
    cr_expect_eq(c.sim.max_num_seqs, 128);
    cr_expect_eq(c.wl.rate, 1.0);
    cr_expect_eq(c.sim.enable_chunked_prefill, false);
    sim_config_clear(&c);
    g_autoptr(sw_grid) empty = sw_grid_new();
    cr_expect_eq(sw_grid_npoints(empty), 1);
}

Test(axes, values_are_validated_by_the_flag_parser_and_canonical)
{
    g_autoptr(sw_grid) g = sw_grid_new();
    char *e = add(g, "rate=0,1");
    cr_assert_not_null(e);
    cr_expect(strstr(e, "axis rate: ") == e && strstr(e, "out of range") != NULL, "%s", e);
    g_free(e);
    e = add(g, "router=round_robin,fastest");
    cr_assert_not_null(e);
    cr_expect(strstr(e, "unknown value 'fastest'") != NULL, "%s", e);
    g_free(e);
    e = add(g, "max_num_seqs=64,64");
    cr_expect_str_eq(e, "axis max_num_seqs: value 64 appears twice");
    g_free(e);
    cr_assert_null(add(g, "max_num_seqs=1e3,auto"));
    cr_expect_str_eq(sw_grid_axis(g, 0)->values[0], "1000");
    cr_expect_str_eq(sw_grid_axis(g, 0)->values[1], "auto");
    e = add(g, "scheduler.max_num_seqs=8");
    cr_expect_str_eq(e, "axis scheduler.max_num_seqs given twice (as 'max_num_seqs' and "
                        "'scheduler.max_num_seqs')");
    g_free(e);
    e = add(g, "rate");
    cr_expect(strstr(e, "expected NAME=VALUES") != NULL, "%s", e);
    g_free(e);
}

Test(axes, shard_specs)
{
    uint32_t k, n;
    GError *err = NULL;
    cr_expect(sw_shard_parse("2/4", &k, &n, NULL));
    cr_expect_eq(k, 2);
    cr_expect_eq(n, 4);
    const char *bad[] = {"3/2", "0/2", "1/0", "a/b", "1", "1/2/3", "-1/2"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        cr_expect_not(sw_shard_parse(bad[i], &k, &n, &err), "%s", bad[i]);
        cr_expect(err != NULL && strstr(err->message, bad[i]) != NULL);
        g_clear_error(&err);
    }
}
