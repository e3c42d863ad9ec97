"""Person detectors for top-down pose, chosen by a spec (`--det`):

- `none`: the whole image is one person (score 1);
- `torchvision:<name>`: a torchvision COCO detector (`torchvision_detector.py`);
- `yolox:<file.onnx>`: a published YOLOX ONNX file (`yolox_detector.py`);
- `boxes:<file.json>`: boxes from a file, by image name or COCO results
  (`box_file_detector.py`).

Every kind is called alike (`detector_base.PersonDetector`) and its boxes pass the same
limits (score threshold, minimum size, NMS, most people). Specs, files and settings are
checked when the detector is built.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .box_file_detector import BoxFileDetector
from .detector_base import (DEFAULT_MAX_PEOPLE, DEFAULT_MIN_SIZE, DEFAULT_NMS_IOU,
                            DEFAULT_SCORE_THR, DetectionLimits, DetectorError, PersonDetector,
                            WholeImageDetector)
from .torchvision_detector import TorchvisionDetector
from .yolox_detector import BACKENDS, YoloxDetector

KINDS = ("none", "torchvision", "yolox", "boxes")
SPEC_FORMS = "none, torchvision:<name>, yolox:<file.onnx> or boxes:<file.json>"


def _refuse_unused(kind: str, spec: str, **options: object) -> None:
    """An option given for a kind that does not use it is an error, not ignored."""
    used_by = {"checkpoint": ("torchvision", "--det-checkpoint"),
               "annotations": ("boxes", "--det-annotations"),
               "backend": ("yolox", "--det-backend")}
    for option, value in options.items():
        owner, flag = used_by[option]
        if value is not None and kind != owner:
            raise DetectorError(f"{option} ({flag}) is for {owner}: detectors; --det {spec!r} "
                                "does not use it")


def build_detector(spec: str, *, checkpoint: str | Path | None = None,
                   score_thr: float = DEFAULT_SCORE_THR, nms_iou: float = DEFAULT_NMS_IOU,
                   max_people: int = DEFAULT_MAX_PEOPLE, min_size: float = DEFAULT_MIN_SIZE,
                   backend: str | None = None, device: str = "cpu", threads: int | None = None,
                   annotations: str | Path | None = None) -> PersonDetector:
    """The detector of `spec` (see the module's docstring).

    `checkpoint`: torchvision weights instead of the default ones. `backend`: "onnxruntime"
    (default) or "openvino" for yolox. `device`: where a torchvision model runs (yolox runs on
    the CPU, with `threads`). `annotations`: the COCO annotation file of a COCO-results
    `boxes:` file. Raises `DetectorError` (or `FileNotFoundError`) naming the spec or file.
    """
    kind, _, target = spec.partition(":")
    if kind not in KINDS or (kind == "none") == bool(target):
        raise DetectorError(f"--det {spec!r}: expected {SPEC_FORMS}")
    _refuse_unused(kind, spec, checkpoint=checkpoint, annotations=annotations, backend=backend)
    limits = DetectionLimits(score_thr, nms_iou, max_people, min_size)
    if kind == "torchvision":
        return TorchvisionDetector(target, limits, checkpoint=checkpoint, device=device)
    if kind == "yolox":
        return YoloxDetector(target, limits, backend=backend or BACKENDS[0], threads=threads)
    if kind == "boxes":
        return BoxFileDetector(target, limits, annotations=annotations)
    return WholeImageDetector(limits)


def add_detector_args(parser: argparse.ArgumentParser) -> None:
    """The person detector's flags (`detector_from_args` builds from them)."""
    group = parser.add_argument_group("person detector")
    group.add_argument("--det", default="none", metavar="SPEC",
                       help=f"{SPEC_FORMS}; none: the whole image is one person "
                            "(default: %(default)s)")
    group.add_argument("--det-checkpoint", metavar="FILE",
                       help="torchvision: weights (a state dict) instead of the name's default "
                            "COCO weights, which torchvision downloads to its cache")
    group.add_argument("--det-annotations", metavar="FILE",
                       help="boxes: the COCO annotation file mapping the image_id of a COCO "
                            "results file to file names")
    group.add_argument("--det-backend", choices=BACKENDS,
                       help=f"yolox: the runtime (default: {BACKENDS[0]})")
    group.add_argument("--det-score-thr", type=float, default=DEFAULT_SCORE_THR, metavar="T",
                       help="keep boxes scoring at least this (default: %(default)s)")
    group.add_argument("--det-nms-iou", type=float, default=DEFAULT_NMS_IOU, metavar="IOU",
                       help="drop a box overlapping a better one by more than this IoU; 1 keeps "
                            "all (default: %(default)s)")
    group.add_argument("--max-people", type=int, default=DEFAULT_MAX_PEOPLE, metavar="N",
                       help="keep the best N boxes of an image (default: %(default)s)")
    group.add_argument("--min-box-size", type=float, default=DEFAULT_MIN_SIZE, metavar="PIXELS",
                       help="drop boxes narrower or lower than this many pixels "
                            "(default: %(default)s)")


def detector_keywords(args: argparse.Namespace) -> dict:
    """The `build_detector` keywords of the flags of `add_detector_args` (all but the spec)."""
    return dict(checkpoint=args.det_checkpoint, score_thr=args.det_score_thr,
                nms_iou=args.det_nms_iou, max_people=args.max_people, min_size=args.min_box_size,
                backend=args.det_backend, annotations=args.det_annotations)


def detector_from_args(args: argparse.Namespace, device: str = "cpu",
                       threads: int | None = None) -> PersonDetector:
    """`build_detector` from the flags of `add_detector_args`."""
    return build_detector(args.det, device=device, threads=threads, **detector_keywords(args))
