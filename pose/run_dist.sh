#!/usr/bin/env bash
# As the original's run_dist.sh: train <config> on the 8 GPUs of this machine.
#   bash run_dist.sh hrformer/coco/hrt_small_coco_256x192   (path under configs/, no .py)
# A full path to a .py config also works. GPUS overrides the process count.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 <config under configs/ without .py | path to a .py config> [train.py options]" >&2
  exit 2
fi
cd "$(dirname "$0")"
CONFIG=$1
case "$CONFIG" in
  *.py) ;;
  *) CONFIG=configs/$CONFIG.py ;;
esac
exec bash tools/dist_train.sh "$CONFIG" "${GPUS:-8}" "${@:2}"
