/* timemodel/options.c: the time model's rows in the settings schema. Flag names follow
 * vLLM's where the concept is the same (--tensor-parallel-size, --kv-cache-dtype, ...). */
#include "timemodel/options.h"

#include <stddef.h>

/* vLLM's --dtype choices (ModelDType; float/float32 are refused by tm_setup with a reason),
 * then servesim's own names: bf16/fp16 as bfloat16/float16, fp8/int8/int4 = weights quantised
 * to that dtype (docs/timemodel.md "dtypes"). */
static const char *const dtypes[] = {"auto", "bfloat16", "float16", "half", "float", "float32",
                                     "bf16", "fp16",     "fp8",     "int8", "int4",  NULL};
/* vLLM's --kv-cache-dtype choices that servesim prices, then its own names. */
static const char *const kv_dtypes[] = {"auto",     "fp8",  "fp8_e4m3", "fp8_e5m2",
                                        "bfloat16", "bf16", "fp16",     "float16",
                                        "int8",     "int4", NULL};
static const char *const kinds[] = {"roofline", NULL};
static const char *const backends[] = {"nvlink", "pcie", "nv_like", "pcie_like", NULL};

#define O(field) offsetof(tm_options, field)

static const base_opt rows[] = {
    {"model.name", "model", BASE_OPT_STRING, O(model), "llama-3.1-8b", NULL, 0, 0, 0, "NAME|FILE",
     "model preset or its Hugging Face id (see `servesim presets`), or a path to a config.json"},
    {"model.dtype", "dtype", BASE_OPT_ENUM, O(dtype), "auto", dtypes, 0, 0, 0, "DTYPE",
     "model (activation) dtype as vLLM's (auto = the config's torch_dtype; a quantised "
     "checkpoint keeps its quantised weights); fp8/int8/int4 = servesim's shorthand for every "
     "linear layer's weights at that dtype"},
    {"model.quantization", "quantization|-q", BASE_OPT_STRING, O(quantization), NULL, NULL, 0, 0,
     BASE_OPT_NULLABLE, "METHOD",
     "vLLM quantization method: fp8, fbgemm_fp8, ptpc_fp8, modelopt, mxfp4, awq, awq_marlin, "
     "gptq (others are refused; default: the config's quantization_config)"},
    {"model.kv_cache_dtype", "kv-cache-dtype", BASE_OPT_ENUM, O(kv_cache_dtype), "auto", kv_dtypes,
     0, 0, 0, "DTYPE",
     "KV cache dtype (auto = the model's activation dtype, as vLLM; quantised weights do not "
     "change it)"},
    {"hardware.name", "hardware", BASE_OPT_STRING, O(hardware), "h100-sxm", NULL, 0, 0, 0,
     "NAME|FILE", "GPU preset (see `servesim presets`) or path to a hardware JSON"},
    {"parallelism.tensor_parallel_size", "tensor-parallel-size|-tp", BASE_OPT_INT, O(tp), "1", NULL,
     1, 1024, 0, "N", "tensor parallel degree per replica"},
    {"parallelism.pipeline_parallel_size", "pipeline-parallel-size|-pp", BASE_OPT_INT, O(pp), "1",
     NULL, 1, 1024, 0, "N", "pipeline stages per replica (one step in flight per stage)"},
    {"parallelism.data_parallel_size", "data-parallel-size|-dp", BASE_OPT_INT, O(dp), "1", NULL, 1,
     65536, 0, "N",
     "data-parallel ranks per replica: engine cores with their own queue and KV cache (MoE: "
     "stepping in lockstep)"},
    {"parallelism.enable_expert_parallel", "enable-expert-parallel", BASE_OPT_BOOL,
     O(expert_parallel), "false", NULL, 0, 0, 0, NULL,
     "shard MoE experts over TP×DP GPUs instead of tensor-splitting each expert"},
    {"timemodel.kind", "time-model", BASE_OPT_ENUM, O(kind), "roofline", kinds, 0, 0, 0, "KIND",
     "step-time model"},
    {"timemodel.calibration", "calibration", BASE_OPT_STRING, O(calibration), "auto", NULL, 0, 0, 0,
     "FILE|NAME|auto|none",
     "calibration JSON from `servesim calibrate` or a shipped name (`servesim presets`); auto = "
     "the shipped one for the model and hardware if any; none = uncalibrated defaults"},
    {"timemodel.compute_efficiency", "compute-efficiency", BASE_OPT_DOUBLE, O(compute_eff), NULL,
     NULL, 1e-6, 10, BASE_OPT_NULLABLE, "X", "override η_c, fraction of peak FLOP/s"},
    {"timemodel.memory_efficiency", "memory-efficiency", BASE_OPT_DOUBLE, O(memory_eff), NULL, NULL,
     1e-6, 10, BASE_OPT_NULLABLE, "X", "override η_m, fraction of peak HBM bandwidth"},
    {"timemodel.comm_efficiency", "comm-efficiency", BASE_OPT_DOUBLE, O(comm_eff), NULL, NULL, 1e-6,
     10, BASE_OPT_NULLABLE, "X", "override η_x, fraction of peak link bandwidth"},
    {"timemodel.overlap", "comm-overlap", BASE_OPT_DOUBLE, O(overlap), NULL, NULL, 0, 1,
     BASE_OPT_NULLABLE, "X",
     "fraction of communication overlapped with compute, docs/domain.md §3.7 (default: "
     "calibration, "
     "else 0)"},
    {"timemodel.comm_backend", "comm-backend", BASE_OPT_ENUM, O(comm_backend), NULL, backends, 0, 0,
     BASE_OPT_NULLABLE, "NAME", "intra-node link model (default: from the hardware preset)"},
    {"timemodel.moe_imbalance", "moe-imbalance", BASE_OPT_DOUBLE, O(moe_imbalance), NULL, NULL, 0,
     100, BASE_OPT_NULLABLE, "X",
     "extra tokens on the most loaded expert, as a fraction of the mean (default: calibration, "
     "else 0)"},
};

const base_opt_table tm_options_table = {"Model, hardware and time model", rows, G_N_ELEMENTS(rows),
                                         0};
