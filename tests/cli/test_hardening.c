/* tests/cli/test_hardening.c: bad input a user fed the Release binary, end to end. Every case
 * must end in one line "servesim: FILE:LINE: what" (or "servesim: what" for flags) on stderr,
 * exit 2, no hang, no crash and no partial output; inputs are small and written inline. */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "clirun.h"
#include "tests/testutil.h"

TestSuite(hardening, .timeout = 60);

static void
expect_one_line_error(clirun *r, const char *needle)
{
    cr_expect_eq(r->code, 2, "exit %d, stderr: %s", r->code, r->err);
    cr_expect(strstr(r->err, needle) != NULL, "'%s' lacks '%s'", r->err, needle);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl != NULL && nl[1] == '\0', "one line: %s", r->err);
    cr_expect(g_str_has_prefix(r->err, "servesim: "), "%s", r->err);
}

/* The format table is NULL-terminated: the list of formats in the message ends with the last
 * one (it used to run on into unrelated strings, e.g. a column name "hidden_size"). */
Test(hardening, unknown_input_format_lists_exactly_the_formats)
{
    g_autofree char *in = tu_tmp_file(".csv", "a,b\n1,2\n");
    clirun r = clirun_exec("calibrate", "--input-format", "bogus", in, NULL);
    expect_one_line_error(&r, "unknown input format 'bogus'");
    cr_expect(strstr(r.err, "auto, measurements, steps,") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "vidur+aic-steps)\n") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "hidden_size") == NULL, "%s", r.err);
    clirun_clear(&r);
    g_unlink(in);
}
