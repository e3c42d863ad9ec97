#!/usr/bin/env bash
# cityscapes: hrt_base_ocr_v2 on hrt_base_win15 (original single/multi-scale mIoU: 81.9 / 82.6).
# Usage: run_hrt_base_ocr_v2_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=cityscapes
DATA_SUBDIR=cityscapes
BACKBONE=hrt_base_win15
MODEL_NAME=hrt_base_ocr_v2
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.4
MAX_ITERS=80000
BATCH=8
TEST_INTERVAL=1000
PRETRAINED=hrt_base.pth
VAL_CONFIG=H_48_D_4_TEST.json
VAL_CKPT=latest
TEST_SPLIT=test
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem_w15}"
EXTRA_TRAIN_ARGS=()

run_experiment "$@"
