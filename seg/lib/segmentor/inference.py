"""Test-time prediction: single scale, multi-scale + flip (logits summed) and sliding
window, on one image at a time."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..datasets.collate import pad_to, pad_to_stride
from ..utils.configer import Configer


def _resize(x: Tensor, size: Sequence[int]) -> Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=True)


def main_logits(model: nn.Module, img: Tensor) -> Tensor:
    return model(img)[-1].float()


def single_scale(model: nn.Module, img: Tensor, scale: float = 1.0) -> Tensor:
    """Resize by `scale`, forward, resize the main logits back to the input size."""
    size = img.shape[-2:]
    if scale != 1.0:
        img = _resize(img, [int(s * scale) for s in size])
    out = main_logits(model, img)
    return out if out.shape[-2:] == size else _resize(out, size)


def multi_scale_flip(model: nn.Module, img: Tensor, scales: Sequence[float],
                     flip: bool = True) -> Tensor:
    """Sum over scales of logits(img) + unflipped logits(flipped img) (raw logits)."""
    total = 0
    for scale in scales:
        total = total + single_scale(model, img, scale)
        if flip:
            total = total + single_scale(model, img.flip(-1), scale).flip(-1)
    return total


def sliding_window(model: nn.Module, img: Tensor, crop_hw: Sequence[int],
                   stride_rate: float = 2 / 3) -> Tensor:
    """Average logits of overlapping crops covering the image (padded up to one crop)."""
    h, w = img.shape[-2:]
    ch, cw = crop_hw
    padded = F.pad(img, (0, max(cw - w, 0), 0, max(ch - h, 0)))
    ph, pw = padded.shape[-2:]
    sh, sw = max(int(ch * stride_rate), 1), max(int(cw * stride_rate), 1)
    tops = sorted({min(y, ph - ch) for y in range(0, max(ph - ch, 0) + sh, sh)})
    lefts = sorted({min(x, pw - cw) for x in range(0, max(pw - cw, 0) + sw, sw)})
    total, count = None, torch.zeros(1, 1, ph, pw, device=img.device)
    for y in tops:
        for x in lefts:
            out = main_logits(model, padded[..., y:y + ch, x:x + cw])
            if total is None:
                total = torch.zeros(1, out.shape[1], ph, pw, device=img.device)
            total[..., y:y + ch, x:x + cw] += out
            count[..., y:y + ch, x:x + cw] += 1
    return (total / count)[..., :h, :w]


class Predictor:
    """Per-image prediction following the config's `<section>` size mode and test mode,
    returning logits at the image's original size."""

    def __init__(self, configer: Configer, section: str, mode: str | None = None) -> None:
        transformer = configer.get(f"{section}.data_transformer")
        self.size_mode = transformer.get("size_mode", "diverse_size")
        self.input_size = transformer.get("input_size")
        self.fit_stride = transformer.get("fit_stride")
        self.mode = mode or configer.get(f"{section}.mode", default="ss_test")
        self.scales = configer.get("test.scale_search", default=[1.0])
        self.flip = configer.get("test.flip", default=True)
        self.crop_size = configer.get("test.crop_size", default=None)
        if self.mode not in ("ss_test", "ms_test", "sscrop_test"):
            raise ValueError(f"{section}.mode={self.mode!r}; expected ss_test, ms_test or "
                             "sscrop_test")
        if self.mode == "sscrop_test" and not self.crop_size:
            raise ValueError("sscrop_test needs test.crop_size [w, h]")

    def _pad(self, img: Tensor) -> Tensor:
        if self.size_mode == "fix_size":
            w, h = self.input_size
            return pad_to(img, None, (h, w), random_offset=False)[0]
        return pad_to_stride(img, self.fit_stride) if self.fit_stride else img

    @torch.no_grad()
    def __call__(self, model: nn.Module, img: Tensor, meta: dict) -> Tensor:
        """img: normalised (C, H, W) -> logits (K, H0, W0) at meta['ori_size']."""
        x = self._pad(img).unsqueeze(0)
        if self.mode == "ms_test":
            logits = multi_scale_flip(model, x, self.scales, self.flip)
        elif self.mode == "sscrop_test":
            logits = sliding_window(model, x, self.crop_size[::-1])
        else:
            logits = single_scale(model, x)
        bh, bw = meta["border_size"]
        logits = logits[..., :bh, :bw]
        if tuple(meta["ori_size"]) != (bh, bw):
            logits = F.interpolate(logits, size=tuple(meta["ori_size"]), mode="bicubic",
                                   align_corners=False)
        return logits[0]
