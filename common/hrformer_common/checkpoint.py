"""Checkpoint files of HRFormer, shared by cls/, pose/ and seg/ (torch and stdlib only).

- `load_checkpoint`: weights-only loading (a pickle that would run code is refused) that
  also reads the released files: cls files pickle their yacs `CfgNode` config, which is read
  as a plain OrderedDict (no yacs code runs, yacs need not be installed).
- `state_dict_of` / `backbone_state_dict`: the weights of any released layout (`model`,
  `state_dict`, a bare dict of tensors; `module.` and `backbone.` prefixes).
- `resize_relative_position_tables`: adapt tables trained with another window size.
- `load_weights` -> `LoadReport`: missing, unexpected and shape-mismatched keys; strict mode
  raises `CheckpointError` naming the file.
- `load_fitting_weights` -> `LoadReport`: fine-tuning; every tensor whose name and shape fit
  is loaded, the rest (a head of another class count) stays initialised and is named in
  `LoadReport.fine_tune_summary()`, one line.
- `load_checkpoint` takes an http(s) URL too: downloaded once into torch's hub cache
  (`hub.py`).
- `save_atomic`: `torch.save` through the atomic writer (`atomic.py`).
"""
from __future__ import annotations

import math
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .atomic import atomic_file
from .hub import resolve_checkpoint

# The weights-only unpickler cannot rebuild a dict subclass: read yacs' CfgNode as its base.
CFGNODE_AS_ORDERED_DICT = (OrderedDict, "yacs.config.CfgNode")
WEIGHT_ENTRIES = ("state_dict", "model")  # mmengine/openseg files, then cls files
WRAPPER_PREFIX = "module."
BACKBONE_PREFIX = "backbone."
_SHOWN_KEYS = 5
# The weights-only unpickler's words for bytes that are no pickle torch writes (a text file,
# random bytes): not an attempt to run code, just not a checkpoint.
NOT_A_PICKLE = "Unsupported operand"


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or does not fit the model it is loaded into."""


def load_checkpoint(path: str | Path) -> dict:
    """`torch.load(weights_only=True)` on the CPU; every failure names the file. An http(s)
    URL is downloaded once into torch's hub cache first (`hub.resolve_checkpoint`)."""
    path = resolve_checkpoint(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals([CFGNODE_AS_ORDERED_DICT]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the unpickler raises several types; name the file in all
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        if isinstance(err, pickle.UnpicklingError) and NOT_A_PICKLE not in str(err):
            raise CheckpointError(
                f"refusing to load {path}: it is not a weights-only checkpoint (loading it "
                f"could run code). {_unsafe_global(str(err)) or first_line}") from err
        reason = _unpickler_line(str(err), NOT_A_PICKLE) or f"{type(err).__name__}: {first_line}"
        raise CheckpointError(f"cannot read checkpoint {path} (truncated or not a torch "
                              f"file?): {reason}") from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{path}: expected a dict checkpoint, got "
                              f"{type(checkpoint).__name__}")
    return dict(checkpoint)


def _unsafe_global(message: str) -> str:
    """torch's line naming the refused global, e.g. '... unsupported GLOBAL posix.system ...'."""
    return _unpickler_line(message, "GLOBAL")


def _unpickler_line(message: str, word: str) -> str:
    """The line of the weights-only unpickler's message that holds `word`, or ''."""
    return next((line.strip() for line in message.splitlines() if word in line), "")


def state_dict_of(checkpoint: Mapping, source: str) -> dict[str, Tensor]:
    """The weights under `state_dict` or `model`, or the checkpoint itself if it holds only
    tensors; the `module.` prefix of (Distributed)DataParallel is dropped."""
    entry = next((checkpoint[k] for k in WEIGHT_ENTRIES if k in checkpoint), checkpoint)
    if not isinstance(entry, Mapping) or not entry or \
            not all(isinstance(v, Tensor) for v in entry.values()):
        raise CheckpointError(f"{source}: expected a {' or '.join(map(repr, WEIGHT_ENTRIES))} "
                              "entry holding tensors; top-level keys are "
                              f"{sorted(checkpoint)[:10]}")
    return {k.removeprefix(WRAPPER_PREFIX): v for k, v in entry.items()}


def backbone_state_dict(checkpoint: Mapping, source: str) -> dict[str, Tensor]:
    """Backbone weights of any released layout: a pose/seg file's `backbone.*` keys without
    the prefix, else all keys (a cls file: backbone and classification head)."""
    state = state_dict_of(checkpoint, source)
    if any(k.startswith(BACKBONE_PREFIX) for k in state):
        return {k[len(BACKBONE_PREFIX):]: v for k, v in state.items()
                if k.startswith(BACKBONE_PREFIX)}
    return state


def resize_relative_position_tables(state_dict: Mapping[str, Tensor],
                                    model: nn.Module) -> dict[str, Tensor]:
    """Adapt a checkpoint trained with one window size to `model`'s windows.

    Like the original: each bias table is resized bilinearly as a (2w-1)^2 grid per head, and
    the `relative_position_index` buffers are dropped (the model's own are kept).
    """
    target = model.state_dict()
    out = {}
    for key, value in state_dict.items():
        if key.endswith("relative_position_index"):
            continue
        if key.endswith("relative_position_bias_table") and key in target \
                and target[key].shape != value.shape:
            src, dst = math.isqrt(value.shape[0]), math.isqrt(target[key].shape[0])
            grid = value.T.reshape(1, -1, src, src)
            grid = F.interpolate(grid, size=(dst, dst), mode="bilinear", align_corners=False)
            value = grid.reshape(-1, dst * dst).T.contiguous()
        out[key] = value
    return out


@dataclass
class LoadReport:
    """What `load_weights` or `load_fitting_weights` did with each key."""

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # in the model only (init kept)
    unexpected: list[str] = field(default_factory=list)  # in the checkpoint only
    skipped: list[str] = field(default_factory=list)     # in the checkpoint, expected unused
    mismatched: list[str] = field(default_factory=list)  # "key: checkpoint (..) vs model (..)"
    resized: list[str] = field(default_factory=list)     # relative position tables

    def summary(self) -> str:
        parts = [f"{len(self.loaded)} tensors loaded"]
        for name, keys in (("shape mismatches", self.mismatched), ("missing", self.missing),
                           ("unexpected", self.unexpected), ("skipped", self.skipped),
                           ("resized", self.resized)):
            if keys:
                parts.append(f"{len(keys)} {name} ({_shown(keys)})")
        return f"{self.source}: " + "; ".join(parts)

    def reinitialised(self) -> list[str]:
        """The model's keys that kept their initial values: another shape in the checkpoint,
        or not in it."""
        return sorted([entry.split(": ", 1)[0] for entry in self.mismatched] + self.missing)

    def fine_tune_summary(self) -> str:
        """One line: how many tensors were loaded, and each re-initialised key and why."""
        reasons = sorted(self.mismatched + [f"{key}: not in the checkpoint"
                                            for key in self.missing])
        line = f"{self.source}: {len(self.loaded)} tensors loaded; " + (
            f"{len(reasons)} re-initialised ({_shown(reasons, '; ')})" if reasons
            else "nothing re-initialised")
        if self.unexpected:
            line += f"; {len(self.unexpected)} unused ({_shown(self.unexpected)})"
        return line


def _shown(keys: Sequence[str], separator: str = ", ") -> str:
    """The first few keys, and how many more there are."""
    more = f"{separator}... (+{len(keys) - _SHOWN_KEYS})" if len(keys) > _SHOWN_KEYS else ""
    return separator.join(keys[:_SHOWN_KEYS]) + more


def _sort_keys(model: nn.Module, state: Mapping[str, Tensor], source: str,
               skip_prefixes: Sequence[str] = ()) -> tuple[LoadReport, dict[str, Tensor]]:
    """Which keys of `state` fit `model` (relative position tables resized first), which do
    not and which the model lacks; and the resized state."""
    resized_state = resize_relative_position_tables(state, model)
    own = model.state_dict()
    report = LoadReport(source)
    for key, value in resized_state.items():
        if key not in own:
            (report.skipped if key.startswith(tuple(skip_prefixes)) else
             report.unexpected).append(key)
        elif own[key].shape != value.shape:
            report.mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs model "
                                     f"{tuple(own[key].shape)}")
        else:
            report.loaded.append(key)
            if value.shape != state[key].shape:
                report.resized.append(key)
    report.missing = [k for k, v in own.items()
                      if k not in resized_state and v.is_floating_point()]
    return report, resized_state


