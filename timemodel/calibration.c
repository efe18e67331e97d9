/* timemodel/calibration.c: reads calibration JSON (format in calibration.h) and maps the
 * regression coefficients onto the roofline's knobs (docs/domain.md §4.2: MFU = 1/βc, ...). */
#include "timemodel/calibration.h"

#include <math.h>
#include <string.h>

#include "base/csv.h"
#include "base/match.h"
#include "timemodel/internal.h"

static const char *const top_keys[] = {"format",
                                       "model",
                                       "hardware",
                                       "form",
                                       "coefficients",
                                       "overlap",
                                       "moe_imbalance",
                                       "request_overhead_s",
                                       "per_output_token_s",
                                       "allreduce_table",
                                       "fit",
                                       "notes",
                                       "sources",
                                       NULL};
static const char *const coef_keys[] = {"beta0_s",
                                        "beta_compute",
                                        "beta_memory",
                                        "beta_attn_compute",
                                        "beta_attn_memory",
                                        "beta_elem_memory",
                                        "beta_mixdec_compute",
                                        "beta_mixdec_memory",
                                        "beta_comm",
                                        "beta_seq_s",
                                        "beta_kernel_s",
                                        "beta_attn_kernel_s",
                                        "beta_elem_kernel_s",
                                        "beta_moe_kernel_s",
                                        "beta_moe_compute",
                                        "beta_moe_memory",
                                        "beta_q_kernel_s",
                                        "beta_q_compute",
                                        "beta_q_memory",
                                        "beta_moeq_kernel_s",
                                        "beta_moeq_compute",
                                        "beta_moeq_memory",
                                        "beta_attn_item_s",
                                        "beta_attn_serial",
                                        "beta_moe_token",
                                        NULL};

static gboolean
check_keys(json_t *o, const char *const *keys, const char *where, GError **error)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (base_strv_index(keys, k) < 0) {
            g_autofree char *close = base_suggest(k, keys);
            g_autofree char *shown = base_escape_text(k, 64); /* the file's text, one line */
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: unknown key '%s'%s%s%s", where, shown,
                        close ? " (did you mean " : "", close ? close : "", close ? "?)" : "");
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
number(const json_t *o,
       const char *key,
       double min,
       double max,
       double *out,
       const char *where,
       GError **error)
{
    const json_t *v = json_object_get(o, key);
    *out = NAN;
    if (v == NULL || json_is_null(v))
        return TRUE;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s: expected a number in [%g, %g]", where,
                    key, min, max);
        return FALSE;
    }
    *out = json_number_value(v);
    return TRUE;
}

/* "allreduce_table": GPU count → ascending [bytes, seconds] pairs. */
static gboolean
read_allreduce(const json_t *j, tm_allreduce_table *t, const char *name, GError **error)
{
    memset(t, 0, sizeof *t);
    const json_t *at = json_object_get(j, "allreduce_table");
    if (at == NULL || json_is_null(at))
        return TRUE;
    if (!json_is_object(at) || json_object_size(at) > TM_AR_SLOTS) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: allreduce_table: expected an object of at most %d GPU counts", name,
                    TM_AR_SLOTS);
        return FALSE;
    }
    int k = 0;
    const char *key;
    json_t *pts;
    json_object_foreach((json_t *)(uintptr_t)at, key, pts) {
        int64_t n;
        if (!base_parse_int64(key, &n) || n < 2 || n > 65536 || !json_is_array(pts) ||
            json_array_size(pts) < 1 || json_array_size(pts) > TM_AR_MAX_POINTS) {
            g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                        "%s: allreduce_table: \"%s\": expected a GPU count ≥ 2 with 1 to %d "
                        "[bytes, seconds] points",
                        name, key, TM_AR_MAX_POINTS);
            return FALSE;
        }
        t->n_gpus[k] = (int)n;
        size_t i;
        json_t *pt;
        json_array_foreach(pts, i, pt) {
            json_t *b = json_array_get(pt, 0), *s = json_array_get(pt, 1);
            double bv = json_number_value(b), sv = json_number_value(s);
            if (!json_is_array(pt) || json_array_size(pt) != 2 || !json_is_number(b) ||
                !json_is_number(s) || !(bv > 0 && bv < 1e15) || !(sv > 0 && sv < 10) ||
                (i > 0 && !(bv > t->bytes[k][i - 1]))) {
                g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                            "%s: allreduce_table: \"%s\"[%zu]: expected [bytes > 0, 0 < seconds "
                            "< 10] with bytes ascending",
                            name, key, i);
                return FALSE;
            }
            t->bytes[k][i] = bv;
            t->s[k][i] = sv;
        }
        t->npts[k] = (int)json_array_size(pts);
        k++;
    }
    return TRUE;
}

