"""The `HRT` backbone for mmpose 1.x: the HRFormer core configured like the original pose copy.

Takes the original pose configs' arguments (`extra` with lower-case `stage1..stage4` dicts,
`norm_cfg`, ...) or those of mmpose 1.x's own `HRFormer`, and returns a tuple of feature maps,
as mmpose heads expect.
"""
from __future__ import annotations

import copy
from functools import partial

import torch.distributed as dist
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor, cuda, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .checkpoints import load_pretrained_backbone, refuse_shape_mismatches
from .hrformer import Bottleneck, HRFormer, HRFormerOptions
from .mmpose_layout import load_mmpose_layout_hook

_EXTRA_KEYS = {"stage1", "stage2", "stage3", "stage4", "drop_path_rate", "with_rpe", "upsample"}
_STAGE_BLOCKS = {"stage1": "BOTTLENECK", "stage2": "TRANSFORMER_BLOCK",
                 "stage3": "TRANSFORMER_BLOCK", "stage4": "TRANSFORMER_BLOCK"}
# mmpose 1.x HRFormer's names for the original's block type and per-branch keys.
_MMPOSE_BLOCKS = {"HRFORMERBLOCK": "TRANSFORMER_BLOCK"}
_MMPOSE_STAGE_KEYS = {"WINDOW_SIZES": "NUM_WINDOW_SIZES", "MLP_RATIOS": "NUM_MLP_RATIOS"}
# Default init of the original when no checkpoint is given: convs N(0, 0.001), norms weight 1.
_DEFAULT_INIT = [dict(type="Normal", std=0.001, layer=["Conv2d"]),
                 dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])]
# The original pose copy's options: the defaults of `with_rpe`, `upsample` and
# `stage4.multiscale_output` in the configs.
POSE_COPY = HRFormerOptions.preset("pose")


def local_norm_cfg(norm_cfg: dict) -> dict:
    """SyncBN needs an initialised process group and CUDA; otherwise use plain BN."""
    distributed = dist.is_available() and dist.is_initialized() and cuda.is_available()
    if norm_cfg.get("type") == "SyncBN" and not distributed:
        return {**norm_cfg, "type": "BN"}
    return dict(norm_cfg)


def core_config(extra: dict) -> tuple[dict, bool]:
    """`extra` (original pose config style) -> (core stage layout, multiscale_output)."""
    unknown = set(extra) - _EXTRA_KEYS
    if unknown:
        raise ValueError(f"HRT extra: unknown keys {sorted(unknown)}; expected some of "
                         f"{sorted(_EXTRA_KEYS)}")
    config: dict = {"DROP_PATH_RATE": extra.get("drop_path_rate", 0.0)}
    multiscale_output = POSE_COPY.multiscale_output
    for name, block in _STAGE_BLOCKS.items():
        if name not in extra:
            raise ValueError(f"HRT extra: missing {name!r} (expected stage1..stage4)")
        stage = _original_stage_keys(name, extra[name])
        if name == "stage4":
            multiscale_output = bool(stage.pop("MULTISCALE_OUTPUT", multiscale_output))
        found = stage.get("BLOCK", block)
        if _MMPOSE_BLOCKS.get(found, found) != block:
            accepted = sorted({block} | {k for k, v in _MMPOSE_BLOCKS.items() if v == block})
            raise ValueError(f"HRT extra: {name}.block={found!r}, expected one of {accepted}")
        stage["BLOCK"] = block
        config[name.upper()] = {k: list(v) if isinstance(v, tuple) else v
                                for k, v in stage.items()}
    return config, multiscale_output


def _original_stage_keys(name: str, stage: dict) -> dict:
    """Upper-case keys, mmpose 1.x's `window_sizes` / `mlp_ratios` under the original's names."""
    out = {}
    for key, value in stage.items():
        key = str(key).upper()
        key = _MMPOSE_STAGE_KEYS.get(key, key)
        if key in out:
            raise ValueError(f"HRT extra: {name} gives {key.lower()} twice (original and mmpose "
                             "1.x names); keep one")
        out[key] = value
    return out


