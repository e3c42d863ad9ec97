"""Converters from the official dataset downloads to openseg's prepared layout."""
from __future__ import annotations

from . import ade20k, cityscapes, coco_stuff, pascal_context

DATASETS = {"cityscapes": cityscapes, "ade20k": ade20k, "coco_stuff": coco_stuff,
            "pascal_context": pascal_context}
