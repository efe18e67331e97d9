/* tools/cmd_calibrate.c: `servesim calibrate`: fit the roofline's coefficients to measured
 * timings (timemodel/calib_import.h reads the inputs, timemodel/calib_fit.h fits) and write a
 * calibration JSON that every other command accepts with --calibration; or, with --predict
 * CAL.json, apply a calibration to a scenarios or steps CSV. Prints the fit report (ends with
 * "CV MAPE: x.x%"); errors are one line, exit 2 for bad input (docs/calibration.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/io.h"
#include "base/json.h"
#include "base/match.h"
#include "base/opts.h"
#include "timemodel/calib_fit.h"
#include "timemodel/calib_import.h"
#include "timemodel/common.h"
#include "tools/calibrate_runs.h"
#include "tools/cli.h"

static const char synopsis[] =
    "calibrate [--model M] [--hardware H] [--out CAL.json] [--residuals FILE.csv] INPUT...\n"
    "       servesim calibrate --predict CAL.json [--output FILE.csv] SCENARIOS_OR_STEPS.csv\n"
    "       servesim calibrate --from-runs RUN... [--holdout RUN] [--params LIST] [--out CAL.json] "
    "[RUN FLAGS]   (see calibrate --from-runs --help)";

typedef struct calibrate_args {
    tm_options tm; /* first: tm_options_table offsets apply as they are */
    char *out;
    char *residuals;
    char *input_format;
    bool strict;
    bool allow_duplicates;
    char *terms;
    char *form;
    char *classes;
    char *cv;
    int64_t folds;
    int64_t bootstrap;
    int64_t seed;
    int64_t max_rounds;
    int64_t batch;
    int64_t input_len;
    int64_t decode_tokens;
    char *predict;
    char *output;
    bool quiet;
    bool compose;
    bool allow_super_peak;
} calibrate_args;

static const char *const forms[] = {"auto", "linear", "max", NULL};
static const char *const class_modes[] = {"split", "shared", NULL};
static const char *const cv_modes[] = {"kfold", "loco", NULL};

