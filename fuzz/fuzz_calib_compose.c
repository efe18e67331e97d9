/* fuzz/fuzz_calib_compose.c: step samples composed from a Vidur mlp.csv and aiconfigurator
 * context / generation attention tables, plus its custom all-reduce table
 * (tm_calib_compose_tables; timemodel/calib_import.c). One input holds the files in that
 * order separated by lines "%%"; an empty or missing all-reduce part means none. The Vidur
 * file name names the model (Llama-2-70B), as Vidur's do. */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "base/opts.h"
#include "fuzz/fuzz.h"
#include "timemodel/calib_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[4];
    size_t len[4];
    size_t n = fz_split(data, size, part, len, 4);
    for (size_t i = n; i < 4; i++) {
        part[i] = data;
        len[i] = 0;
    }
    g_autofree char *mlp =
        g_strdup(fz_file("compute_h100_meta-llama_Llama-2-70b-hf_mlp.csv", part[0], len[0]));
    g_autofree char *ctx =
        g_strdup(fz_file("vllm_context_attention_perf.bf16kv.csv", part[1], len[1]));
    g_autofree char *gen =
        g_strdup(fz_file("vllm_generation_attention_perf.bf16kv.csv", part[2], len[2]));
    g_autofree char *ar = g_strdup(fz_file("vllm_custom_allreduce_perf.csv", part[3], len[3]));
    const char *att[] = {ctx, gen};

    const base_opt_set set = {&tm_options_table, 1};
    tm_options tm = {0};
    base_opts_defaults(&set, &tm);
    g_clear_pointer(&tm.model, g_free); /* from the Vidur file name */
    tm_calib_import_opts o;
    tm_calib_import_opts_defaults(&o, &tm);
    tm_calib_data *d = tm_calib_data_new();
    tm_calib_import_info info;
    GError *err = NULL;
    gboolean ok = tm_calib_compose_tables(d, mlp, att, 2, len[3] > 0 ? ar : NULL, &o, &info, &err);
    fz_check_error("tm_calib_compose_tables", !ok, &err);
    if (ok) {
        fz_calib_check(d);
        tm_calib_import_info_clear(&info);
    }
    tm_calib_data_free(d);
    base_opts_clear(&set, &tm);
    return 0;
}
