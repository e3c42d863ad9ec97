#!/usr/bin/env bash
# ade20k: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 44.0 / 45.1).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: no --train_batch_size, so the JSON's global batch of 16 is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset ade20k
BACKBONE=hrt_small MODEL_NAME=hrt_small_ocr_v2

run_experiment "$@"
