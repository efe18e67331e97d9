/* fuzz/fuzz_wl_infperf.c: inference-perf specs (data and load sections: shared_prefix,
 * random, multi-turn, constant / poisson / concurrent stages; workloads/infperf.c), forced. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_workload(fz_file("inference-perf.json", data, size), "inference-perf", NULL);
    return 0;
}
