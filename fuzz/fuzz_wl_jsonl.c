/* fuzz/fuzz_wl_jsonl.c: the per-request JSONL reader (input_toks, output_toks,
 * arrival_time_ns, optional token ids; workloads/readers_jsonl.c), forced. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_workload(fz_file("requests.jsonl", data, size), "jsonl", NULL);
    return 0;
}
