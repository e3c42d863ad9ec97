"""Log to the console (rank 0) and to `<output>/log_rank<r>.txt`; tensorboard on rank 0."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "[%(asctime)s %(name)s] (%(filename)s %(lineno)d) %(levelname)s: %(message)s"


def create_logger(output: Path, rank: int, name: str = "hrformer") -> logging.Logger:
    logger = logging.getLogger(f"{name}.rank{rank}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):  # a second run in the same process (tests)
        logger.removeHandler(handler)
        handler.close()
    if rank == 0:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        logger.addHandler(console)
    output.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(output / f"log_rank{rank}.txt", mode="a")
    file_handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    logger.addHandler(file_handler)
    return logger


def create_tensorboard_writer(output: Path, rank: int):
    """A SummaryWriter under `<output>/tensorboard` on rank 0, None elsewhere."""
    if rank != 0:
        return None
    from torch.utils.tensorboard import SummaryWriter  # heavy import, rank 0 only
    return SummaryWriter(log_dir=str(output / "tensorboard"))
