/* tests/base/test_match.c: edit distance and suggestions. */
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
    const char *c[] = {"h100-sxm", "h200", "a100-80gb", "a100-40gb", "b200"};
    g_autofree char *s = base_suggest("h100", c, 5);
    cr_assert_not_null(s);
    cr_expect(g_str_has_prefix(s, "h100-sxm"), "%s", s);
    g_autofree char *none = base_suggest("tpu-v9", c, 5);
    cr_expect_null(none);
    g_autofree char *t = base_suggest("max_num_sqs", (const char *[]){"max_num_seqs", "seed"}, 2);
    cr_expect_str_eq(t, "max_num_seqs");
}
