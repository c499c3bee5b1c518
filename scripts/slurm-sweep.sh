#!/usr/bin/env bash
# Run a freezeflow job list (`freezeflow compare ... --out SHARED --plan jobs.jsonl`) as a Slurm array:
# one task per run, at most K at once, requeued on preemption (a task that gets SIGTERM checkpoints and
# exits 130; the requeued task resumes it). Waits for the array, then prints the collected table.
#
#   scripts/slurm-sweep.sh jobs.jsonl [K]
#
# sbatch's own variables choose partition, GPUs, time limit: SBATCH_PARTITION, SBATCH_GRES=gpu:1,
# SBATCH_TIMELIMIT, ... Logs go beside the job list (slurm-JOBID_INDEX.log, appended across requeues).
# Exit: 0 when every run finished, 1 when some did not (the table says which), 2 for bad use.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 jobs.jsonl [max-at-once]" >&2; exit 2; }
plan=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
at_once=${2:-4}
[ -f "$plan" ] || { echo "slurm-sweep: no job list at $1 (make one with freezeflow compare --plan)" >&2; exit 2; }
[[ $at_once =~ ^[1-9][0-9]*$ ]] || { echo "slurm-sweep: max-at-once must be a whole number ≥ 1, not '$at_once'" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "slurm-sweep: sbatch not found (is this a Slurm login node?)" >&2; exit 2; }
n=$(grep -c . "$plan")
[ "$n" -gt 0 ] || { echo "slurm-sweep: $1 lists no jobs" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
freezeflow="$(command -v node) $root/bin/freezeflow"
logs=$(dirname "$plan")

# --wait: block until every task ended; its exit status is not ours to report (collect says what finished)
sbatch --wait --parsable --job-name=freezeflow-sweep --array="0-$((n - 1))%$at_once" --requeue \
  --open-mode=append --output="$logs/slurm-%A_%a.log" \
  --wrap "exec $freezeflow run-job --plan '$plan'" || true

# the table of what finished; exit 1 names the runs that did not
exec $freezeflow compare --collect --plan "$plan"
