"""ONNX export of a classifier in the released checkpoint layout, run under ONNX Runtime and
OpenVINO (fp32) against the reference fixture, and the runtime layer's own rules."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from models.hrformer import seeded_input
from models.hrformer_runtime import (difference, generic_trace_size, make_runner,
                                     window_sizes, _level_sizes)
from reference import REPO_ROOT, assert_matches_reference, fixture
from test_official_checkpoint import micro_yaml, official_file
from config import load_config
from tools import export

pytestmark = pytest.mark.usefixtures("one_thread")
RUNTIME_COPIES = ("cls/models/hrformer_runtime.py", "pose/hrformer_pose/hrformer_runtime.py",
                  "seg/lib/models/backbones/hrformer_runtime.py")


def test_runtime_copies_are_identical() -> None:
    digests = {p: hashlib.sha256((REPO_ROOT / p).read_bytes()).hexdigest()
               for p in RUNTIME_COPIES}
    assert len(set(digests.values())) == 1, digests


@pytest.fixture(scope="module")
def micro_onnx(tmp_path_factory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("cls_export")
    micro = fixture("cls_micro")
    cfg = micro_yaml(tmp, micro)
    ckpt = official_file(tmp / "micro.pth", "cls_micro", load_config(cfg))
    out = tmp / "micro.onnx"
    torch.set_num_threads(1)
    assert export.main(["--cfg", str(cfg), "--checkpoint", str(ckpt), "--input-size", "96",
                        "80", "--output", str(out)]) == 0
    return cfg, ckpt, out


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_export_reproduces_fixture_at_every_size_and_batch(micro_onnx, backend) -> None:
    _, _, onnx_path = micro_onnx
    runner = make_runner(backend, "fp32", onnx_path=onnx_path, threads=1)
    assert runner.output_names == ("logits",)
    for case in fixture("cls_micro")["cases"]:  # 1x224x224 and 2x96x80, neither traced
        logits = runner(seeded_input(case["input_shape"]))["logits"]
        assert_matches_reference(logits, case["outputs"]["logits"],
                                 f"{backend} {case['input_shape']}")


def test_export_prints_differences(micro_onnx, capsys) -> None:
    cfg, ckpt, onnx_path = micro_onnx
    assert export.main(["--cfg", str(cfg), "--checkpoint", str(ckpt), "--input-size", "64",
                        "--output", str(onnx_path.with_name("static.onnx")),
                        "--static-hw"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "traced at 64x64, dynamic batch)" in lines[0]
    assert [line.split(" vs ")[0] for line in lines[1:]] == ["onnxruntime", "openvino"]
    assert all("max abs diff" in line and line.endswith(" ok") for line in lines[1:])


def test_trace_size_takes_every_padding_and_resize_branch() -> None:
    side = generic_trace_size([7])
    assert side == 65 and _level_sizes(side) == [17, 9, 5, 3]
    assert generic_trace_size([4, 2], minimum=69) == 129  # 33, 17, 9, 5
    model = export.deploy.create_model("hrt_tiny")
    assert window_sizes(model) == [7]


def test_difference_uses_the_fixture_tolerance() -> None:
    ref = torch.tensor([10.0, -20.0])
    inside = difference("x", ref + 2e-5 * 20 + 9e-5, ref)
    outside = difference("x", ref + torch.tensor([0.0, 6e-4]), ref)
    assert inside.ok and not outside.ok
    assert outside.max_abs == pytest.approx(6e-4, rel=1e-2)
    assert outside.max_rel == pytest.approx(6e-4 / 20, rel=1e-2)
    with pytest.raises(ValueError, match="output 'x': shape"):
        difference("x", ref[:1], ref)


def test_bad_backend_choices_fail_before_work() -> None:
    with pytest.raises(ValueError, match="onnxruntime runs fp32 only"):
        make_runner("onnxruntime", "bf16", onnx_path="missing.onnx")
    with pytest.raises(ValueError, match="backend 'tensorrt'"):
        make_runner("tensorrt", "fp32")
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        make_runner("openvino", "fp32", onnx_path="missing.onnx")