static double
inverse(double beta)
{
    return isfinite(beta) && beta > 0 ? 1.0 / beta : (double)NAN;
}

gboolean
tm_calibration_from_json(tm_calibration *c, json_t *j, const char *name, GError **error)
{
    memset(c, 0, sizeof *c);
    if (!json_is_object(j)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected a JSON object", name);
        return FALSE;
    }
    const json_t *fmt = json_object_get(j, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), TM_CALIBRATION_FORMAT) != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: format: expected \"%s\"", name,
                    TM_CALIBRATION_FORMAT);
        return FALSE;
    }
    if (!check_keys(j, top_keys, name, error))
        return FALSE;
    const json_t *form = json_object_get(j, "form");
    if (form != NULL && !(json_is_string(form) && (strcmp(json_string_value(form), "linear") == 0 ||
                                                   strcmp(json_string_value(form), "max") == 0))) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: form: expected \"linear\" or \"max\"",
                    name);
        return FALSE;
    }
    json_t *co = json_object_get(j, "coefficients");
    g_autofree char *cw = g_strdup_printf("%s: coefficients", name);
    double bc = NAN, bm = NAN, bx = NAN, bac = NAN, bam = NAN, bem = NAN, bmc = NAN, bmm = NAN;
    double bxc = NAN, bxm = NAN, bqc = NAN, bqm = NAN, bqxc = NAN, bqxm = NAN;
    if (co != NULL && !json_is_object(co)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected an object", cw);
        return FALSE;
    }
    if (co != NULL &&
        (!check_keys(co, coef_keys, cw, error) ||
         !number(co, "beta0_s", 0, 10, &c->step_overhead_s, cw, error) ||
         !number(co, "beta_seq_s", 0, 10, &c->per_seq_overhead_s, cw, error) ||
         !number(co, "beta_kernel_s", 0, 1, &c->kernel_s[0], cw, error) ||
         !number(co, "beta_attn_kernel_s", 0, 1, &c->kernel_s[1], cw, error) ||
         !number(co, "beta_elem_kernel_s", 0, 1, &c->kernel_s[2], cw, error) ||
         !number(co, "beta_moe_kernel_s", 0, 1, &c->kernel_s[TM_OPCLASS_MOE], cw, error) ||
         !number(co, "beta_moe_compute", 0, 1e6, &bxc, cw, error) ||
         !number(co, "beta_moe_memory", 0, 1e6, &bxm, cw, error) ||
         !number(co, "beta_q_kernel_s", 0, 1, &c->kernel_s[TM_OPCLASS_GEMM_Q], cw, error) ||
         !number(co, "beta_q_compute", 0, 1e6, &bqc, cw, error) ||
         !number(co, "beta_q_memory", 0, 1e6, &bqm, cw, error) ||
         !number(co, "beta_moeq_kernel_s", 0, 1, &c->kernel_s[TM_OPCLASS_MOE_Q], cw, error) ||
         !number(co, "beta_moeq_compute", 0, 1e6, &bqxc, cw, error) ||
         !number(co, "beta_moeq_memory", 0, 1e6, &bqxm, cw, error) ||
         !number(co, "beta_attn_item_s", 0, 1, &c->attn_item_s, cw, error) ||
         !number(co, "beta_attn_serial", 0, 1e6, &c->attn_serial, cw, error) ||
         !number(co, "beta_moe_token", 0, 1e6, &c->moe_token, cw, error) ||
         !number(co, "beta_elem_memory", 0, 1e6, &bem, cw, error) ||
         !number(co, "beta_mixdec_compute", 0, 1e6, &bmc, cw, error) ||
         !number(co, "beta_mixdec_memory", 0, 1e6, &bmm, cw, error) ||
         !number(co, "beta_attn_compute", 0, 1e6, &bac, cw, error) ||
         !number(co, "beta_attn_memory", 0, 1e6, &bam, cw, error) ||
         !number(co, "beta_compute", 0, 1e6, &bc, cw, error) ||
         !number(co, "beta_memory", 0, 1e6, &bm, cw, error) ||
         !number(co, "beta_comm", 0, 1e6, &bx, cw, error)))
        return FALSE;
    if (co == NULL)
        c->step_overhead_s = c->per_seq_overhead_s = c->kernel_s[0] = c->kernel_s[1] =
            c->kernel_s[2] = c->kernel_s[TM_OPCLASS_MOE] = c->kernel_s[TM_OPCLASS_GEMM_Q] =
                c->kernel_s[TM_OPCLASS_MOE_Q] = c->attn_item_s = c->attn_serial = c->moe_token =
                    NAN;
    c->compute_eff = inverse(bc);
    c->memory_eff = inverse(bm);
    c->comm_eff = inverse(bx);
    c->attn_compute_eff = inverse(bac);
    c->attn_memory_eff = inverse(bam);
    c->elem_memory_eff = inverse(bem);
    c->mixdec_compute_eff = inverse(bmc);
    c->mixdec_memory_eff = inverse(bmm);
    c->moe_compute_eff = inverse(bxc);
    c->moe_memory_eff = inverse(bxm);
    c->q_compute_eff = inverse(bqc);
    c->q_memory_eff = inverse(bqm);
    c->moeq_compute_eff = inverse(bqxc);
    c->moeq_memory_eff = inverse(bqxm);
    c->kernel_s[3] = NAN; /* TM_OPCLASS_MIXED_DECODE: no kernel of its own */
    if (!number(j, "overlap", 0, 1, &c->overlap, name, error) ||
        !number(j, "moe_imbalance", 0, 100, &c->moe_imbalance, name, error) ||
        !number(j, "request_overhead_s", 0, 3600, &c->request_overhead_s, name, error) ||
        !number(j, "per_output_token_s", 0, 60, &c->per_output_token_s, name, error))
        return FALSE;
    /* "fit" is free-form except its cross-validated error, which bands SLA limits */
    const json_t *fit = json_object_get(j, "fit");
    c->cv_mape = NAN;
    if (json_is_object(fit)) {
        g_autofree char *fw = g_strdup_printf("%s: fit", name);
        if (!number(fit, "cv_mape", 0, 100, &c->cv_mape, fw, error))
            return FALSE;
    }
    if (!read_allreduce(j, &c->allreduce, name, error))
        return FALSE;
    const json_t *hw = json_object_get(j, "hardware");
    c->hardware = json_is_string(hw) ? g_strdup(json_string_value(hw)) : NULL;
    c->name = g_strdup(name);
    return TRUE;
}

