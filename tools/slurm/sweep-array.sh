#!/bin/sh
# tools/slurm/sweep-array.sh: run a `servesim sweep` or `servesim search` as a Slurm job array
# of N shards plus a merge job that starts when every shard succeeded.
#
#   tools/slurm/sweep-array.sh -n N -o DIR [-b SERVESIM] [-w] [-s "SBATCH ARGS"] -- \
#       sweep|search ARGS...
#
#   -n N      shards = array tasks; task K runs `servesim ARGS --shard K/N --output-dir DIR`
#   -o DIR    a directory every node can write (shared filesystem): shard files, the merged
#             KIND.csv / KIND.jsonl and the Slurm logs (slurm-JOB_TASK.out) go here
#   -b PATH   the servesim binary as the nodes see it (default: `servesim` on their PATH)
#   -w        wait for the merge job and exit with its status (sbatch --wait)
#   -s ARGS   extra sbatch arguments for both jobs, e.g. "-p cpu --time=01:00:00 -c 8"
#             (-c N gives each shard N cores; servesim uses them all with its default -j)
#
# Prints the two job ids. The merged files are byte for byte those of the unsharded run
# (`servesim merge` refuses shards of different sweeps, missing or truncated shards).
# Without Slurm the same split runs with GNU parallel:
#   parallel servesim sweep ARGS --shard {}/4 --output-dir DIR ::: 1 2 3 4 &&
#   servesim merge --output-dir DIR DIR/sweep.shard-*-of-4.jsonl
set -eu

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

n=""
dir=""
bin="servesim"
wait=""
extra=""
while getopts "n:o:b:ws:h" opt; do
    case "$opt" in
    n) n="$OPTARG" ;;
    o) dir="$OPTARG" ;;
    b) bin="$OPTARG" ;;
    w) wait=1 ;;
    s) extra="$OPTARG" ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
case "${1:-}" in
sweep | search) kind="$1" ;;
*)
    echo "sweep-array.sh: the command must be sweep or search (got '${1:-}')" >&2
    usage
    ;;
esac
case "$n" in
'' | *[!0-9]* | 0)
    echo "sweep-array.sh: -n N (a positive number of shards) is required" >&2
    usage
    ;;
esac
[ -n "$dir" ] || {
    echo "sweep-array.sh: -o DIR is required" >&2
    usage
}
command -v sbatch >/dev/null 2>&1 || {
    echo "sweep-array.sh: sbatch not found (is Slurm installed?)" >&2
    exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The command line, quoted for the job's shell: every argument in single quotes.
quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
cmd=$(quote "$bin")
for a in "$@"; do
    cmd="$cmd $(quote "$a")"
done
qdir=$(quote "$dir")

# shellcheck disable=SC2086 # $extra is a list of sbatch arguments
array=$(sbatch --parsable $extra --array="1-$n" --job-name="servesim-$kind" \
    --output="$dir/slurm-%A_%a.out" \
    --wrap="exec $cmd --shard \"\$SLURM_ARRAY_TASK_ID/$n\" --output-dir $qdir --quiet")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable $extra ${wait:+--wait} --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes --job-name="servesim-merge" --output="$dir/slurm-merge-%j.out" \
    --wrap="exec $(quote "$bin") merge --output-dir $qdir $qdir/$kind.shard-*-of-$n.jsonl")
echo "array job $array ($n shards), merge job ${merge%%;*}: outputs in $dir/$kind.csv"
