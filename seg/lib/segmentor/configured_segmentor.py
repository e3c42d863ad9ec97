"""Build the configured segmentor: backbone choice, norm layer, drop path, ImageNet init."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from torch import nn

from ..models import build_segmentor
from ..models.checkpoint import load_imagenet_backbone
from ..utils import distributed
from ..utils.configer import Configer

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


def drop_path_rate(configer: Configer) -> float:
    """Config value, else the `drop_path_rate` environment variable the original scripts
    export, else the original seg backbone's default 0.2."""
    value = configer.get("network.drop_path_rate", default=None)
    if value is None:
        value = os.environ.get("drop_path_rate", 0.2)
    return float(value)


def build_model(configer: Configer, device: torch.device) -> nn.Module:
    backbone, in_channels = resolve_backbone(configer.get("network.backbone"))
    model = build_segmentor(
        configer.get("network.model_name"), backbone, configer.get("data.num_classes"),
        in_channels=in_channels,
        norm_layer=resolve_bn_type(configer.get("network.bn_type", default="torchbn"), device),
        with_cp=configer.get("network.with_cp", default=False),
        drop_path_rate=drop_path_rate(configer))
    pretrained = configer.get("network.pretrained", default=None)
    if pretrained and not configer.get("network.resume", default=None):
        if not Path(pretrained).is_file():
            raise FileNotFoundError(f"pretrained ImageNet checkpoint {pretrained} does not "
                                    "exist (set --pretrained or PRETRAINED_ROOT)")
        load_imagenet_backbone(model.backbone, pretrained)
    return model.to(device)
