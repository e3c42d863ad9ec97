"""Cityscapes from `leftImg8bit_trainvaltest.zip` + `gtFine_trainvaltest.zip` (and, with
`--coarse`, `leftImg8bit_trainextra.zip` + `gtCoarse.zip`), extracted into one folder:

    leftImg8bit/{train,val,test,train_extra}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png
    gtCoarse/train_extra/<city>/<city>_<seq>_<frame>_gtCoarse_labelIds.png

Image and label keep the image's file name; labels stay label ids (0..33). The `_color`,
`_instanceIds` and `_polygons.json` files of the download are not labels and are not read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import (FolderIndex, Sample, Split, check_values, read_png_ids, require_dir,
                     require_label, with_suffix)

IMAGE_SUFFIX = "_leftImg8bit.png"
VALID = np.arange(256) < 34          # label ids 0..33 (license plate, -1, is never drawn)
OFFICIAL = {"train": 2975, "val": 500, "test": 1525, "train_extra": 19998}


def _split(src: Path, split: str, gt: str | None) -> Split:
    image_root = require_dir(src / "leftImg8bit" / split, f"Cityscapes {split} images")
    images = with_suffix(image_root, f"*/*{IMAGE_SUFFIX[:-len('.png')]}", ".png")
    labels: dict[str, FolderIndex] = {}
    samples = []
    for image in images:
        stem = image.name[: -len(".png")]
        label = None
        if gt is not None:
            city = image.parent.name
            index = labels.setdefault(city, FolderIndex(src / gt / split / city))
            base = stem[: -len("_leftImg8bit")]
            label = require_label(image, index.find(f"{base}_{gt}_labelIds", ".png"))
        samples.append(Sample(image, label, stem))
    return Split(split, samples, OFFICIAL[split],
                 f"<city>/*{IMAGE_SUFFIX} (any letter case) in {image_root}")


def splits(src: Path, coarse: bool = False) -> list[Split]:
    out = [_split(src, "train", "gtFine"), _split(src, "val", "gtFine")]
    if (src / "leftImg8bit" / "test").is_dir():
        out.append(_split(src, "test", None))
    if coarse:
        out.append(_split(src, "train_extra", "gtCoarse"))
    return out


def read_label(path: Path) -> np.ndarray:
    ids = read_png_ids(path)
    check_values(ids, VALID, path)
    return ids
