"""cls: GPU check of the HRFormer-S classifier (HRFormer-T on the CPU) and of the backbone
core (SDPA kernel per head dim; on the CPU a compiled transformer block). What runs:
hrformer_common/gpu_check.py.

    python tools/gpu_check.py [--json FILE] [--bench-json FILE]    # or `make gpu-check`
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the cls/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.gpu_check import GpuCheck  # noqa: E402
from models import hrformer  # noqa: E402
from tools.benchmark import BENCH  # noqa: E402


def classification_loss(logits: Tensor) -> Tensor:
    """Cross-entropy against random labels."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, logits.shape[1], (logits.shape[0],), generator=g)
    return F.cross_entropy(logits.float(), labels.to(logits.device))


CHECK = GpuCheck(BENCH, model="hrt_small", small="hrt_tiny", small_size=(64, 64),
                 loss=classification_loss, core=hrformer)

if __name__ == "__main__":
    sys.exit(CHECK.run())
