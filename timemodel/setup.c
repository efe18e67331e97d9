/* timemodel/setup.c: tm_options → validated model + hardware + parallelism + knobs. Order of
 * precedence for every knob: built-in default < hardware preset < calibration < explicit
 * option. Errors are one line, in TM_ERROR (or BASE_ERROR from file loading). */
#include "timemodel/setup.h"

#include <math.h>
#include <string.h>

#include "base/asset.h"
#include "base/json.h"
#include "base/match.h"

struct tm_setup {
    tm_model_spec model;
    tm_hardware hw;
    tm_parallel par;
    tm_roofline_params params;
    char *calibration;                     /* NULL = none */
    double kernel_s[TM_OPCLASS_COUNT];     /* the calibration's per-kernel terms (NAN = none) */
    double step_kernels[TM_OPCLASS_COUNT]; /* kernels of a decode step they multiply */
};

void
tm_setup_free(tm_setup *s)
{
    if (s == NULL)
        return;
    tm_model_spec_clear(&s->model);
    tm_hardware_clear(&s->hw);
    g_free(s->calibration);
    g_free(s);
}

/* The default calibration: "calibrations/<model>__<hardware>.json", then
 * "calibrations/<hardware>.json", if embedded (the shipped ones are named after the hardware
 * preset they were fitted on: h100-sxm, rtx4090, rtx-pro-6000; docs/calibration.md). Only
 * exact preset names match: a table-named variant such as H100_GPU has other peak figures, and
 * a calibration's coefficients are relative to the peaks it was fitted with. NULL if none. */
static char *
default_calibration(const tm_options *o)
{
    if (o->model == NULL || o->hardware == NULL || strchr(o->model, '/') != NULL ||
        strchr(o->hardware, '/') != NULL)
        return NULL;
    g_autofree char *m = g_ascii_strdown(o->model, -1);
    g_autofree char *h = g_ascii_strdown(o->hardware, -1);
    char *pair = g_strdup_printf("%s__%s", m, h);
    g_autofree char *a1 = g_strdup_printf("calibrations/%s.json", pair);
    if (base_asset_find(a1) != NULL)
        return pair;
    g_free(pair);
    g_autofree char *a2 = g_strdup_printf("calibrations/%s.json", h);
    return base_asset_find(a2) != NULL ? g_strdup(h) : NULL;
}

