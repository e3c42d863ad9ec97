"""HRFormer ImageNet classifier: the backbone core plus the original classification head.

The classifier subclasses the core `HRFormer`, so backbone keys stay at the top level
(`conv1.weight`, `stage4.*`) next to the head's `incre_modules`, `downsamp_modules`,
`final_layer` and `classifier`, exactly as in the released checkpoints.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from .hrformer import Bottleneck, HRFormer, HRFormerOptions, NormLayer

# Bottleneck widths of the head per branch; outputs are 4x these (128, 256, 512, 1024).
HEAD_PLANES = (32, 64, 128, 256)
FINAL_CHANNELS = 2048


def increase_block(in_channels: int, planes: int, norm_layer: NormLayer) -> nn.Sequential:
    """One depthwise bottleneck widening a branch to 4 * planes (1x1 conv + BN shortcut)."""
    out = planes * Bottleneck.expansion
    shortcut = nn.Sequential(nn.Conv2d(in_channels, out, 1, bias=False), norm_layer(out))
    return nn.Sequential(Bottleneck(in_channels, planes, norm_layer, downsample=shortcut,
                                    depthwise=True))


def downsample_block(in_channels: int, out_channels: int, norm_layer: NormLayer) -> nn.Sequential:
    """Stride-2 depthwise 3x3 then 1x1 to the next width (both with bias), BN after each."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels),
        norm_layer(in_channels),
        nn.Conv2d(in_channels, out_channels, 1),
        norm_layer(out_channels),
        nn.ReLU(inplace=True))


class HRFormerClassifier(HRFormer):
    """Backbone + head; `forward` gives logits, `forward_features` the four stage-4 maps."""

    def __init__(self, config: dict, num_classes: int = 1000,
                 options: HRFormerOptions | None = None, drop_rate: float = 0.0) -> None:
        options = options or HRFormerOptions()
        if not options.multiscale_output:
            raise ValueError("HRFormerClassifier needs all four stage-4 outputs "
                             "(HRFormerOptions.multiscale_output=True)")
        super().__init__(config, options)
        norm = options.norm_layer
        widths = [p * Bottleneck.expansion for p in HEAD_PLANES]
        self.incre_modules = nn.ModuleList(
            increase_block(c, p, norm) for c, p in zip(self.out_channels, HEAD_PLANES))
        self.downsamp_modules = nn.ModuleList(
            downsample_block(widths[i], widths[i + 1], norm) for i in range(len(widths) - 1))
        self.final_layer = nn.Sequential(nn.Conv2d(widths[-1], FINAL_CHANNELS, 1),
                                         norm(FINAL_CHANNELS), nn.ReLU(inplace=True))
        # Dropout on the pooled features (timm's drop_rate; the original's head had none).
        self.head_drop = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(FINAL_CHANNELS, num_classes)

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """The backbone's stage-4 outputs, highest resolution first."""
        return super().forward(x)

    def forward_head(self, features: Sequence[Tensor]) -> Tensor:
        """Fuse the branches top-down, pool globally, classify."""
        y = self.incre_modules[0](features[0])
        for i, down in enumerate(self.downsamp_modules):
            y = self.incre_modules[i + 1](features[i + 1]) + down(y)
        y = self.final_layer(y)
        return self.classifier(self.head_drop(y.mean(dim=(2, 3))))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))
