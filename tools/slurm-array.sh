#!/usr/bin/env bash
# Feature extraction as a Slurm job array, then a merge job that runs when every task succeeded.
#
#   tools/slurm-array.sh DATASET OUT.parquet [N] [extra extract options...]
#   e.g. tools/slurm-array.sh /data/flowers /scratch/flowers.parquet 8 --backbone mobilenetv2-12-int8 --max-errors 100
#
# Task i extracts shard i/N into OUT.part-i-of-N.parquet (`--shard auto` reads SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT). A preempted or failed task can simply be run again (`scontrol requeue`, or this
# script with the same arguments): it resumes from its OUT.part-i-of-N.parquet.partial/ checkpoint.
# Shards are a stable hash of each item's path, so parts are disjoint and together complete; the merge
# refuses missing or doubled parts and gives the same file as a single-machine run.
# Set ONNXTRANSFER to the CLI (default: tools/onnxtransfer of this checkout) and SBATCH_OPTS for
# partition/time/cpus (e.g. SBATCH_OPTS="--partition=cpu --time=04:00:00 --cpus-per-task=8").
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DATASET OUT.parquet [N] [extract options...]" >&2
  exit 2
fi
dataset="$1"; out="$2"; n="${3:-4}"; shift $(( $# >= 3 ? 3 : 2 ))
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="${ONNXTRANSFER:-$root/tools/onnxtransfer}"
stem="${out%.parquet}"
extra="$(printf ' %q' "$@")"

# Build the CLI once up front so the tasks do not all build it at the same time.
"$cli" --help >/dev/null

array_id=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=features-extract --array="0-$((n - 1))" --requeue \
  --output="${stem}.part-%a-of-${n}.log" \
  --wrap "$(printf '%q' "$cli") extract --data $(printf '%q' "$dataset") --out $(printf '%q' "$out") --shard auto${extra}")

parts=""
for ((i = 0; i < n; i++)); do parts+=" $(printf '%q' "${stem}.part-${i}-of-${n}.parquet")"; done
merge_id=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=features-merge --dependency="afterok:${array_id}" \
  --output="${stem}.merge.log" \
  --wrap "$(printf '%q' "$cli") merge${parts} --out $(printf '%q' "$out")")

echo "submitted extraction array ${array_id} (${n} tasks) and merge job ${merge_id} -> ${out}"
