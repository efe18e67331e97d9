/* timemodel/setup.c: tm_options → validated model + hardware + parallelism + knobs. Order of
 * precedence for every knob: built-in default < hardware preset < calibration < explicit
 * option. Errors are one line, in TM_ERROR (or BASE_ERROR from file loading). */
#include "timemodel/setup.h"

#include <math.h>
#include <string.h>

#include "base/asset.h"
#include "base/json.h"
#include "base/match.h"
#include "timemodel/internal.h"

struct tm_setup {
    tm_model_spec model;
    tm_hardware hw;
    tm_parallel par;
    tm_roofline_params params;
    char *calibration;               /* NULL = none */
    char *fitted_on, *reason, *desc; /* tm_calib_use's strings; desc for tables */
    tm_calib_use use;
    double cv_mape;                        /* the calibration's fit.cv_mape (NAN = none) */
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
    g_free(s->fitted_on);
    g_free(s->reason);
    g_free(s->desc);
    g_free(s);
}

/* ---- which calibration, and how it applies (docs/calibration.md §4) ------------------------ */

/* NAME lower-cased when it names an embedded asset "DIR/<name>.json" and is not a file; NULL
 * otherwise. */
static char *
preset_name(const char *dir, const char *name)
{
    if (name == NULL || *name == '\0' || g_file_test(name, G_FILE_TEST_EXISTS))
        return NULL;
    g_autofree char *lower = g_ascii_strdown(name, -1);
    g_autofree char *asset = g_strdup_printf("%s/%s.json", dir, lower);
    return base_asset_find(asset) != NULL ? g_steal_pointer(&lower) : NULL;
}

/* The embedded calibration for (MODEL, HW): "calibrations/<model>__<hw>.json", then
 * "calibrations/<hw>.json" (the shipped ones are named after the hardware preset they were
 * fitted on). MODEL may be NULL (a model given as a file: only hardware calibrations). */
static char *
embedded_calibration(const char *model, const char *hw)
{
    if (model != NULL) {
        g_autofree char *pair = g_strdup_printf("%s__%s", model, hw);
        g_autofree char *a1 = g_strdup_printf("calibrations/%s.json", pair);
        if (base_asset_find(a1) != NULL)
            return g_steal_pointer(&pair);
    }
    g_autofree char *a2 = g_strdup_printf("calibrations/%s.json", hw);
    return base_asset_find(a2) != NULL ? g_strdup(hw) : NULL;
}

/* The presets HW inherits from through "base" (nearest first), up to MAX: a hardware file or a
 * table-named variant such as h100_gpu that is based on h100-sxm is h100-sxm silicon with other
 * declared figures. Unreadable links end the chain (tm_hardware_load has reported them). */
static size_t
base_chain(const char *hw, char **out, size_t max)
{
    size_t n = 0;
    g_autofree char *cur = g_strdup(hw);
    while (n < max) {
        json_auto_t *j = tm__load_named_json("hardware", "hardware", cur, NULL);
        const json_t *b = j != NULL ? json_object_get(j, "base") : NULL;
        if (!json_is_string(b))
            break;
        char *name = preset_name("hardware", json_string_value(b));
        if (name == NULL)
            break;
        out[n++] = name;
        g_free(cur);
        cur = g_strdup(name);
    }
    return n;
}

typedef struct {
    char *name;      /* NULL = uncalibrated */
    char *fitted_on; /* the hardware the choice was fitted on, when known */
    char *reason;
    bool transferred;
} calib_choice;

static void
choice_clear(calib_choice *c)
{
    g_free(c->name);
    g_free(c->fitted_on);
    g_free(c->reason);
    memset(c, 0, sizeof *c);
}

/* "auto": the calibration of the hardware preset itself (applied whole), else that of the
 * nearest preset it is based on (transferred), else none. MODEL_NAME / HW_NAME are the loaded
 * spec's and hardware's names (the canonical preset names when the user gave an alias or an
 * id, the path for files). */
