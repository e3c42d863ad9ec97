# Shared by run_dist.sh and run_eval.sh (sourced from the cls folder).

PYTHON=${PYTHON:-../.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

# CFG from MODEL: configs/<MODEL>.yaml, or MODEL itself when it is a yaml file.
resolve_config() {
  if [ -f "$1" ]; then
    CFG=$1
  elif [ -f "configs/$1.yaml" ]; then
    CFG=configs/$1.yaml
  else
    echo "$(basename "$0"): no config configs/$1.yaml (expected MODEL like hrt/hrt_small)" >&2
    exit 2
  fi
}

# NPROC from an optional leading number in "$@", else the GPU count, else 2 CPU processes.
# Sets NPROC_GIVEN=1 when the caller must shift it away, and TORCHRUN_ARGS.
pick_nproc() {
  NPROC_GIVEN=0
  if [ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    NPROC=$1 NPROC_GIVEN=1
  else
    NPROC=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
    [ "$NPROC" -gt 0 ] || NPROC=2
  fi
  TORCHRUN_ARGS=(--nproc_per_node "$NPROC" --nnodes "${NNODES:-1}"
                 --node_rank "${NODE_RANK:-0}" --master_addr "${MASTER_ADDR:-127.0.0.1}"
                 --master_port "${MASTER_PORT:-12345}")
}
