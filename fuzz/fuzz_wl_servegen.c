/* fuzz/fuzz_wl_servegen.c: the ServeGen generator's two inputs (workloads/servegen.c): the
 * per-window trace CSV and the length-PMF dataset JSON, one input holding both separated by a
 * line "%%" (trace first). Opened through the trace (dataset found as its sibling) and through
 * the dataset (trace found as its sibling). */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    size_t n = fz_split(data, size, part, len, 2);
    if (n < 2) {
        part[1] = part[0];
        len[1] = 0;
    }
    fz_file("chunk-0-dataset.json", part[1], len[1]);
    const char *trace = fz_file("chunk-0-trace.csv", part[0], len[0]);
    fz_workload(trace, "servegen", NULL);
    g_autofree char *ds = g_build_filename(fz_dir(), "chunk-0-dataset.json", NULL);
    fz_workload(ds, "servegen", NULL);
    return 0;
}
