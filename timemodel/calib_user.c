/* timemodel/calib_user.c: the two user CSV formats of `servesim calibrate`
 * (docs/calibration.md §1.1–1.2) and their predictions (`calibrate --predict`):
 *   measurements  one row per configuration: a prefill step and the decode steps after it,
 *                 read by the shared scenario reader (timemodel/scenario.h);
 *   steps         one row per engine step (prefill chunks + decodes at mean contexts).
 * A row's configuration (model, hardware, dtypes, parallelism) is the command's options
 * overridden by the row's cells, built with tm_setup exactly as the simulator builds it;
 * its time model is at peak for fitting, calibrated for predictions. A repeated row is an
 * error unless --allow-duplicates. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/match.h"
#include "timemodel/calib_internal.h"
#include "timemodel/scenario.h"

/* ---- batches (shared by the fit and by predictions) ------------------------------------- */

typedef struct {
    int64_t prefill_tokens, prefill_seqs, decode_seqs, sampled;
    double prefill_context, decode_context; /* means */
} step_row;

/* N values summing to round(N·MEAN), as equal as integers allow: value I. */
static uint64_t
spread(int64_t n, double mean, int64_t i)
{
    int64_t total = llround((double)n * mean);
    int64_t q = total / n, r = total % n;
    return (uint64_t)(q + (i < r ? 1 : 0));
}

/* One measured step: PREFILL_SEQS chunks sharing PREFILL_TOKENS on top of PREFILL_CONTEXT
 * cached tokens on average, DECODE_SEQS decodes with DECODE_CONTEXT cached tokens on average;
 * the first SAMPLED sequences (decodes first) produce a token. */
static void
step_batch(tm_batch *b, uint32_t topk, const step_row *r)
{
    tm_batch_init(b, topk);
    int64_t sampled = r->sampled;
    for (int64_t i = 0; i < r->decode_seqs; i++)
        tm_batch_add(b, 1, spread(r->decode_seqs, r->decode_context, i), sampled-- > 0);
    for (int64_t i = 0; i < r->prefill_seqs; i++) {
        uint64_t q = (uint64_t)(r->prefill_tokens / r->prefill_seqs +
                                (i < r->prefill_tokens % r->prefill_seqs ? 1 : 0));
        tm_batch_add(b, q, spread(r->prefill_seqs, r->prefill_context, i), sampled-- > 0);
    }
}

/* ---- configuration of user rows (measurements, steps) ---------------------------------- */

typedef tm_options row_opts; /* a tm_options this file fills and clears */

