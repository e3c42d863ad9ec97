"""ONNX export of the top-down model from an original (mmpose 0.x) checkpoint, run under
ONNX Runtime and OpenVINO (fp32) against the reference fixture; heatmaps through a runner."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from conftest import COCO_CONFIGS, extra_from_layout, layout_of
from hrformer_pose.deploy import HeatmapNet, load_pose_model, use_runner
from hrformer_common.runtime import make_runner
from hrformer_common.testing import (assert_matches_reference, fixture, manifest, recipe_state_dict,
                              seeded_input)
from mmengine.config import Config
from tools import export

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
    assert export.main([str(config_path), str(ckpt), "--output", str(out),
                        "--input-size", "96", "72"]) == 0
    return config_path, ckpt, out


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_export_reproduces_fixture(micro_export, backend):
    runner = make_runner(backend, "fp32", onnx_path=micro_export[2], threads=1)
    for case in fixture("pose_micro")["cases"]:  # 256x192 and 96x72
        heatmaps = runner(seeded_input(case["input_shape"]))["heatmaps"]
        assert_matches_reference(heatmaps, case["outputs"]["heatmaps"],
                                 f"{backend} {case['input_shape']}")


def test_estimator_predicts_the_same_keypoints_through_a_runner(micro_export):
    from mmpose.apis import inference_topdown
    config_path, ckpt, onnx_path = micro_export
    image = (np.random.default_rng(0).random((120, 90, 3)) * 255).astype(np.uint8)
    reference = inference_topdown(load_pose_model(str(config_path), str(ckpt)), image)
    runner = make_runner("onnxruntime", "fp32", onnx_path=onnx_path, threads=1)
    model = use_runner(load_pose_model(str(config_path), str(ckpt)), runner)
    got = inference_topdown(model, image)
    np.testing.assert_allclose(got[0].pred_instances.keypoints,
                               reference[0].pred_instances.keypoints, atol=1e-3)
    np.testing.assert_allclose(got[0].pred_instances.keypoint_scores,
                               reference[0].pred_instances.keypoint_scores, atol=1e-4)


def test_loaded_model_is_folded_and_reproduces_fixture(micro_export):
    """export, the demo and the runners get the estimator from `load_pose_model`: folded."""
    config_path, ckpt, _ = micro_export
    net = HeatmapNet(load_pose_model(str(config_path), str(ckpt)))
    assert not [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
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
        assert torch.equal(HeatmapNet(estimator)(x), expected)


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
