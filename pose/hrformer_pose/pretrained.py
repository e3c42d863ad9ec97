"""Initialise the backbone from an ImageNet (cls) or pose checkpoint, as the original did."""
from __future__ import annotations

from collections import OrderedDict

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch import Tensor, nn

from .hrformer import resize_relative_position_tables

# The cls layout pickles its yacs config under "config". The safe unpickler cannot rebuild a
# dict subclass, so while loading, that global is read as a plain OrderedDict (data only).
_CFGNODE_AS_ORDERED_DICT = (OrderedDict, "yacs.config.CfgNode")
_BACKBONE_PREFIX = "backbone."


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


def load_pretrained_backbone(model: nn.Module, path: str) -> None:
    """Load matching backbone weights non-strictly and log what was left out.

    Relative position tables are resized when the window sizes differ.
    """
    with torch.serialization.safe_globals([_CFGNODE_AS_ORDERED_DICT]):
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location="cpu")
    state = resize_relative_position_tables(backbone_state_dict(checkpoint, path), model)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("relative_position_index")]
    unexpected = result.unexpected_keys
    print_log(f"HRT: loaded {path}; {len(missing)} missing keys {missing[:5]}; "
              f"{len(unexpected)} unexpected keys {unexpected[:5]} (an ImageNet checkpoint's "
              "classification head is expected here)", logger="current")
