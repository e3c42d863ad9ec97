"""The segmentor a config describes (`build_segmentor` with the config's backbone, norm layer and
drop path), initialised from `--pretrained` (ImageNet or segmentation weights), on its device."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from torch import nn

from hrformer_common.hub import is_url
from ..models import DROP_PATH_RATE, build_segmentor
from ..utils import distributed
from ..utils.configer import Configer
from .checkpoints import load_pretrained

log = logging.getLogger(__name__)


def resolve_backbone(spec: str | dict) -> tuple[str | dict, int | None]:
    """A backbone name, a stage-layout dict, or a JSON file holding one; with the head width a
    layout implies (None for names: the model name fixes it)."""
    if isinstance(spec, str) and spec.endswith(".json"):
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"backbone layout file {path} does not exist")
        spec = json.loads(path.read_text())
    if isinstance(spec, dict):
        return spec, sum(spec["STAGE4"]["NUM_CHANNELS"])
    return spec, None


def resolve_bn_type(bn_type: str, device: torch.device) -> str:
    """SyncBN needs several CUDA processes; plain BN is used otherwise."""
    if "sync" in bn_type and (device.type != "cuda" or not distributed.is_distributed()):
        log.info("bn_type=%s: using plain BatchNorm (single process or CPU)", bn_type)
        return "torchbn"
    return bn_type


def configured_segmentor(configer: Configer, device: torch.device) -> nn.Module:
    """`network.*` and `data.num_classes` of the config; `network.pretrained` (a file or URL:
    ImageNet weights for the backbone, or a segmentation checkpoint for all but the
    classifiers of another class count, `load_pretrained`) initialises it unless
    `network.resume` is set (the resumed weights replace it)."""
    pretrained = configer.get("network.pretrained", default=None)
    resume = configer.get("network.resume", default=None)
    if pretrained and resume:
        log.info("--pretrained %s is not read: the weights of --resume %s replace it",
                 pretrained, resume)
        pretrained = None
    if pretrained and not is_url(pretrained) and not Path(pretrained).is_file():
        raise FileNotFoundError(f"--pretrained checkpoint {pretrained} does not exist (ImageNet "
                                "weights, a segmentation checkpoint or a URL; set --pretrained "
                                "or PRETRAINED_ROOT)")
    backbone, in_channels = resolve_backbone(configer.get("network.backbone"))
    model = build_segmentor(
        configer.get("network.model_name"), backbone, configer.get("data.num_classes"),
        in_channels=in_channels,
        norm_layer=resolve_bn_type(configer.get("network.bn_type", default="torchbn"), device),
        with_cp=configer.get("network.with_cp", default=False),
        drop_path_rate=float(configer.get("network.drop_path_rate", default=DROP_PATH_RATE)))
    if pretrained:
        load_pretrained(model, pretrained)
    return model.to(device)
