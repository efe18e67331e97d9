/* tests/cli/test_analyze.c: `servesim analyze workload` end to end: the embedded default,
 * --json, transforms through flags, one-line errors with exit code 2 for bad rows and
 * missing files, --skip-bad-rows reporting. */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <jansson.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(analyze, .timeout = 120);

Test(analyze, default_workload_text)
{
    clirun r = clirun_exec("analyze", "workload", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "workload       azure-conv-10min (format azure)") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "requests       2867") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "CV 1.103") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "rate over time") != NULL);
    clirun_clear(&r);
}

Test(analyze, json_with_flags)
{
    clirun r =
        clirun_exec("analyze", "workload", "burstgpt-sample", "--json", "--limit", "100", NULL);
    cr_assert_eq(r.code, 0, "%s", r.err);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(j, "format")), "burstgpt");
    cr_expect_eq(json_integer_value(json_object_get(j, "requests")), 100);
    json_t *c = json_object_get(j, "counters");
    cr_expect_eq(json_integer_value(json_object_get(c, "emitted")), 100);
    cr_expect(json_is_object(json_object_get(j, "prefix_sharing")));
    cr_expect(json_is_array(json_object_get(json_object_get(j, "rate_over_time"), "counts")));
    json_decref(j);
    clirun_clear(&r);
}

Test(analyze, bad_row_is_one_line_exit_2)
{
    g_autofree char *p = tu_tmp_file(".csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                             "2023-11-16 18:15:46.68,10,5\n"
                                             "2023-11-16 18:15:47.00,10,zero\n");
    clirun r = clirun_exec("analyze", "workload", p, NULL);
    cr_expect_eq(r.code, 2);
    g_autofree char *want =
        g_strdup_printf("servesim: %s:3: column GeneratedTokens: not an integer: 'zero'\n", p);
    cr_expect_str_eq(r.err, want);
    cr_expect_str_eq(r.out, "");
    clirun_clear(&r);
    r = clirun_exec("analyze", "workload", p, "--skip-bad-rows", NULL);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect(strstr(r.out, "requests       1  (rows 2, skipped bad 1") != NULL, "%s", r.out);
    cr_expect(strstr(r.err, "skipped 1 malformed rows (first: ") != NULL, "%s", r.err);
    clirun_clear(&r);
    unlink(p);
}

Test(analyze, usage_errors_exit_2)
{
    clirun r = clirun_exec("analyze", "workload", "/no/such/file.csv", NULL);
    cr_expect_eq(r.code, 2);
    cr_expect(strstr(r.err, "/no/such/file.csv: no such file or embedded workload") != NULL, "%s",
              r.err);
    clirun_clear(&r);
    r = clirun_exec("analyze", "trace", NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
    r = clirun_exec("analyze", "workload", "--rate", "fast", NULL);
    cr_expect_eq(r.code, 2);
    clirun_clear(&r);
}
