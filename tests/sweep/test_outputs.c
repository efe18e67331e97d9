/* tests/sweep/test_outputs.c: result files: the sweep id, CSV cells, final files from one
 * process vs shard files merged (byte for byte), merge refusals (other sweep, missing /
 * duplicate / truncated shard, a point in the wrong shard, a complete file) with nothing
 * written, and the search table's ranking and Pareto marks on a hand-made table. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>

#include "sweep/axes.h"
#include "sweep/outputs.h"
#include "sweep/search.h"

static char *dir;

static void
setup(void)
{
    dir = g_dir_make_tmp("servesim-sweep-out-XXXXXX", NULL);
}

static void
teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    (void)!system(cmd);
    g_free(dir);
}

TestSuite(outputs, .init = setup, .fini = teardown, .timeout = 30);

static json_t *
definition(const char *what)
{
    return json_pack("{s:s, s:[f, f], s:s}", "kind", "sweep", "rates", 0.1, 2.5, "what", what);
}

/* A point row with reals that do not print exactly (1/3) and a string needing quotes. */
static json_t *
row(int i)
{
    return json_pack("{s:i, s:f, s:s, s:o, s:f}", "point", i, "workload.rate", 0.5 * (i + 1),
                     "note", i % 2 ? "a,\"b\"" : "plain", "binding", json_null(), "x",
                     (double)i / 3.0);
}

static char *
slurp(const char *d, const char *name)
{
    g_autofree char *p = g_build_filename(d, name, NULL);
    char *s = NULL;
    g_file_get_contents(p, &s, NULL, NULL);
    return s;
}

static char *
sub(const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    g_mkdir_with_parents(p, 0755);
    return p;
}

Test(outputs, the_sweep_id_hashes_the_definition)
{
    json_t *a = definition("a"), *a2 = definition("a"), *b = definition("b");
    char *ia = sw_sweep_id(a), *ia2 = sw_sweep_id(a2), *ib = sw_sweep_id(b);
    cr_expect_eq(strlen(ia), 16);
    cr_expect_str_eq(ia, ia2);
    cr_expect_str_neq(ia, ib);
    g_free(ia);
    g_free(ia2);
    g_free(ib);
    json_decref(a);
    json_decref(a2);
    json_decref(b);
}

Test(outputs, csv_cells)
{
    json_t *v[] = {json_null(),        json_true(),        json_integer(-3),   json_real(0.1),
                   json_real(1.0 / 3), json_string("x,y"), json_string("a\"b")};
    const char *want[] = {"", "true", "-3", "0.1", "0.3333333333", "\"x,y\"", "\"a\"\"b\""};
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        char *c = sw_csv_cell(v[i]);
        cr_expect_str_eq(c, want[i]);
        g_free(c);
        json_decref(v[i]);
    }
}

static void
write_shards(const char *d, const json_t *meta, int npoints, uint32_t n, int skip_point)
{
    for (uint32_t k = 1; k <= n; k++) {
        GPtrArray *pts = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
        for (int i = 0; i < npoints; i++)
            if ((uint32_t)i % n == k - 1 && i != skip_point)
                g_ptr_array_add(pts, row(i));
        cr_assert(sw_outputs_write(d, meta, pts, k, n, NULL));
        g_ptr_array_free(pts, TRUE);
    }
}

static gboolean
merge(const char *from, uint32_t n, const char *to, GError **error)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    for (uint32_t k = 1; k <= n; k++)
        g_ptr_array_add(files, g_strdup_printf("%s/sweep.shard-%u-of-%u.jsonl", from, k, n));
    gboolean ok = sw_outputs_merge((const char *const *)files->pdata, files->len, to, error);
    g_ptr_array_free(files, TRUE);
    return ok;
}

