#!/bin/bash
# tools/compare-outputs.sh: runs a set of varied workloads with two servesim binaries and checks
# that every output (requests.csv, steps.jsonl.gz, the Perfetto trace, summary.json and the
# other summaries, the DSA trace) is byte-identical, apart from summary.json's "git" line.
# Speed work must not change outputs; run this with the binary before and after a change:
#   tools/compare-outputs.sh /tmp/servesim.before build/release/tools/servesim [NAME ...]
# NAME picks workloads from the list below (default: all). Exit 0 iff all are identical.
set -u

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
    echo "usage: tools/compare-outputs.sh BEFORE_BINARY AFTER_BINARY [NAME ...]" >&2
    exit 2
fi
BEFORE=$(realpath "$1")
AFTER=$(realpath "$2")
shift 2
OUT=$(mktemp -d "${TMPDIR:-/tmp}/servesim-compare.XXXXXX")

declare -A W
W[default]=""
W[r4rate40]="--replicas 4 --rate 40 --router least_loaded"
W[dsv3]="--model deepseek-v3 --hardware h200 --dtype fp8 --data-parallel-size 8 --enable-expert-parallel --num-requests 3000 --rate 32"
W[l70b]="--model llama-3.1-70b -tp 2 -pp 4 --num-requests 3000"
W[v011]="--engine vllm-0.11 --warmup 20 --cooldown 20 --replicas 2"
W[multiturn]="--workload synthetic --turns uniform:1:6 --rate 3 --num-requests 3000 --prefix-len 512 --num-prefixes 4 --input-len uniform:100:3000 --output-len uniform:10:600 --think-time exponential:2 --num-gpu-blocks-override 3000 --max-model-len 16384 --seed 7"
W[priority]="--scheduling-policy priority --api-server-count 2 --workload synthetic --rate 30 --num-requests 3000 --input-len uniform:100:3000 --output-len uniform:10:500 --num-gpu-blocks-override 4000 --max-model-len 16384 --seed 3"
W[sarathi]="--scheduler sarathi --workload synthetic --stages 10:20,30:20,15:20 --input-len uniform:100:3000 --output-len uniform:10:500"
W[longprefill]="--long-prefill-token-threshold 256 --watermark 0.05 --num-gpu-blocks-override 5000 --max-model-len 16384 --num-requests 3000"
W[pd]="--pd 2:6 --rate 60 --num-requests 6000 --router least_loaded"
W[pdcond]="--pd 2:3 --rate 30 --num-requests 4000 --pd-conditional-tokens 512 --pd-layer-streaming --pd-early-reject"
W[spec]="--speculative-config {\"method\":\"eagle3\",\"num_speculative_tokens\":3,\"acceptance_rate\":0.7} --num-requests 3000 --replicas 2"
W[dsa]="--model deepseek-v3.2 --hardware h200 --dtype fp8 -tp 8 --num-requests 400 --dsa-trace --dsa-trace-sample-rate 0.05"
ALL="default r4rate40 dsv3 l70b v011 multiturn priority sarathi longprefill pd pdcond spec dsa"

names=("$@")
[ ${#names[@]} -eq 0 ] && read -r -a names <<<"$ALL"
fail=0
for n in "${names[@]}"; do
    if [ -z "${W[$n]+x}" ]; then
        echo "compare-outputs: unknown workload '$n' (one of: $ALL)" >&2
        exit 2
    fi
    for side in before after; do
        bin=$BEFORE
        [ $side = after ] && bin=$AFTER
        mkdir -p "$OUT/$side"
        # the same relative output directory on both sides: summary.json records it
        # shellcheck disable=SC2086
        (cd "$OUT/$side" && $bin run ${W[$n]} --steps --perfetto trace.json --quiet \
            --output-dir "$n" >"$n.log" 2>&1) || echo "$n ($side): exit status $?"
    done
    if [ -s "$OUT/before/$n/requests.csv" ] &&
        diff -r -I '"git":' "$OUT/before/$n" "$OUT/after/$n" >/dev/null &&
        diff "$OUT/before/$n.log" "$OUT/after/$n.log" >/dev/null; then
        echo "$n: identical ($(ls "$OUT/before/$n" | tr '\n' ' '))"
    else
        echo "$n: DIFFERENT (outputs in $OUT)"
        fail=1
    fi
done
[ $fail -eq 0 ] && rm -rf "$OUT"
exit $fail
