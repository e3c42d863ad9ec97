"""HRFormer + OCR head (openseg's HRT_{SMALL,BASE}_OCR_{V2,V3})."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..backbones.hrformer import FoldableModule, HRFormer, fold_sequential
from ..heads.ocr import SpatialGather, SpatialOCR, conv_bn_relu
from ..norm import NormLayer

# The released heads' width; the object-context keys are half as wide.
OCR_CHANNELS = 512
# v2 uses dense 3x3 convs on the concatenated features; v3 grouped 7x7 (far fewer params).
HEAD_KERNELS = {"v2": 3, "v3": 7}


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class HRTOCR(FoldableModule):
    """`forward(x)` returns `(out_aux, out)` logits, both resized to the input size.

    Attribute order fixes the state-dict order of the released checkpoints.
    """

    def __init__(self, backbone: HRFormer, num_classes: int, version: str,
                 norm_layer: NormLayer, dropout: float = 0.05,
                 channels: int = OCR_CHANNELS) -> None:
        super().__init__()
        if version not in HEAD_KERNELS:
            raise ValueError(f"OCR head version {version!r}; expected one of "
                             f"{sorted(HEAD_KERNELS)}")
        in_channels = sum(backbone.out_channels)
        kernel = HEAD_KERNELS[version]
        groups = 1 if version == "v2" else math.gcd(in_channels, channels)
        self.backbone = backbone
        self.conv3x3 = nn.Sequential(
            *conv_bn_relu(in_channels, channels, norm_layer, kernel, groups))
        self.ocr_gather_head = SpatialGather()
        self.ocr_distri_head = SpatialOCR(channels, channels // 2, channels, norm_layer,
                                          dropout)
        self.cls_head = nn.Conv2d(channels, num_classes, 1)
        self.aux_head = nn.Sequential(
            *conv_bn_relu(in_channels, channels, norm_layer, kernel, groups),
            nn.Conv2d(channels, num_classes, 1))

    def classifier_names(self) -> tuple[str, ...]:
        """The layers whose shape is the class count (the main and auxiliary classifiers):
        what fine-tuning on another dataset re-initialises."""
        return "cls_head", f"aux_head.{len(self.aux_head) - 1}"

    def fold_for_inference(self) -> None:
        """The head's conv + BN pairs (the backbone folds its own)."""
        for head in (self.conv3x3, self.ocr_distri_head, self.aux_head):
            fold_sequential(head)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        branches = self.backbone(x)
        size = branches[0].shape[-2:]
        feats = torch.cat([branches[0]] + [_resize(b, size) for b in branches[1:]], dim=1)
        out_aux = self.aux_head(feats)
        feats = self.conv3x3(feats)
        regions = self.ocr_gather_head(feats, out_aux)
        out = self.cls_head(self.ocr_distri_head(feats, regions))
        return _resize(out_aux, x.shape[-2:]), _resize(out, x.shape[-2:])
