/* tools/cmd_report.c: `servesim report IN... -o report.html`: one self-contained HTML page with
 * the charts that fit the inputs (report/report.h, docs/report.md). The page is written to a
 * temporary name and renamed, so a failed report leaves nothing behind; bad input exits 2 with
 * one line naming the file. */
#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "base/opts.h"
#include "report/report.h"
#include "tools/cli.h"

static const char synopsis[] = "report IN... [-o FILE] [--title TEXT]";

typedef struct report_args {
    char *output;
    char *title;
} report_args;

#define A(f) offsetof(report_args, f)
static const base_opt rows[] = {
    {"output", "output", BASE_OPT_STRING, A(output), "report.html", NULL, 0, 0, BASE_OPT_CLI_ONLY,
     "FILE", "the HTML file to write (-o FILE)"},
    {"title", "title", BASE_OPT_STRING, A(title), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "TEXT", "page title (default: servesim report)"},
};
static const base_opt_table table = {"Report", rows, G_N_ELEMENTS(rows), 0};
static const base_opt_set set = {&table, 1};

int
cmd_report(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        g_autofree char *kinds = rp_report_kinds_help();
        g_autofree char *desc = g_strdup_printf(
            "Write one self-contained HTML page (chart library and data inlined: it opens "
            "without network access) with the charts that fit the inputs. IN is a file or a "
            "directory of servesim outputs:\n%s(docs/report.md).",
            kinds);
        cli_print_help(synopsis, desc, &set);
        return CLI_OK;
    }
    /* -o FILE is --output FILE */
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0)
            g_ptr_array_add(args, (gpointer) "--output");
        else
            g_ptr_array_add(args, argv[i]);
    }
    report_args a = {0};
    base_opts_defaults(&set, &a);
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    GError *err = NULL;
    int rc = CLI_OK;
    if (!base_opts_parse_args(&set, &a, (int)args->len, (char **)args->pdata, inputs, &err))
        rc = cli_fail(err, CLI_USAGE);
    else if (inputs->len == 0)
        rc = cli_usage_error(synopsis, "no input: name run output directories or files");
    else {
        /* reading the inputs: their errors are bad input (2); writing the page: runtime (1) */
        rp_params p = {a.title};
        GString *page = rp_report_render((const char *const *)inputs->pdata, inputs->len, &p, &err);
        if (page == NULL)
            rc = cli_fail(err, err->domain == RP_ERROR && err->code == RP_ERROR_ASSET ? CLI_RUNTIME
                                                                                      : CLI_USAGE);
        else if (!base_file_write_atomic(a.output, page->str, page->len, &err))
            rc = cli_fail(err, CLI_RUNTIME);
        else
            printf("Report written to %s (%.1f MB)\n", a.output, (double)page->len / 1e6);
        if (page != NULL)
            g_string_free(page, TRUE);
    }
    base_opts_clear(&set, &a);
    return rc;
}
