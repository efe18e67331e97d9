/* tools/calibrate_runs.c: `servesim calibrate --from-runs RUN...`: end-to-end calibration by
 * simulation in the loop (docs/calibration.md §9). Every RUN is a measured result `compare`
 * reads (compare/compare.h), rebuilt once; a bounded Nelder–Mead (base/optim.h) over the logs
 * of a few request- and step-level parameters (API ingress latency and per-output-token
 * egress, per-step and per-sequence overheads, GEMM / attention / link time scales) minimises
 * the mean absolute relative error of the simulated TTFT, TPOT and E2E means; each evaluation
 * writes the candidate calibration to a temporary file and simulates every run through
 * tools/compare_run.c. Reported: the error of every run before (the calibration the runs would
 * use otherwise) and after, the leave-one-run-out CV error (each run predicted by a fit on the
 * others), optional held-out runs; --out writes a servesim-calibration/1 file that `run`,
 * `sweep` and `search` accept. Deterministic: same runs and flags, same evaluations. */
#include "tools/calibrate_runs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "base/json.h"
#include "base/optim.h"
#include "compare/compare.h"
#include "sim/config.h"
#include "sim/profile.h"
#include "timemodel/calibration.h"
#include "timemodel/setup.h"
#include "tools/cli.h"
#include "tools/compare_run.h"

static const char synopsis[] =
    "calibrate --from-runs RUN... [--holdout RUN]... [--params LIST] [--max-evals N] "
    "[--out CAL.json] [--quiet] [RUN FLAGS]";

/* ---- parameters --------------------------------------------------------------------------- */

typedef enum { PK_ABS, PK_SCALE } pkind;

typedef enum { P_INGRESS, P_EGRESS, P_STEP, P_SEQ, P_GEMM, P_ATTN, P_COMM, P_COUNT } pid;

typedef struct param {
    const char *name;
    const char *what;
    pkind kind;
    double lo, hi; /* bounds: seconds (PK_ABS) or a multiplier of time (PK_SCALE) */
    double unit;   /* printed as value / unit */
    const char *unit_name;
} param;

static const param params[P_COUNT] = {
    [P_INGRESS] = {"ingress", "API ingress latency per request (request_overhead_s)", PK_ABS, 1e-5,
                   2.0, 1e-3, "ms"},
    [P_EGRESS] = {"egress", "API server work per output token (per_output_token_s)", PK_ABS, 1e-7,
                  1e-2, 1e-6, "us"},
    [P_STEP] = {"step", "fixed overhead per step (beta0_s)", PK_ABS, 1e-6, 0.1, 1e-6, "us"},
    [P_SEQ] = {"seq", "overhead per scheduled sequence per step (beta_seq_s)", PK_ABS, 1e-9, 1e-3,
               1e-6, "us"},
    [P_GEMM] = {"gemm",
                "time scale of GEMMs (MoE and quantised ones too) and elementwise operators",
                PK_SCALE, 0.2, 5.0, 1.0, "x"},
    [P_ATTN] = {"attn", "time scale of attention kernels (incl. per-item decode terms)", PK_SCALE,
                0.2, 5.0, 1.0, "x"},
    [P_COMM] = {"comm", "time scale of collectives (beta_comm)", PK_SCALE, 0.2, 5.0, 1.0, "x"},
};

#define DEFAULT_PARAMS "ingress,egress,step,gemm,attn"

/* Coefficients a scale parameter multiplies: PRIMARY ones are written even when the base
 * calibration lacks them (from the resolved efficiency); the others only when present. */
typedef struct skey {
    const char *key;
    bool primary;
} skey;

static const skey gemm_keys[] = {{"beta_compute", true},      {"beta_memory", true},
                                 {"beta_elem_memory", false}, {"beta_moe_compute", false},
                                 {"beta_moe_memory", false},  {"beta_q_compute", false},
                                 {"beta_q_memory", false},    {"beta_moeq_compute", false},
                                 {"beta_moeq_memory", false}, {NULL, false}};
static const skey attn_keys[] = {{"beta_attn_compute", true},
                                 {"beta_attn_memory", true},
                                 {"beta_mixdec_compute", false},
                                 {"beta_mixdec_memory", false},
                                 {"beta_attn_item_s", true},
                                 {"beta_attn_serial", false},
                                 {NULL, false}};
static const skey comm_keys[] = {{"beta_comm", true}, {NULL, false}};

