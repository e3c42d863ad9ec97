"""Export a top-down pose model to ONNX and check it against PyTorch.

    python tools/export.py --model configs/hrformer/coco/hrt_small_coco_256x192.py \
        --checkpoint hrt_small_coco_256x192.pth --out hrt_small_256x192.onnx

Input `input` (N x 3 x H x W, normalised RGB as mmpose's data preprocessor gives it), output
`heatmaps` (N x 17 x H/4 x W/4). The checkpoint may be ours or an original (mmpose 0.x) one.
Batch, height and width are dynamic unless `--static-hw`. On export the file runs under ONNX
Runtime and OpenVINO (fp32) on a seeded input of the config's size (or --input-size); the
maximum absolute / relative differences to PyTorch are printed, and the exit status is 1 when
one is above the fixtures' tolerance (2e-5 x max|ref| + 1e-4). Bad input ends with
`export.py: error: ...` and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose.apis)
from hrformer_pose.deploy import OUTPUT_NAMES, inference_model, input_size  # noqa: E402
from hrformer_pose.model_zoo import MODEL_ZOO, missing_checkpoint, resolve_model  # noqa: E402
from hrformer_common.cli import add_export_args, exit_on_bad_input, positive_int  # noqa: E402
from hrformer_common.export import export_and_verify  # noqa: E402
from hrformer_common.outputs import check_output_file  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, metavar="CONFIG",
                        help=f"mmengine config, or a model-zoo name ({', '.join(MODEL_ZOO)})")
    parser.add_argument("--checkpoint", help="pose checkpoint (ours or original), a file or an "
                        "http(s) URL (default: a model-zoo name's, downloaded once)")
    parser.add_argument("--input-size", type=positive_int, nargs=2, metavar=("H", "W"),
                        help="check size (default: the config's codec input size)")
    add_export_args(parser, verify_batch=2)
    args = parser.parse_args(argv)
    problem = missing_checkpoint(args.model, args.checkpoint)
    if problem:
        parser.error(problem)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_output_file(args.out, (".onnx",), "--out")  # before loading the model
    cfg, checkpoint = resolve_model(args.model, args.checkpoint)
    height, width = args.input_size or input_size(cfg)
    net, card = inference_model(cfg, checkpoint)
    return export_and_verify(net, args.out, OUTPUT_NAMES, (height, width),
                             dynamic_hw=not args.static_hw, verify_batch=args.verify_batch,
                             card=card)


if __name__ == "__main__":
    exit_on_bad_input(lambda: sys.exit(main()), "export.py")
