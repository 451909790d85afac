#!/usr/bin/env bash
# Feature extraction as a Slurm job array, then a merge job that runs when every task succeeded.
#
#   tools/slurm-array.sh DATASET OUT.parquet [N] [extra extract options...]
#   e.g. tools/slurm-array.sh /data/flowers /scratch/flowers.parquet 8 --backbone mobilenetv2-12-int8 --max-errors 100
#
# Task i extracts shard i/N into OUT.part-i-of-N.parquet (`--shard auto/N` reads SLURM_ARRAY_TASK_ID; the
# extract command line is the one tools/k8s-indexed-job.yaml runs). A preempted or failed task resumes from its
# OUT.part-i-of-N.parquet.partial/ checkpoint when run again: `scontrol requeue JOB_TASK` (Slurm sends SIGTERM,
# the task keeps its rows and logs "stopped: K of M items are kept ..."; a requeued task waits for a begin
# time, about two minutes, unless `scontrol update JobId=JOB_TASK StartTime=now`), or this script again with
# the same arguments. Logs: OUT.part-i-of-N.log (appended across requeues) and OUT.merge.log.
# Shards are a stable hash of each item's path, so parts are disjoint and together complete; the merge
# refuses missing or doubled parts and gives the same file as a single-machine run. The merge job waits for
# every task (afterok) and is cancelled when one fails for good.
# Set ONNXTRANSFER to the CLI (default: tools/onnxtransfer of this checkout, which must be on a filesystem the
# nodes share) and SBATCH_OPTS for partition/time/cpus (e.g. SBATCH_OPTS="--partition=cpu --time=04:00:00 --cpus-per-task=8").
# Tried end to end on a one-node cluster: tools/slurm-local (tests/OnnxTransfer.Tests/ScaleOut).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DATASET OUT.parquet [N] [extract options...]" >&2
  exit 2
fi
# Absolute paths: the tasks run wherever the scheduler starts them.
dataset="$(realpath -m "$1")"; out="$(realpath -m "$2")"; n="${3:-4}"; shift $(( $# >= 3 ? 3 : 2 ))
case " $* " in
  *" --backbone "* | *" -b "* | *" --backbone="*) ;;
  *) echo "$0: give the extract options, at least --backbone NAME (e.g. --backbone mobilenetv2-12-int8)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="${ONNXTRANSFER:-$root/tools/onnxtransfer}"
stem="${out%.parquet}"
extra=""
for a in "$@"; do extra+=" $(printf '%q' "$a")"; done

# Build the CLI once up front so the tasks do not all build it at the same time.
"$cli" --help >/dev/null

# `exec`: the CLI itself is the batch process, so signals sent to the batch shell only (`scancel --batch
# --signal=TERM`, `sbatch --signal=B:TERM@120` before a time limit) reach it and it keeps its rows. Behind
# the --wrap shell, that shell dies of the SIGTERM and the CLI runs on unaware while the job counts as failed.
# --open-mode=append: a requeued task appends to its log, so the log keeps what the stopped attempt kept.
array_id=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=features-extract --array="0-$((n - 1))" --requeue \
  --open-mode=append --output="${stem}.part-%a-of-${n}.log" \
  --wrap "exec $(printf '%q' "$cli") extract --data $(printf '%q' "$dataset") --out $(printf '%q' "$out") --shard auto/${n}${extra}")

parts=""
for ((i = 0; i < n; i++)); do parts+=" $(printf '%q' "${stem}.part-${i}-of-${n}.parquet")"; done
# --kill-on-invalid-dep: when a task fails for good, the merge is cancelled instead of pending forever.
merge_id=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=features-merge --dependency="afterok:${array_id}" --kill-on-invalid-dep=yes \
  --open-mode=append --output="${stem}.merge.log" \
  --wrap "exec $(printf '%q' "$cli") merge${parts} --out $(printf '%q' "$out")")

echo "submitted extraction array ${array_id} (${n} tasks) and merge job ${merge_id} -> ${out}"
