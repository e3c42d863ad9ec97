"""Object-contextual representations (OCR): gather class regions, distribute their context.

Module and key names follow openseg so released checkpoints load unchanged; "BN+ReLU" is a
nested Sequential there, hence keys such as `f_pixel.1.0.weight`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..norm import NormLayer


def bn_relu(channels: int, norm_layer: NormLayer) -> nn.Sequential:
    return nn.Sequential(norm_layer(channels), nn.ReLU(inplace=True))


def conv_bn_relu(cin: int, cout: int, norm_layer: NormLayer, kernel: int = 1,
                 groups: int = 1) -> list[nn.Module]:
    """Conv (with bias, 'same' padding) followed by the nested BN+ReLU."""
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, groups=groups),
            bn_relu(cout, norm_layer)]


class SpatialGather(nn.Module):
    """Class-region features: per class, a softmax over pixels of its logits weights the pixel
    features. (B, C, H, W), (B, K, H, W) -> (B, C, K, 1)."""

    def forward(self, feats: Tensor, logits: Tensor) -> Tensor:
        weights = logits.flatten(2).softmax(dim=2)               # (B, K, HW)
        regions = weights @ feats.flatten(2).transpose(1, 2)      # (B, K, C)
        return regions.transpose(1, 2).unsqueeze(3)


class ObjectContextBlock(nn.Module):
    """Attention from pixels (queries) to class regions (keys/values), scale 1."""

    def __init__(self, channels: int, key_channels: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.key_channels = key_channels
        self.f_pixel = nn.Sequential(*conv_bn_relu(channels, key_channels, norm_layer),
                                     *conv_bn_relu(key_channels, key_channels, norm_layer))
        self.f_object = nn.Sequential(*conv_bn_relu(channels, key_channels, norm_layer),
                                      *conv_bn_relu(key_channels, key_channels, norm_layer))
        self.f_down = nn.Sequential(*conv_bn_relu(channels, key_channels, norm_layer))
        self.f_up = nn.Sequential(*conv_bn_relu(key_channels, channels, norm_layer))

    def forward(self, feats: Tensor, regions: Tensor) -> Tensor:
        b, _, h, w = feats.shape
        query = self.f_pixel(feats).flatten(2).transpose(1, 2)   # (B, HW, Ck)
        key = self.f_object(regions).flatten(2)                   # (B, Ck, K)
        value = self.f_down(regions).flatten(2).transpose(1, 2)  # (B, K, Ck)
        sim = (query @ key * self.key_channels ** -0.5).softmax(dim=-1)
        context = (sim @ value).transpose(1, 2).reshape(b, self.key_channels, h, w)
        return self.f_up(context)


class SpatialOCR(nn.Module):
    """Distribute the region context to pixels and fuse it with the pixel features."""

    def __init__(self, channels: int, key_channels: int, out_channels: int,
                 norm_layer: NormLayer, dropout: float = 0.05) -> None:
        super().__init__()
        self.object_context_block = ObjectContextBlock(channels, key_channels, norm_layer)
        self.conv_bn_dropout = nn.Sequential(
            *conv_bn_relu(2 * channels, out_channels, norm_layer), nn.Dropout2d(dropout))

    def forward(self, feats: Tensor, regions: Tensor) -> Tensor:
        context = self.object_context_block(feats, regions)
        return self.conv_bn_dropout(torch.cat([context, feats], dim=1))
