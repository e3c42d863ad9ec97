"""tools/flops.py (hrformer_common.flops) against the original's FLOPs table and the reference
fvcore counts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from torch import Tensor, nn

from hrformer_common import tables
from hrformer_common.flops import count
from hrformer_common.testing import manifest
from tools import flops

CLS_DIR = Path(__file__).resolve().parents[1]

# The original counter's GFLOPs (its README's table) and fvcore's GMac of the original models.
CLS_224 = {"hrt_tiny": (1.828, 1.761), "hrt_small": (3.556, 3.460), "hrt_base": (13.713, 13.523)}


@pytest.mark.parametrize("name", sorted(CLS_224))
def test_cls_table_at_224(name: str) -> None:
    (row,) = flops.FLOPS.rows([name])
    original, fvcore = CLS_224[name]
    assert (row["height"], row["width"]) == (224, 224)
    assert row["params"] == manifest(f"cls_{name}")["num_params"]
    assert round(row["original"] / 1e9, 3) == original
    assert round(row["fvcore"] / 1e9, 3) == fvcore
    assert row["complete"] > row["original"] > row["fvcore"]
    assert row["uncounted"] == []


def test_meta_device_counts_like_cpu() -> None:
    # 56x56: branches 14, 7, 4, 2 -> padded windows and the cropped out_proj path.
    build = flops.MODELS["hrt_tiny"].build
    on_meta = count(build({"attention": "math"}), (56, 56), flops.FLOPS.corrections)
    on_cpu = count(build({"attention": "math"}), (56, 56), flops.FLOPS.corrections,
                   device="cpu")
    assert on_meta.totals == on_cpu.totals
    assert on_cpu.uncounted == set()


def test_op_costs_of_a_small_model() -> None:
    # conv 3->4 (3x3, bias) on 8x8, BN, ReLU, mean, linear 4->2: exact per-convention sums.
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
            self.fc = nn.Linear(4, 2)

        def forward(self, x: Tensor) -> Tensor:
            return self.fc(self.body(x).mean(dim=(2, 3)))

    conv, act = 4 * 8 * 8 * 27, 4 * 8 * 8
    counter = count(Net(), (8, 8), flops.FLOPS.corrections)
    assert counter.totals == [conv + 8 + 4 * act + act,  # linear bias folded in addmm
                              conv + 8 + 2 * act,
                              conv + act + 8 + 2 + 4 * act + act + act]


def test_cli_prints_one_table(capsys: pytest.CaptureFixture) -> None:
    flops.main(["--models", "hrt_tiny", "--input-size", "224"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "GFLOPs original" in lines[0]
    assert lines[2].split() == ["hrt_tiny", "cls", "8.0", "8,035,820", "1.828", "1.761",
                                "1.899", "224x224"]


@pytest.mark.parametrize("argv", [["--input-size", "1", "2", "3"], ["--input-size", "0"],
                                  ["--models", "hrt_huge"]])
def test_cli_rejects_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as error:
        flops.main(argv)
    assert error.value.code != 0


def test_run_flops_script_reads_the_config_and_ignores_data_args() -> None:
    result = subprocess.run(["bash", "run_flops.sh", "hrt/hrt_small", "/data/imagenet", "IMNET"],
                            cwd=CLS_DIR, capture_output=True, text=True,
                            env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    assert "ignoring '/data/imagenet IMNET'" in result.stderr
    assert result.stdout.splitlines()[2].split()[:6] == ["hrt_small", "cls", "13.5",
                                                         "13,544,882", "3.556", "3.460"]


def test_cfg_counts_its_model_and_json_feeds_the_merged_table(tmp_path, capsys) -> None:
    path = tmp_path / "cls.json"
    flops.main(["--cfg", str(CLS_DIR / "configs/hrt/hrt_tiny.yaml"), "--json", str(path)])
    printed = capsys.readouterr().out
    assert [r["model"] for r in tables.read_rows(path)["rows"]] == ["hrt_tiny"]
    assert tables.merge([path]) == (printed.rstrip("\n"), True)


@pytest.mark.parametrize("argv, message", [
    (["--cfg", "configs/hrt/hrt_tiny.yaml", "--models", "hrt_tiny"], "not both"),
    (["--cfg", "configs/swin/swin_tiny_patch4_window7_224.yaml"],
     "MODEL.NAME 'swin_tiny_patch4_window7_224' has no FLOPs count")])
def test_cfg_errors_name_the_problem(argv, message, capsys, monkeypatch) -> None:
    monkeypatch.chdir(CLS_DIR)
    with pytest.raises(SystemExit) as error:
        flops.main(argv)
    assert error.value.code == 2 and message in capsys.readouterr().err
