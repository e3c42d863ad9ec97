"""Export an HRFormer + OCR segmentor to ONNX and check it against PyTorch.

    python tools/export.py --model configs/cityscapes/H_48_D_4.json \
        --checkpoint hrt_small_ocr_v2_cityscapes.pth --input-size 512 1024 --out seg.onnx

Input `input` (N x 3 x H x W, normalised as the dataset config says, BGR for the released
models); outputs `out` (final logits, N x classes x H x W) then `out_aux`. Batch, height and
width are dynamic unless `--static-hw`. On export the file runs under ONNX Runtime and
OpenVINO (fp32) on a seeded input of --input-size; the maximum absolute / relative
differences to PyTorch are printed, and the exit status is 1 when one is above the fixtures'
tolerance (2e-5 x max|ref| + 1e-4).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.cli import (add_export_args, exit_on_bad_input,  # noqa: E402
                                 positive_int)
from hrformer_common.outputs import check_output_file  # noqa: E402
from hrformer_common.export import export_and_verify  # noqa: E402
from lib.apis import deploy  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    deploy.add_model_args(parser)
    parser.add_argument("--input-size", type=positive_int, nargs=2, default=[512, 1024],
                        metavar=("H", "W"))
    add_export_args(parser, verify_batch=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_output_file(args.out, (".onnx",), "--out")  # before loading the model
    height, width = args.input_size
    net, card = deploy.inference_model(args.model, args.checkpoint, model_name=args.model_name,
                                       backbone=args.backbone, num_classes=args.num_classes)
    return export_and_verify(net, args.out, deploy.OUTPUT_NAMES, (height, width),
                             dynamic_hw=not args.static_hw, verify_batch=args.verify_batch,
                             card=card)


if __name__ == "__main__":
    exit_on_bad_input(lambda: sys.exit(main()), "export.py")
