"""Shared helpers: the segmentor behind each seg manifest and a cls-layout checkpoint writer.

Reference data, recipe weights and the tolerance come from hrformer_common/testing.py.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from yacs.config import CfgNode

from hrformer_common.testing import fixture, manifest, recipe_state_dict
from lib.models import build_segmentor
from lib.models.backbones.hrformer import relative_position_index

# manifest -> (model name, backbone); the micro entry takes its layout from its fixture.
SEG_MANIFESTS = {
    "seg_hrt_small_ocr_v2": ("hrt_small_ocr_v2", "hrt_small"),
    "seg_hrt_small_ocr_v3": ("hrt_small_ocr_v3", "hrt_small"),
    "seg_hrt_base_ocr_v2": ("hrt_base_ocr_v2", "hrt_base"),
    "seg_hrt_base_ocr_v3": ("hrt_base_ocr_v3", "hrt_base"),
    "seg_hrt_base_ocr_v2_win13": ("hrt_base_ocr_v2", "hrt_base_win13"),
    "seg_hrt_base_ocr_v2_win15": ("hrt_base_ocr_v2", "hrt_base_win15"),
    "seg_hrt_base_ocr_v3_win15": ("hrt_base_ocr_v3", "hrt_base_win15"),
    "seg_micro_ocr_v2": ("hrt_small_ocr_v2", None),
}
NUM_CLASSES = 19


def micro_config() -> dict:
    return fixture("seg_micro_ocr_v2")["config"]


@pytest.fixture(scope="session")
def micro_layout(tmp_path_factory) -> Path:
    """The micro fixture's stage layout as a JSON file, for `--backbone`."""
    path = tmp_path_factory.mktemp("layout") / "hrt_micro_layout.json"
    path.write_text(json.dumps(micro_config()))
    return path


def build_for_manifest(name: str) -> nn.Module:
    """The segmentor a seg manifest describes, with default initialisation."""
    model_name, backbone = SEG_MANIFESTS[name]
    if backbone is None:
        return build_segmentor(model_name, micro_config(), NUM_CLASSES, in_channels=240)
    return build_segmentor(model_name, backbone, NUM_CLASSES)


def save_cls_checkpoint(name: str, path: Path) -> dict[str, Tensor]:
    """Write a cls-layout (Swin-style) checkpoint of manifest `name` with recipe weights,
    integer buffers included as a trained file has them; return its state dict."""
    state = recipe_state_dict(manifest(name)["keys"])
    for key, shape, dtype in manifest(name)["keys"]:
        if key.endswith("relative_position_index"):
            state[key] = relative_position_index(math.isqrt(shape[0]))
        elif dtype.startswith("int"):
            state[key] = torch.zeros(shape, dtype=torch.int64)
    config = CfgNode({"MODEL": CfgNode({"NAME": name}), "DATA": CfgNode({"IMG_SIZE": 224})})
    torch.save({"model": state, "config": config, "epoch": 299, "max_accuracy": 0.0}, path)
    return state
