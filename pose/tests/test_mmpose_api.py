"""mmpose's documented entry point in a fresh interpreter, whatever is imported first."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
import torch
from conftest import POSE
from mmpose.apis import init_model

CONFIG = POSE / "configs" / "hrformer" / "coco" / "hrt_small_coco_256x192.py"
PHOTO = Path(sklearn.datasets.__file__).parent / "images" / "china.jpg"  # a real photo, 640x427
BOXES = [[40.0, 30.0, 250.0, 400.0], [300.0, 60.0, 600.0, 420.0]]  # x1, y1, x2, y2
# `from mmpose.apis import ...` is the first statement: nothing of this repo imported before.
SCRIPT = """\
from mmpose.apis import init_model, inference_topdown
import json, sys
import numpy as np
model = init_model(sys.argv[1], sys.argv[2], device="cpu")
results = inference_topdown(model, sys.argv[3], np.array(json.loads(sys.argv[4])), "xyxy")
print(json.dumps([{"keypoints": r.pred_instances.keypoints.tolist(),
                   "scores": r.pred_instances.keypoint_scores.tolist()} for r in results]))
"""


def test_installed_placeholder_is_the_repository_file():
    """`make install` copies `hrformer_pose/mmcv_ops_placeholder.py` into the venv (.pth)."""
    spec = importlib.util.find_spec("hrformer_mmcv_ops_placeholder")
    assert spec is not None, "run `make install`: the mmcv.ops placeholder is not in the venv"
    installed = Path(spec.origin).read_bytes()
    source = (POSE / "hrformer_pose" / "mmcv_ops_placeholder.py").read_bytes()
    assert hashlib.sha256(installed).digest() == hashlib.sha256(source).digest(), \
        "the venv's copy is stale: run `make install`"
    assert (Path(spec.origin).parent / "hrformer_mmcv_ops_placeholder.pth").is_file()


def _affine_box(box: list[float], aspect: float = 192 / 256, padding: float = 1.25) -> tuple:
    """The region mmpose's top-down pipeline crops for a box (padded, fixed aspect ratio),
    plus one heatmap cell (48x64) each side: the flip test's one-pixel shift can decode there."""
    x1, y1, x2, y2 = box
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    w, h = (w, w / aspect) if w > h * aspect else (h * aspect, h)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = w / 2 + w / 48, h / 2 + h / 64
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


@pytest.mark.skipif(importlib.util.find_spec("mmcv._ext") is not None,
                    reason="full mmcv is installed: the import order never mattered")
def test_mmpose_api_first_in_a_fresh_interpreter(tmp_path):
    model = init_model(str(CONFIG), None, device="cpu")
    checkpoint = tmp_path / "hrt_small_coco_256x192.pth"
    torch.save({"meta": {}, "state_dict": model.state_dict()}, checkpoint)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(CONFIG), str(checkpoint),
                          str(PHOTO), json.dumps(BOXES)], cwd=POSE, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(results) == len(BOXES)
    for box, result in zip(BOXES, results):
        keypoints, scores = np.array(result["keypoints"]), np.array(result["scores"])
        assert keypoints.shape == (1, 17, 2) and scores.shape == (1, 17)
        x1, y1, x2, y2 = _affine_box(box)
        assert np.all((keypoints[..., 0] >= x1) & (keypoints[..., 0] <= x2))
        assert np.all((keypoints[..., 1] >= y1) & (keypoints[..., 1] <= y2))
