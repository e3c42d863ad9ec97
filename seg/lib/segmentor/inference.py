"""Test-time prediction: single scale, multi-scale + flip (logits summed) and sliding
window, on one image at a time.

The sliding window bounds memory on large images: the network sees one crop at a time and
the overlapping logits are averaged at 1/SCORE_STRIDE of the input resolution. 4 is the OCR
head's own output stride (its full-size logits are a bilinear upsampling of a 1/4 map), so
little is lost, and the 19-class scores of a 4000x3000 photo take 57 MB instead of 912 MB;
`labels_from_scores` upsamples and takes the argmax a strip at a time.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..datasets.collate import pad_to, pad_to_stride
from ..utils.configer import Configer

SCORE_STRIDE = 4
STRIP_ROWS = 64   # score rows upsampled at once: 256 image rows


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


def check_window(crop_hw: Sequence[int], stride_hw: Sequence[int]) -> None:
    """A sliding window's crop size and stride: (height, width), multiples of SCORE_STRIDE,
    the stride no larger than the crop (else parts of the image are never seen)."""
    for name, values in (("crop size", crop_hw), ("stride", stride_hw)):
        if len(values) != 2 or any(int(v) != v or v < SCORE_STRIDE or v % SCORE_STRIDE
                                   for v in values):
            raise ValueError(f"{name} {list(values)}: expected height and width, positive "
                             f"multiples of {SCORE_STRIDE}")
    if any(s > c for s, c in zip(stride_hw, crop_hw)):
        raise ValueError(f"stride {list(stride_hw)} is larger than the crop size "
                         f"{list(crop_hw)}: parts of the image would never be seen")


def default_stride(crop_hw: Sequence[int]) -> tuple[int, int]:
    """Two thirds of the crop (openseg's sliding test), as multiples of SCORE_STRIDE."""
    return tuple(max(SCORE_STRIDE, c * 2 // 3 // SCORE_STRIDE * SCORE_STRIDE)
                 for c in crop_hw)


def window_starts(size: int, crop: int, stride: int) -> list[int]:
    """Window offsets along one side: every `stride`, the last flush with the end."""
    if size <= crop:
        return [0]
    return list(range(0, size - crop, stride)) + [size - crop]


def score_grid(size: Sequence[int]) -> tuple[int, int]:
    """The (rows, columns) of the 1/SCORE_STRIDE score map of an image of `size`."""
    return tuple(-(-s // SCORE_STRIDE) for s in size)


def _windows(size: Sequence[int], crop_hw: Sequence[int],
             stride_hw: Sequence[int]) -> tuple[tuple[int, int], list[int], list[int]]:
    """The crop (height, width) and the window offsets (rows, columns) of `slide_scores`
    over an image of `size`, padded to the score grid."""
    grid = score_grid(size)
    padded = (grid[0] * SCORE_STRIDE, grid[1] * SCORE_STRIDE)
    ch, cw = min(crop_hw[0], padded[0]), min(crop_hw[1], padded[1])
    return ((ch, cw), window_starts(padded[0], ch, stride_hw[0]),
            window_starts(padded[1], cw, stride_hw[1]))


def window_count(size: Sequence[int], crop_hw: Sequence[int], stride_hw: Sequence[int],
                 scales: Sequence[float] = (1.0,), flip: bool = False) -> int:
    """How many network forwards `slide_scores` (one scale) or `slide_multi_scale_flip`
    (`scales`, `flip`) runs over an image of `size` (height, width)."""
    count = 0
    for scale in scales:
        scaled = size if scale == 1.0 else [int(s * scale) for s in size]
        _, rows, cols = _windows(scaled, crop_hw, stride_hw)
        count += len(rows) * len(cols) * (2 if flip else 1)
    return count


@torch.no_grad()
def slide_scores(model: nn.Module, img: Tensor, crop_hw: Sequence[int],
                 stride_hw: Sequence[int], on_window: Callable[[], object] | None = None
                 ) -> Tensor:
    """The main logits of overlapping crops, averaged where they overlap, at 1/SCORE_STRIDE
    of the input resolution: (1, classes, ceil(H / 4), ceil(W / 4)); cell (i, j) covers
    pixels [4i, 4i + 4) x [4j, 4j + 4). Crops past the bottom / right edge are padded with
    zeros (the mean colour, after normalisation), one crop at a time. `on_window` is called
    after each crop (a progress bar's update)."""
    check_window(crop_hw, stride_hw)
    r = SCORE_STRIDE
    grid = score_grid(img.shape[-2:])
    (ch, cw), rows, cols = _windows(img.shape[-2:], crop_hw, stride_hw)
    total, count = None, torch.zeros(1, 1, *grid, device=img.device)
    for y in rows:
        for x in cols:
            crop = img[..., y:y + ch, x:x + cw]
            crop = F.pad(crop, (0, cw - crop.shape[-1], 0, ch - crop.shape[-2]))
            out = F.avg_pool2d(main_logits(model, crop), r)
            if total is None:
                total = torch.zeros(1, out.shape[1], *grid, device=img.device)
            cells = (..., slice(y // r, (y + ch) // r), slice(x // r, (x + cw) // r))
            total[cells] += out
            count[cells] += 1
            if on_window is not None:
                on_window()
    return total / count


def slide_multi_scale_flip(model: nn.Module, img: Tensor, crop_hw: Sequence[int],
                           stride_hw: Sequence[int], scales: Sequence[float],
                           flip: bool = True, on_window: Callable[[], object] | None = None
                           ) -> Tensor:
    """`multi_scale_flip` in sliding windows: the sum over scales (and flips) of the
    `slide_scores` of the resized image, each resampled to the score grid of `img`."""
    h, w = img.shape[-2:]
    grid = score_grid((h, w))
    total = 0
    for scale in scales:
        scaled = img if scale == 1.0 else _resize(img, [int(s * scale) for s in (h, w)])
        scores = slide_scores(model, scaled, crop_hw, stride_hw, on_window)
        if flip:  # padded first, so that the flipped crops keep the same cells
            rows, cols = score_grid(scaled.shape[-2:])
            padded = F.pad(scaled, (0, cols * SCORE_STRIDE - scaled.shape[-1],
                                    0, rows * SCORE_STRIDE - scaled.shape[-2]))
            scores += slide_scores(model, padded.flip(-1), crop_hw, stride_hw,
                                   on_window).flip(-1)
        total = total + (scores if tuple(scores.shape[-2:]) == grid else
                         F.interpolate(scores, size=grid, mode="bilinear", align_corners=False))
    return total


def upsample_scores(scores: Tensor, size: Sequence[int]) -> Tensor:
    """A 1/SCORE_STRIDE score map at the image's `size` (H, W): bilinear, cell centres kept."""
    rows, cols = scores.shape[-2:]
    full = F.interpolate(scores, size=(rows * SCORE_STRIDE, cols * SCORE_STRIDE),
                         mode="bilinear", align_corners=False)
    return full[..., :size[0], :size[1]]


def labels_from_scores(scores: Tensor, size: Sequence[int]) -> Tensor:
    """argmax over classes of `upsample_scores(scores, size)[0]` as an (H, W) uint8 map (int32
    above 256 classes), computed STRIP_ROWS score rows at a time: the full-resolution
    logits (classes x H x W float32) never exist at once. Equal to the whole computation:
    each strip is upsampled with one score row of context on either side."""
    rows, cols = scores.shape[-2:]
    r = SCORE_STRIDE
    labels = torch.empty(tuple(size), dtype=torch.uint8 if scores.shape[1] <= 256
                         else torch.int32)
    for top in range(0, min(rows, -(-size[0] // r)), STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, rows)
        lo, hi = max(top - 1, 0), min(bottom + 1, rows)
        strip = F.interpolate(scores[..., lo:hi, :], size=((hi - lo) * r, cols * r),
                              mode="bilinear", align_corners=False)
        first, last = top * r, min(bottom * r, size[0])
        strip = strip[0, :, first - lo * r:last - lo * r, :size[1]]
        labels[first:last] = strip.argmax(0).to(device="cpu", dtype=labels.dtype)
    return labels


def sliding_window(model: nn.Module, img: Tensor, crop_hw: Sequence[int],
                   stride_hw: Sequence[int]) -> Tensor:
    """`slide_scores` upsampled to the input size: (1, classes, H, W) logits."""
    return upsample_scores(slide_scores(model, img, crop_hw, stride_hw), img.shape[-2:])


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
        if self.mode == "sscrop_test":
            if not self.crop_size:
                raise ValueError("sscrop_test needs test.crop_size [w, h]")
            self.crop_hw = tuple(self.crop_size[::-1])
            check_window(self.crop_hw, default_stride(self.crop_hw))

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
            logits = sliding_window(model, x, self.crop_hw, default_stride(self.crop_hw))
        else:
            logits = single_scale(model, x)
        bh, bw = meta["border_size"]
        logits = logits[..., :bh, :bw]
        if tuple(meta["ori_size"]) != (bh, bw):
            logits = F.interpolate(logits, size=tuple(meta["ori_size"]), mode="bicubic",
                                   align_corners=False)
        return logits[0]
