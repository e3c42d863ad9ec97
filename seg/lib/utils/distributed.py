"""Process-group helpers; torchrun sets RANK/WORLD_SIZE/LOCAL_RANK. The queries and
collectives are the vendored hrformer_common/dist.py's."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist

from hrformer_common import dist as hrformer_dist
from hrformer_common.dist import (  # noqa: F401  (this module's interface)
    all_reduce_sum, barrier, local_rank, rank, world_size)
from hrformer_common.dist import in_process_group as is_distributed


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device_type: str) -> None:
    """Join the process group torchrun describes (NCCL on GPUs, gloo on CPU); collectives
    time out after HRFORMER_DIST_TIMEOUT seconds (lib/models/backbones/hrformer_dist.py)."""
    if dist.is_initialized() or not launched_by_torchrun():
        return
    if device_type == "cuda":
        torch.cuda.set_device(local_rank())
    hrformer_dist.init_process_group(hrformer_dist.backend_for(device_type))


def is_main() -> bool:
    return rank() == 0


def cleanup() -> None:
    if is_distributed():
        dist.destroy_process_group()
