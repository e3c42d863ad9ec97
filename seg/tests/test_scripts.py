"""Every run script's commands (all modes) parse with main.py's flags and build the model; the
settings each script resolves to are the original's."""
import subprocess
from pathlib import Path

import pytest
import torch

from helpers_scripts import main_args, script_commands, script_flags
from lib.segmentor.model_builder import build_model
from main import load_config

SEG = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(SEG.glob("scripts/*/hrt/run_*.sh"))
MODES = [["train"], ["resume"], ["val"], ["val", "ss"], ["test", "ss"], ["test", "ms"]]
# parameter counts with 19 classes are checked by test_manifests; here: classes per dataset
NUM_CLASSES = {"cityscapes": 19, "pascal_context": 59, "coco_stuff": 171, "ade20k": 150}
# The original's scripts, per experiment: backbone, model, drop path, loss, then per dataset
# (unless noted): iterations, global batch (None: the JSON's), test interval, --nbb_mult,
# multi-scale val config, checkpoint evaluated, test split.
S2, B2, B3 = "hrt_small_ocr_v2", "hrt_base_ocr_v2", "hrt_base_ocr_v3"
OHEM, CE, MS3X = "fs_auxohemce_loss", "fs_auxce_loss", "H_48_D_4_TEST_MS3x.json"
ADE = ("150000", None, "10000", None, MS3X, "latest", "val")
CITY = ("80000", "8", "1000", None, MS3X, "latest", "test")
CITY_W15 = ("80000", "8", "1000", None, "H_48_D_4_TEST.json", "latest", "test")
COCO = ("60000", "16", "10000", "10", MS3X, "latest", "val")
ORIGINAL = {
    "ade20k/run_hrt_base_ocr_v2_ohem": ("hrt_base", B2, "0.2", OHEM, *ADE),
    "ade20k/run_hrt_base_ocr_v2_ohem_w13": ("hrt_base_win13", B2, "0.2", OHEM, *ADE),
    "ade20k/run_hrt_base_ocr_v3_ohem_w13": ("hrt_base_win13", B3, "0.2", OHEM, *ADE),
    "ade20k/run_hrt_small_ocr_v2_ohem": ("hrt_small", S2, "0.2", OHEM, *ADE),
    "cityscapes/run_hrt_base_ocr_v2_ohem": ("hrt_base", B2, "0.4", OHEM, *CITY),
    "cityscapes/run_hrt_base_ocr_v2_ohem_w15": ("hrt_base_win15", B2, "0.4", OHEM, *CITY_W15),
    "cityscapes/run_hrt_base_ocr_v3_ohem_w15": ("hrt_base", B3, "0.4", OHEM, *CITY_W15),
    "cityscapes/run_hrt_small_ocr_v2_ohem": ("hrt_small", S2, "0.2", OHEM, *CITY[:-2],
                                              "max_performance", "test"),
    "coco_stuff/run_hrt_base_ocr_v2_ohem": ("hrt_base", B2, "0.2", OHEM, *COCO),
    "coco_stuff/run_hrt_base_ocr_v2_ohem_w15": ("hrt_base_win15", B2, "0.2", OHEM, *COCO),
    "coco_stuff/run_hrt_base_ocr_v3_ohem_w15": ("hrt_base_win15", B3, "0.2", OHEM, *COCO),
    "coco_stuff/run_hrt_small_ocr_v2_ohem": ("hrt_small", S2, "0.2", OHEM, *COCO),
    "pascal_context/run_hrt_base_ocr_v2_ohem": ("hrt_base", B2, "0.2", CE, *COCO),
    "pascal_context/run_hrt_base_ocr_v2_ohem_w15": ("hrt_base_win15", B2, "0.3", CE, *COCO),
    "pascal_context/run_hrt_base_ocr_v3_ohem_w15": ("hrt_base_win15", B3, "0.3", CE, *COCO),
    "pascal_context/run_hrt_small_ocr_v2_ohem": ("hrt_small", S2, "0.2", CE, *COCO),
}


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


@pytest.mark.parametrize("script", SCRIPTS, ids=script_id)
def test_script_resolves_to_the_original_settings(script):
    (backbone, model, drop_path, loss, iters, batch, interval, nbb_mult, ms_config, ckpt,
     split) = ORIGINAL[script_id(script)]
    # checkpoint name: model, backbone, then the script name's tag (ohem, ohem_w13, ohem_w15)
    name = f"{model}_{backbone}_{script.stem.removeprefix(f'run_{model}_')}"
    train = script_flags(script, ["train"])
    assert (train["--backbone"], train["--model_name"], train["--drop_path_rate"],
            train["--loss_type"], train["--max_iters"], train.get("--train_batch_size"),
            train["--test_interval"], train.get("--nbb_mult")) == \
        (backbone, model, drop_path, loss, iters, batch, interval, nbb_mult)
    assert train["--checkpoints_name"] == name
    assert train["--pretrained"] == f"/pretrained/{backbone.split('_win')[0]}.pth"
    assert train["--configs"] == f"configs/{script.parts[-3]}/H_48_D_4.json"
    val, test = script_flags(script, ["val"]), script_flags(script, ["test", "ms"])
    assert val["--configs"] == test["--configs"] == f"configs/{script.parts[-3]}/{ms_config}"
    assert val["--resume"].endswith(f"/{name}_{ckpt}.pth") and val["--test_split"] == "val"
    assert test["--test_split"] == split


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
