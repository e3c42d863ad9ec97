#!/usr/bin/env bash
# coco_stuff: hrt_base_ocr_v3 on hrt_base_win15 (original single/multi-scale mIoU: not in the README).
# Usage: run_hrt_base_ocr_v3_ohem_w15.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=coco_stuff
DATA_SUBDIR=coco_stuff_10k
BACKBONE=hrt_base_win15
MODEL_NAME=hrt_base_ocr_v3
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.2
MAX_ITERS=60000
BATCH=16
TEST_INTERVAL=10000
PRETRAINED=hrt_base.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=latest
TEST_SPLIT=val
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem_w15}"
EXTRA_TRAIN_ARGS=(--nbb_mult 10)

run_experiment "$@"
