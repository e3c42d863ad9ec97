"""Video frames in and out with OpenCV: a file or a webcam (`cv2.VideoCapture`), and an mp4
written frame by frame ('mp4v', `cv2.VideoWriter`) under a temporary name, renamed into place
once complete (`hrformer_common.atomic`), so a stopped run never leaves half a video under
the final name.

OpenCV writes frames of even width and height only (it cuts an odd side's last column or
row), so a frame of an odd size is padded with one black column or row at the right or
bottom: nothing is lost and image coordinates stay those of the input.
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Iterator

import cv2
import numpy as np

from hrformer_common.atomic import atomic_path

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
WEBCAM_FPS = 30.0  # what a webcam that reports no frame rate is written at
MAX_WEBCAM_INDEX = 99  # OpenCV reads larger indexes as a capture API's offset plus a camera
MAX_FPS = 65535.0  # mp4v's time base is a 16-bit number of ticks per second


class VideoError(OSError):
    """A video or webcam that cannot be opened or written; the message names it."""


def is_webcam(source: str) -> bool:
    """A webcam index ("0" to "99") that names no existing file or folder (a folder named
    `2024` is a folder)."""
    text = str(source)
    return (text.isascii() and text.isdigit() and int(text) <= MAX_WEBCAM_INDEX
            and not Path(text).exists())


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


class VideoSource:
    """The RGB frames of a video file or a webcam, with its size and frame rate."""

    def __init__(self, source: str | Path) -> None:
        self.name = str(source)
        webcam = is_webcam(self.name)
        if not webcam and not Path(source).is_file():
            raise FileNotFoundError(f"video not found: {source}")
        self.capture = cv2.VideoCapture(int(self.name) if webcam else self.name)
        what = f"webcam {self.name}" if webcam else f"video {self.name}"
        if not self.capture.isOpened():
            raise VideoError(f"cannot open {what} (OpenCV could not read it)")
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self.width < 1 or self.height < 1:
            self.capture.release()
            raise VideoError(f"cannot open {what}: no video frames (OpenCV reports "
                             f"{self.width}x{self.height})")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and fps > 0 else WEBCAM_FPS
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 and not webcam else None  # None: unknown

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            yield np.ascontiguousarray(frame[:, :, ::-1])

    def close(self) -> None:
        self.capture.release()


class VideoSink:
    """`with VideoSink(path, fps, (width, height)) as sink: sink.write(rgb_frame)`; the file
    appears under `path` when the block ends without an error. Entering the block opens the
    writer (a frame rate or size it cannot take is an error then, before any frame).
    `replace=False`: a file at `path` is never replaced (see `hrformer_common.atomic`)."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int],
                 replace: bool = True) -> None:
        self.path, self.fps, self.size = Path(path), float(fps), tuple(size)
        self.replace = replace
        # the size written: each side rounded up to an even number (see the module docstring)
        self.written_size = tuple(side + side % 2 for side in self.size)

    def __enter__(self) -> "VideoSink":
        if not 0.0 < self.fps <= MAX_FPS:
            raise VideoError(f"cannot write the video {self.path} at {self.fps:g} frames/s: "
                             f"the mp4 writer (mp4v) takes at most {MAX_FPS:g} frames/s")
        with ExitStack() as stack:
            self._temp = stack.enter_context(atomic_path(self.path, self.replace))
            # OpenCV picks the container by the suffix: `<temp>.mp4`, renamed at the end.
            self._written = self._temp.with_name(self._temp.name + self.path.suffix)
            self.writer = cv2.VideoWriter(str(self._written), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, self.written_size)
            if not self.writer.isOpened():
                raise VideoError(f"cannot write the video {self.path} (OpenCV's mp4v writer "
                                 f"did not open for {self.size[0]}x{self.size[1]} at "
                                 f"{self.fps:g} frames/s)")
            self._stack = stack.pop_all()
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"{self.path}: frame of {frame.shape[1]}x{frame.shape[0]}; the "
                             f"video is {self.size[0]}x{self.size[1]}")
        bgr = np.ascontiguousarray(frame[:, :, ::-1])
        (width, height), (even_width, even_height) = self.size, self.written_size
        if (width, height) != (even_width, even_height):
            bgr = cv2.copyMakeBorder(bgr, 0, even_height - height, 0, even_width - width,
                                     cv2.BORDER_CONSTANT, value=(0, 0, 0))
        self.writer.write(bgr)

    def __exit__(self, kind: type | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool | None:
        self.writer.release()
        if kind is None:
            os.replace(self._written, self._temp)
        else:
            self._written.unlink(missing_ok=True)
        return self._stack.__exit__(kind, error, trace)
