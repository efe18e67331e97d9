/* timemodel/calib_compose.c: step samples composed from operator tables, the way
 * LLMServingSim and Vidur predict a step (docs/calibration.md §1.4): a composed step's
 * measured time is the sum of the measured operators of that step (interpolated on the
 * tables' grids), and its basis terms are the roofline's for the same step minus what the
 * tables do not cover.
 *   lss-profile      an LLMServingSim profile directory (dense, attention, per_sequence);
 *   vidur+aic-steps  Vidur's linear layers + aiconfigurator attention and custom all-reduce.
 * Rows beyond a table's grid are skipped with a reason, never extrapolated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "base/stats.h"
#include "timemodel/calib_internal.h"

/* ---- composed steps --------------------------------------------------------------------- */

typedef struct {
    double x, y;
} xy;

/* y(x) from table rows; replicated x merged into their median. */
typedef struct {
    GArray *pts; /* xy, ascending x once finished */
    bool done;
} series;

static series *
series_new(void)
{
    series *s = g_new0(series, 1);
    s->pts = g_array_new(FALSE, FALSE, sizeof(xy));
    return s;
}

static void
series_free(gpointer p)
{
    series *s = p;
    g_array_free(s->pts, TRUE);
    g_free(s);
}

static series *
series_get(GHashTable *h, const char *key)
{
    series *s = g_hash_table_lookup(h, key);
    if (s == NULL) {
        s = series_new();
        g_hash_table_insert(h, g_strdup(key), s);
    }
    return s;
}

static void
series_add(series *s, double x, double y)
{
    xy p = {x, y};
    g_array_append_val(s->pts, p);
    s->done = false;
}

static int
cmp_xy(const void *a, const void *b)
{
    const xy *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->y > q->y) - (p->y < q->y);
}

static void
series_finish(series *s)
{
    if (s->done)
        return;
    xy *p = (xy *)(void *)s->pts->data;
    size_t n = s->pts->len, w = 0;
    qsort(p, n, sizeof *p, cmp_xy);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j].x == p[i].x)
            j++;
        /* median of the replicates p[i..j), already sorted by y */
        double y = (j - i) % 2 ? p[i + (j - i) / 2].y
                               : 0.5 * (p[i + (j - i) / 2 - 1].y + p[i + (j - i) / 2].y);
        p[w++] = (xy){p[i].x, y};
        i = j;
    }
    g_array_set_size(s->pts, (guint)w);
    s->done = true;
}

/* Linear interpolation inside [x_first, x_last]; false outside. */
static bool
series_at(series *s, double x, double *y)
{
    series_finish(s);
    const xy *p = (const xy *)(const void *)s->pts->data;
    size_t n = s->pts->len;
    if (n == 0 || x < p[0].x || x > p[n - 1].x)
        return false;
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p[mid].x <= x)
            lo = mid;
        else
            hi = mid;
    }
    if (p[lo].x == x || lo == hi) {
        *y = p[lo].y;
        return true;
    }
    double f = (x - p[lo].x) / (p[hi].x - p[lo].x);
    *y = p[lo].y + f * (p[hi].y - p[lo].y);
    return true;
}

/* Log-log interpolation (collective time vs message size); below the first point its value
 * (the latency floor); false above the last. */
static bool
series_at_loglog(series *s, double x, double *y)
{
    series_finish(s);
    const xy *p = (const xy *)(const void *)s->pts->data;
    size_t n = s->pts->len;
    if (n == 0 || x > p[n - 1].x)
        return false;
    if (x <= p[0].x) {
        *y = p[0].y;
        return true;
    }
    size_t i = 1;
    while (p[i].x < x)
        i++;
    double f = log(x / p[i - 1].x) / log(p[i].x / p[i - 1].x);
    *y = exp(log(p[i - 1].y) + f * log(p[i].y / p[i - 1].y));
    return true;
}

/* Replaces the current table of M with PATH. */
static gboolean
open_table(tm__calib_imp *m, const char *path, GError **error)
{
    base_csv_free(m->c);
    m->c = base_csv_open(path, 0, BASE_CSV_HEADER, error);
    if (m->c == NULL)
        return FALSE;
    g_free(m->base);
    m->base = g_path_get_basename(path);
    return TRUE;
}

