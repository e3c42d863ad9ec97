"""The images a command was given, reading one as the models expect it (PIL; numpy), and
the files a folder run skips because they cannot be read.

`read_image` decodes with PIL, as the cls and seg data loaders do (so an 8-bit file gives the
pixels training saw), and also takes what users' photos bring: the EXIF orientation of phone
photos is applied, 16-bit files are scaled to 8 bits (not clipped to white), grayscale,
palette and alpha images become 3-channel RGB. A file that cannot be decoded completely (a
truncated JPEG) is an error naming it.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
_HIGH_DEPTH_MODES = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0}


class ImageReadError(OSError):
    """An image file that cannot be decoded (missing, truncated, not an image)."""


def find_images(path: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """The image itself, or every image file below a folder (sorted); an error naming the
    path when there is none. A folder is never an image, whatever its name (`album.png/`);
    nothing below a folder of `exclude` (the run's output folder) is taken, so a run never
    reads its own results back."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such image or folder")
    left_out = [Path(e).resolve() for e in exclude]
    images = sorted(p for p in path.rglob("*")
                    if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                    and not any(p.resolve().is_relative_to(e) for e in left_out))
    if not images:
        raise FileNotFoundError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return images


class SkippedImages:
    """The files of a folder run that could not be read: each is named when it is met and
    skipped, the others are processed, and the list is printed at the end."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, str]] = []

    @contextmanager
    def skipping(self, path: Path) -> Iterator[None]:
        """Run the block for `path`; an ImageReadError skips the file instead of ending."""
        try:
            yield
        except ImageReadError as err:
            self.files.append((Path(path), str(err)))
            print(f"skipped: {err}", file=sys.stderr)

    def report(self) -> int:
        """Print what was skipped; the exit status: 1 if anything was, else 0."""
        if not self.files:
            return 0
        print(f"{len(self.files)} file(s) could not be read and were skipped:", file=sys.stderr)
        for path, _ in self.files:
            print(f"  {path}", file=sys.stderr)
        return 1


def _to_8bit(image) -> np.ndarray:
    """A PIL image of any mode as uint8 RGB; 16-bit and 32-bit channels scaled to 8 bits."""
    if image.mode in _HIGH_DEPTH_MODES or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = _HIGH_DEPTH_MODES.get(image.mode)
        if top is None:  # 32-bit integer or float: a 16-bit PNG opens as "I" in PIL
            top = 65535.0 if values.max(initial=0) > 255 else 255.0
        gray = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels over black, as cv2 and PIL's own RGB conversion do.
        return np.asarray(image.convert("RGBA").convert("RGB"))
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _deep_color(image, path: Path) -> bool:
    """A colour image with 16 bits per channel, which PIL would open cut to its top 8 bits."""
    if image.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        return len(header) == 26 and header[24] == 16 and header[25] in (2, 6)  # RGB(A)
    if image.format == "TIFF" and image.mode.startswith("RGB"):
        return max(image.tag_v2.get(258, (8,))) > 8   # BitsPerSample
    return False


def _read_deep_color(path: Path) -> np.ndarray:
    """16-bit colour as uint8 RGB, scaled (v / 257, rounded); cv2 applies the orientation."""
    import cv2
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if pixels is None:
        raise OSError("cv2 could not decode it")
    scaled = np.clip(np.rint(pixels.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    return scaled[:, :, ::-1]


def read_image(path: str | Path, channel_order: str = "RGB") -> np.ndarray:
    """The pixels of an image file as uint8 H x W x 3 in `channel_order` ("RGB" or "BGR"),
    upright (EXIF orientation applied), 8 bits per channel."""
    from PIL import Image, UnidentifiedImageError
    _check_order(channel_order)
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()  # decode fully: a truncated file fails here, not in a transform
            pixels = _read_deep_color(path) if _deep_color(image, path) else _pil_pixels(image)
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError,
            Image.DecompressionBombError) as err:  # the last: above PIL's pixel limit
        raise ImageReadError(f"cannot read image {path}: {err}") from err
    return _in_order(pixels, channel_order)


def load_pixels(image, channel_order: str = "RGB") -> np.ndarray:
    """The pixels of an inference API's input as uint8 H x W x 3 in `channel_order`.

    `image`: a file path (`read_image`); a PIL image (converted as `read_image` converts a
    file: EXIF orientation, 16 bits, gray / palette / alpha); or a numpy array, which must
    already be uint8 H x W x 3 in RGB order (as PIL and `read_image` give; not cv2's BGR).
    """
    from PIL import Image
    _check_order(channel_order)
    if isinstance(image, (str, Path)):
        return read_image(image, channel_order)
    if isinstance(image, Image.Image):
        return _in_order(_pil_pixels(image), channel_order)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image of type {type(image).__name__}: expected a file path, a PIL "
                        "image or an RGB uint8 H x W x 3 numpy array")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise ValueError(f"image array of shape {tuple(image.shape)} and dtype {image.dtype}: "
                         "expected RGB uint8 H x W x 3")
    return _in_order(image, channel_order)


def _check_order(channel_order: str) -> None:
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order={channel_order!r}; expected 'RGB' or 'BGR'")


def _pil_pixels(image) -> np.ndarray:
    """An opened PIL image as upright uint8 RGB (EXIF orientation applied)."""
    from PIL import ImageOps
    return _to_8bit(ImageOps.exif_transpose(image))


def _in_order(rgb: np.ndarray, channel_order: str) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1] if channel_order == "BGR" else rgb)
