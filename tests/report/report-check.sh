#!/usr/bin/env bash
# tests/report/report-check.sh SERVESIM OUT: `make report-check`. Writes real outputs of every
# kind `servesim report` reads (compare outputs included), a report per view and one of
# everything, and opens each page in headless Chromium (tests/report/check_report.py): it fails
# on any console error or warning, a chart that draws nothing, or a request for anything but
# the page itself. Screenshots go to OUT/screenshots/ (docs/report.md shows three).
#
# Needs Debian's chromium and python3 (stdlib only); as root it installs them (Debian 12:
# apt-get install chromium fonts-liberation python3), otherwise it says what to install.
# Sweep/search and DSA outputs come from SERVESIM when it has those commands, else from the
# outputs kept in tests/report/data (SOURCE.md there).
set -euo pipefail
S=$(realpath "$1")
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/data
REPO=$(cd "$HERE/../.." && pwd)
PKGS="chromium fonts-liberation python3"

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium fonts-liberation"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
  echo "report-check: missing:$missing"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "+ apt-get update && apt-get install -y $PKGS"
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS
  else
    echo "Run as root:  apt-get update && apt-get install -y $PKGS"
    exit 2
  fi
fi

t0=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT"
q() { "$S" "$@" >/dev/null; }

# run: the embedded default (Azure conversation trace, 10 min) with steps, its report written
# by run --report; four replicas on a synthetic workload with a warm-up
q run --steps --report --output-dir "$OUT/run" --quiet
q run --workload synthetic --num-requests 4000 --rate 40 --replicas 4 --router least_loaded \
  --warmup 10 --steps --output-dir "$OUT/run-4replicas" --quiet
# estimate
"$S" estimate --json > "$OUT/estimate.json"
"$S" estimate --model llama-3.1-70b --tensor-parallel-size 4 --batch 32 --json > "$OUT/estimate-70b.json"
q estimate --scenarios "$DATA/scenarios.csv" --output "$OUT/scenarios.csv"
# sweep and search
if "$S" sweep --sweep rate=2:30:4 --slo ttft_p99:500,tpot_p99:50 --output-dir "$OUT/sweep-rate" \
     >/dev/null 2>"$OUT/sweep.err"; then
  q sweep --find-max rate --slo ttft_p99:500,tpot_p99:50 --replicates 2 --output-dir "$OUT/sweep-findmax"
  q sweep --workload synthetic --num-requests 1000 --input-len fixed:1024 --output-len fixed:256 \
    --sweep max_concurrency=1,2,4,...,256 --output-dir "$OUT/sweep-concurrency"
  q search --model llama-3.1-70b --gpus 8 --find-max rate --slo ttft_p99:500,tpot_p99:50 \
    --output-dir "$OUT/search"
  sweeps="$OUT/sweep-rate $OUT/sweep-findmax $OUT/sweep-concurrency"
else
  echo "report-check: $(head -1 "$OUT/sweep.err"): sweep/search outputs from tests/report/data"
  cp -r "$DATA/sweep-rate" "$DATA/sweep-findmax" "$DATA/search" "$OUT/"
  sweeps="$OUT/sweep-rate $OUT/sweep-findmax"
fi
# DSA
if "$S" run --help | grep -q -- '--dsa-trace-file'; then
  q run --model deepseek-v3.2 --hardware h200 --tensor-parallel-size 8 --dtype fp8 \
    --workload synthetic --num-requests 20 --rate 2 --input-len fixed:3000 --output-len fixed:64 \
    --dsa-trace --dsa-trace-layers 0,60 --dsa-kv-offload --output-dir "$OUT/run-dsa" --quiet
  "$S" analyze dsa "$OUT/run-dsa/trace_steps.jsonl" --json > "$OUT/dsa-analyze.json"
else
  echo "report-check: this servesim writes no DSA trace: DSA outputs from tests/report/data"
  cp -r "$DATA/run-dsa" "$OUT/"
  cp "$DATA/dsa-analyze.json" "$OUT/"
fi
# compare: the measured RTX 4090 vLLM run against its simulation (per-request scatter; the page
# written by compare --report) and the dashboard CSV's benchmark points (an overview)
q compare "$REPO/data/llmservingsim-rtx4090-dev-run/run-2026-08-20_max_num_seqs256" \
  --output-dir "$OUT/compare" --report
q compare "$REPO/tests/compare/data/dashboard.csv" --keep-going \
  --output-dir "$OUT/compare-dashboard" 2>/dev/null
t1=$(date +%s)

# one page per view, and everything on one page
R="$OUT/reports"
mkdir -p "$R"
q report "$OUT/run-4replicas" -o "$R/run-4replicas.html"
q report "$OUT/estimate.json" "$OUT/estimate-70b.json" -o "$R/estimate.html"
q report "$OUT/scenarios.csv" -o "$R/scenarios.html"
# shellcheck disable=SC2086
q report $sweeps -o "$R/sweep.html"
q report "$OUT/search" -o "$R/search.html"
q report "$OUT/run-dsa" "$OUT/dsa-analyze.json" -o "$R/dsa.html"
q report "$OUT/compare-dashboard" -o "$R/compare-dashboard.html"
# shellcheck disable=SC2086
q report "$OUT/run" "$OUT/run-4replicas" "$OUT/estimate.json" "$OUT/scenarios.csv" $sweeps \
  "$OUT/search" "$OUT/run-dsa" "$OUT/compare" -o "$R/everything.html" \
  --title "servesim report: every view"
cp "$OUT/run/report.html" "$R/run.html"
cp "$OUT/compare/report.html" "$R/compare.html"
t2=$(date +%s)

python3 "$HERE/check_report.py" --screenshots "$OUT/screenshots" "$R"/*.html
t3=$(date +%s)
echo "report-check: outputs $((t1 - t0)) s, reports $((t2 - t1)) s, browser $((t3 - t2)) s;" \
  "screenshots in $OUT/screenshots"
