"""main.py's command line: the original's flags on top of the yaml config and --opts."""
from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError
from conftest import TINY_CONFIG
from main import build_config, parse_args

pytestmark = pytest.mark.usefixtures("one_thread")


def config_from(data: Path, *flags: str):
    return build_config(parse_args(["--cfg", str(TINY_CONFIG), "--data-path", str(data), *flags]))


def test_flags_override_the_config(zip_data: Path) -> None:
    config = config_from(zip_data, "--batch-size", "16", "--accumulation-steps", "4", "--zip",
                         "--cache-mode", "full", "--use-checkpoint", "--amp-opt-level", "O2",
                         "--resume", "x.pth", "--tag", "run7", "--output", "/o", "--eval",
                         "--opts", "TRAIN.EPOCHS", "9", "DATA.BATCH_SIZE", "8")
    assert config.DATA.BATCH_SIZE == 16  # the flag wins over --opts, as in the original
    assert (config.TRAIN.ACCUMULATION_STEPS, config.TRAIN.EPOCHS) == (4, 9)
    assert (config.DATA.ZIP_MODE, config.DATA.CACHE_MODE, config.DATA.DATA_PATH) == (
        True, "full", str(zip_data))
    assert (config.TRAIN.USE_CHECKPOINT, config.AMP_OPT_LEVEL, config.MODEL.RESUME) == (
        True, "O2", "x.pth")
    assert config.OUTPUT == str(Path("/o") / "hrt_test_tiny" / "run7")
    assert config.EVAL_MODE and not config.THROUGHPUT_MODE


def test_defaults_keep_the_yaml_values(folder_data: Path) -> None:
    config = config_from(folder_data)
    assert (config.DATA.BATCH_SIZE, config.AMP_OPT_LEVEL, config.TAG) == (4, "O0", "default")
    assert config.OUTPUT == str(Path("output") / "hrt_test_tiny" / "default")
    assert config.DATA.CACHE_MODE == "part"  # the original's CLI default


def test_unknown_keys_and_flags_are_errors(folder_data: Path, capsys) -> None:
    with pytest.raises(ConfigError, match=r"--opts.*TRAIN\.EPOCH\b"):
        config_from(folder_data, "--opts", "TRAIN.EPOCH", "3")
    with pytest.raises(SystemExit):
        parse_args(["--cfg", "x.yaml", "--output_dir", "o"])  # the original dropped it silently
    assert "--output_dir" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no data path"):
        build_config(parse_args(["--cfg", str(TINY_CONFIG)]))
