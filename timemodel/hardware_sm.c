/* timemodel/hardware_sm.c: the optional hardware JSON fields the SM-level and host-bandwidth
 * analyses need and the roofline does not: per-SM figures ("sm": SM count, clock, tensor-core
 * FLOP/clock, SFU and FP32 throughput, shared-memory and register-file size and bandwidth, MMA
 * instruction shape), the L2 bandwidth and the host side ("host": NVLink-C2C, host DDR).
 * Kept apart from hardware.c so the roofline's reader stays as it is: every field is optional
 * (absent = 0 = unknown) and only the commands that need a figure refuse to run without it.
 * Units in JSON: MHz, KiB, bytes/clock, GB/s; in the struct: Hz, bytes, B/s. */
#include <math.h>
#include <string.h>

#include "timemodel/hardware.h"

/* A number in [LO, HI] (or absent: DEF). Negative or absurd values name the key. */
static gboolean
field(const json_t *o,
      const char *prefix,
      const char *key,
      double lo,
      double hi,
      double def,
      double *out,
      const char *name,
      GError **error)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) {
        *out = def;
        return TRUE;
    }
    if (!json_is_number(v)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s%s: expected a number", name, prefix,
                    key);
        return FALSE;
    }
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s%s: %g is out of range [%g, %g]",
                    name, prefix, key, x, lo, hi);
        return FALSE;
    }
    *out = x;
    return TRUE;
}

static gboolean
int_field(const json_t *o,
          const char *prefix,
          const char *key,
          double lo,
          double hi,
          int64_t *out,
          const char *name,
          GError **error)
{
    double x;
    if (!field(o, prefix, key, lo, hi, 0, &x, name, error))
        return FALSE;
    if (x != floor(x)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s%s: %g is not an integer", name,
                    prefix, key, x);
        return FALSE;
    }
    *out = (int64_t)x;
    return TRUE;
}

static gboolean
parse_mma(const json_t *o, tm_mma_shape *m, const char *name, GError **error)
{
    if (o == NULL)
        return TRUE;
    if (!json_is_object(o)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: sm.mma: expected an object", name);
        return FALSE;
    }
    const char *p = "sm.mma.";
    if (!int_field(o, p, "m", 0, 4096, &m->m, name, error) ||
        !int_field(o, p, "n", 0, 4096, &m->n, name, error) ||
        !int_field(o, p, "n_max", 0, 4096, &m->n_max, name, error) ||
        !int_field(o, p, "k_bytes", 0, 4096, &m->k_bytes, name, error))
        return FALSE;
    if (m->n > 0 && m->n_max > 0 && m->n_max % m->n != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: sm.mma.n_max: %" G_GINT64_FORMAT
                    " is not a multiple of sm.mma.n = %" G_GINT64_FORMAT,
                    name, m->n_max, m->n);
        return FALSE;
    }
    const json_t *ops = json_object_get(o, "operands");
    if (ops == NULL || (json_is_string(ops) && strcmp(json_string_value(ops), "registers") == 0)) {
        m->operands_in_smem = false;
    } else if (json_is_string(ops) && strcmp(json_string_value(ops), "shared") == 0) {
        m->operands_in_smem = true;
    } else {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: sm.mma.operands: expected \"shared\" or \"registers\"", name);
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_sm(const json_t *o, tm_sm_spec *sm, const char *name, GError **error)
{
    if (o == NULL)
        return TRUE;
    if (!json_is_object(o)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: sm: expected an object", name);
        return FALSE;
    }
    const char *p = "sm.";
    double mhz, smem_kib, rf_kib;
    if (!int_field(o, p, "count", 1, 1e5, &sm->count, name, error))
        return FALSE;
    if (json_object_get(o, "count") == NULL) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: sm.count: expected a positive number",
                    name);
        return FALSE;
    }
    if (!field(o, p, "clock_mhz", 1, 1e5, NAN, &mhz, name, error))
        return FALSE;
    if (!isfinite(mhz)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: sm.clock_mhz: expected a positive number",
                    name);
        return FALSE;
    }
    sm->clock_hz = mhz * 1e6;
    const json_t *tf = json_object_get(o, "tensor_flops_per_clock");
    if (!json_is_object(tf)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: sm.tensor_flops_per_clock: expected an object of per-dtype figures", name);
        return FALSE;
    }
    for (int d = 0; d < TM_DTYPE_COUNT; d++)
        if (!field(tf, "sm.tensor_flops_per_clock.", tm_dtype_name((tm_dtype)d), 0, 1e7, 0,
                   &sm->tensor_flops_per_clock[d], name, error))
            return FALSE;
    if (sm->tensor_flops_per_clock[TM_DTYPE_FP16] <= 0)
        sm->tensor_flops_per_clock[TM_DTYPE_FP16] = sm->tensor_flops_per_clock[TM_DTYPE_BF16];
    if (!field(o, p, "sfu_ops_per_clock", 0, 1e7, 0, &sm->sfu_ops_per_clock, name, error) ||
        !field(o, p, "fp32_ops_per_clock", 0, 1e7, 0, &sm->fp32_ops_per_clock, name, error) ||
        !field(o, p, "shared_memory_kib", 0, 1e6, 0, &smem_kib, name, error) ||
        !field(o, p, "shared_memory_bytes_per_clock", 0, 1e7, 0, &sm->smem_bytes_per_clock, name,
               error) ||
        !field(o, p, "register_file_kib", 0, 1e6, 0, &rf_kib, name, error) ||
        !field(o, p, "register_file_bytes_per_clock", 0, 1e7, 0, &sm->regfile_bytes_per_clock, name,
               error))
        return FALSE;
    sm->smem_bytes = smem_kib * 1024.0;
    sm->regfile_bytes = rf_kib * 1024.0;
    return parse_mma(json_object_get(o, "mma"), &sm->mma, name, error);
}

