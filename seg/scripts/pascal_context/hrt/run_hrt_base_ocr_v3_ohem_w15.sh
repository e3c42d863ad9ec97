#!/usr/bin/env bash
# pascal_context: hrt_base_ocr_v3 on hrt_base_win15 (original single/multi-scale mIoU: not in the README).
# Usage: run_hrt_base_ocr_v3_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: plain cross-entropy (fs_auxce_loss) although the file name says ohem.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset pascal_context
BACKBONE=hrt_base_win15 MODEL_NAME=hrt_base_ocr_v3 DROP_PATH=0.3

run_experiment "$@"
