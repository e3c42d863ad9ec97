#!/usr/bin/env bash
# Evaluate a checkpoint (an official release or one of ours) with torchrun; prints
# " * Acc@1 <top1> Acc@5 <top5>" (percent, reduced over all processes).
#
#   bash run_eval.sh MODEL CHECKPOINT DATAPATH [NPROC] [main.py flags ...]
#   bash run_eval.sh hrt/hrt_small hrt_small.pth /data/imagenet
#
# NPROC defaults to the GPU count (2 on a CPU-only machine); NNODES, NODE_RANK, MASTER_ADDR
# and MASTER_PORT work as in run_dist.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ $# -lt 3 ]; then
  echo "usage: bash run_eval.sh MODEL CHECKPOINT DATAPATH [NPROC] [main.py flags ...]" >&2
  exit 2
fi
MODEL=$1 CHECKPOINT=$2 DATAPATH=$3
shift 3
source ./tools/launch_common.sh
resolve_config "$MODEL"
if [ ! -f "$CHECKPOINT" ]; then
  echo "run_eval.sh: checkpoint not found: $CHECKPOINT" >&2
  exit 2
fi
pick_nproc "$@"
[ "$NPROC_GIVEN" = 1 ] && shift

exec "$PYTHON" -m torch.distributed.run "${TORCHRUN_ARGS[@]}" main.py --eval \
  --cfg "$CFG" --resume "$CHECKPOINT" --data-path "$DATAPATH" --output output \
  --tag "${TAG:-eval}" "$@"
