"""ONNX export of a segmentor from an openseg-layout checkpoint, run under ONNX Runtime and
OpenVINO (fp32) against the reference fixture, and the predict command on images."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hrformer_common.testing import (assert_matches_reference, copy_with_card, fixture,
                                     seeded_input)
from hrformer_common.runners import make_runner
from test_released_checkpoint import MICRO, write_released_checkpoint
from lib.models import build_segmentor
from lib.segmentor.configured_segmentor import resolve_backbone
from lib.apis import deploy
from lib.utils.configer import Configer
from tools import export, predict

SEG = Path(__file__).resolve().parents[1]



@pytest.fixture(scope="module")
def micro_args(micro_layout) -> list[str]:
    """The export / predict model flags of the micro fixture's model."""
    return ["--backbone", str(micro_layout), "--model-name", "hrt_small_ocr_v2",
            "--num_classes", "19"]  # main.py's underscore spelling works too


@pytest.fixture(scope="module")
def micro_export(tmp_path_factory, micro_layout, micro_args):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("seg_export")
    ckpt = tmp / "released.pth"
    write_released_checkpoint(ckpt, micro_layout)
    out = tmp / "micro.onnx"
    assert export.main([*micro_args, "--checkpoint", str(ckpt), "--input-size", "40", "56",
                        "--out", str(out)]) == 0
    return ckpt, out


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_export_reproduces_fixture(micro_export, backend):
    runner = make_runner(backend, "fp32", onnx_path=micro_export[1], threads=1)
    assert runner.output_names == ("out", "out_aux")
    case = fixture(MICRO)["cases"][0]  # 64x128, not the traced size
    outputs = runner(seeded_input(case["input_shape"]))
    for name in ("out", "out_aux"):
        assert_matches_reference(outputs[name], case["outputs"][name], f"{backend} {name}")


