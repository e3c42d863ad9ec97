"""People drawn on an image with cv2: boxes, skeleton links and keypoints in the dataset's
colours (mmpose's dataset meta: `skeleton_links`, `skeleton_link_colors`, `keypoint_colors`),
and a label with the track id on videos. No mmpose visualizer (matplotlib) is needed.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import cv2
import numpy as np

BOX_COLOUR = (0, 200, 0)
FALLBACK_COLOUR = (255, 128, 0)


def _colours(meta: Mapping[str, Any], key: str, count: int) -> list[tuple[int, int, int]]:
    colours = meta.get(key)
    if colours is None or len(colours) != count:
        return [FALLBACK_COLOUR] * count
    return [tuple(int(c) for c in colour) for colour in np.asarray(colours).reshape(count, 3)]


def draw_people(image: np.ndarray, people: Sequence[Mapping[str, Any]],
                meta: Mapping[str, Any], kpt_thr: float = 0.3) -> np.ndarray:
    """A copy of the RGB `image` with each person's box (and track id), the skeleton links
    whose two keypoints score at least `kpt_thr`, and those keypoints."""
    canvas = np.ascontiguousarray(image).copy()
    side = min(canvas.shape[:2])
    thickness = max(1, round(side / 320))
    radius = max(2, round(side / 160))
    links = [tuple(link) for link in meta.get("skeleton_links", [])]
    link_colours = _colours(meta, "skeleton_link_colors", len(links))
    for person in people:
        x, y, w, h = person["bbox"]
        cv2.rectangle(canvas, (round(x), round(y)), (round(x + w), round(y + h)), BOX_COLOUR,
                      thickness, cv2.LINE_AA)
        if "track_id" in person:
            cv2.putText(canvas, str(person["track_id"]), (round(x) + 2, round(y) + 12 * thickness),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, BOX_COLOUR, thickness,
                        cv2.LINE_AA)
        keypoints = np.asarray(person["keypoints"], np.float64)
        shown = keypoints[:, 2] >= kpt_thr
        points = [(round(px), round(py)) for px, py in keypoints[:, :2]]
        for (a, b), colour in zip(links, link_colours):
            if shown[a] and shown[b]:
                cv2.line(canvas, points[a], points[b], colour, thickness + 1, cv2.LINE_AA)
        for point, colour, visible in zip(points, _colours(meta, "keypoint_colors",
                                                           len(points)), shown):
            if visible:
                cv2.circle(canvas, point, radius, colour, -1, cv2.LINE_AA)
    return canvas
