"""A dataset's classes as its config gives them: names (`data.class_names`) and colours
(`data.palette`, one [R, G, B] per class), checked against `data.num_classes` when the config
is read; the colour images and the legend of predictions use them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..utils.configer import Configer
from .labels import IGNORE, LabelMapper

# Official Cityscapes colours of the 19 train ids (the default for up to 19 classes).
CITYSCAPES_COLORS = [
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32)]
IGNORE_COLOR = (0, 0, 0)


def default_colors(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8: Cityscapes' colours, or for more classes the bits of the class
    index spread over the three channels (distinct colours)."""
    if num_classes <= len(CITYSCAPES_COLORS):
        return np.array(CITYSCAPES_COLORS[:num_classes], dtype=np.uint8).reshape(-1, 3)
    idx = np.arange(num_classes)
    colors = np.zeros((num_classes, 3), dtype=np.uint8)
    for bit in range(8):
        for ch in range(3):
            colors[:, ch] |= (((idx >> (3 * bit + ch)) & 1) << (7 - bit)).astype(np.uint8)
    return colors


def _checked_names(names: object, num_classes: int, source: str) -> tuple[str, ...]:
    if names is None:
        return ()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{source}: data.class_names must be a list of strings, got "
                         f"{names!r}")
    if len(names) != num_classes:
        raise ValueError(f"{source}: data.class_names has {len(names)} names for "
                         f"data.num_classes={num_classes}; expected one name per class")
    return tuple(names)


Color = tuple[int, int, int]


def _checked_palette(palette: object, num_classes: int, source: str) -> tuple[Color, ...]:
    if palette is None:
        return tuple(tuple(int(c) for c in row) for row in default_colors(num_classes))
    if not isinstance(palette, list) or len(palette) != num_classes:
        found = f"{len(palette)} colours" if isinstance(palette, list) else repr(palette)
        raise ValueError(f"{source}: data.palette has {found} for data.num_classes="
                         f"{num_classes}; expected one [R, G, B] per class")
    for i, color in enumerate(palette):
        if not (isinstance(color, list) and len(color) == 3 and all(
                isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                for c in color)):
            raise ValueError(f"{source}: data.palette[{i}] is {color!r}; expected [R, G, B], "
                             "three integers 0..255")
    return tuple(tuple(color) for color in palette)


@dataclass(frozen=True)
class DatasetClasses:
    """`names`: one per train id, empty when the config names none; `colors`: one (R, G, B)
    per train id, the config's palette or `default_colors`."""

    names: tuple[str, ...]
    colors: tuple[Color, ...]

    @classmethod
    def of(cls, configer: Configer) -> DatasetClasses:
        """The classes of a config; a name or colour count other than `data.num_classes`, or
        a colour that is not three integers 0..255, is an error naming the config file."""
        num_classes = configer.get("data.num_classes")
        return cls(_checked_names(configer.get("data.class_names", default=None), num_classes,
                                  configer.source),
                   _checked_palette(configer.get("data.palette", default=None), num_classes,
                                    configer.source))

    def name(self, train_id: int) -> str:
        """The class's name, or its train id as text when the config names no classes."""
        return self.names[train_id] if self.names else str(train_id)

    def colorize(self, train_ids: np.ndarray) -> np.ndarray:
        """H x W train ids (255 = ignore, black) -> H x W x 3 uint8 RGB."""
        table = np.array([*self.colors, IGNORE_COLOR], dtype=np.uint8)
        return table[np.where(train_ids == IGNORE, len(self.colors), train_ids)]

    def legend(self, mapper: LabelMapper) -> list[dict]:
        """One entry per class: the id its pixels hold in written label maps (`label_id`,
        the dataset's raw id), `train_id`, `name` and `color` [R, G, B]."""
        return [{"label_id": int(mapper.to_raw_ids(np.array(i))), "train_id": i,
                 "name": self.name(i), "color": list(self.colors[i])}
                for i in range(len(self.colors))]
