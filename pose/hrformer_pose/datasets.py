"""mmpose's CocoDataset, with malformed annotations named instead of crashing later."""
from __future__ import annotations

import logging

from mmengine.logging import print_log
from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

from .dataset_info import keypoint_names


class AnnotationError(ValueError):
    """An annotation of a COCO keypoint file has the wrong shape."""


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """CocoDataset whose malformed annotations are errors naming the file and the id.

    mmpose skips annotations without `bbox` or `keypoints` (its convention, kept); how many
    were skipped is logged. A category naming another number of keypoints than the dataset's
    metainfo (a file of another dataset, or a config whose metainfo was not set), a
    `keypoints` list of the wrong length (mmpose fails in `torch.stack`, naming nothing) or a
    `bbox` without 4 numbers is an error.
    """

    def _load_annotations(self):
        self._skipped = 0
        self._checked_categories: set = set()
        instances, images = super()._load_annotations()
        if self._skipped:
            print_log(f"{self.ann_file}: skipped {self._skipped} annotations without 'bbox' or "
                      "'keypoints' (mmpose's convention)", logger="current",
                      level=logging.WARNING)
        return instances, images

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann = raw_data_info["raw_ann_info"]
        if "bbox" not in ann or "keypoints" not in ann:
            self._skipped += 1
            return None
        self._check_category(ann.get("category_id"))
        expected = 3 * self.metainfo["num_keypoints"]
        where = f"{self.ann_file}: annotation id {ann.get('id')} (image {ann.get('image_id')})"
        if len(ann["keypoints"]) != expected:
            raise AnnotationError(f"{where} has {len(ann['keypoints'])} keypoint values; expected "
                                  f"{expected} ({expected // 3} keypoints x (x, y, visibility))")
        if len(ann["bbox"]) != 4:
            raise AnnotationError(f"{where}: bbox {ann['bbox']} is not [x, y, width, height]")
        return super().parse_data_info(raw_data_info)

    def _check_category(self, category_id) -> None:
        """The keypoint names of an annotation's category (`categories[].keypoints`) are as
        many as the metainfo's (once per category)."""
        if category_id in self._checked_categories:
            return
        category = self.coco.cats.get(category_id, {})
        names = category.get("keypoints")
        ours = keypoint_names(self.metainfo)
        if names is not None and len(names) != len(ours):
            raise AnnotationError(
                f"{self.ann_file}: category {category.get('name')!r} (id {category_id}) has "
                f"{len(names)} keypoints ({', '.join(map(str, names[:5]))}, ...); expected the "
                f"{len(ours)} of the dataset's metainfo, {self.metainfo['dataset_name']!r} "
                f"({', '.join(ours[:5])}, ...): set the config's metainfo and "
                "model.head.out_channels to this file's keypoints")
        self._checked_categories.add(category_id)
