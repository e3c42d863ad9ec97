"""The original's random box shift, scale and rotation, on mmpose 1.x's `RandomBBoxTransform`.

mmpose 1.x draws shift, scale and rotation from a normal truncated at one sigma. The original
(mmpose 0.x) drew them differently, which changes the augmentation range:
- scale: `clip(N(1, s), 1 - s, 1 + s)` (clipped, so about 32% of the samples sit on the bounds);
- rotation: `clip(N(0, r), -2r, 2r)` degrees with probability `rotate_prob`, else 0;
- centre shift: `0.4 * (U[0, 1) - 0.5)` times the box size with probability 0.3 (the original
  applied it once, when the dataset was built; here it is redrawn per sample).
"""
from __future__ import annotations

import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmpose.datasets.transforms import RandomBBoxTransform
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class OriginalRandomBBoxTransform(RandomBBoxTransform):
    """`RandomBBoxTransform` with the original's distributions (see the module docstring).

    Args:
        shift_factor: half-width of the uniform shift, as a fraction of the box scale.
        shift_prob: probability of shifting.
        scale_factor: `s` above (a single float, the original's `scale_factor`).
        rotate_factor: `r` above, in degrees.
        rotate_prob: probability of rotating.
    """

    def __init__(self, shift_factor: float = 0.16, shift_prob: float = 0.3,
                 scale_factor: float = 0.5, rotate_factor: float = 40.0,
                 rotate_prob: float = 0.6) -> None:
        if not 0 <= scale_factor < 1:
            raise ValueError(f"OriginalRandomBBoxTransform: scale_factor={scale_factor!r}, "
                             "expected a float in [0, 1)")
        super().__init__(shift_factor=shift_factor, shift_prob=shift_prob,
                         scale_factor=(1 - scale_factor, 1 + scale_factor), scale_prob=1.0,
                         rotate_factor=rotate_factor, rotate_prob=rotate_prob)

    @cache_randomness
    def _get_transform_params(self, num_bboxes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        offset = (np.random.rand(num_bboxes, 2) - 0.5) * 2 * self.shift_factor
        offset = np.where(np.random.rand(num_bboxes, 1) < self.shift_prob, offset, 0.0)
        low, high = self.scale_factor
        sigma = (high - low) / 2
        scale = np.clip(np.random.randn(num_bboxes, 1) * sigma + 1, low, high)
        rotate = np.clip(np.random.randn(num_bboxes) * self.rotate_factor,
                         -2 * self.rotate_factor, 2 * self.rotate_factor)
        rotate = np.where(np.random.rand(num_bboxes) < self.rotate_prob, rotate, 0.0)
        return (offset.astype(np.float32), scale.astype(np.float32),
                rotate.astype(np.float32))