/* LLMServingSim layer tables (dense.csv, per_sequence.csv) into layer → series. */
static gboolean
read_layers(tm__calib_imp *m, const char *path, const char *xcol, GHashTable *out, GError **error)
{
    int lc, xc, yc;
    if (!open_table(m, path, error) || !tm__calib_need_col(m, "layer", &lc, error) ||
        !tm__calib_need_col(m, xcol, &xc, error) || !tm__calib_need_col(m, "time_us", &yc, error))
        return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        int64_t x;
        double y;
        if (!tm__calib_cell_int(m, xc, 1, &x, error) ||
            !tm__calib_cell_time(m, yc, 1e-6, &y, error))
            return FALSE;
        series_add(series_get(out, base_csv_field(m->c, (size_t)lc)), (double)x, y);
    }
    return more == 0;
}

gboolean
tm__calib_compose_profile(tm__calib_imp *m, GError **error)
{
    const char *dir = m->path;
    g_autofree char *dense = g_build_filename(dir, "dense.csv", NULL);
    g_autofree char *att = g_build_filename(dir, "attention.csv", NULL);
    g_autofree char *seq = g_build_filename(dir, "per_sequence.csv", NULL);
    m->path = att; /* meta.yaml and tpN are found from it */
    if (!tm__calib_resolve_table(m, true, error))
        return FALSE;
    tm__calib_peak *k = tm__calib_model_peak(m, error);
    if (k == NULL)
        return FALSE;
    g_autoptr(GHashTable) ds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    g_autoptr(GHashTable) ss = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    if (!read_layers(m, dense, "tokens", ds, error) || !read_layers(m, seq, "sequences", ss, error))
        return FALSE;
    static const char *const per_layer[] = {"layernorm", "qkv_proj",  "o_proj", "gate_up_proj",
                                            "act_fn",    "down_proj", NULL};
    static const char *const per_step[] = {"embedding", "final_layernorm", NULL};
    for (size_t i = 0; i < BASE_STRV_N(per_layer); i++) {
        if (g_hash_table_lookup(ds, per_layer[i]) == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: no %s rows: this profile cannot be composed into steps%s", dense,
                        per_layer[i],
                        strcmp(per_layer[i], "gate_up_proj") == 0
                            ? " (an MoE model: its expert layers are in moe.csv, which is not "
                              "imported)"
                            : "");
            return FALSE;
        }
    }
    for (size_t i = 0; i < BASE_STRV_N(per_step); i++) {
        if (g_hash_table_lookup(ds, per_step[i]) == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: no %s rows", dense, per_step[i]);
            return FALSE;
        }
    }
    series *lm = g_hash_table_lookup(ss, "lm_head"), *sam = g_hash_table_lookup(ss, "sampler");
    if (lm == NULL || sam == NULL) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: needs lm_head and sampler rows", seq);
        return FALSE;
    }
    series *rot = g_hash_table_lookup(ds, "rotary_emb");
    double L = (double)k->model->layers;
    g_autofree char *config =
        g_strdup_printf("%s tp=%" G_GINT64_FORMAT " steps", m->model_name, m->tp);
    int c[5];
    static const char *const names[] = {"prefill_chunk", "kv_prefill", "n_decode",
                                        "kv_decode",     "time_us",    NULL};
    if (!open_table(m, att, error))
        return FALSE;
    for (int i = 0; i < 5; i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        int64_t v[4];
        double ya;
        for (int i = 0; i < 4; i++)
            if (!tm__calib_cell_int(m, c[i], 0, &v[i], error))
                return FALSE;
        if (!tm__calib_cell_time(m, c[4], 1e-6, &ya, error))
            return FALSE;
        double T = (double)(v[0] + v[2]), S = (double)(v[2] + (v[0] > 0 ? 1 : 0));
        if (T == 0) {
            tm__calib_skip(m, "empty batch (no chunk, no decodes)");
            continue;
        }
        double layer = ya, t, step = 0.0;
        bool ok = true;
        for (size_t i = 0; i < BASE_STRV_N(per_layer) && ok; i++) {
            ok = series_at(g_hash_table_lookup(ds, per_layer[i]), T, &t);
            /* two RMSNorms per layer (input and post-attention) */
            layer += strcmp(per_layer[i], "layernorm") == 0 ? 2.0 * t : t;
        }
        if (ok && rot != NULL) {
            ok = series_at(rot, T, &t);
            layer += t;
        }
        for (size_t i = 0; i < BASE_STRV_N(per_step) && ok; i++) {
            ok = series_at(g_hash_table_lookup(ds, per_step[i]), T, &t);
            step += t;
        }
        if (!ok) {
            tm__calib_skip(m, "steps with more tokens than dense.csv covers");
            continue;
        }
        double tl, ts;
        if (!series_at(lm, S, &tl) || !series_at(sam, S, &ts)) {
            tm__calib_skip(m, "steps with more sequences than per_sequence.csv covers");
            continue;
        }
        double y = L * layer + step + tl + ts;
        tm_batch b;
        tm_batch_init(&b, k->topk);
        if (v[0] > 0)
            tm_batch_add(&b, (uint64_t)v[0], (uint64_t)v[1], true);
        tm_batch_add_n(&b, (uint32_t)v[2], 1, (uint64_t)v[3], true);
        tm__calib_stepacc a = {0};
        /* a profile of a TP shard runs on one GPU: no collectives were measured */
        tm__calib_stepacc_add(&a, k, &b, NULL, TM__CALIB_COMM_NONE);
        g_autofree char *desc = g_strdup_printf("step chunk=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT
                                                " decode=%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
                                                v[0], v[1], v[2], v[3]);
        tm__calib_add_step_sample(m, y, &a, config, desc);
    }
    return more == 0;
}