#define A(f) offsetof(calibrate_args, f)
static const base_opt rows[] = {
    {"out", "out", BASE_OPT_STRING, A(out), NULL, NULL, 0, 0, BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE,
     "CAL.json", "write the calibration here"},
    {"residuals", "residuals", BASE_OPT_STRING, A(residuals), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE.csv",
     "write one row per sample: sample, measured, predicted, APE, regime (+ CV)"},
    {"input_format", "input-format", BASE_OPT_STRING, A(input_format), "auto", NULL, 0, 0,
     BASE_OPT_CLI_ONLY, "NAME",
     "force the input kind: measurements, steps, vidur-mlp, vidur-attention, vidur-network, "
     "aic-gemm, aic-attention, aic-allreduce, aic-nccl, aic-moe, aic-module, lss-dense, "
     "lss-attention, lss-per-sequence, lss-v0-layers (default: from the header; --model / "
     "--hardware default to "
     "the tables' metadata, else llama-3.1-8b / h100-sxm)"},
    {"strict", "strict", BASE_OPT_BOOL, A(strict), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "unknown columns are errors"},
    {"allow_duplicates", "allow-duplicates", BASE_OPT_BOOL, A(allow_duplicates), "false", NULL, 0,
     0, BASE_OPT_CLI_ONLY, NULL, "keep duplicate rows of measurement / step CSVs"},
    {"terms", "terms", BASE_OPT_STRING, A(terms), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "LIST",
     "terms to fit, of fixed, seq, comm, kernel, compute, memory, attn_kernel, attn_compute, "
     "attn_memory, elem_kernel, elem_compute, elem_memory, mixdec_kernel, mixdec_compute, "
     "mixdec_memory, moe_kernel, moe_compute, moe_memory, q_kernel, q_compute, q_memory, "
     "moeq_kernel, moeq_compute, moeq_memory, attn_item, attn_serial, moe_token (default: every "
     "term the data exercises; docs/calibration.md §2.1)"},
    {"form", "form", BASE_OPT_ENUM, A(form), "auto", forms, 0, 0, BASE_OPT_CLI_ONLY, "FORM",
     "linear (per-operator roofline), max (step-level max), auto: the lower CV error"},
    {"classes", "classes", BASE_OPT_ENUM, A(classes), "split", class_modes, 0, 0, BASE_OPT_CLI_ONLY,
     "MODE",
     "split: GEMM, attention, elementwise operators, decode attention in mixed batches, routed "
     "experts and quantised-weight GEMMs / experts get their own per-kernel, compute and memory "
     "coefficients; shared: one set for all "
     "(docs/domain.md "
     "§4.2 as written)"},
    {"cv", "cv", BASE_OPT_ENUM, A(cv), "kfold", cv_modes, 0, 0, BASE_OPT_CLI_ONLY, "MODE",
     "cross-validation: kfold (random folds) or loco (leave one configuration out)"},
    {"folds", "folds", BASE_OPT_INT, A(folds), "5", NULL, 2, 1000, BASE_OPT_CLI_ONLY, "K",
     "folds of --cv kfold"},
    {"bootstrap", "bootstrap", BASE_OPT_INT, A(bootstrap), "200", NULL, 0, 100000,
     BASE_OPT_CLI_ONLY, "N", "bootstrap replicates for the 95% intervals (0: none)"},
    {"seed", "seed", BASE_OPT_INT, A(seed), "1", NULL, 0, 0, BASE_OPT_CLI_ONLY, "N",
     "seed of the folds and the bootstrap"},
    {"max_rounds", "max-rounds", BASE_OPT_INT, A(max_rounds), "5", NULL, 1, 100, BASE_OPT_CLI_ONLY,
     "N", "fit → re-classify operators → refit rounds"},
    {"batch", "batch", BASE_OPT_INT, A(batch), "1", NULL, 1, 1e7, BASE_OPT_CLI_ONLY, "N",
     "measurements CSV: batch_per_gpu when the column is missing"},
    {"input_len", "input-len", BASE_OPT_INT, A(input_len), "1024", NULL, 1, 1e8, BASE_OPT_CLI_ONLY,
     "N", "measurements CSV: seq_len when the column is missing"},
    {"decode_tokens", "decode-tokens", BASE_OPT_INT, A(decode_tokens), "128", NULL, 0, 1e8,
     BASE_OPT_CLI_ONLY, "N", "measurements CSV: decode_tokens when the column is missing"},
    /* not NULLABLE: "auto" (the hardware's shipped calibration) and "none" (uncalibrated) are
     * calibrations to predict with, not "no --predict" */
    {"predict", "predict", BASE_OPT_STRING, A(predict), NULL, NULL, 0, 0, BASE_OPT_CLI_ONLY,
     "CAL.json",
     "apply this calibration (file, shipped name, auto or none) to a scenarios or steps CSV "
     "instead of fitting"},
    {"output", "output", BASE_OPT_STRING, A(output), NULL, NULL, 0, 0,
     BASE_OPT_CLI_ONLY | BASE_OPT_NULLABLE, "FILE",
     "--predict: write the CSV here (default stdout)"},
    {"compose", "compose", BASE_OPT_BOOL, A(compose), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "compose operator tables into step samples: a Vidur mlp.csv with aiconfigurator attention "
     "(+ custom all-reduce) tables; LLMServingSim profile directories always are"},
    {"allow_super_peak", "allow-super-peak", BASE_OPT_BOOL, A(allow_super_peak), "false", NULL, 0,
     0, BASE_OPT_CLI_ONLY, NULL,
     "let efficiencies exceed 1 (compute, memory and link multipliers below 1); by default they "
     "are held at most at peak"},
    {"quiet", "quiet", BASE_OPT_BOOL, A(quiet), "false", NULL, 0, 0, BASE_OPT_CLI_ONLY, NULL,
     "print only the CV MAPE line"},
};
static const base_opt_table local = {"Calibrate", rows, G_N_ELEMENTS(rows), 0};

/* ---- report ------------------------------------------------------------------------------ */