static void
row_opts_clear(row_opts *o)
{
    base_opt_set set = {&tm_options_table, 1};
    base_opts_clear(&set, o);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(row_opts, row_opts_clear)

/* The defaults of a scenario row: the command's options and shape flags. */
static tm_scenario_defaults
row_defaults(const tm__calib_imp *m)
{
    tm_scenario_defaults d = {m->o->tm, {m->o->batch, m->o->input_len, m->o->decode_tokens, 1}};
    return d;
}

/* The options (and, when S is not NULL, the shape) of the current row, read by the shared
 * scenario reader (timemodel/scenario.h): the command's, then the row's cells. O must be
 * zeroed; it is filled (clear with base_opts_clear). CALIBRATION replaces the calibration
 * field. */
static gboolean
row_options(tm__calib_imp *m,
            const tm_scenario_layout *l,
            const char *calibration,
            tm_options *o,
            tm_scenario *s,
            GError **error)
{
    tm_scenario_defaults d = row_defaults(m);
    if (!tm_scenario_read(m->c, l, &d, o, s, error))
        return FALSE;
    if (o->model == NULL)
        o->model = g_strdup(TM_CALIB_DEFAULT_MODEL);
    if (o->hardware == NULL)
        o->hardware = g_strdup(TM_CALIB_DEFAULT_HARDWARE);
    g_free(o->calibration);
    o->calibration = g_strdup(calibration);
    return TRUE;
}

static char *
options_key(const tm_options *o)
{
    return g_strdup_printf(
        "%s|%s|%s|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%d|%s",
        o->model, o->hardware, o->dtype ? o->dtype : "", o->kv_cache_dtype ? o->kv_cache_dtype : "",
        o->tp, o->pp, o->dp, o->expert_parallel, o->comm_backend ? o->comm_backend : "");
}

/* The time model of a row's configuration: at peak for fitting (CALIBRATED false), or the
 * calibrated one the simulator would build (predictions). Cached per configuration. */
static tm__calib_peak *
row_peak(tm__calib_imp *m, const tm_options *o, bool calibrated, GError **error)
{
    g_autofree char *key = options_key(o);
    tm__calib_peak *k = g_hash_table_lookup(m->peaks, key);
    if (k != NULL)
        return k;
    GError *e = NULL;
    tm_setup *s = tm_setup_new(o, &e);
    if (s == NULL) {
        tm__calib_row_error(m, error, "%s", e->message);
        g_error_free(e);
        return NULL;
    }
    k = g_new0(tm__calib_peak, 1);
    k->setup = s;
    k->model = tm_setup_model(s);
    k->hw = tm_setup_hardware(s);
    if (calibrated) {
        k->tm = tm_setup_timemodel(s);
    } else {
        const tm_roofline_params *sp = tm_setup_params_const(s);
        tm_roofline_params p;
        tm__calib_peak_params(&p, k->hw, sp->par, sp->weight_dtype, sp->kv_dtype);
        p.backend = sp->backend;
        k->tm = tm_roofline_new(k->model, k->hw, &p);
    }
    k->backend = tm_setup_params_const(s)->backend;
    tm__calib_peak_finish(k);
    g_hash_table_insert(m->peaks, g_steal_pointer(&key), k);
    if (m->info->model == NULL) {
        m->info->model = g_strdup(o->model);
        m->info->hardware = g_strdup(o->hardware);
    } else {
        m->various_model |= strcmp(m->info->model, o->model) != 0;
        m->various_hw |= strcmp(m->info->hardware, o->hardware) != 0;
    }
    return k;
}

/* Duplicate rows of the user formats: KEY seen before is an error unless allowed. */
static gboolean
check_duplicate(tm__calib_imp *m, const char *key, const char *what, GError **error)
{
    gpointer v = g_hash_table_lookup(m->dups, key);
    if (v != NULL && !m->o->allow_duplicates) {
        tm__calib_row_error(m, error,
                            "duplicate of line %u (%s); merge repeated measurements into one row "
                            "or pass --allow-duplicates",
                            GPOINTER_TO_UINT(v), what);
        return FALSE;
    }
    if (v == NULL)
        g_hash_table_insert(m->dups, g_strdup(key), GUINT_TO_POINTER((guint)base_csv_lineno(m->c)));
    return TRUE;
}

/* ---- measurements CSV ------------------------------------------------------------------- */

enum { MS_PREFILL, MS_DECODE, MS_N };

static const char *const ms_cols[] = {"measured_prefill_ms", "measured_decode_ms", NULL};
G_STATIC_ASSERT(BASE_STRV_N(ms_cols) == MS_N);

typedef struct {
    tm_scenario_layout sc; /* configuration and shape columns */
    int ms[MS_N];
} ms_layout;

static void
ms_layout_get(tm__calib_imp *m, ms_layout *l)
{
    tm_scenario_layout_get(m->c, &l->sc);
    for (int i = 0; i < MS_N; i++)
        l->ms[i] = base_csv_col(m->c, ms_cols[i]);
}

static void
report_defaults(tm__calib_imp *m, const ms_layout *l)
{
    const tm_options *t = m->o->tm;
    GString *g = g_string_new(NULL);
#define DEF(col, fmt, ...)                                                                         \
    if (col < 0)                                                                                   \
    g_string_append_printf(g, "%s" fmt, g->len ? ", " : "", __VA_ARGS__)
    const int *k = l->sc.col;
    DEF(k[TM_SC_TP], "tp=%" G_GINT64_FORMAT " (--tensor-parallel-size)", t->tp);
    DEF(k[TM_SC_DP], "dp=%" G_GINT64_FORMAT " (--data-parallel-size)", t->dp);
    DEF(k[TM_SC_BATCH], "batch_per_gpu=%" G_GINT64_FORMAT " (--batch)", m->o->batch);
    DEF(k[TM_SC_SEQ_LEN], "seq_len=%" G_GINT64_FORMAT " (--input-len)", m->o->input_len);
    DEF(k[TM_SC_DECODE], "decode_tokens=%" G_GINT64_FORMAT " (--decode-tokens)",
        m->o->decode_tokens);
    DEF(k[TM_SC_GRAD_ACCUM], "grad_accum=%d", 1);
    DEF(k[TM_SC_MODEL], "model=%s", t->model ? t->model : TM_CALIB_DEFAULT_MODEL " (default)");
    DEF(k[TM_SC_HARDWARE], "hardware=%s",
        t->hardware ? t->hardware : TM_CALIB_DEFAULT_HARDWARE " (default)");
#undef DEF
    m->info->defaulted = g_string_free(g, g->len == 0);
}

gboolean
tm__calib_import_measurements(tm__calib_imp *m, GError **error)
{
    ms_layout l;
    ms_layout_get(m, &l);
    if (l.ms[MS_PREFILL] < 0 && l.ms[MS_DECODE] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: needs a measured_prefill_ms or measured_decode_ms column",
                    base_csv_name(m->c));
        return FALSE;
    }
    report_defaults(m, &l);
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        tm_scenario r;
        g_auto(row_opts) o = {0};
        if (!row_options(m, &l.sc, TM_CALIBRATION_NONE, &o, &r, error))
            return FALSE;
        bool has_p = !tm__calib_cell_empty(m, l.ms[MS_PREFILL]),
             has_d = !tm__calib_cell_empty(m, l.ms[MS_DECODE]);
        if (!has_p && !has_d) {
            tm__calib_row_error(m, error,
                                "no measurement (measured_prefill_ms and measured_decode_ms are "
                                "empty)");
            return FALSE;
        }
        double yp = 0, yd = 0;
        if ((has_p && !tm__calib_cell_time(m, l.ms[MS_PREFILL], 1e-3, &yp, error)) ||
            (has_d && !tm__calib_cell_time(m, l.ms[MS_DECODE], 1e-3, &yd, error)))
            return FALSE;
        if (has_d && r.decode_tokens < 1) {
            base_csv_set_error(m->c, l.sc.col[TM_SC_DECODE], error,
                               "must be ≥ 1 when measured_decode_ms is given");
            return FALSE;
        }
        g_autofree char *ok = options_key(&o);
        g_autofree char *dkey = g_strdup_printf(
            "%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT,
            ok, r.batch, r.seq_len, r.decode_tokens, r.grad_accum);
        if (!check_duplicate(m, dkey, "same configuration and shape", error))
            return FALSE;
        tm__calib_peak *k = row_peak(m, &o, false, error);
        if (k == NULL || !tm_scenario_check_context(m->c, &l.sc, &r, k->model, error))
            return FALSE;
        g_autofree char *config = g_strdup_printf("%s %s tp=%" G_GINT64_FORMAT
                                                  " dp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT,
                                                  o.model, o.hardware, o.tp, o.dp, o.pp);
        tm_batch b;
        if (has_p) {
            tm__calib_stepacc a = {0};
            tm_scenario_prefill_batch(&b, k->topk, &r);
            tm__calib_stepacc_add(&a, k, &b, NULL, TM__CALIB_COMM_ALL);
            tm__calib_stepacc_scale(&a, (double)r.grad_accum);
            g_autofree char *desc =
                g_strdup_printf("prefill batch=%" G_GINT64_FORMAT " seq_len=%" G_GINT64_FORMAT
                                " tp=%" G_GINT64_FORMAT,
                                r.batch, r.seq_len, o.tp);
            tm__calib_add_step_sample(m, yp, &a, config, desc);
        }
        if (has_d) {
            tm__calib_stepacc a = {0};
            for (int64_t j = 0; j < r.decode_tokens; j++) {
                tm_scenario_decode_batch(&b, k->topk, &r, j);
                tm__calib_stepacc_add(&a, k, &b, NULL, TM__CALIB_COMM_ALL);
            }
            tm__calib_stepacc_scale(&a, (double)r.grad_accum);
            g_autofree char *desc =
                g_strdup_printf("decode batch=%" G_GINT64_FORMAT " seq_len=%" G_GINT64_FORMAT
                                " decode_tokens=%" G_GINT64_FORMAT " tp=%" G_GINT64_FORMAT,
                                r.batch, r.seq_len, r.decode_tokens, o.tp);
            tm__calib_add_step_sample(m, yd, &a, config, desc);
        }
    }
    return more == 0;
}

