#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing sweeps (scripts/slurm-sweep.sh) without
# a real cluster. Needs root and Debian's slurm-wlm + munge (apt-get install slurm-wlm munge); no systemd.
#
#   scripts/slurm-cluster.sh start DIR   # writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   export SLURM_CONF=DIR/slurm.conf     # then sbatch/squeue/scontrol talk to it
#   scripts/slurm-cluster.sh stop DIR
#
# Exit 0 when the node is up (idle), 1 when a daemon would not start (its log's tail is printed), 2 for bad use.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

# a daemon is gone when its process is (a zombie left behind by a non-reaping init counts as gone)
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do gone "$pid" && return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  for d in slurmd slurmctld; do
    [ -f "$dir/$d.pid" ] && stop_pid "$(cat "$dir/$d.pid")"
    rm -f "$dir/$d.pid"
  done
  # our munged only (one that was running before start is left alone)
  [ -f "$dir/munged.started" ] && stop_pid "$(cat /run/munge/munged.pid 2>/dev/null)"
  rm -f "$dir/munged.started"
}

start() {
  [ "$(id -u)" = 0 ] || { echo "slurm-cluster: needs root (slurmd runs jobs as their user)" >&2; exit 2; }
  for b in munged slurmctld slurmd sbatch; do
    command -v "$b" >/dev/null || { echo "slurm-cluster: $b not found (apt-get install slurm-wlm munge)" >&2; exit 2; }
  done
  local host node
  host=$(hostname -s)
  # the machine's CPUs and memory as slurmd sees them, so the node is not drained for a mismatch
  node=$(slurmd -C | head -1)
  mkdir -p "$dir/state" "$dir/spool" /run/munge
  chown munge:munge /run/munge
  # munged is up when it hands out a credential
  if ! munge -n >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { echo "slurm-cluster: no /etc/munge/munge.key (reinstall munge)" >&2; exit 1; }
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid
    touch "$dir/munged.started"
  fi
  cat >"$dir/slurm.conf" <<EOF
ClusterName=freezeflow
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
KillWait=60
ReturnToService=2
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
${node/NodeName=* CPUs/NodeName=$host CPUs} State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" -i
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 60); do
    if timeout 5 sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      echo "slurm-cluster: node $host up; export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm-cluster: the node did not come up:" >&2
  tail -n 5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  stop
  exit 1
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
