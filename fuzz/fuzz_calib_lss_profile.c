/* fuzz/fuzz_calib_lss_profile.c: an LLMServingSim profile directory composed into step samples
 * (tm_calib_import on a directory -> tm_calib_compose_profile; timemodel/calib_import.c):
 * meta.yaml (model and hardware), tp1/dense.csv, tp1/attention.csv, tp1/per_sequence.csv, one
 * input holding the four files in that order separated by lines "%%". A missing part is a
 * missing file. */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {"prof/meta.yaml", "prof/tp1/dense.csv",
                                    "prof/tp1/attention.csv", "prof/tp1/per_sequence.csv"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[G_N_ELEMENTS(files)];
    size_t len[G_N_ELEMENTS(files)];
    size_t n = fz_split(data, size, part, len, G_N_ELEMENTS(files));
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        if (i < n)
            fz_file(files[i], part[i], len[i]);
        else
            fz_remove(files[i]);
    }
    g_autofree char *dir = g_build_filename(fz_dir(), "prof", "tp1", NULL);
    fz_calib_import(dir, TM_CALIB_FMT_AUTO, NULL);
    return 0;
}
