"""Normalisation layer choice shared by the backbone and the OCR heads."""
from __future__ import annotations

from typing import Callable

from torch import nn

NormLayer = Callable[[int], nn.Module]

# openseg's `bn_type` names; the original trains with torch SyncBatchNorm everywhere.
_NAMED: dict[str, NormLayer] = {
    "bn": nn.BatchNorm2d,
    "torchbn": nn.BatchNorm2d,
    "syncbn": nn.SyncBatchNorm,
    "torchsyncbn": nn.SyncBatchNorm,
}


def resolve_norm_layer(norm_layer: str | NormLayer) -> NormLayer:
    """Map a `bn_type` name ("bn", "syncbn", ...) or a callable `C -> module` to a callable."""
    if callable(norm_layer):
        return norm_layer
    key = str(norm_layer).lower()
    if key not in _NAMED:
        raise ValueError(f"norm_layer={norm_layer!r}; expected one of {sorted(_NAMED)} "
                         "or a callable taking the channel count")
    return _NAMED[key]