static void
default_calibration(const char *model_name, const char *hw_name, calib_choice *out)
{
    g_autofree char *model = preset_name("models", model_name);
    g_autofree char *hw = preset_name("hardware", hw_name);
    if (hw != NULL && (out->name = embedded_calibration(model, hw)) != NULL) {
        out->fitted_on = g_strdup(hw);
        out->reason = g_strdup("fitted on this hardware");
        return;
    }
    char *chain[4];
    size_t n = hw_name != NULL ? base_chain(hw_name, chain, G_N_ELEMENTS(chain)) : 0;
    for (size_t i = 0; i < n && out->name == NULL; i++) {
        if ((out->name = embedded_calibration(model, chain[i])) != NULL) {
            out->fitted_on = g_strdup(chain[i]);
            out->transferred = true;
            out->reason = g_strdup_printf("%s is based on %s", hw_name, chain[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        g_free(chain[i]);
    if (out->name == NULL)
        out->reason = g_strdup_printf("no calibration was fitted on %s or a preset it is based on",
                                      hw_name != NULL ? hw_name : "this hardware");
}

/* An explicit --calibration C: whole when it states the hardware in use (or states none),
 * transferred otherwise. */
static void
explicit_calibration(const char *hw_name, const tm_calibration *c, calib_choice *out)
{
    g_autofree char *hw = preset_name("hardware", hw_name);
    const char *here = hw != NULL ? hw : hw_name;
    if (c->hardware == NULL || *c->hardware == '\0') {
        out->reason = g_strdup("the calibration does not say which hardware it was fitted on");
        return;
    }
    out->fitted_on = g_strdup(c->hardware);
    if (here != NULL && g_ascii_strcasecmp(here, c->hardware) == 0) {
        out->reason = g_strdup("fitted on this hardware");
        return;
    }
    out->transferred = true;
    out->reason = g_strdup_printf("fitted on %s, run on %s", c->hardware, here ? here : "?");
}

/* The dtypes of weights and KV cache: vLLM's resolution (vllm/config/model.py
 * _get_and_verify_dtype, _verify_quantization) plus servesim's quantised shorthands
 * (docs/timemodel.md §2.3):
 *   --dtype auto: the config's torch_dtype; float32 or absent → bfloat16 (vLLM downcasts fp32
 *   to the platform's first supported dtype, bf16 on every GPU preset here).
 *   --dtype bfloat16|bf16|float16|half|fp16: the activation (model) dtype.
 *   --dtype float|float32: refused (fp32 serving is not modelled).
 *   --dtype fp8|int8|int4: servesim's shorthand for every linear layer at that dtype
 *   (overriding the checkpoint's) with bf16 activations.
 * Weights: the shorthand, else --quantization (timemodel/quant.c; it must agree with the
 * config's quantization_config, as vLLM checks), else the config's quantization_config (a
 * quantised checkpoint keeps its quantised weights under a 16-bit --dtype, as vLLM loads it;
 * MXFP4 quantises the routed experts only), else the activation dtype. KV cache:
 * --kv-cache-dtype, and auto = the activation dtype, never the weights' (vLLM's
 * gpu_model_runner: cache_dtype "auto" = model_config.dtype): DeepSeek-V3 is fp8 weights with a
 * bf16 KV cache, and --dtype fp8 keeps a bf16 one; an fp8 KV cache is --kv-cache-dtype fp8. */
static gboolean
resolve_dtypes(const tm_options *o, const tm_model_spec *m, tm_roofline_params *p, GError **error)
{
    const char *d = o->dtype != NULL ? o->dtype : "auto";
    if (g_ascii_strcasecmp(d, "float") == 0 || g_ascii_strcasecmp(d, "float32") == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--dtype %s: fp32 serving is not modelled (give bfloat16 or float16)", d);
        return FALSE;
    }
    tm_dtype act = TM_DTYPE_BF16, shorthand = TM_DTYPE_COUNT;
    if (g_ascii_strcasecmp(d, "auto") == 0) {
        if (g_ascii_strcasecmp(m->config_dtype, "float16") == 0 ||
            g_ascii_strcasecmp(m->config_dtype, "half") == 0)
            act = TM_DTYPE_FP16;
    } else {
        tm_dtype x;
        if (!tm_dtype_parse(d, &x, error)) {
            g_prefix_error(error, "--dtype: ");
            return FALSE;
        }
        if (x == TM_DTYPE_BF16 || x == TM_DTYPE_FP16)
            act = x;
        else
            shorthand = x;
    }
    bool quant_flag = o->quantization != NULL && *o->quantization != '\0';
    if (shorthand != TM_DTYPE_COUNT && quant_flag) {
        g_set_error(error, TM_ERROR, TM_ERROR_INVALID,
                    "--dtype %s and --quantization %s both set the weight dtype; give one", d,
                    o->quantization);
        return FALSE;
    }
    p->weight_dtype = act;
    p->kv_dtype = act;
    if (shorthand != TM_DTYPE_COUNT) {
        p->weight_dtype = shorthand;
    } else {
        tm_model_quant q = m->quant;
        if (quant_flag && !tm__quant_flag(o->quantization, &m->quant, &q, error))
            return FALSE;
        if (q.method[0] != '\0' && q.experts_only) {
            p->experts_own_dtype = true;
            p->expert_dtype = q.weights;
        } else if (q.method[0] != '\0') {
            p->weight_dtype = q.weights;
        }
    }
    if (o->kv_cache_dtype != NULL && strcmp(o->kv_cache_dtype, "auto") != 0 &&
        !tm_dtype_parse(o->kv_cache_dtype, &p->kv_dtype, error)) {
        g_prefix_error(error, "--kv-cache-dtype: ");
        return FALSE;
    }
    return TRUE;
}

static tm_setup *
setup_new(const tm_options *o, bool weights_must_fit, GError **error)
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
    if (!resolve_dtypes(o, &s->model, p, error))
        return NULL;
    if (o->tp < 1 || o->pp < 1 || o->dp < 1) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "parallel sizes must be ≥ 1 (tp=%" G_GINT64_FORMAT " pp=%" G_GINT64_FORMAT
                    " dp=%" G_GINT64_FORMAT ")",
                    o->tp, o->pp, o->dp);
        return NULL;
    }
    if (o->expert_parallel && s->model.experts == 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "--enable-expert-parallel: %s has no experts (expert parallelism shards the "
                    "experts of a MoE model)",
                    s->model.name);
        return NULL;
    }
    s->par = tm_parallel_make(o->tp, o->pp, o->dp, o->expert_parallel);
    p->par = s->par;
    if (!tm_model_check_parallel(&s->model, &s->par, error)) {
        g_prefix_error(error, "%s: ", s->model.name);
        return NULL;
    }
    /* Collectives are priced on the intra-node link: a tensor-parallel group or a MoE group
     * (tp·dp GPUs) larger than a node would be priced as if NVLink spanned nodes. Pipeline
     * stages may sit on different nodes (their sends then use the network link). */
    int64_t gpn = s->hw.gpus_per_node;
    if (s->par.tp > gpn) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "--tensor-parallel-size %" G_GINT64_FORMAT " exceeds the %" G_GINT64_FORMAT
                    " GPUs per node of %s: all-reduces across nodes are not modelled (a hardware "
                    "file with a larger gpus_per_node describes a bigger NVLink domain)",
                    s->par.tp, gpn, s->hw.name);
        return NULL;
    }
    if (s->model.experts > 0 && s->par.tp * s->par.dp > gpn) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "tensor × data parallel size %" G_GINT64_FORMAT " exceeds the %" G_GINT64_FORMAT
                    " GPUs per node of %s: the MoE layers' collectives over tp×dp GPUs would "
                    "cross nodes, which is not modelled",
                    s->par.tp * s->par.dp, gpn, s->hw.name);
        return NULL;
    }
    if (s->par.pp > 1 && s->par.tp * s->par.pp > gpn && gpn % s->par.tp != 0) {
        g_set_error(error, TM_ERROR, TM_ERROR_PARALLEL,
                    "--tensor-parallel-size %" G_GINT64_FORMAT
                    " does not divide the %" G_GINT64_FORMAT
                    " GPUs per node of %s: with %" G_GINT64_FORMAT
                    " stages a tensor-parallel group would straddle two nodes",
                    s->par.tp, gpn, s->hw.name, s->par.pp);
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
    /* calibration: explicit name/path ("none": uncalibrated), else ("auto", the default) the
     * hardware's own or that of the preset it is based on (docs/calibration.md §4) */
    calib_choice ch = {0};
    bool explicit = o->calibration != NULL && strcmp(o->calibration, "auto") != 0;
    if (explicit && strcmp(o->calibration, TM_CALIBRATION_NONE) != 0)
        ch.name = g_strdup(o->calibration);
    else if (explicit)
        ch.reason = g_strdup("--calibration none");
    else
        default_calibration(s->model.name, s->hw.name, &ch);
    for (int k = 0; k < TM_OPCLASS_COUNT; k++)
        s->kernel_s[k] = NAN;
    s->cv_mape = NAN;
    if (ch.name != NULL) {
        g_auto(tm_calibration) c = {0};
        if (!tm_calibration_load(&c, ch.name, error)) {
            g_prefix_error(error, "--calibration: ");
            choice_clear(&ch);
            return NULL;
        }
        if (explicit)
            explicit_calibration(s->hw.name, &c, &ch);
        /* transferred: everything but the link efficiency, which belongs to the system the
         * calibration was measured on, not to the GPU */
        double comm = p->comm_eff;
        tm_calibration_apply(&c, p);
        s->cv_mape = c.cv_mape;
        if (ch.transferred)
            p->comm_eff = comm;
        else
            p->allreduce = c.allreduce; /* measured latencies of this system's links */

        /* a class the calibration has no floor for takes its parent's: the MoE kernels were
         * GEMMs to calibrations fitted before they had a class, quantised kernels are still
         * kernels of the same shape */
        static const struct {
            tm_op_class cls, parent;
        } parent[] = {{TM_OPCLASS_MOE, TM_OPCLASS_GEMM},
                      {TM_OPCLASS_GEMM_Q, TM_OPCLASS_GEMM},
                      {TM_OPCLASS_MOE_Q, TM_OPCLASS_MOE}};

        for (size_t i = 0; i < G_N_ELEMENTS(parent); i++)
            if (!isfinite(c.kernel_s[parent[i].cls]))
                c.kernel_s[parent[i].cls] = c.kernel_s[parent[i].parent];
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
        s->calibration = g_strdup(ch.name);
    }
    s->use.name = s->calibration;
    s->use.fitted_on = s->fitted_on = g_steal_pointer(&ch.fitted_on);
    s->use.reason = s->reason = g_steal_pointer(&ch.reason);
    s->use.transferred = ch.transferred;
    s->desc = s->calibration == NULL ? g_strdup("uncalibrated")
              : ch.transferred
                  ? g_strdup_printf("%s (transferred: %s; overheads, kernel floors and "
                                    "efficiencies apply, the link efficiency and all-reduce "
                                    "table do not)",
                                    s->calibration, s->reason)
                  : g_strdup(s->calibration);
    choice_clear(&ch);
    /* an explicit efficiency applies to every kernel, attention included */
    if (isfinite(o->compute_eff)) {
        p->compute_eff = o->compute_eff;
        p->attn_compute_eff = p->mixdec_compute_eff = p->moe_compute_eff = NAN;
        p->q_compute_eff = p->moeq_compute_eff = NAN;
    }
    if (isfinite(o->memory_eff)) {
        p->memory_eff = o->memory_eff;
        p->attn_memory_eff = p->elem_memory_eff = p->mixdec_memory_eff = p->moe_memory_eff = NAN;
        p->q_memory_eff = p->moeq_memory_eff = NAN;
    }
    if (isfinite(o->comm_eff))
        p->comm_eff = o->comm_eff;
    if (isfinite(o->overlap))
        p->overlap = o->overlap;
    if (isfinite(o->moe_imbalance))
        p->moe_imbalance = o->moe_imbalance;
    /* the weights alone must fit in one GPU (the memory plan checks the rest) */
    double w = tm_model_weight_bytes_split_gpu(&s->model, p->weight_dtype,
                                               tm_roofline_expert_dtype(p), &s->par);
    if (weights_must_fit && w > s->hw.memory_bytes) {
        g_autofree char *wname = tm_roofline_weights_name(p);
        g_set_error(
            error, TM_ERROR, TM_ERROR_NO_FIT,
            "%s does not fit on %s: %.2f GiB of %s weights per GPU with tp=%" G_GINT64_FORMAT
            " pp=%" G_GINT64_FORMAT " exceed its %.2f GiB; short by %.2f GB (raise "
            "--tensor-parallel-size or --pipeline-parallel-size, or quantise with --dtype)",
            s->model.name, s->hw.name, w / 1073741824.0, wname, s->par.tp, s->par.pp,
            s->hw.memory_bytes / 1073741824.0, (w - s->hw.memory_bytes) / 1e9);
        return NULL;
    }
    return g_steal_pointer(&s);
}

