#!/bin/sh
# tools/regenerate-calibrations.sh: refits the shipped calibrations
# (timemodel/presets/calibrations/*.json) from the measurements in data/, with the
# exact commands recorded in each file's "sources" (docs/calibration.md §5). Run from the
# repository root after building; rebuild afterwards so the binary embeds the new files.
#   SERVESIM=build/release/tools/servesim tools/regenerate-calibrations.sh
# The fits are deterministic (seeded folds and bootstrap): an unchanged tree reproduces the
# files byte for byte (tests/cli/test_calibrate.c checks the coefficients).
set -eu

SERVESIM=${SERVESIM:-build/release/tools/servesim}
S=data
OUT=timemodel/presets/calibrations

if [ ! -x "$SERVESIM" ]; then
    echo "regenerate-calibrations: no servesim binary at $SERVESIM (build first, or set SERVESIM)" >&2
    exit 2
fi
if [ ! -d "$S" ] || [ ! -d "$OUT" ]; then
    echo "regenerate-calibrations: run from the repository root (needs $S and $OUT)" >&2
    exit 2
fi

# H100 SXM: steps composed from Vidur's linear layers and aiconfigurator's attention and
# custom all-reduce tables (three models, TP 1-8).
"$SERVESIM" calibrate --compose \
    $S/vidur-profiling/compute_h100_codellama_CodeLlama-34b-Instruct-hf_mlp.csv \
    $S/vidur-profiling/compute_h100_meta-llama_Llama-2-70b-hf_mlp.csv \
    $S/vidur-profiling/compute_h100_meta-llama_Llama-2-7b-hf_mlp.csv \
    $S/aiconfigurator-h100/vllm-0.14.0_context_attention_perf.bf16kv.csv \
    $S/aiconfigurator-h100/vllm-0.14.0_generation_attention_perf.bf16kv.csv \
    $S/aiconfigurator-h100/vllm-0.14.0_custom_allreduce_perf.csv \
    --hardware h100-sxm --form linear --allow-super-peak --out $OUT/h100-sxm.json

# RTX 4090 and RTX PRO 6000: steps composed from the LLMServingSim vLLM 0.19 profiles.
"$SERVESIM" calibrate $S/llmservingsim-profiles/RTX4090/Llama-3.1-8B/tp1 \
    --allow-super-peak --out $OUT/rtx4090.json
"$SERVESIM" calibrate $S/llmservingsim-profiles/RTXPRO6000/Llama-3.1-8B/tp1 \
    --allow-super-peak --out $OUT/rtx-pro-6000.json
"$SERVESIM" calibrate $S/llmservingsim-profiles/RTXPRO6000/Qwen3-32B/tp2 \
    --allow-super-peak --out $OUT/qwen3-32b__rtx-pro-6000.json

# H200 SXM: operator tables of aiconfigurator (vLLM 0.24 GEMMs bf16 + fp8 block-scaled, context
# and generation attention, MoE layers; vLLM 0.18 custom all-reduce; NCCL 2.29). Linear form:
# the simulator applies the fit per operator, which is the linear form exactly.
H=$S/aiconfigurator-h200
"$SERVESIM" calibrate $H/vllm-0.24.0_gemm_perf.bf16+fp8block.csv.gz \
    $H/vllm-0.24.0_context_attention_perf.bf16kv.csv.gz \
    $H/vllm-0.24.0_generation_attention_perf.bf16kv.csv.gz \
    $H/vllm-0.24.0_moe_perf.bf16+fp8block.csv.gz \
    $H/vllm-0.18.0_custom_allreduce_perf.csv $H/nccl-2.29.2_nccl_perf.csv \
    --hardware h200 --form linear --max-rounds 10 --allow-super-peak --out $OUT/h200.json
