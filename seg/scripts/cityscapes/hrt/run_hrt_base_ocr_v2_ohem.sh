#!/usr/bin/env bash
# cityscapes: hrt_base_ocr_v2 on hrt_base (original single/multi-scale mIoU: 81.4 / 82.0).
# Usage: run_hrt_base_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset cityscapes
BACKBONE=hrt_base MODEL_NAME=hrt_base_ocr_v2

run_experiment "$@"
