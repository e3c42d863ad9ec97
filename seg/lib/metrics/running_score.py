"""Confusion matrix over all evaluated pixels; IoU, mIoU and pixel accuracy from it."""
from __future__ import annotations

import numpy as np
import torch

from ..utils import distributed


class RunningScore:
    """Rows = ground truth, columns = prediction; pixels with a label or prediction outside
    [0, num_classes) (ignore = -1 or 255) are skipped."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: torch.Tensor | np.ndarray, label: torch.Tensor | np.ndarray) -> None:
        pred = torch.as_tensor(np.asarray(pred) if not torch.is_tensor(pred) else pred)
        label = torch.as_tensor(np.asarray(label) if not torch.is_tensor(label) else label)
        pred, label = pred.flatten().long().cpu(), label.flatten().long().cpu()
        keep = (label >= 0) & (label < self.num_classes) & (pred >= 0) & (pred < self.num_classes)
        index = label[keep] * self.num_classes + pred[keep]
        self.matrix += torch.bincount(index, minlength=self.num_classes ** 2).view(
            self.num_classes, self.num_classes)

    def reduce(self) -> "RunningScore":
        """Sum the matrices of all processes (gloo/NCCL all-reduce)."""
        device = "cuda" if distributed.is_distributed() and \
            torch.distributed.get_backend() == "nccl" else "cpu"
        matrix = self.matrix.to(device)
        distributed.all_reduce_sum(matrix)
        self.matrix = matrix.cpu()
        return self

    def iou(self) -> np.ndarray:
        """Per-class IoU = TP / (TP + FP + FN); nan for classes absent from both."""
        m = self.matrix.double().numpy()
        tp = np.diag(m)
        union = m.sum(0) + m.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return tp / union

    def miou(self) -> float:
        return float(np.nanmean(self.iou())) if not np.all(np.isnan(self.iou())) else 0.0

    def pixel_accuracy(self) -> float:
        total = self.matrix.sum().item()
        return float(self.matrix.diag().sum().item() / total) if total else 0.0