/* ---- steps CSV ---------------------------------------------------------------------------- */

enum { ST_PT, ST_PS, ST_PC, ST_DS, ST_DC, ST_SAMPLED, ST_MS, ST_N };

#define STEP_MAX_SEQS   1000000    /* sequences in one step (prefill or decode) */
#define STEP_MAX_TOKENS 1000000000 /* tokens in one step, and a mean context */

static const char *const st_cols[] = {
    "prefill_tokens", "prefill_seqs", "prefill_context",  "decode_seqs",
    "decode_context", "sampled",      "measured_step_ms", NULL};
G_STATIC_ASSERT(BASE_STRV_N(st_cols) == ST_N);

typedef struct {
    tm_scenario_layout cfg; /* configuration columns (shape columns unused) */
    int st[ST_N];
} st_layout;

static void
st_layout_get(tm__calib_imp *m, st_layout *l)
{
    tm_scenario_layout_get(m->c, &l->cfg);
    for (int i = 0; i < ST_N; i++)
        l->st[i] = base_csv_col(m->c, st_cols[i]);
}

static gboolean
cell_mean(tm__calib_imp *m, int col, double *out, GError **error)
{
    if (tm__calib_cell_empty(m, col)) {
        *out = 0.0;
        return TRUE;
    }
    if (!tm__calib_cell_double(m, col, out, error))
        return FALSE;
    if (*out < 0 || *out > STEP_MAX_TOKENS) {
        base_csv_set_error(m->c, col, error, "must be between 0 and %g, got %g",
                           (double)STEP_MAX_TOKENS, *out);
        return FALSE;
    }
    return TRUE;
}

