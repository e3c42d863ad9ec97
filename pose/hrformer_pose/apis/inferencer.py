"""`PoseInferencer`: people and their keypoints in an image, from a config + pose checkpoint.

    pose = PoseInferencer("configs/hrformer/coco/hrt_small_coco_256x192.py",
                          "hrt_small_coco_256x192.pth",
                          det="torchvision:fasterrcnn_resnet50_fpn_v2")
    people = pose("photo.jpg")     # or an RGB uint8 array
    pose = PoseInferencer("hrt_small_coco_256x192")   # mmpose's weights, downloaded once

A person is `{"bbox": [x, y, w, h], "bbox_score": s, "keypoints": [[x, y, score] x K],
"score": s}` in image pixels (`PoseTracker` adds `"track_id"` on videos). One call is
`preprocess` (read the image, detect people, crop each box), `forward` (the crops of the image
through the network runner in batches of at most `batch_size`; with the flip test the mirrored
crops join each batch), `postprocess` (decode, back to image pixels, person score). The
steps are mmpose's (`topdown.py`), so keypoints equal `tools/test.py`'s for the same boxes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from mmengine.config import Config

from hrformer_common.images import read_image
from hrformer_common.runners import check_choice, make_runner

from ..deploy import OUTPUT_NAMES, inference_model, input_size
from ..model_zoo import resolve_model
from .detector_base import PersonDetector, check_image
from .detectors import build_detector
from .drawing import draw_people
from .topdown import (TopdownSettings, average_flipped, centers_and_scales, clipped_boxes, crop,
                      network_input, person_scores, to_image)
from .yolox_detector import BACKENDS as YOLOX_BACKENDS

DEFAULT_BATCH_SIZE = 32  # crops per network call: the memory of one call stays bounded
Person = dict[str, Any]
Image = str | Path | np.ndarray


@dataclass
class Crops:
    """One image's people as the network takes them."""
    image: np.ndarray  # RGB uint8 H x W x 3 (read from the file when given one)
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2, clipped to the image
    box_scores: np.ndarray  # (N,)
    centers: np.ndarray  # (N, 2) of the cropped regions
    scales: np.ndarray  # (N, 2) their width and height
    inputs: torch.Tensor  # N x 3 x H x W, normalised


def detector_options(spec: str, backend: str, device: str, threads: int | None,
                     given: Mapping[str, Any] | None) -> dict[str, Any]:
    """`build_detector` keywords: the caller's, plus the pose network's runtime for a YOLOX
    detector (which runs on ONNX Runtime or OpenVINO) unless the caller chose one."""
    options = {"device": device, "threads": threads, **(given or {})}
    if spec.startswith("yolox:") and options.get("backend") is None \
            and backend in YOLOX_BACKENDS:
        options["backend"] = backend
    return options


