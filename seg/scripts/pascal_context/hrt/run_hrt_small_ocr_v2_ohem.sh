#!/usr/bin/env bash
# pascal_context: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 53.8 / 54.6).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: plain cross-entropy (fs_auxce_loss) although the file name says ohem.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset pascal_context
BACKBONE=hrt_small MODEL_NAME=hrt_small_ocr_v2

run_experiment "$@"
