"""Bad input for the tests of the predict commands: image files users' folders hold that
cannot be read (a folder run names and skips them; one given alone is an error), and the
checks every task's command passes alike (errors named before the model loads)."""
from __future__ import annotations

import io
import re
import struct
import zlib
from contextlib import redirect_stderr
from pathlib import Path
from typing import Callable, Sequence


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_huge_png(path: Path, width: int = 20_000, height: int = 10_000) -> Path:
    """A PNG of a few bytes whose header says `width` x `height` (by default 200 Mpx, above
    PIL's decompression-bomb limit, so opening it is refused before any pixel is read)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
                     + _chunk(b"IDAT", zlib.compress(b"\0")) + _chunk(b"IEND", b""))
    return path


def write_unreadable_images(folder: Path, photo: Path) -> list[Path]:
    """Into `folder`: a truncated copy of the JPEG `photo`, the `._` metadata file macOS
    leaves beside a copied photo, an empty PNG and text named `.jpg`, and a sub-folder named
    `album.png` (a folder, never an image). Returns the four unreadable files, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    data = photo.read_bytes()
    files = {"cut.jpg": data[: len(data) // 3],
             f"._{photo.name}": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(64),
             "empty.png": b"",
             "notes.jpg": b"a text file with an image's name\n"}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    (folder / "album.png").mkdir(exist_ok=True)
    return sorted(folder / name for name in files)


def argparse_error(main: Callable[[list[str]], object], argv: list[str]) -> str:
    """The message argparse ends `main(argv)` with, exit status 2 (after `<prog>: error: `)."""
    import pytest
    stream = io.StringIO()
    with redirect_stderr(stream), pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2, stream.getvalue()
    return stream.getvalue().strip().splitlines()[-1].split(": error: ", 1)[1]


def check_named_before_loading(main: Callable[[list[str]], object],
                               argv: Callable[[Path, Sequence[str]], list[str]],
                               folder: Path, image: Path) -> None:
    """Issue 24, row 2, for a predict command whose `argv(input, flags)` names a checkpoint
    that does not exist: a corrupt `.onnx` (under openvino), a 200-Mpx PNG and `--threads -1`
    are each an error naming the file or value, so none of them reached the model."""
    import pytest
    broken = folder / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage, not a protobuf" * 10)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(broken))}: not a readable ONNX "
                                         r"file \(corrupt"):
        main(argv(image, ["--backend", "openvino", "--onnx", str(broken)]))
    huge = write_huge_png(folder / "panorama.png")
    with pytest.raises(OSError, match=rf"cannot read image {re.escape(str(huge))}: Image "
                                      r"size \(200000000 pixels\) exceeds limit"):
        main(argv(huge, []))
    assert argparse_error(main, argv(image, ["--threads", "-1"])) == (
        "argument --threads: '-1': expected an integer >= 1")
