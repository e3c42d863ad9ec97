"""Process-group setup from torchrun's environment (single process without it); the
collectives and the stall report are the vendored hrformer_common/dist.py's."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hrformer_common import dist as hrformer_dist
from hrformer_common.dist import all_reduce_sum, barrier  # noqa: F401  (the loops' imports)


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """NCCL on GPUs, gloo on CPU; RANK / WORLD_SIZE / LOCAL_RANK come from torchrun.
    Collectives time out after HRFORMER_DIST_TIMEOUT seconds (models/hrformer_dist.py)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = hrformer_dist.local_rank()
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        hrformer_dist.init_process_group(hrformer_dist.backend_for(device.type),
                                         rank=rank, world_size=world_size)
    return DistInfo(rank, world_size, local_rank, device)