tm_setup *
tm_setup_new(const tm_options *o, GError **error)
{
    g_return_val_if_fail(o != NULL, NULL);
    g_autoptr(tm_setup) s = g_new0(tm_setup, 1);
    if (o->kind != NULL && strcmp(o->kind, "roofline") != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID, "unknown time model '%s'", o->kind);
        return NULL;
    }
    if (!tm_model_spec_load(&s->model, o->model, error))
        return NULL;
    if (!tm_hardware_load(&s->hw, o->hardware, error))
        return NULL;
    tm_roofline_params *p = &s->params;
    tm_roofline_params_defaults(p, &s->hw);
    if (!tm_dtype_parse(o->dtype != NULL ? o->dtype : "bf16", &p->weight_dtype, error)) {
        g_prefix_error(error, "--dtype: ");
        return NULL;
    }
    p->kv_dtype = p->weight_dtype == TM_DTYPE_INT4 ? TM_DTYPE_BF16 : p->weight_dtype;
    if (o->kv_cache_dtype != NULL && strcmp(o->kv_cache_dtype, "auto") != 0 &&
        !tm_dtype_parse(o->kv_cache_dtype, &p->kv_dtype, error)) {
        g_prefix_error(error, "--kv-cache-dtype: ");
        return NULL;
    }
    if (o->tp < 1 || o->pp < 1 || o->dp < 1) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "parallel sizes must be ≥ 1 (tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT
                    " dp=%" G_GINT64_FORMAT ")",
                    o->tp, o->pp, o->dp);
        return NULL;
    }
    s->par = tm_parallel_make(o->tp, o->pp, o->dp, o->expert_parallel && s->model.experts > 0);
    p->par = s->par;
    if (!tm_model_check_parallel(&s->model, &s->par, error)) {
        g_prefix_error(error, "%s: ", s->model.name);
        return NULL;
    }
    if (o->comm_backend != NULL && !tm_backend_parse(o->comm_backend, &p->backend, error)) {
        g_prefix_error(error, "--comm-backend: ");
        return NULL;
    }
    int64_t gpus = tm_parallel_gpus(&s->par);
    const tm_link *l = tm_hardware_link(&s->hw, p->backend);
    if (gpus > 1 && l->bw <= 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "%s has no figure for the %s link (set interconnect.%s in a hardware file)",
                    s->hw.name, tm_backend_name(p->backend), tm_backend_name(p->backend));
        return NULL;
    }
    /* calibration: explicit name/path ("none": uncalibrated), else ("auto", the default) an
     * embedded one for (model, hardware) */
    g_autofree char *cal = o->calibration != NULL && strcmp(o->calibration, "auto") != 0
                               ? g_strdup(o->calibration)
                               : default_calibration(o);
    for (int k = 0; k < TM_OPCLASS_COUNT; k++)
        s->kernel_s[k] = NAN;
    if (cal != NULL && strcmp(cal, TM_CALIBRATION_NONE) != 0) {
        g_auto(tm_calibration) c = {0};
        if (!tm_calibration_load(&c, cal, error)) {
            g_prefix_error(error, "--calibration: ");
            return NULL;
        }
        tm_calibration_apply(&c, p);
        bool floors = false;
        for (int k = 0; k < TM_OPCLASS_COUNT; k++)
            floors |= isfinite(c.kernel_s[k]);
        if (floors) {
            /* per-kernel floors fitted on operator tables: every step pays them for the
             * kernels of a decode step of this model */
            g_autoptr(tm_timemodel) tmp = tm_roofline_new(&s->model, &s->hw, p);
            tm_roofline_step_kernels(tmp, s->step_kernels);
            for (int k = 0; k < TM_OPCLASS_COUNT; k++) {
                s->kernel_s[k] = c.kernel_s[k];
                if (isfinite(c.kernel_s[k]))
                    p->step_overhead_s += c.kernel_s[k] * s->step_kernels[k];
            }
        }
        s->calibration = g_steal_pointer(&cal);
    }
    /* an explicit efficiency applies to every kernel, attention included */
    if (isfinite(o->compute_eff)) {
        p->compute_eff = o->compute_eff;
        p->attn_compute_eff = p->mixdec_compute_eff = NAN;
    }
    if (isfinite(o->memory_eff)) {
        p->memory_eff = o->memory_eff;
        p->attn_memory_eff = p->elem_memory_eff = p->mixdec_memory_eff = NAN;
    }
    if (isfinite(o->comm_eff))
        p->comm_eff = o->comm_eff;
    if (isfinite(o->overlap))
        p->overlap = o->overlap;
    if (isfinite(o->moe_imbalance))
        p->moe_imbalance = o->moe_imbalance;
    /* the weights alone must fit in one GPU (the memory plan checks the rest) */
    double w = tm_model_weight_bytes_gpu(&s->model, p->weight_dtype, &s->par);
    if (w > s->hw.memory_bytes) {
        g_set_error(
            error, TM_ERROR, TM_ERROR_NO_FIT,
            "%s does not fit on %s: %.2f GiB of %s weights per GPU with tp=%" G_GINT64_FORMAT
            " pp=%" G_GINT64_FORMAT " exceed its %.2f GiB; short by %.2f GB (raise "
            "--tensor-parallel-size or --pipeline-parallel-size, or quantise with --dtype)",
            s->model.name, s->hw.name, w / 1073741824.0, tm_dtype_name(p->weight_dtype), s->par.tp,
            s->par.pp, s->hw.memory_bytes / 1073741824.0, (w - s->hw.memory_bytes) / 1e9);
        return NULL;
    }
    return g_steal_pointer(&s);
}

const tm_model_spec *
tm_setup_model(const tm_setup *s)
{
    return &s->model;
}

const tm_hardware *
tm_setup_hardware(const tm_setup *s)
{
    return &s->hw;
}

const tm_parallel *
tm_setup_parallel(const tm_setup *s)
{
    return &s->par;
}

tm_roofline_params *
tm_setup_params(tm_setup *s)
{
    return &s->params;
}

const tm_roofline_params *
tm_setup_params_const(const tm_setup *s)
{
    return &s->params;
}

const char *
tm_setup_calibration(const tm_setup *s)
{
    return s->calibration;
}

tm_timemodel *
tm_setup_timemodel(const tm_setup *s)
{
    return tm_roofline_new(&s->model, &s->hw, &s->params);
}

