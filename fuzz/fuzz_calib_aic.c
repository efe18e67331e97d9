/* fuzz/fuzz_calib_aic.c: aiconfigurator's H100 tables (GEMM, context / generation attention,
 * custom all-reduce, NCCL; timemodel/calib_import.c): one input read as each of the four
 * formats and as detected, priced with Llama-3.1-8B. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tm_calib_format formats[] = {TM_CALIB_FMT_AUTO, TM_CALIB_FMT_AIC_GEMM,
                                          TM_CALIB_FMT_AIC_ATTENTION, TM_CALIB_FMT_AIC_ALLREDUCE,
                                          TM_CALIB_FMT_AIC_NCCL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("aic_perf.csv", data, size);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        fz_calib_import(path, formats[i], NULL);
    return 0;
}
