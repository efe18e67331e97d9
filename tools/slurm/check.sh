#!/bin/sh
# tools/slurm/check.sh SERVESIM: `make slurm-check`. Runs a sharded sweep on a real Slurm and
# checks it against the unsharded run, byte for byte:
#   1. installs Debian's slurm-wlm and munge if missing (needs root and apt-get);
#   2. starts munged, then a single-node slurmctld + slurmd as root from a private slurm.conf
#      (own ports, state and logs in a temporary directory; no cgroups, no accounting);
#   3. runs a find-max sweep (4 points, seeds and an error band) once without Slurm, then as
#      a 4-task array through tools/slurm/sweep-array.sh with its merge job;
#   4. compares sweep.csv and sweep.jsonl with cmp;
#   5. stops the daemons it started (by pid) and removes the temporary directory.
# Exit 0 on identical outputs; 1 on a difference or a Slurm failure; 2 when it cannot run.
set -eu

bin=${1:?usage: tools/slurm/check.sh path/to/servesim}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "slurm-check: needs root (it installs packages and starts slurmctld/slurmd as root)" >&2
    exit 2
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || {
        echo "slurm-check: install slurm-wlm and munge (no apt-get here)" >&2
        exit 2
    }
    echo "+ apt-get install -y slurm-wlm munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null; }
fi

tmp=$(mktemp -d /tmp/servesim-slurm-XXXXXX)
chmod 755 "$tmp"
munge_pid=""
started=""
cleanup() {
    if [ -n "$started" ]; then
        SLURM_CONF="$tmp/slurm.conf" scontrol shutdown >/dev/null 2>&1 || true
        sleep 1
        for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid"; do
            [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
        done
    fi
    [ -n "$munge_pid" ] && kill "$munge_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# munge: a key, a socket directory, our own daemon (pid kept for the shutdown)
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
mkdir -p "$tmp/munge"
chown munge:munge "$tmp/munge"
sock="$tmp/munge/munge.socket"
runuser -u munge -- munged --socket="$sock" --pid-file="$tmp/munge/munged.pid" \
    --log-file="$tmp/munge/munged.log" --force 2>"$tmp/munged.err" || {
    cat "$tmp/munged.err" >&2
    exit 1
}
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.2; done
munge_pid=$(cat "$tmp/munge/munged.pid")

host=$(hostname -s)
cpus=$(nproc)
cat >"$tmp/slurm.conf" <<EOF
ClusterName=servesim-check
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
started=1
slurmctld -f "$SLURM_CONF" || { cat "$tmp/slurmctld.log" >&2; exit 1; }
slurmd -f "$SLURM_CONF" || { cat "$tmp/slurmd.log" >&2; exit 1; }
state=""
for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
    case "$state" in idle* | mix* | alloc*) break ;; esac
    sleep 0.5
done
case "$state" in
idle* | mix* | alloc*) echo "slurm-check: node $host is $state (slurmctld + slurmd up)" ;;
*)
    echo "slurm-check: the node did not come up (state '$state')" >&2
    tail -n 20 "$tmp/slurmctld.log" "$tmp/slurmd.log" >&2 || true
    exit 1
    ;;
esac

# the sweep: 4 points, each an SLA-limit search with 2 seeds and a 6 % band
set -- sweep --workload synthetic --num-requests 300 --input-len fixed:1024 \
    --output-len fixed:128 --seed 1 --sweep "max_num_seqs=32,64,128,256" \
    --find-max rate --slo ttft_p99:400,tpot_p99:40 --replicates 2 --band 0.06 -j 1
"$bin" "$@" --output-dir "$tmp/one" --quiet
t0=$(date +%s)
"$here/sweep-array.sh" -n 4 -o "$tmp/array" -b "$bin" -w -- "$@"
t1=$(date +%s)
echo "slurm-check: 4-task array + merge finished in $((t1 - t0)) s"
for f in sweep.csv sweep.jsonl; do
    if ! cmp "$tmp/one/$f" "$tmp/array/$f"; then
        echo "slurm-check: FAIL: $f from the Slurm array differs from the unsharded run" >&2
        exit 1
    fi
done
n=$(ls "$tmp/array"/sweep.shard-*-of-4.jsonl | wc -l)
echo "slurm-check: OK: $n shard files merged; sweep.csv and sweep.jsonl identical to the" \
    "unsharded run ($(($(wc -l <"$tmp/one/sweep.csv") - 1)) points)"
