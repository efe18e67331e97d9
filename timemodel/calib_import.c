/* timemodel/calib_import.c: the calibration input formats (calib_import.h) as one const table,
 * and the entry points that pick a row and run its importer.
 *
 * A format is one row of tm__calib_formats: its name, the header columns that recognise it,
 * the columns it knows (anything else is listed as ignored, or refused with --strict), where
 * its model and hardware come from, and its importer (calib_<family>.c). Rows are tried in
 * table order and the first whose header matches wins; rows that recognise a table servesim
 * does not import say why. Detection reads the header only, never the file name. */
#include "timemodel/calib_import.h"

#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"
#include "timemodel/scenario.h"

#define COLS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Columns the measurements and steps CSVs share with `estimate --scenarios` output. */
static const char *const known_measurements[] = {"tp",
                                                 "dp",
                                                 "pp",
                                                 "model",
                                                 "hardware",
                                                 "dtype",
                                                 "kv_cache_dtype",
                                                 "batch_per_gpu",
                                                 "seq_len",
                                                 "decode_tokens",
                                                 "grad_accum",
                                                 "measured_prefill_ms",
                                                 "measured_decode_ms",
                                                 "predicted_prefill_ms",
                                                 "predicted_decode_ms",
                                                 "predicted_tpot_ms",
                                                 "predicted_tokens_per_s",
                                                 "predicted_tokens_per_s_per_gpu",
                                                 "prefill_bottleneck",
                                                 "decode_bottleneck",
                                                 "error",
                                                 "prefill_ape",
                                                 "decode_ape",
                                                 NULL};
static const char *const known_steps[] = {"tp",
                                          "dp",
                                          "pp",
                                          "model",
                                          "hardware",
                                          "dtype",
                                          "kv_cache_dtype",
                                          "step",
                                          "prefill_tokens",
                                          "prefill_seqs",
                                          "prefill_context",
                                          "decode_seqs",
                                          "decode_context",
                                          "sampled",
                                          "measured_step_ms",
                                          "predicted_step_ms",
                                          "step_ape",
                                          NULL};
/* Every aiconfigurator table starts with these. */
static const char *const aic_common[] = {"framework", "version",       "device",
                                         "op_name",   "kernel_source", NULL};
#define MODULE_COLS                                                                                \
    COLS("model", "architecture", "mla_dtype", "kv_cache_dtype", "gemm_type", "num_heads",         \
         "batch_size", "isl", "tp_size", "step", "latency")

/* Detection order: steps before measurements (a predicted steps CSV has both kinds of
 * columns); the MLA / DSA module tables before aic-attention (they have its columns too). */
