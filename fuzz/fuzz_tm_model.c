/* fuzz/fuzz_tm_model.c: model configs (Hugging Face config.json or DeepSeek's reference
 * format; timemodel/model.c), then everything the time model derives from one: parameter
 * counts, KV bytes per token, weight bytes per GPU and sharding checks for several layouts,
 * and the setup the simulator builds (memory plan, step prices) on an H100. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz.h"
#include "timemodel/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t layouts[][4] = {{1, 1, 1, 0}, {2, 1, 1, 0}, {8, 1, 1, 1}, {4, 2, 2, 1}};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("config.json", data, size);
    tm_model_spec m;
    GError *err = NULL;
    gboolean ok = tm_model_spec_load(&m, path, &err);
    fz_check_error("tm_model_spec_load", !ok, &err);
    if (!ok)
        return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++) {
        tm_parallel p =
            tm_parallel_make(layouts[i][0], layouts[i][1], layouts[i][2], layouts[i][3] != 0);
        gboolean fits = tm_model_check_parallel(&m, &p, &err);
        fz_check_error("tm_model_check_parallel", !fits, &err);
        if (!fits)
            continue;
        for (int d = 0; d < TM_DTYPE_COUNT; d++) {
            double kv = tm_model_kv_bytes_per_token_gpu(&m, (tm_dtype)d, &p);
            double w = tm_model_weight_bytes_gpu(&m, (tm_dtype)d, &p);
            if (!(kv >= 0) || !(w >= 0)) {
                fprintf(stderr, "fuzz: negative or NaN bytes: kv %g, weights %g\n", kv, w);
                abort();
            }
        }
    }
    tm_model_spec_clear(&m);
    const char *flags[] = {"--model",       path,   "--hardware", "h100-sxm",
                           "--calibration", "none", NULL};
    fz_setup(flags);
    const char *tp8[] = {
        "--model", path,  "--tensor-parallel-size",   "8", "--pipeline-parallel-size", "2",
        "--dtype", "fp8", "--enable-expert-parallel", NULL};
    fz_setup(tp8);
    return 0;
}