static char *
pct(double x)
{
    return isfinite(x) ? g_strdup_printf("%.1f%%", 100.0 * x) : g_strdup("-");
}

/* A coefficient in its unit: seconds terms in µs, multipliers bare. */
static char *
coef(tm_calib_term t, double v)
{
    if (!isfinite(v))
        return g_strdup("-");
    if (tm_calib_term_is_multiplier(t))
        return g_strdup_printf("%.4g", v);
    return g_strdup_printf("%.4g us", v * 1e6);
}

/* sparse: indexed by term, NULL where a term has none (not a name table) */
static const char *const implied_names[TM_TERM_COUNT] = {
    [TM_TERM_COMPUTE] = "compute efficiency (MFU)",
    [TM_TERM_MEMORY] = "memory-bandwidth efficiency",
    [TM_TERM_ATT_COMPUTE] = "attention compute efficiency",
    [TM_TERM_ATT_MEMORY] = "attention memory-bandwidth efficiency",
    [TM_TERM_ELEM_COMPUTE] = "elementwise compute efficiency",
    [TM_TERM_ELEM_MEMORY] = "elementwise memory-bandwidth efficiency",
    [TM_TERM_MIXDEC_COMPUTE] = "mixed-batch decode attention compute efficiency",
    [TM_TERM_MIXDEC_MEMORY] = "mixed-batch decode attention memory-bandwidth efficiency",
    [TM_TERM_MOE_COMPUTE] = "MoE grouped-GEMM compute efficiency",
    [TM_TERM_MOE_MEMORY] = "MoE grouped-GEMM memory-bandwidth efficiency",
    [TM_TERM_Q_COMPUTE] = "quantised-weight GEMM compute efficiency",
    [TM_TERM_Q_MEMORY] = "quantised-weight GEMM memory-bandwidth efficiency",
    [TM_TERM_MOEQ_COMPUTE] = "quantised-weight MoE compute efficiency",
    [TM_TERM_MOEQ_MEMORY] = "quantised-weight MoE memory-bandwidth efficiency",
    [TM_TERM_ATT_SERIAL] = "one (sequence, KV head) decode item's share of bandwidth",
    [TM_TERM_MOE_TOKEN] = "MoE per-token work as a share of bandwidth",
    [TM_TERM_COMM] = "communication efficiency",
};

/* sparse: indexed by term, NULL where a term has none (not a name table) */
static const char *const meaning[TM_TERM_COUNT] = {
    [TM_TERM_FIXED] = "per step",
    [TM_TERM_SEQ] = "per sequence per step",
    [TM_TERM_KERNEL] = "per kernel",
    [TM_TERM_ATT_KERNEL] = "per attention kernel",
    [TM_TERM_ELEM_KERNEL] = "per elementwise kernel",
    [TM_TERM_MIXDEC_KERNEL] = "per mixed-batch decode attention kernel",
    [TM_TERM_MOE_KERNEL] = "per MoE grouped-GEMM kernel",
    [TM_TERM_Q_KERNEL] = "per quantised-weight GEMM kernel",
    [TM_TERM_MOEQ_KERNEL] = "per quantised-weight MoE kernel",
    [TM_TERM_ATT_ITEM] = "per decoding (sequence x KV head) per layer",
};

/* Terms listed even when the data does not exercise them (docs/domain.md §4.2's own). */
static bool
always_listed(tm_calib_term t)
{
    return t == TM_TERM_FIXED || t == TM_TERM_SEQ || t == TM_TERM_COMM || t == TM_TERM_KERNEL ||
           t == TM_TERM_COMPUTE || t == TM_TERM_MEMORY;
}

