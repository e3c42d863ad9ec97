"""Atomic checkpoint files in openseg's layout (`config_dict` + `state_dict`), with the
optimiser, LR position and AMP scaler added so that a resumed run continues exactly."""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from hrformer_common.checkpoint import load_weights, state_dict_of

log = logging.getLogger(__name__)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


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


def restore_weights(model: nn.Module, ckpt: dict, source: str, strict: bool = True) -> None:
    """openseg rules: `state_dict`, `model` or a raw dict of tensors; `module.` stripped;
    strict by default (`--resume_strict n` only warns)."""
    report = load_weights(unwrap(model), state_dict_of(ckpt, source), source, strict=strict)
    if report.missing or report.unexpected:
        log.warning("%s", report.summary())
