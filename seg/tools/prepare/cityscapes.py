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

from .common import Sample, Split, check_values, read_png_ids, require_dir, require_label

IMAGE_SUFFIX = "_leftImg8bit.png"
VALID = np.arange(256) < 34          # label ids 0..33 (license plate, -1, is never drawn)
OFFICIAL = {"train": 2975, "val": 500, "test": 1525, "train_extra": 19998}


def _samples(src: Path, split: str, gt: str | None) -> list[Sample]:
    image_root = require_dir(src / "leftImg8bit" / split, f"Cityscapes {split} images")
    images = sorted(image_root.glob(f"*/*{IMAGE_SUFFIX}"))
    samples = []
    for image in images:
        stem = image.name[: -len(".png")]
        label = None
        if gt is not None:
            base = image.name[: -len(IMAGE_SUFFIX)]
            label = require_label(image, src / gt / split / image.parent.name
                                  / f"{base}_{gt}_labelIds.png")
        samples.append(Sample(image, label, stem))
    return samples


def splits(src: Path, coarse: bool = False) -> list[Split]:
    out = [Split("train", _samples(src, "train", "gtFine"), OFFICIAL["train"]),
           Split("val", _samples(src, "val", "gtFine"), OFFICIAL["val"])]
    if (src / "leftImg8bit" / "test").is_dir():
        out.append(Split("test", _samples(src, "test", None), OFFICIAL["test"]))
    if coarse:
        out.append(Split("train_extra", _samples(src, "train_extra", "gtCoarse"),
                         OFFICIAL["train_extra"]))
    return out


def read_label(path: Path) -> np.ndarray:
    ids = read_png_ids(path)
    check_values(ids, VALID, path)
    return ids
