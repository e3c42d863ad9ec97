"""Samplers that split a dataset over processes."""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class ShardSampler(Sampler[int]):
    """Indices rank, rank + W, ... in order: disjoint shards, no padding, so a metric reduced
    over processes counts every sample exactly once."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class ShuffledShardSampler(ShardSampler):
    """The zip + part-cache sampler: each rank keeps its fixed shard (the samples it cached)
    and shuffles it every epoch.

    The original reshuffled with the global RNG; seeding by (seed, epoch) makes a resumed run
    see the same order as an uninterrupted one.
    """

    def __init__(self, length: int, rank: int = 0, world_size: int = 1, seed: int = 0) -> None:
        super().__init__(length, rank, world_size)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.indices), generator=generator).tolist()
        return iter([self.indices[i] for i in order])
