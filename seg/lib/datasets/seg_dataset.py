"""Folder datasets in openseg's layout: `<data_dir>/<split>/image/<name>.<ext>` with
`<data_dir>/<split>/label/<name>.png` (label PNGs hold raw ids)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .labels import IGNORE, LabelMapper
from .transforms import Compose, Normalize

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} folder {path} does not exist")
    return path


def list_pairs(split_dir: Path) -> list[tuple[Path, Path]]:
    """(image, label) pairs; the image extension is the one of the first file in image/."""
    image_dir = _require_dir(split_dir / "image", "image")
    label_dir = _require_dir(split_dir / "label", "label")
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    labels = sorted(p for p in label_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not labels:
        raise FileNotFoundError(f"label folder {label_dir} holds no label images")
    if not images:
        raise FileNotFoundError(f"image folder {image_dir} holds no images")
    ext = images[0].suffix
    pairs = []
    for label in labels:
        image = image_dir / (label.stem + ext)
        if not image.is_file():
            raise FileNotFoundError(f"label {label} has no image {image}")
        pairs.append((image, label))
    return pairs


def list_unlabelled(split_dir: Path) -> list[Path]:
    """Images of a split without labels: `image/*` or, as Cityscapes' test set, `<city>/*`."""
    root = split_dir / "image" if (split_dir / "image").is_dir() else split_dir
    images = sorted(p for p in _require_dir(root, "test image").rglob("*")
                    if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"test image folder {root} holds no images")
    return images


def open_image(path: Path, mode: str | None = None) -> np.ndarray:
    """The pixels of an image file (converted to `mode`); a broken file is named."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode) if mode else image)
    except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for broken files
        raise OSError(f"cannot read image {path}: {err}") from err


def read_raw_label(path: Path) -> np.ndarray:
    """The raw ids of a label file: one channel of 8-bit values, else an error naming it."""
    raw = open_image(path)
    if raw.ndim != 2:
        raise ValueError(f"{path}: label must be a single-channel (mode L or P) image, "
                         f"got shape {raw.shape}")
    if raw.dtype != np.uint8 and raw.size and raw.max() > IGNORE:
        raise ValueError(f"{path}: label values up to {int(raw.max())}; expected 8-bit ids "
                         "(0..254, 255 ignored)")
    return raw.astype(np.uint8)


def check_label_files(pairs: list[tuple[Path, Path]], mapper: LabelMapper) -> None:
    """Read every label map once and check its values, naming the first bad file."""
    start = time.perf_counter()
    for _, label in pairs:
        mapper.check_values(read_raw_label(label), str(label))
    log.info("checked the values of %d label maps in %.1f s", len(pairs),
             time.perf_counter() - start)


def read_image(path: Path, input_mode: str) -> np.ndarray:
    image = open_image(path, "RGB")
    if input_mode == "BGR":   # the original reads with cv2; its models were trained on BGR
        image = image[:, :, ::-1]
    elif input_mode != "RGB":
        raise ValueError(f"data.input_mode={input_mode!r}; expected 'BGR' or 'RGB'")
    return np.ascontiguousarray(image)


class SegDataset(Dataset):
    """Returns dicts: `img` (normalised CxHxW), `labelmap` (int64, -1 = ignore; at the
    transformed size for training, the original size for evaluation) and `meta`.

    Each sample's label values are checked when it is read (the file is named). A dataset of
    your own (its label maps hold the train ids: no label_list, no reduce_zero_label) is
    also checked whole here, before training: its labels are hand-made. The scan is bound by
    PNG decoding (about 15 ms per 2048x1024 map on a 2-core CPU: 45 s for Cityscapes' 2975),
    which the paper's datasets are spared: tools/prepare_data.py checked their values.
    """

    def __init__(self, data_dir: str | Path, split: str, mapper: LabelMapper,
                 transforms: Compose, normalize: Normalize, input_mode: str = "BGR",
                 with_labels: bool = True, train: bool = False) -> None:
        split_dir = _require_dir(Path(data_dir) / split, f"{split} split")
        self.with_labels = with_labels
        self.items = (list_pairs(split_dir) if with_labels
                      else [(p, None) for p in list_unlabelled(split_dir)])
        if with_labels and mapper.raw_ids_are_train_ids:
            check_label_files(self.items, mapper)
        self.mapper, self.transforms, self.normalize = mapper, transforms, normalize
        self.input_mode, self.train = input_mode, train

    def __len__(self) -> int:
        return len(self.items)

    def read_label(self, path: Path) -> np.ndarray:
        return self.mapper.to_train_ids(read_raw_label(path), str(path))

    def __getitem__(self, index: int) -> dict[str, Any]:
        image_path, label_path = self.items[index]
        image = read_image(image_path, self.input_mode)
        label = self.read_label(label_path) if label_path is not None else None
        if label is not None and label.shape != image.shape[:2]:
            raise ValueError(f"{label_path}: label size {label.shape} differs from image "
                             f"{image_path} size {image.shape[:2]}")
        ori_size = image.shape[:2]
        image, aug_label = self.transforms(image, label if self.train else None)
        target = aug_label if self.train else label
        labelmap = None
        if target is not None:
            labelmap = torch.from_numpy(target.astype(np.int64))
            labelmap[labelmap == IGNORE] = -1
        meta = {"name": image_path.stem, "path": str(image_path), "ori_size": ori_size,
                "border_size": image.shape[:2]}
        return {"img": self.normalize(image), "labelmap": labelmap, "meta": meta}
