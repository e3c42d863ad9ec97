"""Keypoint dataset metainfo (mmpose's dataset-info files) checked before any work.

A dataset's keypoints are described by its `metainfo`: `dict(from_file=...)` naming an mmpose
dataset-info file (`dataset_info = dict(dataset_name, keypoint_info, skeleton_info,
joint_weights, sigmas)`), the same dict inline, or, without one, the dataset class's own
(COCO's 17 for CocoDataset). mmpose reads a skeleton link or a left/right pair naming an
unknown keypoint as a bare `KeyError`, and a sigma list of another length only fails in the
evaluation, after training; `check_dataset_info` names the file and the entry instead.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import mmpose
from mmengine.config import Config

REQUIRED = ("dataset_name", "keypoint_info", "skeleton_info", "joint_weights", "sigmas")


class DatasetInfoError(ValueError):
    """A dataset-info file (or inline metainfo) that mmpose would misread or fail on later."""


def resolve_info_file(path: str) -> Path:
    """The dataset-info file of `from_file`: the path (relative to the working directory),
    else a file of that name among mmpose's own (`configs/_base_/datasets/`), as mmpose
    finds them."""
    if os.path.isfile(path):
        return Path(os.path.normpath(path))
    bundled = Path(mmpose.__file__).parent / ".mim" / "configs" / "_base_" / "datasets" / \
        Path(path).name
    if bundled.is_file():
        return bundled
    raise DatasetInfoError(f"metainfo from_file={path!r}: no such file (a relative path starts "
                           f"from the working directory, {os.getcwd()})")


def load_dataset_info(metainfo: Mapping[str, Any]) -> tuple[dict, str]:
    """The raw dataset info of a dataset's `metainfo` and where it comes from (for errors)."""
    if "from_file" not in metainfo:
        return dict(metainfo), "the inline metainfo"
    path = resolve_info_file(str(metainfo["from_file"]))
    info = Config.fromfile(str(path)).get("dataset_info")
    if info is None:
        raise DatasetInfoError(f"{path}: no `dataset_info = dict(...)`, which an mmpose "
                               "dataset-info file defines")
    return info.to_dict(), str(path)


def keypoint_names(dataset_meta: Mapping[str, Any]) -> list[str]:
    """The keypoint names of mmpose's parsed dataset meta (`dataset.metainfo`, a model's
    `dataset_meta`), in heatmap-channel order."""
    names = dataset_meta["keypoint_id2name"]
    return [str(names[i]) for i in range(dataset_meta["num_keypoints"])]


def _names(items: list[str]) -> str:
    return ", ".join(items[:8]) + (", ..." if len(items) > 8 else "")


def check_dataset_info(info: Mapping[str, Any], source: str) -> list[str]:
    """The keypoint names of a dataset info, in id order; an error naming `source` and the
    entry when a field is missing, the ids are not 0..K-1, a name repeats, a left/right pair
    (`swap`) or a skeleton link names an unknown keypoint, a pair is one-sided, or the sigmas
    or joint weights are not one per keypoint."""
    missing = [key for key in REQUIRED if key not in info]
    if missing:
        raise DatasetInfoError(f"{source}: dataset_info lacks {', '.join(missing)} (mmpose's "
                               f"dataset-info format: {', '.join(REQUIRED)})")
    keypoints = info["keypoint_info"]
    ids = sorted(keypoints)
    if ids != list(range(len(ids))):
        raise DatasetInfoError(f"{source}: keypoint_info ids are {ids[:10]}; expected 0..K-1 "
                               "(the heatmap channel of each keypoint)")
    names = [str(keypoints[i]["name"]) for i in ids]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DatasetInfoError(f"{source}: keypoint_info names {', '.join(repeated)} twice")
    swaps = {name: str(keypoints[i].get("swap") or "") for i, name in zip(ids, names)}
    for name, other in swaps.items():
        if other and other not in swaps:
            raise DatasetInfoError(f"{source}: keypoint {name!r} swaps with {other!r}, which is "
                                   f"not a keypoint of keypoint_info ({_names(names)})")
        if other and swaps[other] != name:
            theirs = repr(swaps[other]) if swaps[other] else "nothing"
            raise DatasetInfoError(f"{source}: keypoint {name!r} swaps with {other!r}, but "
                                   f"{other!r} swaps with {theirs}: left/right pairs must "
                                   "name each other")
    for index, link in info["skeleton_info"].items():
        ends = list(link.get("link", ()))
        unknown = [end for end in ends if end not in swaps]
        if len(ends) != 2 or unknown:
            problem = f"names {unknown[0]!r}, not a keypoint" if unknown else "is no pair"
            raise DatasetInfoError(f"{source}: skeleton_info[{index}] link {ends} {problem}; "
                                   f"expected two of keypoint_info ({_names(names)})")
    for key in ("sigmas", "joint_weights"):
        if len(info[key]) != len(names):
            raise DatasetInfoError(f"{source}: {len(info[key])} {key} for {len(names)} "
                                   "keypoints; expected one per keypoint")
    return names