static const tm__calib_fmt formats[] = {
    {TM_CALIB_FMT_STEPS, "steps", NULL, COLS("measured_step_ms"), known_steps, NULL, NULL,
     TM__CALIB_META_NONE, tm__calib_import_steps, NULL},
    {TM_CALIB_FMT_MEASUREMENTS, "measurements", NULL,
     COLS("measured_prefill_ms", "measured_decode_ms"), known_measurements, NULL, NULL,
     TM__CALIB_META_NONE, tm__calib_import_measurements, NULL},
    {TM_CALIB_FMT_VIDUR_MLP, "vidur-mlp", NULL,
     COLS("time_stats.attn_pre_proj.median", "time_stats.mlp_up_proj.median"),
     COLS("n_head",
          "n_kv_head",
          "n_embd",
          "n_expanded_embd",
          "vocab_size",
          "use_gated_mlp",
          "num_tokens",
          "num_tensor_parallel_workers"),
     NULL, "time_stats.", TM__CALIB_META_NONE, tm__calib_import_vidur_mlp, NULL},
    {TM_CALIB_FMT_VIDUR_ATTENTION, "vidur-attention", NULL,
     COLS("time_stats.attn_prefill.median", "time_stats.attn_decode.median"),
     COLS("n_embd",
          "n_q_head",
          "n_kv_head",
          "num_tensor_parallel_workers",
          "max_model_len",
          "batch_size",
          "prefill_chunk_size",
          "kv_cache_size",
          "is_prefill",
          "attention_backend"),
     NULL, "time_stats.", TM__CALIB_META_NONE, tm__calib_import_vidur_attention, NULL},
    {TM_CALIB_FMT_VIDUR_NETWORK, "vidur-network", COLS("collective", "num_workers", "size"), NULL,
     COLS("",
          "rank",
          "num_workers",
          "size",
          "collective",
          "devices_per_node",
          "max_devices_per_node"),
     NULL, "time_stats.", TM__CALIB_META_NONE, tm__calib_import_vidur_network, NULL},
    {TM_CALIB_FMT_AIC_GEMM, "aic-gemm", COLS("m", "n", "k", "latency"), NULL,
     COLS("gemm_dtype", "m", "n", "k", "latency"), aic_common, NULL, TM__CALIB_META_NONE,
     tm__calib_import_aic_gemm, NULL},
    {TM_CALIB_FMT_AIC_MODULE, "aic-module",
     COLS("mla_dtype", "num_heads", "isl", "step", "latency"), NULL, MODULE_COLS, aic_common, NULL,
     TM__CALIB_META_NONE, tm__calib_import_aic_module, NULL},
    {TM_CALIB_FMT_AIC_MOE, "aic-moe", COLS("moe_dtype", "num_tokens", "num_experts", "latency"),
     NULL,
     COLS("moe_dtype",
          "num_tokens",
          "hidden_size",
          "inter_size",
          "topk",
          "num_experts",
          "moe_tp_size",
          "moe_ep_size",
          "distribution",
          "latency"),
     aic_common, NULL, TM__CALIB_META_NONE, tm__calib_import_aic_moe, NULL},
    {TM_CALIB_FMT_AIC_ATTENTION, "aic-attention", COLS("isl", "num_heads", "step", "latency"), NULL,
     COLS("batch_size",
          "isl",
          "num_heads",
          "num_key_value_heads",
          "head_dim",
          "beam_width",
          "attn_dtype",
          "kv_cache_dtype",
          "step",
          "latency"),
     aic_common, NULL, TM__CALIB_META_NONE, tm__calib_import_aic_attention, NULL},
    {TM_CALIB_FMT_AIC_ALLREDUCE, "aic-allreduce", NULL, COLS("allreduce_dtype"),
     COLS("allreduce_dtype", "num_gpus", "message_size", "latency", "backend"), aic_common, NULL,
     TM__CALIB_META_NONE, tm__calib_import_aic_allreduce, NULL},
    {TM_CALIB_FMT_AIC_NCCL, "aic-nccl", NULL, COLS("nccl_dtype"),
     COLS("nccl_dtype", "num_gpus", "message_size", "latency"), aic_common, NULL,
     TM__CALIB_META_NONE, tm__calib_import_aic_nccl, NULL},
    {TM_CALIB_FMT_LSS_ATTENTION, "lss-attention", COLS("prefill_chunk", "n_decode"), NULL,
     COLS("prefill_chunk", "kv_prefill", "n_decode", "kv_decode", "time_us"), NULL, NULL,
     TM__CALIB_META_LSS, tm__calib_import_lss_attention, NULL},
    {TM_CALIB_FMT_LSS_DENSE, "lss-dense", COLS("layer", "tokens", "time_us"), NULL,
     COLS("layer", "tokens", "time_us"), NULL, NULL, TM__CALIB_META_LSS, tm__calib_import_lss_dense,
     NULL},
    {TM_CALIB_FMT_LSS_PER_SEQUENCE, "lss-per-sequence", COLS("layer", "sequences", "time_us"), NULL,
     COLS("layer", "sequences", "time_us"), NULL, NULL, TM__CALIB_META_LSS,
     tm__calib_import_lss_per_sequence, NULL},
    {TM_CALIB_FMT_AUTO, NULL, NULL, COLS("activated_experts"), NULL, NULL, NULL,
     TM__CALIB_META_NONE, NULL,
     "LLMServingSim moe.csv is not imported (it times the expert GEMMs for a given number of "
     "activated experts; the roofline derives that number from uniform routing and has no "
     "operator to price a given one)"},
    {TM_CALIB_FMT_LSS_V0_LAYERS, "lss-v0-layers", COLS("layer_name", "latency(ns)"), NULL,
     COLS("layer_name", "input", "kv_cache", "tp_size", "latency(ns)"), NULL, NULL,
     TM__CALIB_META_LSS_V0, tm__calib_import_lss_v0, NULL},
    /* not recognised from a header: a directory, and tables composed by --compose */
    {TM_CALIB_FMT_LSS_PROFILE, "lss-profile", NULL, NULL, NULL, NULL, NULL, TM__CALIB_META_LSS,
     tm__calib_compose_profile, NULL},
    {TM_CALIB_FMT_COMPOSED, "vidur+aic-steps", NULL, NULL, NULL, NULL, NULL, TM__CALIB_META_NONE,
     NULL, NULL},
};

const tm__calib_fmt *
tm__calib_format(tm_calib_format f)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (formats[i].id == f && formats[i].name != NULL)
            return &formats[i];
    return NULL;
}

const char *
tm_calib_format_name(tm_calib_format f)
{
    const tm__calib_fmt *r = tm__calib_format(f);
    return f == TM_CALIB_FMT_AUTO ? "auto" : r != NULL ? r->name : "?";
}

/* The format names in tm_calib_format order ("auto" first), NULL-terminated. */
static void
format_names(const char *names[TM_CALIB_FMT_COUNT + 1])
{
    for (int f = 0; f < TM_CALIB_FMT_COUNT; f++)
        names[f] = tm_calib_format_name((tm_calib_format)f);
    names[TM_CALIB_FMT_COUNT] = NULL;
}

