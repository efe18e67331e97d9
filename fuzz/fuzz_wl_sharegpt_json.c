/* fuzz/fuzz_wl_sharegpt_json.c: the ShareGPT conversations reader (JSON array of
 * {"conversations": [...]}; workloads/sharegpt.c) in both modes, full and per_user_turn. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = fz_file("sharegpt.json", data, size);
    static const char *const full[] = {"--sharegpt-mode", "full", NULL};
    static const char *const turns[] = {"--sharegpt-mode", "per_user_turn", NULL};
    fz_workload(p, "sharegpt-json", full);
    fz_workload(p, "sharegpt-json", turns);
    return 0;
}
