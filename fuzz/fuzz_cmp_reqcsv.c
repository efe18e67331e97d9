/* fuzz/fuzz_cmp_reqcsv.c: GenZ-style per-request CSVs (compare/read_reqcsv.c: column
 * spellings, units, derived TPOT / E2E, send times), forced, then rebuilt. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzc_read(fz_file("requests.csv", data, size), "request-csv");
    return 0;
}