def load_weights(model: nn.Module, state: Mapping[str, Tensor], source: str, *,
                 strict: bool = True, skip_prefixes: Sequence[str] = ()) -> LoadReport:
    """Load `state` into `model` by name and report each key.

    Relative position tables of another window size are resized; integer buffers the model
    builds itself (`relative_position_index`, `num_batches_tracked`) may be absent. Keys under
    `skip_prefixes` are expected extras (e.g. a cls head when loading a backbone). A shape
    mismatch always raises `CheckpointError`; in strict mode missing or unexpected keys too.
    Nothing is loaded when it raises.
    """
    report, resized_state = _sort_keys(model, state, source, skip_prefixes)
    if report.mismatched or (strict and (report.missing or report.unexpected)):
        raise CheckpointError(f"checkpoint does not fit {type(model).__name__} "
                              f"(another architecture or variant?): {report.summary()}")
    model.load_state_dict({k: resized_state[k] for k in report.loaded}, strict=False)
    return report


def load_fitting_weights(model: nn.Module, state: Mapping[str, Tensor], source: str, *,
                         reinitialisable: Sequence[str] | None = None) -> LoadReport:
    """Fine-tuning: load every tensor of `state` whose name and shape fit `model` and leave
    the others as initialised (`LoadReport.reinitialised()`, named by `fine_tune_summary()`).

    A shape mismatch is expected here (a classifier of another class count), not an error.
    `reinitialisable`: key prefixes allowed to stay initialised (e.g. `("classifier.",)`);
    any other key that does not fit then raises `CheckpointError` (another variant). So does
    a checkpoint of which no tensor fits. Nothing is loaded when it raises.
    """
    report, resized_state = _sort_keys(model, state, source)
    if not report.loaded:
        raise CheckpointError(f"no tensor of {source} fits {type(model).__name__} by name and "
                              f"shape (a checkpoint of another model?): {report.summary()}")
    if reinitialisable is not None:
        outside = [k for k in report.reinitialised() if not k.startswith(tuple(reinitialisable))]
        if outside:
            raise CheckpointError(
                f"{source} does not fit {type(model).__name__} outside "
                f"{', '.join(reinitialisable)} (another variant or config?): {len(outside)} "
                f"tensors would stay initialised ({_shown(outside)}); {report.summary()}")
    model.load_state_dict({k: resized_state[k] for k in report.loaded}, strict=False)
    return report


def save_atomic(obj: Any, path: str | Path) -> None:
    """`torch.save` to `path` atomically: readers see the old file or the new one, whole."""
    with atomic_file(path) as f:
        torch.save(obj, f)
