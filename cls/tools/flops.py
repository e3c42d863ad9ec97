"""Parameters and FLOPs of HRFormer classifiers (and pose models) for a fixed input size.

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

The original's graph differed from ours in a few places; `ORIGINAL_GRAPH` adds, per module,
what its trace held and ours lacks, so that the first two conventions reproduce its numbers.
"complete" counts our model as it runs: where windows need padding, the original also ran
out_proj on the padded tokens, so at small inputs its count can exceed ours.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the cls/ folder

from models import create_model  # noqa: E402
from models.hrformer import (ConvFFN, HRFormer, HRFormerOptions, HRModule,  # noqa: E402
                             LocalWindowAttention, preset)

aten = torch.ops.aten
CONVENTIONS = ("original", "fvcore", "complete")
POSE_JOINTS = 17
DEFAULT_RUNS = (("cls", ("hrt_tiny", "hrt_small", "hrt_base"), (224, 224)),
                ("pose", ("hrt_small", "hrt_base"), (256, 192)))


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
    # classifier's 2-D one is fixed in ORIGINAL_GRAPH); ours runs addmm, or mm + add.
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


# What the original's trace held beyond our ops: (module, inputs, output) -> counts to add in
# (original, fvcore). Deduced from the reference totals, which these reproduce exactly; each
# is needed (without it a cls or pose total misses its reference value):
# - attention: a dropout on the softmax output; out_proj (and its bias add) ran on the padded
#   windows before the crop, where ours runs after it.
# - FFN: nn.Dropout after the depthwise conv's GELU and after the last GELU.
# - fusion: the resize to the exact size always ran, even when the sizes already matched.
# - classifier: a linear on 2-D input traced as addmm, without a separate bias add.
def _attention_extra(module: LocalWindowAttention, inputs: tuple, output: Tensor) -> tuple:
    b, h, w, c = inputs[0].shape
    ws = module.window
    tokens = b * (h + -h % ws) * (w + -w % ws)
    padding_macs = (tokens - b * h * w) * c * c
    probs = tokens * module.heads * ws * ws
    return probs + padding_macs + padding_macs // c, padding_macs


def _ffn_extra(module: ConvFFN, inputs: tuple, output: Tensor) -> tuple:
    hidden = output.numel() // module.fc2.out_channels * module.fc1.out_channels
    return hidden + output.numel(), 0


def _fusion_extra(module: HRModule, inputs: tuple, outputs: list[Tensor]) -> tuple:
    xs = inputs[0]
    skipped = sum(y.numel() for i, y in enumerate(outputs) for j in range(i + 1, len(xs))
                  if [s << (j - i) for s in xs[j].shape[-2:]] == list(xs[i].shape[-2:]))
    return 0, 4 * skipped


def _linear_extra(module: nn.Linear, inputs: tuple, output: Tensor) -> tuple:
    return (-output.numel() if inputs[0].dim() == 2 and module.bias is not None else 0), 0


ORIGINAL_GRAPH = {LocalWindowAttention: _attention_extra, ConvFFN: _ffn_extra,
                  HRModule: _fusion_extra, nn.Linear: _linear_extra}


class _FirstOutput(nn.Module):
    """The pose backbone returns a one-element list; the head takes the tensor."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x)[0]


def build(name: str, task: str) -> nn.Module:
    """The cls classifier (1000 classes) or the pose model (backbone + 1x1 conv to 17)."""
    if task == "cls":
        return create_model(name, num_classes=1000, attention="math")
    if task == "pose":
        options = HRFormerOptions(rel_pos_bias=False, fuse_upsample_mode="bilinear",
                                  align_corners=False, multiscale_output=False,
                                  attention="math")
        backbone = HRFormer(preset(name), options)
        return nn.Sequential(_FirstOutput(backbone),
                             nn.Conv2d(backbone.out_channels[0], POSE_JOINTS, 1))
    raise ValueError(f"task={task!r}; expected 'cls' or 'pose'")


def count(model: nn.Module, input_size: Sequence[int], device: str = "meta") -> FlopCounter:
    """Run `model` (moved to `device`) once on a (1, 3, H, W) input; return the counter."""
    model = model.eval().to(device)
    counter = FlopCounter()

    def hook(extra: Callable) -> Callable:
        return lambda module, args, output: counter.add(1, extra(module, args, output) + (0,))

    handles = [m.register_forward_hook(hook(extra)) for m in model.modules()
               for kind, extra in ORIGINAL_GRAPH.items() if isinstance(m, kind)]
    x = torch.zeros(1, 3, *input_size, device=device)
    try:
        with counter:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return counter


@dataclass
class Report:
    model: str
    task: str
    input_size: tuple[int, int]
    params: int
    original: int
    fvcore: int
    complete: int
    uncounted: set[str]


def measure(name: str, task: str, input_size: tuple[int, int]) -> Report:
    model = build(name, task)
    params = sum(p.numel() for p in model.parameters())
    counter = count(model, input_size)
    return Report(name, task, input_size, params, *counter.totals, counter.uncounted)


def format_table(reports: Sequence[Report]) -> str:
    header = ("model", "task", "params (M)", "params", "GFLOPs original", "GMac fvcore",
              "GFLOPs complete", "input")
    rows = [(r.model, r.task, f"{r.params / 1e6:.1f}", f"{r.params:,}", f"{r.original / 1e9:.3f}",
             f"{r.fvcore / 1e9:.3f}", f"{r.complete / 1e9:.3f}",
             f"{r.input_size[0]}x{r.input_size[1]}") for r in reports]
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths))
             for row in [header, *rows]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", help="e.g. hrt_tiny hrt_small hrt_base")
    parser.add_argument("--cfg", help="a cls yaml config; counts its MODEL.NAME")
    parser.add_argument("--input-size", nargs="+", type=int, metavar="N",
                        help="H (square) or H W; default 224 (cls), 256 192 (pose)")
    parser.add_argument("--task", choices=("cls", "pose"), help="default: both")
    args = parser.parse_args(argv)
    size = args.input_size
    if size is not None and (len(size) not in (1, 2) or min(size) <= 0):
        parser.error(f"--input-size takes 1 or 2 positive integers, got {size}")
    if args.cfg and args.models:
        parser.error("give --cfg or --models, not both")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cfg:
        from config import load_config
        args.models = [load_config(args.cfg).MODEL.NAME]
    task = args.task or ("cls" if args.models else None)
    runs = [(t, args.models or names, size) for t, names, size in DEFAULT_RUNS
            if task in (None, t)]
    if args.input_size:
        h, w = args.input_size if len(args.input_size) == 2 else args.input_size * 2
        runs = [(t, names, (h, w)) for t, names, _ in runs]
    try:
        reports = [measure(name, t, size) for t, names, size in runs for name in names]
    except KeyError as error:  # an unknown model name
        sys.exit(f"flops.py: {error.args[0]}")
    print(format_table(reports))
    uncounted = sorted(set().union(*(r.uncounted for r in reports)))
    if uncounted:
        print(f"not counted (no cost known): {', '.join(uncounted)}", file=sys.stderr)


if __name__ == "__main__":
    main()
