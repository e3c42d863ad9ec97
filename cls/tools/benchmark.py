"""cls: speed of the ImageNet classifiers per backend and precision.

    python tools/benchmark.py --models hrt_small hrnet_w32 --backends eager onnxruntime \
        --precisions fp32 bf16 --batch-size 8

Models: HRFormer-T/S/B classifiers (`hrt_tiny`, `hrt_small`, `hrt_base`, 1000 classes) and
timm's `hrnet_w32` classifier, the reference CNN, all at 224x224. The options and the table:
hrformer_common/benchmark.py.
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any, Mapping

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the cls/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.benchmark import Bench  # noqa: E402
from hrformer_common.timing import TaskModel  # noqa: E402
from models import MODEL_NAMES, create_model  # noqa: E402
from models.hrformer import reparameterize_model  # noqa: E402

SIZE = (224, 224)
REFERENCE_CNN = "hrnet_w32"


def build_classifier(name: str, options: Mapping[str, Any]) -> nn.Module:
    return create_model(name, attention=options.get("attention", "sdpa"),
                        with_cp=options.get("with_cp", False))


def build_timm(name: str, options: Mapping[str, Any]) -> nn.Module:
    import timm  # only the reference CNN needs it
    return timm.create_model(name)


MODELS = {**{name: TaskModel(partial(build_classifier, name), SIZE) for name in MODEL_NAMES},
          REFERENCE_CNN: TaskModel(partial(build_timm, REFERENCE_CNN), SIZE, transformer=False)}
# Inference rows run the model as predict / export do: BatchNorm folded into the convs.
BENCH = Bench("cls", MODELS, defaults=("hrt_small", REFERENCE_CNN), prepare=reparameterize_model)

if __name__ == "__main__":
    BENCH.run()
