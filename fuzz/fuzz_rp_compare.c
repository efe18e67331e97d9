/* fuzz/fuzz_rp_compare.c: the compare view of `servesim report` (report/view_compare.c) on a
 * directory as `servesim compare --output-dir` leaves it: the input is compare.json, then, after
 * a line "%%", the compare_requests.csv it may name (requests_file). rp_report_render must
 * return a page or fail with a one-line error (bad version, wrong shapes, malformed or
 * unmatched per-request rows), never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "fuzz/fuzz.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    size_t n = fz_split(data, size, part, len, 2);
    fz_file("cmp/compare.json", part[0], len[0]);
    if (n > 1)
        fz_file("cmp/compare_requests.csv", part[1], len[1]);
    else
        fz_remove("cmp/compare_requests.csv");
    g_autofree char *dir = g_build_filename(fz_dir(), "cmp", NULL);
    const char *in = dir;
    GError *err = NULL;
    GString *page = rp_report_render(&in, 1, NULL, &err);
    fz_check_error("rp_report_render", page == NULL, &err);
    if (page != NULL)
        g_string_free(page, TRUE);
    return 0;
}
