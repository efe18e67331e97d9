/* timemodel/hardware.c: hardware JSON → tm_hardware, with "base" inheritance (a file names a
 * preset and overrides some fields; objects merge key by key, other values replace).
 * Invariants after a successful parse: bf16 peak > 0, memory and bandwidth > 0, the default
 * backend's link has bandwidth > 0. */
#include "timemodel/hardware.h"

#include <math.h>
#include <string.h>

#include "base/asset.h"
#include "base/json.h"
#include "base/match.h"
#include "timemodel/internal.h"

gboolean
tm_backend_parse(const char *s, tm_backend *out, GError **error)
{
    if (s != NULL && (strcmp(s, "nvlink") == 0 || strcmp(s, "nv_like") == 0)) {
        *out = TM_BACKEND_NVLINK;
        return TRUE;
    }
    if (s != NULL && (strcmp(s, "pcie") == 0 || strcmp(s, "pcie_like") == 0)) {
        *out = TM_BACKEND_PCIE;
        return TRUE;
    }
    g_autofree char *shown = base_escape_text(s ? s : "(null)", 64); /* a file's text, one line */
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                "unknown communication backend '%s' (expected nvlink, pcie, nv_like or pcie_like)",
                shown);
    return FALSE;
}

const char *
tm_backend_name(tm_backend b)
{
    return b == TM_BACKEND_PCIE ? "pcie" : "nvlink";
}

static double
num(const json_t *o, const char *key, double def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

static gboolean
need(const json_t *o, const char *key, const char *name, double *out, GError **error)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || json_number_value(v) <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: %s: expected a positive number", name,
                    key);
        return FALSE;
    }
    *out = json_number_value(v);
    return TRUE;
}

static gboolean
link_from(const json_t *ic, const char *key, tm_link *l, const char *name, GError **error)
{
    const json_t *o = json_object_get(ic, key);
    if (o == NULL) {
        *l = (tm_link){0.0, 0.0};
        return TRUE;
    }
    double bw = num(o, "bandwidth_gbps", -1), lat = num(o, "latency_us", 0);
    if (!json_is_object(o) || !(bw >= 0 && bw <= 1e7) || !(lat >= 0 && lat <= 1e6)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: interconnect.%s: expected {\"bandwidth_gbps\": >=0, \"latency_us\": >=0}",
                    name, key);
        return FALSE;
    }
    *l = (tm_link){bw * 1e9, lat * 1e-6};
    return TRUE;
}

/* Every hardware figure has a physical range: out of it is an error, not a double that
 * overflows later (memory_gb 1e300 reached an out-of-range double -> int64 cast). */
static gboolean
in_range(const char *name, const char *key, double v, double lo, double hi, GError **error)
{
    if (v >= lo && v <= hi)
        return TRUE;
    g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: %s: %g is out of range [%g, %g]", name, key,
                v, lo, hi);
    return FALSE;
}

