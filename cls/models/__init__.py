"""Model factory: released variants by name, or a model from the yacs experiment config."""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from .classifier import HRFormerClassifier
from .hrformer import HRFormerOptions, preset

__all__ = ["HRFormerClassifier", "MODEL_NAMES", "build_model", "create_model"]

MODEL_NAMES = ("hrt_tiny", "hrt_small", "hrt_base")
# Runtime switches a caller may set; the copy-specific behaviour stays at the cls defaults.
RUNTIME_OPTIONS = ("drop_path_rate", "attention", "with_cp", "masked_padding", "norm_layer",
                   "in_channels")
SUPPORTED_BLOCK_TYPES = {"ATTN_TYPES": "isa_local", "FFN_TYPES": "conv_mlp"}


def _options(kwargs: Mapping[str, Any]) -> HRFormerOptions:
    unknown = sorted(set(kwargs) - set(RUNTIME_OPTIONS))
    if unknown:
        raise TypeError(f"unknown model option(s) {unknown}; expected some of "
                        f"{list(RUNTIME_OPTIONS)}")
    return HRFormerOptions(**kwargs)


def create_model(name: str, num_classes: int = 1000, drop_rate: float = 0.0,
                 global_pool: str = "avg", **kwargs: Any) -> HRFormerClassifier:
    """A released classifier by name (`hrt_tiny`, `hrt_small`, `hrt_base`).

    num_classes=0: no classifier; drop_rate: dropout before the classifier; global_pool:
    timm's pool types ('' keeps the map). kwargs: drop_path_rate (default: the variant's),
    attention ("sdpa" | "math"), with_cp, masked_padding, norm_layer, in_channels.
    """
    if name not in MODEL_NAMES:
        raise KeyError(f"unknown model {name!r}; expected one of {list(MODEL_NAMES)}")
    return HRFormerClassifier(preset(name), num_classes, _options(kwargs), drop_rate=drop_rate,
                              global_pool=global_pool)


def _check_block_types(hrt: Mapping[str, Any]) -> None:
    """Only the block types of the released models exist; reject anything else by name."""
    for s in (1, 2, 3, 4):
        stage = hrt[f"STAGE{s}"]
        block = "BOTTLENECK" if s == 1 else "TRANSFORMER_BLOCK"
        if stage["BLOCK"] != block:
            raise ValueError(f"MODEL.HRT.STAGE{s}.BLOCK={stage['BLOCK']!r}; expected {block!r}")
        for key, supported in SUPPORTED_BLOCK_TYPES.items():
            found = {t for module in stage.get(key, []) for branch in module for t in branch}
            if found - {supported}:
                raise ValueError(f"MODEL.HRT.STAGE{s}.{key}: unsupported {sorted(found)}; "
                                 f"only {supported!r} is implemented")


def build_model(config: Any) -> nn.Module:
    """The model described by a yacs config from `config.load_config`: MODEL.TYPE 'hrt', or
    'timm' for the baselines (MODEL.TIMM_NAME)."""
    model_type = config.MODEL.TYPE
    if model_type == "timm":
        from .timm_models import build_timm_baseline  # imports timm only when needed
        return build_timm_baseline(config)
    if model_type != "hrt":
        raise ValueError(f"MODEL.TYPE={model_type!r} is not supported; expected 'hrt' or 'timm'")
    _check_block_types(config.MODEL.HRT)
    # The original ignores TRAIN.USE_CHECKPOINT for HRT; here it enables the core's
    # per-block gradient checkpointing (same numbers, less memory).
    options = HRFormerOptions(with_cp=config.TRAIN.USE_CHECKPOINT)
    return HRFormerClassifier(config.MODEL.HRT, config.MODEL.NUM_CLASSES, options,
                              config.MODEL.DROP_RATE)
