"""The command line of tools/train.py and tools/test.py: shared arguments and the config they
load (overrides, launcher, work dir, config checks)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from mmengine.config import Config, DictAction

from hrformer_common import dist as hrformer_dist
from .config_check import check_hooks, check_keypoints, check_option_types, check_top_level


def tool_parser(description: str) -> argparse.ArgumentParser:
    """tools/train.py and tools/test.py: a parser with their shared first arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help="config file")
    parser.add_argument("--work-dir", help="output folder (default: work_dirs/<config name>)")
    return parser


def parse_tool_args(parser: argparse.ArgumentParser, argv: list[str] | None,
                    cfg_options_help: str) -> argparse.Namespace:
    """tools/train.py and tools/test.py: add their shared last options, parse, set LOCAL_RANK."""
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help=cfg_options_help)
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"],
                        default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def load_tool_config(args: argparse.Namespace) -> Config:
    """The config of `parse_tool_args`' arguments: --cfg-options, launcher, work dir.
    Mistyped keys, values of the wrong kind and datasets whose keypoints do not fit the head
    are refused here (config_check.py).

    The work dir is --work-dir, else the config's `work_dir`, else work_dirs/<config name>.
    """
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_option_types(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    check_top_level(cfg)
    check_hooks(cfg)
    check_keypoints(cfg)
    cfg.launcher = args.launcher
    # mmengine's own process-group start (GPUs) takes the timeout in seconds.
    dist_cfg = cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})
    dist_cfg.setdefault("timeout", hrformer_dist.process_group_timeout().total_seconds())
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(
        Path("work_dirs") / Path(args.config).stem)
    return cfg