static void
print_report(const tm_calib_fit *f, const tm_calib_data *d, double fit_s)
{
    g_autofree char *cl = pct(f->cv_linear.mape), *cm = pct(f->cv_max.mape);
    printf("\nfit: %zu samples, %zu configurations, %u-fold%s CV; form %s (CV MAPE linear %s, "
           "max %s); ",
           f->n, tm_calib_data_n_configs(d), f->folds,
           f->cv == TM_CALIB_CV_LOCO ? " leave-one-configuration-out" : "",
           tm_calib_form_name(f->form), cl, cm);
    printf("operator bounds %s after %u round%s; operator classes %s; fitted in %.3f s\n",
           f->settled ? "settled" : "still changing", f->rounds, f->rounds == 1 ? "" : "s",
           f->split_classes ? "split" : "shared", fit_s);
    printf("\n  %-13s %-13s %-27s %s\n", "term", "coefficient", "95% bootstrap CI", "implied");
    for (int i = 0; i < TM_TERM_COUNT; i++) {
        tm_calib_term t = (tm_calib_term)i;
        if (f->status[t] == TM_TERM_ABSENT) {
            if (!always_listed(t))
                continue;
            printf("  %-13s %-13s %-27s %s\n", tm_calib_term_name(t), "-", "", "not in the data");
            continue;
        }
        g_autofree char *v = coef(t, f->beta[t]);
        g_autofree char *lo = coef(t, f->ci_lo[t]);
        g_autofree char *hi = coef(t, f->ci_hi[t]);
        g_autofree char *ci =
            isfinite(f->ci_lo[t]) ? g_strdup_printf("[%s, %s]", lo, hi) : g_strdup("");
        g_autofree char *imp = NULL;
        if (tm_calib_term_is_multiplier(t)) {
            const char *why;
            double e = tm_calib_fit_efficiency(f, t, &why);
            imp = why != NULL ? g_strdup_printf("%s: %s", implied_names[t], why)
                              : g_strdup_printf("%s %.1f%% of peak", implied_names[t], 100.0 * e);
        } else if (f->status[t] == TM_TERM_CLAMPED) {
            imp = g_strdup_printf("%s: not identifiable (clamped at 0)", meaning[t]);
        } else if (f->status[t] == TM_TERM_DROPPED) {
            imp = g_strdup_printf("%s: not identifiable (collinear)", meaning[t]);
        } else if (f->status[t] == TM_TERM_UNDETERMINED) {
            imp = g_strdup_printf("%s: not identifiable from this data (default kept)", meaning[t]);
        } else {
            imp = g_strdup(meaning[t]);
        }
        printf("  %-13s %-13s %-27s %s\n", tm_calib_term_name(t), v, ci, imp);
    }
    printf("\n  %-12s %7s %8s %8s %8s   %s\n", "regime", "samples", "MAPE", "p90 APE", "max APE",
           "(cross-validated; in-sample MAPE)");
    for (int r = 0; r <= TM_REGIME_COUNT; r++) {
        const tm_calib_quality *q = r < TM_REGIME_COUNT ? &f->regime_cv[r] : &f->cv_q;
        const tm_calib_quality *qi = r < TM_REGIME_COUNT ? &f->regime_fit[r] : &f->fit;
        if (q->n == 0)
            continue;
        g_autofree char *a = pct(q->mape), *b = pct(q->p90_ape), *c = pct(q->max_ape),
                        *e = pct(qi->mape);
        printf("  %-12s %7zu %8s %8s %8s   %s\n",
               r < TM_REGIME_COUNT ? tm_calib_regime_name((tm_calib_regime)r) : "all", q->n, a, b,
               c, e);
    }
    if (f->loco.n > 0) {
        g_autofree char *lm = pct(f->loco.mape);
        printf("\n  leave-one-configuration-out CV MAPE %s (each configuration predicted by a fit "
               "on the others):\n",
               lm);
        for (size_t i = 0; i <= f->n_configs; i++) {
            if (f->loco_config_n[i] == 0)
                continue;
            g_autofree char *cfgm = pct(f->loco_config_mape[i]);
            printf("    %-48s %7zu samples %8s\n",
                   i < f->n_configs ? tm_calib_data_config_name(d, (uint32_t)i) : "-",
                   f->loco_config_n[i], cfgm);
        }
    }
    GString *vif = g_string_new(NULL);
    for (int t = 0; t < TM_TERM_COUNT; t++)
        if (isfinite(f->vif[t]) || (f->status[t] != TM_TERM_ABSENT && !isnan(f->vif[t])))
            g_string_append_printf(vif, "%s%s %.1f", vif->len ? ", " : "",
                                   tm_calib_term_name((tm_calib_term)t), f->vif[t]);
    g_autofree char *applied = pct(f->applied.mape);
    printf("\n  R² (weighted, in-sample) %.4f; RMSE %.4g ms; condition number %.1f; VIF %s\n",
           f->fit.r2, f->fit.rmse_s * 1e3, f->cond, vif->str);
    if (f->form == TM_CALIB_FORM_MAX)
        printf("  applied by the per-operator roofline, the in-sample MAPE is %s\n", applied);
    g_string_free(vif, TRUE);
    if (f->warnings->len > 0) {
        printf("\nwarnings\n");
        for (guint i = 0; i < f->warnings->len; i++)
            printf("  - %s\n", (const char *)f->warnings->pdata[i]);
    }
}