gboolean
tm_calib_format_parse(const char *s, tm_calib_format *out, GError **error)
{
    const char *names[TM_CALIB_FMT_COUNT + 1];
    format_names(names);
    int i = base_strv_index_nocase(names, s);
    if (i >= 0) {
        *out = (tm_calib_format)i;
        return TRUE;
    }
    g_autofree char *close = base_suggest(s, names);
    g_autofree char *all = base_strv_join(names, ", ");
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "unknown input format '%s'%s%s%s (one of %s)", s,
                close ? " (did you mean " : "", close ? close : "", close ? "?)" : "", all);
    return FALSE;
}

void
tm_calib_import_opts_defaults(tm_calib_import_opts *o, const tm_options *tm)
{
    memset(o, 0, sizeof *o);
    o->tm = tm;
    o->batch = 1;
    o->input_len = 1024;
    o->decode_tokens = 128;
    o->format = TM_CALIB_FMT_AUTO;
}

void
tm_calib_import_info_clear(tm_calib_import_info *i)
{
    if (i == NULL)
        return;
    g_free(i->skipped_why);
    g_free(i->defaulted);
    g_free(i->ignored);
    g_free(i->model);
    g_free(i->hardware);
    memset(i, 0, sizeof *i);
}

/* ---- detection and known columns ------------------------------------------------------------ */

static bool
matches(const tm__calib_fmt *f, const base_csv *c)
{
    if (f->detect_all == NULL && f->detect_any == NULL)
        return false;
    for (const char *const *p = f->detect_all; p != NULL && *p != NULL; p++)
        if (base_csv_col(c, *p) < 0)
            return false;
    if (f->detect_any == NULL)
        return true;
    for (const char *const *p = f->detect_any; *p != NULL; p++)
        if (base_csv_col(c, *p) >= 0)
            return true;
    return false;
}

/* The first row whose header matches, or NULL. */
static const tm__calib_fmt *
detect(const base_csv *c)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (matches(&formats[i], c))
            return &formats[i];
    return NULL;
}

static bool
known_column(const tm__calib_fmt *f, const char *col)
{
    if (f->known == NULL)
        return true;
    return (f->known_prefix != NULL && g_str_has_prefix(col, f->known_prefix)) ||
           tm__calib_in_list(f->known, col) || tm__calib_in_list(f->known_common, col);
}

static gboolean
check_columns(tm__calib_imp *m, GError **error)
{
    GString *ign = g_string_new(NULL);
    for (size_t i = 0; i < base_csv_ncols(m->c); i++) {
        const char *col = base_csv_colname(m->c, i);
        if (known_column(m->fmt, col))
            continue;
        if (m->o->strict) {
            g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                        "%s:1: column %s: unknown column for %s input (--strict)",
                        base_csv_name(m->c), col, m->fmt->name);
            g_string_free(ign, TRUE);
            return FALSE;
        }
        g_string_append_printf(ign, "%s%s", ign->len ? ", " : "", col);
    }
    m->info->ignored = g_string_free(ign, ign->len == 0);
    return TRUE;
}

gboolean
tm__calib_open_input(tm__calib_imp *m, const char *path, tm_calib_format forced, GError **error)
{
    m->c = base_csv_open(path, 0, BASE_CSV_HEADER, error);
    if (m->c == NULL)
        return FALSE;
    m->path = path;
    m->base = g_path_get_basename(path);
    const tm__calib_fmt *f = forced != TM_CALIB_FMT_AUTO ? tm__calib_format(forced) : detect(m->c);
    /* --predict also reads a plain scenarios CSV (shape columns, no measured ones) */
    if (f == NULL && m->predicting) {
        tm_scenario_layout l;
        tm_scenario_layout_get(m->c, &l);
        if (l.col[TM_SC_BATCH] >= 0 || l.col[TM_SC_SEQ_LEN] >= 0 || l.col[TM_SC_DECODE] >= 0)
            f = tm__calib_format(TM_CALIB_FMT_MEASUREMENTS);
    }
    if (f != NULL && f->refused != NULL) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s", path, f->refused);
        return FALSE;
    }
    if (f == NULL) {
        GString *cols = g_string_new(NULL);
        for (size_t i = 0; i < base_csv_ncols(m->c) && i < 8; i++)
            g_string_append_printf(cols, "%s%s", i ? ", " : "", base_csv_colname(m->c, i));
        const char *names[TM_CALIB_FMT_COUNT + 1];
        format_names(names);
        g_autofree char *all = base_strv_join(names + 1, ", "); /* all but "auto" */
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: cannot tell the input format from the header (%s%s); force one with "
                    "--input-format (%s)",
                    path, cols->str, base_csv_ncols(m->c) > 8 ? ", ..." : "", all);
        g_string_free(cols, TRUE);
        return FALSE;
    }
    m->fmt = f;
    m->info->format = f->id;
    return check_columns(m, error);
}

