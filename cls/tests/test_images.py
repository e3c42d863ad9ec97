"""hrformer_common.images.read_image on the files users bring: 16-bit, EXIF-rotated,
grayscale, palette, alpha, truncated."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from hrformer_common.images import ImageReadError, find_images, read_image

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)


def test_an_8bit_file_gives_the_pixels_pil_gives(tmp_path: Path) -> None:
    Image.fromarray(PIXELS).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), PIXELS)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png", "BGR"), PIXELS[:, :, ::-1])


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_colour_is_scaled_to_the_8bit_picture(tmp_path: Path, suffix: str) -> None:
    deep = PIXELS.astype(np.uint16) * 257          # the same picture at 16 bits per channel
    cv2.imwrite(str(tmp_path / f"deep{suffix}"), deep[:, :, ::-1])
    np.testing.assert_array_equal(read_image(tmp_path / f"deep{suffix}"), PIXELS)


def test_16bit_gray_is_scaled_not_clipped(tmp_path: Path) -> None:
    gray = PIXELS[:, :, 0]
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    got = read_image(tmp_path / "gray16.png")
    np.testing.assert_array_equal(got, np.repeat(gray[:, :, None], 3, axis=2))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.fromarray(PIXELS)
    exif = image.getexif()
    exif[0x0112] = 6                      # stored landscape, shown rotated 90 degrees clockwise
    image.save(tmp_path / "phone.jpg", exif=exif, quality=100)
    got = read_image(tmp_path / "phone.jpg")
    assert got.shape == (40, 30, 3)
    upright = np.rot90(np.asarray(Image.open(tmp_path / "phone.jpg").convert("RGB")), k=-1)
    np.testing.assert_array_equal(got, upright)


def test_gray_palette_and_alpha_become_rgb(tmp_path: Path) -> None:
    Image.fromarray(PIXELS[:, :, 0]).save(tmp_path / "l.png")
    Image.fromarray(PIXELS).convert("P").save(tmp_path / "p.png")
    rgba = np.dstack([PIXELS, np.full(PIXELS.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert read_image(tmp_path / "l.png")[3, 4].tolist() == [PIXELS[3, 4, 0]] * 3
    assert read_image(tmp_path / "p.png").shape == (30, 40, 3)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), PIXELS)


def test_a_truncated_or_foreign_file_is_named(tmp_path: Path) -> None:
    Image.fromarray(PIXELS).save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.jpg").write_text("not an image")
    for name in ("cut.jpg", "notes.jpg"):
        with pytest.raises(ImageReadError, match=f"cannot read image {tmp_path / name}"):
            read_image(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "absent.jpg")


def test_find_images_recurses_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.JPG", "a/b/y.png", "a/readme.txt"):
        (tmp_path / name).write_bytes(b"")
    assert find_images(tmp_path) == [tmp_path / "a" / "b" / "y.png", tmp_path / "a" / "x.JPG"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty: no images"):
        find_images(tmp_path / "empty")
