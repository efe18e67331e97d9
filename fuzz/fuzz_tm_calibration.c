/* fuzz/fuzz_tm_calibration.c: calibration files (servesim-calibration/1; timemodel/
 * calibration.c) and the calibrated time model built from one (timemodel/setup.c folds the
 * per-kernel terms into the step overhead for the model): memory plan and step prices. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz.h"
#include "timemodel/calibration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("calibration.json", data, size);
    tm_calibration c;
    GError *err = NULL;
    gboolean ok = tm_calibration_load(&c, path, &err);
    fz_check_error("tm_calibration_load", !ok, &err);
    if (!ok)
        return 0;
    tm_hardware hw;
    if (!tm_hardware_load(&hw, "h100-sxm", NULL))
        abort();
    tm_roofline_params p;
    tm_roofline_params_defaults(&p, &hw);
    tm_calibration_apply(&c, &p);
    tm_hardware_clear(&hw);
    tm_calibration_clear(&c);
    const char *flags[] = {"--calibration", path, NULL};
    fz_setup(flags);
    const char *moe[] = {
        "--calibration",          path, "--model", "deepseek-v3", "--hardware", "h200",
        "--tensor-parallel-size", "8",  "--dtype", "fp8",         NULL};
    fz_setup(moe);
    return 0;
}
