"""`PoseInferencer` (hrformer_pose/apis): the same keypoints as tools/test.py for the same
boxes, the flip test as mmpose's, real photos and odd images, boxes checked and clipped,
the person score as CocoMetric's."""
from __future__ import annotations

import json
import pickle
import runpy
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import sklearn
import torch
from conftest import DEMO_CONFIG, POSE, data_options
from hrformer_common.images import read_image
from hrformer_pose.apis import BoxError, PoseInferencer
from hrformer_pose.apis.topdown import TopdownSettings, person_scores
from mmengine.config import Config

GRACE_HOPPER = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
CHINA = Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"


def ground_truth_boxes(root: Path, path: Path) -> Path:
    """The held-out split's annotated boxes as a `boxes:` file (by image name)."""
    annotations = json.loads((root / "annotations" / "val.json").read_text())
    boxes = {image["file_name"]: [a["bbox"] + [1.0] for a in annotations["annotations"]
                                  if a["image_id"] == image["id"]]
             for image in annotations["images"]}
    path.write_text(json.dumps(boxes))
    return path


@pytest.fixture(scope="module")
def tools_test_predictions(stick_data, demo_checkpoint, tmp_path_factory) -> list[dict]:
    """tools/test.py on the held-out split: ground-truth boxes, flip test, predictions dumped."""
    work_dir = tmp_path_factory.mktemp("tools_test")
    test = runpy.run_path(str(POSE / "tools" / "test.py"))
    test["main"]([str(DEMO_CONFIG), str(demo_checkpoint), "--work-dir", str(work_dir),
                  "--out", str(work_dir / "predictions.pkl"), "--cfg-options",
                  *(f"{k}={v}" for k, v in data_options(stick_data).items())])
    with open(work_dir / "predictions.pkl", "rb") as f:
        return pickle.load(f)


def test_keypoints_equal_tools_test_with_ground_truth_boxes(stick_data, demo_checkpoint,
                                                            tools_test_predictions, tmp_path):
    boxes = ground_truth_boxes(stick_data, tmp_path / "boxes.json")
    pose = PoseInferencer(DEMO_CONFIG, demo_checkpoint, det=f"boxes:{boxes}",
                          det_options=dict(score_thr=0.0, nms_iou=1.0, min_size=0.0))
    assert pose.flip_test
    names = sorted({Path(p["img_path"]).name for p in tools_test_predictions})
    assert len(names) == 3
    for name in names:
        people = pose(stick_data / "val" / name)
        expected = [p["pred_instances"] for p in tools_test_predictions
                    if Path(p["img_path"]).name == name]
        assert len(people) == len(expected)
        for person, reference in zip(people, expected):
            keypoints = np.array(person["keypoints"])
            np.testing.assert_allclose(keypoints[:, :2], reference["keypoints"][0], atol=1e-3)
            np.testing.assert_allclose(keypoints[:, 2], reference["keypoint_scores"][0],
                                       atol=1e-5)
            x, y, w, h = person["bbox"]
            np.testing.assert_allclose([x, y, x + w, y + h], reference["bboxes"][0], atol=1e-3)
            assert person["bbox_score"] == 1.0


def test_flip_test_off_equals_mmpose_without_flip(stick_data, demo_checkpoint):
    from mmpose.apis import inference_topdown, init_model
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.test_cfg.flip_test = False
    model = init_model(cfg, str(demo_checkpoint), device="cpu")
    pose = PoseInferencer(DEMO_CONFIG, demo_checkpoint, flip_test=False)
    image = stick_data / "val" / "00001.png"
    boxes = np.array([[20.0, 10.0, 70.0, 130.0], [-10.0, 40.0, 90.0, 150.0]], np.float32)
    reference = inference_topdown(model, str(image), np.array([[20, 10, 90, 140], [0, 40, 80,
                                                                                   159]]))
    people = pose(image, boxes=boxes)
    # 0.01 px: the demo config decodes with DARK, whose Taylor step amplifies the float
    # differences between our folded network and mmpose's unfolded one.
    for person, expected in zip(people, reference):
        np.testing.assert_allclose(np.array(person["keypoints"])[:, :2],
                                   expected.pred_instances.keypoints[0], atol=1e-2)
    # flipped crops change the result: the flip test does run when on
    flipped = PoseInferencer(DEMO_CONFIG, demo_checkpoint)(image, boxes=boxes)
    assert not np.allclose([p["keypoints"] for p in flipped], [p["keypoints"] for p in people])


