"""Video frames in and out with OpenCV: a file or a webcam (`cv2.VideoCapture`), and an mp4
written frame by frame ('mp4v', `cv2.VideoWriter`) under a temporary name, renamed into place
once complete (`hrformer_common.atomic`), so a stopped run never leaves half a video under
the final name.
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


class VideoError(OSError):
    """A video or webcam that cannot be opened or written; the message names it."""


def is_webcam(source: str) -> bool:
    """A webcam index ("0", "1", ...) rather than a file."""
    return source.isdigit()


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
        if not self.capture.isOpened():
            what = f"webcam {self.name}" if webcam else f"video {self.name}"
            raise VideoError(f"cannot open {what} (OpenCV could not read it)")
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
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
    appears under `path` when the block ends without an error."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path, self.fps, self.size = Path(path), float(fps), tuple(size)

    def __enter__(self) -> "VideoSink":
        with ExitStack() as stack:
            self._temp = stack.enter_context(atomic_path(self.path))
            # OpenCV picks the container by the suffix: `<temp>.mp4`, renamed at the end.
            self._written = self._temp.with_name(self._temp.name + self.path.suffix)
            self.writer = cv2.VideoWriter(str(self._written), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, self.size)
            if not self.writer.isOpened():
                raise VideoError(f"cannot write the video {self.path} (OpenCV's mp4v writer "
                                 "did not open)")
            self._stack = stack.pop_all()
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"{self.path}: frame of {frame.shape[1]}x{frame.shape[0]}; the "
                             f"video is {self.size[0]}x{self.size[1]}")
        self.writer.write(np.ascontiguousarray(frame[:, :, ::-1]))

    def __exit__(self, kind: type | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool | None:
        self.writer.release()
        if kind is None:
            os.replace(self._written, self._temp)
        else:
            self._written.unlink(missing_ok=True)
        return self._stack.__exit__(kind, error, trace)
