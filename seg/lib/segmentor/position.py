"""Where training stands in the train loader, so that a resumed run continues exactly.

A checkpoint is written mid-epoch (every `solver.test_interval` iterations). To continue as
an uninterrupted run would, a resume restores the RNG of the epoch's start, rebuilds the
loader's iterator (same shuffle, same worker seeds), replays the batches already taken and
then restores the RNG of the save. Replaying costs data loading time, once, at resume.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from torch.utils.data import DataLoader

from hrformer_common.rng import gather_rng_states, set_rng_state
from ..utils import distributed


@dataclass
class LoaderPosition:
    epoch: int = 0
    batches: int = 0  # batches of this epoch already trained on
    epoch_rng: list[dict] = field(default_factory=list)  # per rank, before the iterator
    resume_rng: list[dict] = field(default_factory=list)  # per rank, at the save (resume only)

    def state_dict(self, rng: list[dict]) -> dict:
        return {"epoch": self.epoch, "batches": self.batches, "epoch_rng": self.epoch_rng,
                "rng": rng}

    @classmethod
    def from_state_dict(cls, state: dict) -> "LoaderPosition":
        return cls(state["epoch"], state["batches"], state["epoch_rng"], state["rng"])

    def epoch_batches(self, loader: DataLoader) -> Iterator:
        """The rest of the current epoch's batches (collective: call on all ranks)."""
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(self.epoch)
        rank = distributed.rank()
        if self.resume_rng:
            set_rng_state(self.epoch_rng[rank])
        else:
            self.epoch_rng = gather_rng_states()
        batches = iter(loader)
        for _ in range(self.batches):
            next(batches)
        if self.resume_rng:
            set_rng_state(self.resume_rng[rank])
            self.resume_rng = []
        return batches

    def next_epoch(self) -> None:
        self.epoch, self.batches = self.epoch + 1, 0
