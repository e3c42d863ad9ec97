"""torchvision's person detectors (`torchvision:<name>`): built without a download, weights
from torch's cache or `--det-checkpoint` (locally saved here), real photos."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hrformer_common.checkpoint import CheckpointError
from hrformer_common.images import read_image
from hrformer_pose.apis import build_detector
from hrformer_pose.apis.torchvision_detector import PERSON_LABEL, untrained_model

from test_detectors import CHINA, GRACE_HOPPER


NAMES = ("fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
         "retinanet_resnet50_fpn_v2", "ssdlite320_mobilenet_v3_large")
SSDLITE = "ssdlite320_mobilenet_v3_large"


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch) -> None:
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.mark.parametrize("name", NAMES)
def test_torchvision_names_build_without_weights(name: str) -> None:
    """The model without weights is the architecture of the default COCO weights (their
    parameter count; where those freeze BatchNorm, its scale and shift are buffers there),
    whose label 1 is a person."""
    from torchvision.models import get_model_weights
    meta = get_model_weights(name).DEFAULT.meta
    model = untrained_model(name)
    assert not model.training
    total = sum(p.numel() for p in model.parameters())
    batchnorm = sum(m.weight.numel() + m.bias.numel() for m in model.modules()
                    if isinstance(m, torch.nn.BatchNorm2d))
    assert meta["num_params"] in (total, total - batchnorm)
    assert meta["categories"][PERSON_LABEL] == "person"


@pytest.fixture(scope="module")
def ssdlite_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return untrained_model(SSDLITE).state_dict()


def test_torchvision_default_weights_load_from_torchs_cache(tmp_path, monkeypatch,
                                                            ssdlite_state) -> None:
    from torchvision.models import get_model_weights
    url = get_model_weights(SSDLITE).DEFAULT.url
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(ssdlite_state, cache / url.rsplit("/", 1)[1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    detector = build_detector(f"torchvision:{SSDLITE}")
    for key, value in detector.model.state_dict().items():
        assert torch.equal(value, ssdlite_state[key]), key


def test_torchvision_checkpoint_loads_strictly_and_runs_on_real_photos(
        tmp_path, ssdlite_state) -> None:
    path = tmp_path / "ssdlite.pth"
    torch.save({"state_dict": ssdlite_state}, path)
    detector = build_detector(f"torchvision:{SSDLITE}", checkpoint=path, score_thr=0.0,
                              max_people=5)
    assert all(torch.equal(v, ssdlite_state[k]) for k, v in detector.model.state_dict().items())
    for photo in (GRACE_HOPPER, CHINA):
        image = read_image(photo)
        boxes = detector(image, photo.name)
        assert boxes.dtype == np.float32 and boxes.shape[1] == 5 and len(boxes) <= 5
        assert (np.diff(boxes[:, 4]) <= 0).all() and (boxes[:, :2] >= 0).all()
        assert (boxes[:, 0] + boxes[:, 2] <= image.shape[1] + 1e-3).all()
    torch.save({"state_dict": {k: v for k, v in ssdlite_state.items() if "head" not in k}}, path)
    with pytest.raises(CheckpointError, match=f"{path}.*missing"):
        build_detector(f"torchvision:{SSDLITE}", checkpoint=path)


def test_torchvision_checkpoint_with_frozen_batchnorm_loads(tmp_path) -> None:
    """torchvision's released files of frozen-BatchNorm models have no num_batches_tracked."""
    name = "fasterrcnn_mobilenet_v3_large_fpn"
    state = {k: v for k, v in untrained_model(name).state_dict().items()
             if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "frcnn.pth")
    detector = build_detector(f"torchvision:{name}", checkpoint=tmp_path / "frcnn.pth")
    assert all(torch.equal(v, state[k]) for k, v in detector.model.state_dict().items()
               if k in state)
    assert detector.describe() == f"torchvision {name} ({tmp_path / 'frcnn.pth'}, cpu)"


class KnownOutput(torch.nn.Module):
    """Stands in for a detection model: fixed detections; keeps the images it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def forward(self, images: list) -> list[dict]:
        self.seen = images
        return [{"boxes": torch.tensor([[10., 10, 50, 90], [12, 10, 52, 90], [60, 5, 80, 40],
                                        [100, 100, 140, 180], [0, 0, 30, 30], [200, 0, 230, 50]]),
                 "labels": torch.tensor([1, 3, 1, 1, 1, 1]),
                 "scores": torch.tensor([0.9, 0.99, 0.8, 0.7, 0.2, 0.6])}]


def test_torchvision_person_label_thresholds_and_most_people(tmp_path, ssdlite_state) -> None:
    path = tmp_path / "ssdlite.pth"
    torch.save(ssdlite_state, path)
    detector = build_detector(f"torchvision:{SSDLITE}", checkpoint=path, max_people=3)
    detector.model = KnownOutput()
    image = read_image(CHINA, "BGR")[:, :, ::-1]  # RGB as a view, as cv2 users pass it
    # label 3 (a car) is not a person; 0.2 is below 0.3; the 4th person (0.6) is over 3.
    np.testing.assert_allclose(detector(image, CHINA.name), [
        [10, 10, 40, 80, 0.9], [60, 5, 20, 35, 0.8], [100, 100, 40, 80, 0.7]], rtol=1e-6)
    (x,) = detector.model.seen
    assert x.dtype == torch.float32 and x.shape == (3, 427, 640)
    torch.testing.assert_close(x, torch.tensor(read_image(CHINA)).permute(2, 0, 1) / 255.0)
