/* fuzz/fuzz_wl_azure.c: the Azure LLM inference trace reader (workloads/readers_csv.c),
 * forced, with and without the transforms. Seeds: fuzz/corpus/wl_azure/. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_workload(fz_file("AzureLLMInferenceTrace_conv.csv", data, size), "azure", NULL);
    return 0;
}
