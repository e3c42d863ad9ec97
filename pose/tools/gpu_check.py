"""pose: GPU check of the HRFormer-S 256x192 top-down model (HRFormer-T at 64x48 on the CPU),
built by mmpose from its config. What runs: hrformer_common/gpu_check.py.

    python tools/gpu_check.py [--json FILE] [--bench-json FILE]    # or `make gpu-check`
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the pose/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.gpu_check import GpuCheck  # noqa: E402
from tools.benchmark import BENCH  # noqa: E402


def heatmap_loss(heatmaps: Tensor) -> Tensor:
    """Mean squared error against random heatmaps."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(heatmaps.shape, generator=g).to(heatmaps.device)
    return F.mse_loss(heatmaps.float(), target)


CHECK = GpuCheck(BENCH, model="hrt_small_coco_256x192", small="hrt_tiny_coco_256x192",
                 small_size=(64, 48), loss=heatmap_loss)

if __name__ == "__main__":
    sys.exit(CHECK.run())
