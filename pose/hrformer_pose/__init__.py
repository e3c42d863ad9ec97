"""HRFormer for mmpose 1.x.

Importing this package first applies the environment fixes in `compat` (before anything
imports `mmpose.models`), then registers the `HRT` backbone in mmpose's MODELS registry.
Configs load it with `custom_imports = dict(imports=['hrformer_pose'],
allow_failed_imports=False)`; scripts should import it before `mmpose.apis`.
"""
from .compat import apply_compat_fixes

apply_compat_fixes()

from .amp import AutocastOptimWrapper  # noqa: E402  (registers the bf16 wrapper)
from .backbone import HRT  # noqa: E402  (registers `HRT`)
from .checkpoint_keys import convert_official_state_dict, to_official_state_dict  # noqa: E402
from . import checkpoints  # noqa: E402,F401  (registers safe loading, the atomic backend)
from .datasets import CheckedCocoDataset  # noqa: E402  (registers the dataset)
from .device import CPUDistributedDataParallel  # noqa: E402  (registers the wrapper)
from .hooks import (AtomicCheckpointHook, ResumeRandomnessHook,  # noqa: E402  (registers)
                    StopOnNonFiniteLossHook)
from .transforms import OriginalRandomBBoxTransform  # noqa: E402  (registers the transform)

__all__ = ["AtomicCheckpointHook", "AutocastOptimWrapper", "CPUDistributedDataParallel",
           "CheckedCocoDataset", "HRT", "OriginalRandomBBoxTransform", "ResumeRandomnessHook",
           "StopOnNonFiniteLossHook", "apply_compat_fixes", "convert_official_state_dict",
           "to_official_state_dict"]
