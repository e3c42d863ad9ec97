"""Draw predicted skeletons on an image: python demo/image_demo.py <image> <config> <checkpoint>

    python demo/image_demo.py person.jpg configs/hrformer/coco/hrt_small_coco_256x192.py \
        hrt_small_coco_256x192.pth --bbox 100,50,120,300 --out out.png

Person boxes are given as x,y,w,h (`--bbox`, repeatable); without one, the whole image is the
box. The checkpoint may be ours or an original (mmpose 0.x) one.

`--backend onnxruntime|openvino` runs the network there (from `--onnx FILE`, or exported from
the checkpoint first), `--precision bf16` in bfloat16 (torch autocast or OpenVINO bf16);
decoding and flip test stay mmpose's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose.apis)
import mmcv  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402
from hrformer_pose.deploy import (OUTPUT_NAMES, inference_net, input_size,  # noqa: E402
                                  use_runner)
from hrformer_common.runtime import add_runtime_args, make_runner  # noqa: E402
from mmpose.apis import inference_topdown  # noqa: E402
from mmpose.registry import VISUALIZERS  # noqa: E402
from mmpose.structures import merge_data_samples  # noqa: E402


def parse_box(text: str) -> list[float]:
    values = text.split(",")
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--bbox {text!r}: expected x,y,w,h (four numbers)")
    try:
        return [float(v) for v in values]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bbox {text!r}: expected x,y,w,h (four numbers)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--bbox", type=parse_box, action="append", default=[],
                        help="person box x,y,w,h (repeat for several people)")
    parser.add_argument("--out", default="out.png", help="output image")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kpt-thr", type=float, default=0.3, help="hide weaker keypoints")
    add_runtime_args(parser)
    args = parser.parse_args(argv)

    cfg = Config.fromfile(args.config)
    net, card = inference_net(cfg, args.checkpoint, device=args.device)
    model = net.estimator
    if args.backend != "torch" or args.precision != "fp32" or args.compile:
        runner = make_runner(args.backend, args.precision, model=net,
                             onnx_path=args.onnx, output_names=OUTPUT_NAMES,
                             compile=args.compile, threads=args.threads,
                             export_size=input_size(cfg), card=card)
        model = use_runner(model, runner)
        print(f"network: {runner.describe()}")
    boxes = np.array(args.bbox, dtype=np.float32) if args.bbox else None
    samples = inference_topdown(model, args.image, boxes, bbox_format="xywh")
    # The opencv backend of mmpose 1.3.2 fails under numpy 2 (int() of a 1-element array).
    visualizer = VISUALIZERS.build(dict(type="PoseLocalVisualizer", name="image_demo",
                                        backend="matplotlib"))
    visualizer.set_dataset_meta(model.dataset_meta)
    image = mmcv.imread(args.image, channel_order="rgb")
    visualizer.add_datasample("result", image, merge_data_samples(samples), draw_gt=False,
                              draw_bbox=True, kpt_thr=args.kpt_thr, show=False,
                              out_file=args.out)
    print(f"{len(samples)} people drawn to {args.out}")


if __name__ == "__main__":
    main()
