# Shared body of the per-experiment scripts (sourced, not run). The caller runs
# `use_dataset NAME` (the settings its dataset's scripts share, table below), sets BACKBONE,
# MODEL_NAME and whatever differs from the table (DROP_PATH, VAL_CONFIG, VAL_CKPT), then calls
# `run_experiment "$@"`. Derived as in the original: the ImageNet weights are the backbone's
# (hrt_base_win13/15 start from hrt_base.pth); the checkpoint name (CHECKPOINTS_NAME, when not
# set) is MODEL_NAME_BACKBONE_TAG, TAG being the script name after run_MODEL_NAME_.
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

# The original's per-dataset settings. BATCH is the global batch (empty: the JSON's value).
# (Its coco_stuff and pascal_context scripts also passed --nbb_mult 10, which changes nothing
# in its HRFormer runs: main.py accepts the flag, these scripts leave it out.)
use_dataset() {
  DATASET="$1" DROP_PATH=0.2 VAL_CONFIG=H_48_D_4_TEST_MS3x.json VAL_CKPT=latest
  LOSS_TYPE=fs_auxohemce_loss TEST_SPLIT=val
  case "$1" in
    cityscapes) DATA_SUBDIR=cityscapes MAX_ITERS=80000 BATCH=8 TEST_INTERVAL=1000
      TEST_SPLIT=test DROP_PATH=0.4 ;;
    ade20k) DATA_SUBDIR=ade20k MAX_ITERS=150000 BATCH= TEST_INTERVAL=10000 ;;
    coco_stuff) DATA_SUBDIR=coco_stuff_10k MAX_ITERS=60000 BATCH=16 TEST_INTERVAL=10000 ;;
    pascal_context) DATA_SUBDIR=pascal_context MAX_ITERS=60000 BATCH=16 TEST_INTERVAL=10000
      LOSS_TYPE=fs_auxce_loss ;;
    *) echo "use_dataset: unknown dataset '$1'" >&2; exit 2 ;;
  esac
}

run_experiment() {
  local mode="${1:-}" sub="${2:-ms}" script
  script="$(basename "$0" .sh)"
  [[ "$script" == "run_${MODEL_NAME}_"* ]] || { echo "$0: name must start with run_${MODEL_NAME}_" >&2; exit 2; }
  CHECKPOINTS_NAME="${CHECKPOINTS_NAME:-${MODEL_NAME}_${BACKBONE}_${script#"run_${MODEL_NAME}_"}}"
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
               ${BATCH:+--train_batch_size "$BATCH"})
  case "$mode" in
    train)
      launch "${train[@]}" "${common[@]}" --pretrained "$PRETRAINED_ROOT/${BACKBONE%%_win*}.pth" ;;
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