/* ---- state -------------------------------------------------------------------------------- */

typedef struct rrun {
    const cmp_result *m; /* borrowed from the results array */
    cmp_run run;
    char *orig_calibration;       /* the run's own --calibration setting (before) */
    double orig_step_overhead_us; /* as rebuilt: the runner pins it from the calibration */
    double before[CMP_NLAT], after[CMP_NLAT]; /* simulated means, ms */
    double before_err, after_err;             /* objective of this run alone */
    double cv_err;                            /* held out by leave-one-run-out (NAN = none) */
    double cv[CMP_NLAT];                      /* held-out simulated means */
} rrun;

static const cmp_lat metrics[] = {CMP_TTFT, CMP_TPOT, CMP_E2E};
#define NMET 3

typedef struct fitctx {
    json_t *base;              /* the base calibration document (a copy is written per point) */
    double base_coef[P_COUNT]; /* starting values (PK_ABS: seconds, PK_SCALE: 1) */
    double resolved[32];       /* resolved efficiencies / terms for primary scale keys */
    int fit_idx[P_COUNT];      /* fitted parameters, in table order */
    int nfit;
    char *tmp_path;  /* the candidate calibration */
    GPtrArray *runs; /* rrun *, all the runs (fit and held-out) */
    /* evaluation: which runs take part */
    const bool *use;
    int evals;
    GError *error; /* the first failed simulation */
} fitctx;

/* ---- the objective ------------------------------------------------------------------------ */

/* Mean over TTFT, TPOT, E2E (the means both sides have) of |sim − meas| / meas; NAN if none. */
/* Mean over TTFT, TPOT, E2E (the means both sides have) of |sim − meas| / meas; NAN if none. */
static double
run_error(const cmp_metrics *meas, const double *sim)
{
    double sum = 0.0;
    int n = 0;
    for (int k = 0; k < NMET; k++) {
        double m = meas->lat_ms[metrics[k]][CMP_MEAN];
        if (!(isfinite(m) && m > 0 && isfinite(sim[k])))
            continue;
        sum += fabs(sim[k] - m) / m;
        n++;
    }
    return n > 0 ? sum / n : (double)NAN;
}

/* Simulates R with calibration CAL; the means into OUT. */
static gboolean
simulate(rrun *r, const char *cal, double *out, GError **error)
{
    g_free(r->run.cfg.tm.calibration);
    r->run.cfg.tm.calibration = g_strdup(cal);
    /* the runner resolves an unset step overhead from the calibration in place: unset it
     * again, or every simulation after the first keeps the first calibration's value */
    r->run.cfg.sim.step_overhead_us = r->orig_step_overhead_us;
    cmp_result *s = NULL;
    int rc = compare_simulate(r->m, &r->run, &s, NULL, error);
    if (rc != CLI_OK)
        return FALSE;
    for (int k = 0; k < NMET; k++)
        out[k] = s->m.lat_ms[metrics[k]][CMP_MEAN];
    cmp_result_free(s);
    return TRUE;
}

static const char *const resolved_names[] = {
    "beta_compute", "beta_memory", "beta_attn_compute", "beta_attn_memory", "beta_attn_item_s",
    "beta_comm",    NULL};

static double
resolved_of(const fitctx *c, const char *key)
{
    for (int i = 0; resolved_names[i] != NULL; i++)
        if (strcmp(resolved_names[i], key) == 0)
            return c->resolved[i];
    return NAN;
}

static void
scale_keys(const fitctx *c, json_t *coef, const skey *keys, double s)
{
    const json_t *bc = json_object_get(c->base, "coefficients");
    for (const skey *k = keys; k->key != NULL; k++) {
        const json_t *v = json_object_get(bc, k->key);
        double b = json_is_number(v) ? json_number_value(v) : (double)NAN;
        if (!(b > 0)) {
            if (!k->primary)
                continue;
            b = resolved_of(c, k->key);
            if (!(b > 0))
                continue;
        }
        json_object_set_new(coef, k->key, base_json_real(s * b));
    }
}

/* The calibration document for parameter values V (P_COUNT entries; only fitted ones are
 * written, the rest keep the base). transfer full. */
