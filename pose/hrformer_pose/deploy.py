"""Deployment of the top-down model: the heatmap network to export, the model from a
config + checkpoint (one place, mmpose's `init_model`), and an estimator whose heatmaps come
from any runtime backend (`use_runner`)."""
from __future__ import annotations

from typing import Callable

from mmengine.config import Config
from torch import Tensor, nn

from hrformer_common.runtime import Runner

from .hrformer import reparameterize_model

OUTPUT_NAMES = ("heatmaps",)


class HeatmapNet(nn.Module):
    """backbone (+ neck) + head of a top-down estimator: images -> N x K x H/4 x W/4."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, x: Tensor) -> Tensor:
        # The class methods, not the instance's: `use_runner` may have replaced those with
        # a runner that calls this network.
        e = self.estimator
        return type(e.head).forward(e.head, type(e).extract_feat(e, x))


def load_pose_model(config: str | Config, checkpoint: str | None, device: str = "cpu") -> nn.Module:
    """The top-down estimator of a config with a checkpoint (ours or an original mmpose 0.x
    one), folded for inference (`reparameterize_model`: eval mode, refuses training)."""
    from mmpose.apis import init_model
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    cfg.model.backbone.init_cfg = None  # the checkpoint holds all weights
    cfg.model.backbone.pop("pretrained", None)
    return reparameterize_model(init_model(cfg, checkpoint, device=device))


def input_size(cfg: Config) -> tuple[int, int]:
    """(height, width) of the config's codec (mmpose writes input_size as (w, h))."""
    width, height = cfg.codec["input_size"]
    return int(height), int(width)


def use_runner(estimator: nn.Module, runner: Runner) -> nn.Module:
    """Route the estimator's heatmaps through `runner`: mmpose's predict (decoding, flip test)
    stays as it is, only the network is replaced."""
    heatmaps: Callable[[Tensor], Tensor] = lambda x: runner(x)["heatmaps"].to(x.device)
    # predict() calls extract_feat then head.forward (twice with flip test): the runner
    # returns heatmaps from extract_feat, and the head passes them through.
    estimator.extract_feat = heatmaps
    estimator.head.forward = lambda feats: feats
    return estimator
