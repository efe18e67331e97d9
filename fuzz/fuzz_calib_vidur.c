/* fuzz/fuzz_calib_vidur.c: Vidur's profiling tables (mlp.csv linear operators, attention.csv,
 * all_reduce.csv / send_recv.csv; timemodel/calib_import.c): one input read as each of the
 * three formats and as detected. The file name carries the model, as Vidur's do. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_VIDUR_MLP,
                                          TM_CALIB_FMT_VIDUR_ATTENTION, TM_CALIB_FMT_VIDUR_NETWORK};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("compute_h100_meta-llama_Llama-2-7b-hf_mlp.csv", data, size);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        fz_calib_import(path, formats[i], NULL);
    return 0;
}
