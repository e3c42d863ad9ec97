"""ONNX export of the top-down model from an original (mmpose 0.x) checkpoint, run under
ONNX Runtime and OpenVINO (fp32) against the reference fixture; heatmaps through a runner."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import COCO_CONFIGS, extra_from_layout, layout_of
from hrformer_pose.deploy import InferenceNet, load_pose_model
from hrformer_common.runners import make_runner
from hrformer_common.testing import (assert_matches_reference, copy_with_card, fixture, manifest,
                                     recipe_state_dict, seeded_input)
from mmengine.config import Config
from tools import export

POSE = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def micro_export(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("pose_export")
    cfg = Config.fromfile(next(p for p in COCO_CONFIGS if p.name == "hrt_small_coco_256x192.py"))
    layout = layout_of("pose_micro")  # the full COCO config (pipelines) with the micro model
    cfg.model.backbone.extra = extra_from_layout(layout)
    cfg.model.head.in_channels = layout["STAGE4"]["NUM_CHANNELS"][0]
    config_path = tmp / "micro.py"
    cfg.dump(str(config_path))
    ckpt = tmp / "official.pth"
    torch.save({"meta": {}, "state_dict": recipe_state_dict(manifest("pose_micro")["keys"])},
               ckpt)
    out = tmp / "micro.onnx"
    assert export.main(["--model", str(config_path), "--checkpoint", str(ckpt), "--out", str(out),
                        "--input-size", "96", "72"]) == 0
    return config_path, ckpt, out


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_export_reproduces_fixture(micro_export, backend):
    runner = make_runner(backend, "fp32", onnx_path=micro_export[2], threads=1)
    for case in fixture("pose_micro")["cases"]:  # 256x192 and 96x72
        heatmaps = runner(seeded_input(case["input_shape"]))["heatmaps"]
        assert_matches_reference(heatmaps, case["outputs"]["heatmaps"],
                                 f"{backend} {case['input_shape']}")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_inferencer_on_a_runtime_predicts_mmpose_keypoints(micro_export, backend):
    """`PoseInferencer` running the exported file gives the keypoints of mmpose's own
    `inference_topdown` (torch, flip test) on the whole image."""
    from hrformer_pose.apis import PoseInferencer
    from mmpose.apis import inference_topdown
    config_path, ckpt, onnx_path = micro_export
    image = (np.random.default_rng(0).random((120, 90, 3)) * 255).astype(np.uint8)
    # mmpose takes arrays as BGR; the whole image as the box, as the inferencer clips it
    reference = inference_topdown(load_pose_model(str(config_path), str(ckpt)),
                                  np.ascontiguousarray(image[:, :, ::-1]),
                                  np.array([[0, 0, 89, 119]]))
    pose = PoseInferencer(config_path, ckpt, backend=backend, onnx=onnx_path, threads=1)
    assert backend in pose.describe()
    (person,) = pose(image)
    keypoints = np.array(person["keypoints"])
    np.testing.assert_allclose(keypoints[:, :2], reference[0].pred_instances.keypoints[0],
                               atol=1e-3)
    np.testing.assert_allclose(keypoints[:, 2], reference[0].pred_instances.keypoint_scores[0],
                               atol=1e-4)


def test_inference_model_is_folded_and_reproduces_fixture(micro_export):
    """export and the demo get the network from `inference_model`: folded, with the card of the
    unfolded checkpoint."""
    from hrformer_pose.deploy import inference_model, model_card
    config_path, ckpt, _ = micro_export
    net, card = inference_model(str(config_path), str(ckpt))
    assert not [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    loaded = InferenceNet(load_pose_model(str(config_path), str(ckpt)))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.modules())
    assert card == model_card(loaded, Config.fromfile(str(config_path)))
    for case in fixture("pose_micro")["cases"]:
        with torch.no_grad():
            heatmaps = net(seeded_input(case["input_shape"]))
        assert_matches_reference(heatmaps, case["outputs"]["heatmaps"], "folded")
    with pytest.raises(RuntimeError, match="HRT: this model was folded for inference"):
        net.train()


def test_heatmap_net_is_backbone_plus_head(micro_export):
    config_path, ckpt, _ = micro_export
    estimator = load_pose_model(str(config_path), str(ckpt))
    x = seeded_input([1, 3, 96, 72])
    with torch.no_grad():
        expected = estimator(x, None, mode="tensor")
        assert torch.equal(InferenceNet(estimator)(x), expected)


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_image_demo_runs_on_a_backend_in_bf16(micro_export, tmp_path, backend, capsys):
    from demo import image_demo
    config_path, ckpt, onnx_path = micro_export
    image = tmp_path / "person.png"
    import cv2
    cv2.imwrite(str(image), (np.random.default_rng(1).random((160, 120, 3)) * 255).astype(np.uint8))
    out = tmp_path / "drawn.png"
    extra = ["--onnx", str(onnx_path)] if backend != "torch" else []
    image_demo.main([str(image), str(config_path), str(ckpt), "--backend", backend,
                     "--precision", "bf16", "--threads", "1", "--out", str(out), *extra])
    printed = capsys.readouterr().out
    assert "bf16" in printed and "1 people drawn" in printed
    assert cv2.imread(str(out)).shape[:2] == (160, 120)


def _person_image(tmp_path) -> str:
    import cv2
    path = tmp_path / "person.png"
    cv2.imwrite(str(path), (np.random.default_rng(1).random((160, 120, 3)) * 255).astype(np.uint8))
    return str(path)



@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("case, expected", [
    ("weights", "weights: the file was exported from other weights than the checkpoint"),
    ("task", "task: the file has 'cls', the run expects 'pose'; num_classes: the file has "
             "1000, the run expects 17; outputs: the file has ('logits',)"),
    ("no card", "no HRFormer model card in its metadata"),
])
def test_image_demo_refuses_an_onnx_file_of_another_model(micro_export, tmp_path, backend,
                                                          case, expected):
    from demo import image_demo
    config_path, ckpt, onnx_path = micro_export
    if case == "weights":
        state = torch.load(ckpt, weights_only=True)
        state["state_dict"]["keypoint_head.final_layer.bias"] += 1.0
        ckpt = tmp_path / "other.pth"
        torch.save(state, ckpt)
    elif case == "task":
        onnx_path = copy_with_card(onnx_path, tmp_path / "cls.onnx", task="cls", num_classes=1000,
                               outputs=("logits",))
    else:
        onnx_path = copy_with_card(onnx_path, tmp_path / "bare.onnx")
    with pytest.raises(ValueError) as err:
        image_demo.main([_person_image(tmp_path), str(config_path), str(ckpt), "--backend",
                         backend, "--onnx", str(onnx_path), "--out", str(tmp_path / "o.png")])
    assert str(err.value).startswith(str(onnx_path)) and expected in str(err.value)
    assert not (tmp_path / "o.png").exists()


def _cls_checkpoint(path):
    torch.save({"model": recipe_state_dict(manifest("cls_micro")["keys"])}, path)
    return path


def _seg_checkpoint(path):
    state = recipe_state_dict(manifest("seg_micro_ocr_v2")["keys"])
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    return path


@pytest.mark.parametrize("make", [_cls_checkpoint, _seg_checkpoint])
def test_demo_and_export_refuse_a_checkpoint_without_a_keypoint_head(micro_export, tmp_path,
                                                                     make):
    from demo import image_demo
    from hrformer_common.checkpoint import CheckpointError
    config_path, _, _ = micro_export
    ckpt = make(tmp_path / "not_pose.pth")
    expected = f"{ckpt}: no keypoint head ('keypoint_head.*' or 'head.*' weights)"
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        image_demo.main([_person_image(tmp_path), str(config_path), str(ckpt),
                         "--out", str(tmp_path / "o.png")])
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        export.main(["--model", str(config_path), "--checkpoint", str(ckpt),
                     "--out", str(tmp_path / "x.onnx")])
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "x.onnx").exists()


def test_a_pose_checkpoint_of_another_variant_is_refused(micro_export, tmp_path):
    from hrformer_common.checkpoint import CheckpointError
    config_path, _, _ = micro_export
    ckpt = tmp_path / "small.pth"
    torch.save({"state_dict": recipe_state_dict(manifest("pose_hrt_small")["keys"])}, ckpt)
    with pytest.raises(CheckpointError, match=re.escape(str(ckpt)) + r".*shape mismatches"):
        load_pose_model(str(config_path), str(ckpt))


@pytest.mark.parametrize("extra, named", [
    (["--out", "model.txt"], "--out model.txt: expected a file name ending in .onnx"),
    (["--out", "m.onnx", "--model", "../cls/configs/hrt/hrt_small.yaml"],
     "hrt_small.yaml: no model.backbone; expected an mmengine top-down pose config"),
    (["--out", "m.onnx", "--checkpoint", "missing.pth"], "checkpoint not found: missing.pth"),
])
def test_export_bad_input_is_one_line_with_exit_status_2(tmp_path, extra, named):
    """Like cls's and seg's export: `export.py: error: ...`, exit 2, no traceback (a cls yaml
    as the config is named at the loader, before mmpose builds anything)."""
    argv = ["--model", "configs/hrformer/coco/hrt_small_coco_256x192.py",
            "--checkpoint", "missing.pth", *extra]
    done = subprocess.run([sys.executable, "tools/export.py", *argv], cwd=POSE,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]  # library warnings may come first
    assert last.startswith("export.py: error: ") and named in last
