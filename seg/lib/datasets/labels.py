"""Raw label ids <-> train ids (255 = ignore), with the check of a label map's values."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

IGNORE = 255


def present_values(raw: np.ndarray) -> np.ndarray:
    """The distinct values of a label map, sorted. For uint8 maps a histogram: about 8x
    faster than np.unique on a Cityscapes frame, which matters once per sample."""
    if raw.dtype != np.uint8:
        return np.unique(raw)
    counts = cv2.calcHist([np.ascontiguousarray(raw)], [0], None, [256], [0, 256])
    return np.flatnonzero(counts.ravel())


class LabelMapper:
    """Maps the raw values of a label PNG to train ids through a 256-entry lookup table.

    Order as in openseg: `label_list` (raw id -> its position; unlisted ids are ignored),
    then `reduce_zero_label` (train id 0 becomes ignore, the rest shift down by one).
    Without either (a dataset of your own) the raw values are the train ids 0..N-1.
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

    @property
    def raw_ids_are_train_ids(self) -> bool:
        """No label_list and no reduce_zero_label: label maps hold the train ids themselves."""
        return self.label_list is None and not self.reduce_zero_label

    def check_values(self, raw: np.ndarray, source: str) -> None:
        """Raise naming `source` (the file) if the label map holds a value that is not a raw
        id of the dataset or maps outside its classes (255, ignored, is always allowed)."""
        values = present_values(raw)
        if self.num_raw_ids is not None:
            bad = [int(v) for v in values if v >= self.num_raw_ids and v != IGNORE]
            if bad:
                raise ValueError(f"{source}: label values {bad} are not raw ids of this "
                                 f"dataset (expected 0..{self.num_raw_ids - 1} or 255)")
        mapped = self.lut[values]
        outside = (mapped >= self.num_classes) & (mapped != IGNORE)
        if not outside.any():
            return
        raws = [int(v) for v in values[outside]]
        if self.raw_ids_are_train_ids:
            raise ValueError(f"{source}: label values {raws} are outside the dataset's "
                             f"{self.num_classes} classes (expected 0..{self.num_classes - 1}"
                             ", or 255 for ignored pixels)")
        raise ValueError(f"{source}: label values {raws} are outside the dataset's "
                         f"{self.num_classes} classes (after label mapping: "
                         f"{[int(v) for v in mapped[outside]]})")

    def to_train_ids(self, raw: np.ndarray, source: str) -> np.ndarray:
        """Map a raw label map; `source` (the file) is named in errors about bad values."""
        self.check_values(raw, source)
        return self.lut[raw]

    def to_raw_ids(self, train_ids: np.ndarray) -> np.ndarray:
        """Predicted train ids back to the dataset's raw ids (e.g. Cityscapes label ids)."""
        return self.inverse[train_ids]
