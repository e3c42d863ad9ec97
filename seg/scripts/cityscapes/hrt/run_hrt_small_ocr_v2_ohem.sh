#!/usr/bin/env bash
# cityscapes: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 80.0 / 81.0).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=cityscapes
DATA_SUBDIR=cityscapes
BACKBONE=hrt_small
MODEL_NAME=hrt_small_ocr_v2
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.2
MAX_ITERS=80000
BATCH=8
TEST_INTERVAL=1000
PRETRAINED=hrt_small.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=max_performance
TEST_SPLIT=test
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem}"
EXTRA_TRAIN_ARGS=()

run_experiment "$@"
