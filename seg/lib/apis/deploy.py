"""The segmentor of an openseg-layout checkpoint as inference and export need it (loaded in
one place, `load_segmentor`), the network a dataset config names, the exported view of it
(`InferenceNet`), and the flags that name it."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch import Tensor, nn

from hrformer_common.model_card import ModelCard
from hrformer_common.runners import Runner
from ..datasets import DatasetClasses
from ..models import SEGMENTORS, build_segmentor
from ..models.backbones.hrformer import reparameterize_model
from ..segmentor.checkpoints import load_segmentor_checkpoint
from ..segmentor.configured_segmentor import resolve_backbone
from ..utils.configer import Configer

# `out` (final logits at input size) first, as deployment users read the first output.
OUTPUT_NAMES = ("out", "out_aux")
INPUT_LAYOUT = "NCHW float32 in the dataset config's channel order and normalisation"
# The dataset config of the commands when none is given (the released models' first table).
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "cityscapes" / "H_48_D_4.json"


@dataclass(frozen=True)
class Network:
    """The segmentor a dataset config names (`network.model_name`, `network.backbone`,
    `data.num_classes`), with the caller's overrides, and its classes (names, colours)."""
    model_name: str
    backbone: str
    num_classes: int
    classes: DatasetClasses

    @classmethod
    def of(cls, configer: Configer, source: str | Path, model_name: str | None = None,
           backbone: str | None = None, num_classes: int | None = None) -> "Network":
        found = configer.get("data.num_classes")
        if num_classes is not None and num_classes != found:
            raise ValueError(f"num_classes {num_classes}, but {source} has "
                             f"data.num_classes={found}")
        model_name = model_name or configer.get("network.model_name", default=None)
        backbone = backbone or configer.get("network.backbone", default=None)
        if not (model_name and backbone):
            raise ValueError(f"{source}: no network.model_name / network.backbone; give "
                             "model_name and backbone")
        return cls(model_name, backbone, found, DatasetClasses.of(configer))


class InferenceNet(nn.Module):
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
    not yet folded (see `inference_model`)."""
    spec, in_channels = resolve_backbone(backbone)
    model = build_segmentor(model_name, spec, num_classes, in_channels=in_channels)
    load_segmentor_checkpoint(model, checkpoint)
    return model.eval()


def inference_model(model: str | Path, checkpoint: str, *, model_name: str | None = None,
                    backbone: str | None = None, num_classes: int | None = None,
                    input_size: tuple[int, int] | None = None, device: str = "cpu"
                    ) -> tuple[InferenceNet, ModelCard]:
    """What export and inference run: the segmentor the dataset config `model` names (or
    `model_name` / `backbone`; `num_classes` must agree with the config) with `checkpoint`, as
    (out, out_aux), folded for inference (`reparameterize_model`: BatchNorm folded once,
    refuses training), on `device`, and its model card, taken before the fold."""
    network = Network.of(Configer.from_file(model), model, model_name, backbone, num_classes)
    net = InferenceNet(load_segmentor(network.model_name, network.backbone,
                                      network.num_classes, checkpoint))
    card = model_card(net, network, input_size)
    return reparameterize_model(net).to(device), card


def model_card(net: InferenceNet, network: Network,
               input_size: tuple[int, int] | None = None) -> ModelCard:
    """The card of a loaded segmentor (before folding), as export writes it and a run with an
    exported file checks it; `input_size` None: images of any size."""
    return ModelCard.of(net, task="seg", variant=f"{network.model_name} on {network.backbone}",
                        num_classes=network.num_classes, outputs=OUTPUT_NAMES,
                        input_layout=INPUT_LAYOUT, labels=network.classes.names,
                        input_size=None if input_size is None else
                        f"{input_size[0]}x{input_size[1]}")


def as_segmentor(runner: Runner) -> Callable[[Tensor], tuple[Tensor]]:
    """A runner in the segmentor's calling convention for lib.segmentor.inference (which reads
    the main logits as the last output)."""
    return lambda x: (runner(x)["out"].to(x.device),)


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--model (the dataset config), --checkpoint and the network overrides, as in cls's and
    pose's commands (the underscore spellings: main.py's)."""
    parser.add_argument("--model", "--configs", default=str(DEFAULT_CONFIG), metavar="CONFIG",
                        help="dataset JSON config: classes, label ids, normalisation and the "
                             "network (default: Cityscapes)")
    parser.add_argument("--checkpoint", required=True,
                        help="openseg-layout checkpoint ({'state_dict': ...})")
    parser.add_argument("--backbone", help="instead of the config's: hrt_small, hrt_base, "
                                           "hrt_base_win13, hrt_base_win15 or a layout JSON")
    parser.add_argument("--model-name", "--model_name", dest="model_name",
                        choices=sorted(SEGMENTORS), help="instead of the config's")
    parser.add_argument("--num-classes", "--num_classes", dest="num_classes", type=int,
                        help="must agree with the config's data.num_classes")
