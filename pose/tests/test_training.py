"""Training through tools/train.py: one iteration, resume, NaN stop, 2-process gloo, init."""
from __future__ import annotations

import json
import math
import os
import runpy
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import DEMO_CONFIG, POSE, data_options
from hrformer_pose.backbone import HRT
from hrformer_pose.hooks import NonFiniteLossError, StopOnNonFiniteLossHook
from hrformer_pose.checkpoints import load_pretrained_backbone
from hrformer_common.testing import manifest, recipe_state_dict
from mmengine.config import Config

TINY = POSE / "configs/hrformer/coco/hrt_tiny_coco_256x192.py"
TRAIN = runpy.run_path(str(POSE / "tools" / "train.py"))


def _options(root, **extra) -> list[str]:
    # He init instead of an ImageNet checkpoint (the N(0, 0.001) default is slow on CPUs).
    options = {**data_options(root), "model.backbone.init_cfg._delete_": True,
               "model.backbone.init_cfg.type": "Kaiming",
               "model.backbone.init_cfg.layer": "Conv2d", **extra}
    return ["--cfg-options", *(f"{k}={v}" for k, v in options.items())]


def _instances(root, split: str = "train") -> int:
    return len(json.loads((root / "annotations" / f"{split}.json").read_text())["annotations"])


def test_one_training_iteration_of_a_coco_config(tmp_path, stick_data):
    """HRFormer-T config, one sample, one iteration, fp32 on CPU."""
    TRAIN["main"]([str(TINY), "--work-dir", str(tmp_path), "--no-validate", *_options(
        stick_data, **{"train_dataloader.batch_size": 1, "train_dataloader.dataset.indices": 1,
                       "train_cfg.max_epochs": 1, "default_hooks.checkpoint.interval": 1})])
    checkpoint = torch.load(tmp_path / "epoch_1.pth", weights_only=True)
    assert checkpoint["meta"]["iter"] == 1
    assert math.isfinite(checkpoint["message_hub"]["log_scalars"]["train/loss"].current())
    # The warm-up's first step: lr x (0.001 + 0.999 / 500), as the original's.
    assert math.isclose(checkpoint["param_schedulers"][0]["_last_value"][0],
                        5e-4 * (0.001 + 0.999 / 500), rel_tol=1e-6)


def test_resume_restores_optimizer_and_schedule(tmp_path, stick_data):
    """The demo config, 1 epoch of 1 iteration, then resumed for a second epoch."""
    def train(epochs: int, *extra: str) -> dict:
        TRAIN["main"]([str(DEMO_CONFIG), "--work-dir", str(tmp_path), "--no-validate", *extra,
                       *_options(stick_data, **{"train_dataloader.dataset.indices": 2,
                                                "train_cfg.max_epochs": epochs,
                                                "default_hooks.checkpoint.interval": 1})])
        return torch.load(tmp_path / f"epoch_{epochs}.pth", weights_only=True)

    first = train(1)
    second = train(2, "--resume")
    assert second["meta"]["iter"] == 2 and second["meta"]["epoch"] == 2
    steps = {int(s["step"]) for s in second["optimizer"]["state"].values()}
    assert steps == {2}  # AdamW state continued, not restarted
    assert second["param_schedulers"][0]["_global_step"] == 2
    weight = "backbone.stage2.0.branches.0.0.attn.attn.q_proj.weight"
    assert not torch.equal(first["state_dict"][weight], second["state_dict"][weight])


def test_nan_loss_stops_with_a_clear_error():
    hook = StopOnNonFiniteLossHook()
    runner = SimpleNamespace(iter=41, epoch=2)
    hook.after_train_iter(runner, 0, outputs={"loss": torch.tensor(0.5)})
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at iteration 42 \(epoch 3\)"):
        hook.after_train_iter(runner, 0, outputs={"loss": torch.tensor(float("nan")),
                                                  "loss_kpt": torch.tensor(float("nan"))})
    assert dict(type="StopOnNonFiniteLossHook") in Config.fromfile(TINY).custom_hooks


def test_two_process_gloo_training(tmp_path, stick_data):
    """tools/dist_train.sh with 2 CPU processes; each runs ceil(ceil(n / 2) / 2) iterations."""
    per_process = math.ceil(_instances(stick_data) / 2)
    expected_iters = math.ceil(per_process / 2)
    env = {**os.environ, "PYTHON": sys.executable, "PORT": "29563", "CUDA_VISIBLE_DEVICES": "",
           "OMP_NUM_THREADS": "1"}
    options = _options(stick_data, **{"train_cfg.max_epochs": 1,
                                      "default_hooks.checkpoint.interval": 1})
    result = subprocess.run(
        ["bash", str(POSE / "tools" / "dist_train.sh"), str(DEMO_CONFIG), "2", "--work-dir",
         str(tmp_path), "--no-validate", *options], env=env, capture_output=True, text=True,
        timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Distributed training: True" in log and "GPU number: 2" in log
    assert expected_iters == 2
    checkpoint = torch.load(tmp_path / "epoch_1.pth", weights_only=True)
    assert checkpoint["meta"]["iter"] == expected_iters


def test_imagenet_checkpoint_initialises_backbone(tmp_path):
    """A cls/ checkpoint of HRFormer-S: head and extra stage-4 fusion skipped, none unexpected."""
    path = tmp_path / "hrt_small.pth"
    weights = recipe_state_dict(manifest("cls_hrt_small")["keys"])
    torch.save({"model": weights, "epoch": 299}, path)
    extra = Config.fromfile(POSE / "configs/hrformer/coco/hrt_small_coco_256x192.py"
                            ).model.backbone.extra
    model = HRT(extra=extra.to_dict())
    report = load_pretrained_backbone(model, str(path))
    assert report.unexpected == [] and report.missing == []
    assert "classifier.weight" in report.skipped
    assert any(k.startswith("stage4.1.fuse_layers.1.") for k in report.skipped)
    assert len(report.loaded) + len(report.skipped) == len(weights)
    state = model.state_dict()
    source = torch.load(path, weights_only=True)["model"]
    assert all(torch.equal(state[k], source[k]) for k in report.loaded)
