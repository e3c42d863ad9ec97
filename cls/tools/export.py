"""Export an HRFormer classifier to ONNX and check it against PyTorch.

    python tools/export.py --model hrt_small --checkpoint hrt_small.pth --input-size 224 \
        --out hrt_small.onnx

Input `input` (N x 3 x H x W, normalised RGB), output `logits` (N x classes). The batch is
dynamic, and so are height and width unless `--static-hw` (then the graph is traced at
--input-size, without the window padding and resizes other sizes need). On export the file is
run with ONNX Runtime and OpenVINO (fp32) on a seeded input of --input-size; the maximum
absolute / relative differences to PyTorch are printed and the exit status is 1 when one is
above the fixtures' tolerance (2e-5 x max|ref| + 1e-4).
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
from apis import deploy  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    deploy.add_model_args(parser)
    parser.add_argument("--input-size", type=positive_int, nargs="+", default=[224],
                        help="one value (square) or height width")
    add_export_args(parser, verify_batch=2)
    args = parser.parse_args(argv)
    if len(args.input_size) not in (1, 2):
        parser.error("--input-size takes one value or two (height width)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_output_file(args.out, (".onnx",), "--out")  # before loading the model
    height, width = (args.input_size * 2)[:2]
    model, card = deploy.inference_model(args.model, args.checkpoint, input_size=(height, width))
    return export_and_verify(model, args.out, deploy.OUTPUT_NAMES, (height, width),
                             dynamic_hw=not args.static_hw, verify_batch=args.verify_batch,
                             card=card)


if __name__ == "__main__":
    exit_on_bad_input(lambda: sys.exit(main()), "export.py")
