#!/usr/bin/env bash
# Distributed evaluation: bash tools/dist_test.sh <config> <checkpoint> <num processes> [test.py options]
source "$(dirname "${BASH_SOURCE[0]}")/launch_common.sh"
require_args $# 3 "<config> <checkpoint> <num processes> [tools/test.py options]"
torchrun_exec "$3" tools/test.py "$1" "$2" --launcher pytorch "${@:4}"
