#!/usr/bin/env bash
# ade20k: hrt_base_ocr_v3 on hrt_base_win13 (original single/multi-scale mIoU: not in the README).
# Usage: run_hrt_base_ocr_v3_ohem_w13.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: no --train_batch_size, so the JSON's global batch of 16 is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=ade20k
DATA_SUBDIR=ade20k
BACKBONE=hrt_base_win13
MODEL_NAME=hrt_base_ocr_v3
LOSS_TYPE=fs_auxohemce_loss
DROP_PATH=0.2
MAX_ITERS=150000
BATCH=
TEST_INTERVAL=10000
PRETRAINED=hrt_base.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=latest
TEST_SPLIT=val
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem_w13}"
EXTRA_TRAIN_ARGS=()

run_experiment "$@"
