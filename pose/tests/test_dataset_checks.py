"""Your own keypoints, bad input before training starts: a dataset-info file whose left/right
pairs or skeleton name unknown keypoints, or whose sigmas are not one per keypoint; a head of
another keypoint count; an annotation file of another keypoint count. Each error names the
file and what was expected."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from conftest import POSE
from hrformer_pose.config_check import ConfigError, check_keypoints
from hrformer_pose.datasets import AnnotationError
from mmengine.config import Config

EXAMPLE = POSE / "configs/custom/hrt_small_stick_figures_9kpt_256x192.py"
DATASET_INFO = POSE / "configs/_base_/datasets/stick_figures_9kpt.py"


def with_dataset_info(path: Path, old: str, new: str) -> Config:
    """The example config with a copy of its dataset-info file where `old` became `new`."""
    text = DATASET_INFO.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    cfg = Config.fromfile(EXAMPLE)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[loader].dataset.metainfo.from_file = str(path)
    return cfg


@pytest.mark.parametrize("old, new, expected", [
    ("swap='right_hand'", "swap='right_hnd'",
     "keypoint 'left_hand' swaps with 'right_hnd', which is not a keypoint of keypoint_info "
     "(head, left_shoulder, "),
    ("swap='left_hand'", "swap=''",
     "keypoint 'left_hand' swaps with 'right_hand', but 'right_hand' swaps with nothing: "
     "left/right pairs must name each other"),
    ("link=('left_hip', 'left_foot')", "link=('left_hip', 'left_fot')",
     "skeleton_info[8] link ['left_hip', 'left_fot'] names 'left_fot', not a keypoint; "
     "expected two of keypoint_info"),
    ("0.089, 0.089]", "0.089]", "8 sigmas for 9 keypoints; expected one per keypoint"),
    ("joint_weights=[1.0, ", "joint_weights=[", "8 joint_weights for 9 keypoints"),
    ("        8: dict(name='right_foot'", "        9: dict(name='right_foot'",
     "keypoint_info ids are [0, 1, 2, 3, 4, 5, 6, 7, 9]; expected 0..K-1"),
])
def test_a_bad_dataset_info_file_is_named_with_the_entry(tmp_path, old, new, expected):
    broken = tmp_path / "broken_info.py"
    cfg = with_dataset_info(broken, old, new)
    with pytest.raises(ConfigError) as error:
        check_keypoints(cfg)
    assert str(error.value).startswith(f"{EXAMPLE}: train_dataloader.dataset: {broken}: ")
    assert expected in str(error.value)


def test_a_head_of_another_keypoint_count_stops_training_at_start(tmp_path):
    train = runpy.run_path(str(POSE / "tools" / "train.py"))
    with pytest.raises(ConfigError, match=rf"{EXAMPLE}: model.head.out_channels=17, but "
                                          rf"train_dataloader.dataset has 9 keypoints "
                                          rf"\({DATASET_INFO}\); give the head one output"):
        train["main"]([str(EXAMPLE), "--work-dir", str(tmp_path),
                       "--cfg-options", "model.head.out_channels=17"])
    assert not any(tmp_path.iterdir())  # before the Runner (it makes the work dir)
    coco = Config.fromfile(POSE / "configs/hrformer/coco/hrt_small_coco_256x192.py")
    coco.model.head.out_channels = 9  # COCO's dataset class: 17 keypoints (mmpose's coco.py)
    with pytest.raises(ConfigError, match=r"out_channels=9, but train_dataloader.dataset has "
                                          r"17 keypoints \(.*datasets/coco\.py\)"):
        check_keypoints(coco)


def test_annotations_of_another_keypoint_count_are_named_before_training(tmp_path,
                                                                        stick_data):
    """The example config (9 keypoints) on the 17-keypoint stick figures."""
    train = runpy.run_path(str(POSE / "tools" / "train.py"))
    options = {"load_from": None, "train_dataloader.num_workers": 0,
               "train_dataloader.persistent_workers": False,
               "train_dataloader.dataset.data_root": f"{stick_data}/"}
    ann_file = stick_data / "annotations" / "train.json"
    with pytest.raises(AnnotationError, match=(
            rf"{ann_file}: category 'person' \(id 1\) has 17 keypoints \(nose, left_eye, "
            r"right_eye, left_ear, right_ear, ...\); expected the 9 of the dataset's metainfo, "
            r"'stick_figures_9kpt' \(head, left_shoulder, right_shoulder, left_hand, "
            r"right_hand, ...\): set the config's metainfo and model.head.out_channels")):
        train["main"]([str(EXAMPLE), "--work-dir", str(tmp_path), "--no-validate",
                       "--cfg-options", *(f"{k}={v}" for k, v in options.items())])
    assert not list(tmp_path.rglob("*.pth"))
