#!/usr/bin/env bash
# cityscapes: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 80.0 / 81.0).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset cityscapes
BACKBONE=hrt_small MODEL_NAME=hrt_small_ocr_v2 DROP_PATH=0.2 VAL_CKPT=max_performance

run_experiment "$@"
