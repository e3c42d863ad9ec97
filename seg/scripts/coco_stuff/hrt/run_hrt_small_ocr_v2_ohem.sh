#!/usr/bin/env bash
# coco_stuff: hrt_small_ocr_v2 on hrt_small (original single/multi-scale mIoU: 37.9 / 38.9).
# Usage: run_hrt_small_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=coco_stuff
DATA_SUBDIR=coco_stuff_10k
BACKBONE=hrt_small
MODEL_NAME=hrt_small_ocr_v2
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.2
MAX_ITERS=60000
BATCH=16
TEST_INTERVAL=10000
PRETRAINED=hrt_small.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=latest
TEST_SPLIT=val
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem}"
EXTRA_TRAIN_ARGS=(--nbb_mult 10)

run_experiment "$@"
