/* fuzz/fuzz_calib_measurements.c: the measurements CSV users paste into `servesim calibrate`
 * (tp, dp, batch_per_gpu, seq_len, decode_tokens, grad_accum, measured_prefill_ms,
 * measured_decode_ms; per-row model / hardware / dtype columns; timemodel/calib_import.c),
 * detected and forced, then fitted. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_MEASUREMENTS};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("measurements.csv", data, size);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        fz_calib_import(path, formats[i], NULL);
    return 0;
}
