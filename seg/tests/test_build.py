"""Model construction: registry names, options and input validation."""
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import micro_config
from lib.models import DROP_PATH_RATE, build_backbone, build_segmentor
from lib.segmentor.configured_segmentor import configured_segmentor
from lib.utils.command_line import load_config

SEG = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def test_micro_segmentor_options_reach_backbone_and_head():
    model = build_segmentor("hrt_small_ocr_v3", micro_config(), 5, in_channels=240,
                            norm_layer="syncbn", drop_path_rate=0.3, attention="math")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(isinstance(m, nn.SyncBatchNorm) for m in norms)
    assert model.conv3x3[0].groups == 16 and model.conv3x3[0].kernel_size == (7, 7)
    assert model.cls_head.out_channels == 5 and model.aux_head[2].out_channels == 5
    drop_paths = [m.p for m in model.backbone.modules() if type(m).__name__ == "DropPath"]
    assert max(drop_paths) == pytest.approx(0.3)


def test_training_forward_returns_input_sized_logits():
    # 36x44 is not a multiple of the windows: exercises the padding path at every stage.
    model = build_segmentor("hrt_small_ocr_v2", micro_config(), 3, in_channels=240).train()
    out_aux, out = model(torch.randn(2, 3, 36, 44))
    assert out_aux.shape == out.shape == (2, 3, 36, 44)
    assert out.requires_grad


def test_demo_config_builds_the_narrow_head_model(monkeypatch):
    """The demo's model: its one-block 16/32/64/128 layout and a 128-wide OCR head (keys 64)
    instead of the released 512 (256); logits at input size."""
    monkeypatch.chdir(SEG)
    configer, _ = load_config(["--configs", "configs/demo/H_48_D_4.json"])
    model = configured_segmentor(configer, CPU).eval()
    assert model.backbone.out_channels == [16, 32, 64, 128]
    assert len(model.backbone.stage4[0].branches[0]) == 1
    assert model.conv3x3[0].in_channels == 240 and model.conv3x3[0].out_channels == 128
    assert model.ocr_distri_head.object_context_block.key_channels == 64
    assert model.cls_head.in_channels == 128 and model.cls_head.out_channels == 5
    released = build_segmentor("hrt_small_ocr_v2", micro_config(), 5, in_channels=240)
    assert released.conv3x3[0].out_channels == 512
    assert released.ocr_distri_head.object_context_block.key_channels == 256
    with torch.no_grad():
        out_aux, out = model(torch.randn(1, 3, 64, 96))
    assert out_aux.shape == out.shape == (1, 5, 64, 96)


def test_head_width_must_match_backbone():
    with pytest.raises(ValueError, match=r"outputs 240 channels \(16\+32\+64\+128\).*480"):
        build_segmentor("hrt_small_ocr_v2", micro_config(), 19)


@pytest.mark.parametrize("call, message", [
    (lambda: build_segmentor("hrt_tiny_ocr_v2", "hrt_small", 19), "unknown segmentor"),
    (lambda: build_backbone("hrt_tiny"), "unknown seg backbone 'hrt_tiny'"),
    (lambda: build_backbone(micro_config(), norm_layer="gn"), "norm_layer='gn'"),
])
def test_bad_names_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _largest_drop_path(model: nn.Module) -> float:
    return max(m.p for m in model.modules() if type(m).__name__ == "DropPath")


def test_drop_path_comes_from_the_config_or_flag_alone(monkeypatch):
    """The original also read a `drop_path_rate` environment variable; here the config key
    (or --drop_path_rate) is the one source, with the original's 0.2 where neither sets it."""
    monkeypatch.chdir(SEG)
    monkeypatch.setenv("drop_path_rate", "0.5")
    demo = ["--configs", "configs/demo/H_48_D_4.json"]
    flagged, _ = load_config([*demo, "--drop_path_rate", "0.3"])
    assert _largest_drop_path(configured_segmentor(flagged, CPU)) == pytest.approx(0.3)
    unset, _ = load_config(demo)
    del unset.params["network"]["drop_path_rate"]
    assert _largest_drop_path(configured_segmentor(unset, CPU)) == pytest.approx(DROP_PATH_RATE)
    assert DROP_PATH_RATE == 0.2


def test_every_flag_has_a_dashed_spelling_and_the_underscore_one_still_works():
    dashed = load_config(["--configs", "configs/demo/H_48_D_4.json", "--base-lr", "0.5", "--max-iters", "3", "--drop-path-rate",
                          "0.1", "--train-batch-size", "2", "--resume-continue", "n"])[0]
    original = load_config(["--configs", "configs/demo/H_48_D_4.json", "--base_lr", "0.5", "--max_iters", "3", "--drop_path_rate",
                            "0.1", "--train_batch_size", "2", "--resume_continue", "n"])[0]
    assert dashed.params == original.params
    assert (dashed.get("lr.base_lr"), dashed.get("solver.max_iters"),
            dashed.get("train.batch_size")) == (0.5, 3, 2)