static gboolean
write_residuals(const char *path, const tm_calib_fit *f, const tm_calib_data *d, GError **error)
{
    g_autoptr(base_out) o = base_out_open(path, error);
    if (o == NULL)
        return FALSE;
    base_out_puts(o, "sample,measured_ms,predicted_ms,ape,regime,cv_predicted_ms,cv_ape,config\n");
    for (size_t j = 0; j < f->n; j++) {
        const tm_calib_sample *s = tm_calib_data_sample(d, j);
        double y = s->measured_s;
        /* labels and configurations hold file and model names: quoted as needed */
        GString *row = g_string_new(NULL);
        base_csv_put_field(row, s->label, true);
        g_string_append_printf(row, ",%.6g,%.6g,%.5f,%s,%.6g,%.5f", y * 1e3, f->pred[j] * 1e3,
                               fabs(f->pred[j] - y) / y, tm_calib_regime_name(s->regime),
                               f->cv_pred[j] * 1e3, fabs(f->cv_pred[j] - y) / y);
        base_csv_put_field(row, tm_calib_data_config_name(d, s->config), false);
        g_string_append_c(row, '\n');
        base_out_write(o, row->str, row->len);
        g_string_free(row, TRUE);
    }
    return base_out_commit(o, error);
}

/* ---- predict ----------------------------------------------------------------------------- */

static int
predict(calibrate_args *a, const tm_calib_import_opts *io, GPtrArray *inputs)
{
    if (inputs->len != 1)
        return cli_usage_error(synopsis, "--predict takes exactly one CSV (got %u)", inputs->len);
    g_free(a->tm.calibration);
    a->tm.calibration = g_strdup(a->predict);
    GError *err = NULL;
    GString *out = g_string_new(NULL);
    double mape[3];
    size_t n[3];
    if (!tm_calib_predict_csv(inputs->pdata[0], io, out, mape, n, &err)) {
        g_string_free(out, TRUE);
        return cli_fail(err, CLI_USAGE);
    }
    int rc = CLI_OK;
    if (a->output != NULL) {
        if (!base_file_write_atomic(a->output, out->str, out->len, &err))
            rc = cli_fail(err, CLI_RUNTIME);
    } else {
        fputs(out->str, stdout);
    }
    g_string_free(out, TRUE);
    static const char *const what[] = {"prefill", "decode", "step", NULL};
    G_STATIC_ASSERT(BASE_STRV_N(what) == 3);
    for (int i = 0; i < 3 && rc == CLI_OK; i++)
        if (n[i] > 0)
            fprintf(stderr, "servesim: %s MAPE %.1f%% over %zu rows with a measured value\n",
                    what[i], 100.0 * mape[i], n[i]);
    return rc;
}

/* ---- fit ----------------------------------------------------------------------------------- */

