/* fuzz/fuzz_cmp_infperf.c: an inference-perf results directory (compare/read_infperf.c): the
 * input is split at "%%" lines into summary_lifecycle_metrics.json, config.yaml and
 * per_request_lifecycle_metrics.json (absent parts are absent files), read as a directory. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"ip/summary_lifecycle_metrics.json", "ip/config.yaml",
                                        "ip/per_request_lifecycle_metrics.json"};
    const uint8_t *part[3];
    size_t len[3];
    size_t n = fz_split(data, size, part, len, 3);
    for (size_t i = 0; i < 3; i++) {
        if (i < n)
            fz_file(names[i], part[i], len[i]);
        else
            fz_remove(names[i]);
    }
    g_autofree char *dir = g_build_filename(fz_dir(), "ip", NULL);
    fzc_read(dir, "inference-perf");
    return 0;
}
