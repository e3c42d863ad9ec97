"""Pose on videos: the detector runs every `det_every` frames; in between, each person's box
comes from their keypoints in the previous frame (widened, as rtmlib's PoseTracker does),
clipped to the frame (one of another size too: a box wholly outside it is dropped).
People keep a `track_id` from frame to frame by box IoU: the boxes each frame's people were
cropped from are matched, best overlap first, with the previous frame's; a box that overlaps
none by `iou_thr` starts a new track. Ids are never reused.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import box_iou

from .detector_base import xywh_to_xyxy
from .inferencer import Person, PoseInferencer

KEYPOINT_BOX_EXPANSION = 1.25  # keypoints span less than the person: widen their box
MIN_BOX_SIDE = 1.0


def xywh_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of (N, 4) and (M, 4) `x, y, w, h` boxes; 0 for two empty boxes (which
    torchvision gives as 0 / 0)."""
    corners = [torch.from_numpy(xywh_to_xyxy(np.asarray(boxes, np.float64).reshape(-1, 4)))
               for boxes in (a, b)]
    return np.nan_to_num(box_iou(*corners).numpy(), nan=0.0)


def keypoint_box(person: Person, image_hw: tuple[int, int], kpt_thr: float) -> np.ndarray | None:
    """`x, y, w, h` around the person's keypoints scoring at least `kpt_thr` (all of them when
    fewer than two do), widened x1.25 about its centre and clipped to the image; None when
    less than a pixel of it is inside."""
    keypoints = np.asarray(person["keypoints"], np.float64)
    confident = keypoints[keypoints[:, 2] >= kpt_thr, :2]
    points = confident if len(confident) >= 2 else keypoints[:, :2]
    low, high = points.min(axis=0), points.max(axis=0)
    center, half = (low + high) / 2, (high - low) / 2 * KEYPOINT_BOX_EXPANSION
    height, width = image_hw
    x1, y1 = np.clip(center - half, 0, [width - 1, height - 1])
    x2, y2 = np.clip(center + half, 0, [width - 1, height - 1])
    if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1])


def boxes_inside(rows: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(N, 5) `x, y, w, h, score` rows clipped to the image (a box carried from a larger frame
    into a smaller one); rows with less than a pixel inside are dropped."""
    height, width = image_hw
    low = np.clip(rows[:, :2], 0, [width - 1, height - 1])
    high = np.clip(rows[:, :2] + rows[:, 2:4], 0, [max(width - 1, 1), max(height - 1, 1)])
    inside = (high - low >= MIN_BOX_SIDE).all(axis=1)
    return np.concatenate([low, high - low, rows[:, 4:]], axis=1)[inside].astype(np.float32)


class IouTracker:
    """Track ids for each frame's boxes, by IoU with the previous frame's."""

    def __init__(self, iou_thr: float = 0.3) -> None:
        if not 0.0 < iou_thr <= 1.0:
            raise ValueError(f"iou_thr = {iou_thr!r}; expected a number in (0, 1]")
        self.iou_thr = iou_thr
        self.previous_ids: list[int] = []
        self.previous_boxes = np.zeros((0, 4))
        self.next_id = 0

    def assign(self, boxes: np.ndarray) -> list[int]:
        """Ids of (N, 4) `x, y, w, h` boxes: pairs of a box and a previous box are taken in
        decreasing IoU (at least `iou_thr`); the other boxes get new ids."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids: list[int | None] = [None] * len(boxes)
        overlaps = xywh_iou(boxes, self.previous_boxes)
        for flat in np.argsort(-overlaps, axis=None, kind="stable"):
            i, j = np.unravel_index(flat, overlaps.shape)
            if overlaps[i, j] < self.iou_thr:
                break
            if ids[i] is None and self.previous_ids[j] not in ids:
                ids[i] = self.previous_ids[j]
        for i, found in enumerate(ids):
            if found is None:
                ids[i], self.next_id = self.next_id, self.next_id + 1
        self.previous_ids, self.previous_boxes = list(ids), boxes
        return list(ids)


class PoseTracker:
    """`tracker(frame, key)` -> the frame's people with `track_id`, frame after frame."""

    def __init__(self, inferencer: PoseInferencer, det_every: int = 1, iou_thr: float = 0.3,
                 kpt_thr: float = 0.3) -> None:
        if isinstance(det_every, bool) or not isinstance(det_every, int) or det_every < 1:
            raise ValueError(f"det_every (--det-every) = {det_every!r}; expected an integer "
                             ">= 1 (1: detect on every frame)")
        self.inferencer, self.det_every, self.kpt_thr = inferencer, det_every, kpt_thr
        self.ids = IouTracker(iou_thr)
        self.frame_index = 0
        self.carried = np.zeros((0, 5), np.float32)  # boxes for the next frame, with scores

    def __call__(self, frame: np.ndarray, key: str | None = None) -> list[Person]:
        detect = self.frame_index % self.det_every == 0
        carried = None if detect else boxes_inside(self.carried, frame.shape[:2])
        people = self.inferencer(frame, key, boxes=carried)
        cropped = np.array([p["bbox"] for p in people], np.float64).reshape(-1, 4)
        for person, track_id in zip(people, self.ids.assign(cropped)):
            person["track_id"] = track_id
        # The next frame's boxes (unless it detects): around these keypoints; a person whose
        # keypoints lie (almost) outside the image keeps the box they were cropped from.
        boxes = [keypoint_box(p, frame.shape[:2], self.kpt_thr) for p in people]
        self.carried = np.array([[*(p["bbox"] if b is None else b), p["bbox_score"]]
                                 for p, b in zip(people, boxes)], np.float32).reshape(-1, 5)
        self.frame_index += 1
        return people
