"""COCO-Stuff 10K from `cocostuff-10k-v1.1.zip`:

    images/<name>.jpg
    annotations/<name>.mat        (key `S`: 0 = unlabeled, 1..182)
    imageLists/{train,test}.txt   (9,000 / 1,000 names)

The test list becomes `val`; labels are written as PNGs of the raw ids. `--ori_root_dir` may
be the folder holding `cocostuff-10k-v1.1/` or that folder itself.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import FolderIndex, Split, check_values, listed_split, read_mat_labels

VALID = np.arange(256) <= 182
SPLITS = {"train": ("train", 9000), "val": ("test", 1000)}


def _root(src: Path) -> Path:
    nested = src / "cocostuff-10k-v1.1"
    return nested if nested.is_dir() else src


def splits(src: Path, coarse: bool = False) -> list[Split]:
    root = _root(src)
    images, labels = FolderIndex(root / "images"), FolderIndex(root / "annotations")
    return [listed_split(dst, root / "imageLists" / f"{list_name}.txt", official, images,
                         labels, ".mat") for dst, (list_name, official) in SPLITS.items()]


def read_label(path: Path) -> np.ndarray:
    ids = read_mat_labels(path, "S", "the label map of COCO-Stuff 10K")
    check_values(ids, VALID, path)
    return ids
