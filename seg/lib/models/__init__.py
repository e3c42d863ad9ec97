"""Model registry: `build_segmentor(name, backbone, num_classes)` as in openseg's
`--model_name` / `--backbone` flags."""
from __future__ import annotations

from typing import Mapping, NamedTuple

from .backbones import DROP_PATH_RATE, build_backbone
from .nets.hrt_ocr import HRTOCR, OCR_CHANNELS
from .norm import NormLayer, resolve_norm_layer


class SegmentorSpec(NamedTuple):
    """What a `--model_name` fixes: the OCR head version, the head's input channels (the
    original hard-codes them) and the OCR width."""
    version: str
    in_channels: int
    ocr_channels: int = OCR_CHANNELS


SEGMENTORS: dict[str, SegmentorSpec] = {
    "hrt_small_ocr_v2": SegmentorSpec("v2", 480),
    "hrt_small_ocr_v3": SegmentorSpec("v3", 480),
    "hrt_base_ocr_v2": SegmentorSpec("v2", 1170),
    "hrt_base_ocr_v3": SegmentorSpec("v3", 1170),
    # The CPU demo's (configs/demo/): a quarter-width OCR head on a 16/32/64/128 backbone.
    # The 512-wide head took two thirds of a training step there.
    "hrt_demo_ocr_v2": SegmentorSpec("v2", 240, 128),
}


def build_segmentor(name: str, backbone: str | Mapping, num_classes: int, *,
                    in_channels: int | None = None, norm_layer: str | NormLayer = "bn",
                    with_cp: bool = False, drop_path_rate: float | None = DROP_PATH_RATE,
                    attention: str = "sdpa", masked_padding: bool = False,
                    dropout: float = 0.05) -> HRTOCR:
    """Build an HRFormer + OCR segmentor.

    `backbone` is a seg backbone name or a stage-layout dict. The head's input width is the
    sum of the backbone's stage-4 channels; it must equal `in_channels` (default: the width
    the model name implies, 480 for small and 1170 for base), so a mismatched name/backbone
    pair fails here instead of inside the first forward.
    """
    if name not in SEGMENTORS:
        raise ValueError(f"unknown segmentor {name!r}; expected one of {sorted(SEGMENTORS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes={num_classes}; expected a positive integer")
    spec = SEGMENTORS[name]
    norm = resolve_norm_layer(norm_layer)
    net = build_backbone(backbone, norm_layer=norm, with_cp=with_cp,
                         drop_path_rate=drop_path_rate, attention=attention,
                         masked_padding=masked_padding)
    expected = spec.in_channels if in_channels is None else in_channels
    if sum(net.out_channels) != expected:
        raise ValueError(f"{name}: backbone {backbone if isinstance(backbone, str) else 'config'}"
                         f" outputs {sum(net.out_channels)} channels "
                         f"({'+'.join(map(str, net.out_channels))}), but the head expects "
                         f"in_channels={expected}")
    return HRTOCR(net, num_classes, spec.version, norm, dropout, spec.ocr_channels)


__all__ = ["DROP_PATH_RATE", "SEGMENTORS", "SegmentorSpec", "build_backbone",
           "build_segmentor"]