static json_t *
candidate(const fitctx *c, const double *v)
{
    json_t *doc = json_deep_copy(c->base);
    json_t *coef = json_object_get(doc, "coefficients");
    if (!json_is_object(coef)) {
        coef = json_object();
        json_object_set_new(doc, "coefficients", coef);
    }
    for (int i = 0; i < c->nfit; i++) {
        int p = c->fit_idx[i];
        switch ((pid)p) {
        case P_INGRESS:
            json_object_set_new(doc, "request_overhead_s", base_json_real(v[p]));
            break;
        case P_EGRESS:
            json_object_set_new(doc, "per_output_token_s", base_json_real(v[p]));
            break;
        case P_STEP:
            json_object_set_new(coef, "beta0_s", base_json_real(v[p]));
            break;
        case P_SEQ:
            json_object_set_new(coef, "beta_seq_s", base_json_real(v[p]));
            break;
        case P_GEMM:
            scale_keys(c, coef, gemm_keys, v[p]);
            break;
        case P_ATTN:
            scale_keys(c, coef, attn_keys, v[p]);
            break;
        case P_COMM:
            scale_keys(c, coef, comm_keys, v[p]);
            break;
        case P_COUNT:
            break;
        }
    }
    return doc;
}

/* Parameter values from the optimiser's log coordinates X. */
static void
values_of(const fitctx *c, const double *x, double *v)
{
    memcpy(v, c->base_coef, sizeof(double) * P_COUNT);
    for (int i = 0; i < c->nfit; i++)
        v[c->fit_idx[i]] = exp(x[i]);
}

/* Simulates the runs of c->use with values V; the mean of their errors in *F and, when
 * STORE, each run's means in STORE (rrun.after or rrun.cv, by offset). */
static gboolean
evaluate(fitctx *c, const double *v, double *f, size_t store)
{
    json_auto_t *doc = candidate(c, v);
    if (!base_json_write_file(c->tmp_path, doc, &c->error))
        return FALSE;
    double sum = 0.0;
    int n = 0;
    for (guint i = 0; i < c->runs->len; i++) {
        if (!c->use[i])
            continue;
        rrun *r = g_ptr_array_index(c->runs, i);
        double sim[NMET];
        if (!simulate(r, c->tmp_path, sim, &c->error))
            return FALSE;
        if (store != 0)
            memcpy((char *)r + store, sim, sizeof sim);
        double e = run_error(&r->m->m, sim);
        if (isfinite(e)) {
            sum += e;
            n++;
        }
    }
    c->evals++;
    *f = n > 0 ? sum / n : (double)INFINITY;
    return TRUE;
}

static bool
objective(const double *x, void *ctx, double *f)
{
    fitctx *c = ctx;
    double v[P_COUNT];
    values_of(c, x, v);
    return evaluate(c, v, f, 0);
}

/* Fits the parameters on the runs of USE from the starting values; the best values in V. */
static gboolean
fit(fitctx *c, const bool *use, int max_evals, double *v, base_nm_result *res)
{
    double x[BASE_NM_MAX_DIM], lo[BASE_NM_MAX_DIM], hi[BASE_NM_MAX_DIM];
    for (int i = 0; i < c->nfit; i++) {
        const param *p = &params[c->fit_idx[i]];
        lo[i] = log(p->lo);
        hi[i] = log(p->hi);
        x[i] = fmin(fmax(log(c->base_coef[c->fit_idx[i]]), lo[i]), hi[i]);
    }
    c->use = use;
    /* steps of ×1.35 (log 0.3); stop at a 1e-6 spread of the error or ×1.0001 of the values.
     * A simplex can collapse in a narrow valley (step overhead against the GEMM scale): restart
     * from the best point with a fresh simplex while that still improves and budget remains. */
    base_nm_opts o = {.max_evals = max_evals, .step = 0.3, .ftol = 1e-6, .xtol = 1e-4};
    base_nm_result r = {.f = (double)INFINITY};
    int used = 0;
    for (int restart = 0; restart < 4 && used < max_evals; restart++) {
        base_nm_result rr;
        o.max_evals = max_evals - used;
        o.step = restart == 0 ? 0.3 : 0.1;
        if (!base_nm_minimize(c->nfit, x, lo, hi, &o, objective, c, &rr))
            return FALSE;
        used += rr.evals;
        bool better = rr.f < r.f - 1e-6;
        r.f = fmin(r.f, rr.f);
        r.converged = rr.converged;
        if (!better || !rr.converged)
            break;
    }
    r.evals = used;
    *res = r;
    values_of(c, x, v);
    return TRUE;
}

/* ---- setup -------------------------------------------------------------------------------- */

