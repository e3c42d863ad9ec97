"""The segmentor of an openseg-layout checkpoint as inference and export need it (loaded in
one place, `load_segmentor`), the exported view of it, and the flags that name it."""
from __future__ import annotations

import argparse
from typing import Callable

from torch import Tensor, nn

from hrformer_common.model_card import ModelCard
from hrformer_common.runners import Runner
from ..models import SEGMENTORS, build_segmentor
from ..models.backbones.hrformer import reparameterize_model
from ..segmentor.checkpoints import load_segmentor_checkpoint
from ..segmentor.configured_segmentor import resolve_backbone

# `out` (final logits at input size) first, as deployment users read the first output.
OUTPUT_NAMES = ("out", "out_aux")
INPUT_LAYOUT = "NCHW float32 in the dataset config's channel order and normalisation"


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
    openseg layout (`{"state_dict": ...}`, `module.` keys allowed) loaded strictly; eval mode,
    not yet folded (see `inference_net`)."""
    spec, in_channels = resolve_backbone(backbone)
    model = build_segmentor(model_name, spec, num_classes, in_channels=in_channels)
    load_segmentor_checkpoint(model, checkpoint)
    return model.eval()


def inference_net(model_name: str, backbone: str, num_classes: int, checkpoint: str,
                  input_size: tuple[int, int] | None = None) -> tuple[ExportNet, ModelCard]:
    """What export and inference run: the loaded segmentor as (out, out_aux), folded for
    inference (`reparameterize_model`: BatchNorm folded once, refuses training), and its model
    card, taken before the fold (the checkpoint's own values)."""
    net = ExportNet(load_segmentor(model_name, backbone, num_classes, checkpoint))
    card = model_card(net, model_name, backbone, num_classes, input_size)
    return reparameterize_model(net), card


def model_card(net: ExportNet, model_name: str, backbone: str, num_classes: int,
               input_size: tuple[int, int] | None = None) -> ModelCard:
    """The card of a loaded segmentor (before folding), as export writes it and a run with an
    exported file checks it; `input_size` None: images of any size."""
    return ModelCard.of(net, task="seg", variant=f"{model_name} on {backbone}",
                        num_classes=num_classes, outputs=OUTPUT_NAMES,
                        input_layout=INPUT_LAYOUT,
                        input_size=None if input_size is None else
                        f"{input_size[0]}x{input_size[1]}")


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


