/* fuzz/fuzz_cmp_detect.c: which kind a measured result is, from its content
 * (compare/kinds.c), then that kind's reader and the rebuild. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzc_read(fz_file("result", data, size), NULL);
    return 0;
}
