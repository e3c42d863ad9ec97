"""Datasets, transforms, loaders and mixup from the yacs config (timm components)."""
from __future__ import annotations

from pathlib import Path

import torch
from timm.data import Mixup, create_transform
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.data._utils.collate import default_collate

from .datasets import DataLayoutError, ImageFolderDataset, ZipImageDataset
from .samplers import ShardSampler, ShuffledShardSampler

# Eval resize then centre crop: 224 -> 256 -> 224, as the original (int(256 / 224 * size)).
EVAL_CROP_PCT = 224 / 256
ZIP_FILES = ("train.zip", "val.zip", "train_map.txt", "val_map.txt")


def detect_zip_layout(root: str | Path) -> bool:
    """True when `root` holds the zipped layout, False for the folder layout.

    Raises DataLayoutError saying what was looked for when neither is there.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataLayoutError(f"data path not found: {root}")
    present = [name for name in ZIP_FILES if (root / name).is_file()]
    if len(present) == len(ZIP_FILES):
        return True
    if (root / "train").is_dir() or (root / "val").is_dir():
        return False
    raise DataLayoutError(
        f"{root}: no ImageNet layout found; expected folders train/<class>/ and val/<class>/, "
        f"or the files {', '.join(ZIP_FILES)}" + (f" (found only {present})" if present else ""))


def resolve_zip_mode(root: str | Path, required: bool) -> bool:
    """The layout `root` holds (True: zipped); `required` (--zip) makes the zipped one
    mandatory. Raises DataLayoutError naming what was looked for."""
    zip_mode = detect_zip_layout(root)
    if required and not zip_mode:
        raise DataLayoutError(f"--zip given but {root} lacks {', '.join(ZIP_FILES)}")
    return zip_mode


def build_transform(config, is_train: bool):
    aug = config.AUG
    if is_train:
        return create_transform(
            input_size=config.DATA.IMG_SIZE, is_training=True,
            scale=tuple(aug.SCALE), hflip=aug.HFLIP,
            color_jitter=aug.COLOR_JITTER if aug.COLOR_JITTER > 0 else None,
            auto_augment=aug.AUTO_AUGMENT if aug.AUTO_AUGMENT not in ("", "none") else None,
            re_prob=aug.REPROB, re_mode=aug.REMODE, re_count=aug.RECOUNT,
            interpolation=config.DATA.INTERPOLATION)
    # TEST.CROP=False resizes straight to IMG_SIZE x IMG_SIZE ("squash").
    crop = config.TEST.CROP
    return create_transform(
        input_size=config.DATA.IMG_SIZE, is_training=False,
        interpolation=config.DATA.INTERPOLATION,
        crop_pct=EVAL_CROP_PCT if crop else 1.0, crop_mode="center" if crop else "squash")


def build_dataset(config, split: str, rank: int, world_size: int, zip_mode: bool):
    root = Path(config.DATA.DATA_PATH)
    transform = build_transform(config, split == "train")
    skip = config.DATA.SKIP_CORRUPT
    if zip_mode:
        # The original always part-caches the validation set in zip mode.
        cache = config.DATA.CACHE_MODE if split == "train" else "part"
        return ZipImageDataset(root, split, transform, cache, rank, world_size, skip)
    return ImageFolderDataset(root / split, transform, skip)


def collate_skipping(batch: list) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(images, targets, number of corrupt samples dropped from this batch)."""
    kept = [sample for sample in batch if sample is not None]
    if not kept:
        raise RuntimeError(f"all {len(batch)} images of a batch were unreadable")
    images, targets = default_collate(kept)
    return images, targets, len(batch) - len(kept)


def _check_classes(train, val, num_classes: int) -> None:
    for name, dataset in (("train", train), ("val", val)):
        top = max(dataset.targets)
        if top >= num_classes:
            raise DataLayoutError(f"{name} set has class index {top} but MODEL.NUM_CLASSES="
                                  f"{num_classes}; set MODEL.NUM_CLASSES to at least {top + 1}")


def build_loaders(config, rank: int = 0, world_size: int = 1, train: bool = True):
    """(train_set, val_set, train_loader, val_loader); the train entries are None when
    `train` is False (evaluation only). The layout is detected again (main.py has already
    stored it in DATA.ZIP_MODE; other callers may leave it False = detect)."""
    zip_mode = resolve_zip_mode(config.DATA.DATA_PATH, config.DATA.ZIP_MODE)
    common = dict(batch_size=config.DATA.BATCH_SIZE, num_workers=config.DATA.NUM_WORKERS,
                  pin_memory=config.DATA.PIN_MEMORY and torch.cuda.is_available(),
                  collate_fn=collate_skipping, persistent_workers=False)
    val_set = build_dataset(config, "val", rank, world_size, zip_mode)
    val_loader = DataLoader(val_set, sampler=ShardSampler(len(val_set), rank, world_size),
                            drop_last=False, **common)
    if not train:
        _check_classes(val_set, val_set, config.MODEL.NUM_CLASSES)
        return None, val_set, None, val_loader
    train_set = build_dataset(config, "train", rank, world_size, zip_mode)
    _check_classes(train_set, val_set, config.MODEL.NUM_CLASSES)
    if zip_mode and config.DATA.CACHE_MODE == "part":
        sampler = ShuffledShardSampler(len(train_set), rank, world_size, config.SEED)
    else:
        sampler = DistributedSampler(train_set, world_size, rank, shuffle=True, seed=config.SEED)
    train_loader = DataLoader(train_set, sampler=sampler, drop_last=True, **common)
    if len(train_loader) == 0:
        raise DataLayoutError(f"train set has {len(train_set)} images, fewer than one batch of "
                              f"{config.DATA.BATCH_SIZE} per process x {world_size} processes")
    return train_set, val_set, train_loader, val_loader


def build_mixup(config) -> Mixup | None:
    """timm Mixup/CutMix with label smoothing, or None when both alphas are 0."""
    aug = config.AUG
    if not (aug.MIXUP > 0 or aug.CUTMIX > 0 or aug.CUTMIX_MINMAX is not None):
        return None
    return Mixup(mixup_alpha=aug.MIXUP, cutmix_alpha=aug.CUTMIX, cutmix_minmax=aug.CUTMIX_MINMAX,
                 prob=aug.MIXUP_PROB, switch_prob=aug.MIXUP_SWITCH_PROB, mode=aug.MIXUP_MODE,
                 label_smoothing=config.MODEL.LABEL_SMOOTHING,
                 num_classes=config.MODEL.NUM_CLASSES)
