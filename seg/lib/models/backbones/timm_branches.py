"""A timm HRNet's four branches as a seg backbone (the reference CNN of the benchmark: timm's
`hrnet_w48` under the same OCR head as HRFormer, as in HRNet-OCR)."""
from __future__ import annotations

from torch import Tensor, nn


class TimmBranches(nn.Module):
    """`forward(x)` -> the branch outputs at strides 4, 8, 16, 32 (before timm's
    classification-only increase modules); `out_channels` as HRFormer's."""

    def __init__(self, name: str) -> None:
        super().__init__()
        import timm  # only this baseline needs it
        self.body = timm.create_model(name, features_only=True, feature_location="",
                                      out_indices=(1, 2, 3, 4))
        self.out_channels = tuple(self.body.feature_info.channels())

    def forward(self, x: Tensor) -> list[Tensor]:
        return self.body(x)
