/* tests/sweep/test_prices.c: the shipped GPU price table (values typed from its sources: the
 * aimultiple.com median H100 listing $2.95, midpoints of the mercatus-ai.com May 2026 ranges
 * (0.80 + 3.00) / 2 = 1.90 and (2.50 + 7.00) / 2 = 4.75), its date and sources, --price
 * overrides and their errors, and the search dimensions' modelling gaps. */
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>

#include "sweep/search.h"
#include "tests/testutil.h"

Test(prices, the_shipped_table_has_its_figures_date_and_sources)
{
    GError *err = NULL;
    g_autoptr(sw_prices) p = sw_prices_load(NULL, &err);
    cr_assert_not_null(p, "%s", err ? err->message : "");
    cr_expect_eq(sw_prices_get(p, "h100-sxm"), 2.95);
    cr_expect_eq(sw_prices_get(p, "a100-80gb"), 1.90);
    cr_expect_eq(sw_prices_get(p, "h200"), 4.75);
    cr_expect(isnan(sw_prices_get(p, "rtx4090")), "no price: empty cost columns");
    json_t *j = sw_prices_to_json(p);
    cr_expect_str_eq(json_string_value(json_object_get(j, "date")), "2026-05");
    cr_expect_geq(json_array_size(json_object_get(j, "sources")), 2);
    /* sorted by name for a stable sweep id */
    const char *prev = "";
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "usd_per_gpu_hour"), k, v) {
        cr_expect_lt(strcmp(prev, k), 0, "%s after %s", k, prev);
        prev = k;
    }
    json_decref(j);
}

Test(prices, overrides_and_errors)
{
    g_autoptr(sw_prices) p = sw_prices_load(NULL, NULL);
    cr_assert(sw_prices_set(p, "h100-sxm=2.99/h", NULL));
    cr_expect_eq(sw_prices_get(p, "h100-sxm"), 2.99);
    cr_assert(sw_prices_set(p, "my-gpu=1.5", NULL));
    cr_expect_eq(sw_prices_get(p, "my-gpu"), 1.5);
    const char *bad[][2] = {{"h100-sxm", "expected HARDWARE=USD"},
                            {"h100-sxm=abc", "'abc' is not a number"},
                            {"h100-sxm=2/min", "per GPU-hour"},
                            {"h100-sxm=-1", "must be a number of USD ≥ 0"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        cr_expect_not(sw_prices_set(p, bad[i][0], &err));
        cr_expect(err && strstr(err->message, bad[i][1]), "%s: %s", bad[i][0],
                  err ? err->message : "");
        g_clear_error(&err);
    }
    g_autofree char *path = tu_tmp_file(".json", "{\"format\": \"servesim-prices/1\", "
                                                 "\"prices\": {\"x\": {\"usd\": 1}}}");
    GError *err = NULL;
    cr_expect_null(sw_prices_load(path, &err));
    cr_expect(err && strstr(err->message, "prices.x: expected {\"usd_per_gpu_hour\": X}"), "%s",
              err ? err->message : "");
    g_clear_error(&err);
    g_unlink(path);
}

Test(prices, gaps_are_named_on_their_dimension_rows)
{
    const sw_search_dim *pp = sw_search_dim_find("pp"), *dp = sw_search_dim_find("dp"),
                        *pd = sw_search_dim_find("pd"), *tp = sw_search_dim_find("tp"),
                        *byp = sw_search_dim_find("parallelism.tensor_parallel_size");
    cr_assert(pp && dp && pd && tp);
    cr_expect_null(pp->gap, "the engine runs pipeline stages (steps in flight)");
    cr_expect_null(dp->gap, "the engine runs data-parallel ranks");
    cr_expect_null(pd->gap, "search counts and prices both pools of a split (docs/sweep.md)");
    cr_expect_null(pd->path, "virtual: search turns P:D into the run's --pd itself");
    cr_expect_null(tp->gap);
    cr_expect_eq(byp, tp, "found by path too");
}
