#!/usr/bin/env bash
# Embedding throughput, grove next to the PyTorch anchor, measured alternately in the
# same run on the same chunks (the machine is shared: compare within a round, report
# the median round).
#
#   benches/embed/throughput.sh SRC_DIR [ROUNDS] [CHUNKS]
#
# SRC_DIR: source files to chunk (e.g. `git archive HEAD -- '*.c'` of git/git).
# Needs the release example (cargo build --release -p grove-embed --examples) and a
# Python with sentence-transformers in $PYTHON (default python3). The model is
# $GROVE_MODEL_DIR or ../shared/models/all-MiniLM-L6-v2.
set -euo pipefail
src=${1:?usage: benches/embed/throughput.sh SRC_DIR [ROUNDS] [CHUNKS]}
rounds=${2:-3}
chunks=${3:-256}
here=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
model=${GROVE_MODEL_DIR:-$here/../shared/models/all-MiniLM-L6-v2}
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  echo "## round $round"
  GROVE_MODEL_DIR=$model "$target/release/examples/throughput" --src "$src" --chunks "$chunks" --dump "$work/chunks.json" \
    | grep -E "bound|length-bucketed|one text"
  "$python" "$here/benches/embed/pytorch_anchor.py" "$model" "$work/chunks.json" --threads "$(nproc)"
done
