#!/usr/bin/env bash
# coco_stuff: hrt_base_ocr_v2 on hrt_base_win15 (original single/multi-scale mIoU: 42.4 / 43.3).
# Usage: run_hrt_base_ocr_v2_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset coco_stuff
BACKBONE=hrt_base_win15 MODEL_NAME=hrt_base_ocr_v2

run_experiment "$@"
