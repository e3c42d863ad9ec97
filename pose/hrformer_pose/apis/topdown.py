"""The top-down steps around the network, as mmpose's test pipeline and estimator do them,
so that keypoints equal `tools/test.py`'s: person box -> centre and scale (`GetBBoxCenterScale`
padding, the input's aspect ratio as `TopdownAffine` fixes it) -> affine crop; heatmaps ->
flip-test average -> keypoints (the config's codec) -> image coordinates; person score as
`CocoMetric` rescores (box score x mean of the keypoint scores above its threshold).

The settings are read from the config once (`TopdownSettings.of`), with mmpose's defaults
where the config leaves them out.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.structures.bbox import bbox_xyxy2cs, get_udp_warp_matrix, get_warp_matrix

from ..deploy import check_topdown_config

DEFAULT_PADDING = 1.25  # mmpose's GetBBoxCenterScale
DEFAULT_RESCORE_THR = 0.2  # mmpose's CocoMetric keypoint_score_thr
# What the inference reads of a config (the backbone and head build the network).


class BoxError(ValueError):
    """A person box that cannot be cropped; the message names it."""


def _pipeline_step(cfg: Config, kind: str) -> dict:
    pipeline = cfg.get("test_dataloader", {}).get("dataset", {}).get("pipeline", [])
    return next((dict(step) for step in pipeline if step.get("type") == kind), {})


def _rescore_threshold(cfg: Config) -> float:
    evaluators = cfg.get("test_evaluator", {})
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        if evaluator.get("type") == "CocoMetric":
            return float(evaluator.get("keypoint_score_thr", DEFAULT_RESCORE_THR))
    return DEFAULT_RESCORE_THR


@dataclass(frozen=True)
class TopdownSettings:
    """What the config says about the steps around the network."""
    input_size: tuple[int, int]  # (width, height), as mmpose writes it
    padding: float
    use_udp: bool
    mean: tuple[float, float, float]  # in the network's channel order
    std: tuple[float, float, float]
    rgb: bool  # the network takes RGB (else BGR)
    flip_test: bool
    flip_mode: str
    shift_heatmap: bool
    rescore_threshold: float

    @classmethod
    def of(cls, cfg: Config) -> "TopdownSettings":
        """The settings of a top-down pose config; another kind of config (a classification
        yaml, a bottom-up model) is a `ValueError` naming the file and the entry it lacks."""
        check_topdown_config(cfg)
        affine = _pipeline_step(cfg, "TopdownAffine")
        pre = cfg.model.data_preprocessor
        test = cfg.model.get("test_cfg", {})
        width, height = cfg.codec["input_size"]
        # mean / std apply after bgr_to_rgb's conversion: they are in the network's order.
        return cls(input_size=(int(width), int(height)),
                   padding=float(_pipeline_step(cfg, "GetBBoxCenterScale").get(
                       "padding", DEFAULT_PADDING)),
                   use_udp=bool(affine.get("use_udp", False)),
                   mean=tuple(float(v) for v in pre.mean), std=tuple(float(v) for v in pre.std),
                   rgb=bool(pre.get("bgr_to_rgb", False)),
                   flip_test=bool(test.get("flip_test", False)),
                   flip_mode=test.get("flip_mode", "heatmap"),
                   shift_heatmap=bool(test.get("shift_heatmap", False)),
                   rescore_threshold=_rescore_threshold(cfg))


def clipped_boxes(rows: np.ndarray, image_hw: tuple[int, int], source: str) -> np.ndarray:
    """(N, >=4) `x, y, w, h, ...` rows -> (N, 4) float32 `x1, y1, x2, y2` clipped to the image
    as mmpose's COCO datasets clip boxes (to [0, width - 1] x [0, height - 1]; a side of one
    pixel to [0, 1], so that the box of a 1-pixel-wide image keeps a width). A box that is
    not finite, has no width or height, or lies wholly outside the image is a `BoxError`
    naming it and `source`."""
    height, width = image_hw
    right, bottom = max(width - 1, 1), max(height - 1, 1)
    rows = np.asarray(rows, np.float32).reshape(-1, np.shape(rows)[-1])
    x, y, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    boxes = np.stack([np.clip(x, 0, right), np.clip(y, 0, bottom),
                      np.clip(x + w, 0, right), np.clip(y + h, 0, bottom)], axis=1)
    for row, box in zip(rows, boxes):
        problem = ("is not finite" if not np.isfinite(row[:4]).all()
                   else "has no width or height (expected w > 0 and h > 0)"
                   if row[2] <= 0 or row[3] <= 0
                   else f"lies outside the {width}x{height} image"
                   if box[2] <= box[0] or box[3] <= box[1] else None)
        if problem:
            shown = ", ".join(f"{v:g}" for v in row[:4])
            raise BoxError(f"{source}: box x,y,w,h = {shown} {problem}")
    return boxes.astype(np.float32)


def centers_and_scales(boxes_xyxy: np.ndarray, settings: TopdownSettings
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) centres and (N, 2) scales (w, h) of the regions to crop: the box enlarged by the
    padding, then widened or heightened to the input's aspect ratio."""
    centers, scales = bbox_xyxy2cs(boxes_xyxy, padding=settings.padding)
    width, height = settings.input_size
    aspect = width / height
    w, h = scales[:, :1], scales[:, 1:]
    scales = np.where(w > h * aspect, np.hstack([w, w / aspect]), np.hstack([h * aspect, h]))
    return centers, scales


