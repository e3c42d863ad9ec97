#!/usr/bin/env bash
# Train with torchrun on all visible GPUs (or on CPU with the gloo backend when there are none).
#
#   bash run_dist.sh MODEL DATAPATH [NPROC] [main.py flags ...]
#   bash run_dist.sh hrt/hrt_small /data/imagenet              # the original recipe
#   bash run_dist.sh hrt/hrt_small /data/imagenet 4 --batch-size 256 --accumulation-steps 2
#
# MODEL is a config under configs/ without .yaml (or a path to a yaml file). DATAPATH holds
# train/ + val/ folders or train.zip, val.zip, train_map.txt, val_map.txt (detected).
# NPROC defaults to the GPU count (2 on a CPU-only machine).
# Output: output/<MODEL.NAME>/<TAG>; TAG defaults to the launch time. Re-running with the same
# TAG resumes from that folder's latest.pth.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT (torchrun's rendezvous) on
# every node; NPROC is the process count per node.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ $# -lt 2 ]; then
  echo "usage: bash run_dist.sh MODEL DATAPATH [NPROC] [main.py flags ...]" >&2
  exit 2
fi
MODEL=$1 DATAPATH=$2
shift 2
source ./tools/launch_common.sh
resolve_config "$MODEL"
pick_nproc "$@"
[ "$NPROC_GIVEN" = 1 ] && shift

exec "$PYTHON" -m torch.distributed.run "${TORCHRUN_ARGS[@]}" main.py \
  --cfg "$CFG" --data-path "$DATAPATH" --output output \
  --tag "${TAG:-$(date +%Y%m%d_%H%M%S)}" "$@"