typedef struct ropts {
    GPtrArray *holdout; /* char * paths (borrowed) */
    const char *params, *out;
    int max_evals;
    bool quiet;
} ropts;

static int
split_args(int argc, char **argv, ropts *o, GPtrArray *rest)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--from-runs") == 0)
            continue;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (strcmp(a, "--holdout") == 0 || strcmp(a, "--params") == 0 ||
            strcmp(a, "--max-evals") == 0 || strcmp(a, "--out") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(synopsis, "%s: missing value", a);
            char *v = argv[++i];
            if (strcmp(a, "--holdout") == 0) {
                g_ptr_array_add(o->holdout, v);
            } else if (strcmp(a, "--params") == 0) {
                o->params = v;
            } else if (strcmp(a, "--out") == 0) {
                o->out = v;
            } else if (!cli_parse_int(v, 2, 100000, &o->max_evals)) {
                return cli_usage_error(synopsis, "--max-evals: expected 2 to 100000, got '%s'", v);
            }
            continue;
        }
        g_ptr_array_add(rest, argv[i]);
    }
    return CLI_OK;
}

static gboolean
parse_params(const char *list, fitctx *c, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    bool seen[P_COUNT] = {false};
    for (char **p = parts; *p != NULL; p++) {
        g_strstrip(*p);
        if (**p == '\0')
            continue;
        int found = -1;
        for (int k = 0; k < P_COUNT; k++)
            if (strcmp(params[k].name, *p) == 0)
                found = k;
        if (found < 0) {
            g_set_error(error, CMP_ERROR, CMP_ERROR_INVALID,
                        "--params: unknown parameter '%s' (expected ingress, egress, step, seq, "
                        "gemm, attn, comm)",
                        *p);
            return FALSE;
        }
        seen[found] = true;
    }
    c->nfit = 0;
    for (int k = 0; k < P_COUNT; k++)
        if (seen[k])
            c->fit_idx[c->nfit++] = k;
    if (c->nfit == 0) {
        g_set_error(error, CMP_ERROR, CMP_ERROR_INVALID, "--params: empty list");
        return FALSE;
    }
    return TRUE;
}

static void
rrun_free(gpointer p)
{
    rrun *r = p;
    cmp_run_clear(&r->run);
    g_free(r->orig_calibration);
    g_free(r);
}

/* Reads and rebuilds every point of PATH into RUNS. */
static gboolean
load_runs(const char *path,
          int nflags,
          char **flags,
          uint64_t seed,
          GPtrArray *results,
          GPtrArray *runs,
          GError **error)
{
    guint first = results->len;
    bool step_flag = false;
    for (int i = 0; i < nflags; i++)
        step_flag |= g_str_has_prefix(flags[i], "--step-overhead-us");
    cmp_read_opts ro = {.seed = seed};
    if (!cmp_read(path, &ro, results, error))
        return FALSE;
    for (guint i = first; i < results->len; i++) {
        const cmp_result *m = g_ptr_array_index(results, i);
        bool any = false;
        for (int k = 0; k < NMET; k++)
            any |= isfinite(m->m.lat_ms[metrics[k]][CMP_MEAN]);
        if (!any) {
            g_set_error(error, CMP_ERROR, CMP_ERROR_INVALID,
                        "%s: records no TTFT, TPOT or E2E mean to calibrate against", m->where);
            return FALSE;
        }
        rrun *r = g_new0(rrun, 1);
        r->m = m;
        r->cv_err = NAN;
        for (int k = 0; k < CMP_NLAT; k++)
            r->cv[k] = NAN;
        if (!cmp_rebuild(m, nflags, flags, &r->run, error)) {
            g_free(r);
            return FALSE;
        }
        r->orig_calibration = g_strdup(r->run.cfg.tm.calibration);
        /* a servesim export records the step overhead its calibration resolved to: unless a
         * flag sets it, the calibration under test decides it again */
        r->orig_step_overhead_us = step_flag ? r->run.cfg.sim.step_overhead_us : (double)NAN;
        g_ptr_array_add(runs, r);
    }
    return TRUE;
}

