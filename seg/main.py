"""openseg-style entry point: `python main.py --configs X.json --phase train|test [flags]
[key.sub value ...]`. Flags override the JSON; trailing pairs override any key."""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

import shared_package  # noqa: F401  (stops here if hrformer_common is missing)
from hrformer_common import dist as hrformer_dist
from lib.segmentor.trainer import NonFiniteLossError
from lib.utils import distributed
from lib.utils.command_line import given_no_op_flags, load_config
from lib.utils.configer import Configer
from lib.utils.logger import setup_logging

log = logging.getLogger("main")


def relaunch_with_torchrun(args: argparse.Namespace, argv: list[str]) -> None:
    """The original re-launched itself with one process per listed GPU; so does this."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    nproc = len(visible.split(",")) if visible else len(args.gpu or [0])
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
           "--standalone", str(Path(__file__).resolve()), *argv]
    os.execv(sys.executable, cmd)


def run_phase(configer: Configer, device: torch.device) -> dict | float | None:
    if configer.get("phase") == "train":
        from lib.segmentor.trainer import Trainer
        return Trainer(configer, device).train()
    from lib.segmentor.tester import run_test
    return run_test(configer, device)


def main(argv: list[str] | None = None) -> dict | float | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    configer, args = load_config(argv)
    if args.distributed and not distributed.launched_by_torchrun():
        relaunch_with_torchrun(args, argv)
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    distributed.init(device_type)
    device = torch.device(device_type, distributed.local_rank()) if device_type == "cuda" \
        else torch.device("cpu")
    log_file = configer.get("logging.log_file", default=None) \
        if configer.get("logging.log_to_file", default=False) else None
    setup_logging(log_file, configer.get("logging.stdout_level", default="info"))
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    seed = configer.get("seed", default=304)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if args.cudnn is not None and device_type == "cuda":
        torch.backends.cudnn.benchmark = args.cudnn
    log.info("config %s, phase %s, %d process(es) on %s", args.configs,
             configer.get("phase"), distributed.world_size(), device)
    for flag in given_no_op_flags(args):
        log.info("--%s is accepted for the original's scripts and changes nothing", flag)
    try:
        return hrformer_dist.run_reporting_stalls(lambda: run_phase(configer, device))
    finally:
        distributed.cleanup()


if __name__ == "__main__":
    try:
        main()
    except (hrformer_dist.StalledRankError, NonFiniteLossError) as err:
        print(f"main.py: {err}", file=sys.stderr)
        sys.exit(1)
