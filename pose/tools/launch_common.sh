# Shared by dist_train.sh, dist_test.sh and slurm_train.sh (sourced, not run): the usage check,
# the pose/ working folder, PYTHON (default python) and the torchrun call.
set -euo pipefail

require_args() {  # <given> <needed> <usage after the script name>
  if [ "$1" -lt "$2" ]; then
    echo "usage: $0 $3" >&2; exit 2
  fi
}

torchrun_exec() {  # <num processes> <tool and its arguments>; multi-node from NNODES etc.
  local nproc=$1; shift
  exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$nproc" "$@"
}

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