static json_t *
sources_json(GPtrArray *labels, GArray *infos, int argc, char **argv)
{
    json_t *arr = json_array();
    for (guint i = 0; i < labels->len; i++) {
        const tm_calib_import_info *in = &g_array_index(infos, tm_calib_import_info, i);
        json_t *o = json_object();
        json_object_set_new(o, "input", json_string(labels->pdata[i]));
        json_object_set_new(o, "format", json_string(tm_calib_format_name(in->format)));
        json_object_set_new(o, "rows", json_integer((json_int_t)in->rows));
        json_object_set_new(o, "samples", json_integer((json_int_t)in->samples));
        json_object_set_new(o, "replicates_merged", json_integer((json_int_t)in->replicates));
        json_object_set_new(o, "skipped", json_integer((json_int_t)in->skipped));
        if (in->model != NULL)
            json_object_set_new(o, "model", json_string(in->model));
        if (in->hardware != NULL)
            json_object_set_new(o, "hardware", json_string(in->hardware));
        json_array_append_new(arr, o);
    }
    GString *cmd = g_string_new("servesim");
    for (int i = 0; i < argc; i++)
        g_string_append_printf(cmd, " %s", argv[i]);
    json_t *c = json_object();
    json_object_set_new(c, "command", json_string(cmd->str));
    g_string_free(cmd, TRUE);
    json_array_append_new(arr, c);
    return arr;
}

/* The hardware (model) every input was priced with, or NULL if they differ. transfer full. */
static char *
common_name(GArray *infos, bool hardware)
{
    const char *name = NULL;
    for (guint i = 0; i < infos->len; i++) {
        const tm_calib_import_info *in = &g_array_index(infos, tm_calib_import_info, i);
        const char *s = hardware ? in->hardware : in->model;
        if (s == NULL)
            continue;
        /* "h100-sxm (default)" → "h100-sxm" */
        size_t len = strcspn(s, " ");
        if (name != NULL && (strlen(name) != len || strncmp(name, s, len) != 0))
            return NULL;
        name = s;
    }
    return name != NULL ? g_strndup(name, strcspn(name, " ")) : NULL;
}

/* Reads every input into D, one LABELS / INFOS entry per input (or composed group). */
static gboolean
import_all(const calibrate_args *a,
           const tm_calib_import_opts *io,
           GPtrArray *inputs,
           tm_calib_data *d,
           GPtrArray *labels,
           GArray *infos,
           GError **error)
{
    g_autoptr(GPtrArray) mlps = g_ptr_array_new();
    g_autoptr(GPtrArray) atts = g_ptr_array_new();
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
    const char *ar = NULL;
    for (guint i = 0; i < inputs->len; i++) {
        char *path = inputs->pdata[i]; /* borrowed */
        tm_calib_format f = io->format;
        if (a->compose && f == TM_CALIB_FMT_AUTO && !tm_calib_detect_format(path, &f, error))
            return FALSE;
        if (a->compose) {
            switch (f) {
            case TM_CALIB_FMT_VIDUR_MLP:
                g_ptr_array_add(mlps, path);
                continue;
            case TM_CALIB_FMT_AIC_ATTENTION:
                g_ptr_array_add(atts, path);
                continue;
            case TM_CALIB_FMT_AIC_ALLREDUCE:
                if (ar != NULL) {
                    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                                "--compose: two all-reduce tables (%s, %s)", ar, path);
                    return FALSE;
                }
                ar = path;
                continue;
            case TM_CALIB_FMT_LSS_DENSE:
            case TM_CALIB_FMT_LSS_ATTENTION:
            case TM_CALIB_FMT_LSS_PER_SEQUENCE:
            case TM_CALIB_FMT_LSS_PROFILE: {
                char *dir =
                    f == TM_CALIB_FMT_LSS_PROFILE ? g_strdup(path) : g_path_get_dirname(path);
                bool seen = false;
                for (guint j = 0; j < dirs->len; j++)
                    seen |= strcmp(dirs->pdata[j], dir) == 0;
                if (seen) {
                    g_free(dir);
                    continue;
                }
                g_ptr_array_add(dirs, dir);
                tm_calib_import_info in = {0};
                if (!tm_calib_compose_profile(d, dir, io, &in, error))
                    return FALSE;
                g_ptr_array_add(labels, g_strdup(dir));
                g_array_append_val(infos, in);
                continue;
            }
            case TM_CALIB_FMT_MEASUREMENTS:
            case TM_CALIB_FMT_STEPS:
                break;
            default:
                g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                            "--compose: %s (%s) is not composed into steps; fit it without "
                            "--compose",
                            path, tm_calib_format_name(f));
                return FALSE;
            }
        }
        tm_calib_import_info in = {0};
        if (!tm_calib_import(d, path, io, &in, error))
            return FALSE;
        g_ptr_array_add(labels, g_strdup(path));
        g_array_append_val(infos, in);
    }
    if (atts->len > 0 && mlps->len == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--compose: attention tables need a Vidur mlp.csv to compose steps with");
        return FALSE;
    }
    for (guint i = 0; i < mlps->len; i++) {
        tm_calib_import_info in = {0};
        if (!tm_calib_compose_tables(d, mlps->pdata[i], (const char *const *)atts->pdata, atts->len,
                                     ar, io, &in, error))
            return FALSE;
        GString *l = g_string_new(mlps->pdata[i]);
        for (guint j = 0; j < atts->len; j++)
            g_string_append_printf(l, " + %s", (const char *)atts->pdata[j]);
        if (ar != NULL)
            g_string_append_printf(l, " + %s", ar);
        g_ptr_array_add(labels, g_string_free(l, FALSE));
        g_array_append_val(infos, in);
    }
    return TRUE;
}

