#!/usr/bin/env bash
# Writes a CSV manifest (path,label,split) for the Free Spoken Digit Dataset, for `onnxtransfer fit`:
#   tools/fsdd-manifest.sh OUT_DIR [RECORDINGS_DIR] [TEST_SPEAKER] [PER_DIGIT_PER_SPEAKER]
# RECORDINGS_DIR holds {digit}_{speaker}_{n}.wav (default /work/shared/datasets/fsdd/recordings).
# label = the digit; split = test for TEST_SPEAKER (default: the last speaker alphabetically), train for the rest,
# so the reported accuracy is on a voice the head never heard. PER_DIGIT_PER_SPEAKER (optional) keeps only the
# clips n < that number, for quick runs.
# Manifest paths must stay inside the manifest's folder, so OUT_DIR gets a symlink `recordings` to the
# (read-only) recordings and the manifest lists `recordings/FILE.wav`. Prints the manifest's path.
set -euo pipefail
out=${1:?usage: fsdd-manifest.sh OUT_DIR [RECORDINGS_DIR] [TEST_SPEAKER] [PER_DIGIT_PER_SPEAKER]}
recordings=${2:-/work/shared/datasets/fsdd/recordings}
[ -d "$recordings" ] || { echo "fsdd-manifest: $recordings: no such folder; pass the FSDD recordings folder" >&2; exit 2; }
speakers=$(ls "$recordings" | sed -n 's/^[0-9]_\([^_]*\)_[0-9]*\.wav$/\1/p' | LC_ALL=C sort -u)
[ -n "$speakers" ] || { echo "fsdd-manifest: $recordings holds no {digit}_{speaker}_{n}.wav files" >&2; exit 2; }
test_speaker=${3:-$(echo "$speakers" | tail -n 1)}
echo "$speakers" | grep -qx "$test_speaker" || { echo "fsdd-manifest: speaker '$test_speaker' not in: $(echo $speakers)" >&2; exit 2; }
limit=${4:-}
mkdir -p "$out"
ln -sfn "$(cd "$recordings" && pwd)" "$out/recordings"
manifest="$out/fsdd.csv"
{
  echo "path,label,split"
  ls "$recordings" | LC_ALL=C sort | while IFS= read -r f; do
    if [[ $f =~ ^([0-9])_([^_]+)_([0-9]+)\.wav$ ]]; then
      digit=${BASH_REMATCH[1]} speaker=${BASH_REMATCH[2]} n=${BASH_REMATCH[3]}
      if [ -n "$limit" ] && [ "$n" -ge "$limit" ]; then continue; fi
      split=train; [ "$speaker" = "$test_speaker" ] && split=test
      echo "recordings/$f,$digit,$split"
    fi
  done
} > "$manifest.tmp"
mv "$manifest.tmp" "$manifest"
echo "$manifest"
