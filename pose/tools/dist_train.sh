#!/usr/bin/env bash
# Distributed training with torchrun: bash tools/dist_train.sh <config> <num processes> [train.py options]
# One process per GPU; on a machine without CUDA the processes run on the CPU with gloo.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR (and PORT) as for torchrun.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 <config> <num processes> [tools/train.py options]" >&2; exit 2
fi
CONFIG=$1
NPROC=$2
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  tools/train.py "$CONFIG" --launcher pytorch "${@:3}"
