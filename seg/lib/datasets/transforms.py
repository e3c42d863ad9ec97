"""The original's train/val augmentations on uint8 HxWx3 images and uint8 label maps
(255 = ignore), applied in the config's `trans_seq` order."""
from __future__ import annotations

import math
import random
from typing import Callable, Mapping

import numpy as np
import torch
from PIL import Image

Sample = tuple[np.ndarray, np.ndarray | None]


def resize_pair(image: np.ndarray, label: np.ndarray | None, size: tuple[int, int]) -> Sample:
    """Resize to (w, h): bicubic image, nearest label."""
    image = np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC))
    if label is not None:
        label = np.asarray(Image.fromarray(label).resize(size, Image.NEAREST))
    return image, label


def _applies(params: Mapping) -> bool:
    return random.random() <= params.get("ratio", 1.0)


def random_hflip(image, label, params):
    if not _applies(params):
        return image, label
    return image[:, ::-1].copy(), None if label is None else label[:, ::-1].copy()


def resize_short_side(image, label, params):
    """Scale so the shorter side equals `min_side_length`."""
    h, w = image.shape[:2]
    scale = params["min_side_length"] / min(h, w)
    return resize_pair(image, label, (round(w * scale), round(h * scale)))


def random_resize(image, label, params):
    if not _applies(params):
        return image, label
    if params.get("method", "random") != "random":
        raise ValueError(f"random_resize.method={params['method']!r}; only 'random' is supported")
    scale = random.uniform(*params["scale_range"])
    aspect = random.uniform(*params.get("aspect_range", [1.0, 1.0]))
    h, w = image.shape[:2]
    size = (int(w * math.sqrt(aspect) * scale), int(h * scale / math.sqrt(aspect)))
    return resize_pair(image, label, size)


def random_crop(image, label, params):
    if not _applies(params):
        return image, label
    h, w = image.shape[:2]
    cw, ch = min(params["crop_size"][0], w), min(params["crop_size"][1], h)
    if params.get("method", "random") == "center":
        x, y = (w - cw) // 2, (h - ch) // 2
    else:
        x, y = random.randint(0, w - cw), random.randint(0, h - ch)
    image = image[y:y + ch, x:x + cw]
    return image, None if label is None else label[y:y + ch, x:x + cw]


def random_brightness(image, label, params):
    if not _applies(params):
        return image, label
    shift = random.randint(-params["shift_value"], params["shift_value"])
    return np.clip(image.astype(np.int16) + shift, 0, 255).astype(np.uint8), label


TRANSFORMS: dict[str, Callable] = {
    "random_hflip": random_hflip,
    "resize": resize_short_side,
    "random_resize": random_resize,
    "random_crop": random_crop,
    "random_brightness": random_brightness,
}


class Compose:
    """The transforms `trans_seq` names, each with the config section of the same name."""

    def __init__(self, trans_config: Mapping, source: str = "config") -> None:
        self.steps = []
        for name in trans_config.get("trans_seq", []):
            if name not in TRANSFORMS:
                raise ValueError(f"{source}: unsupported transform {name!r} in trans_seq; "
                                 f"expected one of {sorted(TRANSFORMS)}")
            if name not in trans_config:
                raise ValueError(f"{source}: transform {name!r} has no parameter section")
            self.steps.append((TRANSFORMS[name], trans_config[name]))

    def __call__(self, image: np.ndarray, label: np.ndarray | None) -> Sample:
        for step, params in self.steps:
            image, label = step(image, label, params)
        return image, label


class Normalize:
    """uint8 HxWxC -> float CxHxW: divide, subtract mean, divide by std (channel order kept)."""

    def __init__(self, div_value: float, mean: list[float], std: list[float]) -> None:
        self.div_value = div_value
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        x = x.to(torch.float32, copy=True)  # then in place: one image-sized copy, not three
        return x.div_(self.div_value).sub_(self.mean).div_(self.std)
