"""Inference from Python: `SegInferencer` (images -> label maps of raw ids, logits, overlays)
and the segmentor of a checkpoint as inference and export load it (`deploy`)."""
from .inferencer import SegInferencer

__all__ = ["SegInferencer"]
