/* timemodel/scenario.c: the scenario CSV row reader and pricer shared by `estimate
 * --scenarios` and `calibrate` (see scenario.h for the meaning of each column). Batches of
 * identical sequences are built with tm_batch_add_n, so a row costs O(decode_tokens) pricing
 * calls whatever its batch size; the ranges bound that and keep seq_len + j exact. */
#include "timemodel/scenario.h"

#include <string.h>

#include "base/match.h"
#include "base/opts.h"

const char *const tm_scenario_cols[] = {
    [TM_SC_TP] = "tp",
    [TM_SC_DP] = "dp",
    [TM_SC_PP] = "pp",
    [TM_SC_MODEL] = "model",
    [TM_SC_HARDWARE] = "hardware",
    [TM_SC_DTYPE] = "dtype",
    [TM_SC_KV_DTYPE] = "kv_cache_dtype",
    [TM_SC_BATCH] = "batch_per_gpu",
    [TM_SC_SEQ_LEN] = "seq_len",
    [TM_SC_DECODE] = "decode_tokens",
    [TM_SC_GRAD_ACCUM] = "grad_accum",
    NULL,
};
G_STATIC_ASSERT(BASE_STRV_N(tm_scenario_cols) == TM_SC_COUNT);

void
tm_scenario_layout_get(const base_csv *c, tm_scenario_layout *l)
{
    for (int i = 0; i < TM_SC_COUNT; i++)
        l->col[i] = base_csv_col(c, tm_scenario_cols[i]);
}

static bool
empty(const base_csv *c, int col)
{
    if (col < 0)
        return true;
    const char *s = base_csv_field(c, (size_t)col);
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* An integer cell in [MIN, MAX], or DEF when the column is absent or the cell empty. */
static gboolean
cell(const base_csv *c, int col, int64_t def, int64_t min, int64_t max, int64_t *out, GError **e)
{
    if (empty(c, col)) {
        *out = def;
        return TRUE;
    }
    if (!base_csv_get_int64(c, col, out, e))
        return FALSE;
    if (*out < min || *out > max) {
        base_csv_set_error(c, col, e,
                           "must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                           ", got %" G_GINT64_FORMAT,
                           min, max, *out);
        return FALSE;
    }
    return TRUE;
}

gboolean
tm_scenario_read(const base_csv *c,
                 const tm_scenario_layout *l,
                 const tm_scenario_defaults *d,
                 tm_options *o,
                 tm_scenario *s,
                 GError **error)
{
    base_opt_set set = {&tm_options_table, 1};
    base_opts_copy(&set, o, d->tm);
    const int *k = l->col;
    if (!cell(c, k[TM_SC_TP], o->tp, 1, TM_SCENARIO_MAX_PARALLEL, &o->tp, error) ||
        !cell(c, k[TM_SC_DP], o->dp, 1, TM_SCENARIO_MAX_PARALLEL, &o->dp, error) ||
        !cell(c, k[TM_SC_PP], o->pp, 1, TM_SCENARIO_MAX_PARALLEL, &o->pp, error))
        return FALSE;
    static const char *const paths[] = {"model.name", "hardware.name", "model.dtype",
                                        "model.kv_cache_dtype", NULL};
    for (int i = 0; paths[i] != NULL; i++) {
        int col = k[TM_SC_MODEL + i];
        if (empty(c, col))
            continue;
        GError *e = NULL;
        if (!base_opts_set_string(&set, o, paths[i], base_csv_field(c, (size_t)col), &e)) {
            base_csv_set_error(c, col, error, "%s", e->message);
            g_error_free(e);
            return FALSE;
        }
    }
    if (s == NULL)
        return TRUE;
    const tm_scenario *def = &d->shape;
    return cell(c, k[TM_SC_BATCH], def->batch, 1, TM_SCENARIO_MAX_BATCH, &s->batch, error) &&
           cell(c, k[TM_SC_SEQ_LEN], def->seq_len, 1, TM_SCENARIO_MAX_SEQ_LEN, &s->seq_len,
                error) &&
           cell(c, k[TM_SC_DECODE], def->decode_tokens, 0, TM_SCENARIO_MAX_DECODE,
                &s->decode_tokens, error) &&
           cell(c, k[TM_SC_GRAD_ACCUM], def->grad_accum, 1, TM_SCENARIO_MAX_GRAD_ACCUM,
                &s->grad_accum, error);
}

gboolean
tm_scenario_check_context(const base_csv *c,
                          const tm_scenario_layout *l,
                          const tm_scenario *s,
                          const tm_model_spec *m,
                          GError **error)
{
    int64_t need = s->seq_len + s->decode_tokens; /* both range-checked: no overflow */
    if (need <= m->max_position_embeddings)
        return TRUE;
    int col = s->decode_tokens > 0 && l->col[TM_SC_DECODE] >= 0 ? l->col[TM_SC_DECODE]
                                                                : l->col[TM_SC_SEQ_LEN];
    base_csv_set_error(c, col, error,
                       "seq_len + decode_tokens = %" G_GINT64_FORMAT
                       " exceeds the context of %s (%" G_GINT64_FORMAT " tokens)",
                       need, m->name, m->max_position_embeddings);
    return FALSE;
}

void
tm_scenario_prefill_batch(tm_batch *b, uint32_t dsa_topk, const tm_scenario *s)
{
    tm_batch_init(b, dsa_topk);
    tm_batch_add_n(b, (uint32_t)s->batch, (uint64_t)s->seq_len, 0, true);
}

void
tm_scenario_decode_batch(tm_batch *b, uint32_t dsa_topk, const tm_scenario *s, int64_t j)
{
    tm_batch_init(b, dsa_topk);
    tm_batch_add_n(b, (uint32_t)s->batch, 1, (uint64_t)(s->seq_len + j), true);
}

void
tm_scenario_price(const tm_timemodel *tm,
                  uint32_t dsa_topk,
                  const tm_scenario *s,
                  double *prefill_s,
                  double *decode_s)
{
    tm_batch b;
    tm_scenario_prefill_batch(&b, dsa_topk, s);
    double p = tm_step_s(tm, &b, NULL), d = 0.0;
    for (int64_t j = 0; j < s->decode_tokens; j++) {
        tm_scenario_decode_batch(&b, dsa_topk, s, j);
        d += tm_step_s(tm, &b, NULL);
    }
    *prefill_s = p * (double)s->grad_accum;
    *decode_s = d * (double)s->grad_accum;
}
