/* fuzz/fuzz_tm_hardware.c: hardware JSON files (timemodel/hardware.c, "base" inheritance from a
 * preset included), then the time model the simulator builds on that GPU for Llama-3.1-8B
 * (memory plan, vLLM defaults, step prices), uncalibrated and with the hardware's default
 * calibration lookup. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "timemodel/hardware.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("gpu.json", data, size);
    tm_hardware hw;
    GError *err = NULL;
    gboolean ok = tm_hardware_load(&hw, path, &err);
    fz_check_error("tm_hardware_load", !ok, &err);
    if (!ok)
        return 0;
    (void)tm_hardware_memory_gib(&hw);
    tm_hardware_clear(&hw);
    const char *flags[] = {"--hardware", path, "--calibration", "none", NULL};
    fz_setup(flags);
    const char *tp2[] = {"--hardware", path, "--model", "mixtral-8x7b", "--tensor-parallel-size",
                         "2",          NULL};
    fz_setup(tp2);
    return 0;
}
