"""A real validation pass (mmpose val pipeline + CocoMetric) with known predictions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG, data_options
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import InstanceData


class GroundTruthModel(BaseModel):
    """Predicts each instance's annotated keypoints, moved by `shift` pixels in x."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.shift = shift
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # the Runner needs a parameter

    def forward(self, inputs, data_samples=None, mode="predict"):
        for sample in data_samples:
            ann = sample.raw_ann_info
            keypoints = np.array(ann["keypoints"], dtype=np.float32).reshape(1, -1, 3)[..., :2]
            sample.pred_instances = InstanceData(
                keypoints=keypoints + np.array([self.shift, 0.0], dtype=np.float32),
                keypoint_scores=np.ones(keypoints.shape[:2], dtype=np.float32))
        return data_samples


def _validate(tmp_path, root, shift: float) -> dict:
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(data_options(root))
    runner = Runner(model=GroundTruthModel(shift), work_dir=str(tmp_path),
                    experiment_name=f"{tmp_path.name}_{shift}",
                    val_dataloader=cfg.val_dataloader, val_cfg=dict(),
                    val_evaluator=cfg.val_evaluator, default_scope="mmpose")
    return runner.val()


@pytest.mark.parametrize("shift, expected", [(0.0, 1.0), (3.0, None), (8.0, None)])
def test_coco_ap_of_known_predictions(tmp_path, stick_data, shift, expected):
    """Perfect predictions give AP 1.0; shifted ones less, and more shift costs more."""
    metrics = _validate(tmp_path, stick_data, shift)
    if expected is not None:
        assert metrics["coco/AP"] == pytest.approx(expected)
        assert metrics["coco/AR"] == pytest.approx(expected)
    else:
        assert metrics["coco/AP"] < 1.0
    if shift == 8.0:
        assert metrics["coco/AP"] < _validate(tmp_path / "small", stick_data, 3.0)["coco/AP"]
