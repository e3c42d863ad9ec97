#!/usr/bin/env bash
# ade20k: hrt_base_ocr_v2 on hrt_base (original single/multi-scale mIoU: 46.3 / 47.6).
# Usage: run_hrt_base_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: no --train_batch_size, so the JSON's global batch of 16 is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=ade20k
DATA_SUBDIR=ade20k
BACKBONE=hrt_base
MODEL_NAME=hrt_base_ocr_v2
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.2
MAX_ITERS=150000
BATCH=
TEST_INTERVAL=10000
PRETRAINED=hrt_base.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=latest
TEST_SPLIT=val
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem}"
EXTRA_TRAIN_ARGS=()

run_experiment "$@"