static gboolean
st_row_get(tm__calib_imp *m, const st_layout *l, step_row *r, GError **error)
{
    /* Bounds: a step prices one tm_batch_add per sequence, and a step of more than
     * STEP_MAX_SEQS sequences or STEP_MAX_TOKENS tokens is no measured vLLM step. */
    if (!tm__calib_cell_count(m, l->st[ST_PT], 0, STEP_MAX_TOKENS, &r->prefill_tokens, error) ||
        !tm__calib_cell_count(m, l->st[ST_DS], 0, STEP_MAX_SEQS, &r->decode_seqs, error) ||
        !tm__calib_cell_count(m, l->st[ST_PS], r->prefill_tokens > 0 ? 1 : 0, STEP_MAX_SEQS,
                              &r->prefill_seqs, error) ||
        !cell_mean(m, l->st[ST_PC], &r->prefill_context, error) ||
        !cell_mean(m, l->st[ST_DC], &r->decode_context, error))
        return FALSE;
    if (r->prefill_tokens == 0 && r->decode_seqs == 0) {
        tm__calib_row_error(m, error, "an empty step (prefill_tokens and decode_seqs are 0)");
        return FALSE;
    }
    if (r->prefill_seqs > r->prefill_tokens || (r->prefill_tokens > 0 && r->prefill_seqs == 0)) {
        base_csv_set_error(m->c, l->st[ST_PS], error,
                           "must be between 1 and prefill_tokens (%" G_GINT64_FORMAT ")",
                           r->prefill_tokens);
        return FALSE;
    }
    if (r->decode_seqs > 0 && l->st[ST_DC] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: missing column decode_context (rows have decode_seqs > 0)",
                    base_csv_name(m->c));
        return FALSE;
    }
    int64_t seqs = r->prefill_seqs + r->decode_seqs;
    if (!tm__calib_cell_int_def(m, l->st[ST_SAMPLED], seqs, 0, &r->sampled, error))
        return FALSE;
    if (r->sampled > seqs) {
        base_csv_set_error(m->c, l->st[ST_SAMPLED], error,
                           "more than the %" G_GINT64_FORMAT " sequences of the step", seqs);
        return FALSE;
    }
    return TRUE;
}

