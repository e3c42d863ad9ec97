"""Offline scoring of written predictions: `python -m lib.metrics.evaluate --configs X.json
--pred_dir OUT/label --gt_dir DATA/val/label`. Both folders hold raw-id PNGs (e.g. Cityscapes
label ids); both are mapped to train ids with the dataset's rules before scoring."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..datasets import build_mapper
from ..datasets.seg_dataset import open_image
from ..utils.configer import Configer
from .running_score import RunningScore


def score_folders(configer: Configer, pred_dir: str | Path, gt_dir: str | Path) -> RunningScore:
    mapper = build_mapper(configer)
    preds = sorted(Path(pred_dir).glob("*.png"))
    if not preds:
        raise FileNotFoundError(f"prediction folder {pred_dir} holds no PNG files")
    score = RunningScore(configer.get("data.num_classes"))
    for pred_path in preds:
        gt_path = Path(gt_dir) / pred_path.name
        if not gt_path.is_file():
            raise FileNotFoundError(f"prediction {pred_path} has no ground truth {gt_path}")
        gt = mapper.to_train_ids(open_image(gt_path).astype(np.uint8), str(gt_path))
        pred = mapper.to_train_ids(open_image(pred_path).astype(np.uint8), str(pred_path))
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path}: size {pred.shape} differs from {gt_path} {gt.shape}")
        score.update(pred.astype(np.int64), np.where(gt == 255, -1, gt))
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", required=True)
    parser.add_argument("--pred_dir", required=True)
    parser.add_argument("--gt_dir", required=True)
    args = parser.parse_args()
    score = score_folders(Configer.from_file(args.configs), args.pred_dir, args.gt_dir)
    print(json.dumps({"mIoU": score.miou(), "pixel_acc": score.pixel_accuracy(),
                      "per_class_iou": [round(float(v), 4) for v in score.iou()]}, indent=1))


if __name__ == "__main__":
    main()
