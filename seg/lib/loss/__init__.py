"""Segmentation losses selected by `--loss_type` (openseg names)."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.configer import Configer

IGNORE_INDEX = -1


class OhemCrossEntropy(nn.Module):
    """Online hard example mining cross-entropy (openseg's FSOhemCELoss).

    Pixels whose ground-truth probability is below a threshold are kept; the threshold is the
    larger of `thresh` and the probability of the `min_kept`-th easiest-ranked pixel, so at
    least about `min_kept` pixels are kept. The loss is the plain mean over kept pixels.
    """

    def __init__(self, thresh: float = 0.9, min_kept: int = 100000,
                 weight: Tensor | None = None, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.thresh, self.min_kept = thresh, max(1, min_kept)
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        prob = logits.float().softmax(dim=1)
        valid = (target != self.ignore_index).flatten()
        valid[0] = True   # never an empty selection (as the original)
        safe = target.clamp(min=0)
        gt_prob = prob.gather(1, safe.unsqueeze(1)).flatten()[valid]
        sorted_prob = gt_prob.sort().values
        threshold = max(sorted_prob[min(self.min_kept, sorted_prob.numel() - 1)].item(),
                        self.thresh)
        pixel_loss = F.cross_entropy(logits.float(), target, weight=self.weight,
                                     ignore_index=self.ignore_index, reduction="none")
        kept = pixel_loss.flatten()[valid][gt_prob < threshold]
        # no hard pixel at all: a zero loss that still reaches the parameters
        return kept.mean() if kept.numel() else logits.sum() * 0.0


class CrossEntropy(nn.Module):
    """Class-weighted mean cross-entropy ignoring label -1."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), target, weight=self.weight,
                               ignore_index=self.ignore_index)


class AuxLoss(nn.Module):
    """`seg_weight * main(out) + aux_weight * CE(out_aux)` for the (out_aux, out) outputs."""

    def __init__(self, main: nn.Module, aux: nn.Module, seg_weight: float,
                 aux_weight: float) -> None:
        super().__init__()
        self.main, self.aux = main, aux
        self.seg_weight, self.aux_weight = seg_weight, aux_weight

    def forward(self, outputs: Sequence[Tensor], target: Tensor) -> Tensor:
        out_aux, out = outputs
        return self.seg_weight * self.main(out, target) + self.aux_weight * self.aux(out_aux,
                                                                                     target)


def build_loss(configer: Configer) -> nn.Module:
    """`fs_auxce_loss`, `fs_auxohemce_loss`, `fs_ce_loss` or `fs_ohemce_loss` from the config."""
    params = configer.get("loss.params", default={})
    weight = params.get("ce_weight")
    weight = torch.tensor(weight, dtype=torch.float32) if weight else None
    num_classes = configer.get("data.num_classes")
    if weight is not None and weight.numel() != num_classes:
        raise ValueError(f"loss.params.ce_weight has {weight.numel()} values; expected "
                         f"data.num_classes={num_classes}")
    ignore = params.get("ce_ignore_index", IGNORE_INDEX)
    ce: Callable[[], nn.Module] = lambda: CrossEntropy(weight, ignore)
    ohem: Callable[[], nn.Module] = lambda: OhemCrossEntropy(
        params.get("ohem_thresh", 0.9), params.get("ohem_minkeep", 100000), weight, ignore)
    weights = configer.get("network.loss_weights", default={})
    seg_w, aux_w = weights.get("seg_loss", 1.0), weights.get("aux_loss", 0.4)
    builders = {
        "fs_auxce_loss": lambda: AuxLoss(ce(), ce(), seg_w, aux_w),
        "fs_auxohemce_loss": lambda: AuxLoss(ohem(), ce(), seg_w, aux_w),
        "fs_ce_loss": lambda: AuxLoss(ce(), ce(), seg_w, 0.0),
        "fs_ohemce_loss": lambda: AuxLoss(ohem(), ce(), seg_w, 0.0),
    }
    loss_type = configer.get("loss.loss_type")
    if loss_type not in builders:
        raise ValueError(f"loss.loss_type={loss_type!r}; expected one of {sorted(builders)}")
    return builders[loss_type]()