/* Starting values, resolved efficiencies and the base document from the first run's setup. */
static gboolean
init_base(fitctx *c, rrun *r0, GError **error)
{
    g_autoptr(tm_setup) s = tm_setup_new(&r0->run.cfg.tm, error);
    if (s == NULL)
        return FALSE;
    const char *cal = tm_setup_calibration(s);
    if (cal != NULL) {
        c->base = tm_calibration_load_json(cal, error);
        if (c->base == NULL)
            return FALSE;
    } else {
        c->base = json_object();
        json_object_set_new(c->base, "format", json_string(TM_CALIBRATION_FORMAT));
    }
    if (json_object_get(c->base, "hardware") == NULL)
        json_object_set_new(c->base, "hardware", json_string(tm_setup_hardware(s)->name));
    const tm_roofline_params *p = tm_setup_params_const(s);
    double ac = isfinite(p->attn_compute_eff) ? p->attn_compute_eff : p->compute_eff;
    double am = isfinite(p->attn_memory_eff) ? p->attn_memory_eff : p->memory_eff;
    c->resolved[0] = 1.0 / p->compute_eff;
    c->resolved[1] = 1.0 / p->memory_eff;
    c->resolved[2] = 1.0 / ac;
    c->resolved[3] = 1.0 / am;
    c->resolved[4] = p->attn_item_s;
    c->resolved[5] = 1.0 / p->comm_eff;

    /* the values the simulation uses today: calibration, else profile / hardware defaults */
    const sim_profile *prof = sim_profile_find(r0->run.cfg.sim.engine);
    if (prof == NULL)
        prof = sim_profile_default();
    const json_t *coef = json_object_get(c->base, "coefficients");
    const json_t *v;
    c->base_coef[P_INGRESS] =
        p->request_overhead_s > 0 ? p->request_overhead_s : prof->api_ingress_latency_s;
    c->base_coef[P_EGRESS] =
        p->per_output_token_s > 0 ? p->per_output_token_s : prof->api_per_output_token_s;
    v = json_object_get(coef, "beta0_s");
    c->base_coef[P_STEP] = json_is_number(v) && json_number_value(v) > 0 ? json_number_value(v)
                           : cal == NULL && p->step_overhead_s > 0       ? p->step_overhead_s
                                                                         : 20e-6;
    v = json_object_get(coef, "beta_seq_s");
    c->base_coef[P_SEQ] = json_is_number(v) && json_number_value(v) > 0 ? json_number_value(v)
                          : p->per_seq_overhead_s > 0                   ? p->per_seq_overhead_s
                                                                        : 1e-6;
    c->base_coef[P_GEMM] = c->base_coef[P_ATTN] = c->base_coef[P_COMM] = 1.0;
    /* explicit flags beat the calibration: a parameter they fix cannot be fitted */
    const sim_options *so = &r0->run.cfg.sim;
    for (int i = 0; i < c->nfit; i++) {
        int k = c->fit_idx[i];
        const char *flag = NULL;
        if (k == P_INGRESS && isfinite(so->api_ingress_latency_ms))
            flag = "--api-ingress-latency-ms";
        if (k == P_EGRESS && isfinite(so->api_per_output_token_us))
            flag = "--api-per-output-token-us";
        if (k == P_STEP && isfinite(r0->orig_step_overhead_us))
            flag = "--step-overhead-us";
        if (k == P_GEMM &&
            (isfinite(r0->run.cfg.tm.compute_eff) || isfinite(r0->run.cfg.tm.memory_eff)))
            flag = "--compute-efficiency / --memory-efficiency";
        if (k == P_COMM && isfinite(r0->run.cfg.tm.comm_eff))
            flag = "--comm-efficiency";
        if (flag != NULL) {
            g_set_error(error, CMP_ERROR, CMP_ERROR_INVALID,
                        "--params %s: %s fixes it, so it cannot be fitted (drop one)",
                        params[k].name, flag);
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- report ------------------------------------------------------------------------------- */

static char *
pval(int k, double v)
{
    return g_strdup_printf("%.4g %s", v / params[k].unit, params[k].unit_name);
}

static void
print_errors(const rrun *r, const double *sim)
{
    for (int k = 0; k < NMET; k++) {
        double m = r->m->m.lat_ms[metrics[k]][CMP_MEAN];
        if (!isfinite(m))
            continue;
        printf(" %s %+.1f%%", cmp_lat_names[metrics[k]], 100.0 * (sim[k] - m) / m);
    }
}

static json_t *
run_json(const rrun *r, bool held_out)
{
    json_t *o = json_object();
    json_object_set_new(o, "input", json_string(r->m->where));
    json_object_set_new(o, "held_out", json_boolean(held_out));
    json_object_set_new(o, "error_before", base_json_real(r->before_err));
    json_object_set_new(o, "error_after", base_json_real(r->after_err));
    if (isfinite(r->cv_err))
        json_object_set_new(o, "error_cv", base_json_real(r->cv_err));
    return o;
}

/* ---- the command -------------------------------------------------------------------------- */

static int
run_all(const ropts *o, GPtrArray *pos, GPtrArray *flags, uint64_t seed, int argc, char **argv)
{
    g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)cmp_result_free);
    g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func(rrun_free);
    GError *err = NULL;
    guint nfitruns = 0;
    for (guint i = 0; i < pos->len + o->holdout->len; i++) {
        const char *path = i < pos->len ? pos->pdata[i] : o->holdout->pdata[i - pos->len];
        if (!load_runs(path, (int)flags->len, (char **)flags->pdata, seed, results, runs, &err))
            return cli_fail(err, CLI_USAGE);
        if (i + 1 == pos->len)
            nfitruns = runs->len;
    }
    for (guint i = 1; i < runs->len; i++) {
        const rrun *a = g_ptr_array_index(runs, 0), *b = g_ptr_array_index(runs, i);
        if (g_strcmp0(a->run.hardware, b->run.hardware) != 0)
            return cli_failf(CLI_USAGE,
                             "%s: simulated on %s, %s on %s: calibrate one hardware at a time",
                             b->m->where, b->run.hardware, a->m->where, a->run.hardware);
    }
    fitctx c = {0};
    c.runs = runs;
    int rc = CLI_OK;
    if (!parse_params(o->params != NULL ? o->params : DEFAULT_PARAMS, &c, &err) ||
        !init_base(&c, g_ptr_array_index(runs, 0), &err)) {
        json_decref(c.base);
        return cli_fail(err, CLI_USAGE);
    }
    int fd = g_file_open_tmp("servesim-calibration-XXXXXX.json", &c.tmp_path, &err);
    if (fd < 0) {
        json_decref(c.base);
        return cli_fail(err, CLI_RUNTIME);
    }
    close(fd);
    double t0 = cli_now_s();
    g_autofree bool *use = g_new0(bool, runs->len);
    double v[P_COUNT];
    base_nm_result res = {0};
    int cv_evals = 0;
    /* before: every run as it would be simulated without this calibration */
    for (guint i = 0; i < runs->len && rc == CLI_OK; i++) {
        rrun *r = g_ptr_array_index(runs, i);
        if (!simulate(r, r->orig_calibration, r->before, &err))
            rc = cli_fail(err, CLI_USAGE);
        else
            r->before_err = run_error(&r->m->m, r->before);
    }
    /* leave one run out: each fit run predicted by a fit on the others */
    if (rc == CLI_OK && nfitruns >= 2) {
        for (guint h = 0; h < nfitruns && rc == CLI_OK; h++) {
            for (guint i = 0; i < runs->len; i++)
                use[i] = i < nfitruns && i != h;
            base_nm_result cr;
            double cvv[P_COUNT], f;
            g_autofree bool *only = g_new0(bool, runs->len);
            if (!fit(&c, use, o->max_evals, cvv, &cr)) {
                rc = cli_fail(g_steal_pointer(&c.error), CLI_USAGE);
                break;
            }
            cv_evals += cr.evals;
            only[h] = true;
            c.use = only;
            if (!evaluate(&c, cvv, &f, offsetof(rrun, cv))) {
                rc = cli_fail(g_steal_pointer(&c.error), CLI_USAGE);
                break;
            }
            rrun *r = g_ptr_array_index(runs, h);
            r->cv_err = run_error(&r->m->m, r->cv);
        }
    }
    /* the fit on every fit run, then every run (held-out ones too) with it */
    if (rc == CLI_OK) {
        for (guint i = 0; i < runs->len; i++)
            use[i] = i < nfitruns;
        if (!fit(&c, use, o->max_evals, v, &res))
            rc = cli_fail(g_steal_pointer(&c.error), CLI_USAGE);
    }
    if (rc == CLI_OK) {
        for (guint i = 0; i < runs->len; i++)
            use[i] = true;
        c.use = use;
        double f;
        if (!evaluate(&c, v, &f, offsetof(rrun, after)))
            rc = cli_fail(g_steal_pointer(&c.error), CLI_USAGE);
        for (guint i = 0; i < runs->len && rc == CLI_OK; i++) {
            rrun *r = g_ptr_array_index(runs, i);
            r->after_err = run_error(&r->m->m, r->after);
        }
    }
    double secs = cli_now_s() - t0;
    double in_before = 0, in_after = 0, cv = 0, ho_before = 0, ho_after = 0;
    for (guint i = 0; i < runs->len && rc == CLI_OK; i++) {
        const rrun *r = g_ptr_array_index(runs, i);
        if (i < nfitruns) {
            in_before += r->before_err / nfitruns;
            in_after += r->after_err / nfitruns;
            cv += r->cv_err / nfitruns;
        } else {
            ho_before += r->before_err / (runs->len - nfitruns);
            ho_after += r->after_err / (runs->len - nfitruns);
        }
    }
    const rrun *r0 = rc == CLI_OK ? g_ptr_array_index(runs, 0) : NULL;
    const char *base_name =
        r0 != NULL && r0->orig_calibration != NULL ? r0->orig_calibration : "auto";
    if (rc == CLI_OK && !o->quiet) {
        printf("runs (%u fitted, %u held out); simulated on %s, base calibration %s\n", nfitruns,
               runs->len - nfitruns, r0->run.hardware, base_name);
        for (guint i = 0; i < runs->len; i++) {
            const rrun *r = g_ptr_array_index(runs, i);
            printf("  %s%s: %s\n", r->m->where, i < nfitruns ? "" : " (held out)",
                   r->m->label != NULL ? r->m->label : "");
        }
        printf("\nfit: bounded Nelder-Mead on log parameters, %d evaluation%s (%s); each one "
               "simulates the %u fitted run%s; %d more for leave-one-run-out CV; %.1f s\n",
               res.evals, res.evals == 1 ? "" : "s", res.converged ? "converged" : "budget spent",
               nfitruns, nfitruns == 1 ? "" : "s", cv_evals, secs);
        printf("objective: mean over runs of the mean |simulated - measured| / measured of the "
               "TTFT, TPOT and E2E means\n");
        printf("\n  %-8s %-14s %-14s %-22s %s\n", "param", "start", "fitted", "bounds", "meaning");
        for (int i = 0; i < c.nfit; i++) {
            int k = c.fit_idx[i];
            g_autofree char *a = pval(k, c.base_coef[k]), *b = pval(k, v[k]),
                            *lo = pval(k, params[k].lo), *hi = pval(k, params[k].hi);
            g_autofree char *bd = g_strdup_printf("[%s, %s]", lo, hi);
            bool at_bound =
                fabs(log(v[k] / params[k].lo)) < 1e-3 || fabs(log(v[k] / params[k].hi)) < 1e-3;
            printf("  %-8s %-14s %-14s %-22s %s%s\n", params[k].name, a, b, bd, params[k].what,
                   at_bound ? " (at its bound)" : "");
        }
        printf("\n  %-58s %8s %8s %8s\n", "run: error of the TTFT / TPOT / E2E means", "before",
               "fitted", "CV");
        for (guint i = 0; i < runs->len; i++) {
            const rrun *r = g_ptr_array_index(runs, i);
            g_autofree char *cvs =
                isfinite(r->cv_err) ? g_strdup_printf("%.1f%%", 100 * r->cv_err) : g_strdup("-");
            printf("  %-58s %7.1f%% %7.1f%% %8s\n", r->m->where, 100 * r->before_err,
                   100 * r->after_err, i < nfitruns ? cvs : "held out");
            printf("    before:");
            print_errors(r, r->before);
            printf("\n    fitted:");
            print_errors(r, r->after);
            if (isfinite(r->cv_err)) {
                printf("\n    CV:    ");
                print_errors(r, r->cv);
            }
            printf("\n");
        }
        printf("\n  fitted runs: %.1f%% before, %.1f%% fitted", 100 * in_before, 100 * in_after);
        if (nfitruns >= 2)
            printf(", %.1f%% leave-one-run-out CV", 100 * cv);
        printf("\n");
        if (runs->len > nfitruns)
            printf("  held-out runs: %.1f%% before, %.1f%% with the fit\n", 100 * ho_before,
                   100 * ho_after);
        if (nfitruns < 2)
            printf("  (one fitted run: no cross-validation; hold runs out with --holdout)\n");
    }
    if (rc == CLI_OK && o->out != NULL) {
        json_auto_t *doc = candidate(&c, v);
        json_t *fj = json_object();
        json_object_set_new(fj, "method", json_string("end-to-end (calibrate --from-runs)"));
        json_object_set_new(fj, "objective",
                            json_string("mean over runs of the mean absolute relative error of "
                                        "the TTFT, TPOT and E2E means"));
        json_object_set_new(fj, "base_calibration", json_string(base_name));
        json_object_set_new(fj, "runs", json_integer(nfitruns));
        json_object_set_new(fj, "evaluations", json_integer(res.evals));
        json_object_set_new(fj, "mape_before", base_json_real(in_before));
        json_object_set_new(fj, "mape", base_json_real(in_after));
        if (nfitruns >= 2) {
            json_object_set_new(fj, "cv", json_string("leave-one-run-out"));
            json_object_set_new(fj, "cv_mape", base_json_real(cv));
        }
        json_t *pj = json_object();
        for (int i = 0; i < c.nfit; i++) {
            int k = c.fit_idx[i];
            json_t *e = json_object();
            json_object_set_new(e, "start", base_json_real(c.base_coef[k]));
            json_object_set_new(e, "value", base_json_real(v[k]));
            json_object_set_new(e, "unit", json_string(params[k].kind == PK_ABS ? "s" : "x"));
            json_object_set_new(pj, params[k].name, e);
        }
        json_object_set_new(fj, "parameters", pj);
        json_t *rj = json_array();
        for (guint i = 0; i < runs->len; i++)
            json_array_append_new(rj, run_json(g_ptr_array_index(runs, i), i >= nfitruns));
        json_object_set_new(fj, "per_run", rj);
        json_object_set_new(doc, "fit", fj);
        GString *cmd = g_string_new("servesim");
        for (int i = 0; i < argc; i++)
            g_string_append_printf(cmd, " %s", argv[i]);
        json_t *src = json_array();
        json_t *cj = json_object();
        json_object_set_new(cj, "command", json_string(cmd->str));
        json_array_append_new(src, cj);
        g_string_free(cmd, TRUE);
        json_object_set_new(doc, "sources", src);
        if (json_object_get(doc, "model") == NULL && r0->run.model != NULL)
            json_object_set_new(doc, "model", json_string(r0->run.model));
        if (!base_json_write_file(o->out, doc, &err))
            rc = cli_fail(err, CLI_RUNTIME);
        else if (!o->quiet)
            printf("\ncalibration written to %s\n", o->out);
    }
    if (rc == CLI_OK) {
        if (nfitruns >= 2)
            printf("CV MAPE: %.1f%%\n", 100 * cv);
        else
            printf("MAPE: %.1f%% (in-sample; one run)\n", 100 * in_after);
    }
    g_unlink(c.tmp_path);
    g_free(c.tmp_path);
    json_decref(c.base);
    g_clear_error(&c.error);
    return rc;
}

int
cmd_calibrate_runs(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_help(
            synopsis,
            "End-to-end calibration (docs/calibration.md §9): simulate measured runs (any input "
            "`servesim compare` reads) and fit a few request- and step-level parameters by a "
            "bounded Nelder-Mead on their logs, minimising the mean absolute relative error of "
            "the simulated TTFT, TPOT and E2E means. Reports every run's error before and after "
            "and the leave-one-run-out CV error; --out writes a calibration JSON for "
            "--calibration.\n\n"
            "  --params LIST   of ingress, egress, step, seq, gemm, attn, comm (default "
            "ingress,egress,step,gemm,attn)\n"
            "  --max-evals N   evaluations per fit (default 60)\n"
            "  --holdout RUN   a run not fitted, reported before and after (repeatable)\n"
            "  --out CAL.json  write the calibration\n"
            "  --quiet         print only the last line\n"
            "Run flags (below) fill what the runs do not record, as for `compare`; "
            "--calibration sets the base the fit starts from.",
            sim_config_schema());
        return CLI_OK;
    }
    g_autoptr(GPtrArray) holdout = g_ptr_array_new();
    ropts o = {.holdout = holdout, .max_evals = 60};
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    int rc = split_args(argc, argv, &o, rest);
    if (rc != CLI_OK)
        return rc;
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    g_autoptr(GPtrArray) flags = g_ptr_array_new();
    uint64_t seed = 0;
    rc = compare_split_run_args(rest, pos, flags, &seed);
    if (rc != CLI_OK)
        return rc;
    if (pos->len == 0)
        return cli_usage_error(synopsis, "--from-runs: no RUN given");
    return run_all(&o, pos, flags, seed, argc, argv);
}