static gboolean
parse_host(const json_t *o, tm_host_spec *h, const char *name, GError **error)
{
    if (o == NULL)
        return TRUE;
    if (!json_is_object(o)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: host: expected an object", name);
        return FALSE;
    }
    double c2c, ddr, gph;
    if (!field(o, "host.", "nvlink_c2c_gbps", 0, 1e7, 0, &c2c, name, error) ||
        !field(o, "host.", "ddr_gbps", 0, 1e7, 0, &ddr, name, error) ||
        !field(o, "host.", "gpus_per_host", 1, 1024, (double)h->gpus_per_host, &gph, name, error))
        return FALSE;
    if (gph != floor(gph)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s: host.gpus_per_host: %g is not an integer", name, gph);
        return FALSE;
    }
    h->c2c_bw = c2c * 1e9;
    h->ddr_bw = ddr * 1e9;
    h->gpus_per_host = (int64_t)gph;
    return TRUE;
}

gboolean
tm_hardware_parse_sm_host(tm_hardware *hw, const json_t *j, const char *name, GError **error)
{
    double l2;
    if (!field(j, "", "l2_bandwidth_gbps", 0, 1e7, 0, &l2, name, error))
        return FALSE;
    hw->l2_bw = l2 * 1e9;
    return parse_sm(json_object_get(j, "sm"), &hw->sm, name, error) &&
           parse_host(json_object_get(j, "host"), &hw->host, name, error);
}

gboolean
tm_hardware_require_sm(const tm_hardware *hw, const char *what, GError **error)
{
    const tm_sm_spec *s = &hw->sm;
    const char *missing =
        s->count <= 0                     ? "sm (per-SM figures)"
        : s->sfu_ops_per_clock <= 0       ? "sm.sfu_ops_per_clock"
        : s->fp32_ops_per_clock <= 0      ? "sm.fp32_ops_per_clock"
        : s->smem_bytes <= 0              ? "sm.shared_memory_kib"
        : s->smem_bytes_per_clock <= 0    ? "sm.shared_memory_bytes_per_clock"
        : s->regfile_bytes_per_clock <= 0 ? "sm.register_file_bytes_per_clock"
        : s->mma.m <= 0 || s->mma.n <= 0 || s->mma.n_max <= 0 || s->mma.k_bytes <= 0 ? "sm.mma"
        : hw->l2_bw <= 0 ? "l2_bandwidth_gbps"
                         : NULL;
    if (missing == NULL)
        return TRUE;
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                "%s: hardware %s has no %s figure; use a preset that has it (a100-40gb, "
                "a100-80gb, h100-sxm, h200, gh200, b200) or a hardware file with \"base\": \"%s\" "
                "that adds it (docs/analysis.md)",
                what, hw->name, missing, hw->name);
    return FALSE;
}

double
tm_hardware_sm_rate(const tm_hardware *hw, double per_sm_per_clock)
{
    return per_sm_per_clock * (double)hw->sm.count * hw->sm.clock_hz;
}
