"""Every option does what its name says, or is rejected with a message (none is silently ignored):
--data-set / DATA.DATASET, --local_rank, MODEL.DROP_RATE, MODEL.DROP_PATH_RATE,
TRAIN.USE_CHECKPOINT for timm baselines, and DATA.ZIP_MODE in the saved config."""
from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
import yaml

import main as cls_main
import models.timm_models  # noqa: F401  (registers hrformer_* in timm)
from config import ConfigError, load_config
from conftest import TINY_CONFIG
from main import build_config, parse_args
from models import build_model
from models.hrformer import DropPath

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def config_from(data: Path, *flags: str):
    return build_config(parse_args(["--cfg", str(TINY_CONFIG), "--data-path", str(data), *flags]))


def test_data_set_sets_the_dataset_and_others_are_rejected(folder_data: Path, capsys) -> None:
    assert config_from(folder_data, "--data-set", "IMNET").DATA.DATASET == "imagenet"
    with pytest.raises(SystemExit):
        parse_args(["--cfg", "x.yaml", "--data-set", "CIFAR"])
    assert "invalid choice: 'CIFAR'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"DATA.DATASET='cifar10' is not supported.*imagenet"):
        load_config(TINY_CONFIG, ["DATA.DATASET", "cifar10"])


def test_local_rank_is_a_documented_no_op(folder_data: Path) -> None:
    """torch.distributed.launch passes it; the LOCAL_RANK environment variable is used."""
    with_flag = config_from(folder_data, "--local_rank", "3")
    assert with_flag.dump() == config_from(folder_data).dump()
    assert "LOCAL_RANK" not in with_flag


def test_drop_path_rate_sets_hrformers_drop_path() -> None:
    def rates(config) -> list[float]:
        return [m.p for m in build_model(config).modules() if isinstance(m, DropPath)]

    plain = load_config(TINY_CONFIG)  # MODEL.HRT.DROP_PATH_RATE 0.1, as the original's yaml
    assert plain.MODEL.DROP_PATH_RATE is None and max(rates(plain)) == pytest.approx(0.1)
    swin_style = load_config(TINY_CONFIG, ["MODEL.DROP_PATH_RATE", "0.3"])
    assert swin_style.MODEL.HRT.DROP_PATH_RATE == 0.3  # the saved config agrees with the model
    assert max(rates(swin_style)) == pytest.approx(0.3)
    zero = rates(load_config(TINY_CONFIG, ["MODEL.DROP_PATH_RATE", "0"]))
    assert len(zero) == len(rates(plain)) and not any(zero)


def _head_inputs(model, train_dropout: bool) -> torch.Tensor:
    """The classifier's input on a fixed batch, the network in eval mode, the head's dropout
    in train mode or not."""
    seen = []
    hook = model.classifier.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    model.eval()
    model.head_drop.train(train_dropout)
    torch.manual_seed(0)
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    hook.remove()
    return seen[0]


def test_drop_rate_is_dropout_before_the_classifier() -> None:
    model = build_model(load_config(TINY_CONFIG, ["MODEL.DROP_RATE", "0.5"]))
    kept, dropped = _head_inputs(model, False), _head_inputs(model, True)
    nonzero = kept != 0
    assert nonzero.sum() > 1000
    ratio = dropped[nonzero] / kept[nonzero]
    assert torch.all((ratio == 0) | torch.isclose(ratio, torch.tensor(2.0)))
    assert 0.4 < (ratio == 0).float().mean() < 0.6
    default = build_model(load_config(TINY_CONFIG))
    assert torch.equal(_head_inputs(default, True), _head_inputs(default, False))


def test_timm_entry_point_applies_drop_rate() -> None:
    model = timm.create_model("hrformer_tiny", drop_rate=0.25, num_classes=10)
    assert model.head_drop.p == 0.25 and model.classifier.out_features == 10


def test_use_checkpoint_reaches_timm_baselines() -> None:
    deit = load_config(CONFIGS / "deit/deit_tiny_patch16_224.yaml",
                       ["TRAIN.USE_CHECKPOINT", "True"])
    with torch.device("meta"):
        assert build_model(deit).grad_checkpointing is True
        assert build_model(load_config(CONFIGS / "deit/deit_tiny_patch16_224.yaml")
                           ).grad_checkpointing is False
    hrnet = load_config(CONFIGS / "hrnet/hrnet_w18_small_v2.yaml", ["TRAIN.USE_CHECKPOINT", "True"])
    with torch.device("meta"), pytest.raises(
            ValueError, match="TRAIN.USE_CHECKPOINT: timm model 'hrnet_w18_small_v2' does not"):
        build_model(hrnet)


@pytest.mark.parametrize("layout", ["folder", "zip"])
def test_saved_config_shows_the_detected_layout(layout: str, request, tmp_path: Path) -> None:
    data = request.getfixturevalue(f"{layout}_data")
    config = config_from(data)
    assert config.is_frozen() and config.DATA.ZIP_MODE is (layout == "zip")
    if layout == "zip":  # the whole run (evaluation only): config.yaml written before the loaders
        cls_main.main(["--cfg", str(TINY_CONFIG), "--data-path", str(data), "--eval",
                       "--output", str(tmp_path)])
        saved = yaml.safe_load((tmp_path / "hrt_test_tiny" / "default" / "config.yaml").read_text())
        assert saved["DATA"]["ZIP_MODE"] is True
