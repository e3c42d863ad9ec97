"""HRFormer backbones with the segmentation copy's behaviour (see SPEC.md, seg column)."""
from __future__ import annotations

from typing import Mapping

from ..norm import NormLayer, resolve_norm_layer
from .hrformer import HRFormer, HRFormerOptions, preset

# Backbone names used by the seg launch scripts (`--backbone`).
BACKBONES = ("hrt_small", "hrt_base", "hrt_base_win13", "hrt_base_win15")
# The original seg backbone's drop path rate, used where none is given (its scripts set 0.2-0.4).
DROP_PATH_RATE = 0.2


def build_backbone(name: str | Mapping, *, norm_layer: str | NormLayer = "bn",
                   with_cp: bool = False, drop_path_rate: float | None = DROP_PATH_RATE,
                   attention: str = "sdpa", masked_padding: bool = False,
                   in_channels: int = 3) -> HRFormer:
    """Build a seg-copy HRFormer: relative position bias, nearest fuse upsampling,
    `align_corners=True` resizes and all four stage-4 outputs.

    `name` is one of `BACKBONES` or a stage-layout dict in the original yaml format (STAGE1..4).
    `drop_path_rate` defaults to the original seg backbone's (`DROP_PATH_RATE`); None keeps
    the layout's DROP_PATH_RATE.
    """
    if isinstance(name, Mapping):
        config = dict(name)
    elif name in BACKBONES:
        config = preset(name)
    else:
        raise ValueError(f"unknown seg backbone {name!r}; expected one of {list(BACKBONES)} "
                         "or a stage-layout dict")
    options = HRFormerOptions(masked_padding=masked_padding, attention=attention,
                              with_cp=with_cp, in_channels=in_channels,
                              drop_path_rate=drop_path_rate,
                              norm_layer=resolve_norm_layer(norm_layer))
    return HRFormer(config, options)


__all__ = ["BACKBONES", "DROP_PATH_RATE", "build_backbone"]
