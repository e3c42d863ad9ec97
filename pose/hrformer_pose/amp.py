"""bf16 autocast training on any device (mmengine's AmpOptimWrapper refuses CPUs).

    optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16', optimizer=...)

No loss scaling: bf16 has the exponent range of fp32. On CUDA with fp16, use mmengine's
AmpOptimWrapper (it scales the loss).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """OptimWrapper whose forward passes run under `torch.autocast` in bfloat16."""

    def __init__(self, dtype: str = "bfloat16", **kwargs) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"AutocastOptimWrapper dtype={dtype!r}; expected one of "
                             f"{sorted(DTYPES)} (fp16 needs AmpOptimWrapper's loss scaling)")
        super().__init__(**kwargs)
        self.dtype = DTYPES[dtype]

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device, dtype=self.dtype):
            yield
