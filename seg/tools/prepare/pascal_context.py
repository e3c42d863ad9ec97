"""PASCAL-Context, 59 classes, from the PASCAL-Context site's `trainval.tar.gz` (one
`<image id>.mat` per image, key `LabelMap`, the 459 full classes, 0 = unlabeled) beside
PASCAL VOC 2010 (`VOCtrainval_03-May-2010.tar`), extracted into one folder:

    VOCdevkit/VOC2010/JPEGImages/<id>.jpg
    VOCdevkit/VOC2010/ImageSets/Main/{train,val}.txt   (4,998 / 5,105 ids)
    trainval/<id>.mat

The 59 classes are the usual subset of the 459 (their ids in the site's `labels.txt`, in
the order of `59_labels.txt`, which is alphabetical); written labels are 0 = background or
any of the other 400 classes (ignored by the configs), 1..59 the classes.

The original read `PytorchEncoding/{train,val}.pth` instead; those files are pickled PIL
images, which this project does not unpickle, so that source is not supported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import FolderIndex, Split, check_values, listed_split, read_mat_labels, require_dir

# labels.txt ids of the 59 classes: aeroplane, bag, bed, bedclothes, bench, bicycle, bird,
# boat, book, bottle, building, bus, cabinet, car, cat, ceiling, chair, cloth, computer, cow,
# cup, curtain, dog, door, fence, floor, flower, food, grass, ground, horse, keyboard, light,
# motorbike, mountain, mouse, person, plate, platform, pottedplant, road, rock, sheep,
# shelves, sidewalk, sign, sky, snow, sofa, table, track, train, tree, truck, tvmonitor,
# wall, water, window, wood.
CLASS_IDS_459 = (2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85,
                 98, 104, 105, 113, 115, 144, 158, 159, 162, 187, 189, 207, 220, 232, 258,
                 259, 260, 284, 295, 296, 308, 324, 326, 347, 349, 354, 355, 360, 366, 368,
                 397, 415, 416, 420, 424, 427, 440, 445, 454, 458)
NUM_FULL_CLASSES = 459
VALID = np.arange(NUM_FULL_CLASSES + 1) <= NUM_FULL_CLASSES
TO_59 = np.zeros(NUM_FULL_CLASSES + 1, dtype=np.uint8)
TO_59[list(CLASS_IDS_459)] = np.arange(1, len(CLASS_IDS_459) + 1)
SPLITS = {"train": 4998, "val": 5105}


def splits(src: Path, coarse: bool = False) -> list[Split]:
    voc = require_dir(src / "VOCdevkit" / "VOC2010", "PASCAL VOC 2010")
    mats = require_dir(src / "trainval", "PASCAL-Context label maps (trainval.tar.gz)")
    images, labels = FolderIndex(voc / "JPEGImages"), FolderIndex(mats)
    return [listed_split(split, voc / "ImageSets" / "Main" / f"{split}.txt", official, images,
                         labels, ".mat") for split, official in SPLITS.items()]


def read_label(path: Path) -> np.ndarray:
    full = read_mat_labels(path, "LabelMap", "the PASCAL-Context label map")
    check_values(full, VALID, path)
    return TO_59[full]
