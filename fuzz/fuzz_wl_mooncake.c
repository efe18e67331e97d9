/* fuzz/fuzz_wl_mooncake.c: the Mooncake JSONL reader (timestamps, lengths, hash_ids
 * turned into shared content; workloads/readers_jsonl.c), forced. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_workload(fz_file("conversation_trace.jsonl", data, size), "mooncake", NULL);
    return 0;
}
