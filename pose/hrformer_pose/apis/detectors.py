"""Person detectors for top-down pose, chosen by a spec (`--det`):

- `none`: the whole image is one person (score 1);
- `torchvision:<name>`: a torchvision COCO detector (`torchvision_detector.py`);
- `yolox:<file.onnx>`: a published YOLOX ONNX file (`yolox_detector.py`);
- `boxes:<file.json>`: boxes from a file, by image name or COCO results
  (`box_file_detector.py`).

Every kind is called alike (`detector_base.PersonDetector`). A model's boxes pass the same
limits (score threshold, minimum size, NMS, most people); a box file's are taken as given,
but for the limits asked for explicitly. Specs, files and settings are checked when the
detector is built.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from hrformer_common.cli import positive_int

from .box_file_detector import BoxFileDetector
from .detector_base import (AS_GIVEN, DEFAULT_MAX_PEOPLE, DEFAULT_MIN_SIZE,
                            DEFAULT_NMS_IOU, DEFAULT_SCORE_THR, DetectionLimits, DetectorError,
                            PersonDetector, WholeImageDetector)
from .torchvision_detector import TorchvisionDetector
from .yolox_detector import BACKENDS, YoloxDetector

KINDS = ("none", "torchvision", "yolox", "boxes")
# The limits' flags: type, metavar, what they do, the default for models and for box files.
LIMIT_FLAGS = (
    ("--det-score-thr", float, "T", "keep boxes scoring at least this", DEFAULT_SCORE_THR,
     "none"),
    ("--det-nms-iou", float, "IOU", "drop a box overlapping a better one by more than this "
     "IoU; 1 keeps all", DEFAULT_NMS_IOU, "no NMS"),
    ("--max-people", positive_int, "N", "keep the best N boxes of an image",
     DEFAULT_MAX_PEOPLE, "all"),
    ("--min-box-size", float, "PIXELS", "drop boxes narrower or lower than this many pixels",
     DEFAULT_MIN_SIZE, 0.0))
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
                   score_thr: float | None = None, nms_iou: float | None = None,
                   max_people: int | None = None, min_size: float | None = None,
                   backend: str | None = None, device: str = "cpu", threads: int | None = None,
                   annotations: str | Path | None = None) -> PersonDetector:
    """The detector of `spec` (see the module's docstring).

    `score_thr`, `nms_iou`, `max_people`, `min_size`: the limits (`DetectionLimits`); None
    takes the kind's default: `DetectionLimits()`'s for models, none for a `boxes:` file
    (`AS_GIVEN`). `checkpoint`: torchvision weights instead of the default ones. `backend`:
    "onnxruntime" (default) or "openvino" for yolox. `device`: where a torchvision model runs
    (yolox runs on the CPU, with `threads`). `annotations`: the COCO annotation file of a
    COCO-results `boxes:` file. Raises `DetectorError` (or `FileNotFoundError`) naming the
    spec or file.
    """
    kind, _, target = spec.partition(":")
    if kind not in KINDS or (kind == "none") == bool(target):
        raise DetectorError(f"--det {spec!r}: expected {SPEC_FORMS}")
    _refuse_unused(kind, spec, checkpoint=checkpoint, annotations=annotations, backend=backend)
    given = dict(score_thr=score_thr, nms_iou=nms_iou, max_people=max_people, min_size=min_size)
    limits = dataclasses.replace(AS_GIVEN if kind == "boxes" else DetectionLimits(),
                                 **{k: v for k, v in given.items() if v is not None})
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
    for flag, kind, metavar, what, model_default, file_default in LIMIT_FLAGS:
        # default None: the kind's own (a box file is taken as given unless a limit is asked)
        group.add_argument(flag, type=kind, metavar=metavar,
                           help=f"{what} (default: {model_default}; boxes files: {file_default})")


def detector_keywords(args: argparse.Namespace) -> dict:
    """The `build_detector` keywords of the flags of `add_detector_args` (all but the spec)."""
    return dict(checkpoint=args.det_checkpoint, score_thr=args.det_score_thr,
                nms_iou=args.det_nms_iou, max_people=args.max_people, min_size=args.min_box_size,
                backend=args.det_backend, annotations=args.det_annotations)


def detector_from_args(args: argparse.Namespace, device: str = "cpu",
                       threads: int | None = None) -> PersonDetector:
    """`build_detector` from the flags of `add_detector_args`."""
    return build_detector(args.det, device=device, threads=threads, **detector_keywords(args))
