"""Initialise the backbone from an ImageNet (cls) or pose checkpoint, as the original did."""
from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch import Tensor, nn

from .hrformer import resize_relative_position_tables
from .mmpose_layout import from_mmpose_layout

# The cls layout pickles its yacs config under "config". The safe unpickler cannot rebuild a
# dict subclass, so while loading, that global is read as a plain OrderedDict (data only).
_CFGNODE_AS_ORDERED_DICT = (OrderedDict, "yacs.config.CfgNode")
_BACKBONE_PREFIX = "backbone."
# Top-level modules of the ImageNet model that belong to its classification head.
_CLS_HEAD_MODULES = ("incre_modules", "downsamp_modules", "final_layer", "classifier")


def backbone_state_dict(checkpoint: dict, source: str) -> dict[str, Tensor]:
    """The backbone weights of a cls (`{"model": ...}`) or pose (`{"state_dict": ...}`) file."""
    if "state_dict" in checkpoint:
        state = checkpoint["state_dict"]
    elif "model" in checkpoint:
        state = checkpoint["model"]
    else:
        raise KeyError(f"{source}: expected a 'state_dict' (pose) or 'model' (ImageNet) entry, "
                       f"found {sorted(checkpoint)[:10]}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if any(k.startswith(_BACKBONE_PREFIX) for k in state):
        state = {k[len(_BACKBONE_PREFIX):]: v for k, v in state.items()
                 if k.startswith(_BACKBONE_PREFIX)}
    return state


@dataclass
class LoadReport:
    """What `load_pretrained_backbone` did with each key."""

    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # cls head / fusion the pose net lacks
    missing: list[str] = field(default_factory=list)  # model keys the checkpoint lacks
    unexpected: list[str] = field(default_factory=list)  # anything else not in the model


def _is_skippable(key: str) -> bool:
    return key.split(".")[0] in _CLS_HEAD_MODULES or key.startswith("stage4.")


def _group(keys: list[str]) -> str:
    """Keys grouped by module (first four name parts), e.g. `stage4.1.fuse_layers.1.* (46)`."""
    groups = Counter(".".join(k.split(".")[:4]) for k in keys)
    return ", ".join(f"{g}.* ({n})" if n > 1 or g not in keys else g
                     for g, n in sorted(groups.items())) or "none"


def load_pretrained_backbone(model: nn.Module, path: str) -> LoadReport:
    """Load matching backbone weights non-strictly and log exactly what was left out.

    Keys of the ImageNet classification head and the stage-4 fusion branches that the pose
    backbone does not build are skipped; relative position tables are resized when the window
    sizes differ. A shape mismatch is an error naming the key.
    """
    with torch.serialization.safe_globals([_CFGNODE_AS_ORDERED_DICT]):
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location="cpu")
    state = from_mmpose_layout(backbone_state_dict(checkpoint, path))  # mmpose 1.x names too
    state = resize_relative_position_tables(state, model)
    own = model.state_dict()
    report = LoadReport()
    for key, value in state.items():
        if key in own:
            if own[key].shape != value.shape:
                raise ValueError(f"{path}: {key} has shape {tuple(value.shape)}, the model "
                                 f"expects {tuple(own[key].shape)} (checkpoint of another "
                                 "architecture?)")
            report.loaded.append(key)
        elif _is_skippable(key):
            report.skipped.append(key)
        else:
            report.unexpected.append(key)
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    report.missing = [k for k in own if k not in state
                      and not k.endswith(("relative_position_index", "num_batches_tracked"))]
    print_log(f"HRT: initialised from {path}: {len(report.loaded)} tensors loaded; "
              f"skipped {len(report.skipped)} (not in the pose backbone): "
              f"{_group(report.skipped)}; missing {len(report.missing)} (keep their init): "
              f"{_group(report.missing)}; unexpected {len(report.unexpected)}: "
              f"{_group(report.unexpected)}", logger="current")
    return report