/* The preset a Vidur profile file is named after ("compute_h100_meta-llama_Llama-2-7b-hf_mlp.csv"
 * → llama-2-7b; "..._CodeLlama-34b-Instruct-hf_mlp.csv" → codellama-34b). */
static char *
vidur_model(const char *base)
{
    g_autofree char *s = g_ascii_strdown(base, -1);
    if (g_str_has_suffix(s, "_mlp.csv"))
        s[strlen(s) - strlen("_mlp.csv")] = '\0';
    const char *name = strrchr(s, '_') != NULL ? strrchr(s, '_') + 1 : s;
    g_autofree char *n = g_strdup(name);
    static const char *const suffixes[] = {"-hf", "-instruct", NULL};
    for (size_t i = 0; i < BASE_STRV_N(suffixes); i++)
        if (g_str_has_suffix(n, suffixes[i]))
            n[strlen(n) - strlen(suffixes[i])] = '\0';
    return g_steal_pointer(&n);
}

typedef struct {
    bool context;
    int64_t heads, kv, batch, x; /* x: isl (context) or step (generation) */
    GArray *y;
} att_entry;

static void
att_entry_free(gpointer p)
{
    att_entry *e = p;
    g_array_free(e->y, TRUE);
    g_free(e);
}

static int
cmp_att(const void *a, const void *b)
{
    const att_entry *p = *(const att_entry *const *)a, *q = *(const att_entry *const *)b;
#define CMP(f)                                                                                     \
    if (p->f != q->f)                                                                              \
        return p->f < q->f ? -1 : 1;
    CMP(context)
    CMP(heads)
    CMP(kv)
    CMP(batch)
    CMP(x)
#undef CMP
    return 0;
}

