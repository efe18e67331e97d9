/* fuzz/fuzz_calib_lss.c: LLMServingSim's per-table profiles (dense.csv, attention.csv,
 * per_sequence.csv under tpN/ beside meta.yaml, and the v0 *_tpN_layers.csv; timemodel/
 * calib_import.c): one input read as each of the four formats and as detected, priced with
 * Llama-3.1-8B on an RTX 4090 (the harness's meta.yaml is absent, so --model and --hardware
 * apply). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const flags[] = {"--model", "llama-3.1-8b", "--hardware", "rtx4090", NULL};
static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_LSS_DENSE,
                                          TM_CALIB_FMT_LSS_ATTENTION, TM_CALIB_FMT_LSS_PER_SEQUENCE,
                                          TM_CALIB_FMT_LSS_V0_LAYERS};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("Llama-3.1-8B_tp2_layers.csv", data, size);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        fz_calib_import(path, formats[i], flags);
    return 0;
}
