#!/usr/bin/env bash
# cityscapes: hrt_base_ocr_v3 on hrt_base (original single/multi-scale mIoU: not in the README).
# Usage: run_hrt_base_ocr_v3_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: despite the name, this experiment uses 7x7 windows (hrt_base).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset cityscapes
BACKBONE=hrt_base MODEL_NAME=hrt_base_ocr_v3 VAL_CONFIG=H_48_D_4_TEST.json

run_experiment "$@"
