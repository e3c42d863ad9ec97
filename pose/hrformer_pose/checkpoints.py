"""Checkpoint files under mmengine: the original's key names, safe loading, atomic saving
and the backbone's initialisation.

Key names: the original (mmpose 0.x) stores `{"meta", "state_dict": {"backbone.*",
"keypoint_head.final_layer.*"}}`; mmpose 1.x names the head `head`. Backbone keys are
identical. (mmpose's own load hook also renames `keypoint_head` when a checkpoint has no
version metadata, so `init_model` loads official files directly; `convert_official_state_dict`
and `to_official_state_dict` make the mapping explicit and reversible.)

Loading: every local checkpoint mmengine reads (`init_model`, `tools/test.py`, `--resume`,
`--load-from`, `load_from`) goes through `hrformer_common.checkpoint.load_checkpoint`:
weights-only (a pickle that would run code is refused), errors name the file, cls files with
their pickled yacs config load too. `refuse_shape_mismatches` makes a checkpoint of another
variant an error naming the file, instead of mmengine's size-mismatch warnings.

Saving: mmengine 0.10 removes the oldest checkpoint before writing the new one, writes in
place and points `last_checkpoint` at the new file before it exists: a kill during a save with
`max_keep_ckpts=1` leaves no checkpoint at all. `AtomicCheckpointHook` (the configs'
`default_hooks.checkpoint`, registered under its own name in mmpose's registry; a config
naming mmengine's `CheckpointHook` gets mmengine's) instead

- writes files to a temp file in the same folder, fsynced and renamed
  (`hrformer_common.atomic.write_atomic`, through the `hrformer_atomic_local` file backend);
- removes outdated checkpoints (and the previous best) only after the new file is complete
  (mmengine's own `remove` calls of the best-checkpoint logic are postponed);
- updates `last_checkpoint` last, atomically.

Backbone initialisation (`load_pretrained_backbone`): from an ImageNet (cls) or pose
checkpoint, as the original did, logging what was loaded, skipped and missing.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmpose.registry import HOOKS
from torch import Tensor, nn

from hrformer_common.atomic import write_atomic
from hrformer_common.checkpoint import (CheckpointError, LoadReport, backbone_state_dict,
                                        load_checkpoint, load_weights)
from .mmpose_layout import from_mmpose_layout

# Key names: the original <-> mmpose 1.x.
OFFICIAL_HEAD = "keypoint_head."
HEAD = "head."
# HRFormer's head is a single 1x1 conv; other TopDownSimpleHead layouts map differently.
_HEAD_PARAMS = ("final_layer.weight", "final_layer.bias")


def _rename_head(state_dict: dict[str, Tensor], src: str, dst: str) -> dict[str, Tensor]:
    out = {}
    for key, value in state_dict.items():
        if key.startswith(src):
            rest = key[len(src):]
            if rest not in _HEAD_PARAMS:
                raise KeyError(f"head key {key!r}: expected {src}{{{', '.join(_HEAD_PARAMS)}}} "
                               "(a head with deconv or extra conv layers is not supported)")
            key = dst + rest
        elif not key.startswith("backbone."):
            raise KeyError(f"unexpected key {key!r}: expected 'backbone.*' or '{src}*'")
        out[key] = value
    return out


def convert_official_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Original pose state dict (`keypoint_head.*`) -> mmpose 1.x names (`head.*`)."""
    return _rename_head(state_dict, OFFICIAL_HEAD, HEAD)


def to_official_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """mmpose 1.x state dict (`head.*`) -> the original's names (`keypoint_head.*`)."""
    return _rename_head(state_dict, HEAD, OFFICIAL_HEAD)


# Loading and saving.
ATOMIC_BACKEND = "hrformer_atomic_local"
_last_read = {"path": "a checkpoint"}  # named by the shape check, which runs after the read


@CheckpointLoader.register_scheme(prefixes="", force=True)
def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's loader for local paths, weights-only (tensors on the CPU; mmengine moves
    the model afterwards)."""
    path = os.path.expanduser(filename)
    _last_read["path"] = path
    return load_checkpoint(path)


def refuse_shape_mismatches(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """load_state_dict pre-hook: a tensor of another shape is an error, before any is copied."""
    report = LoadReport(_last_read["path"])
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


class _DeferredRemoval:
    """A file backend whose `remove` is postponed until `flush` (everything else passes)."""

    def __init__(self, backend) -> None:
        self.backend, self.pending = backend, []

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def remove(self, filepath: str) -> None:
        self.pending.append(filepath)

    def flush(self, keep: str | None) -> None:
        for path in self.pending:
            if path != keep and self.backend.isfile(path):
                self.backend.remove(path)
        self.pending.clear()


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """CheckpointHook with atomic files; old files go only once the new one is complete."""

    def __init__(self, *args, backend_args: dict | None = None, **kwargs) -> None:
        super().__init__(*args, backend_args=backend_args or {"backend": ATOMIC_BACKEND},
                         **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = self._rotate(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(self.out_dir, filename, self.file_client_args,
                               save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta,
                               by_epoch=self.by_epoch, backend_args=self.backend_args,
                               **self.args)
        if not is_main_process():
            return
        for path in outdated:  # only now that the new file is complete
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)
        write_atomic(str(self.last_ckpt).encode(), Path(runner.work_dir) / "last_checkpoint")

    def _rotate(self, runner, step: int) -> list[str]:
        """Record `step` among the kept checkpoints; returns the paths that fall out."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return []  # keep all, or this step was saved already (best + regular save)
        outdated = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            oldest = self.keep_ckpt_ids.popleft()
            outdated.append(self.file_backend.join_path(self.out_dir,
                                                        self.filename_tmpl.format(oldest)))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
        return outdated

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not hasattr(self, "file_backend"):  # validation without training: nothing saved
            return super()._save_best_checkpoint(runner, metrics)
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)  # the previous best is queued
        finally:
            self.file_backend = backend
        if is_main_process():
            deferred.flush(keep=getattr(self, "best_ckpt_path", None))


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