static char *
row_text(const tm__calib_imp *m)
{
    GString *g = g_string_new(NULL);
    for (size_t i = 0; i < base_csv_nfields(m->c); i++)
        g_string_append_printf(g, "%s%s", i ? "\x1f" : "", base_csv_field(m->c, i));
    return g_string_free(g, FALSE);
}

gboolean
tm__calib_import_steps(tm__calib_imp *m, GError **error)
{
    st_layout l;
    st_layout_get(m, &l);
    int ycol;
    if (!tm__calib_need_col(m, "measured_step_ms", &ycol, error))
        return FALSE;
    if (l.st[ST_PT] < 0 && l.st[ST_DS] < 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s:1: needs a prefill_tokens or decode_seqs column", base_csv_name(m->c));
        return FALSE;
    }
    int more;
    while ((more = base_csv_next(m->c, error)) > 0) {
        m->info->rows++;
        step_row r;
        g_auto(row_opts) o = {0};
        double y;
        if (!st_row_get(m, &l, &r, error) || !tm__calib_cell_time(m, ycol, 1e-3, &y, error) ||
            !row_options(m, &l.cfg, TM_CALIBRATION_NONE, &o, NULL, error))
            return FALSE;
        g_autofree char *text = row_text(m);
        if (!check_duplicate(m, text, "identical row", error))
            return FALSE;
        tm__calib_peak *k = row_peak(m, &o, false, error);
        if (k == NULL)
            return FALSE;
        g_autofree char *config = g_strdup_printf("%s %s tp=%" G_GINT64_FORMAT
                                                  " dp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT,
                                                  o.model, o.hardware, o.tp, o.dp, o.pp);
        tm_batch b;
        step_batch(&b, k->topk, &r);
        tm__calib_stepacc a = {0};
        tm__calib_stepacc_add(&a, k, &b, NULL, TM__CALIB_COMM_ALL);
        g_autofree char *desc = g_strdup_printf(
            "step prefill=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "@%.0f decode=%" G_GINT64_FORMAT
            "@%.0f",
            r.prefill_tokens, r.prefill_seqs, r.prefill_context, r.decode_seqs, r.decode_context);
        tm__calib_add_step_sample(m, y, &a, config, desc);
    }
    return more == 0;
}

/* ---- predictions ------------------------------------------------------------------------- */

