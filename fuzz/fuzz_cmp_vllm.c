/* fuzz/fuzz_cmp_vllm.c: `vllm bench serve --save-result` JSON (with --save-detailed arrays and
 * servesim's servesim_config; compare/read_vllm.c), forced, then rebuilt. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzc_read(fz_file("result.json", data, size), "vllm-bench");
    return 0;
}
