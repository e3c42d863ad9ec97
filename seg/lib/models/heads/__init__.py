"""Segmentation heads."""
from .ocr import ObjectContextBlock, SpatialGather, SpatialOCR, conv_bn_relu

__all__ = ["ObjectContextBlock", "SpatialGather", "SpatialOCR", "conv_bn_relu"]