gboolean
tm_hardware_from_json(tm_hardware *hw, const json_t *j, const char *name, GError **error)
{
    memset(hw, 0, sizeof *hw);
    if (!json_is_object(j)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: expected a JSON object", name);
        return FALSE;
    }
    hw->name = g_strdup(name);
    const json_t *dn = json_object_get(j, "display_name");
    hw->display_name = g_strdup(json_is_string(dn) ? json_string_value(dn) : name);
    const json_t *pk = json_object_get(j, "peak_tflops");
    if (!json_is_object(pk)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: missing peak_tflops object", name);
        goto fail;
    }
    for (int d = 0; d < TM_DTYPE_COUNT; d++) {
        double v = num(pk, tm_dtype_name((tm_dtype)d), 0.0);
        g_autofree char *key = g_strdup_printf("peak_tflops.%s", tm_dtype_name((tm_dtype)d));
        if (!in_range(name, key, v, 0, 1e6, error))
            goto fail;
        hw->peak_flops[d] = v * 1e12;
    }
    if (hw->peak_flops[TM_DTYPE_BF16] <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: peak_tflops.bf16: expected a positive number", name);
        goto fail;
    }
    if (hw->peak_flops[TM_DTYPE_FP16] <= 0)
        hw->peak_flops[TM_DTYPE_FP16] = hw->peak_flops[TM_DTYPE_BF16];
    double bw, l2 = num(j, "l2_cache_mb", 0.0);
    if (!need(j, "memory_gb", name, &hw->memory_gb, error) ||
        !need(j, "memory_bandwidth_gbps", name, &bw, error))
        goto fail;
    if (!in_range(name, "memory_gb", hw->memory_gb, 1e-3, 1e5, error) ||
        !in_range(name, "memory_bandwidth_gbps", bw, 1e-3, 1e6, error) ||
        !in_range(name, "l2_cache_mb", l2, 0, 1e5, error))
        goto fail;
    hw->mem_bw = bw * 1e9;
    hw->l2_bytes = l2 * 1e6;
    /* Usable capacity: CUDA reports ~99 % of the binary-sized HBM (H100 80GB: 79.2 GiB). */
    double usable = num(j, "usable_memory_gib", hw->memory_gb * 0.99);
    if (!in_range(name, "usable_memory_gib", usable, 1e-3, 1e5, error))
        goto fail;
    hw->memory_bytes = usable * 1073741824.0;
    const json_t *ic = json_object_get(j, "interconnect");
    if (!json_is_object(ic)) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: missing interconnect object", name);
        goto fail;
    }
    if (!link_from(ic, "nvlink", &hw->nvlink, name, error) ||
        !link_from(ic, "pcie", &hw->pcie, name, error) ||
        !link_from(ic, "network", &hw->network, name, error))
        goto fail;
    const json_t *db = json_object_get(ic, "default");
    if (!tm_backend_parse(json_is_string(db) ? json_string_value(db) : "nvlink",
                          &hw->default_backend, error)) {
        g_prefix_error(error, "%s: interconnect.default: ", name);
        goto fail;
    }
    if (tm_hardware_link(hw, hw->default_backend)->bw <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE,
                    "%s: interconnect.%s: bandwidth_gbps must be positive (default backend)", name,
                    tm_backend_name(hw->default_backend));
        goto fail;
    }
    double gpn = num(j, "gpus_per_node", 8);
    if (!in_range(name, "gpus_per_node", gpn, 1, 1024, error))
        goto fail;
    if (gpn != floor(gpn)) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "%s: gpus_per_node: %g is not an integer",
                    name, gpn);
        goto fail;
    }
    hw->gpus_per_node = (int64_t)gpn;
    const json_t *a = json_object_get(j, "is_a100");
    hw->is_a100 = json_is_true(a);
    const json_t *eff = json_object_get(j, "efficiency");
    hw->eff_compute = num(eff, "compute", NAN);
    hw->eff_memory = num(eff, "memory", NAN);
    hw->eff_comm = num(eff, "comm", NAN);
    hw->host.gpus_per_host = hw->gpus_per_node;
    if (!tm_hardware_parse_sm_host(hw, j, name, error))
        goto fail;
    return TRUE;
fail:
    tm_hardware_clear(hw);
    return FALSE;
}

/* Objects merge recursively; any other value in OVER replaces BASE's. */
static void
merge_into(json_t *base, json_t *over)
{
    const char *k;
    json_t *v;
    json_object_foreach(over, k, v) {
        json_t *b = json_object_get(base, k);
        if (json_is_object(b) && json_is_object(v))
            merge_into(b, v);
        else
            json_object_set(base, k, v);
    }
}

static json_t *
resolve(const char *name_or_path, int depth, GError **error)
{
    json_t *j = tm__load_named_json("hardware", "hardware", name_or_path, error);
    if (j == NULL)
        return NULL;
    const json_t *base = json_object_get(j, "base");
    if (!json_is_string(base))
        return j;
    if (depth >= 4) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARSE, "%s: \"base\" chain is too deep",
                    name_or_path);
        json_decref(j);
        return NULL;
    }
    json_t *b = resolve(json_string_value(base), depth + 1, error);
    if (b == NULL) {
        g_prefix_error(error, "%s: base: ", name_or_path);
        json_decref(j);
        return NULL;
    }
    json_object_del(j, "base");
    json_object_del(b, "sources"); /* the derived file cites its own figures */
    json_object_del(b, "alternatives");
    merge_into(b, j);
    json_decref(j);
    return b;
}

