"""ImageNet data: folder and zip layouts, distributed samplers, timm transforms and mixup."""
from .build import build_loaders, build_mixup, detect_zip_layout, resolve_zip_mode
from .classes import folder_class_names, resolve_num_classes
from .datasets import CorruptImageError, DataLayoutError

__all__ = ["CorruptImageError", "DataLayoutError", "build_loaders", "build_mixup",
           "detect_zip_layout", "folder_class_names", "resolve_num_classes", "resolve_zip_mode"]
