"""Atomic checkpoint files in openseg's layout (`config_dict` + `state_dict`), with the
optimiser, LR position and AMP scaler added so that a resumed run continues exactly."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.checkpoint import CheckpointError, load_state_dict_strict, strip_wrapper_prefix

log = logging.getLogger(__name__)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


def save_atomic(obj: Any, path: str | Path) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves a torn file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def checkpoint_path(checkpoints_dir: str | Path, name: str, tag: str) -> Path:
    """`<dir>/<name>_<tag>.pth`, tag = latest | max_performance."""
    return Path(checkpoints_dir) / f"{name}_{tag}.pth"


def make_checkpoint(model: nn.Module, config: dict, optimizer: torch.optim.Optimizer | None,
                    scaler: torch.amp.GradScaler | None) -> dict:
    ckpt = {"config_dict": config, "state_dict": unwrap(model).state_dict()}
    if optimizer is not None:
        ckpt["optimizer"] = optimizer.state_dict()
    if scaler is not None and scaler.is_enabled():
        ckpt["scaler"] = scaler.state_dict()
    return ckpt


def read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a dict, got {type(ckpt).__name__}")
    return ckpt


def load_weights(model: nn.Module, ckpt: dict, source: str, strict: bool = True) -> None:
    """openseg rules: `state_dict`, `model` or a raw dict of tensors; `module.` stripped;
    strict by default (`--resume_strict n` only warns)."""
    state = ckpt.get("state_dict", ckpt.get("model", ckpt))
    state = strip_wrapper_prefix(state)
    model = unwrap(model)
    if strict:
        load_state_dict_strict(model, state, source)
        return
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        log.warning("%s: missing keys %s, unexpected keys %s", source, result.missing_keys,
                    result.unexpected_keys)