def upsample_options(upsample: dict | None) -> dict:
    """mmpose 1.x HRFormer's `extra.upsample` (fusion upsampling) -> core options; default
    the pose copy's (bilinear without corner alignment)."""
    upsample = dict(upsample or {})
    unknown = set(upsample) - {"mode", "align_corners"}
    if unknown:
        raise ValueError(f"HRT extra.upsample: unknown keys {sorted(unknown)}; expected "
                         "'mode', 'align_corners'")
    align_corners = upsample.get("align_corners")
    return {"fuse_upsample_mode": upsample.get("mode", POSE_COPY.fuse_upsample_mode),
            "align_corners": POSE_COPY.align_corners if align_corners is None
            else bool(align_corners)}


@MODELS.register_module()
class HRT(HRFormer, BaseModule):
    """HRFormer backbone as the original pose configs describe it (`type='HRT'`).

    Args:
        extra: stage layout `stage1..stage4` (lower-case keys as in the original configs, or
            mmpose 1.x HRFormer's: `block='HRFORMERBLOCK'`, `window_sizes`, `mlp_ratios`),
            plus `drop_path_rate`, `with_rpe` (add the relative position bias; the original
            pose code did not, and its checkpoints were trained that way), `upsample` (mmpose's
            fusion upsampling, default bilinear without corner alignment) and
            `stage4.multiscale_output` (return all four branches instead of branch 0 only).
            Checkpoints in mmpose 1.x HRFormer's layout load too (`mmpose_layout`).
        in_channels: image channels.
        norm_cfg: the BatchNorm layers (stem, bottlenecks, transitions, fusion, FFN).
        norm_eval: keep BatchNorm layers in eval mode while training.
        with_cp: gradient checkpointing per transformer block.
        attention: "sdpa" (fused kernels) or "math" (explicit softmax, e.g. to count FLOPs).
        zero_init_residual: zero the last BN of each bottleneck at init.
        pretrained: a checkpoint to initialise from (ImageNet cls or a pose checkpoint).
        init_cfg: mmengine init config; `Pretrained` entries load like `pretrained`.
    """

    def __init__(self, extra: dict, in_channels: int = 3, norm_cfg: dict | None = None,
                 norm_eval: bool = False, with_cp: bool = False, attention: str = "sdpa",
                 zero_init_residual: bool = False, pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if pretrained is not None and init_cfg is not None:
            raise ValueError("HRT: give either `pretrained` or `init_cfg`, not both")
        config, multiscale_output = core_config(extra)
        norm_cfg = local_norm_cfg(norm_cfg or dict(type="BN", requires_grad=True))
        options = HRFormerOptions.preset(
            "pose", rel_pos_bias=bool(extra.get("with_rpe", POSE_COPY.rel_pos_bias)),
            **upsample_options(extra.get("upsample")), multiscale_output=multiscale_output,
            with_cp=with_cp, attention=attention,
            in_channels=in_channels, norm_layer=partial(_norm_layer, norm_cfg))
        # Cooperative init: HRFormer's super().__init__() runs BaseModule's (init_cfg None).
        super().__init__(config, options)
        if pretrained is not None:
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        self.init_cfg = copy.deepcopy(init_cfg if init_cfg is not None else _DEFAULT_INIT)
        self.norm_eval = norm_eval
        # mmpose 1.x HRFormer checkpoints (fused qkv, `ffn`) load through any loader.
        self.register_load_state_dict_pre_hook(load_mmpose_layout_hook)
        self.zero_init_residual = zero_init_residual
        self.register_load_state_dict_pre_hook(refuse_shape_mismatches)

    def init_weights(self) -> None:
        init_cfg = self.init_cfg if isinstance(self.init_cfg, dict) else None
        if init_cfg is not None and init_cfg.get("type") == "Pretrained":
            # mmengine's Pretrained init misses the ImageNet layout ({"model": ...}).
            load_pretrained_backbone(self, init_cfg["checkpoint"])
            self._is_init = True
            return
        super().init_weights()
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        return tuple(super().forward(x))

    def train(self, mode: bool = True) -> HRT:
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def _norm_layer(norm_cfg: dict, num_features: int) -> nn.Module:
    return build_norm_layer(norm_cfg, num_features)[1]
