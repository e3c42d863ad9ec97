"""Label mapping per dataset and the confusion-matrix metrics on hand-made maps."""
import numpy as np
import pytest
import torch

from lib.datasets import build_mapper
from lib.datasets.labels import IGNORE, LabelMapper, present_values
from lib.metrics import RunningScore
from lib.utils.configer import Configer


def dataset_mapper(name: str) -> LabelMapper:
    return build_mapper(Configer.from_file(f"configs/{name}/H_48_D_4.json"))


def test_cityscapes_label_ids_map_to_train_ids_and_back():
    mapper = dataset_mapper("cityscapes")
    raw = np.array([[7, 8, 0, 33], [26, 255, 6, 24]], dtype=np.uint8)
    train = mapper.to_train_ids(raw, "x.png")
    assert train.tolist() == [[0, 1, IGNORE, 18], [13, IGNORE, IGNORE, 11]]
    assert mapper.to_raw_ids(np.array([0, 1, 13, 18])).tolist() == [7, 8, 26, 33]


def test_reduce_zero_label_and_coco_stuff_list():
    ade = dataset_mapper("ade20k")
    assert ade.to_train_ids(np.array([0, 1, 150, 255], np.uint8), "a.png").tolist() == \
        [IGNORE, 0, 149, IGNORE]
    assert ade.to_raw_ids(np.array([0, 149])).tolist() == [1, 150]
    coco = dataset_mapper("coco_stuff")
    # raw 0 ignored, 12 unused -> ignored, 13 is the 12th used id -> train id 11, 182 -> 170
    assert coco.to_train_ids(np.array([0, 1, 12, 13, 182], np.uint8), "c.png").tolist() == \
        [IGNORE, 0, IGNORE, 11, 170]
    assert coco.to_raw_ids(np.array([0, 11, 170])).tolist() == [1, 13, 182]


def test_a_dataset_of_your_own_holds_its_train_ids():
    custom = dataset_mapper("custom")
    raw = np.array([[0, 1], [2, 255]], np.uint8)
    assert custom.raw_ids_are_train_ids and not dataset_mapper("ade20k").raw_ids_are_train_ids
    assert custom.to_train_ids(raw, "c.png").tolist() == raw.tolist()
    assert custom.to_raw_ids(np.array([0, 1, 2])).tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_present_values_are_the_sorted_distinct_values(dtype):
    raw = np.random.default_rng(0).choice([3, 0, 255, 17], size=(40, 30)).astype(dtype)
    assert present_values(raw).tolist() == [0, 3, 17, 255]
    assert present_values(raw[:, ::2]).tolist() == [0, 3, 17, 255]   # not contiguous


@pytest.mark.parametrize("name, raw, message", [
    ("pascal_context", 60, r"p\.png: label values \[60\] are outside the dataset's 59 classes"),
    ("cityscapes", 40, r"p\.png: label values \[40\] are not raw ids of this dataset"),
    ("custom", 3, r"p\.png: label values \[3\] are outside the dataset's 3 classes \(expected "
                  r"0\.\.2, or 255 for ignored pixels\)"),
])
def test_out_of_range_label_names_the_file(name, raw, message):
    with pytest.raises(ValueError, match=message):
        dataset_mapper(name).to_train_ids(np.array([[1, raw]], np.uint8), "p.png")


def test_miou_equals_hand_computed_value():
    label = torch.tensor([[0, 0, 1], [1, 2, -1]])
    pred = torch.tensor([[0, 1, 1], [1, 2, 2]])
    score = RunningScore(4)
    score.update(pred, label)
    # class 0: TP 1, FN 1 -> 1/2; class 1: TP 2, FP 1 -> 2/3; class 2: TP 1 (the prediction
    # on the ignored pixel is not counted) -> 1; class 3 absent -> nan, left out of the mean
    iou = score.iou()
    assert iou[:3] == pytest.approx([1 / 2, 2 / 3, 1.0]) and np.isnan(iou[3])
    assert score.miou() == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert score.pixel_accuracy() == pytest.approx(4 / 5)
    score.update(pred, label)   # accumulates
    assert score.matrix.sum() == 10