/* ---- entry points ------------------------------------------------------------------------- */

/* Runs the importer of format F on PATH (a table, or a profile directory) into D. */
static gboolean
run_import(tm_calib_data *d,
           const char *path,
           tm_calib_format f,
           const tm_calib_import_opts *o,
           tm_calib_import_info *info,
           GError **error)
{
    tm_calib_import_info local = {0};
    if (info == NULL)
        info = &local;
    else
        memset(info, 0, sizeof *info);
    tm__calib_imp m;
    tm__calib_imp_init(&m, d, o, info);
    gboolean ok;
    if (f == TM_CALIB_FMT_LSS_PROFILE) {
        m.fmt = tm__calib_format(f);
        m.path = path;
        info->format = f;
        m.source = tm_calib_data_source_id(d, path);
        ok = m.fmt->import(&m, error);
    } else {
        ok = tm__calib_open_input(&m, path, o->format, error);
        if (ok) {
            m.source = tm_calib_data_source_id(d, path);
            if (m.fmt->import == NULL || m.fmt->id == TM_CALIB_FMT_LSS_PROFILE) {
                g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: --input-format %s reads %s",
                            path, m.fmt->name,
                            m.fmt->import == NULL ? "several tables (calibrate --compose)"
                                                  : "a profile directory, not a file");
                ok = FALSE;
            } else {
                ok = m.fmt->import(&m, error);
            }
        }
    }
    if (ok)
        tm__calib_imp_finish(&m);
    tm__calib_imp_clear(&m);
    if (!ok)
        tm_calib_import_info_clear(info); /* nothing of a failed input is kept */
    tm_calib_import_info_clear(&local);
    return ok;
}

gboolean
tm_calib_import(tm_calib_data *d,
                const char *path,
                const tm_calib_import_opts *o,
                tm_calib_import_info *info,
                GError **error)
{
    g_return_val_if_fail(d != NULL && path != NULL && o != NULL && o->tm != NULL, FALSE);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) /* an LLMServingSim profile directory */
        return tm_calib_compose_profile(d, path, o, info, error);
    return run_import(d, path, TM_CALIB_FMT_AUTO, o, info, error);
}

gboolean
tm_calib_detect_format(const char *path, tm_calib_format *out, GError **error)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        *out = TM_CALIB_FMT_LSS_PROFILE;
        return TRUE;
    }
    tm_calib_import_info info = {0};
    tm_calib_import_opts o;
    tm_calib_import_opts_defaults(&o, NULL);
    tm__calib_imp m;
    tm__calib_imp_init(&m, NULL, &o, &info);
    gboolean ok = tm__calib_open_input(&m, path, TM_CALIB_FMT_AUTO, error);
    *out = info.format;
    tm__calib_imp_clear(&m);
    tm_calib_import_info_clear(&info);
    return ok;
}

gboolean
tm_calib_compose_profile(tm_calib_data *d,
                         const char *dir,
                         const tm_calib_import_opts *o,
                         tm_calib_import_info *info,
                         GError **error)
{
    g_return_val_if_fail(d != NULL && dir != NULL && o != NULL && o->tm != NULL, FALSE);
    return run_import(d, dir, TM_CALIB_FMT_LSS_PROFILE, o, info, error);
}

gboolean
tm_calib_compose_tables(tm_calib_data *d,
                        const char *mlp,
                        const char *const *attention,
                        size_t n_attention,
                        const char *allreduce,
                        const tm_calib_import_opts *o,
                        tm_calib_import_info *info,
                        GError **error)
{
    g_return_val_if_fail(d != NULL && mlp != NULL && o != NULL && o->tm != NULL, FALSE);
    tm_calib_import_info local = {0};
    if (info == NULL)
        info = &local;
    else
        memset(info, 0, sizeof *info);
    if (n_attention == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: composing steps needs aiconfigurator context / generation attention "
                    "tables",
                    mlp);
        return FALSE;
    }
    tm__calib_imp m;
    tm__calib_imp_init(&m, d, o, info);
    m.fmt = tm__calib_format(TM_CALIB_FMT_COMPOSED);
    info->format = TM_CALIB_FMT_COMPOSED;
    m.source = tm_calib_data_source_id(d, mlp);
    gboolean ok = tm__calib_compose_tables(&m, mlp, attention, n_attention, allreduce, error);
    if (ok)
        tm__calib_imp_finish(&m);
    tm__calib_imp_clear(&m);
    if (!ok)
        tm_calib_import_info_clear(info); /* nothing of a failed input is kept */
    tm_calib_import_info_clear(&local);
    return ok;
}
