"""Loading weights: openseg checkpoints (strict) and ImageNet initialisation (non-strict,
logged)."""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor, nn

from .backbones.hrformer import resize_relative_position_tables

log = logging.getLogger(__name__)

# Keys of the ImageNet classification head; a seg backbone has no use for them.
IMAGENET_HEAD_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")
_WRAPPER_PREFIX = "module."


class CheckpointError(ValueError):
    """A checkpoint does not match the model it is loaded into."""


@dataclass(frozen=True)
class LoadReport:
    """What a non-strict load did, key by key."""

    loaded: list[str]
    skipped: list[str]   # in the checkpoint, not in the model
    missing: list[str]   # in the model, not in the checkpoint (initial values kept)
    rebuilt: list[str]   # relative_position_index buffers dropped on purpose (model's kept)
    resized: list[str]   # relative position tables interpolated to larger windows


class _ConfigAsDict:
    """Unpickling stand-in for yacs' CfgNode (cls checkpoints store their config as one).

    The weights-only unpickler refuses to fill dict subclasses, so each node becomes a plain
    OrderedDict instead; no yacs code runs and yacs need not be installed.
    """

    def __new__(cls, *args: object) -> OrderedDict:
        return OrderedDict()


def _read(path: str | Path) -> dict:
    """torch.load with weights_only=True, accepting the cls layout's pickled config."""
    with torch.serialization.safe_globals([(_ConfigAsDict, "yacs.config.CfgNode")]):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"{path}: expected a dict, got {type(ckpt).__name__}")
    return ckpt


def _state_dict_at(ckpt: Mapping, key: str, path: str | Path) -> dict[str, Tensor]:
    if key not in ckpt:
        raise CheckpointError(f"{path}: no {key!r} entry (found {sorted(ckpt)})")
    return strip_wrapper_prefix(ckpt[key])


def strip_wrapper_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the `module.` prefix that DataParallel/DDP-wrapped models save."""
    return {k[len(_WRAPPER_PREFIX):] if k.startswith(_WRAPPER_PREFIX) else k: v
            for k, v in state.items()}


def _shape_mismatches(model_state: Mapping[str, Tensor],
                      state: Mapping[str, Tensor]) -> list[str]:
    return [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(model_state[k].shape)}"
            for k, v in state.items()
            if k in model_state and v.shape != model_state[k].shape]


def _listing(title: str, keys: list[str]) -> str:
    return f"\n  {title} ({len(keys)}): " + ", ".join(keys) if keys else ""


def load_state_dict_strict(model: nn.Module, state: Mapping[str, Tensor], source: str) -> None:
    """Load `state` by name; any missing, unexpected or mis-shaped key raises CheckpointError
    naming the key and `source`."""
    model_state = model.state_dict()
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    mismatched = _shape_mismatches(model_state, state)
    if missing or unexpected or mismatched:
        raise CheckpointError(
            f"{source} does not match {type(model).__name__}:"
            + _listing("missing keys", missing) + _listing("unexpected keys", unexpected)
            + _listing("shape mismatches", mismatched))
    model.load_state_dict(state, strict=False)


def load_segmentor_checkpoint(model: nn.Module, path: str | Path) -> None:
    """Load an openseg checkpoint (`{"state_dict": ...}`, keys maybe prefixed by `module.`)
    strictly into a segmentor."""
    state = _state_dict_at(_read(path), "state_dict", path)
    load_state_dict_strict(model, state, f"checkpoint {path}")


def load_imagenet_backbone(backbone: nn.Module, path: str | Path) -> LoadReport:
    """Initialise a backbone from an ImageNet checkpoint (`["model"]`), non-strictly.

    Keys the backbone lacks (the classification head) are skipped, relative position tables
    are resized for larger windows, and every skipped or missing key is logged. A shape
    mismatch that resizing cannot fix (e.g. a small checkpoint into a base backbone) raises.
    """
    state = _state_dict_at(_read(path), "model", path)
    original = {k: tuple(v.shape) for k, v in state.items()}
    state = resize_relative_position_tables(state, backbone)
    model_state = backbone.state_dict()
    mismatched = _shape_mismatches(model_state, state)
    if mismatched:
        raise CheckpointError(f"ImageNet checkpoint {path} does not fit the backbone:"
                              + _listing("shape mismatches", mismatched))
    usable = {k: v for k, v in state.items() if k in model_state}
    backbone.load_state_dict(usable, strict=False)
    report = LoadReport(
        loaded=sorted(usable),
        skipped=sorted(k for k in original if k not in model_state),
        missing=sorted(k for k in model_state if k not in usable and k not in original),
        rebuilt=sorted(k for k in model_state if k not in usable and k in original),
        resized=sorted(k for k, v in usable.items() if tuple(v.shape) != original[k]))
    unusual = [k for k in report.skipped if not k.startswith(IMAGENET_HEAD_PREFIXES)]
    log.info("ImageNet init from %s: loaded %d keys, resized %d relative position tables, "
             "kept the model's %d relative_position_index buffers%s%s",
             path, len(report.loaded), len(report.resized), len(report.rebuilt),
             _listing("skipped checkpoint keys", report.skipped),
             _listing("missing backbone keys (initial values kept)", report.missing))
    if unusual:
        log.warning("ImageNet init from %s: skipped keys outside the classification head: %s",
                    path, ", ".join(unusual))
    return report
