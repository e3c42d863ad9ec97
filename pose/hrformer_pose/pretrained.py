"""Initialise the backbone from an ImageNet (cls) or pose checkpoint, as the original did."""
from __future__ import annotations

from collections import Counter

from mmengine.logging import print_log
from torch import nn

from hrformer_common.checkpoint import LoadReport, backbone_state_dict, load_checkpoint, load_weights
from .mmpose_layout import from_mmpose_layout

# Modules of the ImageNet model that the pose backbone does not build: the classification
# head, and the stage-4 fusion branches (the pose backbone outputs the 1/4 branch only).
_UNUSED_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.",
                    "stage4.")


def _group(keys: list[str]) -> str:
    """Keys grouped by module (first four name parts), e.g. `stage4.1.fuse_layers.1.* (46)`."""
    groups = Counter(".".join(k.split(".")[:4]) for k in keys)
    return ", ".join(f"{g}.* ({n})" if n > 1 or g not in keys else g
                     for g, n in sorted(groups.items())) or "none"


def load_pretrained_backbone(model: nn.Module, path: str) -> LoadReport:
    """Load matching backbone weights non-strictly and log exactly what was left out.

    Keys of the ImageNet classification head and the stage-4 fusion branches that the pose
    backbone does not build are skipped; relative position tables are resized when the window
    sizes differ. A shape mismatch is an error naming the file and the keys.
    """
    # mmpose 1.x HRFormer names are read too
    state = from_mmpose_layout(backbone_state_dict(load_checkpoint(path), path))
    report = load_weights(model, state, path, strict=False, skip_prefixes=_UNUSED_PREFIXES)
    print_log(f"HRT: initialised from {path}: {len(report.loaded)} tensors loaded; "
              f"skipped {len(report.skipped)} (not in the pose backbone): "
              f"{_group(report.skipped)}; missing {len(report.missing)} (keep their init): "
              f"{_group(report.missing)}; unexpected {len(report.unexpected)}: "
              f"{_group(report.unexpected)}", logger="current")
    return report
