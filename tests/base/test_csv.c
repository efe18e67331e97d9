/* tests/base/test_csv.c: splitting, quoting, header lookup, typed cells and their errors. */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#define ZLIB_CONST /* const next_in */
#include <zlib.h>

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
    cr_assert_eq(base_csv_next(c, &err), 1);
    int64_t v;
    double d;
    cr_expect(base_csv_get_int64(c, 1, &v, &err) && v == 128);
    cr_expect(base_csv_get_double(c, 2, &d, &err) && d == 0.5);
    cr_assert_eq(base_csv_next(c, &err), 1); /* blank line skipped */
    cr_expect(!base_csv_get_int64(c, 1, &v, &err));
    cr_assert_not_null(err);
    cr_expect_str_eq(err->message, "t.csv:4: column seq_len: not an integer: 'x'");
    g_clear_error(&err);
    cr_expect_eq(base_csv_next(c, &err), 0);
    cr_expect_null(err);
}

Test(csv, tab_separator_detected)
{
    GError *err = NULL;
    g_autoptr(base_csv) c = open_mem("a\tb\n1\t2\n", &err);
    cr_assert_not_null(c);
    cr_expect_eq(base_csv_sep(c), '\t');
    cr_assert_eq(base_csv_next(c, &err), 1);
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
    cr_assert_eq(base_csv_next(c, &err), 1);
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
    cr_assert_eq(base_csv_next(c, &err), 1);
    cr_expect_str_eq(base_csv_field(c, 199), "199");
    g_string_free(g, TRUE);
}

/* The one field writer: plain text as is; a separator, quote, CR or LF quoted with quotes
 * doubled (RFC 4180); and what it writes reads back through base_csv_split. */
Test(csv, field_writer_quotes_only_when_needed_and_round_trips)
{
    const char *cases[][2] = {{"plain", "plain"},       {"", ""},
                              {"a,b", "\"a,b\""},       {"say \"hi\"", "\"say \"\"hi\"\"\""},
                              {"l1\nl2", "\"l1\nl2\""}, {"cr\r", "\"cr\r\""}};
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        cr_expect_eq(base_csv_field_len(cases[i][0]), strlen(cases[i][1]), "%zu", i);
        g_string_truncate(g, 0);
        base_csv_put_field(g, cases[i][0], true);
        cr_expect_str_eq(g->str, cases[i][1]);
    }
    g_string_truncate(g, 0);
    base_csv_put_field(g, "x", true);
    base_csv_put_field(g, "a,\"b\"", false);
    base_csv_put_field(g, "", false);
    cr_expect_str_eq(g->str, "x,\"a,\"\"b\"\"\",");
    char *f[4];
    cr_assert_eq(base_csv_split(g->str, ',', f, 4), 3);
    cr_expect_str_eq(f[1], "a,\"b\"");
    cr_expect_str_eq(f[2], "");
    g_string_free(g, TRUE);
}

/* base_csv_next is 1 / 0 / -1: a gzip file cut in the middle gives rows, then -1 with the
 * error, never 0 (which a loop would take for a complete file). */
Test(csv, next_is_minus_one_on_a_truncated_gzip)
{
    GString *text = g_string_new("a,b\n");
    for (int i = 0; i < 20000; i++)
        g_string_append_printf(text, "%d,%d\n", i, i * 7919 % 10007);
    size_t cap = text->len + 1024;
    g_autofree unsigned char *gz = g_malloc(cap);
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (const Bytef *)text->str;
    zs.avail_in = (uInt)text->len;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    g_string_free(text, TRUE);
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("servesim-test-XXXXXX.csv.gz", &path, NULL);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, gz, n / 2), (ssize_t)(n / 2));
    close(fd);
    GError *err = NULL;
    base_csv *c = base_csv_open(path, 0, BASE_CSV_HEADER, &err);
    cr_assert_not_null(c, "%s", err ? err->message : "");
    int more, rows = 0;
    while ((more = base_csv_next(c, &err)) > 0)
        rows++;
    cr_expect_eq(more, -1);
    cr_expect_gt(rows, 0);
    cr_assert_not_null(err);
    cr_expect(strstr(err->message, path) != NULL, "%s", err->message);
    cr_expect(strstr(err->message, "truncated") != NULL, "%s", err->message);
    g_error_free(err);
    base_csv_free(c);
    g_unlink(path);
}
