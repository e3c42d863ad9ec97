"""Train a top-down pose model with mmengine's Runner.

    python tools/train.py configs/hrformer/coco/hrt_small_coco_256x192.py
    bash tools/dist_train.sh <config> <num processes> [options]     # torchrun, --launcher pytorch

Runs the same config on GPUs and on CPU-only machines (fp32 and gloo there). `load_from`
(config) or `--load-from` fine-tunes from a released checkpoint (hrformer_pose/fine_tune.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations first)
from hrformer_common.dist import run_reporting_stalls  # noqa: E402
from hrformer_pose.device import adapt_to_device, init_cpu_process_group  # noqa: E402
from hrformer_pose.fine_tune import PoseRunner  # noqa: E402
from hrformer_pose.tool_args import load_tool_config, parse_tool_args, tool_parser  # noqa: E402
from mmengine.config import Config  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = tool_parser("Train a pose model")
    parser.add_argument("--resume", nargs="?", const="auto", default=None,
                        help="resume model, optimizer and schedule: from the given checkpoint, "
                             "or (no value) from the latest one in the work dir")
    parser.add_argument("--load-from", metavar="FILE_OR_URL",
                        help="fine-tune: start from every tensor of a pose checkpoint that "
                             "fits; a head of another keypoint count is re-initialised")
    parser.add_argument("--no-validate", action="store_true", help="skip validation")
    parser.add_argument("--auto-scale-lr", action="store_true",
                        help="scale lr by (total batch) / auto_scale_lr.base_batch_size")
    parser.add_argument("--seed", type=int, help="random seed")
    parser.add_argument("--deterministic", action="store_true")
    return parse_tool_args(parser, argv, cfg_options_help="override config entries, "
                                                          "e.g. train_cfg.max_epochs=1")


def build_config(args: argparse.Namespace) -> Config:
    cfg = load_tool_config(args)
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    elif args.load_from:
        cfg.load_from = args.load_from
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint.pop("save_best", None)
    if args.auto_scale_lr:
        cfg.auto_scale_lr = {**cfg.get("auto_scale_lr", {}), "enable": True}
    if args.seed is not None or args.deterministic:
        cfg.randomness = dict(seed=args.seed, deterministic=args.deterministic)
    return adapt_to_device(cfg)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    init_cpu_process_group(args.launcher)
    runner = PoseRunner.from_cfg(build_config(args))
    run_reporting_stalls(runner.train)


if __name__ == "__main__":
    main()
