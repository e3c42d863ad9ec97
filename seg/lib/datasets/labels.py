"""Raw label ids <-> train ids (255 = ignore), and colour palettes."""
from __future__ import annotations

from typing import Sequence

import numpy as np

IGNORE = 255

# Official Cityscapes colours of the 19 train ids.
CITYSCAPES_COLORS = [
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32)]


class LabelMapper:
    """Maps the raw values of a label PNG to train ids through a 256-entry lookup table.

    Order as in openseg: `label_list` (raw id -> its position; unlisted ids are ignored),
    then `reduce_zero_label` (train id 0 becomes ignore, the rest shift down by one).
    `num_raw_ids`, when given, is the number of raw ids the dataset defines: any other raw
    value except 255 is an error.
    """

    def __init__(self, num_classes: int, label_list: Sequence[int] | None = None,
                 reduce_zero_label: bool = False, num_raw_ids: int | None = None) -> None:
        self.num_classes = num_classes
        self.label_list = list(label_list) if label_list else None
        self.reduce_zero_label = reduce_zero_label
        self.num_raw_ids = num_raw_ids
        lut = np.full(256, IGNORE, dtype=np.uint8)
        if self.label_list:
            if any(not 0 <= v < IGNORE for v in self.label_list):
                raise ValueError(f"label_list {self.label_list}: ids must be in [0, 255)")
            lut[self.label_list] = np.arange(len(self.label_list))
        else:
            lut[:IGNORE] = np.arange(IGNORE)
        if reduce_zero_label:
            lut = np.where((lut == 0) | (lut == IGNORE), IGNORE, lut - 1).astype(np.uint8)
        self.lut = lut
        valid = lut[lut != IGNORE]
        self.inverse = np.zeros(num_classes, dtype=np.uint8)
        raw_ids = np.flatnonzero(lut != IGNORE)
        keep = valid < num_classes
        self.inverse[valid[keep]] = raw_ids[keep]

    def to_train_ids(self, raw: np.ndarray, source: str) -> np.ndarray:
        """Map a raw label map; `source` (the file) is named in errors about bad values."""
        values = np.unique(raw)
        if self.num_raw_ids is not None:
            bad = [int(v) for v in values if v >= self.num_raw_ids and v != IGNORE]
            if bad:
                raise ValueError(f"{source}: label values {bad} are not raw ids of this "
                                 f"dataset (expected 0..{self.num_raw_ids - 1} or 255)")
        mapped = self.lut[raw]
        bad = [int(v) for v in np.unique(mapped) if v >= self.num_classes and v != IGNORE]
        if bad:
            raws = [int(v) for v in values if self.lut[v] in bad]
            raise ValueError(f"{source}: label values {raws} are outside the dataset's "
                             f"{self.num_classes} classes (after label mapping: {bad})")
        return mapped

    def to_raw_ids(self, train_ids: np.ndarray) -> np.ndarray:
        """Predicted train ids back to the dataset's raw ids (e.g. Cityscapes label ids)."""
        return self.inverse[train_ids]


def palette(num_classes: int) -> np.ndarray:
    """(num_classes + 1, 3) uint8 colours; the last row (black) is for ignored pixels."""
    if num_classes <= len(CITYSCAPES_COLORS):
        colors = np.array(CITYSCAPES_COLORS[:num_classes], dtype=np.uint8)
    else:
        # Spread the bits of the class index over the three channels (distinct colours).
        idx = np.arange(num_classes)
        colors = np.zeros((num_classes, 3), dtype=np.uint8)
        for bit in range(8):
            for ch in range(3):
                colors[:, ch] |= (((idx >> (3 * bit + ch)) & 1) << (7 - bit)).astype(np.uint8)
    return np.concatenate([colors, np.zeros((1, 3), dtype=np.uint8)])


def colorize(train_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """HxW train ids (255 = ignore) -> HxWx3 RGB image."""
    ids = np.where(train_ids == IGNORE, num_classes, train_ids)
    return palette(num_classes)[ids]
