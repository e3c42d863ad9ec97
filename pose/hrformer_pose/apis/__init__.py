"""Inference on images and videos: person detectors for top-down pose (`detectors.py`)."""
from .box_file_detector import BoxFileDetector, frame_key
from .detector_base import DetectionLimits, DetectorError, PersonDetector, WholeImageDetector
from .detectors import add_detector_args, build_detector, detector_from_args
from .torchvision_detector import TORCHVISION_DETECTORS, TorchvisionDetector
from .yolox_detector import YoloxDetector

__all__ = ["BoxFileDetector", "DetectionLimits", "DetectorError", "PersonDetector",
           "TORCHVISION_DETECTORS", "TorchvisionDetector", "WholeImageDetector",
           "YoloxDetector", "add_detector_args", "build_detector", "detector_from_args",
           "frame_key"]
