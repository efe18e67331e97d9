/* tests/base/test_match.c: name tables, edit distance and suggestions. */
#include <criterion/criterion.h>
#include <glib.h>

#include "base/match.h"

Test(match, edit_distance_basics)
{
    cr_expect_eq(base_edit_distance("kitten", "sitting"), 3);
    cr_expect_eq(base_edit_distance("", "abc"), 3);
    cr_expect_eq(base_edit_distance("H100", "h100"), 0);
}

Test(match, suggest_close_names_best_first)
{
    const char *const c[] = {"h100-sxm", "h200", "a100-80gb", "a100-40gb", "b200", NULL};
    g_autofree char *s = base_suggest("h100", c);
    cr_assert_not_null(s);
    cr_expect(g_str_has_prefix(s, "h100-sxm"), "%s", s);
    g_autofree char *none = base_suggest("tpu-v9", c);
    cr_expect_null(none);
    g_autofree char *t =
        base_suggest("max_num_sqs", (const char *const[]){"max_num_seqs", "seed", NULL});
    cr_expect_str_eq(t, "max_num_seqs");
}

Test(match, name_tables_count_find_and_join_up_to_the_null)
{
    static const char *const t[] = {"alpha", "Beta", "gamma", NULL};
    cr_expect_eq(BASE_STRV_N(t), 3);
    cr_expect_eq(base_strv_len(t), 3);
    cr_expect_eq(base_strv_index(t, "gamma"), 2);
    cr_expect_eq(base_strv_index(t, "beta"), -1);
    cr_expect_eq(base_strv_index_nocase(t, "beta"), 1);
    cr_expect_eq(base_strv_index(t, "delta"), -1);
    g_autofree char *j = base_strv_join(t, ", ");
    cr_expect_str_eq(j, "alpha, Beta, gamma");
    static const char *const empty[] = {NULL};
    g_autofree char *e = base_strv_join(empty, ", ");
    cr_expect_str_eq(e, "");
}
