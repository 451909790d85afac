#!/usr/bin/env bash
# The Slurm end-to-end scenario of SlurmArrayTests, run inside tools/slurm-local:
#
#   tools/slurm-local tests/OnnxTransfer.Tests/ScaleOut/slurm-array-e2e.sh DATASET WORK N [EXTRACT OPTIONS...]
#
# Submits WORK/array/features.parquet with tools/slurm-array.sh (N tasks + the merge job), preempts the first
# task seen extracting with `scontrol requeue` (SIGTERM, KillWait, SIGKILL: Slurm's own preemption), lets it
# run again, waits for the merge job, then extracts WORK/single/features.parquet in one process. Prints
# "key: value" lines for the test to check (preempted task, job states, wall times); the test compares files and logs.
set -euo pipefail
data="$1"; work="$2"; n="$3"; shift 3
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
fail() { echo "slurm-array-e2e: $*" >&2; squeue >&2 || true; exit 1; }
mkdir -p "$work/array" "$work/single"
out="$work/array/features.parquet"

"$root/tools/onnxtransfer" --help >/dev/null  # build outside the timing
start=$(date +%s.%N)
submitted="$("$root/tools/slurm-array.sh" "$data" "$out" "$n" "$@")"
echo "$submitted"
array_id="$(sed -E 's/.*array ([0-9]+) .*/\1/' <<<"$submitted")"
merge_id="$(sed -E 's/.*merge job ([0-9]+) .*/\1/' <<<"$submitted")"
echo "array job: $array_id"
echo "merge job: $merge_id"

# Preempt a task that is mid-extraction: its log shows extracted items (plain progress lines) and it still runs.
victim=""
deadline=$((SECONDS + 300))
while [ -z "$victim" ]; do
  [ $SECONDS -lt $deadline ] || fail "no task showed extraction progress within 300 s"
  for ((i = 0; i < n; i++)); do
    log="$work/array/features.part-$i-of-$n.log"
    if [ -f "$log" ] && grep -qE '^extract: extract [1-9][0-9]*/' "$log" && ! grep -q ' new rows, ' "$log" \
       && [ "$(squeue -h -j "${array_id}_$i" -o %T 2>/dev/null)" = RUNNING ]; then
      victim=$i; break
    fi
  done
  sleep 0.2
done
echo "preempted task: $victim"
scontrol requeue "${array_id}_$victim"
# A requeued job waits for a begin time (about two minutes); start it as soon as its old run has ended.
# (An update while the old run is still COMPLETING is accepted and then overridden, so wait for PENDING.)
until [ "$(squeue -h -j "${array_id}_$victim" -o %T 2>/dev/null)" = PENDING ]; do
  [ $SECONDS -lt $deadline ] || fail "the requeued task ${array_id}_$victim never became pending"
  sleep 0.2
done
scontrol update JobId="${array_id}_$victim" StartTime=now

deadline=$((SECONDS + 900))
while squeue -h -j "$array_id,$merge_id" 2>/dev/null | grep -q .; do
  [ $SECONDS -lt $deadline ] || fail "the array and merge jobs did not finish within 900 s"
  sleep 0.5
done
end=$(date +%s.%N)
for ((i = 0; i < n; i++)); do
  echo "task $i: $(scontrol show job "${array_id}_$i" | grep -oE 'JobState=[A-Z]+|Restarts=[0-9]+|ExitCode=[0-9:]+' | tr '\n' ' ')"
done
echo "merge: $(scontrol show job "$merge_id" | grep -oE 'JobState=[A-Z]+|ExitCode=[0-9:]+' | tr '\n' ' ')"
echo "array wall s: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"

start=$(date +%s.%N)
"$root/tools/onnxtransfer" extract --data "$data" --out "$work/single/features.parquet" "$@" >"$work/single/extract.log" 2>&1 \
  || { cat "$work/single/extract.log" >&2; fail "the single-process extract failed"; }
end=$(date +%s.%N)
echo "single wall s: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
