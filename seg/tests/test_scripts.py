"""Every run script's commands (all modes) parse with main.py's flags and build the model; the
settings each script resolves to are the original's."""
import subprocess
from pathlib import Path

import pytest
import torch

from helpers_scripts import main_args, script_commands, script_flags
from lib.segmentor.configured_segmentor import configured_segmentor
from lib.utils.command_line import NO_OP_FLAGS, load_config

SEG = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(SEG.glob("scripts/*/hrt/run_*.sh"))
MODES = [["train"], ["resume"], ["val"], ["val", "ss"], ["test", "ss"], ["test", "ms"]]
# parameter counts with 19 classes are checked by test_manifests; here: classes per dataset
NUM_CLASSES = {"cityscapes": 19, "pascal_context": 59, "coco_stuff": 171, "ade20k": 150}
NO_OP = {f"--{flag}" for flag in NO_OP_FLAGS}
# The original's scripts: what each one runs (the file's comment says how to read it).
_TABLE = (Path(__file__).parent / "original_scripts.txt").read_text().splitlines()
_HEADER, *_ROWS = (line.split() for line in _TABLE if line.strip() and not line.startswith("#"))
ORIGINAL = {row[0]: {k: None if v == "-" else v for k, v in zip(_HEADER, row)} for row in _ROWS}


def script_id(script: Path) -> str:
    return f"{script.parts[-3]}/{script.stem}"


def test_all_sixteen_experiments_have_scripts():
    assert len(SCRIPTS) == 16


@pytest.mark.parametrize("script", SCRIPTS, ids=script_id)
def test_script_modes_parse_and_build(script):
    dataset = script.parts[-3]
    configs = {}
    for mode in MODES:
        commands = script_commands(script, mode)
        configer, args = load_config(main_args(commands[0]))
        assert not NO_OP & set(main_args(commands[0])), "a no-op flag is passed"
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
    model = configured_segmentor(train, torch.device("cpu"))
    assert model.cls_head.out_channels == NUM_CLASSES[dataset]
    window = {"hrt_base_win13": 13, "hrt_base_win15": 15}.get(train.get("network.backbone"), 7)
    tables = [p for n, p in model.named_parameters() if n.endswith("bias_table")]
    assert tables[-1].shape[0] == (2 * window - 1) ** 2


@pytest.mark.parametrize("script", SCRIPTS, ids=script_id)
def test_script_resolves_to_the_original_settings(script):
    want = ORIGINAL[script_id(script)]
    backbone, model = want["backbone"], want["model"]
    # checkpoint name: model, backbone, then the script name's tag (ohem, ohem_w13, ohem_w15)
    name = f"{model}_{backbone}_{script.stem.removeprefix(f'run_{model}_')}"
    train = script_flags(script, ["train"])
    flags = ("--backbone", "--model_name", "--drop_path_rate", "--loss_type", "--max_iters",
             "--train_batch_size", "--test_interval")
    columns = ("backbone", "model", "drop", "loss", "iters", "batch", "interval")
    assert [train.get(f) for f in flags] == [want[c] for c in columns]
    assert train["--checkpoints_name"] == name
    assert train["--pretrained"] == f"/pretrained/{backbone.split('_win')[0]}.pth"
    assert train["--configs"] == f"configs/{script.parts[-3]}/H_48_D_4.json"
    val, test = script_flags(script, ["val"]), script_flags(script, ["test", "ms"])
    assert val["--configs"] == test["--configs"] == \
        f"configs/{script.parts[-3]}/{want['ms_config']}"
    assert val["--resume"].endswith(f"/{name}_{want['ckpt']}.pth") and val["--test_split"] == "val"
    assert test["--test_split"] == want["split"]


def test_checkpoint_name_can_be_set_and_a_misnamed_script_is_refused(tmp_path):
    script = SEG / "scripts/cityscapes/hrt/run_hrt_small_ocr_v2_ohem.sh"
    flags = script_flags(script, ["resume"], CHECKPOINTS_NAME="mine")
    assert flags["--checkpoints_name"] == "mine" and flags["--resume"].endswith("/mine_latest.pth")
    # the checkpoint name's tag comes from the script name, which must start with the model's
    copy = tmp_path / "scripts/cityscapes/hrt/run_hrt_base_ocr_v2_ohem.sh"
    copy.parent.mkdir(parents=True)
    (tmp_path / "scripts/common.sh").write_text((SEG / "scripts/common.sh").read_text())
    copy.write_text(script.read_text())
    out = subprocess.run(["bash", str(copy), "train"], capture_output=True, text=True,
                         env={"DRY_RUN": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2 and "name must start with run_hrt_small_ocr_v2_" in out.stderr
