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
from hrformer_common.images import find_images  # noqa: E402
from hrformer_common.outputs import check_output_dir, result_names  # noqa: E402
from hrformer_common.runners import check_choice  # noqa: E402
from lib.apis import SegInferencer, deploy  # noqa: E402
from lib.apis.inferencer import AUTO_SLIDE_PIXELS, MODES  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--ms", action="store_true", help="multi-scale + flip")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.75, 1.0, 1.25])
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay colour weight")
    parser.add_argument("--mode", choices=MODES, default="auto",
                        help=f"whole image, sliding windows, or slide above "
                             f"{AUTO_SLIDE_PIXELS} pixels (auto)")
    parser.add_argument("--crop-size", type=int, nargs=2, metavar=("H", "W"),
                        help="sliding window (default: the config's training crop)")
    parser.add_argument("--stride", type=int, nargs=2, metavar=("H", "W"),
                        help="sliding window step (default: two thirds of the crop)")
    add_runtime_args(parser)
    return parser.parse_args(argv)


def save_png(pixels: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def main(argv: list[str] | None = None) -> list[Path]:
    args = parse_args(argv)
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    out = check_output_dir(args.out, "--out")
    images = find_images(Path(args.images))  # before loading anything
    root = Path(args.images) if Path(args.images).is_dir() else Path(args.images).parent
    names = result_names(images, root)
    segment = SegInferencer(args.model, args.checkpoint, model_name=args.model_name,
                            backbone=args.backbone, num_classes=args.num_classes,
                            backend=args.backend, precision=args.precision, onnx=args.onnx,
                            threads=args.threads, device=args.device, compile=args.compile,
                            multi_scale=args.ms, scales=args.scales, mode=args.mode,
                            crop_size=args.crop_size, stride=args.stride)
    print(f"network: {segment.describe()}; mode {args.mode} (windows "
          f"{'x'.join(map(str, segment.crop_hw))} every {'x'.join(map(str, segment.stride_hw))})")
    write_text_atomic(json.dumps(segment.legend(), indent=1), out / "classes.json")
    written = []
    for path in tqdm(images, desc="segmenting", disable=len(images) == 1):
        result = segment(path, return_overlay=True, alpha=args.alpha)
        name = names[path].with_name(names[path].name + ".png")
        save_png(result["label"], out / "label" / name)
        save_png(result["overlay"], out / "overlay" / name)
        written.append(out / "label" / name)
    print(f"{len(written)} images segmented into {out}/label and {out}/overlay (legend: "
          f"{out}/classes.json)")
    return written


if __name__ == "__main__":
    exit_on_bad_input(main, "predict.py")