static int
fit(const calibrate_args *a,
    const tm_calib_import_opts *io,
    GPtrArray *inputs,
    int argc,
    char **argv)
{
    if (inputs->len == 0)
        return cli_usage_error(synopsis, "no INPUT files");
    tm_calib_fit_opts fo;
    tm_calib_fit_opts_defaults(&fo);
    GError *err = NULL;
    if (a->terms != NULL && !tm_calib_terms_parse(a->terms, &fo.terms, &err)) {
        g_prefix_error(&err, "--terms: ");
        return cli_fail(err, CLI_USAGE);
    }
    fo.form = strcmp(a->form, "linear") == 0 ? TM_CALIB_FORM_LINEAR
              : strcmp(a->form, "max") == 0  ? TM_CALIB_FORM_MAX
                                             : TM_CALIB_FORM_AUTO;
    fo.split_classes = strcmp(a->classes, "split") == 0;
    fo.cv = strcmp(a->cv, "loco") == 0 ? TM_CALIB_CV_LOCO : TM_CALIB_CV_KFOLD;
    fo.folds = (unsigned)a->folds;
    fo.bootstrap = (unsigned)a->bootstrap;
    fo.seed = (uint64_t)a->seed;
    fo.max_rounds = (unsigned)a->max_rounds;
    fo.allow_super_peak = a->allow_super_peak;

    g_autoptr(tm_calib_data) d = tm_calib_data_new();
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);
    GArray *infos = g_array_new(FALSE, TRUE, sizeof(tm_calib_import_info));
    int rc = CLI_OK;
    double t0 = cli_now_s();
    if (!import_all(a, io, inputs, d, labels, infos, &err))
        rc = cli_fail(err, CLI_USAGE);
    double t1 = cli_now_s();
    g_autoptr(tm_calib_fit) f = NULL;
    if (rc == CLI_OK) {
        f = tm_calib_fit_run(d, &fo, &err);
        if (f == NULL)
            rc = cli_fail(err, CLI_USAGE);
    }
    double t2 = cli_now_s();
    if (rc == CLI_OK && !a->quiet) {
        printf("inputs (read in %.3f s)\n", t1 - t0);
        for (guint i = 0; i < labels->len; i++) {
            const tm_calib_import_info *in = &g_array_index(infos, tm_calib_import_info, i);
            printf("  %s: %s, %" G_GUINT64_FORMAT " rows -> %" G_GUINT64_FORMAT " samples",
                   (const char *)labels->pdata[i], tm_calib_format_name(in->format), in->rows,
                   in->samples);
            if (in->model != NULL || in->hardware != NULL)
                printf(" (%s%s%s)", in->model ? in->model : "", in->model ? " on " : "",
                       in->hardware ? in->hardware : "");
            printf("\n");
            if (in->replicates > 0)
                printf("    %" G_GUINT64_FORMAT " replicated rows merged (median)\n",
                       in->replicates);
            if (in->skipped_why != NULL)
                printf("    skipped %s\n", in->skipped_why);
            if (in->defaulted != NULL)
                printf("    defaulted columns: %s\n", in->defaulted);
            if (in->ignored != NULL)
                printf("    ignored columns: %s\n", in->ignored);
        }
        print_report(f, d, t2 - t1);
    }
    if (rc == CLI_OK && a->residuals != NULL && !write_residuals(a->residuals, f, d, &err))
        rc = cli_fail(err, CLI_RUNTIME);
    if (rc == CLI_OK && a->out != NULL) {
        g_autofree char *hw =
            a->tm.hardware != NULL ? g_strdup(a->tm.hardware) : common_name(infos, true);
        g_autofree char *model =
            a->tm.model != NULL ? g_strdup(a->tm.model) : common_name(infos, false);
        json_auto_t *j =
            tm_calib_fit_to_json(f, d, model, hw, sources_json(labels, infos, argc, argv));
        if (!base_json_write_file(a->out, j, &err))
            rc = cli_fail(err, CLI_RUNTIME);
        else if (!a->quiet)
            printf("\ncalibration written to %s\n", a->out);
    }
    if (rc == CLI_OK)
        printf("CV MAPE: %.1f%%\n", 100.0 * f->cv_q.mape);
    for (guint i = 0; i < infos->len; i++)
        tm_calib_import_info_clear(&g_array_index(infos, tm_calib_import_info, i));
    g_array_free(infos, TRUE);
    return rc;
}

