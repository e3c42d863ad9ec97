"""Segment images: a label PNG (the dataset's raw ids) and a colour overlay per image.

    python tools/predict.py street.png --backbone hrt_small --model_name hrt_small_ocr_v2 \
        --checkpoint hrt_small_ocr_v2_cityscapes.pth --out predictions [--ms]

IMAGE_OR_FOLDER is one image or a folder (searched recursively; a progress bar runs over it).
Writes `<out>/label/<name>.png` (raw ids, e.g. Cityscapes label ids) and
`<out>/overlay/<name>.png` (image blended with the class colours). The dataset config
(`--configs`, default Cityscapes) gives the class count, the label mapping, the channel order
and the normalisation. `--ms`: multi-scale (`--scales`) + horizontal flip, logits summed.
`--backend onnxruntime|openvino` runs the network there (`--onnx FILE`, or exported first).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

SEG_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SEG_ROOT))

from lib.datasets import build_mapper, build_normalize  # noqa: E402
from lib.datasets.labels import colorize  # noqa: E402
from lib.datasets.seg_dataset import read_image  # noqa: E402
from hrformer_common.images import find_images  # noqa: E402
from hrformer_common.runtime import check_choice, make_runner  # noqa: E402
from lib.segmentor.inference import multi_scale_flip, single_scale  # noqa: E402
from lib.utils.configer import Configer  # noqa: E402
from tools import deploy  # noqa: E402

DEFAULT_CONFIG = SEG_ROOT / "configs" / "cityscapes" / "H_48_D_4.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--configs", default=str(DEFAULT_CONFIG),
                        help="dataset config (classes, label ids, normalisation)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--ms", action="store_true", help="multi-scale + flip")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.75, 1.0, 1.25])
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay colour weight")
    deploy.add_runtime_args(parser)
    args = parser.parse_args(argv)
    check_choice(args.backend, args.precision)
    return args


def main(argv: list[str] | None = None) -> list[Path]:
    args = parse_args(argv)
    images = find_images(Path(args.images))  # before loading anything
    configer = Configer.from_file(args.configs)
    if configer.get("data.num_classes") != args.num_classes:
        raise ValueError(f"--num_classes {args.num_classes}, but {args.configs} has "
                         f"data.num_classes={configer.get('data.num_classes')}")
    mapper, normalize = build_mapper(configer), build_normalize(configer)
    input_mode = configer.get("data.input_mode", default="BGR")
    net, card = deploy.inference_net(args.model_name, args.backbone, args.num_classes,
                                     args.checkpoint)
    if args.threads:
        torch.set_num_threads(args.threads)
    runner = make_runner(args.backend, args.precision, model=net, onnx_path=args.onnx,
                         output_names=deploy.OUTPUT_NAMES, compile=args.compile,
                         threads=args.threads, card=card)
    print(f"network: {runner.describe()}")
    segmentor = deploy.as_segmentor(runner)
    out = Path(args.out)
    (out / "label").mkdir(parents=True, exist_ok=True)
    (out / "overlay").mkdir(parents=True, exist_ok=True)
    root = Path(args.images) if Path(args.images).is_dir() else Path(args.images).parent
    written = []
    for path in tqdm(images, desc="segmenting", disable=len(images) == 1):
        image = read_image(path, input_mode)
        x = normalize(image).unsqueeze(0)
        logits = multi_scale_flip(segmentor, x, args.scales) if args.ms \
            else single_scale(segmentor, x)
        pred = logits[0].argmax(0).numpy().astype(np.uint8)
        name = path.relative_to(root).with_suffix(".png")
        for folder in ("label", "overlay"):
            (out / folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mapper.to_raw_ids(pred)).save(out / "label" / name)
        rgb = image[:, :, ::-1] if input_mode == "BGR" else image
        blend = (1 - args.alpha) * rgb + args.alpha * colorize(pred, args.num_classes)
        Image.fromarray(blend.round().astype(np.uint8)).save(out / "overlay" / name)
        written.append(out / "label" / name)
    print(f"{len(written)} images segmented into {out}/label and {out}/overlay")
    return written


if __name__ == "__main__":
    main()
