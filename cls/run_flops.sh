#!/usr/bin/env bash
# Parameters and FLOPs of one cls config's model (see tools/flops.py for the conventions).
#
#   bash run_flops.sh hrt/hrt_small            # 224x224
#   bash run_flops.sh hrt/hrt_small 256x192    # or a single number for a square input
#
# The original script took MODEL DATAPATH DATASET and averaged over 100 val images; FLOPs of
# this model depend only on the input size, so no data is read: a DATAPATH / DATASET given in
# the original's positions is accepted and ignored.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ $# -lt 1 ]; then
  echo "usage: bash run_flops.sh MODEL [SIZE]   (MODEL e.g. hrt/hrt_small; SIZE 224 or 256x192)" >&2
  exit 2
fi
MODEL=$1
CFG=configs/$MODEL.yaml
if [ ! -f "$CFG" ]; then
  echo "run_flops.sh: no config $CFG (expected MODEL like hrt/hrt_small)" >&2
  exit 2
fi

SIZE_ARGS=()
if [ $# -ge 2 ]; then
  if [[ $2 =~ ^[0-9]+(x[0-9]+)?$ ]]; then
    read -r -a SIZE_ARGS <<< "--input-size ${2/x/ }"
  else
    echo "run_flops.sh: ignoring '${*:2}' (the original's DATAPATH/DATASET; no data is needed)" >&2
  fi
fi

PYTHON=${PYTHON:-../.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" tools/flops.py --cfg "$CFG" ${SIZE_ARGS[@]+"${SIZE_ARGS[@]}"}