static gboolean
read_aic_attention(
    tm__calib_imp *m, const char *path, GHashTable *by_key, GPtrArray *list, GError **error)
{
    static const char *const names[] = {"batch_size", "isl",  "num_heads", "num_key_value_heads",
                                        "head_dim",   "step", "latency",   "op_name",
                                        NULL};
    int c[BASE_STRV_N(names)];
    if (!open_table(m, path, error))
        return FALSE;
    for (size_t i = 0; i < BASE_STRV_N(names); i++)
        if (!tm__calib_need_col(m, names[i], &c[i], error))
            return FALSE;
    int kvc = base_csv_col(m->c, "kv_cache_dtype");
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        const char *opn = base_csv_field(m->c, (size_t)c[7]);
        bool context = strcmp(opn, "context_attention") == 0;
        if (!context && strcmp(opn, "generation_attention") != 0) {
            base_csv_set_error(m->c, c[7], error,
                               "expected context_attention or generation_attention, got '%s'", opn);
            return FALSE;
        }
        if (kvc >= 0 && g_ascii_strcasecmp(base_csv_field(m->c, (size_t)kvc), "bfloat16") != 0 &&
            g_ascii_strcasecmp(base_csv_field(m->c, (size_t)kvc), "float16") != 0)
            continue; /* the composed steps use a 16-bit KV cache */
        int64_t v[6];
        double y;
        for (int i = 0; i < 6; i++)
            if (!tm__calib_cell_int(m, c[i], i == 5 ? 0 : 1, &v[i], error))
                return FALSE;
        if (!tm__calib_cell_time(m, c[6], 1e-3, &y, error))
            return FALSE;
        if (v[4] != 128)
            continue; /* head_dim of the Vidur models */
        int64_t x = context ? v[1] : v[5];
        g_autofree char *key = g_strdup_printf("%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                                               "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
                                               context, v[2], v[3], v[0], x);
        att_entry *e = g_hash_table_lookup(by_key, key);
        if (e == NULL) {
            e = g_new0(att_entry, 1);
            *e = (att_entry){context, v[2], v[3],
                             v[0],    x,    g_array_new(FALSE, FALSE, sizeof(double))};
            g_hash_table_insert(by_key, g_steal_pointer(&key), e);
            g_ptr_array_add(list, e);
        }
        g_array_append_val(e->y, y);
    }
    return more == 0;
}

static double
median_of(GArray *a)
{
    double *y = (double *)(void *)a->data;
    base_sort_doubles(y, a->len);
    return base_percentile_sorted(y, a->len, 50);
}

/* The Vidur operators a composed step takes: the linear layers. Vidur's norms, rotary,
 * residual adds, activation and embedding are unfused PyTorch kernels (2.5x the roofline's
 * bytes at 4096 tokens where vLLM's fused ones are at ~0.8x, LLMServingSim RTX 4090): they are
 * left out of both sides, so the elementwise efficiency keeps its default. */
static const struct {
    const char *op;
    double per_layer;
} vidur_layer_ops[] = {
    {"attn_pre_proj", 1},
    {"attn_post_proj", 1},
    {"mlp_up_proj", 1},
    {"mlp_down_proj", 1},
};

/* Roofline operators the composed Vidur + aiconfigurator steps do not cover. */
static const char *const not_in_vidur_steps[] = {
    "lm-head",       "sampler", "final-norm", "input-norm",
    "mlp.post-norm", "mlp.act", "embedding",  NULL};

