"""ONNX export of a classifier in the released checkpoint layout, run under ONNX Runtime and
OpenVINO (fp32) against the reference fixture, and the runner layer's own rules (named
inputs, fixed or dynamic exports, no temporary file left)."""
from __future__ import annotations

import csv
import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, save_model
from PIL import Image

from hrformer_common.tolerance import difference
from hrformer_common.export import _level_sizes, generic_trace_size
from hrformer_common.model_card import window_sizes
from hrformer_common.runners import make_runner
from hrformer_common.testing import (assert_matches_reference, copy_with_card, fixture,
                                     seeded_input)
from test_official_checkpoint import micro_yaml, official_file
from config import load_config
from apis import deploy
from hrformer_common.outputs import OutputPathError
from tools import export, predict

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def micro_onnx(tmp_path_factory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("cls_export")
    micro = fixture("cls_micro")
    cfg = micro_yaml(tmp, micro)
    ckpt = official_file(tmp / "micro.pth", "cls_micro", load_config(cfg))
    out = tmp / "micro.onnx"
    torch.set_num_threads(1)
    assert export.main(["--model", str(cfg), "--checkpoint", str(ckpt), "--input-size", "96",
                        "80", "--out", str(out)]) == 0
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


def test_tools_load_the_classifier_folded(micro_onnx) -> None:
    """export / predict get the model through `inference_model`: folded, inference only; its
    card is the unfolded checkpoint's."""
    cfg, ckpt, _ = micro_onnx
    model, card = deploy.inference_model(str(cfg), str(ckpt))
    assert not [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    loaded, names = deploy.load_classifier(str(cfg), str(ckpt))
    assert card == deploy.model_card(loaded, str(cfg), None, names)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.modules())
    with pytest.raises(RuntimeError, match="folded for inference"):
        model.train()


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
    model = deploy.create_model("hrt_tiny")
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


def _two_input_model(path: Path) -> Path:
    """scaled = image * scale (broadcast per channel), shape = image's shape (int64)."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "scale"], ["scaled"]),
         helper.make_node("Shape", ["image"], ["shape"])], "two_inputs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", 8]),
         helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1, 3, 1, 1])],
        [helper.make_tensor_value_info("scaled", TensorProto.FLOAT, [1, 3, "height", 8]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, path)
    return path


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_runner_names_inputs_and_their_dims(tmp_path, backend) -> None:
    runner = make_runner(backend, "fp32", onnx_path=_two_input_model(tmp_path / "two.onnx"),
                         threads=1)
    assert runner.input_names == ("image", "scale")
    assert runner.input_dims == {"image": (1, 3, None, 8), "scale": (1, 3, 1, 1)}
    assert runner.output_names == ("scaled", "shape")
    image = torch.randn(1, 3, 5, 8, generator=torch.Generator().manual_seed(0))
    scale = np.array([1.0, -2.0, 0.5], np.float64).reshape(1, 3, 1, 1)  # fed as float32
    out = runner({"image": image, "scale": scale})
    assert out["scaled"].dtype == out["shape"].dtype == torch.float32
    torch.testing.assert_close(out["scaled"], image * torch.tensor(scale, dtype=torch.float32))
    assert out["shape"].tolist() == [1, 3, 5, 8]
    with pytest.raises(ValueError, match=r"one array given; this model takes \['image', "
                                         r"'scale'\]"):
        runner(image)
    with pytest.raises(ValueError, match=r"inputs \['image'\]; this model takes"):
        runner({"image": image})


class _Doubler(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] * 2


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("export_size, dims", [(None, (None, 3, None, None)),
                                               ((6, 10), (None, 3, 6, 10))])
def test_exported_model_runs_and_leaves_no_temporary_file(tmp_path, monkeypatch, backend,
                                                          export_size, dims) -> None:
    """A model given to an ONNX runtime is exported (dynamic height and width, or fixed at
    `export_size`) into a temporary folder that is gone once the runner exists."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    runner = make_runner(backend, "fp32", model=_Doubler(), output_names=("twice",),
                         threads=1, export_size=export_size)
    assert list(temp.iterdir()) == []
    assert runner.input_names == ("input",) and runner.input_dims == {"input": dims}
    x = torch.randn(2, 3, 6, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(runner(x)["twice"], x[:, :1] * 2)


def _photos(folder: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        (folder / f"set{i % 2}").mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((240 + 16 * i, 320, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"set{i % 2}" / f"photo{i}.jpg")
    return folder


def test_predict_gives_the_same_topk_on_torch_and_openvino(micro_onnx, tmp_path) -> None:
    cfg, ckpt, onnx_path = micro_onnx
    images = _photos(tmp_path / "photos", 3)
    base = [str(images), "--model", str(cfg), "--checkpoint", str(ckpt), "--topk", "3",
            "--threads", "1"]
    eager, status = predict.main([*base, "--out", str(tmp_path / "eager.csv")])
    vino, _ = predict.main([*base, "--backend", "openvino", "--onnx", str(onnx_path),
                            "--output", str(tmp_path / "vino.json")])
    assert status == 0
    assert [r["image"] for r in eager] == sorted(str(p) for p in images.rglob("*.jpg"))
    for a, b in zip(eager, vino):
        assert [t["class_id"] for t in a["topk"]] == [t["class_id"] for t in b["topk"]]
        probs = [t["probability"] for t in a["topk"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    with open(tmp_path / "eager.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 9 and table[0]["rank"] == "1"
    assert table[0]["class_id"] == str(eager[0]["topk"][0]["class_id"])
    assert json.loads((tmp_path / "vino.json").read_text())[2]["topk"][0]["name"] == \
        vino[2]["topk"][0]["name"]


def test_predict_names_imagenet_classes_and_rejects_bad_input(tmp_path) -> None:
    names = deploy.class_names(1000, None)
    assert len(names) == 1000 and names[0].startswith("tench") and names[1].startswith("goldfish")
    assert deploy.class_names(3, None) == ["0", "1", "2"]
    (tmp_path / "names.txt").write_text("cat\ndog\n")
    assert deploy.class_names(2, tmp_path / "names.txt") == ["cat", "dog"]
    with pytest.raises(ValueError, match=r"names.txt: 2 names for a 3-class model"):
        deploy.class_names(3, tmp_path / "names.txt")
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        predict.main([str(tmp_path / "nothing_here"), "--model", "hrt_tiny",
                      "--checkpoint", "x.pth"])
    with pytest.raises(OutputPathError, match=r"--out preds.txt: expected a file name "
                                              r"ending in \.csv or \.json"):
        predict.main([str(tmp_path), "--model", "hrt_tiny", "--checkpoint", "x.pth",
                      "--output", "preds.txt"])  # the old name of --out


def _checkpoint_like(ckpt: Path, path: Path, change) -> Path:
    """`ckpt` with its weights changed by `change(state) -> state`."""
    content = torch.load(ckpt, weights_only=False)
    content["model"] = change(dict(content["model"]))
    torch.save({"model": content["model"]}, path)
    return path


def _other_classes(state: dict) -> dict:
    state["classifier.weight"], state["classifier.bias"] = torch.randn(7, 2048), torch.zeros(7)
    return state


def _other_weights(state: dict) -> dict:
    state["classifier.bias"] = state["classifier.bias"] + 1.0
    return state



@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("case, expected", [
    ("classes", r"num_classes: the file has 10, the run expects 7; architecture: the file is "
                r"'micro', the run builds 'micro' \(other layers or shapes\)"),
    ("weights", r"weights: the file was exported from other weights than the checkpoint"),
    ("task", r"task: the file has 'seg', the run expects 'cls'; outputs: the file has "
             r"\('out', 'out_aux'\)"),
    ("no card", r"no HRFormer model card in its metadata"),
])
def test_predict_refuses_an_onnx_file_of_another_model(micro_onnx, tmp_path, backend, case,
                                                       expected) -> None:
    cfg, ckpt, onnx_path = micro_onnx
    onnx_file, checkpoint = onnx_path, ckpt
    if case == "classes":
        checkpoint = _checkpoint_like(ckpt, tmp_path / "c7.pth", _other_classes)
    elif case == "weights":
        checkpoint = _checkpoint_like(ckpt, tmp_path / "w.pth", _other_weights)
    elif case == "task":
        onnx_file = copy_with_card(onnx_path, tmp_path / "seg.onnx", task="seg",
                                  outputs=("out", "out_aux"))
    else:
        onnx_file = copy_with_card(onnx_path, tmp_path / "bare.onnx")
    images = _photos(tmp_path / "photos", 1)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(onnx_file))}.*{expected}"):
        predict.main([str(images), "--cfg", str(cfg), "--checkpoint", str(checkpoint),
                      "--backend", backend, "--onnx", str(onnx_file), "--threads", "1"])


def test_a_static_export_records_its_size(micro_onnx, tmp_path) -> None:
    from hrformer_common.model_card import read_card
    cfg, ckpt, onnx_path = micro_onnx
    assert export.main(["--cfg", str(cfg), "--checkpoint", str(ckpt), "--input-size", "64",
                        "--output", str(tmp_path / "static.onnx"), "--static-hw"]) == 0
    dynamic, static = read_card(onnx_path), read_card(tmp_path / "static.onnx")
    assert dynamic.input_size is None and dynamic.task == "cls" and dynamic.num_classes == 10
    assert static.input_size == "64x64" and static.weights == dynamic.weights
    assert static.differences(replace(dynamic, input_size="96x80")) == [
        "input size: the file was traced at a fixed 64x64; this run feeds 96x80 (export "
        "without --static-hw)"]
