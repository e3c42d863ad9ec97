"""ADE20K (SceneParsing) from `ADEChallengeData2016.zip`:

    ADEChallengeData2016/images/{training,validation}/ADE_{train,val}_<8 digits>.jpg
    ADEChallengeData2016/annotations/{training,validation}/ADE_{train,val}_<8 digits>.png

`--ori_root_dir` may be the folder holding `ADEChallengeData2016/` or that folder itself.
Labels are copied as they are: 0 = other (ignored), 1..150 the classes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import (FolderIndex, Sample, Split, check_values, read_png_ids, require_dir,
                     require_label, with_suffix)

VALID = np.arange(256) <= 150
SPLITS = {"train": ("training", 20210), "val": ("validation", 2000)}


def _root(src: Path) -> Path:
    return src / "ADEChallengeData2016" if (src / "ADEChallengeData2016").is_dir() else src


def splits(src: Path, coarse: bool = False) -> list[Split]:
    root = _root(src)
    out = []
    for dst, (folder, official) in SPLITS.items():
        image_dir = require_dir(root / "images" / folder, f"ADE20K {folder} images")
        labels = FolderIndex(root / "annotations" / folder)
        out.append(Split(dst, [Sample(p, require_label(p, labels.find(p.stem, ".png")), p.stem)
                               for p in with_suffix(image_dir, "ADE_*", ".jpg")], official,
                         f"ADE_*.jpg (any letter case) in {image_dir}"))
    return out


def read_label(path: Path) -> np.ndarray:
    ids = read_png_ids(path)
    check_values(ids, VALID, path)
    return ids
