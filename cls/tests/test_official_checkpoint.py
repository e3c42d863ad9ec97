"""Released checkpoints as they are: the original dict layout with its pickled yacs config,
built here from a key manifest + the RECIPE weights, reproduce the reference logits."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import timm
import torch
import yaml
from yacs.config import CfgNode

import main as cls_main
import models.timm_models  # noqa: F401  (registers hrformer_* in timm)
from config import load_config
from hrformer_common.testing import (assert_matches_reference, fixture, manifest, recipe_state_dict,
                              seeded_input)
from models import build_model
from models.hrformer import reparameterize_model
from hrformer_common.checkpoint import load_checkpoint, load_weights, state_dict_of

pytestmark = pytest.mark.usefixtures("one_thread")


def official_file(path: Path, manifest_name: str, config: CfgNode) -> Path:
    """What the original's save_checkpoint wrote (apex 'amp' state included)."""
    state = recipe_state_dict(manifest(manifest_name)["keys"])
    torch.save({"model": state, "optimizer": {"state": {}, "param_groups": []},
                "lr_scheduler": {}, "max_accuracy": 81.2, "epoch": 299, "config": config,
                "amp": {"loss_scaler0": {"loss_scale": 65536.0, "unskipped": 0}}}, path)
    return path


def micro_yaml(tmp_path: Path, micro: dict) -> Path:
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump({
        "DATA": {"IMG_SIZE": 32, "BATCH_SIZE": 4, "NUM_WORKERS": 0},
        "MODEL": {"NAME": "micro", "NUM_CLASSES": micro["num_classes"],
                  "HRT": micro["config"]}}))
    return path


def test_micro_checkpoint_reproduces_fixture_logits(tmp_path: Path) -> None:
    micro = fixture("cls_micro")
    config = load_config(micro_yaml(tmp_path, micro))
    path = official_file(tmp_path / "micro.pth", "cls_micro", config)
    checkpoint = load_checkpoint(path)
    model = build_model(config)
    load_weights(model, state_dict_of(checkpoint, str(path)), str(path))
    model.eval()
    for case in micro["cases"]:
        with torch.no_grad():
            logits = model(seeded_input(case["input_shape"]))
        assert_matches_reference(logits, case["outputs"]["logits"], f"{case['input_shape']}")


def test_timm_create_model_loads_an_official_file(tmp_path: Path) -> None:
    path = official_file(tmp_path / "hrt_small.pth", "cls_hrt_small",
                         load_config(Path("configs/hrt/hrt_small.yaml")))
    model = timm.create_model("hrformer_small", pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(path))).eval()
    assert model.pretrained_cfg["crop_pct"] == 0.875
    reference = fixture("cls_hrt_small_224")
    for case in reference["cases"]:
        with torch.no_grad():
            logits = model(seeded_input(case["input_shape"]))
        assert_matches_reference(logits, case["outputs"]["logits"], "timm hrformer_small")
    assert {"hrformer_tiny", "hrformer_small", "hrformer_base"} <= set(timm.list_models("hrf*"))


def test_eval_mode_prints_the_original_summary_line(folder_data: Path, tmp_path: Path,
                                                     capsys, monkeypatch) -> None:
    micro = fixture("cls_micro")
    cfg_path = micro_yaml(tmp_path, {**micro, "num_classes": 10})
    path = official_file(tmp_path / "micro.pth", "cls_micro", load_config(cfg_path))
    stems = []  # the evaluated model is folded once, after its weights are loaded

    def fold(model: torch.nn.Module) -> torch.nn.Module:
        stems.append(model.conv1.weight.detach().clone())
        return reparameterize_model(model)

    monkeypatch.setattr(cls_main, "reparameterize_model", fold)
    result = cls_main.main(["--eval", "--cfg", str(cfg_path), "--resume", str(path),
                            "--data-path", str(folder_data), "--output", str(tmp_path)])
    assert len(stems) == 1
    assert torch.equal(stems[0], load_checkpoint(path)["model"]["conv1.weight"])
    printed = re.findall(r" \* Acc@1 ([\d.]+) Acc@5 ([\d.]+)", capsys.readouterr().out)
    assert len(printed) == 1 and result["val"]["count"] == 9
    assert float(printed[0][0]) == pytest.approx(result["val"]["acc1"], abs=1e-3)
    assert list(tmp_path.rglob("*.pth")) == [path]  # evaluation writes no checkpoint
