"""Confusion-matrix segmentation metrics."""
from .running_score import RunningScore

__all__ = ["RunningScore"]
