"""A small Cityscapes-like dataset: scenes of overlapping textured shapes.

Layout as the Cityscapes configs expect (`<root>/{train,val}/{image,label}/<name>.png`), labels
in Cityscapes label ids: road 7 (background), building 11 (rectangles), vegetation 21
(discs), person 24 (upright ellipses), car 26 (wide boxes); an ignored region (label id 0,
"unlabeled") of random noise covers the bottom, like Cityscapes' ego vehicle.

`--custom` writes the example dataset of configs/custom/ instead, laid out as a dataset of
your own: JPEG images, scenes of road, buildings and cars labelled with the train ids 0..2
(`CUSTOM_IDS`), the noise band 255 (ignored).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 128, 256
ROAD, BUILDING, VEGETATION, PERSON, CAR, UNLABELED = 7, 11, 21, 24, 26, 0
SHAPES = (BUILDING, VEGETATION, PERSON, CAR)
# --custom: Cityscapes label id -> the train id of configs/custom/ (road, building, car)
CUSTOM_IDS = {ROAD: 0, BUILDING: 1, CAR: 2, UNLABELED: 255}


def _texture(kind: str, rng: np.random.Generator, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """A [0, 1] pattern per pixel; each class has its own kind, random phase and period."""
    period = rng.uniform(4, 8)
    phase = rng.uniform(0, 2 * np.pi)
    if kind == "stripes_h":
        return 0.5 + 0.5 * np.sin(2 * np.pi * ys / period + phase)
    if kind == "stripes_v":
        return 0.5 + 0.5 * np.sin(2 * np.pi * xs / period + phase)
    if kind == "checker":
        return ((ys // (period / 1.5)).astype(int) + (xs // (period / 1.5)).astype(int)) % 2
    return rng.random(ys.shape)  # noise


# class -> (base colour RGB, texture kind)
STYLE = {ROAD: ((110, 110, 110), "noise"), BUILDING: ((150, 90, 60), "stripes_h"),
         VEGETATION: ((60, 140, 50), "noise"), PERSON: ((200, 60, 80), "stripes_v"),
         CAR: ((50, 70, 170), "checker")}


def _paint(image: np.ndarray, mask: np.ndarray, cls: int, rng: np.random.Generator,
           ys: np.ndarray, xs: np.ndarray) -> None:
    base, kind = STYLE[cls]
    colour = np.clip(np.array(base) + rng.integers(-30, 31, 3), 0, 255)
    pattern = _texture(kind, rng, ys, xs)[..., None]
    image[mask] = np.clip(colour * (0.65 + 0.5 * pattern), 0, 255)[mask]


def _shape_mask(cls: int, rng: np.random.Generator, ys: np.ndarray,
                xs: np.ndarray) -> np.ndarray:
    cy, cx = rng.uniform(10, HEIGHT - 20), rng.uniform(0, WIDTH)
    if cls == BUILDING:
        h, w = rng.uniform(30, 70), rng.uniform(30, 80)
        return (abs(ys - cy) < h / 2) & (abs(xs - cx) < w / 2)
    if cls == VEGETATION:
        return (ys - cy) ** 2 + (xs - cx) ** 2 < rng.uniform(10, 24) ** 2
    if cls == PERSON:
        ry, rx = rng.uniform(14, 24), rng.uniform(5, 9)
        return ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 < 1
    h, w = rng.uniform(14, 24), rng.uniform(36, 60)   # car
    return (abs(ys - cy) < h / 2) & (abs(xs - cx) < w / 2)


def make_scene(rng: np.random.Generator, shapes: tuple[int, ...] = SHAPES
               ) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.float64)
    label = np.full((HEIGHT, WIDTH), ROAD, dtype=np.uint8)
    _paint(image, np.ones_like(label, dtype=bool), ROAD, rng, ys, xs)
    for cls in rng.choice(shapes, size=rng.integers(4, 8)):
        mask = _shape_mask(int(cls), rng, ys, xs)
        _paint(image, mask, int(cls), rng, ys, xs)
        label[mask] = cls
    ignored = ys > HEIGHT - rng.uniform(8, 20)
    image[ignored] = rng.integers(0, 256, (int(ignored.sum()), 3))
    label[ignored] = UNLABELED
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), label


def generate(root: str | Path, num_train: int = 64, num_val: int = 16, seed: int = 0,
             custom: bool = False) -> Path:
    """`<root>/{train,val}/{image,label}/`: the demo's dataset, or with `custom` the example
    of configs/custom/ (see the module docstring)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    to_custom = np.zeros(256, dtype=np.uint8)
    to_custom[list(CUSTOM_IDS)] = list(CUSTOM_IDS.values())
    for split, count in (("train", num_train), ("val", num_val)):
        (root / split / "image").mkdir(parents=True, exist_ok=True)
        (root / split / "label").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            name = f"demo_{split}_{i:04d}"
            if custom:
                image, label = make_scene(rng, (BUILDING, CAR))
                Image.fromarray(image).save(root / split / "image" / f"{name}.jpg", quality=95)
                label = to_custom[label]
            else:
                image, label = make_scene(rng)
                Image.fromarray(image).save(root / split / "image" / f"{name}.png")
            Image.fromarray(label).save(root / split / "label" / f"{name}.png")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="demo_data/dataset")
    parser.add_argument("--num-train", "--num_train", dest="num_train", type=int, default=64)
    parser.add_argument("--num-val", "--num_val", dest="num_val", type=int, default=16)
    parser.add_argument("--custom", action="store_true",
                        help="the example dataset of configs/custom/ (train ids 0..2, JPEG)")
    args = parser.parse_args()
    print(generate(args.root, args.num_train, args.num_val, custom=args.custom))
