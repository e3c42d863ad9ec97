"""pose: speed of the COCO top-down models per backend and precision.

    python tools/benchmark.py --models hrt_small_coco_256x192 hrnet_w32_coco_256x192 \
        --backends eager onnxruntime --precisions fp32 bf16 --batch-size 8

Models: every config of configs/hrformer/coco/ by its name, at its input size, built by mmpose
from the config as tools/test.py builds it, timed from images to heatmaps
(`hrformer_pose.deploy.InferenceNet`); and `hrnet_w32_coco_256x192`, the reference CNN:
mmpose's own HRNet-W32 in place of HRT in the HRFormer-S 256x192 config (same head). The
options and the table: hrformer_common/benchmark.py.

    python tools/benchmark.py pipeline [--people 1 5 10] [--backends torch:fp32 ...]

times the whole pipeline instead (person detector + pose network per person, frames/s) and
the network per crop at batch 1 and 8 as `PoseInferencer` runs it: tools/pipeline_bench.py.
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any, Mapping

from torch import nn

POSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(POSE))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose.apis)
from hrformer_common.benchmark import Bench  # noqa: E402
from hrformer_common.timing import TaskModel  # noqa: E402
from hrformer_pose.deploy import InferenceNet, input_size, load_pose_model  # noqa: E402
from hrformer_pose.hrformer import reparameterize_model  # noqa: E402
from mmengine.config import Config  # noqa: E402

CONFIGS = POSE / "configs" / "hrformer" / "coco"
REFERENCE_CNN = "hrnet_w32_coco_256x192"
REFERENCE_CONFIG = CONFIGS / "hrt_small_coco_256x192.py"
# mmpose's HRNet-W32 (its td-hm_hrnet-w32 COCO configs), branch 0 (32 channels) to the head.
HRNET_W32 = dict(type="HRNet", in_channels=3, extra=dict(
    stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,),
                num_channels=(64,)),
    stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(4, 4),
                num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block="BASIC", num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
    stage4=dict(num_modules=3, num_branches=4, block="BASIC", num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256))))


def build_hrformer(config: Path, options: Mapping[str, Any]) -> nn.Module:
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(attention=options.get("attention", "sdpa"),
                              with_cp=options.get("with_cp", False))
    return InferenceNet(load_pose_model(cfg, None))


def build_hrnet(options: Mapping[str, Any]) -> nn.Module:
    cfg = Config.fromfile(REFERENCE_CONFIG)
    cfg.model.backbone = dict(HRNET_W32, with_cp=options.get("with_cp", False))
    cfg.model.head.in_channels = HRNET_W32["extra"]["stage4"]["num_channels"][0]
    return InferenceNet(load_pose_model(cfg, None))


MODELS = {path.stem: TaskModel(partial(build_hrformer, path), input_size(Config.fromfile(path)))
          for path in sorted(CONFIGS.glob("*.py"))}
MODELS[REFERENCE_CNN] = TaskModel(build_hrnet, input_size(Config.fromfile(REFERENCE_CONFIG)),
                                  transformer=False)
# Inference rows run the network as export and the demos do: BatchNorm folded into the convs.
BENCH = Bench("pose", MODELS, defaults=("hrt_small_coco_256x192", REFERENCE_CNN),
              prepare=reparameterize_model)

if __name__ == "__main__":
    if sys.argv[1:2] == ["pipeline"]:
        from tools.pipeline_bench import run
        run(sys.argv[2:])
    else:
        BENCH.run()