gboolean
tm_calib_predict_csv(const char *path,
                     const tm_calib_import_opts *o,
                     GString *out,
                     double *mape_out,
                     size_t *n_out,
                     GError **error)
{
    tm_calib_import_info info = {0};
    tm__calib_imp m;
    tm__calib_imp_init(&m, NULL, o, &info);
    m.predicting = true;
    gboolean ok = tm__calib_open_input(&m, path, o->format, error);
    bool steps = info.format == TM_CALIB_FMT_STEPS;
    if (ok && !steps && info.format != TM_CALIB_FMT_MEASUREMENTS) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: --predict reads a scenarios (measurements) or steps CSV, not %s", path,
                    tm_calib_format_name(info.format));
        ok = FALSE;
    }
    const char *cal = o->tm->calibration;
    static const char *const add_sc[] = {"predicted_prefill_ms", "predicted_decode_ms",
                                         "prefill_ape", "decode_ape", NULL};
    static const char *const add_st[] = {"predicted_step_ms", "step_ape", NULL};
    const char *const *add = steps ? add_st : add_sc;
    size_t nadd = steps ? 2 : 4;
    double sum[3] = {0, 0, 0};
    size_t cnt[3] = {0, 0, 0};
    if (ok) {
        /* header: input columns minus the ones we write, then ours */
        size_t nc = base_csv_ncols(m.c);
        g_autofree bool *keep = g_new0(bool, nc + 1);
        bool first = true;
        for (size_t i = 0; i < nc; i++) {
            const char *name = base_csv_colname(m.c, i);
            keep[i] = true;
            for (size_t j = 0; j < nadd; j++)
                keep[i] &= strcmp(name, add[j]) != 0;
            if (keep[i]) {
                base_csv_put_field(out, name, first);
                first = false;
            }
        }
        for (size_t j = 0; j < nadd; j++) {
            base_csv_put_field(out, add[j], first);
            first = false;
        }
        g_string_append_c(out, '\n');
        ms_layout ml;
        st_layout sl;
        ms_layout_get(&m, &ml);
        st_layout_get(&m, &sl);
        int more = 0;
        while (ok && (more = base_csv_next(m.c, error)) > 0) {
            g_auto(row_opts) opt = {0};
            tm_scenario sc = {0};
            ok = row_options(&m, steps ? &sl.cfg : &ml.sc, cal, &opt, steps ? NULL : &sc, error);
            tm__calib_peak *k = ok ? row_peak(&m, &opt, true, error) : NULL;
            ok = k != NULL &&
                 (steps || tm_scenario_check_context(m.c, &ml.sc, &sc, k->model, error));
            char *vals[4] = {NULL, NULL, NULL, NULL};
            tm_batch b;
            if (ok && steps) {
                step_row r;
                double y = 0;
                bool has_y = !tm__calib_cell_empty(&m, sl.st[ST_MS]);
                ok = st_row_get(&m, &sl, &r, error) &&
                     (!has_y || tm__calib_cell_time(&m, sl.st[ST_MS], 1e-3, &y, error));
                if (ok) {
                    step_batch(&b, k->topk, &r);
                    double t = tm_step_s(k->tm, &b, NULL);
                    vals[0] = g_strdup_printf("%.4f", t * 1e3);
                    if (has_y) {
                        double ape = fabs(t - y) / y;
                        vals[1] = g_strdup_printf("%.4f", ape);
                        sum[2] += ape;
                        cnt[2]++;
                    }
                }
            } else if (ok) {
                double y[2] = {0, 0};
                bool has[2] = {!tm__calib_cell_empty(&m, ml.ms[MS_PREFILL]),
                               !tm__calib_cell_empty(&m, ml.ms[MS_DECODE])};
                for (int i = 0; ok && i < 2; i++)
                    if (has[i])
                        ok = tm__calib_cell_time(&m, ml.ms[MS_PREFILL + i], 1e-3, &y[i], error);
                if (ok) {
                    double t[2] = {0, 0};
                    tm_scenario_price(k->tm, k->topk, &sc, &t[0], &t[1]);
                    for (int i = 0; i < 2; i++) {
                        vals[i] = g_strdup_printf("%.4f", t[i] * 1e3);
                        if (has[i] && (i == 0 || sc.decode_tokens > 0)) {
                            double ape = fabs(t[i] - y[i]) / y[i];
                            vals[2 + i] = g_strdup_printf("%.4f", ape);
                            sum[i] += ape;
                            cnt[i]++;
                        }
                    }
                }
            }
            if (ok) {
                first = true;
                for (size_t i = 0; i < nc; i++) {
                    if (keep[i]) {
                        base_csv_put_field(out, base_csv_field(m.c, i), first);
                        first = false;
                    }
                }
                for (size_t j = 0; j < nadd; j++) {
                    base_csv_put_field(out, vals[j] != NULL ? vals[j] : "", first);
                    first = false;
                }
                g_string_append_c(out, '\n');
            }
            for (int i = 0; i < 4; i++)
                g_free(vals[i]);
        }
        if (ok && more < 0)
            ok = FALSE;
    }
    for (int i = 0; i < 3; i++) {
        if (mape_out != NULL)
            mape_out[i] = cnt[i] > 0 ? sum[i] / (double)cnt[i] : (double)NAN;
        if (n_out != NULL)
            n_out[i] = cnt[i];
    }
    tm__calib_imp_clear(&m);
    tm_calib_import_info_clear(&info);
    return ok;
}
