"""What every person detector shares: the call (an RGB image and its name in, person boxes
out), the checks on the image, and the limits applied to every detector's boxes (score
threshold, minimum size, NMS, most people), written once here.

Boxes leave a detector as an (N, 5) float32 array of `[x, y, w, h, score]` rows in image
pixels, highest score first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import nms

BOX_COLUMNS = 5  # x, y, w, h, score

DEFAULT_SCORE_THR = 0.3
DEFAULT_NMS_IOU = 0.45
DEFAULT_MAX_PEOPLE = 100
DEFAULT_MIN_SIZE = 1.0


class DetectorError(ValueError):
    """A detector spec, file or input that cannot be used; the message names it."""


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) `x, y, w, h` -> (N, 4) `x1, y1, x2, y2`."""
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4]], axis=1)


@dataclass(frozen=True)
class DetectionLimits:
    """Which boxes a detector returns (the `--det-*` flags): score at least `score_thr`, both
    sides at least `min_size` pixels (and above 0), non-maximum suppression at IoU `nms_iou`
    (1 keeps overlapping boxes), then the `max_people` best. None: no such limit (a box file
    is taken as given: `AS_GIVEN`)."""

    score_thr: float | None = DEFAULT_SCORE_THR
    nms_iou: float | None = DEFAULT_NMS_IOU
    max_people: int | None = DEFAULT_MAX_PEOPLE
    min_size: float = DEFAULT_MIN_SIZE

    def __post_init__(self) -> None:
        checks = (("score_thr", "--det-score-thr", self.score_thr is None
                   or 0.0 <= self.score_thr <= 1.0, "in [0, 1]"),
                  ("nms_iou", "--det-nms-iou", self.nms_iou is None
                   or 0.0 < self.nms_iou <= 1.0, "in (0, 1]"),
                  ("max_people", "--max-people", self.max_people is None
                   or (isinstance(self.max_people, int) and not isinstance(self.max_people, bool)
                       and self.max_people >= 1), "an integer >= 1"),
                  ("min_size", "--min-box-size", math.isfinite(self.min_size)
                   and self.min_size >= 0, "a number of pixels >= 0"))
        for name, flag, ok, expected in checks:
            if not ok:
                raise DetectorError(f"{name} ({flag}) = {getattr(self, name)!r}; expected "
                                    f"{expected}")

    def apply(self, boxes_xyxy: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Person boxes `x1, y1, x2, y2` (N, 4) with their scores (N,) -> the detector's
        (M, 5) `[x, y, w, h, score]` float32 rows, best first."""
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        sizes = boxes[:, 2:] - boxes[:, :2]
        keep = (np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
                & (sizes > 0).all(axis=1) & (sizes >= self.min_size).all(axis=1))
        if self.score_thr is not None:
            keep &= scores >= self.score_thr
        boxes, scores, sizes = boxes[keep], scores[keep], sizes[keep]
        if self.nms_iou is None:
            order = np.argsort(-scores, kind="stable")
        else:  # nms returns the kept indices by decreasing score
            order = nms(torch.from_numpy(boxes), torch.from_numpy(scores), self.nms_iou).numpy()
        order = order[:self.max_people]
        return np.concatenate([boxes[order, :2], sizes[order], scores[order, None]],
                              axis=1).astype(np.float32)


# A box file is the user's (or a detector's) final answer, as mmpose's COCO evaluation takes
# detection files: no threshold, NMS or cut unless asked; boxes without area cannot be cropped.
AS_GIVEN = DetectionLimits(score_thr=None, nms_iou=None, max_people=None, min_size=0.0)


def check_image(image: np.ndarray, key: str | None) -> None:
    """An RGB uint8 H x W x 3 array, or a `DetectorError` naming the image."""
    ok = (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
          and image.shape[2] == 3 and image.shape[0] > 0 and image.shape[1] > 0)
    if not ok:
        got = (f"shape {tuple(image.shape)} {image.dtype}" if isinstance(image, np.ndarray)
               else type(image).__name__)
        raise DetectorError(f"image {key or '(unnamed)'}: expected an RGB uint8 H x W x 3 "
                            f"array (hrformer_common.images.read_image gives one), got {got}")


class PersonDetector:
    """`detector(image, key)` -> (N, 5) float32 `[x, y, w, h, score]` person boxes.

    `image`: RGB uint8 H x W x 3. `key`: the image's name (its file name; for a video frame
    `frame_key(video, index)`, e.g. "walk.mp4:12"); only `boxes:` detectors need it.
    Subclasses give `person_boxes`; the limits are applied here, for every kind alike.
    """

    def __init__(self, limits: DetectionLimits) -> None:
        self.limits = limits

    def __call__(self, image: np.ndarray, key: str | None = None) -> np.ndarray:
        check_image(image, key)
        boxes_xyxy, scores = self.person_boxes(image, key)
        return self.limits.apply(boxes_xyxy, scores)

    def person_boxes(self, image: np.ndarray, key: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) `x1, y1, x2, y2` boxes in image pixels and their (N,) person scores."""
        raise NotImplementedError

    def describe(self) -> str:
        """What runs, for logs."""
        raise NotImplementedError


class WholeImageDetector(PersonDetector):
    """`none`: the whole image is one person, score 1."""

    def person_boxes(self, image: np.ndarray, key: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[:2]
        return np.array([[0.0, 0.0, width, height]]), np.ones(1)

    def describe(self) -> str:
        return "none (the whole image is one person)"