gboolean
tm_setup_memory_plan(const tm_setup *s,
                     const tm_memory_args *args,
                     tm_memory_plan *plan,
                     GError **error)
{
    return tm_memory_plan_compute(&s->model, &s->hw, &s->par, s->params.weight_dtype,
                                  s->params.kv_dtype, args, plan, error);
}

void
tm_setup_vllm_defaults(const tm_setup *s, tm_vllm_defaults *d)
{
    tm_vllm_defaults_get(d, &s->model, &s->hw);
}

uint32_t
tm_setup_dsa_topk(const tm_setup *s)
{
    return (uint32_t)s->model.index_topk;
}

static json_t *
params_json(const tm_param_counts *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "total", base_json_number(c->total));
    json_object_set_new(o, "active", base_json_number(c->active));
    json_object_set_new(o, "embed", base_json_number(c->embed));
    json_object_set_new(o, "lm_head", base_json_number(c->lm_head));
    json_object_set_new(o, "attention", base_json_number(c->attn));
    json_object_set_new(o, "indexer", base_json_number(c->indexer));
    json_object_set_new(o, "mlp", base_json_number(c->mlp));
    json_object_set_new(o, "experts", base_json_number(c->experts));
    json_object_set_new(o, "shared_experts", base_json_number(c->shared_experts));
    json_object_set_new(o, "router", base_json_number(c->router));
    json_object_set_new(o, "norms", base_json_number(c->norms));
    return o;
}