gboolean
tm__calib_compose_tables(tm__calib_imp *m,
                         const char *mlp,
                         const char *const *attention,
                         size_t n_att,
                         const char *allreduce,
                         GError **error)
{
    m->path = mlp;
    if (!tm__calib_resolve_table(m, false, error))
        return FALSE;
    g_autofree char *base = g_path_get_basename(mlp);
    m->model_name = m->o->tm->model != NULL ? g_strdup(m->o->tm->model) : vidur_model(base);
    /* Vidur: per tp, op → series over tokens */
    g_autoptr(GHashTable) vid = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    GArray *tps = g_array_new(FALSE, FALSE, sizeof(int64_t));
    static const char *const shape[] = {"n_embd",
                                        "n_head",
                                        "n_kv_head",
                                        "n_expanded_embd",
                                        "vocab_size",
                                        "num_tokens",
                                        "num_tensor_parallel_workers",
                                        NULL};
    int sc[BASE_STRV_N(shape)];
    int more = 0;
    gboolean ok = open_table(m, mlp, error);
    for (size_t i = 0; ok && i < BASE_STRV_N(shape); i++)
        ok = tm__calib_need_col(m, shape[i], &sc[i], error);
    int oc[G_N_ELEMENTS(vidur_layer_ops)];
    for (size_t i = 0; ok && i < G_N_ELEMENTS(vidur_layer_ops); i++) {
        const char *op = vidur_layer_ops[i].op;
        g_autofree char *col = g_strdup_printf("time_stats.%s.median", op);
        ok = tm__calib_need_col(m, col, &oc[i], error);
    }
    g_auto(tm_model_spec) spec = {0};
    if (ok && !tm_model_spec_load(&spec, m->model_name, error)) {
        g_prefix_error(error, "%s: the Vidur model (pass --model): ", mlp);
        ok = FALSE;
    }
    while (ok && (more = base_csv_next(m->c, error)) > 0) {
        int64_t v[BASE_STRV_N(shape)];
        for (size_t i = 0; ok && i < BASE_STRV_N(shape); i++)
            ok = tm__calib_cell_int(m, sc[i], 1, &v[i], error);
        if (!ok)
            break;
        /* (Vidur pads the vocabulary; the composed steps have no lm-head) */
        if (v[0] != spec.hidden || v[1] != spec.heads || v[2] != spec.kv_heads ||
            v[3] != spec.ffn) {
            tm__calib_row_error(m, error,
                                "shape (hidden %" G_GINT64_FORMAT ", heads %" G_GINT64_FORMAT
                                "/%" G_GINT64_FORMAT ", ffn %" G_GINT64_FORMAT
                                ", vocab %" G_GINT64_FORMAT
                                ") is not that of model %s; pass --model",
                                v[0], v[1], v[2], v[3], v[4], m->model_name);
            ok = FALSE;
            break;
        }
        bool seen = false;
        for (guint i = 0; i < tps->len; i++)
            seen |= g_array_index(tps, int64_t, i) == v[6];
        if (!seen)
            g_array_append_val(tps, v[6]);
        for (size_t i = 0; ok && i < G_N_ELEMENTS(vidur_layer_ops); i++) {
            double y;
            ok = tm__calib_cell_time(m, oc[i], 1e-3, &y, error);
            const char *op = vidur_layer_ops[i].op;
            g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT "|%s", v[6], op);
            if (ok)
                series_add(series_get(vid, key), (double)v[5], y);
        }
    }
    if (ok && more < 0)
        ok = FALSE;
    /* aiconfigurator attention and all-reduce */
    g_autoptr(GHashTable) akeys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) alist = g_ptr_array_new_with_free_func(att_entry_free);
    for (size_t i = 0; ok && i < n_att; i++)
        ok = read_aic_attention(m, attention[i], akeys, alist, error);
    g_ptr_array_sort(alist, cmp_att);
    g_autoptr(GHashTable) ars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, series_free);
    if (ok && allreduce != NULL) {
        int gc, mc, yc, kc;
        ok = open_table(m, allreduce, error) && tm__calib_need_col(m, "num_gpus", &gc, error) &&
             tm__calib_need_col(m, "message_size", &mc, error) &&
             tm__calib_need_col(m, "latency", &yc, error);
        kc = ok ? base_csv_col(m->c, "kernel_source") : -1;
        while (ok && (more = base_csv_next(m->c, error)) > 0) {
            if (kc >= 0 && strstr(base_csv_field(m->c, (size_t)kc), "eager") != NULL)
                continue; /* CUDA-graph rows, as vLLM runs its steps */
            int64_t n, elems;
            double y;
            ok = tm__calib_cell_int(m, gc, 2, &n, error) &&
                 tm__calib_cell_size(m, mc, 1, &elems, error) &&
                 tm__calib_cell_time(m, yc, 1e-3, &y, error);
            g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT, n);
            if (ok) {
                series_add(series_get(ars, key), (double)elems, y);
                /* bf16 messages: the table the calibration will carry */
                tm_calib_data_add_allreduce(m->d, (double)n, 2.0 * (double)elems, y);
            }
        }
    }
    if (ok && more < 0)
        ok = FALSE;
    base_csv_free(g_steal_pointer(&m->c));
    g_free(m->base);
    m->base = g_strdup(base);
    for (guint t = 0; ok && t < tps->len; t++) {
        int64_t tp = g_array_index(tps, int64_t, t);
        tm_parallel par = tm_parallel_make(tp, 1, 1, false);
        GError *e = NULL;
        if (!tm_model_check_parallel(&spec, &par, &e)) {
            g_error_free(e);
            tm__calib_skip(m, "TP degrees that do not divide the model");
            continue;
        }
        double weights = tm_model_weight_bytes_gpu(&spec, TM_DTYPE_BF16, &par);
        double budget = 0.9 * m->hw.memory_bytes - weights;
        if (budget <= 0) {
            g_autofree char *why = g_strdup_printf("tp=%" G_GINT64_FORMAT " (the weights do not "
                                                   "fit one GPU)",
                                                   tp);
            tm__calib_skip(m, why);
            continue;
        }
        g_autofree char *tkey = g_strdup_printf("%" G_GINT64_FORMAT, tp);
        series *ar = tp > 1 ? g_hash_table_lookup(ars, tkey) : NULL;
        if (tp > 1 && ar == NULL) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s: composing tp=%" G_GINT64_FORMAT " steps needs an all-reduce table "
                        "with num_gpus %" G_GINT64_FORMAT " (aiconfigurator custom all-reduce)",
                        mlp, tp, tp);
            ok = FALSE;
            break;
        }
        tm__calib_peak *k = tm__calib_model_peak_of(m, m->model_name, tp, error);
        if (k == NULL) {
            ok = FALSE;
            break;
        }
        int64_t hg = spec.heads / tp, kg = tm_model_kv_heads_per_gpu(&spec, tp);
        double kvb = tm_model_kv_bytes_per_token_gpu(&spec, TM_DTYPE_BF16, &par);
        double L = (double)spec.layers, h = (double)spec.hidden;
        g_autofree char *config =
            g_strdup_printf("%s tp=%" G_GINT64_FORMAT " steps", m->model_name, tp);
        for (guint i = 0; i < alist->len; i++) {
            const att_entry *ae = alist->pdata[i];
            if (ae->heads != hg || ae->kv != kg)
                continue;
            m->info->rows++;
            double T = ae->context ? (double)(ae->batch * ae->x) : (double)ae->batch;
            double ctx = ae->context ? (double)ae->x : (double)ae->x + 1.0;
            if (ctx > (double)spec.max_position_embeddings) {
                tm__calib_skip(m, "contexts beyond the model's max_position_embeddings");
                continue;
            }
            if ((double)ae->batch * ctx * kvb > budget) {
                tm__calib_skip(m, "batches whose KV cache does not fit in GPU memory");
                continue;
            }
            double layer = median_of(ae->y), x;
            bool in = true;
            for (size_t j = 0; j < G_N_ELEMENTS(vidur_layer_ops) && in; j++) {
                g_autofree char *key =
                    g_strdup_printf("%" G_GINT64_FORMAT "|%s", tp, vidur_layer_ops[j].op);
                in = series_at(g_hash_table_lookup(vid, key), T, &x);
                layer += vidur_layer_ops[j].per_layer * x;
            }
            if (!in) {
                tm__calib_skip(m, "steps with more tokens than the Vidur table covers");
                continue;
            }
            double ar_s = 0.0; /* the step's TP all-reduces, from the measured table */
            if (ar != NULL) {
                if (!series_at_loglog(ar, T * h, &x)) {
                    tm__calib_skip(m, "all-reduce messages beyond the all-reduce table");
                    continue;
                }
                layer += 2.0 * x;
                ar_s = L * 2.0 * x;
            }
            tm_batch b;
            tm_batch_init(&b, 0);
            tm_batch_add_n(&b, (uint32_t)ae->batch, ae->context ? (uint64_t)ae->x : 1,
                           ae->context ? 0 : (uint64_t)ae->x, true);
            tm__calib_stepacc a = {0};
            /* the all-reduces are the measured table's on both sides: the calibration carries
             * the table and the roofline prices TP all-reduces from it (an unscaled offset) */
            tm__calib_stepacc_add(&a, k, &b, not_in_vidur_steps, TM__CALIB_COMM_NONE);
            a.offset_s += ar_s;
            g_autofree char *desc = g_strdup_printf("%s batch=%" G_GINT64_FORMAT
                                                    " %s=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                                    ae->context ? "prefill" : "decode", ae->batch,
                                                    ae->context ? "isl" : "ctx", ae->x, tp);
            tm__calib_add_step_sample(m, L * layer, &a, config, desc);
        }
    }
    g_array_free(tps, TRUE);
    if (ok) {
        g_free(m->info->model);
        m->info->model = g_strdup(m->model_name);
    }
    return ok;
}
