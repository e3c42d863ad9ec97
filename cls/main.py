"""Train or evaluate an ImageNet classifier (HRFormer or a timm baseline).

The original's command line (Swin-Transformer style), run through torchrun:

    torchrun --nproc_per_node 8 main.py --cfg configs/hrt/hrt_small.yaml \
        --data-path /data/imagenet --batch-size 128
    python main.py --eval --cfg configs/hrt/hrt_small.yaml --resume hrt_small.pth \
        --data-path /data/imagenet

The output folder is `<--output>/<MODEL.NAME>/<--tag>`; a run restarted with the same folder
resumes from its `latest.pth`. Fine-tuning on an image folder of other classes:

    python main.py --cfg configs/hrt/hrt_small.yaml --data-path my_data \
        --pretrained hrt_small.pth
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import shared_package  # noqa: F401  (stops here if hrformer_common is missing)
from config import DEFAULT_NUM_CLASSES, ConfigError, load_config
from data import (DataLayoutError, build_loaders, build_mixup, folder_class_names,
                  resolve_num_classes, resolve_zip_mode)
from engine.checkpoint import (TrainingState, find_auto_resume, load_pretrained, resume_training,
                               save_checkpoint)
from engine.distributed import DistInfo, barrier, init_distributed
from engine.logger import create_logger, create_tensorboard_writer
from engine.loop import (Amp, NonFiniteLossError, RunLog, TrainParts, throughput,
                         train_one_epoch, validate)
from engine.optim import build_optimizer, build_scheduler, scaled_lrs
from hrformer_common import dist as hrformer_dist
from models import build_model
from models.hrformer import reparameterize_model
from hrformer_common.checkpoint import (CheckpointError, load_checkpoint, load_weights,
                                       state_dict_of)
from hrformer_common.hub import DownloadError, is_url
from hrformer_common.rng import gather_rng_states

METRICS_FILE = "metrics.jsonl"
# --data-set names of the original -> DATA.DATASET
DATA_SETS = {"IMNET": "imagenet"}
# Bad input: main.py ends with the message alone (exit status 2), no traceback.
BAD_INPUT = (ConfigError, DataLayoutError, CheckpointError, DownloadError)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser("HRFormer ImageNet training and evaluation")
    p.add_argument("--cfg", required=True, metavar="FILE", help="yaml config file")
    p.add_argument("--opts", nargs="+", default=None, help="config overrides: KEY VALUE ...")
    p.add_argument("--batch-size", type=int, help="batch size per process")
    p.add_argument("--data-path", help="ImageNet root (folder or zip layout, detected)")
    p.add_argument("--zip", action="store_true", help="require the zipped layout")
    p.add_argument("--cache-mode", default="part", choices=["no", "full", "part"],
                   help="zip layout: no cache, cache all images, or this process's share")
    p.add_argument("--resume", help="checkpoint to resume from (or to evaluate)")
    p.add_argument("--pretrained", metavar="FILE_OR_URL",
                   help="start training from this checkpoint (file or http(s) URL, weights "
                        "only): every tensor whose name and shape fit is loaded, a classifier "
                        "of another class count stays initialised")
    p.add_argument("--accumulation-steps", type=int, help="gradient accumulation steps")
    p.add_argument("--use-checkpoint", action="store_true",
                   help="gradient checkpointing (saves memory): HRFormer per transformer "
                        "block, timm baselines through timm (an error where timm has none)")
    # The original parsed this flag but never applied it; here it overrides AMP_OPT_LEVEL.
    p.add_argument("--amp-opt-level", choices=["O0", "O1", "O2"],
                   help="O0: fp32; O1/O2: torch.amp autocast (default: from the config)")
    p.add_argument("--output", default="output", metavar="PATH", help="root of output folders")
    p.add_argument("--tag", help="output sub-folder name (default: the config's TAG)")
    p.add_argument("--eval", action="store_true", help="evaluate only")
    p.add_argument("--throughput", action="store_true", help="measure throughput only")
    p.add_argument("--data-set", choices=sorted(DATA_SETS),
                   help="sets DATA.DATASET; only ImageNet-1K (IMNET) is implemented")
    # No-op kept for the original's scripts: torch.distributed.launch passes --local-rank, and
    # the LOCAL_RANK environment variable (set by torchrun and launch alike) is what is used.
    p.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# flag -> the config key it sets when given (the store_true flags set True)
FLAG_KEYS = {"batch_size": "DATA.BATCH_SIZE", "data_path": "DATA.DATA_PATH", "zip": "DATA.ZIP_MODE",
             "resume": "MODEL.RESUME", "pretrained": "MODEL.PRETRAINED",
             "accumulation_steps": "TRAIN.ACCUMULATION_STEPS",
             "use_checkpoint": "TRAIN.USE_CHECKPOINT", "amp_opt_level": "AMP_OPT_LEVEL",
             "tag": "TAG"}


def build_config(args: argparse.Namespace):
    """The yaml config with --opts, then the dedicated flags (which win, as in the original).

    The data layout is resolved here (DATA.ZIP_MODE = what DATA_PATH holds), so the frozen
    config, and the config.yaml saved from it, says which layout the run reads. So is, for
    the folder layout, MODEL.NUM_CLASSES (data/classes.py): the number of class folders
    unless --opts or the yaml gives one (other than the default 1000), which must equal it
    for training.
    """
    opts = list(args.opts or [])
    if args.data_set:
        opts += ["DATA.DATASET", DATA_SETS[args.data_set]]
    config = load_config(args.cfg, opts)
    config.defrost()
    for flag, key in FLAG_KEYS.items():
        if getattr(args, flag):
            *sections, name = key.split(".")
            node = config
            for section in sections:
                node = node[section]
            node[name] = getattr(args, flag)
    config.DATA.CACHE_MODE = args.cache_mode
    config.EVAL_MODE = args.eval
    config.THROUGHPUT_MODE = args.throughput
    config.OUTPUT = str(Path(args.output) / config.MODEL.NAME / config.TAG)
    check_pretrained(config)
    if not config.DATA.DATA_PATH:
        raise SystemExit("main.py: no data path; pass --data-path or set DATA.DATA_PATH")
    config.DATA.ZIP_MODE = resolve_zip_mode(config.DATA.DATA_PATH, config.DATA.ZIP_MODE)
    if not config.DATA.ZIP_MODE:
        given = "MODEL.NUM_CLASSES" in opts[::2] or \
            config.MODEL.NUM_CLASSES != DEFAULT_NUM_CLASSES
        config.MODEL.NUM_CLASSES = resolve_num_classes(
            config.DATA.DATA_PATH, folder_class_names(config.DATA.DATA_PATH),
            config.MODEL.NUM_CLASSES, given, exact=trains(config))
    config.freeze()
    return config


def check_pretrained(config) -> None:
    """MODEL.PRETRAINED starts a training run: not with --resume (which continues one) or
    --eval / --throughput (which use --resume's weights as they are); a file must exist."""
    source = config.MODEL.PRETRAINED
    if not source:
        return
    if config.MODEL.RESUME:
        raise SystemExit(f"main.py: --pretrained {source} and --resume {config.MODEL.RESUME} "
                         "exclude each other: --pretrained starts a run, --resume continues "
                         "one (a restarted fine-tuning run auto-resumes on its own)")
    if not trains(config):
        raise SystemExit(f"main.py: --pretrained {source} initialises training; evaluate a "
                         "checkpoint with --eval --resume FILE")
    if not is_url(source) and not Path(source).is_file():
        raise SystemExit(f"main.py: --pretrained {source}: file not found")


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def build_criterion(config, mixup):
    """Soft-target CE with mixup (smoothing is folded into the targets), else smoothed CE."""
    if mixup is not None:
        return SoftTargetCrossEntropy()
    if config.MODEL.LABEL_SMOOTHING > 0:
        return LabelSmoothingCrossEntropy(smoothing=config.MODEL.LABEL_SMOOTHING)
    return torch.nn.CrossEntropyLoss()


def resume_path(config, output: Path, logger) -> str:
    """An explicit --resume wins; otherwise AUTO_RESUME looks in the output folder.

    (The original let an auto-resume file silently override --resume.) A file found there
    also wins over --pretrained: the run it continues was initialised from it.
    """
    if config.MODEL.RESUME:
        return config.MODEL.RESUME
    if config.TRAIN.AUTO_RESUME and not config.EVAL_MODE:
        found = find_auto_resume(output)
        if found is not None:
            also = (f" (not --pretrained {config.MODEL.PRETRAINED}: the run continues)"
                    if config.MODEL.PRETRAINED else "")
            logger.info(f"auto-resume from {found}{also}")
            return str(found)
    return ""


def trains(config) -> bool:
    """Whether the run trains (not --eval, not --throughput)."""
    return not (config.EVAL_MODE or config.THROUGHPUT_MODE)


@dataclass
class Session:
    """What a run builds before it trains, evaluates or measures."""
    config: Any
    info: DistInfo
    output: Path
    logger: logging.Logger
    train_loader: Any
    val_loader: Any
    state: TrainingState  # the bare model, optimizer, lr schedule, scaler: what is saved
    net: nn.Module  # what runs forward: the model, or its DDP wrapper
    amp: Amp

    def validate(self) -> dict:
        return validate(self.config, self.net, self.val_loader, self.amp, self.info.device,
                        self.logger)

    def fold_for_inference(self) -> None:
        """Evaluation or throughput only: BatchNorm folded into the convs once (a no-op the
        second time), and the bare model runs (validate reduces its counts over processes)."""
        self.net = reparameterize_model(self.state.model)


def set_up(config, info: DistInfo) -> Session:
    """Output folder and log, loaders, model, optimizer and schedule, the DDP wrapper."""
    output = Path(config.OUTPUT)
    logger = create_logger(output, info.rank)
    if info.is_main:
        (output / "config.yaml").write_text(config.dump())
    logger.info(f"{info.world_size} process(es) on {info.device}; output {output}")
    _, val_set, train_loader, val_loader = build_loaders(config, info.rank, info.world_size,
                                                         trains(config))
    model = build_model(config).to(info.device)
    logger.info(f"{config.MODEL.NAME}: {sum(p.numel() for p in model.parameters()):,} params")
    amp = Amp.from_config(config, info.device)
    scaler = amp.grad_scaler()
    lrs = scaled_lrs(config, info.world_size)
    logger.info(f"scaled lr {lrs.lr:.3e}, warmup lr {lrs.warmup_lr:.3e}, min lr {lrs.min_lr:.3e}")
    optimizer = build_optimizer(config, model, lrs.lr)
    lr_scheduler = (build_scheduler(config, optimizer, lrs, len(train_loader))
                    if trains(config) else None)
    net = model
    if info.world_size > 1:
        # Unsynchronised BatchNorm statistics per process, as in the original.
        net = DistributedDataParallel(
            model, device_ids=[info.local_rank] if info.device.type == "cuda" else None,
            broadcast_buffers=False)
    state = TrainingState(model, optimizer, lr_scheduler, scaler, config, val_set.classes)
    return Session(config, info, output, logger, train_loader, val_loader, state, net, amp)


def resume(session: Session, source: str) -> tuple[int, float, dict]:
    """Load the weights of `source` (and, when training, its optimizer, schedule, scaler and
    RNG states), then validate; returns (start epoch, best top-1, the validation result)."""
    config, info, logger = session.config, session.info, session.logger
    start_epoch, max_accuracy = config.TRAIN.START_EPOCH, 0.0
    checkpoint = load_checkpoint(source)
    load_weights(session.state.model, state_dict_of(checkpoint, source), source)
    resumable = all(k in checkpoint for k in ("optimizer", "lr_scheduler", "epoch"))
    if trains(config) and resumable and not config.MODEL.RESUME_ONLY_MODEL:
        start_epoch, max_accuracy = resume_training(checkpoint, source, session.state,
                                                    info.rank, info.world_size, logger)
    del checkpoint
    if not trains(config):
        session.fold_for_inference()
    result = session.validate()
    logger.info(f"accuracy of {source} on {result['count']} images: {result['acc1']:.2f}%")
    return start_epoch, max(max_accuracy, result["acc1"]), result


def save_epoch(session: Session, epoch: int, max_accuracy: float) -> None:
    """`latest.pth` (every SAVE_FREQ epochs and at the end also `ckpt_epoch_<n>.pth`) with
    every process's RNG state, written by rank 0; the others wait for it."""
    config = session.config
    rng = gather_rng_states()
    if session.info.is_main:
        periodic = epoch % config.SAVE_FREQ == 0 or epoch == config.TRAIN.EPOCHS - 1
        save_checkpoint(session.output, session.state, epoch, max_accuracy, rng, periodic,
                        session.logger)
    barrier()


def record_epoch(session: Session, log: RunLog, epoch: int, stats: dict, result: dict) -> dict:
    """One epoch's losses, accuracies and lr: appended to metrics.jsonl (rank 0) and written to
    tensorboard; returned as the history entry."""
    record = {"epoch": epoch, "train_loss": stats["loss"], "val_loss": result["loss"],
              "val_acc1": result["acc1"], "val_acc5": result["acc5"],
              "lr": session.state.optimizer.param_groups[0]["lr"]}
    if session.info.is_main:
        with open(session.output / METRICS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
    if log.writer is not None:
        for key in ("val_acc1", "val_acc5", "val_loss"):
            log.writer.add_scalar(key.replace("_", "/", 1), record[key], epoch)
        log.writer.flush()
    return record


def train(session: Session, start_epoch: int, max_accuracy: float, result: dict) -> dict:
    """The epoch loop: train, save, validate, record. Returns the last validation result,
    the per-epoch history and the best top-1."""
    config, state, logger = session.config, session.state, session.logger
    mixup = build_mixup(config)
    parts = TrainParts(session.net, build_criterion(config, mixup), state.optimizer,
                       state.lr_scheduler, state.scaler, session.amp, mixup)
    log = RunLog(logger, create_tensorboard_writer(session.output, session.info.rank))
    history, begin = [], time.time()
    logger.info(f"training epochs {start_epoch}..{config.TRAIN.EPOCHS - 1}")
    for epoch in range(start_epoch, config.TRAIN.EPOCHS):
        session.train_loader.sampler.set_epoch(epoch)
        stats = train_one_epoch(config, parts, session.train_loader, epoch, session.info, log)
        save_epoch(session, epoch, max_accuracy)
        result = session.validate()
        max_accuracy = max(max_accuracy, result["acc1"])
        logger.info(f"Max accuracy: {max_accuracy:.2f}%")
        history.append(record_epoch(session, log, epoch, stats, result))
    if log.writer is not None:
        log.writer.close()
    logger.info(f"training time {timedelta(seconds=int(time.time() - begin))}")
    return {"val": result, "history": history, "max_accuracy": max_accuracy}


def run(config, info: DistInfo) -> dict:
    """Train (or evaluate / measure); returns the last validation result and the history."""
    seed_everything(config.SEED + info.rank)
    session = set_up(config, info)
    start_epoch, max_accuracy, result = config.TRAIN.START_EPOCH, 0.0, {}
    source = resume_path(config, session.output, session.logger)
    if source:
        start_epoch, max_accuracy, result = resume(session, source)
        if config.EVAL_MODE:
            return {"val": result, "history": []}
    elif config.MODEL.PRETRAINED:
        load_pretrained(session.state.model, config.MODEL.PRETRAINED, session.logger)
    if not trains(config):
        session.fold_for_inference()
    if config.THROUGHPUT_MODE:
        return {"throughput": throughput(session.val_loader, session.net, session.amp,
                                         info.device, session.logger)}
    if config.EVAL_MODE:
        return {"val": session.validate(), "history": []}
    return train(session, start_epoch, max_accuracy, result)


def main(argv: list[str] | None = None) -> dict:
    info = init_distributed()
    config = build_config(parse_args(argv))
    try:
        return hrformer_dist.run_reporting_stalls(lambda: run(config, info))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except (NonFiniteLossError, hrformer_dist.StalledRankError) as err:
        print(f"main.py: {err}", file=sys.stderr)
        sys.exit(1)
    except BAD_INPUT as err:
        print(f"main.py: error: {err}", file=sys.stderr)
        sys.exit(2)
