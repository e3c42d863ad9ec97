"""Inference on images and videos: `PoseInferencer` (people and keypoints in an image),
`PoseTracker` (videos: detection every N frames, track ids), person detectors
(`detectors.py`), video frames in and out (`video.py`)."""
from .box_file_detector import BoxFileDetector, frame_key
from .detector_base import DetectionLimits, DetectorError, PersonDetector, WholeImageDetector
from .detectors import add_detector_args, build_detector, detector_from_args, detector_keywords
from .inferencer import Crops, PoseInferencer
from .topdown import BoxError
from .torchvision_detector import TORCHVISION_DETECTORS, TorchvisionDetector
from .tracking import IouTracker, PoseTracker
from .video import VideoError, VideoSink, VideoSource, is_video, is_webcam
from .yolox_detector import YoloxDetector

__all__ = ["BoxError", "BoxFileDetector", "Crops", "DetectionLimits", "DetectorError",
           "IouTracker", "PersonDetector", "PoseInferencer", "PoseTracker",
           "TORCHVISION_DETECTORS", "TorchvisionDetector", "VideoError", "VideoSink",
           "VideoSource", "WholeImageDetector", "YoloxDetector", "add_detector_args",
           "build_detector", "detector_from_args", "detector_keywords", "frame_key",
           "is_video", "is_webcam"]
