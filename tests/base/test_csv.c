/* tests/base/test_csv.c: splitting, quoting, header lookup, typed cells and their errors. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "base/csv.h"
#include "base/io.h"

Test(csv, split_plain_and_quoted_fields)
{
    char line[] = "a,\"b,c\",\"d\"\"e\",,f";
    char *f[8];
    size_t n = base_csv_split(line, ',', f, 8);
    cr_assert_eq(n, 5);
    cr_expect_str_eq(f[0], "a");
    cr_expect_str_eq(f[1], "b,c");
    cr_expect_str_eq(f[2], "d\"e");
    cr_expect_str_eq(f[3], "");
    cr_expect_str_eq(f[4], "f");
}

Test(csv, strict_number_parsing)
{
    int64_t i;
    double d;
    cr_expect(base_parse_int64(" 42 ", &i) && i == 42);
    cr_expect(base_parse_int64("12.0", &i) && i == 12);
    cr_expect(!base_parse_int64("12.5", &i));
    cr_expect(!base_parse_int64("12abc", &i));
    cr_expect(!base_parse_int64("", &i));
    cr_expect(base_parse_double("1e-3", &d) && d == 1e-3);
    cr_expect(!base_parse_double("nan", &d));
    cr_expect(!base_parse_double("inf", &d));
    cr_expect(!base_parse_double("1.5x", &d));
}

static base_csv *
open_mem(const char *text, GError **err)
{
    base_lines *l = base_lines_new_from_memory("t.csv", text, strlen(text), err);
    base_csv *c = base_csv_new_take(l, 0, BASE_CSV_HEADER, err);
    if (c == NULL)
        base_lines_free(l);
    return c;
}

Test(csv, header_and_typed_cells)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = open_mem("tp, seq_len ,ms\n1,128,0.5\n\n2,x,1\n", &err);
    cr_assert_not_null(c);
    cr_expect_eq(base_csv_col(c, "seq_len"), 1, "header names are trimmed");
    cr_expect_eq(base_csv_col(c, "nope"), -1);
    cr_assert(base_csv_next(c, &err));
    int64_t v;
    double d;
    cr_expect(base_csv_get_int64(c, 1, &v, &err) && v == 128);
    cr_expect(base_csv_get_double(c, 2, &d, &err) && d == 0.5);
    cr_assert(base_csv_next(c, &err)); /* blank line skipped */
    cr_expect(!base_csv_get_int64(c, 1, &v, &err));
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "t.csv:4: column seq_len: not an integer: 'x'");
    g_clear_error(&err);
    cr_expect(!base_csv_next(c, &err));
    cr_expect_null(err);
}

Test(csv, tab_separator_detected)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = open_mem("a\tb\n1\t2\n", &err);
    cr_assert_not_null(c);
    cr_expect_eq(base_csv_sep(c), '\t');
    cr_assert(base_csv_next(c, &err));
    cr_expect_str_eq(base_csv_field(c, 1), "2");
}

Test(csv, empty_file_and_missing_column_are_errors)
{
    GError *err = NULL;
    base_csv *c = open_mem("", &err);
    cr_expect_null(c);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, "empty") != NULL);
    g_clear_error(&err);
    g_autoptr(base_csv) d = open_mem("a,b\n1,2\n", &err);
    cr_expect_eq(base_csv_require_col(d, "c", &err), -1);
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "t.csv:1: missing column c");
    g_clear_error(&err);
}

Test(csv, short_row_reports_missing_value)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = open_mem("a,b,c\n1,2\n", &err);
    cr_assert(base_csv_next(c, &err));
    double d;
    cr_expect(!base_csv_get_double(c, 2, &d, &err));
    cr_assert_not_null(err);
    cr_expect(g_str_has_prefix(err->message, "t.csv:2: column c: missing value"), "%s",
              err->message);
    g_clear_error(&err);
}

Test(csv, wide_rows_beyond_initial_capacity)
{
    GString *g = g_string_new(NULL);
    for (int i = 0; i < 200; i++)
        g_string_append_printf(g, "%sc%d", i ? "," : "", i);
    g_string_append_c(g, '\n');
    for (int i = 0; i < 200; i++)
        g_string_append_printf(g, "%s%d", i ? "," : "", i);
    GError *err = NULL;
    g_autoptr(base_csv) c = open_mem(g->str, &err);
    cr_assert_eq(base_csv_ncols(c), 200);
    cr_expect_eq(base_csv_col(c, "c199"), 199);
    cr_assert(base_csv_next(c, &err));
    cr_expect_str_eq(base_csv_field(c, 199), "199");
    g_string_free(g, TRUE);
}