tm_setup *
tm_setup_new(const tm_options *o, GError **error)
{
    return setup_new(o, true, error);
}

tm_setup *
tm_setup_new_offload(const tm_options *o, GError **error)
{
    return setup_new(o, false, error);
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

double
tm_setup_calibration_cv_mape(const tm_setup *s)
{
    return s->cv_mape;
}

const tm_calib_use *
tm_setup_calibration_use(const tm_setup *s)
{
    return &s->use;
}

const char *
tm_setup_calibration_desc(const tm_setup *s)
{
    return s->desc;
}

tm_timemodel *
tm_setup_timemodel(const tm_setup *s)
{
    return tm_roofline_new(&s->model, &s->hw, &s->params);
}

/* Σ per-kernel floors × the kernels of a one-sequence decode step priced with P. */
static double
kernel_floors(const tm_setup *s, const tm_roofline_params *p)
{
    bool any = false;
    for (int k = 0; k < TM_OPCLASS_COUNT; k++)
        any |= isfinite(s->kernel_s[k]);
    if (!any)
        return 0.0;
    g_autoptr(tm_timemodel) tmp = tm_roofline_new(&s->model, &s->hw, p);
    double per[TM_OPCLASS_COUNT];
    tm_roofline_step_kernels(tmp, per);
    double f = 0.0;
    for (int k = 0; k < TM_OPCLASS_COUNT; k++)
        if (isfinite(s->kernel_s[k]))
            f += s->kernel_s[k] * per[k];
    return f;
}

tm_timemodel *
tm_setup_stage_timemodel(const tm_setup *s, int64_t stage)
{
    g_return_val_if_fail(stage >= 0 && stage < s->par.pp, NULL);
    tm_roofline_params p = s->params;
    if (s->par.pp == 1)
        return tm_roofline_new(&s->model, &s->hw, &p);
    /* The step overhead holds a fixed part (CPU, once per step: the first stage) and the
     * calibration's per-kernel floors (each stage pays for its own kernels). */
    double fixed = p.step_overhead_s - kernel_floors(s, &p);
    if (fixed < 0.0)
        fixed = 0.0;
    p.pp_stage = (int32_t)stage;
    double floors = kernel_floors(s, &p);
    p.step_overhead_s = (stage == 0 ? fixed : 0.0) + floors;
    if (stage != 0)
        p.per_seq_overhead_s = 0.0;
    return tm_roofline_new(&s->model, &s->hw, &p);
}

gboolean
tm_setup_memory_plan(const tm_setup *s,
                     const tm_memory_args *args,
                     tm_memory_plan *plan,
                     GError **error)
{
    return tm_memory_plan_compute(&s->model, &s->hw, &s->par, s->params.weight_dtype,
                                  tm_roofline_expert_dtype(&s->params), s->params.kv_dtype, args,
                                  plan, error);
}

void
tm_setup_vllm_defaults(const tm_setup *s, tm_vllm_defaults *d)
{
    tm_vllm_defaults_get(d, &s->model, &s->hw);
}

uint32_t
tm_setup_dsa_topk(const tm_setup *s)
{
    return tm_model_key_cap(&s->model);
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
    if (p->experts_own_dtype)
        json_object_set_new(ko, "expert_dtype", json_string(tm_dtype_name(p->expert_dtype)));
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
        static const char *const names[] = {
            "gemm", "attention",      "elementwise",   "mixed_decode_attention",
            "moe",  "quantised_gemm", "quantised_moe", NULL};
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
    json_object_set_new(ko, "calibration_fitted_on",
                        s->fitted_on ? json_string(s->fitted_on) : json_null());
    json_object_set_new(ko, "calibration_transferred", json_boolean(s->use.transferred));
    json_object_set_new(ko, "calibration_applied", json_string(s->desc));
    json_t *root = json_object();
    json_object_set_new(root, "model", mo);
    json_object_set_new(root, "hardware", ho);
    json_object_set_new(root, "parallelism", po);
    json_object_set_new(root, "timemodel", ko);
    return root;
}
