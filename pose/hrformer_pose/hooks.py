"""Stop training with a clear message as soon as the loss is not finite."""
from __future__ import annotations

import math

from mmengine.hooks import Hook
from mmpose.registry import HOOKS
from torch import Tensor


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


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
        loss = float(outputs["loss"].detach())
        if math.isfinite(loss):
            return
        terms = {k: float(v.detach()) for k, v in outputs.items()
                 if isinstance(v, Tensor) and v.numel() == 1}
        raise NonFiniteLossError(
            f"training loss is {loss} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}); "
            f"loss terms {terms}. Stopping before the weights are saved. Usual causes: learning "
            "rate too high for the batch size, a corrupt image or annotation, or fp16 overflow "
            "(use AmpOptimWrapper's dynamic loss scale).")
