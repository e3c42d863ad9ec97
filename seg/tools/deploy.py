"""What the seg export / predict tools share: the segmentor from an openseg-layout checkpoint
(loaded in one place, `load_segmentor`), the exported view of it, and the runtime flags."""
from __future__ import annotations

import argparse
from typing import Callable

from torch import Tensor, nn

from lib.models import SEGMENTORS, build_segmentor
from hrformer_common.runtime import Runner, add_runtime_args  # noqa: F401  (re-exported)
from lib.models.backbones.hrformer import reparameterize_model
from lib.models.checkpoint import load_segmentor_checkpoint
from lib.segmentor.model_builder import resolve_backbone

# `out` (final logits at input size) first, as deployment users read the first output.
OUTPUT_NAMES = ("out", "out_aux")


class ExportNet(nn.Module):
    """The segmentor with its outputs as (out, out_aux)."""

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        out_aux, out = self.segmentor(x)
        return out, out_aux


def load_segmentor(model_name: str, backbone: str, num_classes: int, checkpoint: str) -> nn.Module:
    """`build_segmentor` for a backbone name or stage-layout JSON, with a checkpoint in the
    openseg layout (`{"state_dict": ...}`, `module.` keys allowed) loaded strictly, folded for
    inference (`reparameterize_model`: eval mode, refuses training)."""
    spec, in_channels = resolve_backbone(backbone)
    model = build_segmentor(model_name, spec, num_classes, in_channels=in_channels)
    load_segmentor_checkpoint(model, checkpoint)
    return reparameterize_model(model)


def as_segmentor(runner: Runner) -> Callable[[Tensor], tuple[Tensor]]:
    """A runner in the segmentor's calling convention for lib.segmentor.inference (which reads
    the main logits as the last output)."""
    return lambda x: (runner(x)["out"].to(x.device),)


def add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backbone", required=True,
                        help="hrt_small, hrt_base, hrt_base_win13, hrt_base_win15 or a "
                             "stage-layout JSON file")
    parser.add_argument("--model_name", required=True, choices=sorted(SEGMENTORS))
    parser.add_argument("--num_classes", type=int, default=19)
    parser.add_argument("--checkpoint", required=True,
                        help="openseg-layout checkpoint ({'state_dict': ...})")


