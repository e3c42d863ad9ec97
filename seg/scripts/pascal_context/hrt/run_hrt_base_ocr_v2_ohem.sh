#!/usr/bin/env bash
# pascal_context: hrt_base_ocr_v2 on hrt_base (original single/multi-scale mIoU: 56.3 / 57.1).
# Usage: run_hrt_base_ocr_v2_ohem.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# As the original: plain cross-entropy (fs_auxce_loss) although the file name says ohem.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../common.sh"

DATASET=pascal_context
DATA_SUBDIR=pascal_context
BACKBONE=hrt_base
MODEL_NAME=hrt_base_ocr_v2
LOSS_TYPE=fs_auxce_loss
DROP_PATH=0.2
MAX_ITERS=60000
BATCH=16
TEST_INTERVAL=10000
PRETRAINED=hrt_base.pth
VAL_CONFIG=H_48_D_4_TEST_MS3x.json
VAL_CKPT=latest
TEST_SPLIT=val
CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_ohem}"
EXTRA_TRAIN_ARGS=(--nbb_mult 10)

run_experiment "$@"
