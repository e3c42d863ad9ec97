"""Whole segmentation networks (backbone + head)."""
from .hrt_ocr import HRTOCR

__all__ = ["HRTOCR"]
