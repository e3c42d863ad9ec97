"""HRFormer classifiers in timm's registry, and the timm-built baselines of the original.

After `import models.timm_models`, `timm.create_model("hrformer_small", pretrained=True,
pretrained_cfg_overlay=dict(file="hrt_small.pth"))` loads a released checkpoint as it is
(the original's dict layout with its pickled yacs config, read weights-only).
"""
from __future__ import annotations

from typing import Any

import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import nn

from . import create_model
from .classifier import HRFormerClassifier
from hrformer_common.checkpoint import CFGNODE_AS_ORDERED_DICT, resize_relative_position_tables

VARIANTS = {"hrformer_tiny": "hrt_tiny", "hrformer_small": "hrt_small",
            "hrformer_base": "hrt_base"}


def _cfg() -> dict:
    return {"url": "", "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
            "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN,
            "std": IMAGENET_DEFAULT_STD, "first_conv": "conv1", "classifier": "classifier",
            "license": "mit"}


# features_only=True: the four stage-4 branches (strides 4..32) via `forward_intermediates`.
FEATURE_CFG = {"feature_cls": "getter", "out_indices": (0, 1, 2, 3)}
default_cfgs = generate_default_cfgs({f"{name}.in1k": _cfg() for name in VARIANTS})


def _filter_checkpoint(state_dict: dict, model: nn.Module) -> dict:
    """Resize relative-position tables to the model's windows; keep its own index buffers."""
    state = resize_relative_position_tables(state_dict, model)
    state.update({k: v for k, v in model.state_dict().items()
                  if k.endswith("relative_position_index")})
    return state


def _build(variant: str, pretrained: bool, **kwargs: Any) -> HRFormerClassifier:
    def construct(num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.0,
                  global_pool: str = "avg", **options: Any) -> HRFormerClassifier:
        return create_model(VARIANTS[variant], num_classes, drop_rate, global_pool,
                            in_channels=in_chans, **options)

    with torch.serialization.safe_globals([CFGNODE_AS_ORDERED_DICT]):
        return build_model_with_cfg(construct, variant, pretrained,
                                    pretrained_filter_fn=_filter_checkpoint,
                                    feature_cfg=dict(FEATURE_CFG), **kwargs)


@register_model
def hrformer_tiny(pretrained: bool = False, **kwargs: Any) -> HRFormerClassifier:
    return _build("hrformer_tiny", pretrained, **kwargs)


@register_model
def hrformer_small(pretrained: bool = False, **kwargs: Any) -> HRFormerClassifier:
    return _build("hrformer_small", pretrained, **kwargs)


@register_model
def hrformer_base(pretrained: bool = False, **kwargs: Any) -> HRFormerClassifier:
    return _build("hrformer_base", pretrained, **kwargs)


def build_timm_baseline(config) -> nn.Module:
    """A baseline of the original's table (MODEL.TYPE 'timm'), by MODEL.TIMM_NAME."""
    name = config.MODEL.TIMM_NAME
    if not name or not timm.is_model(name):
        raise ValueError(f"MODEL.TIMM_NAME={name!r} is not a timm model (MODEL.TYPE 'timm')")
    kwargs: dict[str, Any] = {"num_classes": config.MODEL.NUM_CLASSES,
                              "drop_rate": config.MODEL.DROP_RATE}
    if config.MODEL.DROP_PATH_RATE:  # None / 0: timm's default; HRNet takes no such argument
        kwargs["drop_path_rate"] = config.MODEL.DROP_PATH_RATE
    model = timm.create_model(name, **kwargs)
    if config.TRAIN.USE_CHECKPOINT:
        try:
            model.set_grad_checkpointing(True)
        except (AssertionError, NotImplementedError) as err:  # timm's way of saying "no"
            raise ValueError(f"TRAIN.USE_CHECKPOINT: timm model {name!r} does not support "
                             f"gradient checkpointing ({err})") from err
    return model
