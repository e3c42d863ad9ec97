"""Mixed-precision switch: `train.amp` = fp16 | bf16 | none."""
from __future__ import annotations

import contextlib
import logging

import torch

log = logging.getLogger(__name__)
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_amp(amp: str | None, device: torch.device) -> str:
    amp = (amp or "none").lower()
    if amp not in ("fp16", "bf16", "none"):
        raise ValueError(f"train.amp={amp!r}; expected fp16, bf16 or none")
    if amp == "fp16" and device.type != "cuda":
        log.info("amp fp16 needs CUDA; training in float32 on %s", device.type)
        return "none"
    return amp


def autocast(amp: str, device: torch.device):
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[amp])


def grad_scaler(amp: str, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling only for fp16 (bf16 has float32's range)."""
    return torch.amp.GradScaler(device.type, enabled=amp == "fp16")
