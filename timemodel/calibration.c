/* timemodel/calibration.c: reads calibration JSON (format in calibration.h) and maps the
 * regression coefficients onto the roofline's knobs (docs/domain.md §4.2: MFU = 1/βc, ...). */
#include "timemodel/calibration.h"

#include <math.h>
#include <string.h>

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
    if (co != NULL && !json_is_object(co)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected an object", cw);
        return FALSE;
    }
    if (co != NULL && (!check_keys(co, coef_keys, cw, error) ||
                       !number(co, "beta0_s", 0, 10, &c->step_overhead_s, cw, error) ||
                       !number(co, "beta_seq_s", 0, 10, &c->per_seq_overhead_s, cw, error) ||
                       !number(co, "beta_kernel_s", 0, 1, &c->kernel_s[0], cw, error) ||
                       !number(co, "beta_attn_kernel_s", 0, 1, &c->kernel_s[1], cw, error) ||
                       !number(co, "beta_elem_kernel_s", 0, 1, &c->kernel_s[2], cw, error) ||
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
            c->kernel_s[2] = NAN;
    c->compute_eff = inverse(bc);
    c->memory_eff = inverse(bm);
    c->comm_eff = inverse(bx);
    c->attn_compute_eff = inverse(bac);
    c->attn_memory_eff = inverse(bam);
    c->elem_memory_eff = inverse(bem);
    c->mixdec_compute_eff = inverse(bmc);
    c->mixdec_memory_eff = inverse(bmm);
    c->kernel_s[3] = NAN; /* TM_OPCLASS_MIXED_DECODE: no kernel of its own */
    if (!number(j, "overlap", 0, 1, &c->overlap, name, error) ||
        !number(j, "moe_imbalance", 0, 100, &c->moe_imbalance, name, error) ||
        !number(j, "request_overhead_s", 0, 3600, &c->request_overhead_s, name, error) ||
        !number(j, "per_output_token_s", 0, 60, &c->per_output_token_s, name, error))
        return FALSE;
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

void
tm_calibration_clear(tm_calibration *c)
{
    if (c == NULL)
        return;
    g_free(c->name);
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
    SET(overlap);
    SET(moe_imbalance);
    SET(request_overhead_s);
    SET(per_output_token_s);
#undef SET
}
