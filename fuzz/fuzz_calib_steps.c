/* fuzz/fuzz_calib_steps.c: the per-step CSV of `servesim calibrate` (prefill_tokens,
 * prefill_seqs, prefill_context, decode_seqs, decode_context, measured_step_ms; docs/
 * calibration.md; timemodel/calib_import.c), detected and forced, then fitted. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_STEPS};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("steps.csv", data, size);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        fz_calib_import(path, formats[i], NULL);
    return 0;
}
