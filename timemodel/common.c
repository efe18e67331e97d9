/* timemodel/common.c: error domain, dtype table, parallel layout helpers. */
#include "timemodel/common.h"

#include <string.h>

G_DEFINE_QUARK(tm - error - quark, tm_error)

static const struct {
    const char *name;
    double bytes;
} dtypes[TM_DTYPE_COUNT] = {
    [TM_DTYPE_BF16] = {"bf16", 2.0}, [TM_DTYPE_FP16] = {"fp16", 2.0},
    [TM_DTYPE_FP8] = {"fp8", 1.0},   [TM_DTYPE_INT8] = {"int8", 1.0},
    [TM_DTYPE_INT4] = {"int4", 0.5}, [TM_DTYPE_MXFP4] = {"mxfp4", 0.53125},
};

double
tm_dtype_bytes(tm_dtype d)
{
    g_return_val_if_fail(d < TM_DTYPE_COUNT, 2.0);
    return dtypes[d].bytes;
}

const char *
tm_dtype_name(tm_dtype d)
{
    g_return_val_if_fail(d < TM_DTYPE_COUNT, "?");
    return dtypes[d].name;
}

gboolean
tm_dtype_parse(const char *s, tm_dtype *out, GError **error)
{
    static const struct {
        const char *alias;
        tm_dtype d;
    } aliases[] = {
        {"bf16", TM_DTYPE_BF16},    {"bfloat16", TM_DTYPE_BF16}, {"fp16", TM_DTYPE_FP16},
        {"float16", TM_DTYPE_FP16}, {"half", TM_DTYPE_FP16},     {"fp8", TM_DTYPE_FP8},
        {"fp8_e4m3", TM_DTYPE_FP8}, {"fp8_e5m2", TM_DTYPE_FP8},  {"int8", TM_DTYPE_INT8},
        {"int4", TM_DTYPE_INT4},
    };

    for (size_t i = 0; s != NULL && i < G_N_ELEMENTS(aliases); i++) {
        if (g_ascii_strcasecmp(s, aliases[i].alias) == 0) {
            *out = aliases[i].d;
            return TRUE;
        }
    }
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                "unknown dtype '%s' (expected bf16, fp16, fp8, int8 or int4)", s ? s : "(null)");
    return FALSE;
}

tm_parallel
tm_parallel_make(int64_t tp, int64_t pp, int64_t dp, bool expert_parallel)
{
    tm_parallel p = {tp, pp, dp, expert_parallel ? tp * dp : 1};
    return p;
}

int64_t
tm_parallel_gpus(const tm_parallel *p)
{
    return p->tp * p->pp * p->dp;
}

int64_t
tm_pp_stage_layers(int64_t layers, int64_t pp, int64_t s, int64_t *first)
{
    g_return_val_if_fail(pp >= 1 && s >= 0 && s < pp, 0);
    int64_t base = layers / pp, rem = layers % pp;
    int64_t lo = 0, n = 0;
    for (int64_t i = 0; i <= s; i++) {
        /* partitions[-k] += 1 for k in 2 .. rem + 1: stages pp−2, pp−3, ..., pp−1−rem */
        n = base + (i >= pp - 1 - rem && i <= pp - 2 ? 1 : 0);
        if (i < s)
            lo += n;
    }
    if (first != NULL)
        *first = lo;
    return n;
}
