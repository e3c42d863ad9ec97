"""What every dataset converter shares: the sample list, writing one split into openseg's
`<save_dir>/<split>/{image,label}/` layout (copy or symlink, skip what is finished, progress
bar), label-value checks and the comparison with the official split sizes."""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import scipy.io
from PIL import Image
from tqdm import tqdm

from hrformer_common.atomic import atomic_path, temp_path

# A label reader returns the raw-id map of one source label file.
LabelReader = Callable[[Path], np.ndarray]


@dataclass(frozen=True)
class Sample:
    """One image of a split: its source files and the stem it is saved under."""
    image: Path
    label: Path | None  # None for unlabelled splits (Cityscapes test)
    name: str


@dataclass(frozen=True)
class Split:
    """One output split: `dst` under save_dir, its samples, the official image count, and
    where the samples were looked for (named when none is found)."""
    dst: str
    samples: list[Sample]
    official: int
    searched: str


def with_suffix(folder: Path, pattern: str, suffix: str) -> list[Path]:
    """Files of `folder` matching `pattern` + `suffix`, sorted; the suffix in any letter case
    (`.jpg`, `.JPG`), as archives extracted on other systems name them."""
    return sorted(p for p in folder.glob(f"{pattern}.*") if p.suffix.lower() == suffix)


class FolderIndex:
    """Look files of one folder up by name, ignoring the suffix's letter case."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._by_lower = {p.name.lower(): p for p in folder.iterdir()} if folder.is_dir() else {}

    def find(self, stem: str, suffix: str) -> Path:
        """`folder/stem.suffix` (any case of the suffix); the expected path if absent."""
        return self._by_lower.get(f"{stem}{suffix}".lower(), self.folder / f"{stem}{suffix}")


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what}: folder {path} does not exist")
    return path


def require_label(image: Path, label: Path) -> Path:
    """An image whose label file is missing stops the run, naming both paths."""
    if not label.is_file():
        raise FileNotFoundError(f"image {image} has no label file {label}")
    return label


def read_list(path: Path) -> list[str]:
    """A split list (one name per line, blank lines skipped)."""
    if not path.is_file():
        raise FileNotFoundError(f"split list {path} does not exist")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def check_values(raw: np.ndarray, valid: np.ndarray, source: Path) -> None:
    """`valid` is a boolean table over the raw values; any other value is an error."""
    values = np.unique(raw)
    bad = [int(v) for v in values if v >= len(valid) or v < 0 or not valid[v]]
    if bad:
        allowed = np.flatnonzero(valid)
        raise ValueError(f"{source}: label values {bad[:10]} are not raw ids of this dataset "
                         f"(expected {int(allowed.min())}..{int(allowed.max())})")


def read_png_ids(path: Path) -> np.ndarray:
    """A single-channel label PNG as an integer array."""
    with Image.open(path) as image:
        if image.mode not in ("L", "P", "I", "I;16"):
            raise ValueError(f"{path}: label image mode {image.mode}; expected a "
                             "single-channel PNG of raw ids")
        return np.asarray(image)


def read_mat_labels(path: Path, key: str, what: str) -> np.ndarray:
    """The 2-D label map stored as variable `key` of a MATLAB file."""
    try:
        mat = scipy.io.loadmat(path, variable_names=[key])
    except (ValueError, NotImplementedError) as err:
        raise ValueError(f"{path}: not a readable MATLAB file ({err})") from err
    if key not in mat:
        raise ValueError(f"{path}: no variable {key!r} ({what})")
    ids = np.asarray(mat[key])
    if ids.ndim != 2:
        raise ValueError(f"{path}: {key!r} has shape {ids.shape}; expected height x width")
    return ids.astype(np.int64)


def _put_image(source: Path, target: Path, link: bool) -> None:
    if link:
        tmp = temp_path(target)
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source.resolve())
        os.replace(tmp, target)
    else:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)


def _put_label(ids: np.ndarray, target: Path) -> None:
    """Raw ids (already checked against the dataset's range, all below 256) as a PNG."""
    with atomic_path(target) as tmp:
        Image.fromarray(ids.astype(np.uint8), mode="L").save(tmp, format="PNG")


def image_done(source: Path, target: Path, link: bool) -> bool:
    """Whether `target` is a finished copy (same size) or link of `source`: a file cut short
    under its final name (a copy by hand, a full disk) is redone, not skipped."""
    if link:
        return target.is_symlink() and target.resolve() == source.resolve()
    return target.is_file() and not target.is_symlink() \
        and target.stat().st_size == source.stat().st_size


def label_done(target: Path) -> bool:
    """Whether `target` is a whole, decodable label PNG."""
    if not target.is_file():
        return False
    try:
        with Image.open(target) as image:
            image.load()
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def write_split(split: Split, save_dir: Path, read_label: LabelReader, link: bool,
                desc: str) -> tuple[int, int]:
    """Write one split; returns (written, skipped). A sample whose outputs all exist is
    skipped, so a re-run only does what is missing."""
    image_dir = save_dir / split.dst / "image"
    label_dir = save_dir / split.dst / "label"
    image_dir.mkdir(parents=True, exist_ok=True)
    if any(s.label is not None for s in split.samples):
        label_dir.mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    for sample in tqdm(split.samples, desc=desc, unit="img", file=sys.stderr,
                       dynamic_ncols=True):
        image_out = image_dir / (sample.name + sample.image.suffix.lower())
        label_out = label_dir / (sample.name + ".png") if sample.label else None
        image_ok = image_done(sample.image, image_out, link)
        label_ok = label_out is None or label_done(label_out)
        if image_ok and label_ok:
            skipped += 1
            continue
        if not label_ok:
            _put_label(read_label(sample.label), label_out)
        if not image_ok:
            _put_image(sample.image, image_out, link)
        written += 1
    return written, skipped


def listed_split(dst: str, listed: Path, official: int, images: FolderIndex,
                 labels: FolderIndex, label_suffix: str) -> Split:
    """A split whose image names come from a list file (COCO-Stuff, PASCAL-Context): each
    named `.jpg` image (any letter case) with its label `<name><label_suffix>`."""
    samples = []
    for name in read_list(listed):
        image = images.find(name, ".jpg")
        if not image.is_file():
            raise FileNotFoundError(f"{listed} names {name}, but {image} does not exist")
        samples.append(Sample(image, require_label(image, labels.find(name, label_suffix)),
                              name))
    return Split(dst, samples, official, f"the names listed in {listed}")


def require_samples(dataset: str, splits: Iterable[Split]) -> None:
    """A split without a single image is an error naming where it was searched (a wrong
    --ori_root_dir or an unextracted archive), not a count warning."""
    for split in splits:
        if not split.samples:
            raise FileNotFoundError(f"{dataset} {split.dst}: no images found; searched "
                                    f"{split.searched}")


def compare_counts(dataset: str, splits: Iterable[Split]) -> list[str]:
    """One line per split: its image count against the official one (warnings say what
    differs: a partial download is allowed)."""
    lines = []
    for split in splits:
        n = len(split.samples)
        if n == split.official:
            lines.append(f"{dataset} {split.dst}: {n} images, as the official split")
        else:
            lines.append(f"WARNING: {dataset} {split.dst}: {n} images, the official split has "
                         f"{split.official} ({n - split.official:+d}; partial download?)")
    return lines