def test_tools_load_the_segmentor_folded(micro_export, micro_args):
    """export and predict get the model from `inference_model`: folded, inference only; its
    card is the unfolded checkpoint's."""
    net, card = deploy.inference_model(deploy.DEFAULT_CONFIG, str(micro_export[0]),
                                       model_name="hrt_small_ocr_v2", backbone=micro_args[1])
    assert not [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    loaded = deploy.InferenceNet(deploy.load_segmentor("hrt_small_ocr_v2", micro_args[1], 19,
                                                       str(micro_export[0])))
    config = Configer.from_file(deploy.DEFAULT_CONFIG)
    network = deploy.Network.of(config, deploy.DEFAULT_CONFIG, "hrt_small_ocr_v2", micro_args[1])
    assert card == deploy.model_card(loaded, network)
    assert card.labels == tuple(config.get("data.class_names")) and card.labels[0] == "road"
    with pytest.raises(RuntimeError, match="HRTOCR: this model was folded for inference"):
        net.train()


def _demo_images(folder, sizes):
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        (folder / "city").mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(
            folder / "city" / f"img{i}.jpg")


def test_predict_writes_label_ids_and_overlays_equal_across_backends(micro_export, micro_args,
                                                                     tmp_path):
    ckpt, onnx_path = micro_export
    images = tmp_path / "images"
    _demo_images(images, [(50, 70), (33, 47)])
    base = [str(images), *micro_args, "--checkpoint", str(ckpt), "--threads", "1"]
    torch_out, status = predict.main([*base, "--out", str(tmp_path / "torch")])
    ort_out, _ = predict.main([*base, "--out", str(tmp_path / "ort"), "--backend",
                               "onnxruntime", "--onnx", str(onnx_path)])
    assert status == 0
    assert [p.relative_to(tmp_path / "torch") for p in torch_out] == \
        [p.relative_to(tmp_path / "ort") for p in ort_out]
    cityscapes_ids = {7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33}
    for a, b in zip(torch_out, ort_out):
        label_a, label_b = np.asarray(Image.open(a)), np.asarray(Image.open(b))
        assert (label_a == label_b).mean() > 0.999
        assert set(np.unique(label_a)) <= cityscapes_ids
    assert np.asarray(Image.open(torch_out[0])).shape == (50, 70)
    overlay = tmp_path / "torch" / "overlay" / "city" / "img1.png"
    assert np.asarray(Image.open(overlay)).shape == (33, 47, 3)


def test_predict_multi_scale_runs_on_one_image(micro_export, micro_args, tmp_path):
    ckpt, _ = micro_export
    _demo_images(tmp_path / "one", [(40, 60)])
    out, _ = predict.main([str(tmp_path / "one" / "city" / "img0.jpg"), *micro_args,
                           "--checkpoint", str(ckpt), "--out", str(tmp_path / "ms"), "--ms",
                           "--precision", "bf16"])
    assert np.asarray(Image.open(out[0])).shape == (40, 60)


def test_predict_rejects_missing_input_and_bad_choices(micro_args, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        predict.main([str(tmp_path / "nothing_here"), *micro_args, "--checkpoint", "x.pth",
                      "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="onnxruntime runs fp32 only"):
        predict.main([str(tmp_path), *micro_args, "--checkpoint", "x.pth", "--out",
                      str(tmp_path), "--backend", "onnxruntime", "--precision", "bf16"])


def _changed_checkpoint(ckpt, path, change):
    content = torch.load(ckpt, weights_only=True)
    content["state_dict"] = change(dict(content["state_dict"]))
    torch.save(content, path)
    return path


def _other_weights(state):
    state["module.cls_head.bias"] = state["module.cls_head.bias"] + 1.0
    return state



@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("case, expected", [
    ("variant", "window_sizes: the file has (7,), the run expects (7, 9)"),
    ("classes", "num_classes: the file has 19, the run expects 20"),
    ("weights", "weights: the file was exported from other weights than the checkpoint"),
    ("task", "task: the file has 'pose', the run expects 'seg'"),
    ("no card", "no HRFormer model card in its metadata"),
])
def test_predict_refuses_an_onnx_file_of_another_model(micro_export, micro_args, tmp_path,
                                                       backend, case, expected):
    ckpt, onnx_path = micro_export
    args = list(micro_args)
    configs = []
    if case == "variant":   # the same layers with 9x9 windows in the last stage
        layout = json.loads(Path(micro_args[1]).read_text())
        layout["STAGE4"]["NUM_WINDOW_SIZES"][-1] = 9
        (tmp_path / "w9.json").write_text(json.dumps(layout))
        args[1] = str(tmp_path / "w9.json")
    elif case == "classes":   # a 20-class head and a 20-class dataset config
        ckpt = tmp_path / "c20.pth"
        spec, in_channels = resolve_backbone(micro_args[1])
        model = build_segmentor("hrt_small_ocr_v2", spec, 20, in_channels=in_channels)
        torch.save({"state_dict": model.state_dict()}, ckpt)
        config = json.loads((SEG / "configs/cityscapes/H_48_D_4.json").read_text())
        config["data"]["num_classes"] = 20
        config["data"]["label_list"] = list(range(20))
        del config["data"]["class_names"]   # Cityscapes' 19 would not match
        (tmp_path / "c20.json").write_text(json.dumps(config))
        args[-1], configs = "20", ["--configs", str(tmp_path / "c20.json")]
    elif case == "weights":
        ckpt = _changed_checkpoint(ckpt, tmp_path / "other.pth", _other_weights)
    elif case == "task":
        onnx_path = copy_with_card(onnx_path, tmp_path / "pose.onnx", task="pose")
    else:
        onnx_path = copy_with_card(onnx_path, tmp_path / "bare.onnx")
    _demo_images(tmp_path / "images", [(40, 56)])
    with pytest.raises(ValueError) as err:
        predict.main([str(tmp_path / "images"), *args, *configs, "--checkpoint", str(ckpt),
                      "--out", str(tmp_path / "out"), "--backend", backend,
                      "--onnx", str(onnx_path)])
    assert str(err.value).startswith(str(onnx_path)) and expected in str(err.value)
    assert not (tmp_path / "out").exists()   # stopped before any work
