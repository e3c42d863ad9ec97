"""Batching: fixed-size padded tensors for training, per-image lists for evaluation."""
from __future__ import annotations

import random
from typing import Any, Mapping

import torch
import torch.nn.functional as F


def pad_to(img: torch.Tensor, label: torch.Tensor | None, size_hw: tuple[int, int],
           random_offset: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pad image with 0 and label with -1 up to `size_hw`; only pads, never shrinks."""
    h, w = img.shape[-2:]
    th, tw = size_hw
    if h > th or w > tw:
        raise ValueError(f"sample of size {h}x{w} exceeds the fixed input size {th}x{tw} "
                         "(align_method only_pad cannot shrink it)")
    top = random.randint(0, th - h) if random_offset else 0
    left = random.randint(0, tw - w) if random_offset else 0
    pad = (left, tw - w - left, top, th - h - top)
    img = F.pad(img, pad, value=0.0)
    return img, None if label is None else F.pad(label, pad, value=-1)


def pad_to_stride(img: torch.Tensor, stride: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    return F.pad(img, (0, -w % stride, 0, -h % stride), value=0.0)


class TrainCollate:
    """`fix_size`: pad every crop to `input_size` [w, h] (random offset for pad_mode random)."""

    def __init__(self, transformer: Mapping[str, Any]) -> None:
        if transformer.get("size_mode") != "fix_size":
            raise ValueError(f"train.data_transformer.size_mode={transformer.get('size_mode')!r};"
                             " training needs 'fix_size'")
        w, h = transformer["input_size"]
        self.size_hw = (h, w)
        self.random_offset = transformer.get("pad_mode", "random") == "random"

    def __call__(self, samples: list[dict]) -> dict[str, Any]:
        padded = [pad_to(s["img"], s["labelmap"], self.size_hw, self.random_offset)
                  for s in samples]
        return {"img": torch.stack([p[0] for p in padded]),
                "labelmap": torch.stack([p[1] for p in padded]),
                "meta": [s["meta"] for s in samples]}


def eval_collate(samples: list[dict]) -> dict[str, list]:
    """Evaluation batches stay lists: images may differ in size (diverse_size)."""
    return {key: [s[key] for s in samples] for key in ("img", "labelmap", "meta")}
