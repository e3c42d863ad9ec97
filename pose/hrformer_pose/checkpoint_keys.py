"""Checkpoint key names: the original's (mmpose 0.x) <-> mmpose 1.x's.

The original stores `{"meta", "state_dict": {"backbone.*", "keypoint_head.final_layer.*"}}`;
mmpose 1.x names the head `head`. Backbone keys are identical. (mmpose's own load hook also
renames `keypoint_head` when a checkpoint has no version metadata, so `init_model` loads
official files directly; `convert_official_state_dict` and `to_official_state_dict` make the
mapping explicit and reversible.) `pose_state_dict` reads the weights of any pose layout
(ours, the original's, mmpose 1.x HRFormer's) under our names.
"""
from __future__ import annotations

from typing import Mapping

from torch import Tensor

from hrformer_common.checkpoint import CheckpointError, state_dict_of

from .mmpose_layout import from_mmpose_layout, is_mmpose_layout

OFFICIAL_HEAD = "keypoint_head."
HEAD = "head."
# HRFormer's head is a single 1x1 conv; other TopDownSimpleHead layouts map differently.
_HEAD_PARAMS = ("final_layer.weight", "final_layer.bias")


def _rename_head(state_dict: dict[str, Tensor], src: str, dst: str) -> dict[str, Tensor]:
    out = {}
    for key, value in state_dict.items():
        if key.startswith(src):
            rest = key[len(src):]
            if rest not in _HEAD_PARAMS:
                raise KeyError(f"head key {key!r}: expected {src}{{{', '.join(_HEAD_PARAMS)}}} "
                               "(a head with deconv or extra conv layers is not supported)")
            key = dst + rest
        elif not key.startswith("backbone."):
            raise KeyError(f"unexpected key {key!r}: expected 'backbone.*' or '{src}*'")
        out[key] = value
    return out


def convert_official_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Original pose state dict (`keypoint_head.*`) -> mmpose 1.x names (`head.*`)."""
    return _rename_head(state_dict, OFFICIAL_HEAD, HEAD)


def to_official_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """mmpose 1.x state dict (`head.*`) -> the original's names (`keypoint_head.*`)."""
    return _rename_head(state_dict, HEAD, OFFICIAL_HEAD)


def pose_state_dict(checkpoint: Mapping, source: str) -> dict[str, Tensor]:
    """The weights of a top-down pose checkpoint (ours, the original's mmpose 0.x layout or
    mmpose 1.x HRFormer's) under our names. A file without a keypoint head (a classification
    or segmentation checkpoint) is a `CheckpointError` naming `source`."""
    state = state_dict_of(checkpoint, source)
    if is_mmpose_layout(state):
        state = from_mmpose_layout(state)
    if any(k.startswith(OFFICIAL_HEAD) for k in state):
        try:
            state = convert_official_state_dict(state)
        except KeyError as err:
            raise CheckpointError(f"{source}: {err.args[0]}") from err
    if not any(k.startswith(HEAD) for k in state):
        found = sorted({k.split(".")[0] for k in state})
        raise CheckpointError(
            f"{source}: no keypoint head ('{OFFICIAL_HEAD}*' or '{HEAD}*' weights), so it "
            f"is not a top-down pose checkpoint (its weights start with {found[:8]}; an "
            "ImageNet or segmentation checkpoint initialises a backbone for training instead)")
    return state
