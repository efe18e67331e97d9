/* fuzz/fuzz_scenarios.c: the scenarios CSV (tp, dp, batch_per_gpu, seq_len, decode_tokens,
 * grad_accum, pp and per-row model / hardware / dtype columns) through both of its readers:
 * `servesim estimate --scenarios FILE` (tools/cmd_estimate.c, linked in with the rest of
 * tools/ but main.c), with and without --keep-going, and `servesim calibrate --predict`
 * (tm_calib_predict_csv). The CLI must exit 0 or 2 (bad input), never 1 or crash; its error
 * lines go to /dev/null (stderr is swapped around the call; sanitizer reports use fd 2). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "base/opts.h"
#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"
#include "tools/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
estimate(const char *path, const char *out, bool keep_going)
{
    static FILE *devnull;
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    const char *argv[] = {"estimate", "--scenarios", path, "--output", out, "--keep-going", NULL};
    int argc = keep_going ? 6 : 5;
    FILE *saved = stderr;
    stderr = devnull;
    int rc = cmd_estimate(argc, (char **)(uintptr_t)argv);
    stderr = saved;
    if (rc != CLI_OK && rc != CLI_USAGE) {
        fprintf(stderr, "fuzz: estimate --scenarios exited %d\n", rc);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *path = g_strdup(fz_file("scenarios.csv", data, size));
    g_autofree char *out = g_build_filename(fz_dir(), "predicted.csv", NULL);
    estimate(path, out, false);
    estimate(path, out, true);

    const base_opt_set set = {&tm_options_table, 1};
    tm_options tm = {0};
    base_opts_defaults(&set, &tm);
    tm_calib_import_opts o;
    tm_calib_import_opts_defaults(&o, &tm);
    /* detected (scenarios with measured columns, or steps), then forced as scenarios */
    static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_MEASUREMENTS};
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        o.format = formats[i];
        GString *g = g_string_new(NULL);
        double mape[3];
        size_t n[3];
        GError *err = NULL;
        gboolean ok = tm_calib_predict_csv(path, &o, g, mape, n, &err);
        fz_check_error("tm_calib_predict_csv", !ok, &err);
        g_string_free(g, TRUE);
    }
    base_opts_clear(&set, &tm);
    return 0;
}
