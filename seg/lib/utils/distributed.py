"""Process-group helpers; torchrun sets RANK/WORLD_SIZE/LOCAL_RANK."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist

from ..models.backbones import hrformer_dist


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device_type: str) -> None:
    """Join the process group torchrun describes (NCCL on GPUs, gloo on CPU); collectives
    time out after HRFORMER_DIST_TIMEOUT seconds (lib/models/backbones/hrformer_dist.py)."""
    if dist.is_initialized() or not launched_by_torchrun():
        return
    if device_type == "cuda":
        torch.cuda.set_device(local_rank())
    hrformer_dist.init_process_group("nccl" if device_type == "cuda" else "gloo")


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def is_main() -> bool:
    return rank() == 0


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over processes in place (a no-op in one process)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    if is_distributed():
        dist.destroy_process_group()