class PoseInferencer:
    """Top-down pose of every person in an image (see the module's docstring).

    `model`: an mmengine config (file or `Config`) or a model-zoo name (`model_zoo.py`, e.g.
    "hrt_small_coco_256x192": its config, and its weights downloaded once); `checkpoint`: the
    pose weights, a file or an http(s) URL (None keeps the layers' initial weights, for
    benchmarks, or takes a zoo name's). The keypoints (their number, names, skeleton and
    left/right pairs) are the checkpoint's dataset meta, else the config's metainfo. `det`: a
    detector spec (`none`, `torchvision:<name>`, `yolox:<file.onnx>`, `boxes:<file.json>`;
    see `detectors.py`) or a built `PersonDetector`; `det_options`: more
    `build_detector` keywords (limits, checkpoint, ...). `backend` / `precision`: where the
    pose network runs (`torch`, `onnxruntime`, `openvino`; `fp32`, `bf16`), from `onnx` when
    given (its model card is checked against the checkpoint), else exported first; a YOLOX
    detector runs on the same runtime. `flip_test`: the config's `test_cfg` when None.
    `threads` (torch's count is process-wide), `device` (torch only), `compile` (torch only).
    `batch_size`: the most crops per network call (and as many mirrored ones with the flip
    test), so that memory stays bounded however many people an image has.
    """

    def __init__(self, model: str | Path | Config, checkpoint: str | Path | None = None, *,
                 det: str | PersonDetector = "none",
                 det_options: Mapping[str, Any] | None = None, flip_test: bool | None = None,
                 backend: str = "torch", precision: str = "fp32",
                 onnx: str | Path | None = None, threads: int | None = None,
                 device: str = "cpu", compile: bool = False,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        check_choice(backend, precision, device, onnx, threads)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size = {batch_size!r}; expected an integer >= 1")
        self.batch_size = batch_size
        if compile and backend != "torch":
            raise ValueError(f"compile applies to backend torch only, not {backend}")
        if threads:
            torch.set_num_threads(threads)
        cfg, checkpoint = resolve_model(model, checkpoint)
        self.settings = TopdownSettings.of(cfg)
        self.flip_test = self.settings.flip_test if flip_test is None else bool(flip_test)
        self.detector = det if isinstance(det, PersonDetector) else build_detector(
            det, **detector_options(det, backend, device, threads, det_options))
        net, card = inference_model(cfg, checkpoint, device=device)
        self.dataset_meta: dict = net.estimator.dataset_meta
        self.decoder = net.estimator.head.decoder
        # Without `onnx` the runtimes get the network exported at the input size (fixed
        # height and width: faster than a dynamic export, which pads windows at run time).
        self.runner = make_runner(backend, precision, model=net, onnx_path=onnx,
                                  output_names=OUTPUT_NAMES, compile=compile, threads=threads,
                                  export_size=input_size(cfg), card=card)

    def describe(self) -> str:
        """What runs, for logs."""
        flip = "on" if self.flip_test else "off"
        return (f"pose network: {self.runner.describe()}, flip test {flip}; person detector: "
                f"{self.detector.describe()}")

    def __call__(self, image: Image, key: str | None = None,
                 boxes: np.ndarray | None = None) -> list[Person]:
        """The people of `image` (a file or an RGB uint8 array). `key`: its name for a
        `boxes:` detector (default: the file's path). `boxes`: (N, 4) `x, y, w, h` person
        boxes (or (N, 5) with scores) instead of the detector's."""
        crops = self.preprocess(image, key, boxes)
        return self.postprocess(crops, self.forward(crops))

    def preprocess(self, image: Image, key: str | None = None,
                   boxes: np.ndarray | None = None) -> Crops:
        """Read the image, find its people (`boxes`, else the detector) and crop each."""
        if isinstance(image, (str, Path)):
            key = str(image) if key is None else key
            image = read_image(image)
        check_image(image, key)
        if boxes is None:
            rows = self.detector(image, key)
        else:
            rows = np.asarray(boxes, np.float32)
            if rows.ndim != 2 or rows.shape[1] not in (4, 5):
                raise ValueError(f"boxes of {key or 'the image'}: expected (N, 4) x, y, w, h "
                                 f"rows or (N, 5) with scores, got shape {rows.shape}")
        scores = rows[:, 4] if rows.shape[1] == 5 else np.ones(len(rows), np.float32)
        xyxy = clipped_boxes(rows, image.shape[:2], f"image {key or '(array)'}")
        centers, scales = centers_and_scales(xyxy, self.settings)
        width, height = self.settings.input_size
        pixels = np.stack([crop(image, c, s, self.settings) for c, s in zip(centers, scales)]) \
            if len(xyxy) else np.zeros((0, height, width, 3), np.uint8)
        return Crops(image, xyxy, scores.astype(np.float32), centers, scales,
                     network_input(pixels, self.settings))

    def forward(self, crops: Crops) -> torch.Tensor:
        """N x K x h x w heatmaps of the crops: one runner call per `batch_size` of them (with
        the flip test, their mirror images in the same call)."""
        if len(crops.inputs) == 0:
            return torch.zeros(0)
        return torch.cat([self._heatmaps(x) for x in crops.inputs.split(self.batch_size)])

    def _heatmaps(self, x: torch.Tensor) -> torch.Tensor:
        if not self.flip_test:
            return self.runner(x)["heatmaps"].cpu()
        count = len(x)
        heatmaps = self.runner(torch.cat([x, x.flip(-1)]))["heatmaps"].cpu()
        return average_flipped(heatmaps[:count], heatmaps[count:],
                               self.dataset_meta["flip_indices"], self.settings)

    def postprocess(self, crops: Crops, heatmaps: torch.Tensor) -> list[Person]:
        """Keypoints in image pixels (the config's codec), scores, boxes as x, y, w, h."""
        if len(crops.boxes) == 0:
            return []
        decoded = [self.decoder.decode(h) for h in heatmaps.numpy()]
        keypoints = np.concatenate([k for k, _ in decoded]).astype(np.float32)
        scores = np.concatenate([s for _, s in decoded]).astype(np.float32)
        keypoints = to_image(keypoints, crops.centers, crops.scales, self.settings)
        person = person_scores(crops.box_scores, scores, self.settings.rescore_threshold)
        people = []
        for i, (x1, y1, x2, y2) in enumerate(crops.boxes.tolist()):
            people.append({
                "bbox": [x1, y1, x2 - x1, y2 - y1], "bbox_score": float(crops.box_scores[i]),
                "keypoints": [[float(x), float(y), float(s)]
                              for (x, y), s in zip(keypoints[i], scores[i])],
                "score": float(person[i])})
        return people

    def visualize(self, image: np.ndarray, people: list[Person], kpt_thr: float = 0.3
                  ) -> np.ndarray:
        """A copy of the RGB image with the people's boxes and skeletons drawn."""
        return draw_people(image, people, self.dataset_meta, kpt_thr)
