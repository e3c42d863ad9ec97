"""The random state of a process (torch, CUDA, numpy, python), as weights-only-loadable data.

Saved in checkpoints so that a resumed run draws the same numbers as an uninterrupted one.
"""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.distributed as dist

from .dist import in_process_group, world_size


def rng_state() -> dict:
    """This process's generators; numpy's key array is stored as a tensor (no numpy pickle)."""
    mt, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": (mt, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
            "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    mt, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((mt, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def gather_rng_states() -> list[dict]:
    """Every process's RNG state, in rank order (collective: call on all ranks)."""
    if not in_process_group() or world_size() == 1:
        return [rng_state()]
    states: list = [None] * world_size()
    dist.all_gather_object(states, rng_state())
    return states