Test(outputs, merged_shards_are_byte_identical_to_one_run)
{
    json_t *def = definition("a");
    json_t *meta = sw_meta_new("sweep", def, 7);
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    for (int i = 0; i < 7; i++)
        g_ptr_array_add(all, row(i));
    g_autofree char *one = sub("one"), *shards = sub("shards"), *merged = sub("merged");
    cr_assert(sw_outputs_write(one, meta, all, 0, 0, NULL));
    write_shards(shards, meta, 7, 3, -1);
    GError *err = NULL;
    cr_assert(merge(shards, 3, merged, &err), "%s", err ? err->message : "");
    const char *files[] = {"sweep.csv", "sweep.jsonl"};
    for (size_t f = 0; f < 2; f++) {
        g_autofree char *x = slurp(one, files[f]), *y = slurp(merged, files[f]);
        cr_assert_not_null(x);
        cr_assert_not_null(y);
        cr_expect_str_eq(x, y, "%s differs", files[f]);
    }
    /* properties of the file, independent of the merge: header, 7 rows in point order, the
     * quoted cell, the meta line without a shard */
    g_autofree char *csv = slurp(one, "sweep.csv");
    cr_expect(g_str_has_prefix(csv, "point,workload.rate,note,binding,x\n0,0.5,plain,,0\n"), "%s",
              csv);
    cr_expect(strstr(csv, "\n1,1,\"a,\"\"b\"\"\",,0.3333333333\n") != NULL, "%s", csv);
    g_autofree char *jl = slurp(one, "sweep.jsonl");
    cr_expect(strstr(jl, "\"shard\"") == NULL);
    cr_expect(strstr(jl, "\"sweep_id\"") != NULL);
    g_ptr_array_free(all, TRUE);
    json_decref(meta);
    json_decref(def);
}

static void
expect_merge_fails(const char *from, uint32_t n, const char *needle)
{
    g_autofree char *to = sub("never");
    GError *err = NULL;
    cr_expect_not(merge(from, n, to, &err));
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, needle) != NULL, "'%s' not in: %s", needle, err->message);
    g_error_free(err);
    g_autofree char *csv = g_build_filename(to, "sweep.csv", NULL);
    cr_expect_not(g_file_test(csv, G_FILE_TEST_EXISTS), "no output after a failed merge");
}

Test(outputs, merge_refuses_shards_that_do_not_belong_together)
{
    json_t *da = definition("a"), *db = definition("b");
    json_t *ma = sw_meta_new("sweep", da, 7), *mb = sw_meta_new("sweep", db, 7);
    g_autofree char *mixed = sub("mixed");
    write_shards(mixed, ma, 7, 2, -1);
    /* shard 2 of another sweep overwrites ours */
    GPtrArray *pts = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    for (int i = 1; i < 7; i += 2)
        g_ptr_array_add(pts, row(i));
    cr_assert(sw_outputs_write(mixed, mb, pts, 2, 2, NULL));
    expect_merge_fails(mixed, 2, "come from different sweeps");

    g_autofree char *partial = sub("partial");
    write_shards(partial, ma, 7, 3, 4); /* point 4 (shard 2) lost */
    expect_merge_fails(partial, 3, "holds 1 points, expected 2");

    g_autofree char *ok = sub("ok");
    write_shards(ok, ma, 7, 3, -1);
    GError *err = NULL;
    g_autofree char *to = sub("never2");
    g_autofree char *f1 = g_strdup_printf("%s/sweep.shard-1-of-3.jsonl", ok);
    g_autofree char *f2 = g_strdup_printf("%s/sweep.shard-2-of-3.jsonl", ok);
    const char *twice[] = {f1, f1, f2};
    cr_expect_not(sw_outputs_merge(twice, 3, to, &err));
    cr_expect(err && strstr(err->message, "given twice"), "%s", err ? err->message : "");
    g_clear_error(&err);
    const char *missing[] = {f1, f2};
    cr_expect_not(sw_outputs_merge(missing, 2, to, &err));
    cr_expect(err && strstr(err->message, "shard 3/3 is missing"), "%s", err ? err->message : "");
    g_clear_error(&err);

    /* a complete result set is not a shard */
    g_autofree char *full = sub("full");
    cr_assert(sw_outputs_write(full, ma, pts, 0, 0, NULL));
    g_autofree char *fj = g_strdup_printf("%s/sweep.jsonl", full);
    const char *notshard[] = {fj};
    cr_expect_not(sw_outputs_merge(notshard, 1, to, &err));
    cr_expect(err && strstr(err->message, "not a shard"), "%s", err ? err->message : "");
    g_clear_error(&err);

    /* a point in the wrong shard file */
    g_autofree char *bad = g_strdup_printf("%s/bad.jsonl", dir);
    g_autofree char *first = slurp(ok, "sweep.shard-1-of-3.jsonl");
    size_t meta_len = strcspn(first, "\n") + 1;
    g_autofree char *content = g_strdup_printf("%.*s{\"point\": 1}\n", (int)meta_len, first);
    g_file_set_contents(bad, content, -1, NULL);
    const char *wrong[] = {bad};
    cr_expect_not(sw_outputs_merge(wrong, 1, to, &err));
    cr_expect(err && strstr(err->message, "does not belong to shard 1/3"), "%s",
              err ? err->message : "");
    g_clear_error(&err);
    g_ptr_array_free(pts, TRUE);
    json_decref(ma);
    json_decref(mb);
    json_decref(da);
    json_decref(db);
}

