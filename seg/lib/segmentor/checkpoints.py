"""Checkpoint files of the segmentor.

- Training writes openseg's layout (`config_dict` + `state_dict`) atomically, with the
  optimiser, LR position and AMP scaler added so that a resumed run continues exactly.
- `restore_weights` / `load_segmentor_checkpoint` load such a file (or any openseg one)
  strictly; `load_imagenet_backbone` initialises a backbone from an ImageNet checkpoint,
  non-strictly and logged.
- `load_pretrained` (`--pretrained`) starts a training run from either: a segmentation
  checkpoint (any dataset's) initialises the whole segmentor, its classifiers re-initialised
  when their class count differs; any other checkpoint, the backbone.

Reading, layouts and the key report are the shared `hrformer_common.checkpoint`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from hrformer_common.checkpoint import (CheckpointError, LoadReport, backbone_state_dict,
                                        load_checkpoint, load_fitting_weights, load_weights,
                                        state_dict_of)

log = logging.getLogger(__name__)

__all__ = ["CheckpointError", "IMAGENET_HEAD_PREFIXES", "SEGMENTOR_KEY", "checkpoint_path",
           "load_imagenet_backbone", "load_pretrained", "load_segmentor_checkpoint",
           "make_checkpoint", "restore_weights", "unwrap"]

# Keys of the ImageNet classification head; a seg backbone has no use for them.
IMAGENET_HEAD_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")
# The OCR head's classifier: only a segmentation checkpoint (openseg's layout) has it.
SEGMENTOR_KEY = "cls_head.weight"


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


def restore_weights(model: nn.Module, ckpt: dict, source: str, strict: bool = True
                    ) -> LoadReport:
    """openseg rules: `state_dict`, `model` or a raw dict of tensors; `module.` stripped;
    strict by default (`--resume_strict n` only warns)."""
    report = load_weights(unwrap(model), state_dict_of(ckpt, source), source, strict=strict)
    if report.missing or report.unexpected:
        log.warning("%s", report.summary())
    return report


def load_segmentor_checkpoint(model: nn.Module, path: str | Path) -> LoadReport:
    """Load an openseg checkpoint file (`{"state_dict": ...}`, keys maybe prefixed by
    `module.`) strictly into a segmentor."""
    return restore_weights(model, load_checkpoint(path), str(path))


def load_imagenet_backbone(backbone: nn.Module, path: str | Path) -> LoadReport:
    """Initialise a backbone from an ImageNet checkpoint (`["model"]`), non-strictly.

    Keys the backbone lacks (the classification head) are skipped, relative position tables
    are resized for larger windows, and every skipped or missing key is logged. A shape
    mismatch that resizing cannot fix (e.g. a small checkpoint into a base backbone) raises.
    """
    return _init_backbone(backbone, load_checkpoint(path), str(path))


def _init_backbone(backbone: nn.Module, checkpoint: dict, path: str) -> LoadReport:
    state = backbone_state_dict(checkpoint, path)
    report = load_weights(backbone, state, f"ImageNet checkpoint {path}", strict=False,
                          skip_prefixes=IMAGENET_HEAD_PREFIXES)
    log.info("ImageNet init: %s\n  skipped checkpoint keys (%d): %s", report.summary(),
             len(report.skipped), ", ".join(report.skipped))
    if report.unexpected:
        log.warning("ImageNet init from %s: %d keys outside the classification head not used: "
                    "%s", path, len(report.unexpected), ", ".join(report.unexpected))
    return report


def load_pretrained(model: nn.Module, source: str) -> LoadReport:
    """`--pretrained` (a file or an http(s) URL), weights-only. A segmentation checkpoint
    (`SEGMENTOR_KEY` among its weights: a released openseg file or one of this project, of
    any dataset) initialises the whole segmentor: every tensor whose name and shape fit is
    loaded, and only the classifiers (`classifier_names`) may stay initialised, those of
    another class count; one log line names them. Any other checkpoint (an ImageNet
    classifier) initialises the backbone (`load_imagenet_backbone`)."""
    checkpoint = load_checkpoint(source)
    state = state_dict_of(checkpoint, source)
    if SEGMENTOR_KEY not in state:
        return _init_backbone(model.backbone, checkpoint, source)
    report = load_fitting_weights(model, state, f"segmentation checkpoint {source}",
                                  reinitialisable=[f"{name}." for name in
                                                   model.classifier_names()])
    log.info("fine-tuning from %s", report.fine_tune_summary())
    return report
