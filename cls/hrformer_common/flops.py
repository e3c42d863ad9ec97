"""Parameters and FLOPs of a task's models for a fixed input size.

Each task's `tools/flops.py` declares its models (`timing.TaskModel`, the benchmark's) in a
`Flops`; this file does the rest:

    python tools/flops.py [--models NAME ...] [--input-size H [W]] [--json FILE]

The model runs once (batch 1, eval, attention="math") on the meta device, so only shapes are
computed; a TorchDispatchMode sees every aten op and prices it in three conventions at once:

- original: the original repository's jit-trace counter, which produced its table (T 1.83,
  S 3.56, B 13.71 GFLOPs at 224x224): 1 per multiply-add of conv / linear / matmul (conv bias
  ignored) plus, per output element, 1 for add/sub/mul/div/relu, 4 for batch norm, 5 for
  softmax, 2 for rsqrt, 1 for dropout; LayerNorm, GELU, pooling and resizing are free.
- fvcore: fvcore's FlopCountAnalysis with its default handles, which gives the reference
  "GMac" values (T 1.761, S 3.460, B 13.523): multiply-adds, plus 2 per batch-norm element,
  5 per layer-norm element, 1 / 4 per nearest / bilinear output; other elementwise ops free.
- complete: everything our model computes, per element:

  | op                               | cost                                    |
  |----------------------------------|-----------------------------------------|
  | conv, linear, matmul             | 1 per multiply-add                      |
  | conv / linear bias               | 1 per output                            |
  | add, sub, mul, div, relu         | 1 per output                            |
  | batch norm (eval)                | 4 (centre, normalise, scale, shift)     |
  | layer norm                       | 6 (batch norm's 4 + mean, variance)     |
  | softmax                          | 5 (max, subtract, exp, sum, divide)     |
  | GELU (erf form)                  | 5 (scale, erf, add 1, two multiplies)   |
  | nearest / bilinear resize        | 1 / 4 per output                        |
  | mean, average pooling            | 1 per input                             |

The original's graph differed from ours in a few places; `original_graph(core)` adds, per
module of the core, what its trace held and ours lacks, so that the first two conventions
reproduce its numbers (the cls and pose tools pass their copy of the core; without it the
counts are of our graph in each convention). "complete" counts our model as it runs: where
windows need padding, the original also ran out_proj on the padded tokens, so at small
inputs its count can exceed ours.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from .tables import destination_problem, write_rows
from .timing import TaskModel

aten = torch.ops.aten
CONVENTIONS = ("original", "fvcore", "complete")
# module type -> (module, inputs, output) -> counts to add in (original, fvcore)
Corrections = Mapping[type, Callable[[nn.Module, tuple, object], tuple[int, int]]]


def units(kind: str, args: tuple, out: Tensor | tuple) -> int:
    """How many units an aten op (its args, its output) is priced by."""
    out = out[0] if isinstance(out, tuple) else out
    match kind:
        case "outputs":
            return out.numel()
        case "inputs":
            return args[0].numel()
        case "conv_macs":  # weight (Cout, Cin / groups, kh, kw)
            return out.numel() * math.prod(args[1].shape[1:])
        case "conv_bias":
            return out.numel() if args[2] is not None else 0
        case "mm_macs":  # mm(a, b), bmm(a, b)
            return out.numel() * args[0].shape[-1]
        case "addmm_macs":  # addmm(bias, a, b)
            return out.numel() * args[1].shape[-1]
    raise KeyError(f"unknown unit {kind!r}")


ELEMENTWISE = [("outputs", (1, 0, 1))]
# op -> [(unit, cost per unit in CONVENTIONS order)].
OP_COSTS: dict[object, list[tuple[str, tuple[int, int, int]]]] = {
    aten.convolution: [("conv_macs", (1, 1, 1)), ("conv_bias", (0, 0, 1))],
    # Bias of a linear: the original's torch traced linears on tokens as matmul + add_ (the
    # classifier's 2-D one is fixed in original_graph); ours runs addmm, or mm + add.
    aten.addmm: [("addmm_macs", (1, 1, 1)), ("outputs", (1, 0, 1))],
    aten.mm: [("mm_macs", (1, 1, 1))],
    aten.bmm: [("mm_macs", (1, 1, 1))],
    **{op: ELEMENTWISE for op in (aten.add, aten.add_, aten.sub, aten.sub_, aten.mul,
                                  aten.mul_, aten.div, aten.div_, aten.relu, aten.relu_)},
    aten.native_batch_norm: [("outputs", (4, 2, 4))],
    aten._native_batch_norm_legit_no_training: [("outputs", (4, 2, 4))],
    aten.native_layer_norm: [("outputs", (0, 5, 6))],
    aten._softmax: [("outputs", (5, 0, 5))],
    aten.rsqrt: [("outputs", (2, 0, 2))],
    aten.gelu: [("outputs", (0, 0, 5))],
    aten.upsample_nearest2d: [("outputs", (0, 1, 1))],
    aten.upsample_bilinear2d: [("outputs", (0, 4, 4))],
    aten.mean: [("inputs", (0, 0, 1))],
    aten.avg_pool2d: [("inputs", (0, 0, 1))],
    aten._adaptive_avg_pool2d: [("inputs", (0, 0, 1))],
}
# Data movement (free); any other op is reported as uncounted.
FREE_OPS = {aten.view, aten._unsafe_view, aten.reshape, aten.permute, aten.transpose, aten.t,
            aten.expand, aten.unsqueeze, aten.squeeze, aten.clone, aten.cat, aten.unbind,
            aten.split, aten.index, aten.slice, aten.select, aten.constant_pad_nd, aten.empty,
            aten.detach, aten.alias, aten._to_copy, aten.copy_}


class FlopCounter(TorchDispatchMode):
    """Sums OP_COSTS over the aten ops run inside it; `totals` follows CONVENTIONS."""

    def __init__(self) -> None:
        super().__init__()
        self.totals = [0, 0, 0]
        self.uncounted: set[str] = set()

    def add(self, count: int, costs: Sequence[int]) -> None:
        for k, cost in enumerate(costs):
            self.totals[k] += count * cost

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        packet = func.overloadpacket
        if packet in OP_COSTS:
            for kind, costs in OP_COSTS[packet]:
                self.add(units(kind, args, out), costs)
        elif packet not in FREE_OPS:
            self.uncounted.add(str(packet))
        return out


# What the original's trace held beyond our ops, in (original, fvcore). Deduced from the
# reference totals, which these reproduce exactly; each is needed (without it a cls or pose
# total misses its reference value):
# - attention: a dropout on the softmax output; out_proj (and its bias add) ran on the padded
#   windows before the crop, where ours runs after it.
# - FFN: nn.Dropout after the depthwise conv's GELU and after the last GELU.
# - fusion: the resize to the exact size always ran, even when the sizes already matched.
# - classifier: a linear on 2-D input traced as addmm, without a separate bias add.
def _attention_extra(module: nn.Module, inputs: tuple, output: Tensor) -> tuple[int, int]:
    b, h, w, c = inputs[0].shape
    ws = module.window
    tokens = b * (h + -h % ws) * (w + -w % ws)
    padding_macs = (tokens - b * h * w) * c * c
    probs = tokens * module.heads * ws * ws
    return probs + padding_macs + padding_macs // c, padding_macs


def _ffn_extra(module: nn.Module, inputs: tuple, output: Tensor) -> tuple[int, int]:
    hidden = output.numel() // module.fc2.out_channels * module.fc1.out_channels
    return hidden + output.numel(), 0


def _fusion_extra(module: nn.Module, inputs: tuple, outputs: list[Tensor]) -> tuple[int, int]:
    xs = inputs[0]
    skipped = sum(y.numel() for i, y in enumerate(outputs) for j in range(i + 1, len(xs))
                  if [s << (j - i) for s in xs[j].shape[-2:]] == list(xs[i].shape[-2:]))
    return 0, 4 * skipped


def _linear_extra(module: nn.Linear, inputs: tuple, output: Tensor) -> tuple[int, int]:
    return (-output.numel() if inputs[0].dim() == 2 and module.bias is not None else 0), 0


def original_graph(core: ModuleType) -> Corrections:
    """The corrections to the original's graph for the modules of `core` (a copy of the
    backbone core: its LocalWindowAttention, ConvFFN and HRModule)."""
    return {core.LocalWindowAttention: _attention_extra, core.ConvFFN: _ffn_extra,
            core.HRModule: _fusion_extra, nn.Linear: _linear_extra}


def count(model: nn.Module, input_size: Sequence[int], corrections: Corrections | None = None,
          device: str = "meta") -> FlopCounter:
    """Run `model` (moved to `device`) once on a (1, 3, H, W) input; return the counter."""
    model = model.eval().to(device)
    counter = FlopCounter()

    def hook(extra: Callable) -> Callable:
        return lambda module, args, output: counter.add(1, extra(module, args, output) + (0,))

    handles = [m.register_forward_hook(hook(extra)) for m in model.modules()
               for kind, extra in (corrections or {}).items() if isinstance(m, kind)]
    x = torch.zeros(1, 3, *input_size, device=device)
    try:
        with counter:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return counter


def measure(task: str, name: str, model: nn.Module, input_size: tuple[int, int],
            corrections: Corrections | None = None) -> dict:
    """One table row: parameters and the three counts of `model` at `input_size`."""
    params = sum(p.numel() for p in model.parameters())
    counter = count(model, input_size, corrections)
    return {"task": task, "model": name, "height": input_size[0], "width": input_size[1],
            "params": params, **dict(zip(CONVENTIONS, counter.totals)),
            "uncounted": sorted(counter.uncounted)}


def format_table(rows: Sequence[dict]) -> str:
    header = ("model", "task", "params (M)", "params", "GFLOPs original", "GMac fvcore",
              "GFLOPs complete", "input")
    lines = [(r["model"], r["task"], f"{r['params'] / 1e6:.1f}", f"{r['params']:,}",
              f"{r['original'] / 1e9:.3f}", f"{r['fvcore'] / 1e9:.3f}",
              f"{r['complete'] / 1e9:.3f}", f"{r['height']}x{r['width']}") for r in rows]
    widths = [max(len(line[k]) for line in [header, *lines]) for k in range(len(header))]
    text = ["  ".join(cell.rjust(width) for cell, width in zip(line, widths))
            for line in [header, *lines]]
    return "\n".join([text[0], "-" * len(text[0]), *text[1:]])


@dataclass(frozen=True)
class Flops:
    """One task's FLOPs command: its models by name (the benchmark's), those counted by
    default, and the corrections to the original's graph (`original_graph`; None: none)."""
    task: str
    models: Mapping[str, TaskModel]
    defaults: Sequence[str]
    corrections: Corrections | None = None

    def parser(self) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(description=f"{self.task}: parameters and FLOPs")
        p.add_argument("--models", nargs="+", choices=sorted(self.models), metavar="NAME",
                       help=f"default: {' '.join(self.defaults)}; any of "
                            f"{', '.join(sorted(self.models))}")
        p.add_argument("--input-size", nargs="+", type=int, metavar="N",
                       help="H (square) or H W; default: each model's own")
        p.add_argument("--json", type=Path,
                       help="also write the rows here (for `python -m hrformer_common.tables`)")
        return p

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        p = self.parser()
        args = p.parse_args(argv)
        size = args.input_size
        if size is not None and (len(size) not in (1, 2) or min(size) <= 0):
            p.error(f"--input-size takes 1 or 2 positive integers, got {size}")
        problem = destination_problem(args.json)
        if problem:
            p.error(f"--json {problem}")
        return args

    def rows(self, names: Sequence[str], input_size: Sequence[int] | None = None) -> list[dict]:
        rows = []
        for name in names:
            spec = self.models[name]
            size = tuple((list(input_size) * 2)[:2]) if input_size else spec.input_size
            model = spec.build({"attention": "math", "with_cp": False})
            rows.append(measure(self.task, name, model, size, self.corrections))
        return rows

    def run(self, argv: Sequence[str] | None = None) -> list[dict]:
        """Parse, count, print the table (ops without a known cost on stderr), write --json."""
        args = self.parse_args(argv)
        rows = self.rows(args.models or self.defaults, args.input_size)
        print(format_table(rows))
        uncounted = sorted({op for r in rows for op in r["uncounted"]})
        if uncounted:
            print(f"not counted (no cost known): {', '.join(uncounted)}", file=sys.stderr)
        if args.json:
            write_rows(args.json, "flops", rows)
        return rows
