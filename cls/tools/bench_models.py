"""The models the benchmark times: HRFormer backbones, the cls / pose / seg task models at
their usual input sizes, and timm's CNNs for reference.

    hrt_small        backbone only (four stage-4 maps)
    cls:hrt_small    classifier (logits), 224x224
    pose:hrt_small   top-down model of the pose copy (heatmaps), 256x192
    seg:hrt_small    HRFormer + OCR v2 of the seg copy (out_aux, out), 512x1024
    hrnet_w32        any timm model, features_only
"""
from __future__ import annotations

import sys
from pathlib import Path

from torch import nn

CLS_ROOT = Path(__file__).resolve().parents[1]
if str(CLS_ROOT) not in sys.path:
    sys.path.insert(0, str(CLS_ROOT))

from models import create_model  # noqa: E402
from models.hrformer import PRESETS, HRFormer, HRFormerOptions, preset  # noqa: E402

TASK_SIZES = {"cls": (224, 224), "pose": (256, 192), "seg": (512, 1024)}
SEG_ROOT = CLS_ROOT.parent / "seg"
POSE_JOINTS = 17
SEG_CLASSES = 19


def is_hrformer(name: str) -> bool:
    return name.split(":")[-1] in PRESETS


def default_size(name: str) -> tuple[int, int] | None:
    task = name.split(":")[0] if ":" in name else None
    return TASK_SIZES.get(task)


class PoseNet(nn.Module):
    """The pose copy's backbone (no position bias, bilinear fusion, branch 0 out) + 1x1 head:
    the same layers as mmpose's TopdownPoseEstimator with HRFormer, without mmpose."""

    def __init__(self, variant: str, options: dict) -> None:
        super().__init__()
        self.backbone = HRFormer(preset(variant), HRFormerOptions(
            rel_pos_bias=False, fuse_upsample_mode="bilinear", align_corners=False,
            multiscale_output=False, **options))
        self.final_layer = nn.Conv2d(self.backbone.out_channels[0], POSE_JOINTS, 1)

    def forward(self, x):
        return self.final_layer(self.backbone(x)[0])


def _seg_model(variant: str, options: dict) -> nn.Module:
    # seg's `lib` package. seg/ leaves sys.path again at once: its regular package `tools`
    # would shadow cls's namespace package `tools` here and in spawned processes.
    sys.path.append(str(SEG_ROOT))
    try:
        from lib.models import build_segmentor
    finally:
        sys.path.remove(str(SEG_ROOT))
    return build_segmentor(f"{variant}_ocr_v2", variant, SEG_CLASSES, drop_path_rate=0.0,
                           attention=options.get("attention", "sdpa"),
                           with_cp=options.get("with_cp", False))


def build_model(name: str, options: dict) -> nn.Module:
    """`options`: attention, with_cp, channels_last (HRFormer models only)."""
    task, _, variant = name.rpartition(":")
    if variant not in PRESETS:
        if task:
            raise ValueError(f"{name}: task models exist for {sorted(PRESETS)} only")
        import timm  # only the reference CNNs need it
        return timm.create_model(name, features_only=True)
    if task == "":
        return HRFormer(preset(variant), HRFormerOptions(**options))
    if task == "cls":
        return create_model(variant, attention=options.get("attention", "sdpa"),
                            with_cp=options.get("with_cp", False))
    if task == "pose":
        return PoseNet(variant, options)
    if task == "seg":
        return _seg_model(variant, options)
    raise ValueError(f"{name}: unknown task {task!r}; expected one of {sorted(TASK_SIZES)}")
