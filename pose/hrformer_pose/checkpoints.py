"""Checkpoint files under mmengine: safe loading that names the file, the shape check,
the atomic file backend, and the backbone's initialisation.

Loading: every checkpoint mmengine reads (`init_model`, `tools/test.py`, `--resume`,
`--load-from`, `load_from`), a local file or an http(s) URL, goes through
`hrformer_common.checkpoint.load_checkpoint`: weights-only (a pickle that would run code is
refused), errors name the file, cls files with their pickled yacs config load too, a URL is
downloaded once into torch's hub cache with its hash prefix checked (`hrformer_common.hub`).
`refuse_shape_mismatches` makes a backbone checkpoint of another variant an error naming the
file, instead of mmengine's size-mismatch warnings; the file's name travels with its weights
(`record_source`).

Writing: the `hrformer_atomic_local` file backend replaces a file atomically
(`hrformer_common.atomic.write_atomic`); `hooks.AtomicCheckpointHook` saves through it.

Backbone initialisation (`load_pretrained_backbone`): from an ImageNet (cls) or pose
checkpoint, as the original did, logging what was loaded, skipped and missing.
"""
from __future__ import annotations

import os
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Iterable, Mapping

from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch import nn

from hrformer_common.atomic import write_atomic
from hrformer_common.checkpoint import (WRAPPER_PREFIX, CheckpointError, LoadReport,
                                        backbone_state_dict, load_checkpoint, load_weights)
from .mmpose_layout import from_mmpose_layout

ATOMIC_BACKEND = "hrformer_atomic_local"
WEIGHTS = "state_dict"  # where mmengine looks for the weights (else the whole checkpoint)
SOURCE_FIELD = "hrformer_source"  # in a module's `_metadata` entry: the file it was read from


def _module_names(keys: Iterable[str]) -> set[str]:
    """Every module a state dict has weights for ("" is the model), with and without the
    `module.` of a wrapped model (mmengine strips it from the keys, not from `_metadata`)."""
    names = set()
    for key in keys:
        for name in (key, key.removeprefix(WRAPPER_PREFIX)):
            parts = name.split(".")[:-1]
            names.update(".".join(parts[:end]) for end in range(len(parts) + 1))
    return names


def record_source(checkpoint: dict, path: str) -> dict:
    """`checkpoint` with its weights naming `path` in the `_metadata` entry of each module.

    torch hands a module's load_state_dict pre-hooks its own entry (`local_metadata`), and
    mmengine keeps `_metadata` when it renames the keys, so the shape check can name the file
    the weights came from. The entries' other fields (module versions) are kept.
    """
    nested = WEIGHTS in checkpoint
    weights = checkpoint[WEIGHTS] if nested else checkpoint
    if not isinstance(weights, Mapping):
        return checkpoint  # not weights: mmengine reports it
    metadata = OrderedDict(getattr(weights, "_metadata", {}))
    for module in _module_names(weights):
        metadata[module] = {**metadata.get(module, {}), SOURCE_FIELD: path}
    state = OrderedDict(weights)
    state._metadata = metadata
    return {**checkpoint, WEIGHTS: state} if nested else state


@CheckpointLoader.register_scheme(prefixes=("", "http://", "https://"), force=True)
def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """mmengine's loader for local paths and URLs, weights-only (tensors on the CPU; mmengine
    moves the model afterwards); the weights name the file (`record_source`)."""
    path = os.path.expanduser(filename)
    return record_source(load_checkpoint(path), path)


def refuse_shape_mismatches(module: nn.Module, state_dict: dict, prefix: str,
                            local_metadata: dict, *args) -> None:
    """load_state_dict pre-hook: a tensor of another shape is an error naming the file
    (`record_source`), before any is copied."""
    report = LoadReport(local_metadata.get(SOURCE_FIELD, "a checkpoint"))
    for key, own in module.state_dict().items():
        theirs = state_dict.get(prefix + key)
        if theirs is not None and theirs.shape != own.shape:
            report.mismatched.append(f"{prefix}{key}: checkpoint {tuple(theirs.shape)} vs "
                                     f"model {tuple(own.shape)}")
    if report.mismatched:
        raise CheckpointError(f"checkpoint does not fit {type(module).__name__} (another "
                              f"variant?): {report.summary()}")


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """LocalBackend whose `put` replaces the file atomically."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        write_atomic(obj, filepath)


# Backbone initialisation.
# Modules of the ImageNet model that the pose backbone does not build: the classification
# head, and the stage-4 fusion branches (the pose backbone outputs the 1/4 branch only).
_UNUSED_PREFIXES = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.",
                    "stage4.")


def _group(keys: list[str]) -> str:
    """Keys grouped by module (first four name parts), e.g. `stage4.1.fuse_layers.1.* (46)`."""
    groups = Counter(".".join(k.split(".")[:4]) for k in keys)
    return ", ".join(f"{g}.* ({n})" if n > 1 or g not in keys else g
                     for g, n in sorted(groups.items())) or "none"


def load_pretrained_backbone(model: nn.Module, path: str) -> LoadReport:
    """Load matching backbone weights non-strictly and log exactly what was left out.

    Keys of the ImageNet classification head and the stage-4 fusion branches that the pose
    backbone does not build are skipped; relative position tables are resized when the window
    sizes differ. A shape mismatch is an error naming the file and the keys.
    """
    # mmpose 1.x HRFormer names are read too
    state = from_mmpose_layout(backbone_state_dict(load_checkpoint(path), path))
    report = load_weights(model, state, path, strict=False, skip_prefixes=_UNUSED_PREFIXES)
    print_log(f"HRT: initialised from {path}: {len(report.loaded)} tensors loaded; "
              f"skipped {len(report.skipped)} (not in the pose backbone): "
              f"{_group(report.skipped)}; missing {len(report.missing)} (keep their init): "
              f"{_group(report.missing)}; unexpected {len(report.unexpected)}: "
              f"{_group(report.unexpected)}", logger="current")
    return report
