"""Segment images: a label PNG (the dataset's raw ids) and a colour overlay per image.

    python tools/predict.py street.png --model configs/cityscapes/H_48_D_4.json \
        --checkpoint hrt_small_ocr_v2_cityscapes.pth --out predictions [--ms] \
        [--mode auto|whole|slide] [--crop-size H W] [--stride H W]

A thin command line over `lib.apis.SegInferencer` (same results). IMAGE_OR_FOLDER is one image
or a folder (searched recursively; a progress bar runs over it). Writes
`<out>/label/<name>.png` (raw ids, e.g. Cityscapes label ids), `<out>/overlay/<name>.png`
(image blended with the class colours, the config's `data.palette`) and `<out>/classes.json`,
the legend (per class: its label id, train id, name and colour); names keep the sub-folders, and two images that
would share one (`pic.jpg`, `pic.png`) keep their suffix in it (`pic_jpg.png`, `pic_png.png`).
Images are read upright (EXIF orientation: results at the displayed size), 16-bit files
scaled to 8 bits. The dataset config (`--model`, default Cityscapes) gives the network
(`--backbone`, `--model-name` override it), the class count, the label mapping, the channel
order, the normalisation and the sliding-window crop (its training crop). `--ms`:
multi-scale (`--scales`) + horizontal flip, logits summed. `--mode
slide` runs windows of `--crop-size` every `--stride` (two thirds of the crop) in bounded
memory; `auto` (default) does so above 2048x1024 pixels. `--backend onnxruntime|openvino` runs
the network there (`--onnx FILE`, or exported first). Bad input ends with `predict.py: error:
...` and exit status 2; the output folder and the result names are checked before any work.
Results that exist are refused, kept (`--skip-existing`: only the images without both results
run, e.g. to finish an interrupted run) or replaced (`--overwrite`); a result never replaces a
file another run wrote meanwhile. A file of a folder that cannot be read is named and skipped,
the others are segmented, the skipped ones listed at the end, exit status 1. The output folder
may lie inside the input folder (it is never read as input), but may not be the input folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

SEG_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SEG_ROOT))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.atomic import atomic_path, write_text_atomic  # noqa: E402
from hrformer_common.cli import add_runtime_args, exit_on_bad_input  # noqa: E402
from hrformer_common.images import SkippedImages, find_images, read_image  # noqa: E402
from hrformer_common.outputs import (OutputPathError, ResultPlan, add_result_args,  # noqa: E402
                                     check_apart, check_output_dir, plan_results,
                                     result_names, result_policy)
from hrformer_common.runners import check_choice  # noqa: E402
from lib.apis import SegInferencer, deploy  # noqa: E402
from lib.apis.inferencer import AUTO_SLIDE_PIXELS, MODES  # noqa: E402
from lib.datasets import build_mapper  # noqa: E402
from lib.datasets.classes import DatasetClasses  # noqa: E402
from lib.utils.configer import Configer  # noqa: E402

MS_SCALES = (0.75, 1.0, 1.25)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--out", required=True, help="output folder")
    add_result_args(parser)
    parser.add_argument("--ms", action="store_true", help="multi-scale + flip")
    parser.add_argument("--scales", type=float, nargs="+",
                        help=f"with --ms (default {' '.join(map(str, MS_SCALES))})")
    parser.add_argument("--alpha", type=fraction, default=0.5,
                        help="overlay colour weight, 0 (image) to 1 (colours)")
    parser.add_argument("--mode", choices=MODES, default="auto",
                        help=f"whole image, sliding windows, or slide above "
                             f"{AUTO_SLIDE_PIXELS} pixels (auto)")
    parser.add_argument("--crop-size", type=int, nargs=2, metavar=("H", "W"),
                        help="sliding window (default: the config's training crop)")
    parser.add_argument("--stride", type=int, nargs=2, metavar=("H", "W"),
                        help="sliding window step (default: two thirds of the crop)")
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if args.scales and not args.ms:
        parser.error("--scales applies with --ms (multi-scale) only")
    return args


def fraction(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number from 0 to 1")
    return value


def save_png(pixels: np.ndarray, path: Path, replace: bool) -> None:
    """`replace=False`: a file that appeared at `path` during the run is never replaced."""
    with atomic_path(path, replace) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def legend_of(config: str) -> str:
    """classes.json of a run: the dataset config's classes (ids, names, colours) as JSON."""
    configer = Configer.from_file(config)
    return json.dumps(DatasetClasses.of(configer).legend(build_mapper(configer)), indent=1)


def check_legend(path: Path, text: str, plan: ResultPlan, overwrite: bool) -> None:
    """An existing classes.json of other classes is kept unless --overwrite: the labels
    beside it were written with those classes."""
    if path.is_file() and path.read_text() != text and not overwrite:
        raise OutputPathError(f"{path} lists other classes than {len(plan.todo)} new results "
                              "would have (another dataset config?); choose another --out, "
                              "or --overwrite")


def main(argv: list[str] | None = None) -> tuple[list[Path], int]:
    """The label files written, and the exit status (1 when files were skipped)."""
    args = parse_args(argv)
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    source = Path(args.images)
    out = check_output_dir(args.out, "--out")
    check_apart(out, source)
    images = find_images(source, exclude=[out])  # before loading anything
    if source.is_file():
        read_image(source)  # one unreadable image is bad input (exit 2), named up front
    root = source if source.is_dir() else source.parent
    names = {path: name.with_name(name.name + ".png")
             for path, name in result_names(images, root).items()}
    targets = {path: [out / "label" / names[path], out / "overlay" / names[path]]
               for path in images}
    plan = plan_results(targets, result_policy(args))
    legend_file, legend_text = out / "classes.json", legend_of(args.model)
    check_legend(legend_file, legend_text, plan, args.overwrite)
    if plan.done:
        print(f"{len(plan.done)} images have their results in {out} already (--skip-existing)")
    if not plan.todo:
        return [], 0
    segment = SegInferencer(args.model, args.checkpoint, model_name=args.model_name,
                            backbone=args.backbone, num_classes=args.num_classes,
                            backend=args.backend, precision=args.precision, onnx=args.onnx,
                            threads=args.threads, device=args.device, compile=args.compile,
                            multi_scale=args.ms, scales=args.scales or MS_SCALES,
                            mode=args.mode,
                            crop_size=args.crop_size, stride=args.stride)
    print(f"network: {segment.describe()}; mode {args.mode} (windows "
          f"{'x'.join(map(str, segment.crop_hw))} every {'x'.join(map(str, segment.stride_hw))})")
    write_text_atomic(legend_text, legend_file, replace=True)
    written, skipped = [], SkippedImages()
    for path in tqdm(plan.todo, desc="segmenting", unit="image", disable=len(plan.todo) == 1):
        with skipped.skipping(path):
            result = segment(path, return_overlay=True, alpha=args.alpha, progress=True)
            label, overlay = targets[path]
            save_png(result["label"], label, plan.may_replace(label))
            save_png(result["overlay"], overlay, plan.may_replace(overlay))
            written.append(label)
    print(f"{len(written)} images segmented into {out}/label and {out}/overlay (legend: "
          f"{legend_file})")
    return written, skipped.report()


if __name__ == "__main__":
    exit_on_bad_input(lambda: sys.exit(main()[1]), "predict.py")
