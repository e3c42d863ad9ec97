"""Optimizer and LR schedule of the original recipe, built from timm components."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.optim import create_optimizer_v2, param_groups_weight_decay
from timm.scheduler import CosineLRScheduler, PolyLRScheduler, StepLRScheduler
from torch import nn

REFERENCE_BATCH = 512  # BASE_LR, WARMUP_LR and MIN_LR are given for 512 images per step
LINEAR_FINAL_RATE = 0.01  # the original's "linear" schedule ends at 1% of the peak lr


@dataclass(frozen=True)
class ScaledLR:
    lr: float
    warmup_lr: float
    min_lr: float


def scaled_lrs(config, world_size: int) -> ScaledLR:
    """The linear scaling rule: x (per-process batch x processes / 512), x accumulation steps."""
    factor = config.DATA.BATCH_SIZE * world_size / REFERENCE_BATCH
    if config.TRAIN.ACCUMULATION_STEPS > 1:
        factor *= config.TRAIN.ACCUMULATION_STEPS
    t = config.TRAIN
    return ScaledLR(t.BASE_LR * factor, t.WARMUP_LR * factor, t.MIN_LR * factor)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """[decay, no-decay], the original's group order (so optimizer states load both ways).

    No decay for 1-D tensors, `*.bias`, and the model's `no_weight_decay()` names (timm's
    rule). HRFormer defines no such names, so its relative-position tables are decayed, as in
    the original; the timm baselines exempt theirs (e.g. Swin's tables).
    """
    skip = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    groups = param_groups_weight_decay(model, weight_decay, no_weight_decay_list=skip)
    return sorted(groups, key=lambda group: group["weight_decay"] == 0)


def build_optimizer(config, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    opt = config.TRAIN.OPTIMIZER
    name = opt.NAME.lower()
    groups = parameter_groups(model, config.TRAIN.WEIGHT_DECAY)
    if name == "adamw":
        return create_optimizer_v2(groups, "adamw", lr=lr, weight_decay=config.TRAIN.WEIGHT_DECAY,
                                   eps=opt.EPS, betas=tuple(opt.BETAS))
    if name == "sgd":  # timm's "sgd" is Nesterov SGD, as the original's
        return create_optimizer_v2(groups, "sgd", lr=lr, weight_decay=config.TRAIN.WEIGHT_DECAY,
                                   momentum=opt.MOMENTUM)
    raise ValueError(f"TRAIN.OPTIMIZER.NAME={opt.NAME!r}; expected 'adamw' or 'sgd'")


def build_scheduler(config, optimizer: torch.optim.Optimizer, lrs: ScaledLR,
                    iters_per_epoch: int):
    """Per-iteration schedule (call `step_update(epoch * iters_per_epoch + idx)`)."""
    sched = config.TRAIN.LR_SCHEDULER
    total = int(config.TRAIN.EPOCHS * iters_per_epoch)
    warmup = int(config.TRAIN.WARMUP_EPOCHS * iters_per_epoch)
    name = sched.NAME.lower()
    if name == "cosine":
        # warmup_prefix=False: the cosine runs over the absolute step, warm-up included.
        return CosineLRScheduler(optimizer, t_initial=total, lr_min=lrs.min_lr,
                                 warmup_lr_init=lrs.warmup_lr, warmup_t=warmup, cycle_limit=1,
                                 t_in_epochs=False, warmup_prefix=False)
    if name == "linear":
        # Linear decay after warm-up from lr to 1% of lr = timm's poly schedule with power 1.
        return PolyLRScheduler(optimizer, t_initial=total - warmup, power=1.0,
                               lr_min=lrs.lr * LINEAR_FINAL_RATE, warmup_lr_init=lrs.warmup_lr,
                               warmup_t=warmup, warmup_prefix=True, t_in_epochs=False)
    if name == "step":
        return StepLRScheduler(optimizer, decay_t=int(sched.DECAY_EPOCHS * iters_per_epoch),
                               decay_rate=sched.DECAY_RATE, warmup_lr_init=lrs.warmup_lr,
                               warmup_t=warmup, t_in_epochs=False)
    raise ValueError(f"TRAIN.LR_SCHEDULER.NAME={sched.NAME!r}; expected cosine, linear or step")
