"""Optimiser with openseg's parameter grouping and its iteration-based LR policies."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .utils.configer import Configer

# Attributes held directly by a module (not in a conv/linear layer) that are never decayed.
NO_DECAY_ATTRS = ("relative_position_bias_table", "absolute_pos_embed")


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """`group_method=decay`: conv/linear weights decay; their biases, every norm parameter and
    position tables do not. Every parameter must land in exactly one group."""
    decay, no_decay = [], []
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
            decay.append(module.weight)
            if module.bias is not None:
                no_decay.append(module.bias)
            continue
        for name in ("weight", "bias", *NO_DECAY_ATTRS):
            param = getattr(module, name, None)
            if isinstance(param, nn.Parameter):
                no_decay.append(param)
    grouped = {id(p) for p in decay + no_decay}
    missed = [n for n, p in model.named_parameters() if id(p) not in grouped]
    if missed or len(grouped) != len(decay) + len(no_decay):
        raise RuntimeError(f"decay grouping left parameters out or counted twice: {missed}")
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, configer: Configer) -> torch.optim.Optimizer:
    method = configer.get("optim.optim_method")
    if method not in ("adamw", "sgd"):
        raise ValueError(f"optim.optim_method={method!r}; expected 'adamw' or 'sgd'")
    params = configer.get(f"optim.{method}")
    lr = configer.get("lr.base_lr")
    group_method = configer.get("optim.group_method", default=None)
    if group_method == "decay":
        groups = decay_groups(model, params["weight_decay"])
    elif group_method in (None, "none"):
        groups = [{"params": list(model.parameters()), "weight_decay": params["weight_decay"]}]
    else:
        raise ValueError(f"optim.group_method={group_method!r}; expected 'decay' or none")
    if method == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(params["betas"]), eps=params["eps"])
    return torch.optim.SGD(groups, lr=lr, momentum=params["momentum"],
                           nesterov=params.get("nesterov", False))


def lr_factor(configer: Configer) -> Callable[[int], float]:
    """LR multiplier as a function of completed iterations (`lr_policy`, power 0.9)."""
    policy = configer.get("lr.lr_policy")
    max_iters = configer.get("solver.max_iters")
    if policy == "lambda_poly":
        return lambda it: (1.0 - min(it, max_iters) / max_iters) ** 0.9
    if policy == "warm_lambda_poly":
        warm = configer.get("lr.warm.warm_iters")
        ratio = configer.get("lr.warm.warm_ratio")
        if max_iters <= warm:
            raise ValueError(f"solver.max_iters={max_iters} must exceed lr.warm.warm_iters={warm}")

        def factor(it: int) -> float:
            if it < warm:
                return 1.0 - (1.0 - it / warm) * (1.0 - ratio)
            return (1.0 - min(it - warm, max_iters - warm) / (max_iters - warm)) ** 0.9
        return factor
    raise ValueError(f"lr.lr_policy={policy!r}; expected 'lambda_poly' or 'warm_lambda_poly'")


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> float:
    lr = base_lr * factor
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
