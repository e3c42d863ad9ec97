"""Loading weights: openseg checkpoints (strict) and ImageNet initialisation (non-strict,
logged). Reading, layouts and the key report are the shared `backbones/hrformer_checkpoint.py`."""
from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from hrformer_common.checkpoint import (CheckpointError, LoadReport, backbone_state_dict,
                                            load_checkpoint, load_weights, state_dict_of)

log = logging.getLogger(__name__)

__all__ = ["CheckpointError", "IMAGENET_HEAD_PREFIXES", "load_imagenet_backbone",
           "load_segmentor_checkpoint"]

# Keys of the ImageNet classification head; a seg backbone has no use for them.
IMAGENET_HEAD_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")


def load_segmentor_checkpoint(model: nn.Module, path: str | Path) -> LoadReport:
    """Load an openseg checkpoint (`{"state_dict": ...}`, keys maybe prefixed by `module.`)
    strictly into a segmentor."""
    return load_weights(model, state_dict_of(load_checkpoint(path), str(path)), str(path))


def load_imagenet_backbone(backbone: nn.Module, path: str | Path) -> LoadReport:
    """Initialise a backbone from an ImageNet checkpoint (`["model"]`), non-strictly.

    Keys the backbone lacks (the classification head) are skipped, relative position tables
    are resized for larger windows, and every skipped or missing key is logged. A shape
    mismatch that resizing cannot fix (e.g. a small checkpoint into a base backbone) raises.
    """
    state = backbone_state_dict(load_checkpoint(path), str(path))
    report = load_weights(backbone, state, f"ImageNet checkpoint {path}", strict=False,
                          skip_prefixes=IMAGENET_HEAD_PREFIXES)
    log.info("ImageNet init: %s\n  skipped checkpoint keys (%d): %s", report.summary(),
             len(report.skipped), ", ".join(report.skipped))
    if report.unexpected:
        log.warning("ImageNet init from %s: %d keys outside the classification head not used: "
                    "%s", path, len(report.unexpected), ", ".join(report.unexpected))
    return report
