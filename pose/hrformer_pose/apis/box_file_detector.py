"""`boxes:<file.json>`: person boxes read from a file instead of a model.

Two formats:
- by name: `{"name.jpg": [[x, y, w, h, score], ...], "walk.mp4:12": [...], ...}`; a video
  frame's key is `frame_key(video, index)`: the video's file name, a colon, the frame index
  (from 0). `[]` says an image has no person.
- COCO detection results: `[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]`
  (person: category 1) with the COCO annotation file (`"images": [{"id", "file_name"}]`)
  that maps ids to names; an image of the annotations without results has no person.
An image is looked up by its key, else by the key's file name (its last path part), else
by the file name of an entry (when only one entry has it). Every entry is checked when the
file is read (numbers that float32 holds, w and h >= 0, a score in [0, 1]); an image the file
does not list is an error naming both. The boxes are taken as given: no score threshold, NMS
or cut unless their limits are asked for (`detectors.build_detector`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path, PurePath
from typing import Any, Iterable

import numpy as np

from .detector_base import (BOX_COLUMNS, DetectionLimits, DetectorError, PersonDetector,
                            xywh_to_xyxy)

COCO_PERSON = 1
FLOAT32_MAX = float(np.finfo(np.float32).max)
_SHOWN_KEYS = 3


def frame_key(video: str | Path, index: int) -> str:
    """The key of frame `index` (from 0) of a video: 'walk.mp4:12'."""
    return f"{PurePath(video).name}:{int(index)}"


def _box_row(value: Any, where: str) -> list[float]:
    """[x, y, w, h, score]: numbers that float32 holds (boxes are cropped in float32), w and
    h >= 0, a score in [0, 1]."""
    ok = isinstance(value, list) and len(value) == BOX_COLUMNS and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        and abs(v) <= FLOAT32_MAX for v in value) \
        and value[2] >= 0 and value[3] >= 0 and 0 <= value[4] <= 1
    if not ok:
        raise DetectorError(f"{where}: expected [x, y, w, h, score] (5 finite float32 numbers, "
                            f"w and h >= 0, score in [0, 1]), got {json.dumps(value)[:80]}")
    return [float(v) for v in value]


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}" + (" (it is a folder)"
                                                               if path.is_dir() else ""))
    try:  # utf-8-sig: also a file saved with a byte-order mark (Windows editors)
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DetectorError(f"{path}: not a JSON file ({err})") from err


def boxes_by_name(content: dict, path: Path) -> dict[str, np.ndarray]:
    """The by-name format, checked entry by entry."""
    boxes = {}
    for name, rows in content.items():
        if not isinstance(rows, list):
            raise DetectorError(f"{path}: {name!r}: expected a list of [x, y, w, h, score] "
                                f"boxes, got {type(rows).__name__}")
        boxes[name] = np.array([_box_row(row, f"{path}: {name!r}[{i}]")
                                for i, row in enumerate(rows)], np.float64).reshape(-1, 5)
    return boxes


def image_names(annotations: str | Path) -> dict[int, str]:
    """image id -> file name, from a COCO annotation file."""
    path = Path(annotations)
    content = _read_json(path, "COCO annotation file")
    images = content.get("images") if isinstance(content, dict) else None
    if not isinstance(images, list):
        raise DetectorError(f"{path}: expected a COCO annotation file with an \"images\" list")
    names = {}
    for i, image in enumerate(images):
        if not (isinstance(image, dict) and isinstance(image.get("id"), int)
                and isinstance(image.get("file_name"), str)):
            raise DetectorError(f"{path}: images[{i}]: expected {{\"id\": int, \"file_name\": "
                                f"str, ...}}, got {json.dumps(image)[:80]}")
        names[image["id"]] = image["file_name"]
    return names


def boxes_of_coco_results(results: list, path: Path, annotations: str | Path
                          ) -> dict[str, np.ndarray]:
    """The COCO results format: person results per file name (every annotated image)."""
    names = image_names(annotations)
    rows: dict[str, list] = {name: [] for name in names.values()}
    for i, result in enumerate(results):
        where = f"{path}: [{i}]"
        if not (isinstance(result, dict) and {"image_id", "category_id", "bbox", "score"}
                <= result.keys()):
            raise DetectorError(f"{where}: expected {{\"image_id\", \"category_id\", \"bbox\": "
                                f"[x, y, w, h], \"score\"}}, got {json.dumps(result)[:80]}")
        if result["image_id"] not in names:
            raise DetectorError(f"{where}: image_id {result['image_id']!r} is not in the "
                                f"annotation file {annotations}")
        bbox = result["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise DetectorError(f"{where}: bbox: expected [x, y, w, h], got "
                                f"{json.dumps(bbox)[:80]}")
        row = _box_row([*bbox, result["score"]], where)
        if result["category_id"] == COCO_PERSON:
            rows[names[result["image_id"]]].append(row)
    return {name: np.array(r, np.float64).reshape(-1, 5) for name, r in rows.items()}


class BoxFileDetector(PersonDetector):
    """Boxes per image name from a JSON file (see the module's docstring)."""

    def __init__(self, path: str | Path, limits: DetectionLimits, *,
                 annotations: str | Path | None = None) -> None:
        super().__init__(limits)
        self.path = Path(path)
        content = _read_json(self.path, "boxes file")
        if isinstance(content, dict):
            if annotations is not None:
                raise DetectorError(f"{self.path} holds boxes by image name; the annotation "
                                    f"file {annotations} is for COCO results (a list) only")
            self.boxes = boxes_by_name(content, self.path)
        elif isinstance(content, list):
            if annotations is None:
                raise DetectorError(f"{self.path} is in the COCO results format (a list); give "
                                    "the COCO annotation file that maps its image_id to file "
                                    "names (--det-annotations)")
            self.boxes = boxes_of_coco_results(content, self.path, annotations)
        else:
            raise DetectorError(f"{self.path}: expected {{\"name.jpg\": [[x, y, w, h, score], "
                                f"...]}} or a COCO results list, got {type(content).__name__}")
        if not self.boxes:
            raise DetectorError(f"{self.path}: no images in it")
        by_file_name: dict[str, list[str]] = {}
        for name in self.boxes:
            by_file_name.setdefault(PurePath(name).name, []).append(name)
        self._unique_file_names = {k: v[0] for k, v in by_file_name.items() if len(v) == 1}

    def _entry(self, key: str) -> str | None:
        """The file's name for an image (see the module's docstring for the lookup)."""
        file_name = PurePath(key).name
        return next((n for n in (key, file_name) if n in self.boxes),
                    self._unique_file_names.get(file_name))

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The images of `keys` the file has no entry for (to check before any work)."""
        return [key for key in keys if self._entry(key) is None]

    def boxes_of(self, key: str | None) -> np.ndarray:
        """The file's (N, 5) rows for an image (see the module's docstring for the lookup)."""
        if key is None:
            raise DetectorError(f"boxes:{self.path}: the detector needs each image's name")
        name = self._entry(key)
        if name is None:
            shown = ", ".join(repr(k) for k in list(self.boxes)[:_SHOWN_KEYS])
            raise DetectorError(f"{self.path} has no boxes for image {key!r} (its "
                                f"{len(self.boxes)} entries are named like {shown})")
        return self.boxes[name]

    def person_boxes(self, image: np.ndarray, key: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        rows = self.boxes_of(key)
        return xywh_to_xyxy(rows[:, :4]), rows[:, 4]

    def describe(self) -> str:
        return f"boxes {self.path} ({len(self.boxes)} images)"