def crop(image: np.ndarray, center: np.ndarray, scale: np.ndarray,
         settings: TopdownSettings) -> np.ndarray:
    """The input-sized uint8 crop of one region (bilinear, zeros outside the image)."""
    width, height = settings.input_size
    warp = get_udp_warp_matrix if settings.use_udp else get_warp_matrix
    matrix = warp(center, scale, 0.0, output_size=(width, height))
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR)


def network_input(crops: np.ndarray, settings: TopdownSettings, image_rgb: bool = True
                  ) -> torch.Tensor:
    """(N, H, W, 3) uint8 crops -> the normalised N x 3 x H x W float32 batch."""
    if image_rgb != settings.rgb:
        crops = crops[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    mean = torch.tensor(settings.mean).view(1, 3, 1, 1)
    std = torch.tensor(settings.std).view(1, 3, 1, 1)
    return (x - mean) / std


def average_flipped(heatmaps: torch.Tensor, flipped: torch.Tensor, flip_indices: list[int],
                    settings: TopdownSettings) -> torch.Tensor:
    """The flip test: the heatmaps of the mirrored crops mirrored back (left and right joints
    swapped, shifted as the config says) and averaged with the plain ones."""
    back = flip_heatmaps(flipped, flip_indices=flip_indices, flip_mode=settings.flip_mode,
                         shift_heatmap=settings.shift_heatmap)
    return (heatmaps + back) * 0.5


def to_image(keypoints: np.ndarray, centers: np.ndarray, scales: np.ndarray,
             settings: TopdownSettings) -> np.ndarray:
    """(N, K, 2) keypoints in input pixels -> image pixels (mmpose's TopdownPoseEstimator)."""
    size = np.array(settings.input_size, np.float32)
    return (keypoints / size * scales[:, None] + centers[:, None] - 0.5 * scales[:, None])


def person_scores(box_scores: np.ndarray, keypoint_scores: np.ndarray, threshold: float
                  ) -> np.ndarray:
    """CocoMetric's rescoring: box score x the mean of the keypoint scores above `threshold`
    (x 0 when none is)."""
    confident = keypoint_scores > threshold
    count = confident.sum(axis=1)
    mean = np.where(count > 0, (keypoint_scores * confident).sum(axis=1) / np.maximum(count, 1),
                    0.0)
    return box_scores * mean
