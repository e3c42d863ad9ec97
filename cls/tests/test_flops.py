"""tools/flops.py against the original's FLOPs table and the reference fvcore counts."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from torch import Tensor, nn

from hrformer_common.testing import manifest
from tools import flops

CLS_DIR = Path(__file__).resolve().parents[1]

# The original counter's GFLOPs (its README's table) and fvcore's GMac of the original models.
CLS_224 = {"hrt_tiny": (1.828, 1.761), "hrt_small": (3.556, 3.460), "hrt_base": (13.713, 13.523)}
POSE_GMAC = {("hrt_small", (256, 192)): 3.338, ("hrt_small", (384, 288)): 7.350,
             ("hrt_base", (256, 192)): 14.123, ("hrt_base", (384, 288)): 30.938}


@pytest.mark.parametrize("name", sorted(CLS_224))
def test_cls_table_at_224(name: str) -> None:
    report = flops.measure(name, "cls", (224, 224))
    original, fvcore = CLS_224[name]
    assert report.params == manifest(f"cls_{name}")["num_params"]
    assert round(report.original / 1e9, 3) == original
    assert round(report.fvcore / 1e9, 3) == fvcore
    assert report.complete > report.original > report.fvcore
    assert report.uncounted == set()


@pytest.mark.parametrize("name, size", sorted(POSE_GMAC))
def test_pose_gmac(name: str, size: tuple[int, int]) -> None:
    # Non-square inputs whose small branches need window padding (8x6 -> 14x7 at 256x192).
    report = flops.measure(name, "pose", size)
    assert report.params == manifest(f"pose_{name}")["num_params"]
    assert round(report.fvcore / 1e9, 3) == POSE_GMAC[name, size]
    assert report.uncounted == set()


def test_meta_device_counts_like_cpu() -> None:
    # 56x56: branches 14, 7, 4, 2 -> padded windows and the cropped out_proj path.
    on_meta = flops.count(flops.build("hrt_tiny", "cls"), (56, 56))
    on_cpu = flops.count(flops.build("hrt_tiny", "cls"), (56, 56), device="cpu")
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
    counter = flops.count(Net(), (8, 8))
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
