"""Tiny end-to-end runs of main.py on a generated dataset."""
from __future__ import annotations

from pathlib import Path

from tools.make_demo_data import generate

DEMO_CONFIG = "configs/demo/H_48_D_4.json"


def make_dataset(root: Path, num_train: int = 4, num_val: int = 2) -> Path:
    return generate(root / "data", num_train=num_train, num_val=num_val, seed=1)


def train_args(data: Path, ckpt_dir: Path, max_iters: int = 2, batch: int = 2) -> list[str]:
    return ["--configs", DEMO_CONFIG, "--phase", "train", "--data_dir", str(data),
            "--max_iters", str(max_iters), "--test_interval", "2", "--display_iter", "1",
            "--train_batch_size", str(batch), "--val_batch_size", "2",
            "checkpoints.checkpoints_dir", str(ckpt_dir), "lr.warm.warm_iters", "1",
            "logging.tensorboard", "false"]


def eval_args(data: Path, ckpt: Path, out_dir: Path, config: str = DEMO_CONFIG) -> list[str]:
    return ["--configs", config, "--phase", "test", "--data_dir", str(data), "--resume",
            str(ckpt), "--out_dir", str(out_dir), "--test_split", "val"]
