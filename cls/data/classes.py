"""The classes of the folder layout: their names (the class folders, sorted as ImageFolder
sorts them, so name i is class index i) and their count, checked against MODEL.NUM_CLASSES
before anything is built."""
from __future__ import annotations

from pathlib import Path

from .datasets import DataLayoutError, class_folders

SPLITS = ("train", "val")
_SHOWN = 10


def _listed(names: list[str]) -> str:
    more = f", ... (+{len(names) - _SHOWN})" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more if names else "none"


def folder_class_names(root: str | Path) -> list[str]:
    """The class names of `<root>/train` and `<root>/val`; where both are there they must
    hold the same class folders (a class index means the same class in both)."""
    root = Path(root)
    found = {split: class_folders(root / split) for split in SPLITS if (root / split).is_dir()}
    if not found:
        raise DataLayoutError(f"{root}: expected folders train/<class>/ and val/<class>/")
    if len(found) == len(SPLITS) and found["train"] != found["val"]:
        train, val = set(found["train"]), set(found["val"])
        raise DataLayoutError(
            f"{root}: train/ and val/ hold different class folders; only in train/: "
            f"{_listed(sorted(train - val))}; only in val/: {_listed(sorted(val - train))}")
    return next(iter(found.values()))


def resolve_num_classes(root: str | Path, names: list[str], configured: int, given: bool,
                        exact: bool) -> int:
    """MODEL.NUM_CLASSES for the class folders `names` of `root`: their count when the config
    does not give one; a given count must equal it when `exact` (training), else it is kept
    (evaluating a model of more classes on some of them)."""
    if not given:
        return len(names)
    if exact and configured != len(names):
        raise DataLayoutError(
            f"MODEL.NUM_CLASSES={configured}, but {root} holds {len(names)} class folders "
            f"({_listed(names)}); leave MODEL.NUM_CLASSES out to take the count from the "
            "folders, or give the data the classes of the model")
    return configured
