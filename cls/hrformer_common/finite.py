"""Stop a training run at the first NaN or infinite loss, and never save non-finite weights."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from .dist import all_reduce_sum

USUAL_CAUSES = ("Usual causes: a learning rate too high for the batch size, a corrupt image or "
                "label, fp16 overflow.")


class NonFiniteLossError(RuntimeError):
    """The training loss (or a weight about to be saved) became NaN or infinite."""


def check_loss(loss: Tensor, where: str, details: str = "") -> None:
    """Raise `NonFiniteLossError` on every process when the loss is not finite on any of them
    (a collective inside a process group, so that no process waits for a stopped one).

    `where` names the step ("iteration 12", "epoch 1 iteration 3"); `details` is appended
    (e.g. the loss terms).
    """
    bad = all_reduce_sum((~torch.isfinite(loss.detach())).float().reshape(1))
    if bad.item() > 0:
        value = loss.detach().float().reshape(-1)[0].item()
        raise NonFiniteLossError(
            f"training loss is {value} at {where} (in {int(bad.item())} process(es)){details}; "
            f"stopping before non-finite weights are used or saved. {USUAL_CAUSES}")


def non_finite_tensors(state: Mapping[str, Tensor]) -> list[str]:
    """The names of floating-point tensors of `state` that hold a NaN or an infinity."""
    return [k for k, v in state.items()
            if isinstance(v, Tensor) and v.is_floating_point() and not v.isfinite().all()]


def check_state_finite(state: Mapping[str, Tensor], what: str) -> None:
    """Refuse to save a state with non-finite weights: `NonFiniteLossError` naming them."""
    bad = non_finite_tensors(state)
    if bad:
        raise NonFiniteLossError(f"not saving {what}: {len(bad)} weights are not finite "
                                 f"({', '.join(bad[:5])})")
