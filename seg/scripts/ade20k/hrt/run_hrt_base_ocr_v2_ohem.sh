#!/usr/bin/env bash
# ade20k: hrt_base_ocr_v2 on hrt_base (original single/multi-scale mIoU: 46.3 / 47.6).
# Usage: run_hrt_base_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: no --train_batch_size, so the JSON's global batch of 16 is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset ade20k
BACKBONE=hrt_base MODEL_NAME=hrt_base_ocr_v2

run_experiment "$@"
