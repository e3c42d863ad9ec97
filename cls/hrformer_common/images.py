"""Finding the images a command was given (standard library only)."""
from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


def find_images(path: Path) -> list[Path]:
    """The image itself, or every image below a folder (sorted); an error naming the path
    when there is none."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such image or folder")
    images = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return images
