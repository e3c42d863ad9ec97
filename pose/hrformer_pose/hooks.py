"""Training hooks: stop at a non-finite loss; resume with the same random numbers."""
from __future__ import annotations

import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpose.registry import HOOKS
from torch import Tensor

from hrformer_common.finite import NonFiniteLossError, check_loss
from hrformer_common.rng import gather_rng_states, rng_state, set_rng_state

__all__ = ["NonFiniteLossError", "ResumeRandomnessHook", "StopOnNonFiniteLossHook"]


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