/* Other names users type for a preset. "h100" is the SXM part: the one cloud instances and
 * vLLM's published benchmarks use (the PCIe card is a different GPU: 114 SMs, 2 TB/s). */
static const struct {
    const char *preset;
    const char *aliases[4];
} hw_aliases[] = {
    {"a100-40gb", {"a100-sxm4-40gb"}},
    {"a100-80gb", {"a100", "a100-sxm4-80gb"}},
    {"h100-sxm", {"h100", "h100-sxm5", "h100-80gb"}},
    {"h200", {"h200-sxm", "h200-141gb"}},
    {"rtx-pro-6000", {"rtx-pro-6000-blackwell", "rtxpro6000"}},
    {"rtx3090", {"rtx-3090"}},
    {"rtx4090", {"rtx-4090"}},
    {"tpu-v6e", {"v6e", "trillium"}},
};

const char *const *
tm_hardware_preset_aliases(const char *preset)
{
    static const char *const none[] = {NULL};
    for (size_t i = 0; preset != NULL && i < G_N_ELEMENTS(hw_aliases); i++)
        if (strcmp(hw_aliases[i].preset, preset) == 0)
            return hw_aliases[i].aliases;
    return none;
}

char *
tm_hardware_resolve_preset(const char *name)
{
    if (name == NULL || *name == '\0' || strchr(name, '/') != NULL ||
        g_str_has_suffix(name, ".json"))
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(hw_aliases); i++)
        for (size_t k = 0; k < G_N_ELEMENTS(hw_aliases[i].aliases); k++)
            if (hw_aliases[i].aliases[k] != NULL &&
                g_ascii_strcasecmp(hw_aliases[i].aliases[k], name) == 0)
                return g_strdup(hw_aliases[i].preset);
    g_autofree char *lower = g_ascii_strdown(name, -1);
    g_autofree char *asset = g_strdup_printf("hardware/%s.json", lower);
    return base_asset_find(asset) != NULL ? g_steal_pointer(&lower) : NULL;
}

gboolean
tm_hardware_load(tm_hardware *hw, const char *name_or_path, GError **error)
{
    g_autofree char *preset = NULL;
    if (name_or_path != NULL && !g_file_test(name_or_path, G_FILE_TEST_EXISTS))
        preset = tm_hardware_resolve_preset(name_or_path);
    const char *name = preset != NULL ? preset : name_or_path;
    json_auto_t *j = resolve(name, 0, error);
    if (j == NULL)
        return FALSE;
    return tm_hardware_from_json(hw, j, name, error);
}

void
tm_hardware_clear(tm_hardware *hw)
{
    if (hw == NULL)
        return;
    g_free(hw->name);
    g_free(hw->display_name);
    memset(hw, 0, sizeof *hw);
}

char **
tm_hardware_preset_names(void)
{
    return base_asset_list("hardware/", ".json");
}

double
tm_hardware_gemm_flops(const tm_hardware *hw, tm_dtype w)
{
    /* 4-bit weights are dequantised into 16-bit GEMMs (W4A16) */
    if (w != TM_DTYPE_INT4 && w != TM_DTYPE_MXFP4 && hw->peak_flops[w] > 0)
        return hw->peak_flops[w];
    return hw->peak_flops[TM_DTYPE_BF16];
}

const tm_link *
tm_hardware_link(const tm_hardware *hw, tm_backend b)
{
    return b == TM_BACKEND_NVLINK ? &hw->nvlink : &hw->pcie;
}

double
tm_hardware_memory_gib(const tm_hardware *hw)
{
    return hw->memory_bytes / 1073741824.0;
}