int
cmd_calibrate(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--from-runs") == 0)
            return cmd_calibrate_runs(argc, argv);
    base_opt_table tables[2];
    base_opt_set schema_set;
    cli_tm_schema(tables, &schema_set, &local);
    const base_opt_set *set = &schema_set;
    if (cli_wants_help(argc, argv)) {
        cli_print_help(synopsis,
                       "Fit the roofline to measured timings by weighted non-negative least "
                       "squares (docs/domain.md §4.2): operator tables (Vidur, aiconfigurator, "
                       "LLMServingSim), a measurements CSV (tp, dp, batch_per_gpu, seq_len, "
                       "decode_tokens, grad_accum, measured_prefill_ms, measured_decode_ms) or a "
                       "steps CSV (docs/calibration.md). Prints coefficients with bootstrap "
                       "intervals, implied efficiencies, per-regime errors, the cross-validated "
                       "MAPE; --out writes the calibration JSON for --calibration. --predict "
                       "applies a calibration to a scenarios or steps CSV.",
                       set);
        return CLI_OK;
    }
    calibrate_args a;
    memset(&a, 0, sizeof a);
    base_opts_defaults(set, &a);
    /* no --model / --hardware: take them from the inputs' metadata */
    g_clear_pointer(&a.tm.model, g_free);
    g_clear_pointer(&a.tm.hardware, g_free);
    GError *err = NULL;
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    int rc;
    tm_calib_import_opts io;
    tm_calib_import_opts_defaults(&io, &a.tm);
    if (!base_opts_parse_args(set, &a, argc - 1, argv + 1, inputs, &err)) {
        rc = cli_fail(err, CLI_USAGE);
    } else if (!tm_calib_format_parse(a.input_format, &io.format, &err)) {
        g_prefix_error(&err, "--input-format: ");
        rc = cli_fail(err, CLI_USAGE);
    } else {
        io.batch = a.batch;
        io.input_len = a.input_len;
        io.decode_tokens = a.decode_tokens;
        io.strict = a.strict;
        io.allow_duplicates = a.allow_duplicates;
        rc = a.predict != NULL ? predict(&a, &io, inputs) : fit(&a, &io, inputs, argc, argv);
    }
    base_opts_clear(set, &a);
    return rc;
}
