"""Every run script's commands (all modes) parse with main.py's flags and build the model."""
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import torch

from lib.segmentor.model_builder import build_model
from main import load_config

SEG = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(SEG.glob("scripts/*/hrt/run_*.sh"))
MODES = [["train"], ["resume"], ["val"], ["val", "ss"], ["test", "ss"], ["test", "ms"]]
# parameter counts with 19 classes are checked by test_manifests; here: classes per dataset
NUM_CLASSES = {"cityscapes": 19, "pascal_context": 59, "coco_stuff": 171, "ade20k": 150}


def script_commands(script: Path, mode: list[str]) -> list[list[str]]:
    env = dict(os.environ, DRY_RUN="1", DATA_ROOT="/data", PRETRAINED_ROOT="/pretrained",
               NGPUS="8")
    out = subprocess.run(["bash", str(script), *mode], env=env, capture_output=True,
                         text=True, check=True).stdout
    return [shlex.split(line) for line in out.splitlines() if line.strip()]


def main_args(command: list[str]) -> list[str]:
    assert "main.py" in command, command
    assert command[1:3] == ["-m", "torch.distributed.run"]
    return command[command.index("main.py") + 1:]


def test_all_sixteen_experiments_have_scripts():
    assert len(SCRIPTS) == 16


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parts[-3]}/{p.stem}")
def test_script_modes_parse_and_build(script):
    dataset = script.parts[-3]
    configs = {}
    for mode in MODES:
        commands = script_commands(script, mode)
        configer, args = load_config(main_args(commands[0]))
        assert args.distributed and configer.get("data.data_dir").startswith("/data/")
        configs[" ".join(mode)] = configer
        if mode == ["val"]:
            assert commands[1][1:3] == ["-m", "lib.metrics.evaluate"]
    train = configs["train"]
    assert train.get("network.pretrained").startswith("/pretrained/hrt_")
    assert train.get("optim.optim_method") == "adamw" and train.get("lr.base_lr") == 1e-4
    assert train.get("lr.lr_policy") == "warm_lambda_poly"
    assert configs["resume"].get("network.resume").endswith("_latest.pth")
    assert configs["resume"].get("network.resume_continue") is True
    assert configs["test ms"].get("test.mode") == "ms_test"
    assert configs["test ss"].get("test.mode") == "ss_test"
    train.set("network.pretrained", None)   # the path is checked above; no file here
    model = build_model(train, torch.device("cpu"))
    assert model.cls_head.out_channels == NUM_CLASSES[dataset]
    window = {"hrt_base_win13": 13, "hrt_base_win15": 15}.get(train.get("network.backbone"), 7)
    tables = [p for n, p in model.named_parameters() if n.endswith("bias_table")]
    assert tables[-1].shape[0] == (2 * window - 1) ** 2