gboolean
tm_calibration_load(tm_calibration *c, const char *name_or_path, GError **error)
{
    json_auto_t *j = tm__load_named_json("calibrations", "calibration", name_or_path, error);
    if (j == NULL)
        return FALSE;
    return tm_calibration_from_json(c, j, name_or_path, error);
}

json_t *
tm_calibration_load_json(const char *name_or_path, GError **error)
{
    return tm__load_named_json("calibrations", "calibration", name_or_path, error);
}

void
tm_calibration_clear(tm_calibration *c)
{
    if (c == NULL)
        return;
    g_free(c->name);
    g_free(c->hardware);
    memset(c, 0, sizeof *c);
}

void
tm_calibration_apply(const tm_calibration *c, tm_roofline_params *p)
{
#define SET(field)                                                                                 \
    if (isfinite(c->field))                                                                        \
    p->field = c->field
    SET(step_overhead_s);
    SET(per_seq_overhead_s);
    SET(compute_eff);
    SET(memory_eff);
    SET(comm_eff);
    SET(attn_compute_eff);
    SET(attn_memory_eff);
    SET(elem_memory_eff);
    SET(mixdec_compute_eff);
    SET(mixdec_memory_eff);
    SET(moe_compute_eff);
    SET(moe_memory_eff);
    SET(q_compute_eff);
    SET(q_memory_eff);
    SET(moeq_compute_eff);
    SET(moeq_memory_eff);
    SET(attn_item_s);
    SET(attn_serial);
    SET(moe_token);
    SET(overlap);
    SET(moe_imbalance);
    SET(request_overhead_s);
    SET(per_output_token_s);
#undef SET
}
