"""Shared test helpers: model building per manifest, recipe-weight models, generated data.

Reference data, recipe weights and the tolerance come from hrformer_common/testing.py.
"""
from __future__ import annotations

from pathlib import Path

import hrformer_pose  # noqa: F401  (compat fixes must precede mmpose.apis)
import pytest
from hrformer_pose.checkpoint_keys import convert_official_state_dict
from hrformer_pose.hrformer import preset
from hrformer_common.testing import fixture, load_recipe_weights, recipe_state_dict
from mmengine.config import Config
from mmpose.apis import init_model
from torch import Tensor, nn

TEST_CONFIG = Path(__file__).resolve().parent / "configs" / "hrt_small_topdown_256x192.py"


def extra_from_layout(layout: dict) -> dict:
    """A stage layout in the original yaml format -> the pose config's `extra` dict."""
    extra: dict = {"drop_path_rate": layout.get("DROP_PATH_RATE", 0.0)}
    keep = ("NUM_MODULES", "NUM_BRANCHES", "BLOCK", "NUM_BLOCKS", "NUM_CHANNELS", "NUM_HEADS",
            "NUM_MLP_RATIOS", "NUM_WINDOW_SIZES")
    for s in (1, 2, 3, 4):
        stage = layout[f"STAGE{s}"]
        extra[f"stage{s}"] = {k.lower(): v for k, v in stage.items() if k in keep}
    return extra


def model_config(layout: dict | None = None) -> Config:
    """The test config; `layout` replaces its HRFormer-S stages (and the head's input)."""
    cfg = Config.fromfile(TEST_CONFIG)
    if layout is not None:
        cfg.model.backbone.extra = extra_from_layout(layout)
        cfg.model.head.in_channels = layout["STAGE4"]["NUM_CHANNELS"][0]
    return cfg


def build_model(layout: dict | None = None) -> nn.Module:
    """The test config's top-down model on CPU, without weights."""
    return init_model(model_config(layout), None, device="cpu")


def layout_of(manifest_name: str) -> dict | None:
    """The stage layout behind a pose manifest (None: the test config's HRFormer-S)."""
    if manifest_name == "pose_micro":
        return fixture("pose_micro")["config"]
    return {"pose_hrt_small": None, "pose_hrt_base": preset("hrt_base")}[manifest_name]


def seeded_weights(model: nn.Module) -> dict[str, Tensor]:
    """Deterministic weights (the recipe's, RECIPE.md) for every tensor of `model`; integer
    buffers keep the model's values."""
    own = model.state_dict()
    state = recipe_state_dict([[k, list(v.shape), str(v.dtype).removeprefix("torch.")]
                               for k, v in own.items()])
    return {k: state.get(k, v) for k, v in own.items()}


def checkpoint_bytes(state_dict: dict[str, Tensor]) -> bytes:
    """The content of a checkpoint file holding `state_dict` (as a server sends it)."""
    import io
    import torch
    buffer = io.BytesIO()
    torch.save({"meta": {}, "state_dict": state_dict}, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def recipe_model():
    """`get(manifest_name)` -> the model in eval mode with the recipe weights (loaded strictly
    but for integer buffers). Each model is built once per session."""
    cache: dict[str, nn.Module] = {}

    def get(manifest_name: str) -> nn.Module:
        if manifest_name not in cache:
            model = build_model(layout_of(manifest_name))
            load_recipe_weights(model, manifest_name, rename=convert_official_state_dict)
            cache[manifest_name] = model.eval()
        return cache[manifest_name]

    return get


POSE = Path(__file__).resolve().parents[1]
COCO_CONFIGS = sorted((POSE / "configs" / "hrformer" / "coco").glob("*.py"))
DEMO_CONFIG = POSE / "configs" / "demo" / "hrt_demo_stick_figures_128x96.py"


@pytest.fixture(scope="session")
def stick_data(tmp_path_factory) -> Path:
    """A tiny generated COCO-format keypoint set: train (4 images) and val (3 images)."""
    from demo.stick_figures import make_split

    root = tmp_path_factory.mktemp("stick_figures")
    make_split(root, "train", 4, seed=1)
    make_split(root, "val", 3, seed=2)
    return root


def data_options(root: Path, batch_size: int = 2) -> dict:
    """Config overrides pointing a config's loaders and evaluator at `stick_data`."""
    options: dict = {}
    for loader, split in (("train_dataloader", "train"), ("val_dataloader", "val"),
                          ("test_dataloader", "val")):
        options.update({
            f"{loader}.batch_size": batch_size, f"{loader}.num_workers": 0,
            f"{loader}.persistent_workers": False,
            f"{loader}.dataset.data_root": str(root) + "/",
            f"{loader}.dataset.ann_file": f"annotations/{split}.json",
            f"{loader}.dataset.data_prefix.img": f"{split}/",
        })
    for loader in ("val_dataloader", "test_dataloader"):
        options[f"{loader}.dataset.bbox_file"] = None
    for evaluator in ("val_evaluator", "test_evaluator"):
        options[f"{evaluator}.ann_file"] = str(root / "annotations" / "val.json")
    return options


@pytest.fixture(scope="session")
def demo_checkpoint(stick_data, tmp_path_factory) -> Path:
    """The demo config trained through tools/train.py for one iteration on `stick_data`
    (He init, two images): its heatmaps are not flat, its keypoints deterministic."""
    import runpy
    work_dir = tmp_path_factory.mktemp("demo_model")
    options = {**data_options(stick_data), "train_cfg.max_epochs": 1,
               "default_hooks.checkpoint.interval": 1, "train_dataloader.dataset.indices": 2}
    train = runpy.run_path(str(POSE / "tools" / "train.py"))
    train["main"]([str(DEMO_CONFIG), "--work-dir", str(work_dir), "--no-validate",
                   "--cfg-options", *(f"{k}={v}" for k, v in options.items())])
    return work_dir / "epoch_1.pth"


@pytest.fixture(scope="session")
def demo_pose(demo_checkpoint):
    """A `PoseInferencer` of the demo model (torch, flip test as the config says)."""
    from hrformer_pose.apis import PoseInferencer
    return PoseInferencer(DEMO_CONFIG, demo_checkpoint)


@pytest.fixture
def http_server():
    """A loopback HTTP server of in-memory files (checkpoint URLs without internet)."""
    from hrformer_common.testing.http_server import LoopbackServer
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """torch's checkpoint cache (where URLs are downloaded to), inside the test's folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"
