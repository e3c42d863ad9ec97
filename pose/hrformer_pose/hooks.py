"""Training hooks: stop at a non-finite loss; resume with the same random numbers; save
checkpoints atomically.

Saving: mmengine 0.10 removes the oldest checkpoint before writing the new one, writes in
place and points `last_checkpoint` at the new file before it exists: a kill during a save with
`max_keep_ckpts=1` leaves no checkpoint at all. `AtomicCheckpointHook` (the configs'
`default_hooks.checkpoint`, registered under its own name in mmpose's registry; a config
naming mmengine's `CheckpointHook` gets mmengine's) instead

- writes files to a temp file in the same folder, fsynced and renamed
  (`hrformer_common.atomic.write_atomic`, through the `hrformer_atomic_local` file backend
  of `checkpoints.py`);
- removes outdated checkpoints (and the previous best) only after the new file is complete
  (mmengine's own `remove` calls of the best-checkpoint logic are postponed);
- updates `last_checkpoint` last, atomically.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS
from torch import Tensor

from hrformer_common.atomic import write_atomic
from hrformer_common.finite import NonFiniteLossError, check_loss
from hrformer_common.rng import gather_rng_states, rng_state, set_rng_state
from .checkpoints import ATOMIC_BACKEND

__all__ = ["AtomicCheckpointHook", "NonFiniteLossError", "ResumeRandomnessHook",
           "StopOnNonFiniteLossHook"]


@HOOKS.register_module()
class StopOnNonFiniteLossHook(Hook):
    """Raise `NonFiniteLossError` naming the iteration and the loss terms.

    The original trained on silently after a NaN (mmcv 1.x logged `nan` and kept going); here
    a run stops at the first bad iteration, before a checkpoint of NaN weights is written.
    """

    priority = "VERY_HIGH"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or "loss" not in outputs:
            return
        loss = outputs["loss"].detach()
        terms = "" if bool(torch.isfinite(loss).all()) else "; loss terms " + str(
            {k: float(v.detach()) for k, v in outputs.items()
             if isinstance(v, Tensor) and v.numel() == 1})
        # A collective in a process group: every rank stops at the same iteration.
        check_loss(loss, f"iteration {runner.iter + 1} (epoch {runner.epoch + 1})", terms)


@HOOKS.register_module()
class ResumeRandomnessHook(Hook):
    """Make a resumed run draw the same random numbers as an uninterrupted one.

    Each epoch-end checkpoint carries every process's RNG state (torch, CUDA, numpy,
    python; `hrformer_rng.py`), restored when the run resumes. Validation runs on a saved
    and restored RNG, so it does not shift the training's numbers (a resumed run does not
    repeat the validation of the epoch it resumes after). Loader workers are seeded by
    mmengine per epoch, so they repeat exactly without persistent workers; persistent ones
    restart their streams at a resume.
    """

    priority = "VERY_HIGH"  # capture before the CheckpointHook (VERY_LOW) saves

    def __init__(self) -> None:
        self._states: list[dict] = []
        self._to_restore: list[dict] = []
        self._val_state: dict | None = None

    def after_train_epoch(self, runner) -> None:
        self._states = gather_rng_states()  # collective: every rank runs this hook

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._states:
            checkpoint["rng"] = self._states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._to_restore = list(checkpoint.get("rng") or [])

    def before_train(self, runner) -> None:
        """After mmengine's own resume steps (which re-seed from the checkpoint's seed)."""
        states, self._to_restore = self._to_restore, []
        if runner.epoch == 0 or not states:  # a fresh run, or weights only (load_from)
            return
        if len(states) != runner.world_size:
            print_log(f"no RNG state for {runner.world_size} processes (found {len(states)}): "
                      "the resumed run draws new random numbers", logger="current",
                      level=logging.WARNING)
            return
        set_rng_state(states[runner.rank])

    def before_val_epoch(self, runner) -> None:
        self._val_state = rng_state()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
            self._val_state = None


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
