"""yacs config: released yaml files, BASE inheritance, --opts overrides, error messages."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ConfigError, hrt_stage, load_config
from models import MODEL_NAMES, build_model, create_model
from hrformer_common.testing import fixture, manifest
from models.hrformer import DropPath, preset

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "hrt"


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def drop_path_rates(model) -> list[float]:
    return [m.p for m in model.modules() if isinstance(m, DropPath)]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_yaml_builds_the_preset_model(name: str) -> None:
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert (cfg.MODEL.TYPE, cfg.MODEL.NAME, cfg.AMP_OPT_LEVEL) == ("hrt", name, "O1")
    layout = preset(name)
    assert cfg.MODEL.HRT.DROP_PATH_RATE == layout["DROP_PATH_RATE"]
    for s in (1, 2, 3, 4):
        assert dict(cfg.MODEL.HRT[f"STAGE{s}"]) == hrt_stage(layout[f"STAGE{s}"], s)
    from_yaml, from_preset = build_model(cfg), create_model(name)
    shapes = {k: v.shape for k, v in from_yaml.state_dict().items()}
    assert shapes == {k: v.shape for k, v in from_preset.state_dict().items()}
    assert drop_path_rates(from_yaml) == drop_path_rates(from_preset)


def test_original_stage_keys_are_accepted(tmp_path: Path) -> None:
    """The micro fixture's layout (the original's key set) loads and builds its manifest."""
    micro = fixture("cls_micro")
    path = write_yaml(tmp_path / "micro.yaml", {
        "MODEL": {"NAME": "micro", "NUM_CLASSES": micro["num_classes"], "HRT": micro["config"]}})
    model = build_model(load_config(path))
    assert set(model.state_dict()) == {k for k, _, _ in manifest("cls_micro")["keys"]}


def test_defaults_follow_the_original() -> None:
    cfg = load_config(CONFIGS / "hrt_small.yaml")
    assert (cfg.DATA.BATCH_SIZE, cfg.DATA.IMG_SIZE, cfg.DATA.INTERPOLATION) == (128, 224, "bicubic")
    assert (cfg.TRAIN.EPOCHS, cfg.TRAIN.WARMUP_EPOCHS, cfg.TRAIN.BASE_LR) == (300, 20, 5e-4)
    assert (cfg.TRAIN.WARMUP_LR, cfg.TRAIN.MIN_LR, cfg.TRAIN.WEIGHT_DECAY) == (5e-7, 5e-6, 0.05)
    assert cfg.TRAIN.OPTIMIZER.BETAS == (0.9, 0.999)
    assert (cfg.AUG.MIXUP, cfg.AUG.CUTMIX, cfg.AUG.CUTMIX_MINMAX) == (0.8, 1.0, None)
    assert (cfg.MODEL.LABEL_SMOOTHING, cfg.TEST.CROP, cfg.TAG) == (0.1, True, "default")


def test_opts_override_and_freeze() -> None:
    cfg = load_config(CONFIGS / "hrt_tiny.yaml",
                      ["MODEL.NUM_CLASSES", "10", "TRAIN.BASE_LR", "1e-3",
                       "MODEL.HRT.DROP_PATH_RATE", "0.1", "TAG", "run1"])
    assert (cfg.MODEL.NUM_CLASSES, cfg.TRAIN.BASE_LR, cfg.TAG) == (10, 1e-3, "run1")
    assert max(drop_path_rates(build_model(cfg))) == pytest.approx(0.1)
    with pytest.raises(AttributeError):
        cfg.TAG = "changed"


def test_base_inheritance(tmp_path: Path) -> None:
    base = write_yaml(tmp_path / "base.yaml",
                      {"BASE": [str(CONFIGS / "hrt_small.yaml")], "TRAIN": {"EPOCHS": 100}})
    child = write_yaml(tmp_path / "child.yaml", {"BASE": ["base.yaml"], "DATA": {"BATCH_SIZE": 64}})
    cfg = load_config(child)
    assert (cfg.MODEL.NAME, cfg.TRAIN.EPOCHS, cfg.DATA.BATCH_SIZE) == ("hrt_small", 100, 64)
    assert cfg.MODEL.HRT.STAGE4.NUM_CHANNELS == [32, 64, 128, 256]


def test_unknown_key_in_file_names_key_and_file(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "bad.yaml", {"MODEL": {"HRT": {"STAGE2": {"NUM_HEAD": [1, 2]}}}})
    with pytest.raises(ConfigError, match=r"bad\.yaml.*MODEL\.HRT\.STAGE2\.NUM_HEAD"):
        load_config(path)


def test_wrong_type_in_file_names_key_and_file(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "bad_type.yaml", {"DATA": {"BATCH_SIZE": "large"}})
    with pytest.raises(ConfigError, match=r"bad_type\.yaml.*DATA\.BATCH_SIZE"):
        load_config(path)


def test_bad_opts_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"--opts.*MODEL\.NUM_CLASS\b"):
        load_config(CONFIGS / "hrt_tiny.yaml", ["MODEL.NUM_CLASS", "10"])
    with pytest.raises(ConfigError, match=r"--opts.*TRAIN\.EPOCHS"):
        load_config(CONFIGS / "hrt_tiny.yaml", ["TRAIN.EPOCHS", "many"])
    with pytest.raises(ConfigError, match="KEY VALUE pairs"):
        load_config(CONFIGS / "hrt_tiny.yaml", ["TRAIN.EPOCHS"])


def test_missing_base_file_is_reported(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "child.yaml", {"BASE": ["nowhere.yaml"]})
    with pytest.raises(ConfigError, match=r"nowhere\.yaml.*child\.yaml"):
        load_config(path)


def test_build_model_rejects_unsupported_settings() -> None:
    with pytest.raises(ValueError, match="MODEL.TYPE='swin'"):
        build_model(load_config(CONFIGS / "hrt_tiny.yaml", ["MODEL.TYPE", "swin"]))
    attn = [[["isa_local", "isa_local"], ["isa_local", "full"]]]
    cfg = load_config(CONFIGS / "hrt_tiny.yaml", ["MODEL.HRT.STAGE2.ATTN_TYPES", str(attn)])
    with pytest.raises(ValueError, match=r"STAGE2\.ATTN_TYPES.*'full'"):
        build_model(cfg)
