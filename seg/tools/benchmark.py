"""seg: speed of the HRFormer + OCR segmentors per backend and precision.

    python tools/benchmark.py --models hrt_small_ocr_v2 hrnet_w48_ocr_v2 \
        --backends eager onnxruntime --precisions fp32 bf16 --batch-size 2

Models: the segmentors of `lib.models.SEGMENTORS` (`hrt_small_ocr_v2`, `hrt_base_ocr_v3`, ...
with their HRFormer backbone, 19 classes as Cityscapes) and `hrnet_w48_ocr_v2`, the reference
CNN: timm's HRNet-W48 branches under the same OCR v2 head; all at 512x1024, as the
Cityscapes training crops. The options and the table: hrformer_common/benchmark.py.
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any, Mapping

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the seg/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.benchmark import Bench  # noqa: E402
from hrformer_common.timing import TaskModel  # noqa: E402
from lib.models import SEGMENTORS, build_segmentor  # noqa: E402
from lib.models.backbones.hrformer import reparameterize_model  # noqa: E402
from lib.models.backbones.timm_branches import TimmBranches  # noqa: E402
from lib.models.nets.hrt_ocr import HRTOCR  # noqa: E402
from lib.models.norm import resolve_norm_layer  # noqa: E402

SIZE = (512, 1024)
NUM_CLASSES = 19
REFERENCE_CNN = "hrnet_w48_ocr_v2"


def build_hrformer_ocr(name: str, options: Mapping[str, Any]) -> nn.Module:
    backbone = name.rpartition("_ocr_")[0]
    return build_segmentor(name, backbone, NUM_CLASSES, drop_path_rate=0.0,
                           attention=options.get("attention", "sdpa"),
                           with_cp=options.get("with_cp", False))


def build_hrnet_ocr(options: Mapping[str, Any]) -> nn.Module:
    return HRTOCR(TimmBranches("hrnet_w48"), NUM_CLASSES, "v2", resolve_norm_layer("bn"))


MODELS = {name: TaskModel(partial(build_hrformer_ocr, name), SIZE) for name in SEGMENTORS}
MODELS[REFERENCE_CNN] = TaskModel(build_hrnet_ocr, SIZE, transformer=False)
# Inference rows run the model as predict / export do: BatchNorm folded into the convs.
BENCH = Bench("seg", MODELS, defaults=("hrt_small_ocr_v2", REFERENCE_CNN),
              prepare=reparameterize_model)

if __name__ == "__main__":
    BENCH.run()
