"""Deployment of the top-down model: the heatmap network (`InferenceNet`) to export or run on
a runtime backend (`apis.PoseInferencer` owns its runner), the model from a config +
checkpoint (one place, mmpose's `init_model`), and its model card."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from mmengine.config import Config
from torch import Tensor, nn

from hrformer_common.checkpoint import load_checkpoint, load_weights
from hrformer_common.model_card import ModelCard

from .checkpoint_keys import pose_state_dict
from .dataset_info import keypoint_names
from .hrformer import reparameterize_model

OUTPUT_NAMES = ("heatmaps",)


class InferenceNet(nn.Module):
    """backbone (+ neck) + head of a top-down estimator: images -> N x K x H/4 x W/4."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, x: Tensor) -> Tensor:
        return self.estimator.head(self.estimator.extract_feat(x))


def load_pose_weights(model: nn.Module, checkpoint: str) -> dict:
    """Load a top-down pose checkpoint (ours, the original's mmpose 0.x layout, or mmpose 1.x
    HRFormer's) into `model` strictly; returns the checkpoint's `meta`. A file without a
    keypoint head (a classification or segmentation checkpoint) or whose layers do not fit
    is a `CheckpointError` naming it, before any weight is copied."""
    content = load_checkpoint(checkpoint)
    state = pose_state_dict(content, checkpoint)
    load_weights(model, state, checkpoint)
    return dict(content.get("meta") or {})


REQUIRED_ENTRIES = ("model.backbone", "model.head.out_channels", "model.data_preprocessor.mean",
                    "model.data_preprocessor.std", "codec.input_size")


def check_topdown_config(cfg: Config) -> None:
    """Every entry of REQUIRED_ENTRIES is in the config, or a ValueError naming the file and
    the first one missing (a classification yaml, a bottom-up model)."""
    for entry in REQUIRED_ENTRIES:
        value: object = cfg
        for part in entry.split("."):
            if not (isinstance(value, (Config, Mapping)) and part in value):
                raise ValueError(f"{cfg.filename or 'the config'}: no {entry}; expected an "
                                 "mmengine top-down pose config (as configs/hrformer/coco/*.py:"
                                 " model with backbone, head and data_preprocessor, and codec)")
            value = value[part]


def load_pose_model(config: str | Config, checkpoint: str | None,
                    device: str = "cpu") -> nn.Module:
    """The top-down estimator of a config with a pose checkpoint (`load_pose_weights`), in
    eval mode; without a checkpoint (benchmarks) the layers keep their initial weights.

    Its `dataset_meta` (keypoint names, skeleton, flip pairs) is the checkpoint's, else the
    config's training metainfo (mmpose's `init_model`); one naming another keypoint count
    than the head's outputs is an error naming both.
    """
    from mmpose.apis import init_model
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    check_topdown_config(cfg)
    cfg.model.backbone.init_cfg = None  # the checkpoint holds all weights
    cfg.model.backbone.pop("pretrained", None)
    model = init_model(cfg, None, device="cpu")
    meta = load_pose_weights(model, checkpoint) if checkpoint is not None else {}
    source = f"the dataset metainfo of {cfg.filename}"
    if meta.get("dataset_meta"):
        model.dataset_meta = meta["dataset_meta"]
        source = f"the dataset_meta stored in {checkpoint}"
    outputs = model.head.out_channels
    if model.dataset_meta["num_keypoints"] != outputs:
        raise ValueError(f"{source} names {model.dataset_meta['num_keypoints']} keypoints, but "
                         f"the head of {cfg.filename} has {outputs} outputs "
                         "(model.head.out_channels): give both the same keypoints")
    return model.to(device).eval()


def input_size(cfg: Config) -> tuple[int, int]:
    """(height, width) of the config's codec (mmpose writes input_size as (w, h))."""
    width, height = cfg.codec["input_size"]
    return int(height), int(width)


def inference_model(model: str | Path | Config, checkpoint: str | None, *,
                    device: str = "cpu") -> tuple[InferenceNet, ModelCard]:
    """What export and the demos run: the heatmap network of a config (`model`) + pose
    checkpoint, folded for inference (`reparameterize_model`: BatchNorm folded once, refuses
    training), and its model card, taken before the fold (the checkpoint's own values)."""
    cfg = model if isinstance(model, Config) else Config.fromfile(str(model))
    net = InferenceNet(load_pose_model(cfg, checkpoint, device))
    card = model_card(net, cfg)
    return reparameterize_model(net), card


def model_card(net: InferenceNet, cfg: Config) -> ModelCard:
    """The card of a loaded heatmap network (before folding), as export writes it and a run
    with an exported file checks it; its labels are the keypoint names."""
    height, width = input_size(cfg)
    pre = cfg.model.data_preprocessor
    order = "RGB" if pre.get("bgr_to_rgb") else "BGR"
    return ModelCard.of(net, task="pose", variant=Path(cfg.filename).stem if cfg.filename
                        else "config", num_classes=cfg.model.head.out_channels,
                        outputs=OUTPUT_NAMES, labels=keypoint_names(net.estimator.dataset_meta),
                        input_layout=f"NCHW float32 {order}, mean {list(pre.mean)} std "
                                     f"{list(pre.std)}",
                        input_size=f"{height}x{width}")
