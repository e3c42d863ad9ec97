# Shared body of the per-experiment scripts (sourced, not run). The caller sets DATASET,
# BACKBONE, MODEL_NAME, LOSS_TYPE, DROP_PATH, MAX_ITERS, BATCH (global; empty = JSON value),
# TEST_INTERVAL, PRETRAINED (file name), VAL_CONFIG, VAL_CKPT (latest|max_performance),
# TEST_SPLIT, CHECKPOINTS_NAME and EXTRA_TRAIN_ARGS, then calls `run_experiment "$@"`.
#
# Usage: run_*.sh train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]
# Settings come from the environment, else from seg/config.profile, else the defaults below:
#   PYTHON, DATA_ROOT (datasets), PRETRAINED_ROOT (ImageNet HRFormer weights), NGPUS,
#   CHECKPOINTS_ROOT; DRY_RUN=1 prints the commands instead of running them.

SEG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$SEG_DIR"
if [[ -f "$SEG_DIR/config.profile" ]]; then
  # shellcheck disable=SC1091
  source "$SEG_DIR/config.profile"
fi
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$SEG_DIR/../.venv/bin/python" ]]; then PYTHON="$SEG_DIR/../.venv/bin/python"; else PYTHON=python; fi
fi
DATA_ROOT="${DATA_ROOT:-$SEG_DIR/../data}"
PRETRAINED_ROOT="${PRETRAINED_ROOT:-$SEG_DIR/hrt_pretrained_models}"
CHECKPOINTS_ROOT="${CHECKPOINTS_ROOT:-$SEG_DIR}"
if [[ -z "${NGPUS:-}" ]]; then
  if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    NGPUS=$(awk -F, '{print NF}' <<< "$CUDA_VISIBLE_DEVICES")
  else
    NGPUS=8
  fi
fi

run() {
  if [[ -n "${DRY_RUN:-}" ]]; then printf '%q ' "$@"; echo; else "$@"; fi
}

launch() {  # one process per GPU
  run "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node="$NGPUS" main.py "$@"
}

run_experiment() {
  local mode="${1:-}" sub="${2:-ms}"
  local data_dir="$DATA_ROOT/$DATA_SUBDIR"
  local ckpt_dir="$CHECKPOINTS_ROOT/checkpoints/$DATASET"
  local common=(--model_name "$MODEL_NAME" --backbone "$BACKBONE" --data_dir "$data_dir"
                --checkpoints_name "$CHECKPOINTS_NAME" --drop_path_rate "$DROP_PATH"
                --checkpoints_root "$CHECKPOINTS_ROOT" --distributed)
  local train=(--configs "configs/$DATASET/H_48_D_4.json" --phase train
               --loss_type "$LOSS_TYPE" --max_iters "$MAX_ITERS" --test_interval "$TEST_INTERVAL"
               --optim_method adamw --base_lr 0.0001 --lr_policy warm_lambda_poly
               --group_method decay --drop_last y --log_to_file y
               --log_file "$CHECKPOINTS_ROOT/log/$DATASET/$CHECKPOINTS_NAME.log"
               ${BATCH:+--train_batch_size "$BATCH"} "${EXTRA_TRAIN_ARGS[@]}")
  case "$mode" in
    train)
      launch "${train[@]}" "${common[@]}" --pretrained "$PRETRAINED_ROOT/$PRETRAINED" ;;
    resume)
      launch "${train[@]}" "${common[@]}" --resume_continue y \
        --resume "$ckpt_dir/${CHECKPOINTS_NAME}_latest.pth" ;;
    val|val3x|val6x)
      local config="$VAL_CONFIG" tag="ms"
      [[ "$mode" == val && "$sub" == ss ]] && { config=H_48_D_4.json; tag=ss; }
      [[ "$mode" == val3x ]] && { config=H_48_D_4_TEST_MS3x.json; tag=ms3x; }
      [[ "$mode" == val6x ]] && { config=H_48_D_4_TEST_MS6x.json; tag=ms6x; }
      [[ -f "configs/$DATASET/$config" ]] || { echo "no configs/$DATASET/$config for mode $mode" >&2; exit 2; }
      local out="$CHECKPOINTS_ROOT/output/$DATASET/${CHECKPOINTS_NAME}_val_$tag"
      launch --configs "configs/$DATASET/$config" --phase test --test_split val --out_dir "$out" \
        --resume "$ckpt_dir/${CHECKPOINTS_NAME}_${VAL_CKPT}.pth" "${common[@]}"
      run "$PYTHON" -m lib.metrics.evaluate --configs "configs/$DATASET/$config" \
        --pred_dir "$out/label" --gt_dir "$data_dir/val/label" ;;
    test)
      local config="$VAL_CONFIG" tag="ms"
      [[ "$sub" == ss ]] && { config=H_48_D_4.json; tag=ss; }
      launch --configs "configs/$DATASET/$config" --phase test --test_split "$TEST_SPLIT" \
        --out_dir "$CHECKPOINTS_ROOT/output/$DATASET/${CHECKPOINTS_NAME}_test_$tag" \
        --resume "$ckpt_dir/${CHECKPOINTS_NAME}_${VAL_CKPT}.pth" "${common[@]}" ;;
    *)
      echo "usage: $0 train | resume | val [ss|ms] | val3x | val6x | test [ss|ms]" >&2
      exit 2 ;;
  esac
}
