"""Shared helpers: reference data, model builders per manifest, output comparison."""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import torch
from torch import Tensor, nn
from yacs.config import CfgNode

from lib.models import build_segmentor
from lib.models.backbones.hrformer import recipe_state_dict, relative_position_index
from lib.models.backbones.hrformer_checkpoint import load_weights

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / ".." / "shared" / "reference"

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


@functools.cache
def manifest(name: str) -> dict:
    with open(REFERENCE / "keys" / f"{name}.json") as f:
        return json.load(f)


@functools.cache
def fixture(name: str) -> dict:
    return torch.load(REFERENCE / "fixtures" / f"{name}.pt", weights_only=True)


def micro_config() -> dict:
    return fixture("seg_micro_ocr_v2")["config"]


def build_for_manifest(name: str) -> nn.Module:
    """The segmentor a seg manifest describes, with default initialisation."""
    model_name, backbone = SEG_MANIFESTS[name]
    if backbone is None:
        return build_segmentor(model_name, micro_config(), NUM_CLASSES, in_channels=240)
    return build_segmentor(model_name, backbone, NUM_CLASSES)


def load_recipe_weights(model: nn.Module, name: str) -> dict[str, Tensor]:
    """Strictly load the RECIPE.md weights of manifest `name` (integer buffers stay built)
    and return them."""
    state = recipe_state_dict(manifest(name)["keys"])
    load_weights(model, state, f"recipe weights of {name}")
    return state


def assert_matches_reference(out: Tensor, ref: Tensor, what: str) -> None:
    """README tolerance: |out - ref| <= 2e-5 * max|ref| + 1e-4, elementwise."""
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} vs {tuple(ref.shape)}"
    err = (out - ref).abs()
    bound = 2e-5 * ref.abs().max() + 1e-4
    assert bool((err <= bound).all()), f"{what}: max error {err.max():.3g} > {bound:.3g}"


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