json_t *
tm_setup_to_json(const tm_setup *s)
{
    const tm_model_spec *m = &s->model;
    const tm_hardware *hw = &s->hw;
    const tm_roofline_params *p = &s->params;
    json_t *mo = json_object();
    json_object_set_new(mo, "name", json_string(m->name));
    json_object_set_new(mo, "arch", json_string(m->arch));
    json_object_set_new(mo, "layers", json_integer(m->layers));
    json_object_set_new(mo, "hidden_size", json_integer(m->hidden));
    json_object_set_new(mo, "num_attention_heads", json_integer(m->heads));
    json_object_set_new(mo, "num_key_value_heads", json_integer(m->kv_heads));
    json_object_set_new(mo, "head_dim", json_integer(m->head_dim));
    json_object_set_new(mo, "intermediate_size", json_integer(m->ffn));
    json_object_set_new(mo, "vocab_size", json_integer(m->vocab));
    json_object_set_new(mo, "max_position_embeddings", json_integer(m->max_position_embeddings));
    if (m->experts > 0) {
        json_object_set_new(mo, "experts", json_integer(m->experts));
        json_object_set_new(mo, "experts_per_token", json_integer(m->topk));
        json_object_set_new(mo, "shared_experts", json_integer(m->shared_experts));
        json_object_set_new(mo, "expert_intermediate_size", json_integer(m->expert_ffn));
        json_object_set_new(mo, "moe_layers", json_integer(m->moe_layers));
        json_object_set_new(mo, "dense_layers", json_integer(m->dense_layers));
    }
    if (m->mla) {
        json_object_set_new(mo, "kv_lora_rank", json_integer(m->kv_lora_rank));
        json_object_set_new(mo, "q_lora_rank", json_integer(m->q_lora_rank));
        json_object_set_new(mo, "qk_nope_head_dim", json_integer(m->qk_nope_head_dim));
        json_object_set_new(mo, "qk_rope_head_dim", json_integer(m->qk_rope_head_dim));
        json_object_set_new(mo, "v_head_dim", json_integer(m->v_head_dim));
    }
    if (m->index_topk > 0) {
        json_object_set_new(mo, "index_n_heads", json_integer(m->index_heads));
        json_object_set_new(mo, "index_head_dim", json_integer(m->index_head_dim));
        json_object_set_new(mo, "index_topk", json_integer(m->index_topk));
    }
    json_object_set_new(mo, "parameters", params_json(&m->params));
    json_object_set_new(mo, "kv_bytes_per_token",
                        base_json_number(tm_model_kv_bytes_per_token(m, p->kv_dtype)));
    json_t *ho = json_object();
    json_object_set_new(ho, "name", json_string(hw->name));
    json_object_set_new(ho, "display_name", json_string(hw->display_name));
    json_t *pk = json_object();
    for (int d = 0; d < TM_DTYPE_COUNT; d++)
        json_object_set_new(pk, tm_dtype_name((tm_dtype)d),
                            base_json_real(hw->peak_flops[d] / 1e12));
    json_object_set_new(ho, "peak_tflops", pk);
    json_object_set_new(ho, "memory_gb", base_json_real(hw->memory_gb));
    json_object_set_new(ho, "usable_memory_gib", base_json_real(tm_hardware_memory_gib(hw)));
    json_object_set_new(ho, "memory_bandwidth_gbps", base_json_real(hw->mem_bw / 1e9));
    const tm_link *l = tm_hardware_link(hw, p->backend);
    json_object_set_new(ho, "link_bandwidth_gbps", base_json_real(l->bw / 1e9));
    json_object_set_new(ho, "link_latency_us", base_json_real(l->latency_s * 1e6));
    json_t *po = json_object();
    json_object_set_new(po, "tensor_parallel_size", json_integer(s->par.tp));
    json_object_set_new(po, "pipeline_parallel_size", json_integer(s->par.pp));
    json_object_set_new(po, "data_parallel_size", json_integer(s->par.dp));
    json_object_set_new(po, "expert_parallel_size", json_integer(s->par.ep));
    json_t *ko = json_object();
    json_object_set_new(ko, "dtype", json_string(tm_dtype_name(p->weight_dtype)));
    json_object_set_new(ko, "kv_cache_dtype", json_string(tm_dtype_name(p->kv_dtype)));
    json_object_set_new(ko, "comm_backend", json_string(tm_backend_name(p->backend)));
    json_object_set_new(ko, "compute_efficiency", base_json_real(p->compute_eff));
    json_object_set_new(ko, "memory_efficiency", base_json_real(p->memory_eff));
    json_object_set_new(ko, "comm_efficiency", base_json_real(p->comm_eff));
    json_object_set_new(
        ko, "attention_compute_efficiency",
        base_json_real(isfinite(p->attn_compute_eff) ? p->attn_compute_eff : p->compute_eff));
    json_object_set_new(
        ko, "attention_memory_efficiency",
        base_json_real(isfinite(p->attn_memory_eff) ? p->attn_memory_eff : p->memory_eff));
    json_object_set_new(ko, "overlap", base_json_real(p->overlap));
    json_object_set_new(ko, "moe_imbalance", base_json_real(p->moe_imbalance));
    json_object_set_new(ko, "step_overhead_us", base_json_real(p->step_overhead_s * 1e6));
    json_object_set_new(ko, "per_seq_overhead_us", base_json_real(p->per_seq_overhead_s * 1e6));
    json_object_set_new(
        ko, "elementwise_memory_efficiency",
        base_json_real(isfinite(p->elem_memory_eff) ? p->elem_memory_eff : p->memory_eff));
    json_object_set_new(ko, "mixed_decode_attention_memory_efficiency",
                        base_json_real(isfinite(p->mixdec_memory_eff) ? p->mixdec_memory_eff
                                       : isfinite(p->attn_memory_eff) ? p->attn_memory_eff
                                                                      : p->memory_eff));
    bool floors = false;
    for (int k = 0; k < TM_OPCLASS_COUNT; k++)
        floors |= isfinite(s->kernel_s[k]);
    if (floors) {
        /* already included in step_overhead_us */
        static const char *const names[] = {"gemm", "attention", "elementwise",
                                            "mixed_decode_attention", NULL};
        G_STATIC_ASSERT(BASE_STRV_N(names) == TM_OPCLASS_COUNT);
        json_t *kk = json_object();
        for (int k = 0; k < TM_OPCLASS_COUNT; k++) {
            json_t *e = json_object();
            json_object_set_new(e, "per_kernel_us", base_json_real(s->kernel_s[k] * 1e6));
            json_object_set_new(e, "kernels_per_step", base_json_real(s->step_kernels[k]));
            json_object_set_new(kk, names[k], e);
        }
        json_object_set_new(ko, "kernel_floors_in_step_overhead", kk);
    }
    json_object_set_new(ko, "calibration",
                        s->calibration ? json_string(s->calibration) : json_null());
    json_t *root = json_object();
    json_object_set_new(root, "model", mo);
    json_object_set_new(root, "hardware", ho);
    json_object_set_new(root, "parallelism", po);
    json_object_set_new(root, "timemodel", ko);
    return root;
}
