"""`yolox:<file.onnx>`: the YOLOX person detectors published as ONNX files (rtmlib's
`yolox_*_human`, mmpose deploy's `yolox-*_humanart`), under ONNX Runtime or OpenVINO.

The file decides the input size (its image input's fixed 1 x 3 x H x W) and which of the two
output conventions applies, checked when the detector is built (one run on a gray image):
- raw grid: one output 1 x N x (5 + classes), a row per anchor of the stride 8, 16 and 32
  grids (strides in order, each grid row by row): centre offsets from the anchor's cell and
  log width / height, in strides; objectness and class probabilities (already sigmoids).
  Decoded here; the person score is objectness x class 0.
- exported with NMS: 1 x K x 5 boxes (x1, y1, x2, y2, score) and, optionally, 1 x K labels
  (person = 0).
Images are letterboxed as these models were trained: BGR 0..255, resized keeping the aspect
ratio (bilinear), placed top-left on an H x W canvas of gray 114.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from hrformer_common.runners import make_runner

from .detector_base import DetectionLimits, DetectorError, PersonDetector

STRIDES = (8, 16, 32)
PAD_VALUE = 114
PERSON_CLASS = 0
BACKENDS = ("onnxruntime", "openvino")
RAW, WITH_NMS = "raw grid", "exported with NMS"
IMAGE_INPUT = "images"  # the published files' input name; else their only input

Outputs = dict[str, np.ndarray]


def letterbox(image: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """RGB uint8 H x W x 3 -> the model input (1 x 3 x H' x W' float32 BGR 0..255) and the
    scale from image pixels to input pixels."""
    import cv2
    height, width = input_hw
    ratio = min(height / image.shape[0], width / image.shape[1])
    # The side that sets the ratio fills the input exactly; the other is rounded down.
    new_h = height if ratio == height / image.shape[0] else max(1, int(image.shape[0] * ratio))
    new_w = width if ratio == width / image.shape[1] else max(1, int(image.shape[1] * ratio))
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    canvas = np.full((height, width, 3), PAD_VALUE, np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), ratio


def anchor_grid(input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) cell column and row, and (N,) stride, of each anchor in the raw output's order."""
    cells, strides = [], []
    for stride in STRIDES:
        rows, cols = np.mgrid[:input_hw[0] // stride, :input_hw[1] // stride]
        cells.append(np.stack([cols.ravel(), rows.ravel()], axis=1))
        strides.append(np.full(rows.size, stride))
    return np.concatenate(cells).astype(np.float64), np.concatenate(strides).astype(np.float64)


def decode_raw(predictions: np.ndarray, cells: np.ndarray, strides: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Raw rows (N, 5 + classes) -> (N, 4) x1, y1, x2, y2 in input pixels, (N,) person scores."""
    rows = predictions.astype(np.float64)
    centre = (rows[:, :2] + cells) * strides[:, None]
    with np.errstate(over="ignore"):  # a huge size becomes inf and is clipped to the image
        size = np.exp(rows[:, 2:4]) * strides[:, None]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    return boxes, rows[:, 4] * rows[:, 5 + PERSON_CLASS]


def already_decoded(rows: np.ndarray, cells: np.ndarray, strides: np.ndarray) -> bool:
    """Whether raw-shaped rows hold box centres in input pixels (a file exported with the
    decoding inside): their x column then follows the anchors' x positions."""
    x, anchor_x = rows[:, 0].astype(np.float64), cells[:, 0] * strides
    return bool(x.std() > 0 and np.corrcoef(x, anchor_x)[0, 1] > 0.9)


def output_convention(outputs: Outputs, cells: np.ndarray, strides: np.ndarray
                      ) -> tuple[str, str, str | None]:
    """(convention, name of the boxes output, name of the labels output or None) of a file's
    outputs, or a `DetectorError` saying what was expected."""
    shapes = {name: array.shape for name, array in outputs.items()}
    batch_one = {n: s for n, s in shapes.items() if len(s) >= 2 and s[0] == 1}
    boxes = [n for n, s in batch_one.items() if len(s) == 3 and s[2] == 5]
    anchors = len(strides)
    if len(shapes) == 1:
        name, shape = next(iter(shapes.items()))
        if name in batch_one and len(shape) == 3 and shape[1] == anchors and shape[2] >= 6:
            if already_decoded(outputs[name][0], cells, strides):
                raise DetectorError(
                    f"output {name} {list(shape)} holds decoded boxes (its x column follows the "
                    "anchor positions): export the file without the decoding (raw grid "
                    "predictions) or with NMS")
            return RAW, name, None
        if boxes:
            return WITH_NMS, name, None
    labels = [n for n, s in batch_one.items() if len(s) == 2]
    if len(shapes) == 2 and len(boxes) == 1 and len(labels) == 1 \
            and shapes[boxes[0]][1] == shapes[labels[0]][1]:
        return WITH_NMS, boxes[0], labels[0]
    found = ", ".join(f"{n} {list(s)}" for n, s in shapes.items())
    raise DetectorError(
        f"outputs {found} match neither YOLOX convention: raw predictions [1, {anchors}, "
        "5 + classes] (the stride 8/16/32 anchors of its input), or exported with NMS: boxes "
        "[1, K, 5] and optionally labels [1, K]")


def _fixed_size(dims: Sequence[int | None], path: Path) -> tuple[int, int]:
    """(H, W) of a 1 x 3 x H x W input with fixed sides."""
    dims = list(dims)
    if len(dims) != 4 or dims[1] != 3 or not all(isinstance(d, int) and d > 0 for d in dims[2:]):
        raise DetectorError(f"yolox:{path}: expected an image input 1 x 3 x H x W with fixed H "
                            f"and W (the input size is read from the file), got {dims}")
    return dims[2], dims[3]


def _image_input(names: Sequence[str], path: Path) -> str:
    if IMAGE_INPUT in names:
        return IMAGE_INPUT
    if len(names) != 1:
        raise DetectorError(f"yolox:{path}: inputs {list(names)}; expected one image input "
                            f"(named {IMAGE_INPUT!r} in the published files)")
    return names[0]


class YoloxDetector(PersonDetector):
    """A YOLOX ONNX file as a person detector (see the module's docstring)."""

    def __init__(self, path: str | Path, limits: DetectionLimits, *,
                 backend: str = "onnxruntime", threads: int | None = None) -> None:
        super().__init__(limits)
        self.path, self.backend = Path(path), backend
        if backend not in BACKENDS:
            raise DetectorError(f"yolox backend {backend!r}; expected one of {list(BACKENDS)}")
        if not self.path.is_file():
            raise FileNotFoundError(f"yolox: ONNX model not found: {self.path}")
        try:
            self.runner = make_runner(backend, "fp32", onnx_path=self.path, threads=threads)
        except Exception as err:  # the runtimes raise their own types; name the file
            raise DetectorError(f"yolox:{self.path}: {backend} cannot open it as an ONNX model: "
                                f"{str(err).strip().splitlines()[0]}") from err
        self.image_input = _image_input(self.runner.input_names, self.path)
        self.input_hw = _fixed_size(self.runner.input_dims[self.image_input], self.path)
        self.cells, self.strides = anchor_grid(self.input_hw)
        gray = np.full((*self.input_hw, 3), PAD_VALUE, np.uint8)
        try:
            self.convention, self.boxes_output, self.labels_output = output_convention(
                self.inference(self.preprocess(gray)[0]), self.cells, self.strides)
        except DetectorError as err:
            raise DetectorError(f"yolox:{self.path}: {err}") from None

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The letterboxed input and the image-to-input scale."""
        return letterbox(image, self.input_hw)

    def inference(self, x: np.ndarray) -> Outputs:
        outputs = self.runner({self.image_input: x})
        return {name: value.numpy() for name, value in outputs.items()}

    def postprocess(self, outputs: Outputs, ratio: float, image_hw: tuple[int, int]
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes x1, y1, x2, y2 in image pixels (clipped to it) and their scores."""
        rows = outputs[self.boxes_output][0]
        if self.convention == RAW:
            boxes, scores = decode_raw(rows, self.cells, self.strides)
        else:
            person = np.ones(len(rows), bool) if self.labels_output is None \
                else outputs[self.labels_output][0] == PERSON_CLASS
            boxes, scores = rows[person, :4].astype(np.float64), rows[person, 4]
        boxes = boxes / ratio
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, image_hw[1])
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, image_hw[0])
        return boxes, scores

    def person_boxes(self, image: np.ndarray, key: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        x, ratio = self.preprocess(image)
        return self.postprocess(self.inference(x), ratio, image.shape[:2])

    def describe(self) -> str:
        height, width = self.input_hw
        return f"yolox {self.path.name} ({self.backend}, input {height}x{width}, {self.convention})"
