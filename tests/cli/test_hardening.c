/* tests/cli/test_hardening.c: bad input a user fed the Release binary, end to end. Every case
 * must end in one line "servesim: FILE:LINE: what" (or "servesim: what" for flags) on stderr,
 * exit 2, no hang, no crash and no partial output; inputs are small and written inline. */
#include <math.h>
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

/* Column I (0-based) of data row ROW of a CSV text, as a number. */
static double
csv_num(const char *text, int row, int col)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    cr_assert(g_strv_length(lines) > (guint)row, "%s", text);
    g_auto(GStrv) f = g_strsplit(lines[row], ",", -1);
    cr_assert(g_strv_length(f) > (guint)col, "%s", lines[row]);
    return g_ascii_strtod(f[col], NULL);
}

/* grad_accum = micro-batches back to back (timemodel/scenario.h): a row's prefill and decode
 * times are grad_accum × those of one batch, and `estimate --scenarios` and `calibrate
 * --predict` (one shared reader) print the same figures for the same row. */
Test(hardening, estimate_and_predict_agree_and_scale_with_grad_accum)
{
    g_autofree char *in =
        tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum\n"
                            "1,1,8,1024,16,1\n"
                            "1,1,8,1024,16,4\n");
    clirun e = clirun_exec("estimate", "--scenarios", in, "--calibration", "none", NULL);
    cr_assert_eq(e.code, 0, "%s", e.err);
    clirun p = clirun_exec("calibrate", "--predict", "none", in, NULL);
    cr_assert_eq(p.code, 0, "%s", p.err);
    /* columns 6, 7: predicted_prefill_ms, predicted_decode_ms in both outputs */
    for (int col = 6; col <= 7; col++) {
        double one = csv_num(e.out, 1, col), four = csv_num(e.out, 2, col);
        cr_expect_gt(one, 0.0);
        cr_expect(fabs(four - 4.0 * one) <= 1e-3 * four, "col %d: %g vs 4 × %g", col, four, one);
        for (int row = 1; row <= 2; row++)
            cr_expect(fabs(csv_num(p.out, row, col) - csv_num(e.out, row, col)) < 1e-3,
                      "row %d col %d: predict %s\nestimate %s", row, col, p.out, e.out);
    }
    /* TPOT (column 8 of estimate) is per step: the same for both rows */
    cr_expect(fabs(csv_num(e.out, 1, 8) - csv_num(e.out, 2, 8)) < 1e-3, "%s", e.out);
    clirun_clear(&e);
    clirun_clear(&p);
    g_unlink(in);
}

/* `calibrate --predict CAL scenarios.csv` reads a scenarios CSV without measured columns, and
 * "auto" / "none" are calibrations there (they used to fall back to a fit). */
Test(hardening, predict_reads_plain_scenarios_with_auto_or_none)
{
    g_autofree char *in =
        tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum\n"
                            "1,1,4,512,8,1\n");
    const char *cals[] = {"auto", "none"};
    for (int i = 0; i < 2; i++) {
        clirun r = clirun_exec("calibrate", "--predict", cals[i], in, NULL);
        cr_expect_eq(r.code, 0, "%s: %s", cals[i], r.err);
        cr_expect(g_str_has_prefix(r.out, "tp,dp,batch_per_gpu,seq_len,decode_tokens,grad_accum,"
                                          "predicted_prefill_ms,predicted_decode_ms"),
                  "%s: %s", cals[i], r.out);
        cr_expect(csv_num(r.out, 1, 6) > 0, "%s", r.out);
        clirun_clear(&r);
    }
    g_unlink(in);
}

/* An error in a scenarios row names FILE:LINE once (it used to be printed twice). */
Test(hardening, estimate_scenario_error_names_file_and_line_once)
{
    g_autofree char *in = tu_tmp_file(".csv", "tp,dp,batch_per_gpu,seq_len,decode_tokens\n"
                                              "1,1,4,512,8\n"
                                              "3,1,4,512,8\n");
    clirun r = clirun_exec("estimate", "--scenarios", in, "--calibration", "none", NULL);
    g_autofree char *where = g_strdup_printf("%s:3: ", in);
    expect_one_line_error(&r, where);
    const char *first = strstr(r.err, where);
    cr_expect(first != NULL && strstr(first + 1, where) == NULL, "twice: %s", r.err);
    cr_expect_str_eq(r.out, "", "no partial output");
    clirun_clear(&r);
    g_unlink(in);
}
