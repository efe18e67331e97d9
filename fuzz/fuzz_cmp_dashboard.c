/* fuzz/fuzz_cmp_dashboard.c: benchmark-dashboard CSV rows (compare/read_dashboard.c: columns,
 * runtime_args in both spellings, keep_going), forced, then every row rebuilt. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzc_read(fz_file("dashboard.csv", data, size), "dashboard-csv");
    return 0;
}
