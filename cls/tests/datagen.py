"""Tiny generated ImageNet-style data sets (folder and zip layouts) for the tests."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("n001", "n002", "n003")


def _image(rng: np.random.Generator, label: int, size: int) -> Image.Image:
    """Noise with a class-dependent colour bias, so a model can learn something."""
    pixels = rng.integers(0, 120, (size, size, 3))
    pixels[..., label] += 120
    return Image.fromarray(pixels.astype(np.uint8))


def make_folder_layout(root: Path, train_per_class: int = 4, val_per_class: int = 3,
                       size: int = 36, seed: int = 0) -> Path:
    """root/{train,val}/<class>/<i>.png"""
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                _image(rng, label, size).save(folder / f"{name}_{i}.png")
    return root


def make_zip_layout(folder_root: Path, root: Path) -> Path:
    """The zipped layout of a folder layout: members `<class>/<file>` at the zip root."""
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        lines = []
        with zipfile.ZipFile(root / f"{split}.zip", "w") as archive:
            for label, name in enumerate(CLASSES):
                for path in sorted((folder_root / split / name).iterdir()):
                    member = f"{name}/{path.name}"
                    archive.write(path, member)
                    lines.append(f"{member}\t{label}\n")
        (root / f"{split}_map.txt").write_text("".join(lines))
    return root
