"""Checkpoints in the original's dict layout, written atomically, loaded safely.

Layout: {"model", "optimizer", "lr_scheduler", "max_accuracy", "epoch", "config"} as the
original wrote them (model keys without a `module.` prefix, config = the yacs CfgNode), plus
"scaler" (GradScaler state) and "rng" (one RNG state per process) for exact resumption. Extra
keys are ignored by the original's loader, so files move both ways.
"""
from __future__ import annotations

import logging
import os
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from models.hrformer import resize_relative_position_tables

from .distributed import is_distributed

LATEST = "latest.pth"
# The released files pickle a yacs CfgNode. The weights-only unpickler cannot rebuild a dict
# subclass, so while loading, that class is read as a plain OrderedDict (data only).
CFGNODE_AS_ORDERED_DICT = (OrderedDict, "yacs.config.CfgNode")


def safe_load(path: str | Path) -> dict:
    """torch.load with weights_only=True that also accepts the original's pickled config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals([CFGNODE_AS_ORDERED_DICT]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the unpickler raises several types; name the file in all cases
        raise RuntimeError(f"cannot load checkpoint {path} safely (weights-only): {err}") from err
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path}: expected a dict checkpoint, got {type(checkpoint).__name__}")
    return checkpoint


def model_state(checkpoint: dict, source: str) -> dict:
    """The model weights of a checkpoint in the original layout (or a bare state dict)."""
    state = checkpoint.get("model", checkpoint)
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise KeyError(f"{source}: expected a 'model' entry holding tensors; keys are "
                       f"{sorted(checkpoint)[:10]}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_model_weights(model: nn.Module, state: dict, source: str) -> None:
    """Load strictly except for `relative_position_index` buffers (rebuilt by the model);
    relative-position tables of another window size are resized."""
    state = resize_relative_position_tables(state, model)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("relative_position_index")]
    if missing or result.unexpected_keys:
        raise KeyError(f"{source} does not fit the model: {len(missing)} missing keys "
                       f"{missing[:5]}, {len(result.unexpected_keys)} unexpected keys "
                       f"{result.unexpected_keys[:5]}")


def rng_state() -> dict:
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
    if not is_distributed():
        return [rng_state()]
    states: list = [None] * dist.get_world_size()
    dist.all_gather_object(states, rng_state())
    return states


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # readers see the old file or the complete new one, never a part


def save_checkpoint(output: Path, epoch: int, model: nn.Module, optimizer, lr_scheduler,
                    scaler, max_accuracy: float, config, rng: list[dict],
                    periodic: bool, logger: logging.Logger) -> Path:
    """Write `latest.pth` and, when `periodic`, `ckpt_epoch_<epoch>.pth` (rank 0 only)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "lr_scheduler": lr_scheduler.state_dict(), "max_accuracy": max_accuracy,
             "epoch": epoch, "config": config, "scaler": scaler.state_dict(), "rng": rng}
    latest = output / LATEST
    if periodic:
        target = output / f"ckpt_epoch_{epoch}.pth"
        _atomic_save(state, target)
        tmp = latest.with_name(LATEST + ".tmp")
        tmp.unlink(missing_ok=True)
        try:  # latest is the same bytes: link instead of writing them twice
            os.link(target, tmp)
            os.replace(tmp, latest)
        except OSError:
            _atomic_save(state, latest)
        logger.info(f"saved {target} (and {LATEST})")
    else:
        _atomic_save(state, latest)
        logger.info(f"saved {latest}")
    return latest


def find_auto_resume(output: Path) -> Path | None:
    """`latest.pth`, else the newest `*.pth` (the original's rule), else None."""
    if (output / LATEST).is_file():
        return output / LATEST
    candidates = sorted(output.glob("*.pth"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def resume_training(checkpoint: dict, source: str, optimizer, lr_scheduler, scaler, rank: int,
                    world_size: int, logger: logging.Logger) -> tuple[int, float]:
    """Restore optimizer, schedule, scaler and RNG; returns (start epoch, max accuracy)."""
    optimizer.load_state_dict(checkpoint["optimizer"])
    lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
    if checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])
    rng = checkpoint.get("rng") or []
    if len(rng) == world_size:
        set_rng_state(rng[rank])
    else:
        logger.warning(f"{source}: no RNG state for {world_size} processes (found {len(rng)}); "
                       "continuing with fresh seeds")
    epoch = int(checkpoint["epoch"])
    logger.info(f"resumed from {source} (epoch {epoch})")
    return epoch + 1, float(checkpoint.get("max_accuracy", 0.0))
