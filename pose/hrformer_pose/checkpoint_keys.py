"""Checkpoint key names: the original's (mmpose 0.x) <-> mmpose 1.x's.

The original stores `{"meta", "state_dict": {"backbone.*", "keypoint_head.final_layer.*"}}`;
mmpose 1.x names the head `head`. Backbone keys are identical. (mmpose's own load hook also
renames `keypoint_head` when a checkpoint has no version metadata, so `init_model` loads
official files directly; `convert_official_state_dict` and `to_official_state_dict` make the
mapping explicit and reversible.)
"""
from __future__ import annotations

from torch import Tensor

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
