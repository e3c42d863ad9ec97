"""A short video of two stick figures moving across a fixed background (the figures of
`stick_figures.py`), and their ground-truth person boxes per frame in the `boxes:` detector's
format (`{"walk.mp4:0": [[x, y, w, h, 1.0], ...], ...}`): the video step of the embedded demo
(`make demo TASK=pose`) and the video tests.

    python demo/stick_video.py OUT_DIR [--frames 40] [--fps 10]     # OUT_DIR/walk.mp4, walk_boxes.json

Each figure walks sideways towards the middle (they never meet) while its pose changes
smoothly from one random pose to another.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from demo.stick_figures import _annotation, _background, draw_figure, figure_keypoints  # noqa: E402
from hrformer_common.atomic import write_text_atomic  # noqa: E402
from hrformer_pose.apis import VideoSink, frame_key  # noqa: E402

SIZE = 160  # the demo's training images are 160 x 160
# Per figure: start and end centre (fractions of the frame), height (fraction).
PATHS = (((0.22, 0.50), (0.36, 0.56), 0.58), ((0.78, 0.52), (0.64, 0.46), 0.55))


def figure_frames(rng: np.random.Generator, frames: int) -> list[tuple[np.ndarray, float, int]]:
    """For each figure: (frames, 17, 2) keypoints, its height and its colour seed."""
    figures = []
    for start, end, fraction in PATHS:
        height = fraction * SIZE
        start_xy, end_xy = np.array(start) * SIZE, np.array(end) * SIZE
        first = figure_keypoints(rng, start_xy, height)
        last = figure_keypoints(rng, start_xy, height)  # another pose, same place
        t = np.linspace(0.0, 1.0, frames)[:, None, None]
        keypoints = (1 - t) * first + t * last + t * (end_xy - start_xy)
        figures.append((keypoints.astype(np.float32), height, int(rng.integers(2**31))))
    return figures


def make_video(folder: str | Path, frames: int = 40, fps: float = 10.0, seed: int = 0,
               name: str = "walk.mp4") -> tuple[Path, Path]:
    """Write `<folder>/<name>` and `<folder>/<stem>_boxes.json`; returns both paths."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    background = _background(rng, SIZE)
    figures = figure_frames(rng, frames)
    video, boxes_file = folder / name, folder / f"{Path(name).stem}_boxes.json"
    boxes = {}
    with VideoSink(video, fps, (SIZE, SIZE)) as sink:
        for index in range(frames):
            image = background.copy()
            rows = []
            for keypoints, height, colours in figures:
                draw_figure(image, keypoints[index], height, np.random.default_rng(colours))
                box = _annotation(keypoints[index], height, SIZE, 0, 0)["bbox"]
                rows.append([round(v, 2) for v in box] + [1.0])
            sink.write(image[:, :, ::-1].copy())  # the figures are drawn as BGR images
            boxes[frame_key(video, index)] = rows
    write_text_atomic(json.dumps(boxes), boxes_file)
    return video, boxes_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    video, boxes = make_video(args.out, args.frames, args.fps, args.seed)
    print(f"wrote {video} ({args.frames} frames) and {boxes}")


if __name__ == "__main__":
    main()
