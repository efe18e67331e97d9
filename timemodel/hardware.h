/* timemodel/hardware.h: accelerator specs (peak dense FLOP/s per dtype, memory capacity and
 * bandwidth, L2, intra-node peer link, PCIe, network) from JSON files with datasheet citations.
 * Presets are embedded under timemodel/presets/hardware/ (`servesim presets`); a path to a
 * JSON file of the same format works too, and a file may say "base": "<preset>" to inherit
 * every field it does not set. Units in JSON: TFLOP/s, GB (datasheet), GB/s per direction, µs,
 * MB; in the struct: SI base units (FLOP/s, bytes, B/s, s). Ownership: tm_hardware_clear frees
 * the strings. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <jansson.h>

#include "timemodel/common.h"

typedef enum {
    TM_BACKEND_NVLINK, /* the GPU's peer fabric: NVLink/NVSwitch, Infinity Fabric, ICI */
    TM_BACKEND_PCIE,   /* peer traffic over PCIe (no NVLink) */
} tm_backend;

/* nvlink | pcie, and the aliases nv_like | pcie_like. */
gboolean tm_backend_parse(const char *s, tm_backend *out, GError **error);
const char *tm_backend_name(tm_backend b);

typedef struct tm_link {
    double bw;        /* B/s per direction per GPU; 0 = absent */
    double latency_s; /* per collective / message start-up */
} tm_link;

/* Per-SM figures the SM-level analyses (timemodel/attention_analysis.h, mma.h) need; optional
 * JSON object "sm" (count == 0 when absent). Sources are cited in each preset. */
typedef struct tm_mma_shape {
    int64_t m;             /* rows of one tensor-core instruction (wgmma 64, mma.sync 16) */
    int64_t n;             /* columns granule (8): an instruction's N is a multiple of it */
    int64_t n_max;         /* largest instruction N (wgmma 256; mma.sync 8) */
    int64_t k_bytes;       /* reduction depth of one instruction in bytes (32: k16 bf16, k32 fp8) */
    bool operands_in_smem; /* the instruction reads A and B from shared memory (wgmma "ss") */
} tm_mma_shape;

typedef struct tm_sm_spec {
    int64_t count;                                 /* SMs (CUs); 0 = no "sm" figures */
    double clock_hz;                               /* clock the tensor peaks are quoted at */
    double tensor_flops_per_clock[TM_DTYPE_COUNT]; /* dense, per SM; 0 = none */
    double sfu_ops_per_clock;       /* special-function results (exp2, rcp) per SM per clock */
    double fp32_ops_per_clock;      /* FP32 add/mul/FMA instructions per SM per clock (lanes) */
    double smem_bytes;              /* shared memory per SM usable by one CTA */
    double smem_bytes_per_clock;    /* shared-memory bandwidth per SM */
    double regfile_bytes;           /* register file per SM */
    double regfile_bytes_per_clock; /* register operand bandwidth per SM */
    tm_mma_shape mma;
} tm_sm_spec;

/* The host side of the GPU (optional JSON object "host"): what CPU memory offload moves over. */
typedef struct tm_host_spec {
    double c2c_bw;         /* NVLink-C2C to the CPU, B/s per direction; 0 = none (PCIe) */
    double ddr_bw;         /* host memory bandwidth shared by the node's GPUs, B/s; 0 = unknown */
    int64_t gpus_per_host; /* GPUs sharing that host memory (default gpus_per_node) */
} tm_host_spec;

typedef struct tm_hardware {
    char *name;                        /* preset name or file path */
    char *display_name;                /* e.g. "NVIDIA H100 SXM5 80GB" */
    double peak_flops[TM_DTYPE_COUNT]; /* dense tensor FLOP/s (OP/s for ints); 0 = none */
    double memory_gb;                  /* datasheet capacity (GB as printed) */
    double memory_bytes;               /* usable capacity as CUDA reports it */
    double mem_bw;                     /* HBM/GDDR bandwidth, B/s */
    double l2_bytes;                   /* last-level on-chip cache */
    tm_link nvlink, pcie, network;
    tm_backend default_backend;
    int64_t gpus_per_node;
    bool is_a100;                             /* vLLM's batch defaults single out A100 */
    double eff_compute, eff_memory, eff_comm; /* hardware-specific defaults; NAN = global */
    double l2_bw;                             /* L2 bandwidth, B/s; 0 = unknown ("sm" analyses) */
    tm_sm_spec sm;                            /* optional per-SM figures */
    tm_host_spec host;                        /* optional host-memory figures */
} tm_hardware;

/* From a JSON object (after "base" inheritance has been resolved). NAME used in messages. */
gboolean tm_hardware_from_json(tm_hardware *hw, const json_t *j, const char *name, GError **error);
/* Preset name or alias (case-insensitive; also GenZ-style table names such as H100_GPU) or
 * path. A preset's tm_hardware.name is its canonical short name ("h100" loads "h100-sxm").
 * Unknown names list close matches. */
gboolean tm_hardware_load(tm_hardware *hw, const char *name_or_path, GError **error);
void tm_hardware_clear(tm_hardware *hw);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(tm_hardware, tm_hardware_clear)

/* Parses the optional "sm", "l2_bandwidth_gbps" and "host" fields (timemodel/hardware_sm.c);
 * absent fields leave zeros (gpus_per_host defaults to gpus_per_node, set before the call).
 * Out-of-range values are TM_ERROR_INVALID naming the key. */
gboolean
tm_hardware_parse_sm_host(tm_hardware *hw, const json_t *j, const char *name, GError **error);
/* TRUE if HW has the per-SM figures; else FALSE with a one-line error saying which field is
 * missing and how to add it (WHAT names the command that needs it). */
gboolean tm_hardware_require_sm(const tm_hardware *hw, const char *what, GError **error);
/* Per-SM clock cycles per second × SMs: device-wide rates from per-SM-per-clock figures. */
double tm_hardware_sm_rate(const tm_hardware *hw, double per_sm_per_clock);

/* Short names of the embedded hardware presets, sorted. Free with g_strfreev. */
char **tm_hardware_preset_names(void);
/* The embedded preset NAME stands for: a preset name or one of its aliases (what users type:
 * "h100" is the SXM part), any case; NULL if none. transfer full */
char *tm_hardware_resolve_preset(const char *name);
/* The aliases of PRESET, NULL-terminated (empty for none). static */
const char *const *tm_hardware_preset_aliases(const char *preset);

/* GEMM throughput for weights of dtype W: the dtype's own tensor rate for bf16/fp16/fp8/int8
 * when the hardware has one (W8A8), else the bf16 rate (weight-only quantisation dequantises
 * to bf16: int4 AWQ/GPTQ, MXFP4 experts, fp8 on A100). */
double tm_hardware_gemm_flops(const tm_hardware *hw, tm_dtype w);
/* The link a backend uses (bandwidth 0 when the GPU has no such link). */
const tm_link *tm_hardware_link(const tm_hardware *hw, tm_backend b);
/* Usable memory in GiB (what vLLM's defaults compare with 70 GiB). */
double tm_hardware_memory_gib(const tm_hardware *hw);
