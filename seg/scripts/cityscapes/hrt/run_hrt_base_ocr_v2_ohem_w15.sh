#!/usr/bin/env bash
# cityscapes: hrt_base_ocr_v2 on hrt_base_win15 (original single/multi-scale mIoU: 81.9 / 82.6).
# Usage: run_hrt_base_ocr_v2_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset cityscapes
BACKBONE=hrt_base_win15 MODEL_NAME=hrt_base_ocr_v2 VAL_CONFIG=H_48_D_4_TEST.json

run_experiment "$@"
