"""seg: GPU check of HRFormer-S + OCR v2 at 512x1024 (64x64 on the CPU). What runs:
hrformer_common/gpu_check.py.

    python tools/gpu_check.py [--json FILE] [--bench-json FILE]    # or `make gpu-check`
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the seg/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.gpu_check import GpuCheck  # noqa: E402
from tools.benchmark import BENCH  # noqa: E402

AUX_WEIGHT = 0.4  # the seg configs' auxiliary loss weight


def segmentation_loss(outputs: tuple[Tensor, Tensor]) -> Tensor:
    """Cross-entropy of both outputs against random labels, the auxiliary one x0.4."""
    out_aux, out = outputs
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, out.shape[1], (out.shape[0], *out.shape[2:]), generator=g)
    labels = labels.to(out.device)
    return F.cross_entropy(out.float(), labels) + AUX_WEIGHT * F.cross_entropy(out_aux.float(),
                                                                                 labels)


CHECK = GpuCheck(BENCH, model="hrt_small_ocr_v2", small="hrt_small_ocr_v2", small_size=(64, 64),
                 loss=segmentation_loss)

if __name__ == "__main__":
    sys.exit(CHECK.run())
