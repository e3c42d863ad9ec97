"""Person detectors (hrformer_pose/apis): the shared limits, `none`, `boxes:` files, YOLOX ONNX
files (both output conventions, ONNX Runtime and OpenVINO, against boxes computed by hand),
odd and real images. torchvision's detectors: test_torchvision_detector.py."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import sklearn
from hrformer_common.images import read_image
from hrformer_pose.apis import (DetectionLimits, DetectorError, add_detector_args,
                                build_detector, detector_from_args, frame_key)
from hrformer_pose.apis.yolox_detector import anchor_grid, letterbox
from onnx import TensorProto, helper, numpy_helper, save_model
from PIL import Image

GRACE_HOPPER = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
CHINA = Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"
INPUT_HW = (64, 96)
ANCHORS = 8 * 12 + 4 * 6 + 2 * 3  # the stride 8, 16, 32 grids of a 64 x 96 input


def solid(height: int, width: int, rgb=(10, 20, 200)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (height, width, 3)).copy()


def test_limits_threshold_size_nms_and_most_people() -> None:
    boxes = np.array([[0, 0, 10, 20], [1, 1, 11, 21],     # IoU 171 / 229 = 0.75
                      [50, 50, 60, 70], [100, 100, 100.5, 150], [30, 0, 40, 20],
                      [200, 0, 210, 10], [0, 0, math.nan, 5]])
    scores = np.array([0.9, 0.8, 0.2, 0.95, 0.7, 0.6, 0.99])
    # 0.95 is narrower than 1 pixel, 0.99 is not finite, 0.2 is below 0.3, 0.8 overlaps 0.9,
    # 0.6 is the third person.
    got = DetectionLimits(score_thr=0.3, nms_iou=0.45, max_people=2, min_size=1.0).apply(
        boxes, scores)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [[0, 0, 10, 20, 0.9], [30, 0, 10, 20, 0.7]], rtol=1e-6)
    all_kept = DetectionLimits(0.0, 1.0, 100, 0.0).apply(boxes, scores)
    np.testing.assert_allclose(all_kept[:, 4], [0.95, 0.9, 0.8, 0.7, 0.6, 0.2], rtol=1e-6)
    assert DetectionLimits().apply(np.zeros((0, 4)), np.zeros(0)).shape == (0, 5)


@pytest.mark.parametrize("field, value, flag", [
    ("score_thr", 1.5, "--det-score-thr"), ("nms_iou", 0.0, "--det-nms-iou"),
    ("max_people", 0, "--max-people"), ("min_size", -1.0, "--min-box-size")])
def test_limits_refuse_bad_values(field: str, value: float, flag: str) -> None:
    with pytest.raises(DetectorError, match=f"{field} \\({flag}\\) = {value}"):
        DetectionLimits(**{field: value})


@pytest.mark.parametrize("spec, message", [
    ("yolo:m.onnx", "expected none, torchvision:<name>"), ("none:x", "expected none"),
    ("torchvision", "expected none"), ("torchvision:resnet50", "fasterrcnn_resnet50_fpn_v2"),
    ("yolox:missing.onnx", "ONNX model not found: missing.onnx"),
    ("boxes:missing.json", "boxes file not found: missing.json")])
def test_bad_specs_are_named(spec: str, message: str) -> None:
    with pytest.raises((DetectorError, FileNotFoundError), match=message):
        build_detector(spec)


def test_an_option_for_another_kind_is_refused() -> None:
    with pytest.raises(DetectorError, match=r"--det-checkpoint\) is for torchvision"):
        build_detector("none", checkpoint="w.pth")
    with pytest.raises(DetectorError, match=r"--det-backend\) is for yolox"):
        build_detector("boxes:b.json", backend="openvino")


def test_flags_defaults_documented_in_help_and_readme(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_detector_args(parser)
    args = parser.parse_args([])
    assert args.det == "none"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for flag, field, value in (("--det-score-thr", "score_thr", 0.3),
                               ("--det-nms-iou", "nms_iou", 0.45),
                               ("--max-people", "max_people", 100),
                               ("--min-box-size", "min_size", 1.0)):
        assert getattr(args, flag[2:].replace("-", "_")) is None  # the kind's default
        assert getattr(DetectionLimits(), field) == value  # a model's
        assert f"`{flag}` (default `{value}`)" in readme, flag
    assert "(default: 0.45; boxes files: no NMS)" in " ".join(parser.format_help().split())
    args = parser.parse_args(["--det", f"boxes:{box_file(tmp_path)}", "--det-score-thr", "0.85",
                              "--max-people", "1"])
    detector = detector_from_args(args)
    assert detector.limits == DetectionLimits(0.85, None, 1, 0.0)
    np.testing.assert_allclose(detector(solid(50, 60), "a.jpg"), [[10, 20, 30, 40, 0.9]])


def test_none_is_the_whole_image_also_for_odd_and_real_images(tmp_path: Path) -> None:
    detector = build_detector("none")
    assert detector.describe() == "none (the whole image is one person)"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp_path / "gray.png")
    Image.fromarray(np.full((5, 7, 4), 200, np.uint8), "RGBA").save(tmp_path / "rgba.png")
    for path, (height, width) in ((tmp_path / "gray.png", (8, 8)), (tmp_path / "rgba.png", (5, 7)),
                                  (GRACE_HOPPER, (600, 512)), (CHINA, (427, 640))):
        boxes = detector(read_image(path), path.name)
        np.testing.assert_array_equal(boxes, [[0, 0, width, height, 1]])


@pytest.mark.parametrize("image, got", [
    (np.zeros((8, 8), np.uint8), r"shape \(8, 8\) uint8"),
    (np.zeros((8, 8, 4), np.uint8), r"shape \(8, 8, 4\) uint8"),
    (np.zeros((8, 8, 3), np.float32), r"shape \(8, 8, 3\) float32"),
    (np.zeros((0, 8, 3), np.uint8), r"shape \(0, 8, 3\) uint8")])
def test_images_other_than_rgb_uint8_are_named(image: np.ndarray, got: str) -> None:
    with pytest.raises(DetectorError, match=f"image x.png: expected an RGB uint8 H x W x 3 "
                                            f"array .*, got {got}"):
        build_detector("none")(image, "x.png")


def box_file(folder: Path, content: object = None, name: str = "boxes.json") -> Path:
    content = content if content is not None else {
        "a.jpg": [[10, 20, 30, 40, 0.9], [12, 22, 30, 40, 0.8], [0, 0, 5, 5, 0.1]],
        "walk.mp4:12": [[1, 2, 3, 4, 0.5]], "empty.jpg": []}
    path = folder / name
    path.write_text(json.dumps(content))
    return path


def test_boxes_by_name_with_video_frame_keys(tmp_path: Path) -> None:
    detector = build_detector(f"boxes:{box_file(tmp_path)}")
    assert detector.describe() == f"boxes {tmp_path / 'boxes.json'} (3 images)"
    image = solid(60, 60)
    expected = [[10, 20, 30, 40, 0.9], [12, 22, 30, 40, 0.8], [0, 0, 5, 5, 0.1]]  # as given
    np.testing.assert_allclose(detector(image, "a.jpg"), expected, rtol=1e-6)
    np.testing.assert_allclose(detector(image, "photos/a.jpg"), expected, rtol=1e-6)
    assert frame_key("clips/walk.mp4", 12) == "walk.mp4:12"
    np.testing.assert_allclose(detector(image, frame_key("clips/walk.mp4", 12)),
                               [[1, 2, 3, 4, 0.5]])
    assert detector(image, "empty.jpg").shape == (0, 5)
    with pytest.raises(DetectorError, match=r"has no boxes for image 'walk.mp4:13'"):
        detector(image, "walk.mp4:13")
    with pytest.raises(DetectorError, match="needs each image's name"):
        detector(image)


@pytest.mark.parametrize("content, message", [
    ({"a.jpg": [[1, 2, 3, 4, 0.5], [1, 2, 3, 0.5]]}, r"'a.jpg'\[1\]: expected \[x, y, w, h, score"),
    ({"a.jpg": [[1, 2, -3, 4, 0.5]]}, r"'a.jpg'\[0\]: expected .* w and h >= 0"),
    ({"a.jpg": [[1, 2, 3, 4, "high"]]}, r"'a.jpg'\[0\]"),
    ({"a.jpg": {"x": 1}}, r"'a.jpg': expected a list"),
    ("boxes", "got str"), ({}, "no images")])
def test_malformed_box_files_name_the_entry(tmp_path: Path, content, message: str) -> None:
    with pytest.raises(DetectorError, match=message):
        build_detector(f"boxes:{box_file(tmp_path, content)}")


def coco_files(folder: Path, results: list) -> tuple[Path, Path]:
    annotations = folder / "person_keypoints_val.json"
    annotations.write_text(json.dumps({"images": [
        {"id": 139, "file_name": "val2017/000000000139.jpg"}, {"id": 285, "file_name": "b.jpg"}],
        "annotations": [], "categories": [{"id": 1, "name": "person"}]}))
    return box_file(folder, results, "detections.json"), annotations


def test_boxes_in_coco_results_format(tmp_path: Path) -> None:
    results, annotations = coco_files(tmp_path, [
        {"image_id": 139, "category_id": 1, "bbox": [5, 6, 20, 30], "score": 0.7},
        {"image_id": 139, "category_id": 18, "bbox": [50, 6, 20, 30], "score": 0.99},
        {"image_id": 139, "category_id": 1, "bbox": [40, 6, 20, 30], "score": 0.95}])
    detector = build_detector(f"boxes:{results}", annotations=annotations)
    np.testing.assert_allclose(detector(solid(80, 80), "000000000139.jpg"),
                               [[40, 6, 20, 30, 0.95], [5, 6, 20, 30, 0.7]], rtol=1e-6)
    assert detector(solid(80, 80), "b.jpg").shape == (0, 5)  # annotated, no person found
    with pytest.raises(DetectorError, match="--det-annotations"):
        build_detector(f"boxes:{results}")


@pytest.mark.parametrize("result, message", [
    ({"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},
     r"\[0\]: image_id 7 is not in the annotation file"),
    ({"image_id": 139, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5},
     r"\[0\]: bbox: expected \[x, y, w, h\]"),
    ({"image_id": 139, "bbox": [1, 2, 3, 4], "score": 0.5}, r"\[0\]: expected \{")])
def test_malformed_coco_results_name_the_entry(tmp_path: Path, result: dict, message: str) -> None:
    results, annotations = coco_files(tmp_path, [result])
    with pytest.raises(DetectorError, match=message):
        build_detector(f"boxes:{results}", annotations=annotations)


def onnx_file(path: Path, outputs: dict[str, np.ndarray], blue_mean_at: tuple | None = None,
              input_dims: tuple = (1, 3, *INPUT_HW)) -> Path:
    """A model with input `images` and constant `outputs`; the first output depends on the
    input: at `blue_mean_at` = (anchor, column) it adds the mean of input channel 0 / 255."""
    (first, base), *others = outputs.items()
    weight = np.zeros(base.shape, np.float32)
    if blue_mean_at is not None:
        weight[(0, *blue_mean_at)] = 1 / 255
    initializers = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
                    numpy_helper.from_array(weight, "weight"),
                    numpy_helper.from_array(base.astype(np.float32), "base")]
    nodes = [helper.make_node("ReduceMean", ["images"], ["means"], axes=[2, 3], keepdims=0),
             helper.make_node("Gather", ["means", "zero"], ["blue_mean"], axis=1),
             helper.make_node("Mul", ["blue_mean", "weight"], ["term"]),
             helper.make_node("Add", ["term", "base"], [first])]
    graph_outputs = [helper.make_tensor_value_info(first, TensorProto.FLOAT, base.shape)]
    for name, value in others:
        initializers.append(numpy_helper.from_array(value, f"{name}_value"))
        nodes.append(helper.make_node("Identity", [f"{name}_value"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape))
    graph = helper.make_graph(nodes, "yolox_stand_in", [helper.make_tensor_value_info(
        "images", TensorProto.FLOAT, input_dims)], graph_outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, path)
    return path


def raw_predictions() -> np.ndarray:
    """1 x 126 x 7 rows (2 classes); anchors: stride 8 index row * 12 + col, stride 16
    96 + row * 6 + col, stride 32 120 + row * 3 + col. All other rows score 0."""
    rows = np.zeros((ANCHORS, 7), np.float32)
    # stride 8, cell (3, 2): centre (3.5 * 8, 2.25 * 8) = (28, 18), size 2 * 8 x 4 * 8:
    # (20, 2, 36, 34); objectness = the input's blue mean / 255 (added by the model), person 0.9
    rows[2 * 12 + 3] = [0.5, 0.25, math.log(2), math.log(4), 0, 0.9, 0.1]
    # stride 16, cell (1, 1): centre (24, 18), size 16 x 32: (16, 2, 32, 34), IoU 0.6 with the
    # first; score 0.8 * 0.7 = 0.56
    rows[96 + 1 * 6 + 1] = [0.5, 0.125, 0, math.log(2), 0.8, 0.7, 0.0]
    # stride 32, cell (2, 1): another class (person score 0.95 * 0.05 below 0.3)
    rows[120 + 1 * 3 + 2] = [0.5, 0.5, 0, 0, 0.95, 0.05, 0.99]
    # stride 8, cell (10, 5): centre (84, 44), size 32 x 16: (68, 36, 100, 52), score 0.6
    rows[5 * 12 + 10] = [0.5, 0.5, math.log(4), math.log(2), 0.6, 1.0, 0.0]
    return rows[None]


def decoded_predictions() -> np.ndarray:
    """What a file with the decoding inside gives: centres in input pixels (cells + 0.5)."""
    cells, strides = anchor_grid(INPUT_HW)
    rows = np.zeros((ANCHORS, 6), np.float32)
    rows[:, :2] = (cells + 0.5) * strides[:, None]
    rows[:, 2:4] = strides[:, None]
    return rows[None]


@pytest.fixture(scope="module")
def yolox_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("yolox")
    dets = np.array([[[20, 2, 36, 34, 0.9], [20, 2, 36, 34, 0.95], [16, 2, 32, 34, 0.8],
                      [0, 0, 0, 0, 0]]], np.float32)
    return {"raw": onnx_file(folder / "raw.onnx", {"output": raw_predictions()}, (27, 4)),
            "nms": onnx_file(folder / "nms.onnx", {"dets": dets,
                                                   "labels": np.array([[0, 1, 0, 0]])}),
            "dets_only": onnx_file(folder / "dets_only.onnx", {"dets": dets})}


def test_letterbox_keeps_aspect_top_left_bgr_gray_padding() -> None:
    x, ratio = letterbox(solid(100, 192), INPUT_HW)  # 0.5: 50 x 96, rows 50.. padding
    assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32 and ratio == 0.5
    np.testing.assert_array_equal(x[0, :, :50, :].reshape(3, -1).T[0], [200, 20, 10])
    assert (x[0, :, :50, :].std(axis=(1, 2)) == 0).all() and (x[0, :, 50:, :] == 114).all()
    x, ratio = letterbox(solid(8, 8), INPUT_HW)  # tiny: scaled up 8 times to 64 x 64
    assert ratio == 8 and (x[0, 0, :, :64] == 200).all() and (x[0, :, :, 64:] == 114).all()


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_yolox_raw_grid_decoding_against_hand_computed_boxes(yolox_files, backend: str) -> None:
    detector = build_detector(f"yolox:{yolox_files['raw']}", backend=backend, threads=1)
    assert detector.describe() == f"yolox raw.onnx ({backend}, input 64x96, raw grid)"
    # The 100 x 192 image is scaled by 0.5 to 50 x 96: input boxes are doubled. Blue (200)
    # fills rows 0-49 of the input, gray 114 rows 50-63: objectness (200 * 50 + 114 * 14) / 64
    # / 255 = 0.7105, score x 0.9. The last box is clipped to the image (x 192, y 100).
    objectness = (200 * 50 + 114 * 14) / 64 / 255
    first = [40, 4, 32, 64, objectness * 0.9]
    last = [136, 72, 56, 28, 0.6]
    np.testing.assert_allclose(detector(solid(100, 192), "a.jpg"), [first, last], atol=1e-4)
    keep_overlaps = build_detector(f"yolox:{yolox_files['raw']}", backend=backend, nms_iou=1.0)
    np.testing.assert_allclose(keep_overlaps(solid(100, 192)),
                               [first, last, [32, 4, 32, 64, 0.56]], atol=1e-4)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_yolox_exported_with_nms(yolox_files, backend: str) -> None:
    with_labels = build_detector(f"yolox:{yolox_files['nms']}", backend=backend)
    assert with_labels.convention == "exported with NMS"
    # Row 1 is not a person; row 2 overlaps row 0 (IoU 0.6); row 3 scores 0.
    np.testing.assert_allclose(with_labels(solid(100, 192)), [[40, 4, 32, 64, 0.9]], atol=1e-5)
    # Without labels every box is a person: row 1 (0.95) suppresses rows 0 and 2.
    dets_only = build_detector(f"yolox:{yolox_files['dets_only']}", backend=backend)
    np.testing.assert_allclose(dets_only(solid(100, 192)), [[40, 4, 32, 64, 0.95]], atol=1e-5)
    # Real photos: scaled by 64 / height (600 and 427), the sides that fill the input.
    for path, height in ((GRACE_HOPPER, 600), (CHINA, 427)):
        expected = [*(np.array([20, 2, 16, 32]) * height / 64), 0.9]
        np.testing.assert_allclose(with_labels(read_image(path), path.name), [expected],
                                   rtol=1e-5)
    # Odd inputs, read as RGB: a 8 x 8 image is scaled by 8 (box (2.5, 0.25, 2, 4)).
    np.testing.assert_allclose(with_labels(solid(8, 8)), [[2.5, 0.25, 2, 4, 0.9]], atol=1e-5)


@pytest.mark.parametrize("outputs, input_dims, message", [
    ({"output": np.zeros((1, 100, 6), np.float32)}, [1, 3, 64, 96],
     r"outputs output \[1, 100, 6\] match neither YOLOX convention: raw predictions \[1, 126"),
    ({"output": np.zeros((1, 10, 3), np.float32)}, [1, 3, 64, 96],
     r"outputs output \[1, 10, 3\] match neither"),
    ({"output": decoded_predictions()}, [1, 3, 64, 96],
     r"output output \[1, 126, 6\] holds decoded boxes"),
    ({"output": np.zeros((1, 126, 6), np.float32)}, ["batch", 3, "height", "width"],
     r"expected an image input 1 x 3 x H x W with fixed H and W .*, got \[None, 3, None, None\]")])
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_yolox_files_of_another_kind_are_refused_at_build(
        tmp_path: Path, outputs: dict, input_dims: list, message: str, backend: str) -> None:
    path = onnx_file(tmp_path / "other.onnx", outputs, input_dims=input_dims)
    with pytest.raises(DetectorError, match=f"yolox:{path}: {message}"):
        build_detector(f"yolox:{path}", backend=backend)


def test_yolox_refuses_a_file_that_is_not_onnx(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match=f"yolox:{path}: onnxruntime cannot open it"):
        build_detector(f"yolox:{path}")
