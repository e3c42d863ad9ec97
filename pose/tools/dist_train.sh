#!/usr/bin/env bash
# Distributed training with torchrun: bash tools/dist_train.sh <config> <num processes> [train.py options]
# One process per GPU; on a machine without CUDA the processes run on the CPU with gloo.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR (and PORT) as for torchrun.
source "$(dirname "${BASH_SOURCE[0]}")/launch_common.sh"
require_args $# 2 "<config> <num processes> [tools/train.py options]"
torchrun_exec "$2" tools/train.py "$1" --launcher pytorch "${@:3}"
