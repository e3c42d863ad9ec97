#!/usr/bin/env bash
# ade20k: hrt_base_ocr_v3 on hrt_base_win13 (original single/multi-scale mIoU: not in the README).
# Usage: run_hrt_base_ocr_v3_ohem_w13.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: no --train_batch_size, so the JSON's global batch of 16 is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

use_dataset ade20k
BACKBONE=hrt_base_win13 MODEL_NAME=hrt_base_ocr_v3

run_experiment "$@"
