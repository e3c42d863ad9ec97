"""A small COCO-format keypoint dataset of drawn stick figures (for the demo and the tests).

Each image holds one or two front-facing figures in random poses, sizes and positions on a
random background (gradient plus distractor shapes). Figures face the camera, so the person's
left side is on the image's right, as in COCO; that cue survives horizontal flipping, which
keeps flip augmentation and flip testing meaningful. Limbs are coloured by kind (arms vs legs),
never by side. The annotations carry COCO's 17 keypoints, or any subset of them under their
own names (`keypoints=`; `JOINT_ALIASES`), as a custom dataset would.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                  "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                  "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
# COCO's skeleton (1-based joint ids), stored in the annotation file's category.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
                 [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                 [4, 6], [5, 7]]
# Other names a custom keypoint set may give COCO joints (configs/_base_/datasets/
# stick_figures_9kpt.py: hands and feet).
JOINT_ALIASES = {"head": "nose", "left_hand": "left_wrist", "right_hand": "right_wrist",
                 "left_foot": "left_ankle", "right_foot": "right_ankle"}
# COCO's person masks cover roughly 60% of their boxes; OKS uses this area as object scale.
AREA_FRACTION = 0.6


def _limb(start: np.ndarray, angle_deg: float, length: float) -> np.ndarray:
    """End point of a limb; angle 0 points down the image, positive turns toward +x."""
    a = math.radians(angle_deg)
    return start + length * np.array([math.sin(a), math.cos(a)])


def figure_keypoints(rng: np.random.Generator, center: np.ndarray, height: float) -> np.ndarray:
    """17 COCO keypoints (x, y) of a random pose; the figure is `height` pixels tall."""
    h = height
    lean = rng.uniform(-15, 15)
    hip_c = center + np.array([0.0, 0.05 * h])
    neck = _limb(hip_c, 180 + lean, 0.30 * h)
    across = np.array([math.cos(math.radians(lean)), -math.sin(math.radians(lean))])
    # Person's left = image +x (the figure faces the camera).
    l_sh, r_sh = neck + 0.11 * h * across, neck - 0.11 * h * across
    l_hip, r_hip = hip_c + 0.08 * h * across, hip_c - 0.08 * h * across
    head = _limb(neck, 180 + lean + rng.uniform(-10, 10), 0.12 * h)
    up = (head - neck) / np.linalg.norm(head - neck)
    side = np.array([-up[1], up[0]])  # points to image +x for an upright figure
    if side[0] < 0:
        side = -side
    nose = head - 0.01 * h * up
    l_eye, r_eye = head + 0.03 * h * up + 0.03 * h * side, head + 0.03 * h * up - 0.03 * h * side
    l_ear, r_ear = head + 0.065 * h * side, head - 0.065 * h * side
    joints = {}
    for name, shoulder, sign in (("left", l_sh, 1), ("right", r_sh, -1)):
        upper = sign * rng.uniform(-30, 160)
        joints[f"{name}_elbow"] = _limb(shoulder, upper, 0.16 * h)
        forearm = upper + sign * rng.uniform(-20, 140)
        joints[f"{name}_wrist"] = _limb(joints[f"{name}_elbow"], forearm, 0.15 * h)
    for name, hip, sign in (("left", l_hip, 1), ("right", r_hip, -1)):
        thigh = sign * rng.uniform(-25, 70)
        joints[f"{name}_knee"] = _limb(hip, thigh, 0.24 * h)
        joints[f"{name}_ankle"] = _limb(joints[f"{name}_knee"], thigh - sign * rng.uniform(0, 80),
                                        0.23 * h)
    named = {"nose": nose, "left_eye": l_eye, "right_eye": r_eye, "left_ear": l_ear,
             "right_ear": r_ear, "left_shoulder": l_sh, "right_shoulder": r_sh,
             "left_hip": l_hip, "right_hip": r_hip, **joints}
    return np.stack([named[k] for k in COCO_KEYPOINTS]).astype(np.float32)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    img = (c0 * (1 - t) + c1 * t).repeat(size, axis=1).astype(np.uint8)
    if rng.random() < 0.5:
        img = np.ascontiguousarray(img.transpose(1, 0, 2))
    for _ in range(rng.integers(0, 5)):  # distractors
        color = tuple(int(c) for c in rng.uniform(0, 255, 3))
        p = rng.integers(0, size, 4)
        if rng.random() < 0.5:
            cv2.rectangle(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color, -1)
        else:
            cv2.line(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color,
                     int(rng.integers(1, 4)))
    return img


def draw_figure(img: np.ndarray, kpts: np.ndarray, height: float, rng: np.random.Generator) -> None:
    """Draw the figure in place: limbs, torso, head with eyes, nose and ears."""
    pt = [tuple(int(round(v)) for v in p) for p in kpts]
    width = max(2, int(0.035 * height))
    arm, leg, body = (tuple(int(c) for c in rng.uniform(0, 255, 3)) for _ in range(3))
    for a, b, color in ((5, 7, arm), (7, 9, arm), (6, 8, arm), (8, 10, arm), (11, 13, leg),
                        (13, 15, leg), (12, 14, leg), (14, 16, leg), (5, 6, body),
                        (11, 12, body), (5, 11, body), (6, 12, body)):
        cv2.line(img, pt[a], pt[b], color, width, cv2.LINE_AA)
    for j in (9, 10, 15, 16):
        cv2.circle(img, pt[j], width, body, -1, cv2.LINE_AA)
    head = (kpts[3] + kpts[4]) / 2
    radius = int(np.linalg.norm(kpts[3] - kpts[4]) / 2)
    cv2.circle(img, tuple(int(v) for v in head), radius, (200, 220, 240), -1, cv2.LINE_AA)
    for j in (3, 4):
        cv2.circle(img, pt[j], max(1, width // 2 + 1), (60, 90, 160), -1, cv2.LINE_AA)
    for j in (1, 2):
        cv2.circle(img, pt[j], max(1, width // 2), (20, 20, 20), -1, cv2.LINE_AA)
    cv2.circle(img, pt[0], max(1, width // 2), (30, 30, 200), -1, cv2.LINE_AA)


def joint_indices(keypoints: Sequence[str]) -> list[int]:
    """The COCO joint of each keypoint name (a COCO name or one of JOINT_ALIASES)."""
    unknown = [k for k in keypoints if JOINT_ALIASES.get(k, k) not in COCO_KEYPOINTS]
    if unknown:
        raise ValueError(f"keypoints {unknown}: the stick figures have COCO's joints "
                         f"({', '.join(COCO_KEYPOINTS)}) and {', '.join(JOINT_ALIASES)}")
    return [COCO_KEYPOINTS.index(JOINT_ALIASES.get(k, k)) for k in keypoints]


def _annotation(figure: np.ndarray, height: float, size: int, ann_id: int, image_id: int,
                joints: Sequence[int] = tuple(range(len(COCO_KEYPOINTS)))) -> dict:
    """The COCO annotation of a figure (its 17 joints) with the keypoints `joints` (default
    all); the box holds the whole figure."""
    margin = 0.06 * height
    x0, y0 = np.clip(figure.min(0) - margin, 0, size - 1)
    x1, y1 = np.clip(figure.max(0) + margin, 0, size - 1)
    kpts = figure[list(joints)]
    inside = (kpts >= 0).all(1) & (kpts < size).all(1)
    flat = np.concatenate([kpts, np.where(inside, 2, 0)[:, None]], axis=1)
    flat[~inside, :2] = 0  # COCO stores unlabelled joints as (0, 0, 0)
    w, h = float(x1 - x0), float(y1 - y0)
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": [float(x0), float(y0), w, h], "area": AREA_FRACTION * w * h,
            "keypoints": [round(float(v), 2) for v in flat.reshape(-1)],
            "num_keypoints": int(inside.sum())}


def make_split(root: Path, split: str, num_images: int, seed: int, size: int = 160,
               keypoints: Sequence[str] = COCO_KEYPOINTS, images: str | None = None) -> Path:
    """Write `<root>/<split>/*.png` and `<root>/annotations/<split>.json` annotating
    `keypoints` (default COCO's 17); returns the json. The images depend on the seed only.
    `images`: one folder for the images of every split instead, `<root>/<images>/<split>/`
    (the annotations' file names then start with `<split>/`)."""
    joints = joint_indices(keypoints)
    rng = np.random.default_rng(seed)
    folder = root / split if images is None else root / images / split
    prefix = "" if images is None else f"{split}/"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for image_id in range(1, num_images + 1):
        img = _background(rng, size)
        count = 1 if rng.random() < 0.7 else 2
        for i in range(count):
            # Two figures stand side by side (left and right third) and are smaller.
            height = rng.uniform(0.45, 0.85) * size / (1.3 if count == 2 else 1.0)
            x = rng.uniform(0.3, 0.7) if count == 1 else rng.uniform(0.22, 0.32) + 0.46 * i
            center = np.array([x, rng.uniform(0.35, 0.65)]) * size
            kpts = figure_keypoints(rng, center, height)
            draw_figure(img, kpts, height, rng)
            annotations.append(_annotation(kpts, height, size, len(annotations) + 1, image_id,
                                           joints))
        cv2.imwrite(str(folder / f"{image_id:05d}.png"), img)
        entries.append({"id": image_id, "file_name": f"{prefix}{image_id:05d}.png",
                        "width": size, "height": size})
    # COCO's links between the kept joints, numbered from 1 as COCO does.
    skeleton = [[joints.index(a - 1) + 1, joints.index(b - 1) + 1] for a, b in COCO_SKELETON
                if a - 1 in joints and b - 1 in joints]
    category = {"id": 1, "name": "person", "supercategory": "person",
                "keypoints": list(keypoints), "skeleton": skeleton}
    ann_file = root / "annotations" / f"{split}.json"
    ann_file.write_text(json.dumps({"images": entries, "annotations": annotations,
                                    "categories": [category]}))
    return ann_file
