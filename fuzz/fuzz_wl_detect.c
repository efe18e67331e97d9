/* fuzz/fuzz_wl_detect.c: workload format detection from the content (workloads/detect.c)
 * and whatever reader it picks, servesim workload specs ({"workload": {...}}) included: what
 * `--workload FILE` does with an unknown file. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "workloads/workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fz_file("workload", data, size);
    GError *err = NULL;
    const char *f = wl_detect_format(p, &err);
    fz_check_error("wl_detect_format", f == NULL, &err);
    fz_workload(p, "auto", NULL);
    return 0;
}
