#!/usr/bin/env bash
# Distributed evaluation: bash tools/dist_test.sh <config> <checkpoint> <num processes> [test.py options]
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 <config> <checkpoint> <num processes> [tools/test.py options]" >&2; exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
