"""Inference from Python: `ClsInferencer` (images -> top-k classes) and the classifier of a
checkpoint as inference and export load it (`deploy`)."""
from .inferencer import ClsInferencer

__all__ = ["ClsInferencer"]
