"""Logging to stdout and an optional file (rank 0 only), and an ETA estimate."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from . import distributed

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: str = "info") -> None:
    """Rank 0 logs at `level` to stdout (and `log_file`); other ranks log warnings only."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(getattr(logging, level.upper()) if distributed.is_main() else logging.WARNING)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_file and distributed.is_main():
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%d %H:%M:%S"))
        root.addHandler(handler)


class ETA:
    """Remaining time from the running mean of iteration times."""

    def __init__(self, total_iters: int, start_iter: int = 0) -> None:
        self.total = total_iters
        self.start_iter = start_iter
        self.start = time.perf_counter()

    def seconds_per_iter(self, done: int) -> float:
        steps = max(done - self.start_iter, 1)
        return (time.perf_counter() - self.start) / steps

    def remaining(self, done: int) -> str:
        seconds = int(self.seconds_per_iter(done) * max(self.total - done, 0))
        hours, rest = divmod(seconds, 3600)
        return f"{hours:d}:{rest // 60:02d}:{rest % 60:02d}"