def test_all_crops_of_an_image_go_through_the_network_in_one_batch(demo_pose, stick_data):
    calls = []
    runner = demo_pose.runner

    class Recording:
        def __call__(self, x):
            calls.append(tuple(x.shape))
            return runner(x)

    boxes = np.array([[10, 10, 60, 120], [80, 20, 60, 120], [40, 30, 50, 100]], np.float32)
    demo_pose.runner = Recording()
    try:
        people = demo_pose(stick_data / "val" / "00002.png", boxes=boxes)
    finally:
        demo_pose.runner = runner
    assert calls == [(6, 3, 128, 96)]  # three crops and their mirror images
    assert len(people) == 3


@pytest.mark.parametrize("photo", [GRACE_HOPPER, CHINA], ids=["grace_hopper", "china"])
def test_real_photos(demo_pose, photo):
    image = read_image(photo)
    height, width = image.shape[:2]
    (person,) = demo_pose(photo)  # det none: the whole image
    assert person["bbox"] == [0.0, 0.0, width - 1.0, height - 1.0]
    keypoints = np.array(person["keypoints"])
    assert keypoints.shape == (17, 3) and (keypoints[:, 2] > 0).any()
    # inside the cropped region: the box padded x1.25 at the input's 3:4 aspect ratio (and
    # an eighth of the crop around it: the flip test's shift and DARK's Taylor step, large on
    # the near-flat heatmaps of this barely trained model, decode a little outside)
    w, h = (width - 1) * 1.25, (height - 1) * 1.25
    w, h = (w, w / 0.75) if w > h * 0.75 else (h * 0.75, h)
    low = np.array([(width - 1) / 2 - w / 2 - w / 8, (height - 1) / 2 - h / 2 - h / 8])
    high = np.array([(width - 1) / 2 + w / 2 + w / 8, (height - 1) / 2 + h / 2 + h / 8])
    assert ((keypoints[:, :2] >= low - 1e-3) & (keypoints[:, :2] <= high + 1e-3)).all()
    assert json.loads(json.dumps(person)) == person
    # the array in gives what the file gives
    assert demo_pose(image) == [person]


def test_odd_images_become_rgb_upright(demo_pose, tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    gray = tmp_path / "gray.png"
    Image.fromarray(rng.integers(0, 256, (60, 40), np.uint8)).save(gray)
    rgba = tmp_path / "rgba.png"
    Image.fromarray(rng.integers(0, 256, (30, 50, 4), np.uint8)).save(rgba)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(rng.integers(0, 256, (40, 70, 3), np.uint8)).save(rotated, exif=exif)
    tiny = tmp_path / "tiny.png"
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), np.uint8)).save(tiny)
    for path, (height, width) in ((gray, (60, 40)), (rgba, (30, 50)), (rotated, (70, 40)),
                                  (tiny, (8, 8))):
        (person,) = demo_pose(path)
        assert person["bbox"] == [0.0, 0.0, width - 1.0, height - 1.0], path.name
        assert np.isfinite(np.array(person["keypoints"])).all()


@pytest.mark.parametrize("box, problem", [
    ([100, 100, 0, 200], "has no width or height"),
    ([10, 10, -5, 20], "has no width or height"),
    ([500, 500, 50, 50], "lies outside the 96x160 image"),
    ([np.nan, 0, 5, 5], "is not finite")])
def test_bad_boxes_are_named(demo_pose, box, problem):
    image = np.zeros((160, 96, 3), np.uint8)
    with pytest.raises(BoxError, match=problem) as err:
        demo_pose(image, key="frame.png", boxes=np.array([[10, 10, 20, 30], box], np.float32))
    assert "image frame.png: box x,y,w,h = " in str(err.value)


def test_boxes_partly_outside_are_clipped(demo_pose):
    image = np.full((120, 100, 3), 128, np.uint8)
    (person,) = demo_pose(image, boxes=np.array([[-50, 20, 300, 400]], np.float32))
    assert person["bbox"] == [0.0, 20.0, 99.0, 99.0]


def test_person_score_is_cocometric_rescoring():
    scores = np.array([[0.9, 0.1, 0.5, 0.2], [0.1, 0.1, 0.1, 0.1]])
    got = person_scores(np.array([0.8, 1.0]), scores, threshold=0.2)
    np.testing.assert_allclose(got, [0.8 * (0.9 + 0.5) / 2, 0.0])
    assert TopdownSettings.of(Config.fromfile(DEMO_CONFIG)).rescore_threshold == 0.2


def test_no_people_is_an_empty_list(demo_pose):
    assert demo_pose(np.zeros((50, 50, 3), np.uint8), boxes=np.zeros((0, 4))) == []
    with torch.no_grad():
        assert demo_pose.forward(demo_pose.preprocess(np.zeros((9, 9, 3), np.uint8),
                                                      boxes=np.zeros((0, 4)))).numel() == 0
