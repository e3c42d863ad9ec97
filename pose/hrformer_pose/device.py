"""Make one config run on GPU clusters and on CPU-only machines alike; the tools' shared setup."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

from hrformer_common import dist as hrformer_dist
from .config_check import check_hooks, check_option_types, check_top_level


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU processes (gloo).

    mmengine's Runner always passes `device_ids=[LOCAL_RANK]`, which torch's DDP refuses for a
    module on the CPU; this wrapper drops it.
    """

    def __init__(self, module: torch.nn.Module, device_ids: list[int] | None = None,
                 **kwargs) -> None:
        super().__init__(module=module, device_ids=None, **kwargs)


def adapt_to_device(cfg: Config) -> Config:
    """Without CUDA: fp32 instead of AMP, gloo instead of NCCL, a CPU DDP wrapper (in place)."""
    if torch.cuda.is_available():
        return cfg
    wrapper = cfg.get("optim_wrapper", {})
    if wrapper.get("type") == "AmpOptimWrapper":
        wrapper.type = "OptimWrapper"
        for key in ("loss_scale", "dtype"):
            wrapper.pop(key, None)
        print_log("no CUDA: AmpOptimWrapper (fp16) replaced by OptimWrapper (fp32)",
                  logger="current")
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    model_wrapper = cfg.get("model_wrapper_cfg") or {}
    cfg.model_wrapper_cfg = {**model_wrapper, "type": "CPUDistributedDataParallel"}
    return cfg


def init_cpu_process_group(launcher: str) -> None:
    """Start the gloo process group for `--launcher pytorch` on a machine without CUDA.

    mmengine's own setup calls `torch.cuda.set_device` first, which fails without a GPU; once
    a group exists, the Runner uses it as is. Collectives time out after
    HRFORMER_DIST_TIMEOUT seconds (hrformer_dist.py).
    """
    if launcher != "pytorch" or torch.cuda.is_available() or dist.is_initialized():
        return
    hrformer_dist.init_process_group("gloo")


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
    Mistyped keys and values of the wrong kind are refused here (config_check.py).

    The work dir is --work-dir, else the config's `work_dir`, else work_dirs/<config name>.
    """
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_option_types(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    check_top_level(cfg)
    check_hooks(cfg)
    cfg.launcher = args.launcher
    # mmengine's own process-group start (GPUs) takes the timeout in seconds.
    dist_cfg = cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})
    dist_cfg.setdefault("timeout", hrformer_dist.process_group_timeout().total_seconds())
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(
        Path("work_dirs") / Path(args.config).stem)
    return cfg
