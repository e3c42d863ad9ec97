#!/usr/bin/env bash
# coco_stuff: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 37.9 / 38.9).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset coco_stuff
BACKBONE=hrt_small MODEL_NAME=hrt_small_ocr_v2

run_experiment "$@"
