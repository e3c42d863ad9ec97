"""Evaluate a checkpoint (ours, or an official mmpose 0.x one) with the config's evaluator.

    python tools/test.py <config> <checkpoint> [--cfg-options ...]
    bash tools/dist_test.sh <config> <checkpoint> <num processes> [options]

COCO val2017 with the detector boxes of the config; ground-truth boxes with
`--cfg-options val_dataloader.dataset.bbox_file=None test_dataloader.dataset.bbox_file=None`.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations first)
from hrformer_pose.checkpoint_keys import HEAD, OFFICIAL_HEAD  # noqa: E402
from hrformer_pose.hrformer import reparameterize_model  # noqa: E402
from hrformer_common.dist import run_reporting_stalls  # noqa: E402
from hrformer_pose.device import adapt_to_device, init_cpu_process_group  # noqa: E402
from hrformer_pose.tool_args import load_tool_config, parse_tool_args, tool_parser  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = tool_parser("Evaluate a pose model")
    parser.add_argument("checkpoint", help="checkpoint (mmpose 1.x or the original's layout), "
                                           "a file or an http(s) URL (downloaded once)")
    parser.add_argument("--out", help="also dump the raw predictions to this .pkl file")
    return parse_tool_args(parser, argv, cfg_options_help="override config entries")


def build_config(args: argparse.Namespace) -> Config:
    cfg = load_tool_config(args)
    # The backbone's ImageNet init is pointless (and may be absent) when testing.
    cfg.model.backbone.init_cfg = None
    if args.out:
        cfg.test_evaluator = [*(cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                                else [cfg.test_evaluator]),
                              dict(type="DumpResults", out_file_path=args.out)]
    return adapt_to_device(cfg)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    init_cpu_process_group(args.launcher)
    runner = Runner.from_cfg(build_config(args))
    # The original's head keys (`keypoint_head.*`) are renamed while loading (see
    # hrformer_pose/checkpoint_keys.py and tools/convert_official_checkpoint.py).
    runner.load_checkpoint(args.checkpoint, map_location="cpu",
                           revise_keys=[(r"^module\.", ""), ("^" + re.escape(OFFICIAL_HEAD), HEAD)])
    reparameterize_model(runner.model)  # evaluation only: BatchNorm folded once, before the loop
    return run_reporting_stalls(runner.test)


if __name__ == "__main__":
    main()
