"""ImageNet data: folder and zip layouts, distributed samplers, timm transforms and mixup."""
from .build import build_loaders, build_mixup, detect_zip_layout, resolve_zip_mode
from .datasets import CorruptImageError, DataLayoutError

__all__ = ["CorruptImageError", "DataLayoutError", "build_loaders", "build_mixup",
           "detect_zip_layout", "resolve_zip_mode"]
