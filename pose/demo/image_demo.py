"""Draw predicted skeletons on an image: python demo/image_demo.py <image> <config> <checkpoint>

    python demo/image_demo.py person.jpg configs/hrformer/coco/hrt_small_coco_256x192.py \
        hrt_small_coco_256x192.pth --bbox 100,50,120,300 --out out.png

Person boxes are given as x,y,w,h (`--bbox`, repeatable; negative x or y are fine, parts
outside the image are clipped); without one, the whole image is the box. The checkpoint may
be ours or an original (mmpose 0.x) one. A thin command line over
`hrformer_pose.apis.PoseInferencer`; `demo/inferencer_demo.py` takes folders, videos and
person detectors.

`--backend onnxruntime|openvino` runs the network there (from `--onnx FILE`, or exported from
the checkpoint first), `--precision bf16` in bfloat16 (torch autocast or OpenVINO bf16).
The image, boxes and output path are checked before the model is loaded; an existing `--out`
is refused unless `--overwrite` (`--skip-existing` keeps it and does nothing). Bad input ends
with `image_demo.py: error: ...` and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose)
from hrformer_common.atomic import write_atomic  # noqa: E402
from hrformer_common.cli import add_runtime_args, exit_on_bad_input  # noqa: E402
from hrformer_common.images import read_image  # noqa: E402
from hrformer_common.outputs import (OutputPathError, add_result_args,  # noqa: E402
                                     check_output_file, plan_results, result_policy)
from hrformer_common.runners import check_choice  # noqa: E402
from hrformer_pose.apis import PoseInferencer  # noqa: E402
from hrformer_pose.apis.topdown import clipped_boxes  # noqa: E402

PROG = "image_demo.py"
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # boxes are cropped in float32


def parse_box(text: str) -> list[float]:
    values = text.split(",")
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        numbers = []
    if len(numbers) == 4 and all(abs(v) <= FLOAT32_MAX for v in numbers):  # nan and inf fail
        return numbers
    raise argparse.ArgumentTypeError(f"--bbox {text!r}: expected x,y,w,h (four finite numbers "
                                     "that float32 holds)")


def joined_boxes(argv: list[str]) -> list[str]:
    """`--bbox -50,20,30,40` as `--bbox=-50,20,30,40`: argparse would take a value starting
    with '-' (and not a plain number) for an option."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--bbox" and i + 1 < len(argv):
            out.append(f"--bbox={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--bbox", type=parse_box, action="append", default=[],
                        help="person box x,y,w,h (repeat for several people)")
    parser.add_argument("--out", default="out.png", help="output image (.png or .jpg)")
    add_result_args(parser)
    parser.add_argument("--kpt-thr", type=float, default=0.3, help="hide weaker keypoints")
    add_runtime_args(parser)
    args = parser.parse_args(joined_boxes(sys.argv[1:] if argv is None else list(argv)))
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    """Draws the people of the image to --out; returns them. Bad input raises, naming it."""
    args = parse_args(argv)
    out = check_output_file(args.out, OUTPUT_SUFFIXES, "--out")
    if out.resolve() == Path(args.image).resolve():
        raise OutputPathError(f"--out {out} is the input image; choose another file")
    plan = plan_results({args.image: [out]}, result_policy(args))
    if plan.done:
        print(f"{out} exists (--skip-existing): kept")
        return []
    image = read_image(args.image)
    height, width = image.shape[:2]
    boxes = np.array(args.bbox or [[0, 0, width, height]], np.float32)
    source = f"--bbox of {args.image}" if args.bbox else f"image {args.image}"
    clipped_boxes(boxes, image.shape[:2], source)  # named before any work
    pose = PoseInferencer(args.config, args.checkpoint, backend=args.backend,
                          precision=args.precision, onnx=args.onnx, device=args.device,
                          threads=args.threads, compile=args.compile)
    print(pose.describe())
    people = pose(image, key=args.image, boxes=boxes)
    drawn = pose.visualize(image, people, args.kpt_thr)
    ok, encoded = cv2.imencode(out.suffix.lower(), drawn[:, :, ::-1])
    if not ok:
        raise OSError(f"could not encode the drawing as {out}")
    write_atomic(encoded.tobytes(), out, replace=plan.may_replace(out))
    print(f"{len(people)} people drawn to {out}")
    return people


def cli(argv: list[str] | None = None) -> None:
    """The command line: `main`, bad input ending as `image_demo.py: error: ...`."""
    exit_on_bad_input(lambda: main(argv), PROG)


if __name__ == "__main__":
    cli()
