"""Checkpoints in the original's dict layout, written atomically, loaded safely.

Layout: {"model", "optimizer", "lr_scheduler", "max_accuracy", "epoch", "config"} as the
original wrote them (model keys without a `module.` prefix, config = the yacs CfgNode), plus
"scaler" (GradScaler state) and "rng" (one RNG state per process) for exact resumption, and
"class_names" (a list of str, class index order; folder layout only) for inference. Extra
keys are ignored by the original's loader, so files move both ways; files without
"class_names" (released, zip layout) load as before. Reading and atomic writing are the
shared `hrformer_common/checkpoint.py`.

`load_pretrained` initialises fine-tuning (`--pretrained`): every tensor that fits, the
classifier of another class count left initialised.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hrformer_common.checkpoint import (LoadReport, load_checkpoint, load_fitting_weights,
                                       save_atomic, state_dict_of)
from hrformer_common.rng import set_rng_state

LATEST = "latest.pth"


@dataclass
class TrainingState:
    """What a checkpoint saves and a resume restores, besides the counters."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    lr_scheduler: Any  # timm scheduler (state_dict / load_state_dict)
    scaler: torch.amp.GradScaler
    config: Any  # the yacs CfgNode, pickled as the original did
    class_names: list[str] | None = None  # the data's, saved for inference


def save_checkpoint(output: Path, run: TrainingState, epoch: int, max_accuracy: float,
                    rng: list[dict], periodic: bool, logger: logging.Logger) -> Path:
    """Write `latest.pth` and, when `periodic`, `ckpt_epoch_<epoch>.pth` (rank 0 only)."""
    state = {"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
             "lr_scheduler": run.lr_scheduler.state_dict(), "max_accuracy": max_accuracy,
             "epoch": epoch, "config": run.config, "scaler": run.scaler.state_dict(),
             "rng": rng}
    if run.class_names is not None:
        state["class_names"] = list(run.class_names)
    latest = output / LATEST
    if periodic:
        target = output / f"ckpt_epoch_{epoch}.pth"
        save_atomic(state, target)
        link = latest.with_name(f".{LATEST}.link-{os.getpid()}")
        link.unlink(missing_ok=True)
        try:  # latest is the same bytes: link instead of writing them twice
            os.link(target, link)
            os.replace(link, latest)
        except OSError:
            link.unlink(missing_ok=True)
            save_atomic(state, latest)
        logger.info(f"saved {target} (and {LATEST})")
    else:
        save_atomic(state, latest)
        logger.info(f"saved {latest}")
    return latest


def find_auto_resume(output: Path) -> Path | None:
    """`latest.pth`, else the newest `*.pth` (the original's rule), else None."""
    if (output / LATEST).is_file():
        return output / LATEST
    candidates = sorted(output.glob("*.pth"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def resume_training(checkpoint: dict, source: str, run: TrainingState, rank: int,
                    world_size: int, logger: logging.Logger) -> tuple[int, float]:
    """Restore optimizer, schedule, scaler and RNG; returns (start epoch, max accuracy).
    The model weights are loaded before, with `load_weights`."""
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
    if checkpoint.get("scaler"):
        run.scaler.load_state_dict(checkpoint["scaler"])
    rng = checkpoint.get("rng") or []
    if len(rng) == world_size:
        set_rng_state(rng[rank])
    else:
        logger.warning(f"{source}: no RNG state for {world_size} processes (found {len(rng)}); "
                       "continuing with fresh seeds")
    epoch = int(checkpoint["epoch"])
    logger.info(f"resumed from {source} (epoch {epoch})")
    return epoch + 1, float(checkpoint.get("max_accuracy", 0.0))


def load_pretrained(model: nn.Module, source: str, logger: logging.Logger) -> LoadReport:
    """Initialise `model` for fine-tuning from `source` (a file or an http(s) URL; a released
    ImageNet checkpoint or one of this project), weights-only: every tensor whose name and
    shape fit is loaded. Only the classifier may stay initialised (another class count);
    anything else that does not fit is an error (another variant). One log line names what
    was re-initialised."""
    checkpoint = load_checkpoint(source)
    classifier = next(name for name, module in model.named_modules()
                      if module is model.get_classifier())
    report = load_fitting_weights(model, state_dict_of(checkpoint, source), source,
                                  reinitialisable=[f"{classifier}."])
    logger.info(f"fine-tuning from {report.fine_tune_summary()}")
    return report
