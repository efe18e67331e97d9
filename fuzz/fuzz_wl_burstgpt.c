/* fuzz/fuzz_wl_burstgpt.c: the BurstGPT reader (workloads/readers_csv.c), forced, with its
 * default policy and with the filters and the failed-request "prefill" policy. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fz_file("BurstGPT_1.csv", data, size);
    fz_workload(p, "burstgpt", NULL);
    static const char *const filters[] = {
        "--burstgpt-model", "ChatGPT", "--burstgpt-log-type", "conversation", "--burstgpt-failed",
        "prefill",          NULL};
    fz_workload(p, "burstgpt", filters);
    return 0;
}
