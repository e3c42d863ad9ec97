"""The original's baseline configs build their models through timm.create_model."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from timm.layers import DropPath

from config import load_config
from engine.optim import parameter_groups
from models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# Parameter counts of the published models (1000 classes).
PARAMS = {
    "deit/deit_tiny_patch16_224": 5_717_416, "deit/deit_small_patch16_224": 22_050_664,
    "deit/deit_base_patch16_224": 86_567_656, "hrnet/hrnet_w18_small_v2": 15_597_464,
    "hrnet/hrnet_w18": 21_299_004, "hrnet/hrnet_w32": 41_232_680, "hrnet/hrnet_w48": 77_469_864,
    "pvt/pvt_v2_b0_patch16_224": 3_666_760, "pvt/pvt_v2_b1_patch16_224": 14_009_000,
    "pvt/pvt_v2_b2_patch16_224": 25_362_856, "pvt/pvt_v2_b3_patch16_224": 45_238_696,
    "pvt/pvt_v2_b4_patch16_224": 62_556_072, "pvt/pvt_v2_b5_patch16_224": 81_956_008,
    "swin/swin_tiny_patch4_window7_224": 28_288_354,
}


def test_every_baseline_config_is_covered() -> None:
    found = {str(p.relative_to(CONFIGS).with_suffix("")) for p in CONFIGS.glob("*/*.yaml")
             if p.parent.name not in ("hrt", "demo")}
    assert found == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_baseline_builds_with_its_drop_path(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.yaml")
    assert config.MODEL.TYPE == "timm"
    with torch.device("meta"):  # shapes only: fast, no memory
        model = build_model(config)
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]
    rates = [m.drop_prob for m in model.modules() if isinstance(m, DropPath)]
    if config.MODEL.DROP_PATH_RATE > 0:
        assert max(rates) == pytest.approx(config.MODEL.DROP_PATH_RATE)
    else:
        assert not rates


def test_swin_relative_position_tables_get_no_weight_decay() -> None:
    with torch.device("meta"):
        model = build_model(load_config(CONFIGS / "swin/swin_tiny_patch4_window7_224.yaml"))
    decay, _ = parameter_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    assert not any("relative_position_bias_table" in names[id(p)] for p in decay["params"])


def test_unknown_timm_name_is_reported() -> None:
    config = load_config(CONFIGS / "deit/deit_tiny_patch16_224.yaml",
                         ["MODEL.TIMM_NAME", "deit_huge_patch99"])
    with pytest.raises(ValueError, match="MODEL.TIMM_NAME='deit_huge_patch99'"):
        build_model(config)
