/* fuzz/fuzz_cmp_lss.c: LLMServingSim measured runs (compare/read_lss.c): the input is split
 * at "%%" lines into requests.jsonl and meta.json (absent = no meta.json) of a run directory. */
#include "fuzz/compare_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    size_t n = fz_split(data, size, part, len, 2);
    fz_file("run/requests.jsonl", part[0], len[0]);
    if (n > 1)
        fz_file("run/meta.json", part[1], len[1]);
    else
        fz_remove("run/meta.json");
    g_autofree char *dir = g_build_filename(fz_dir(), "run", NULL);
    fzc_read(dir, "llmservingsim");
    return 0;
}
