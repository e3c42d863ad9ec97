"""Validation pass: predictions vs original-resolution labels into a reduced confusion
matrix."""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..metrics import RunningScore
from .inference import Predictor

log = logging.getLogger(__name__)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, predictor: Predictor, num_classes: int,
             device: torch.device, on_prediction: Callable | None = None) -> RunningScore:
    """Run `predictor` on every image of this process's shard, score the arg-max against the
    label (if any), call `on_prediction(pred, meta, logits)`, and all-reduce the matrix."""
    was_training = model.training
    model.eval()
    score = RunningScore(num_classes)
    for batch in loader:
        for img, label, meta in zip(batch["img"], batch["labelmap"], batch["meta"]):
            logits = predictor(model, img.to(device), meta)
            pred = logits.argmax(0).cpu()
            if label is not None:
                score.update(pred, label)
            if on_prediction is not None:
                on_prediction(pred.numpy().astype(np.uint8), meta, logits)
    model.train(was_training)
    return score.reduce()


def log_scores(score: RunningScore, class_names: list[str] | None = None) -> None:
    names = class_names or [str(i) for i in range(score.num_classes)]
    per_class = ", ".join(f"{n}: {v:.4f}" for n, v in zip(names, score.iou()))
    log.info("mIoU %.4f  pixel accuracy %.4f", score.miou(), score.pixel_accuracy())
    log.info("per-class IoU: %s", per_class)
