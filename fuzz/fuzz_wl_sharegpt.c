/* fuzz/fuzz_wl_sharegpt.c: the ShareGPT / Vidur length-table CSV reader
 * (num_prefill_tokens, num_decode_tokens; workloads/readers_csv.c) with a Poisson arrival
 * process, forced. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_workload(fz_file("sharegpt_stats.csv", data, size), "sharegpt", NULL);
    return 0;
}
