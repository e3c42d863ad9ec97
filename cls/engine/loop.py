"""One training epoch, evaluation reduced over processes, and the throughput probe."""
from __future__ import annotations

import datetime
import logging
import resource
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from timm.utils import AverageMeter
from torch import Tensor, nn

from hrformer_common.finite import NonFiniteLossError, check_loss

from .distributed import DistInfo, all_reduce_sum

__all__ = ["NonFiniteLossError", "train_one_epoch"]


@dataclass(frozen=True)
class Amp:
    """torch.amp settings: AMP_OPT_LEVEL O0 = off, O1 / O2 = autocast in AMP_DTYPE."""
    enabled: bool
    dtype: torch.dtype
    device_type: str

    @classmethod
    def from_config(cls, config, device: torch.device) -> "Amp":
        level, name = config.AMP_OPT_LEVEL, config.AMP_DTYPE
        if level not in ("O0", "O1", "O2"):
            raise ValueError(f"AMP_OPT_LEVEL={level!r}; expected O0, O1 or O2")
        dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16}
        if name not in dtypes:
            raise ValueError(f"AMP_DTYPE={name!r}; expected one of {sorted(dtypes)}")
        return cls(level != "O0", dtypes[name], device.type)

    def autocast(self):
        return torch.autocast(self.device_type, self.dtype, enabled=self.enabled)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling only for fp16 on CUDA (bf16 has fp32's range; CPU needs none)."""
        use = self.enabled and self.dtype == torch.float16 and self.device_type == "cuda"
        return torch.amp.GradScaler(self.device_type, enabled=use)


@dataclass(frozen=True)
class TrainParts:
    """What one optimisation step uses. `model` is what runs forward (the DDP wrapper when
    there is one); `mixup` is None without mixup / cutmix."""
    model: nn.Module
    criterion: Callable
    optimizer: torch.optim.Optimizer
    lr_scheduler: Any
    scaler: torch.amp.GradScaler
    amp: Amp
    mixup: Callable | None = None


@dataclass(frozen=True)
class RunLog:
    """Where progress goes: the text logger and the tensorboard writer (None: none)."""
    logger: logging.Logger
    writer: Any = None


def memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated, or the process's peak resident memory on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ddp_no_sync(model: nn.Module, sync: bool):
    return model.no_sync() if not sync and hasattr(model, "no_sync") else nullcontext()


@dataclass
class EpochMeters:
    """Running averages of one epoch: loss, gradient norm (per optimizer step), batch time."""
    loss: AverageMeter = field(default_factory=AverageMeter)
    grad_norm: AverageMeter = field(default_factory=AverageMeter)
    batch_time: AverageMeter = field(default_factory=AverageMeter)


def _batch_on_device(images: Tensor, targets: Tensor, device: torch.device,
                     mixup: Callable | None) -> tuple[Tensor, Tensor]:
    images = images.to(device, non_blocking=True)
    targets = targets.to(device, non_blocking=True)
    if mixup is not None:
        if len(images) % 2:  # batch mixing pairs samples; a skipped image can leave one odd
            images, targets = images[:-1], targets[:-1]
        images, targets = mixup(images, targets)
    return images, targets


def _forward_backward(config, parts: TrainParts, images: Tensor, targets: Tensor,
                      accumulation: int, sync: bool, where: str) -> Tensor:
    """The loss of one micro-batch, checked finite; its gradient (scaled, divided by the
    accumulation steps) added to the parameters' (all-reduced only when `sync`)."""
    with _ddp_no_sync(parts.model, sync):
        with parts.amp.autocast():
            loss = parts.criterion(parts.model(images), targets)
        check_loss(loss, where,
                   f"; the last checkpoint in {config.OUTPUT} is the last good state")
        parts.scaler.scale(loss / accumulation).backward()
    return loss


def _optimizer_step(config, parts: TrainParts, update_index: int) -> float:
    """Clip, step, update the scale and the lr schedule; returns the gradient norm.

    Clipped once per optimizer step, on the full accumulated gradient (the original clipped
    the partial sums at every micro-step)."""
    optimizer, scaler = parts.optimizer, parts.scaler
    scaler.unscale_(optimizer)
    max_norm = config.TRAIN.CLIP_GRAD if config.TRAIN.CLIP_GRAD else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(parts.model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    parts.lr_scheduler.step_update(update_index)
    return float(grad_norm)


def _log_iteration(config, log: RunLog, meters: EpochMeters, lr: float, epoch: int, idx: int,
                   steps: int, images_per_second: float, device: torch.device) -> None:
    """Loss and lr to tensorboard every iteration; a progress line every PRINT_FREQ."""
    global_step = epoch * steps + idx
    if log.writer is not None:
        log.writer.add_scalar("train/loss", meters.loss.val, global_step)
        log.writer.add_scalar("train/lr", lr, global_step)
    if idx % config.PRINT_FREQ == 0 or idx == steps - 1:
        eta = datetime.timedelta(seconds=int(meters.batch_time.avg * (steps - idx - 1)))
        log.logger.info(
            f"Train: [{epoch}/{config.TRAIN.EPOCHS}][{idx}/{steps}]\t"
            f"eta {eta} lr {lr:.6f}\t"
            f"time {meters.batch_time.val:.4f} ({meters.batch_time.avg:.4f})\t"
            f"loss {meters.loss.val:.4f} ({meters.loss.avg:.4f})\t"
            f"grad_norm {meters.grad_norm.val:.4f} ({meters.grad_norm.avg:.4f})\t"
            f"throughput {images_per_second:.1f} img/s\tmem {memory_mb(device):.0f}MB")


def train_one_epoch(config, parts: TrainParts, loader, epoch: int, dist_info: DistInfo,
                    log: RunLog) -> dict:
    """Returns {"loss": mean train loss, "skipped": corrupt images dropped}."""
    device = dist_info.device
    parts.model.train()
    parts.optimizer.zero_grad(set_to_none=True)
    steps = len(loader)
    accumulation = max(1, config.TRAIN.ACCUMULATION_STEPS)
    meters, skipped_total = EpochMeters(), 0
    start = end = time.time()
    for idx, (images, targets, skipped) in enumerate(loader):
        skipped_total += skipped
        images, targets = _batch_on_device(images, targets, device, parts.mixup)
        step_now = (idx + 1) % accumulation == 0
        loss = _forward_backward(config, parts, images, targets, accumulation, step_now,
                                 f"epoch {epoch} iteration {idx}")
        if step_now:
            meters.grad_norm.update(_optimizer_step(config, parts, epoch * steps + idx))
        meters.loss.update(loss.item(), len(targets))
        meters.batch_time.update(time.time() - end)
        end = time.time()
        rate = len(targets) * dist_info.world_size / max(meters.batch_time.avg, 1e-9)
        _log_iteration(config, log, meters, parts.optimizer.param_groups[0]["lr"], epoch, idx,
                       steps, rate, device)
    skipped_all = int(all_reduce_sum(torch.tensor([skipped_total], device=device)).item())
    if skipped_all:
        log.logger.warning(f"epoch {epoch}: skipped {skipped_all} unreadable training images")
    log.logger.info(f"EPOCH {epoch} training takes "
                    f"{datetime.timedelta(seconds=int(time.time() - start))}")
    return {"loss": meters.loss.avg, "skipped": skipped_all}


@torch.no_grad()
def validate(config, model: nn.Module, loader, amp: Amp, device: torch.device,
             logger: logging.Logger) -> dict:
    """Top-1 / top-5 (percent) and mean loss over the whole set, summed across processes."""
    model.eval()
    totals = torch.zeros(5, dtype=torch.float64, device=device)  # top1, top5, loss, n, skipped
    for idx, (images, targets, skipped) in enumerate(loader):
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with amp.autocast():
            logits = model(images)
        logits = logits.float()
        k = min(5, logits.shape[1])
        hits = logits.topk(k, dim=1).indices.eq(targets[:, None])
        totals += torch.tensor([hits[:, 0].sum().item(), hits.any(dim=1).sum().item(),
                                F.cross_entropy(logits, targets, reduction="sum").item(),
                                len(targets), skipped], dtype=torch.float64, device=device)
        if idx % config.PRINT_FREQ == 0:
            logger.info(f"Test: [{idx}/{len(loader)}]\tmem {memory_mb(device):.0f}MB")
    top1, top5, loss_sum, count, skipped = all_reduce_sum(totals).tolist()
    if count == 0:
        raise RuntimeError("validation saw no images")
    if skipped:
        logger.warning(f"validation skipped {int(skipped)} unreadable images")
    result = {"acc1": 100 * top1 / count, "acc5": 100 * top5 / count,
              "loss": loss_sum / count, "count": int(count)}
    logger.info(f" * Acc@1 {result['acc1']:.3f} Acc@5 {result['acc5']:.3f}")
    return result


@torch.no_grad()
def throughput(loader, model: nn.Module, amp: Amp, device: torch.device,
               logger: logging.Logger, warmup: int = 50, timed: int = 100) -> float:
    """Images per second of forward passes on one validation batch."""
    model.eval()
    images = next(iter(loader))[0].to(device, non_blocking=True)
    with amp.autocast():
        for _ in range(warmup):
            model(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.time()
        for _ in range(timed):
            model(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
    rate = timed * len(images) / (time.time() - start)
    logger.info(f"batch_size {len(images)} throughput {rate:.1f} img/s")
    return rate
