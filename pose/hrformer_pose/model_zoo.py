"""mmpose's HRFormer checkpoints by name: `PoseInferencer("hrt_small_coco_256x192")`, or
`demo/inferencer_demo.py --model hrt_small_coco_256x192` without `--checkpoint`.

A name stands for a config of `configs/hrformer/coco/` and the URL of mmpose's model-zoo
checkpoint for it (docs/mmpose_models.md); the weights are downloaded once into torch's hub
cache, their file name's sha256 prefix checked (`hrformer_common.hub`). mmpose trained them
with the relative position bias, which the original's pose code left out, so a zoo model
runs its config with `with_rpe=True`; the original's released checkpoints run on the config
file itself (not the name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mmengine.config import Config

from .deploy import check_topdown_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "hrformer" / "coco"
_ZOO = "https://download.openmmlab.com/mmpose/top_down/hrformer/"
# Config entries mmpose's weights need: they were trained adding the relative position bias.
MMPOSE_OPTIONS = {"model.backbone.extra.with_rpe": True}


@dataclass(frozen=True)
class ZooModel:
    """A named model: its config, the URL of its weights, the config entries they need."""
    config: Path
    url: str
    options: Mapping[str, Any] = field(default_factory=lambda: dict(MMPOSE_OPTIONS))


MODEL_ZOO: dict[str, ZooModel] = {
    name: ZooModel(CONFIGS / f"{name}.py", _ZOO + file) for name, file in (
        ("hrt_small_coco_256x192", "hrformer_small_coco_256x192-5310d898_20220316.pth"),
        ("hrt_small_coco_384x288", "hrformer_small_coco_384x288-98d237ed_20220316.pth"),
        ("hrt_base_coco_256x192", "hrformer_base_coco_256x192-6f5f1169_20220316.pth"),
        ("hrt_base_coco_384x288", "hrformer_base_coco_384x288-ecf0758d_20220316.pth"))}


def resolve_model(model: str | Path | Config, checkpoint: str | Path | None
                  ) -> tuple[Config, str | None]:
    """The config and checkpoint of a model argument: a config (a file or a `Config`) with
    `checkpoint` as given, or a model-zoo name: its config (with the options its weights need)
    and its weights' URL, unless `checkpoint` names a copy of them. A config of another kind
    (a classification yaml) is a ValueError naming it (`check_topdown_config`)."""
    given = None if checkpoint is None else str(checkpoint)
    if isinstance(model, Config) or Path(model).is_file():
        cfg = model if isinstance(model, Config) else Config.fromfile(str(model))
        check_topdown_config(cfg)
        return cfg, given
    zoo = MODEL_ZOO.get(str(model))
    if zoo is None:
        raise FileNotFoundError(f"model {str(model)!r}: no such config file, and not a "
                                f"model-zoo name ({', '.join(MODEL_ZOO)})")
    cfg = Config.fromfile(str(zoo.config))
    cfg.merge_from_dict(dict(zoo.options))
    return cfg, given or zoo.url


def missing_checkpoint(model: str, checkpoint: str | None) -> str | None:
    """A command's complaint when it has no weights: none given and `model` is not a
    model-zoo name (whose weights are known). None when all is well."""
    if checkpoint is None and model not in MODEL_ZOO:
        return (f"--checkpoint is needed unless --model is a model-zoo name "
                f"({', '.join(MODEL_ZOO)})")
    return None