static json_t *
search_row(
    int i, const char *status, double tput, double ttft, double tpot, double cost, double e2el)
{
    return json_pack("{s:i, s:s, s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:o}", "point", i,
                     "status", status, "output_throughput_per_gpu", tput, "ttft_p99_ms", ttft,
                     "tpot_p99_ms", tpot, "usd_per_m_output_tokens", cost, "e2el_p99_ms", e2el,
                     "rank", json_null(), "pareto_tput_ttft", json_null(), "pareto_tput_tpot",
                     json_null(), "pareto_cost_e2el", json_null());
}

Test(outputs, search_rows_are_ranked_and_marked)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    g_ptr_array_add(rows, search_row(0, "ok", 100, 300, 20, 2.0, 5000));
    g_ptr_array_add(rows, search_row(1, "rejected", 0, 0, 0, 0, 0));
    g_ptr_array_add(rows, search_row(2, "ok", 300, 400, 40, 1.0, 9000));
    g_ptr_array_add(rows, search_row(3, "ok", 200, 200, 30, 1.5, 4000));
    g_ptr_array_add(rows, search_row(4, "ok", 90, 350, 50, 3.0, 6000));
    cr_assert(sw_search_finalize(NULL, rows, NULL));
    /* ranks by throughput per GPU: 2 (300), 3 (200), 0 (100), 4 (90); rejected last */
    const int order[] = {2, 3, 0, 4, 1};
    for (int i = 0; i < 5; i++) {
        const json_t *r = rows->pdata[i];
        cr_expect_eq(json_integer_value(json_object_get(r, "point")), order[i]);
        if (i < 4)
            cr_expect_eq(json_integer_value(json_object_get(r, "rank")), i + 1);
        else
            cr_expect(json_is_null(json_object_get(r, "rank")));
    }
    /* tput vs ttft: 2 (300, 400) and 3 (200, 200) on the front; 0 (100, 300) and 4 dominated
     * by 3. tput vs tpot: 2, 3, 0 (100, 20: lowest tpot); 4 dominated. cost vs e2el: 2 (1.0,
     * 9000), 3 (1.5, 4000); 0 and 4 dominated by 3. */
    const bool ttft[] = {true, true, false, false}, tpot[] = {true, true, true, false},
               cost[] = {true, true, false, false};
    for (int i = 0; i < 4; i++) {
        const json_t *r = rows->pdata[i];
        cr_expect_eq(json_is_true(json_object_get(r, "pareto_tput_ttft")), ttft[i], "row %d", i);
        cr_expect_eq(json_is_true(json_object_get(r, "pareto_tput_tpot")), tpot[i], "row %d", i);
        cr_expect_eq(json_is_true(json_object_get(r, "pareto_cost_e2el")), cost[i], "row %d", i);
    }
    cr_expect(json_is_null(json_object_get(rows->pdata[4], "pareto_tput_ttft")));
    g_ptr_array_free(rows, TRUE);
}
