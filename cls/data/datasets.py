"""The two ImageNet layouts of the original, with checks before training starts.

Folder layout: `<root>/train/<class>/<image>` and `<root>/val/<class>/<image>`.
Zip layout: `<root>/{train,val}.zip` plus `<root>/{train,val}_map.txt`, one line per image,
`<member path inside the zip>\t<class index>`.

An unreadable image raises `CorruptImageError` naming the file; with `skip_corrupt` the dataset
returns None for it instead, and the loader's collate function drops and counts it.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Callable

from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes

# The original's zip map files accept these (case-insensitive).
ZIP_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif")
Transform = Callable[[Image.Image], object]


class DataLayoutError(FileNotFoundError):
    """The data path does not hold the expected layout (reported before training starts)."""


class CorruptImageError(RuntimeError):
    """An image file or zip member could not be decoded."""


def decode_rgb(source: str | io.BytesIO, name: str) -> Image.Image:
    """Decode fully (so truncation shows up here, not later in a transform) as RGB."""
    try:
        with Image.open(source) as img:
            return img.convert("RGB")
    except (OSError, ValueError, SyntaxError) as err:
        raise CorruptImageError(f"cannot decode image {name}: {err}") from err


def class_folders(root: Path) -> list[str]:
    """The class folder names of `root`, sorted as torchvision's ImageFolder sorts them."""
    try:
        return find_classes(str(root))[0]
    except FileNotFoundError as err:
        raise DataLayoutError(f"{root}: no class folders found ({err})") from err


class _SkippingDataset(Dataset):
    """Shared __getitem__: decode, transform, and either raise or skip corrupt images."""

    classes: list[str] | None = None  # the class names, where the layout has them

    def __init__(self, transform: Transform | None, skip_corrupt: bool) -> None:
        self.transform = transform
        self.skip_corrupt = skip_corrupt

    def load(self, index: int) -> tuple[Image.Image, int]:
        raise NotImplementedError

    def __getitem__(self, index: int):
        try:
            image, target = self.load(index)
        except CorruptImageError:
            if self.skip_corrupt:
                return None
            raise
        if self.transform is not None:
            image = self.transform(image)
        return image, target


class ImageFolderDataset(_SkippingDataset):
    """`<root>/<class>/<image>`; classes sorted by name (torchvision's ImageFolder order)."""

    def __init__(self, root: Path, transform: Transform | None = None,
                 skip_corrupt: bool = False) -> None:
        super().__init__(transform, skip_corrupt)
        if not root.is_dir():
            raise DataLayoutError(f"image folder not found: {root} "
                                  f"(expected {root}/<class>/<image>)")
        self.classes = class_folders(root)
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples: list[tuple[str, int]] = []
        for name in self.classes:
            folder = root / name
            files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXTENSIONS))
            if not files:
                raise DataLayoutError(f"class folder {folder} holds no images (expected files "
                                      f"ending in one of {', '.join(IMG_EXTENSIONS)})")
            self.samples += [(str(folder / f), self.class_to_idx[name]) for f in files]
        self.targets = [t for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[Image.Image, int]:
        path, target = self.samples[index]
        return decode_rgb(path, path), target


def read_map_file(path: Path) -> list[tuple[str, int]]:
    """Parse `<member>\t<class index>` lines, naming the file and line of any bad one."""
    if not path.is_file():
        raise DataLayoutError(f"zip layout: map file not found: {path}")
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or not parts[1].strip().isdigit():
                raise DataLayoutError(f"{path}:{number}: expected '<path>\\t<class index>', "
                                      f"got {line.rstrip()!r}")
            member = parts[0].strip("/")
            if not member.lower().endswith(ZIP_EXTENSIONS):
                raise DataLayoutError(f"{path}:{number}: {member!r} does not end in one of "
                                      f"{', '.join(ZIP_EXTENSIONS)}")
            entries.append((member, int(parts[1])))
    if not entries:
        raise DataLayoutError(f"zip layout: map file {path} lists no images")
    return entries


class ZipImageDataset(_SkippingDataset):
    """Images stored in `<root>/<split>.zip`, labelled by `<root>/<split>_map.txt`.

    cache_mode: "no" reads every image from the zip; "full" keeps all bytes in memory; "part"
    keeps only the samples this rank reads (index % world_size == rank), as the original did.
    """

    def __init__(self, root: Path, split: str, transform: Transform | None = None,
                 cache_mode: str = "no", rank: int = 0, world_size: int = 1,
                 skip_corrupt: bool = False) -> None:
        super().__init__(transform, skip_corrupt)
        if cache_mode not in ("no", "full", "part"):
            raise ValueError(f"DATA.CACHE_MODE={cache_mode!r}; expected 'no', 'full' or 'part'")
        self.zip_path = root / f"{split}.zip"
        if not self.zip_path.is_file():
            raise DataLayoutError(f"zip layout: archive not found: {self.zip_path}")
        self.samples = read_map_file(root / f"{split}_map.txt")
        self.targets = [t for _, t in self.samples]
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid = -1
        members = set(self._archive().namelist())
        missing = [m for m, _ in self.samples if m not in members]
        if missing:
            raise DataLayoutError(f"{self.zip_path}: {len(missing)} images of {split}_map.txt "
                                  f"are not in the archive, e.g. {missing[:3]}")
        self.cache: dict[int, bytes] = {}
        if cache_mode != "no":
            for i in range(len(self.samples)):
                if cache_mode == "full" or i % world_size == rank:
                    self.cache[i] = self._read(i)
        self._zip = None  # reopened lazily in each worker process

    def _archive(self) -> zipfile.ZipFile:
        # A ZipFile handle must not be shared across forked workers.
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip, self._zip_pid = zipfile.ZipFile(self.zip_path), os.getpid()
        return self._zip

    def _read(self, index: int) -> bytes:
        member = self.samples[index][0]
        try:
            return self._archive().read(member)
        except (zipfile.BadZipFile, OSError) as err:
            raise CorruptImageError(f"cannot read {self.zip_path}@/{member}: {err}") from err

    def __len__(self) -> int:
        return len(self.samples)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zip": None, "_zip_pid": -1}

    def load(self, index: int) -> tuple[Image.Image, int]:
        data = self.cache.get(index)
        if data is None:
            data = self._read(index)
        member, target = self.samples[index]
        return decode_rgb(io.BytesIO(data), f"{self.zip_path}@/{member}"), target
