#!/usr/bin/env bash
# fuzz/run.sh: runs libFuzzer harnesses over their seed corpora and prints one line per harness
# (executions, exec/s, coverage, corpus size, crashes). Used by `make fuzz` and `make fuzz-smoke`.
#
#   fuzz/run.sh BUILD_DIR [HARNESS...]        (default: every fuzz_* in BUILD_DIR/fuzz)
# Environment:
#   FUZZ_SECONDS  seconds per harness (default 20)
#   FUZZ_RUNS     executions per harness (e.g. 10000000); with FUZZ_SECONDS too, whichever
#                 comes first
#   FUZZ_JOBS     harnesses run at once (default 2)
#   FUZZ_NICE     nice level (default 0)
#   FUZZ_MERGE=1  also minimise each grown corpus into BUILD_DIR/fuzz-work/merged/<name>
# Seeds are read from fuzz/corpus/<name>/ and never written: new inputs go to
# BUILD_DIR/fuzz-work/corpus/<name>/ (kept between runs), crashes to .../crashes/, logs to
# .../logs/. Exit status 1 if any harness crashed, leaked, timed out, ran out of memory or
# failed to start.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/run.sh BUILD_DIR [HARNESS...]}
shift
bin="$build/fuzz"
work="$build/fuzz-work"
runs=${FUZZ_RUNS:-}
if [ -n "$runs" ]; then seconds=${FUZZ_SECONDS:-0}; else seconds=${FUZZ_SECONDS:-20}; fi
jobs=${FUZZ_JOBS:-2}
nice_level=${FUZZ_NICE:-0}
if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in "$bin"/fuzz_*; do
    [ -x "$f" ] && names+=("$(basename "$f" | sed 's/^fuzz_//')")
  done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz/run.sh: no harnesses in $bin (make fuzzers)" >&2; exit 2; }
mkdir -p "$work/logs" "$work/crashes"

one() {
  local name=$1 limit="-max_total_time=$seconds"
  [ -n "$runs" ] && limit="$limit -runs=$runs"
  mkdir -p "$work/corpus/$name"
  rm -f "$work/crashes/$name"-*
  # -timeout: one input taking this long is a finding; -rss_limit_mb: so is this much memory.
  nice -n "$nice_level" "$bin/fuzz_$name" $limit -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/crashes/$name-" \
    "$work/corpus/$name" "fuzz/corpus/$name" >"$work/logs/$name.log" 2>&1
  echo $? >"$work/logs/$name.rc"
}
export -f one
export bin work seconds runs nice_level

printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'

status=0
printf '%-20s %12s %8s %6s %7s %7s %s\n' harness executions exec/s cov ft corpus result
for name in "${names[@]}"; do
  log="$work/logs/$name.log"
  rc=$(cat "$work/logs/$name.rc" 2>/dev/null || echo 99)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(find "$work/corpus/$name" -type f | wc -l)
  # slow-unit-* (an input over 10 s, often just a loaded machine) is listed, not a failure
  crashes=$(find "$work/crashes" -name "$name-*" ! -name "$name-slow-unit-*" -type f | wc -l)
  slow=$(find "$work/crashes" -name "$name-slow-unit-*" -type f | wc -l)
  result=ok
  [ "$slow" = 0 ] || result="ok ($slow slow input(s) in $work/crashes)"
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    result="FAILED (exit $rc, $crashes artifact(s); $log)"
    status=1
  fi
  printf '%-20s %12s %8s %6s %7s %7s %s\n' "$name" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
    "${ft:-?}" "$corp" "$result"
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    grep -E 'ERROR:|SUMMARY:|runtime error|fuzz: |^artifact_prefix|Test unit written' "$log" |
      head -8 | sed 's/^/    /'
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    rm -rf "$work/merged/$name"
    mkdir -p "$work/merged/$name"
    "$bin/fuzz_$name" -merge=1 -timeout=25 -rss_limit_mb=2048 "$work/merged/$name" \
      "fuzz/corpus/$name" "$work/corpus/$name" >"$work/logs/$name.merge.log" 2>&1 || status=1
  fi
done
exit $status
